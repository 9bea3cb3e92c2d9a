// Builds the demo crate (www/demo) for wasm32-unknown-unknown and runs
// wasm-bindgen --target web into www/pkg/.
//
// wasm-bindgen must be the exact version in Cargo.lock; when it is missing
// or another version, this installs it (`cargo install wasm-bindgen-cli
// --version X`, without --locked, which fails for this crate here).
import { execFileSync } from 'node:child_process';
import { readFileSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const www = resolve(import.meta.dirname, '..');
const root = resolve(www, '..');
const run = (cmd, args, opts = {}) => {
  console.log(`$ ${cmd} ${args.join(' ')}`);
  execFileSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
};

const lock = readFileSync(join(root, 'Cargo.lock'), 'utf8');
const m = lock.match(/name = "wasm-bindgen"\nversion = "([^"]+)"/);
if (!m) throw new Error('wasm-bindgen not found in Cargo.lock');
const want = m[1];

let have = null;
try {
  have = execFileSync('wasm-bindgen', ['--version'], { encoding: 'utf8' }).trim().split(/\s+/)[1];
} catch {
  have = null;
}
if (have !== want) {
  console.log(`wasm-bindgen ${have ?? 'missing'}; Cargo.lock wants ${want}: installing`);
  run('cargo', ['install', 'wasm-bindgen-cli', '--version', want]);
}

// Release builds use the workspace's `www` profile (release's opt-level 3,
// which the bench page needs, plus fat LTO, one codegen unit and no debug
// info) and drop the name section: the shipped wasm carries code only.
const release = !process.argv.includes('--dev');
run('cargo', [
  'build', '--target', 'wasm32-unknown-unknown', '-p', 'anyloop-www-demo',
  ...(release ? ['--profile', 'www'] : []),
]);

const meta = JSON.parse(
  execFileSync('cargo', ['metadata', '--format-version', '1', '--no-deps'], {
    cwd: root, encoding: 'utf8', maxBuffer: 64 << 20,
  }),
);
const wasm = join(
  meta.target_directory, 'wasm32-unknown-unknown', release ? 'www' : 'debug',
  'anyloop_www_demo.wasm',
);
mkdirSync(join(www, 'pkg'), { recursive: true });
run('wasm-bindgen', [
  '--target', 'web', '--out-dir', join(www, 'pkg'), '--no-typescript',
  ...(release ? ['--remove-name-section', '--remove-producers-section'] : []),
  wasm,
]);
const out = join(www, 'pkg', 'anyloop_www_demo_bg.wasm');
console.log(`${out}: ${statSync(out).size} bytes`);
