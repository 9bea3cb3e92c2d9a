import { defineConfig } from 'vite';
import { resolve } from 'node:path';

// Two pages: the demo (index.html) and the benchmark (bench.html). The wasm
// package in pkg/ comes from scripts/build-wasm.mjs (wasm-bindgen --target web).
export default defineConfig({
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
  build: {
    target: 'es2022',
    rolldownOptions: {
      input: {
        main: resolve(import.meta.dirname, 'index.html'),
        bench: resolve(import.meta.dirname, 'bench.html'),
      },
    },
  },
});
