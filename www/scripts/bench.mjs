// `npm run bench` / `cargo xtask bench --host web`: runs bench.html headless
// in Debian's Chromium and prints the table (medians; ratio = anyloop / best
// peer). Options: --rounds N (default 5), --scale S (workload sizes × S).
// The raw results go to test-results/bench-web.json.
import { mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadavg, cpus } from 'node:os';
import { serve, launch } from './browser.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    scale: { type: 'string', default: '1' },
  },
});

const server = await serve();
const context = await launch();
let failed = false;
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (m) => {
    if (m.type() === 'error') console.error(`[page] ${m.text()}`);
  });
  page.on('pageerror', (e) => console.error(`[page] ${e.message}`));
  await page.goto(`${server.url}/bench.html?auto=1&rounds=${values.rounds}&scale=${values.scale}`);
  await page.locator('body[data-bench-done]').waitFor({ timeout: 20 * 60_000 });
  const results = await page.evaluate(() => window.benchResults ?? { error: window.benchError });
  if (results.error) throw new Error(results.error);
  const out = resolve(import.meta.dirname, '..', 'test-results');
  await mkdir(out, { recursive: true });
  await writeFile(resolve(out, 'bench-web.json'), JSON.stringify(results, null, 2));
  await page.screenshot({ path: resolve(out, 'bench.png'), fullPage: true });
  print(results);
} catch (e) {
  console.error(`bench failed: ${e.stack ?? e}`);
  failed = true;
} finally {
  await context.close();
  await server.close();
}
process.exit(failed ? 1 : 0);

function print(r) {
  const rts = ['anyloop', 'spawn_local', 'async-executor'];
  const f = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
  const rows = [['workload', 'n', 'unit', ...rts, 'anyloop/best peer']];
  for (const [w, s] of Object.entries(r.workloads)) {
    rows.push([w, s.n.toLocaleString('en-US'), s.unit, ...rts.map((rt) => f(s.median[rt])), s.ratio.toFixed(2)]);
  }
  rows.push([]);
  rows.push(['1,000 × yield_now', '', 'ms total', ...rts.map((rt) => f(r.sequential.yield[rt])), '']);
  rows.push(['1,000 × sleep(0)', '', 'ms total', ...rts.map((rt) => f(r.sequential.sleep0[rt]) + (rt === 'anyloop' ? '' : '*')), '']);
  if (r.frameGap) {
    const g = r.frameGap;
    rows.push([]);
    rows.push([`frame gap (${g.n.toLocaleString('en-US')} busy tasks)`, '', 'ms longest', ...rts.map((rt) => f(g.gap[rt])), '']);
    rows.push(['  (the run took)', '', 'ms', ...rts.map((rt) => f(g.ms[rt])), '']);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  console.log(`\n== browser bench (${r.userAgent.match(/Chrome\/[\d.]+/)?.[0] ?? 'Chromium'}, median of ${r.rounds} interleaved rounds) ==`);
  for (const row of rows) {
    console.log(row.map((c, i) => (i < 1 ? c.padEnd(widths[i]) : (c ?? '').padStart(widths[i]))).join('  '));
  }
  console.log('* peers sleep with setTimeout(0): measured over 50, scaled to 1,000');
  console.log('sequential rows: median of 3 after a warm-up; workloads: after one warm-up run at n/10');
  console.log('frame gap: longest gap between requestAnimationFrame callbacks around the run (a 60 Hz page draws every 16.7 ms)');
  const [l1, l5] = loadavg();
  console.log(`machine: ${cpus().length} CPUs, load average ${l1.toFixed(1)} (1 min), ${l5.toFixed(1)} (5 min): other load skews wall-clock figures`);
}
