#!/usr/bin/env node
// Runs a wasm32-wasip1 program under Node's built-in `node:wasi` (preview 1):
// the second WASI host of `cargo xtask test`. Usable as a cargo runner:
//   CARGO_TARGET_WASM32_WASIP1_RUNNER="node xtask/wasi-node-runner.mjs" cargo test --target wasm32-wasip1
// Arguments: PROGRAM.wasm [ARGS...]. The current directory is preopened as
// "." (like `wasmtime run --dir .`); stdin and the environment pass through;
// the exit code is the program's (134 if it aborts, as a native abort).
//
// The program's stdout and stderr go to temporary files that are copied to
// Node's own streams when it ends: Node puts piped stdio into non-blocking
// mode, so a synchronous `fd_write` from wasm into a full pipe (cargo reading
// slowly on a loaded machine) would fail with EAGAIN and make Rust's
// `println!` panic. Files never return EAGAIN.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process, { argv, env, cwd } from 'node:process';
import { WASI } from 'node:wasi';

const [wasmPath, ...args] = argv.slice(2);
if (!wasmPath) {
  console.error('usage: node wasi-node-runner.mjs PROGRAM.wasm [ARGS...]');
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'anyloop-wasi-node-'));
const outPath = join(dir, 'stdout');
const errPath = join(dir, 'stderr');
const outFd = openSync(outPath, 'w');
const errFd = openSync(errPath, 'w');

const wasi = new WASI({
  version: 'preview1',
  args: [wasmPath, ...args],
  env,
  preopens: { '.': cwd() },
  returnOnExit: true,
  stdout: outFd,
  stderr: errFd,
});

let code;
let crash;
try {
  const module = await WebAssembly.compile(await readFile(wasmPath));
  const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
  code = wasi.start(instance) ?? 0;
} catch (e) {
  // A wasm abort (panic=abort) traps with `unreachable`.
  crash = e;
  code = 134;
}
closeSync(outFd);
closeSync(errFd);

const write = (stream, data) =>
  new Promise((resolve, reject) => stream.write(data, (e) => (e ? reject(e) : resolve())));
await write(process.stdout, readFileSync(outPath));
await write(process.stderr, readFileSync(errPath));
if (crash) {
  await write(process.stderr, `wasi-node-runner: ${wasmPath} trapped: ${crash.stack ?? crash}\n`);
}
rmSync(dir, { recursive: true, force: true });
process.exitCode = code;
