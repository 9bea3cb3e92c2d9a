#!/usr/bin/env node
// Runs a wasm32-wasip1 program under Node's built-in `node:wasi` (preview 1):
// the second WASI host of `cargo xtask test`. Usable as a cargo runner:
//   CARGO_TARGET_WASM32_WASIP1_RUNNER="node xtask/wasi-node-runner.mjs" cargo test --target wasm32-wasip1
// Arguments: PROGRAM.wasm [ARGS...]. The current directory is preopened as
// "." (like `wasmtime run --dir .`); stdio and the environment pass through;
// the exit code is the program's.
import { readFile } from 'node:fs/promises';
import { argv, env, cwd, exit } from 'node:process';
import { WASI } from 'node:wasi';

const [wasmPath, ...args] = argv.slice(2);
if (!wasmPath) {
  console.error('usage: node wasi-node-runner.mjs PROGRAM.wasm [ARGS...]');
  exit(2);
}
const wasi = new WASI({
  version: 'preview1',
  args: [wasmPath, ...args],
  env,
  preopens: { '.': cwd() },
  returnOnExit: true,
});
const module = await WebAssembly.compile(await readFile(wasmPath));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
exit(wasi.start(instance) ?? 0);
