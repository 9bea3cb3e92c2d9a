// The demo page: buttons start anyloop scenarios (Rust, www/demo/src/scenarios.rs);
// once per animation frame the page reads the board's snapshot and draws every
// task as a row with its phase and its timeline.
import init, * as api from '../pkg/anyloop_www_demo.js';

const PHASES = ['pending', 'running', 'sleeping', 'waiting', 'done', 'cancelled', 'failed'];
const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

// The CPU storm: frames counted while it runs are the proof that the page
// stayed responsive.
const STORM_TASKS = 100_000;
const STORM_WORK = 6_000;
let frames = 0;
const storms = new Map(); // group id -> { frames0, t0, frames, ms }
let pendingStorm = null;

function legend() {
  const l = $('legend');
  for (const p of PHASES) {
    const item = el('span', 'legend-item');
    item.append(el('i', `swatch phase-${p}`), p);
    l.append(item);
  }
}

function drawTimeline(box, row, g, now) {
  const start = g.start;
  const end = g.end ?? now;
  const width = Math.max(end - start, 1000);
  const pct = (t) => `${(((t - start) / width) * 100).toFixed(2)}%`;
  const parts = [];
  row.spans.forEach(([t, phase], i) => {
    const next = row.spans[i + 1];
    const stop = next ? next[0] : PHASES.indexOf(phase) >= 4 ? t : now;
    if (!next && PHASES.indexOf(phase) >= 4) {
      parts.push(`<i class="mark phase-${phase}" style="left:${pct(t)}"></i>`);
    } else {
      const w = Math.max(((stop - t) / width) * 100, 0.25);
      parts.push(`<i class="seg phase-${phase}" style="left:${pct(t)};width:${w.toFixed(2)}%"></i>`);
    }
  });
  const html = parts.join('');
  if (box.dataset.html !== html) {
    box.innerHTML = html;
    box.dataset.html = html;
  }
}

function groupEl(g) {
  let sec = document.querySelector(`section.group[data-group-id="${g.id}"]`);
  if (sec) return sec;
  sec = el('section', 'group');
  sec.dataset.groupId = g.id;
  sec.dataset.kind = g.kind;
  const head = el('div', 'group-head');
  head.append(el('h3', null, g.title), el('span', 'badge'));
  sec.append(head, el('p', 'summary'));
  if (g.progress) {
    const prog = el('div', 'progress');
    prog.append(el('div', 'bar'), el('span', 'count'));
    sec.append(prog, el('p', 'frames-during'));
  }
  sec.append(el('div', 'rows'));
  const board = $('board');
  board.querySelector('.empty')?.remove();
  board.prepend(sec);
  return sec;
}

function rowEl(sec, r) {
  let row = sec.querySelector(`.row[data-row-id="${r.id}"]`);
  if (row) return row;
  row = el('div', 'row');
  row.dataset.rowId = r.id;
  row.dataset.name = r.name;
  const cancel = el('button', 'cancel', 'cancel');
  cancel.title = `task.cancel() on ${r.name}`;
  cancel.addEventListener('click', () => api.cancel_row(r.id));
  row.append(el('span', 'name', r.name), el('span', 'badge'), el('div', 'timeline'), el('span', 'detail'), cancel);
  sec.querySelector('.rows').append(row);
  return row;
}

function setText(e, text) {
  if (e.textContent !== text) e.textContent = text;
}

function setPhase(e, phase) {
  if (e.dataset.phase === phase) return;
  e.dataset.phase = phase;
  const badge = e.querySelector(':scope > .badge, :scope > .group-head > .badge');
  badge.className = `badge phase-${phase}`;
  badge.textContent = phase;
}

function render(snap) {
  setText($('live'), snap.tasks.toLocaleString('en-US'));
  setText($('clock'), `${(snap.now / 1000).toFixed(1)} s`);
  const keep = new Set();
  for (const g of snap.groups) {
    keep.add(String(g.id));
    const sec = groupEl(g);
    setPhase(sec, g.end == null ? 'running' : g.status);
    setText(sec.querySelector('.summary'), g.summary || (g.end == null ? 'running…' : ''));
    if (g.kind === 'cpu') renderStorm(sec, g);
    for (const r of g.rows) {
      const row = rowEl(sec, r);
      setPhase(row, r.phase);
      setText(row.querySelector('.detail'), r.detail);
      row.querySelector('.cancel').disabled = PHASES.indexOf(r.phase) >= 4;
      drawTimeline(row.querySelector('.timeline'), r, g, snap.now);
    }
  }
  for (const sec of document.querySelectorAll('section.group')) {
    if (!keep.has(sec.dataset.groupId)) sec.remove();
  }
  const log = $('log');
  const lines = snap.log.slice(-14).reverse();
  const html = lines.map(([t, s]) => `<li><time>${(t / 1000).toFixed(2)}</time> ${escapeHtml(s)}</li>`).join('');
  if (log.dataset.html !== html) {
    log.innerHTML = html;
    log.dataset.html = html;
  }
}

function renderStorm(sec, g) {
  let s = storms.get(g.id);
  if (!s && pendingStorm) {
    s = pendingStorm;
    pendingStorm = null;
    storms.set(g.id, s);
  }
  if (!s) return;
  const [done, total] = g.progress ?? [0, 1];
  sec.querySelector('.progress .bar').style.width = `${((done / total) * 100).toFixed(1)}%`;
  setText(sec.querySelector('.progress .count'), `${done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')}`);
  if (s.ms == null) {
    s.frames = frames - s.frames0;
    if (g.end != null) s.ms = performance.now() - s.t0;
  }
  const ms = s.ms ?? performance.now() - s.t0;
  const fps = ms > 0 ? (s.frames * 1000) / ms : 0;
  const p = sec.querySelector('.frames-during');
  p.dataset.frames = s.frames;
  p.dataset.ms = ms.toFixed(0);
  p.dataset.finished = s.ms != null ? '1' : '0';
  setText(
    p,
    `requestAnimationFrame kept firing: ${s.frames} frames in ${(ms / 1000).toFixed(2)} s (${fps.toFixed(0)} fps)` +
      (s.ms != null ? '' : ' …'),
  );
}

function escapeHtml(s) {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
}

// The live task panel: anyloop::monitor::tasks() (the monitor console's `ps`),
// at most 40 rows, refreshed every 200 ms.
const PANEL_ROWS = 40;
let panelAt = 0;

function renderTasks() {
  const now = performance.now();
  if (now - panelAt < 200) return;
  panelAt = now;
  const { count: live, rows: tasks } = JSON.parse(api.monitor_tasks(PANEL_ROWS));
  const body = $('tasks-panel').tBodies[0];
  const rows = tasks.map((t) => {
    const age = t.age_ms == null ? '-' : `${(t.age_ms / 1000).toFixed(1)} s`;
    return (
      `<tr data-task-id="${t.id}" data-name="${escapeHtml(t.name ?? '')}" data-state="${t.state}"` +
      ` data-age-ms="${t.age_ms ?? ''}" data-polls="${t.polls}" title="spawned at ${escapeHtml(t.at)}">` +
      `<td class="num">${t.id}</td><td>${escapeHtml(t.name ?? '-')}</td><td>${t.state}</td>` +
      `<td class="num">${age}</td><td class="num">${t.polls}</td></tr>`
    );
  });
  body.innerHTML = rows.join('');
  const count = $('tasks-count');
  count.dataset.count = live;
  count.textContent =
    live > PANEL_ROWS
      ? `${live.toLocaleString('en-US')} tasks (first ${PANEL_ROWS} shown)`
      : `${live} task${live === 1 ? '' : 's'}`;
}

function frame() {
  frames += 1;
  $('frames').textContent = frames;
  try {
    render(JSON.parse(api.snapshot()));
    renderTasks();
  } catch (e) {
    console.error(e);
  }
  requestAnimationFrame(frame);
}

async function main() {
  legend();
  await init();
  const num = (id, dflt) => {
    const v = Number($(id).value);
    return Number.isFinite(v) && v > 0 ? v : dflt;
  };
  $('btn-sleepers').addEventListener('click', () => api.start_sleepers(num('n-sleepers', 8), num('sleep-ms', 1500)));
  $('btn-taskgroup').addEventListener('click', () => api.start_task_group(4, 3000, 900));
  $('btn-queue').addEventListener('click', () => api.start_queue(12, 3, 2));
  $('btn-cpu').addEventListener('click', () => {
    pendingStorm = { frames0: frames, t0: performance.now(), frames: 0, ms: null };
    api.start_cpu_storm(STORM_TASKS, STORM_WORK);
  });
  $('btn-clear').addEventListener('click', () => api.clear_finished());
  window.anyloopDemo = { api, frames: () => frames };
  const ready = $('ready');
  ready.dataset.ready = '1';
  ready.textContent = 'wasm loaded';
  requestAnimationFrame(frame);
}

main().catch((e) => {
  console.error(e);
  $('ready').textContent = `failed to load: ${e}`;
  $('ready').dataset.ready = 'error';
});
