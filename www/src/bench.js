// The benchmark page: runs www/demo/src/bench.rs's workloads on anyloop and its
// peers, interleaved round by round, and shows the medians and ratios.
// `bench.html?auto=1&rounds=N&scale=S` runs at once (scripts/bench.mjs uses it);
// the results end up in window.benchResults and #results-json.
import init, * as api from '../pkg/anyloop_www_demo.js';

const $ = (id) => document.getElementById(id);
const RUNTIMES = ['anyloop', 'spawn_local', 'async-executor'];
const PEERS = RUNTIMES.slice(1);
let frames = 0;
// performance.now() of each animation frame while `recording` (frame gaps).
let frameStamps = null;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (v) => (v == null ? '–' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
// Let the browser breathe (GC, rendering) between measurements.
const pause = () => new Promise((r) => setTimeout(r, 20));

function progress(text) {
  $('progress').textContent = text;
}

// 1,000 sequential yield_now / sleep(0): anyloop's never pay setTimeout's clamp.
// One warm-up run each, then the median of 3 interleaved runs.
async function sequential() {
  const out = { yield: {}, sleep0: {} };
  const runs = { yield: {}, sleep0: {} };
  for (const rt of RUNTIMES) {
    runs.yield[rt] = [];
    runs.sleep0[rt] = [];
    await api.bench_sequential(rt, 100, false);
  }
  const show = (kind, rt, ms, approx) => {
    const id = `${kind === 'yield' ? 'yield' : 'sleep0'}-ms${rt === 'anyloop' ? '' : `-${rt}`}`;
    const cell = $(id);
    cell.textContent = approx ? `≈ ${fmt(ms)}` : fmt(ms);
    cell.dataset.ms = ms;
  };
  for (let i = 0; i < 3; i++) {
    for (const rt of RUNTIMES) {
      progress(`1,000 yields on ${rt} (${i + 1}/3)…`);
      runs.yield[rt].push(await api.bench_sequential(rt, 1000, false));
      await pause();
    }
  }
  for (const rt of RUNTIMES) {
    out.yield[rt] = median(runs.yield[rt]);
    show('yield', rt, out.yield[rt], false);
  }
  for (let i = 0; i < 3; i++) {
    for (const rt of RUNTIMES) {
      progress(`sleep(0) on ${rt} (${i + 1}/3)…`);
      // The peers sleep with setTimeout(0): measure 50, scale to 1,000.
      const n = rt === 'anyloop' ? 1000 : 50;
      runs.sleep0[rt].push(((await api.bench_sequential(rt, n, true)) * 1000) / n);
      await pause();
    }
  }
  for (const rt of RUNTIMES) {
    out.sleep0[rt] = median(runs.sleep0[rt]);
    show('sleep0', rt, out.sleep0[rt], rt !== 'anyloop');
  }
  progress('');
  return out;
}

async function workloads(rounds, scale) {
  const specs = JSON.parse(api.bench_workloads());
  const tbody = $('table').querySelector('tbody');
  tbody.innerHTML = '';
  const samples = {};
  const cells = {};
  for (const [w, n0, unit] of specs) {
    const n = Math.max(1, Math.round(n0 * scale));
    samples[w] = { n, unit, runs: Object.fromEntries(RUNTIMES.map((r) => [r, []])) };
    const tr = document.createElement('tr');
    tr.dataset.workload = w;
    tr.innerHTML = `<td>${w}</td><td>${n.toLocaleString('en-US')}</td><td>${unit}</td>` +
      RUNTIMES.map((r) => `<td data-runtime="${r}">–</td>`).join('') + '<td class="ratio">–</td>';
    tbody.append(tr);
    cells[w] = tr;
  }
  // Warm-up, not measured: wasm tier-up, heap growth, the loop's buffers.
  for (const [w] of specs) {
    for (const rt of RUNTIMES) {
      progress(`warm-up: ${w} on ${rt}…`);
      await api.bench_run(rt, w, Math.max(1, Math.round(samples[w].n / 10)));
      await pause();
    }
  }
  for (let round = 0; round < rounds; round++) {
    for (const [w] of specs) {
      // Rotate the order each round so no runtime always goes first.
      const order = RUNTIMES.map((_, i) => RUNTIMES[(i + round) % RUNTIMES.length]);
      for (const rt of order) {
        progress(`round ${round + 1}/${rounds}: ${w} on ${rt}…`);
        const v = await api.bench_run(rt, w, samples[w].n);
        samples[w].runs[rt].push(v);
        await pause();
      }
      const tr = cells[w];
      const med = {};
      for (const rt of RUNTIMES) {
        med[rt] = median(samples[w].runs[rt]);
        tr.querySelector(`[data-runtime="${rt}"]`).textContent = fmt(med[rt]);
      }
      // timers: ms beyond the sleep; a figure near 0 makes a ratio noisy but still telling.
      const best = Math.min(...PEERS.map((p) => med[p]));
      const ratio = med.anyloop / best;
      samples[w].median = med;
      samples[w].ratio = ratio;
      const cell = tr.querySelector('.ratio');
      cell.textContent = Number.isFinite(ratio) ? ratio.toFixed(2) : '–';
      cell.className = `ratio ${ratio <= 0.7 ? 'good' : ratio <= 1 ? 'ok' : 'bad'}`;
    }
  }
  progress('');
  return samples;
}

const nextFrame = () => new Promise((r) => requestAnimationFrame(r));

// The frame-gap row: the longest gap between two animation frames while
// bench_busy's 100,000 tasks run on each runtime (interleaved rounds,
// medians). anyloop hands the page back after each 8 ms tick; spawn_local
// runs every ready task in one microtask drain, so the page freezes for
// the whole run.
async function frameGaps(rounds, scale) {
  const [n0, work] = Array.from(api.bench_busy_size());
  const n = Math.max(1, Math.round(n0 * scale));
  const runs = Object.fromEntries(RUNTIMES.map((r) => [r, { gap: [], ms: [] }]));
  const out = { n, work, gap: {}, ms: {} };
  for (const rt of RUNTIMES) await api.bench_busy(rt, Math.max(1, Math.round(n / 10)), work);
  for (let round = 0; round < rounds; round++) {
    const order = RUNTIMES.map((_, i) => RUNTIMES[(i + round) % RUNTIMES.length]);
    for (const rt of order) {
      progress(`round ${round + 1}/${rounds}: frame gaps on ${rt}…`);
      frameStamps = [];
      // Two frames first: the gaps before the run are the display's own.
      await nextFrame();
      await nextFrame();
      const ms = await api.bench_busy(rt, n, work);
      await nextFrame();
      const stamps = frameStamps;
      frameStamps = null;
      let gap = 0;
      for (let i = 1; i < stamps.length; i++) gap = Math.max(gap, stamps[i] - stamps[i - 1]);
      runs[rt].gap.push(gap);
      runs[rt].ms.push(ms);
      await pause();
    }
  }
  for (const rt of RUNTIMES) {
    out.gap[rt] = median(runs[rt].gap);
    out.ms[rt] = median(runs[rt].ms);
    const gapCell = $(`gap-${rt}`);
    gapCell.textContent = fmt(out.gap[rt]);
    gapCell.dataset.ms = out.gap[rt];
    $(`gap-run-${rt}`).textContent = fmt(out.ms[rt]);
  }
  $('gap-n').textContent = `${n.toLocaleString('en-US')} tasks × ${work.toLocaleString('en-US')} xorshift rounds`;
  progress('');
  return out;
}

async function runAll(rounds, scale) {
  $('btn-bench').disabled = true;
  try {
    const seq = await sequential();
    const table = await workloads(rounds, scale);
    const gaps = await frameGaps(rounds, scale);
    const results = { userAgent: navigator.userAgent, rounds, scale, sequential: seq, workloads: table, frameGap: gaps };
    window.benchResults = results;
    $('results-json').textContent = JSON.stringify(results, null, 2);
    document.body.dataset.benchDone = '1';
    return results;
  } catch (e) {
    console.error(e);
    window.benchError = String(e);
    document.body.dataset.benchDone = 'error';
    progress(`failed: ${e}`);
    throw e;
  } finally {
    $('btn-bench').disabled = false;
  }
}

function frame() {
  frameStamps?.push(performance.now());
  frames += 1;
  $('frames').textContent = frames;
  requestAnimationFrame(frame);
}

async function main() {
  await init();
  window.anyloopBench = api;
  requestAnimationFrame(frame);
  $('btn-bench').addEventListener('click', () =>
    runAll(Number($('rounds').value) || 3, Number($('scale').value) || 1).catch(() => {}),
  );
  $('btn-yields').addEventListener('click', () => sequential().catch((e) => progress(`failed: ${e}`)));
  const ready = $('ready');
  ready.dataset.ready = '1';
  ready.textContent = 'wasm loaded';
  const q = new URLSearchParams(location.search);
  if (q.get('auto')) {
    if (q.get('rounds')) $('rounds').value = q.get('rounds');
    if (q.get('scale')) $('scale').value = q.get('scale');
    runAll(Number($('rounds').value) || 3, Number($('scale').value) || 1).catch(() => {});
  }
}

main().catch((e) => {
  console.error(e);
  $('ready').textContent = `failed to load: ${e}`;
  $('ready').dataset.ready = 'error';
});
