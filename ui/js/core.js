// comfyvn_perf dashboard. Plain JavaScript, no framework, no external URL:
// every request goes to this page's own origin (relative /api/perf/... URLs).
//
// The script is the files of ui/js/ joined by tools/gen_ui_header.py, in the
// order of its JS_FILES, inside one strict-mode function: the files share one
// scope (a name declared at the top level of one is seen by all), and no two may
// declare the same name. This one comes first: constants, the page state and
// the helpers every panel uses.

const API = '/api/perf';
const HISTORY_S = 120;
const TOKEN_KEY = 'comfyvn_perf_token';
const $ = (id) => document.getElementById(id);

function storageGet(k) {
  try { return window.sessionStorage.getItem(k) || ''; } catch (e) { return ''; }
}
function storageSet(k, v) {
  try { window.sessionStorage.setItem(k, v); } catch (e) { /* private mode: keep it in memory */ }
}

const S = {
  token: storageGet(TOKEN_KEY),
  paused: false,
  needToken: false, authOk: false,
  flag: null, prof: false, bud: false,
  routeOff: {prof: '', bud: ''},  // the detail of a data route's 403 "disabled", per subsystem
  health: null, dash: null, budgets: null, spanBudgets: [], spikes: [], tree: null,
  hist: [],                 // frame samples: {t, avg, p95 (since start), wp95 (window), count, gavg (GPU)}
  cpuHist: [],              // {t, v}
  ctrHist: new Map(),       // counter name -> [{t, v}]
  marks: [],                // {t, name, category}
  serverNow: 0,
  tick: 0, timer: 0, failures: 0, offRounds: 0, lastOk: 0,
  sortKey: 'total_ms', sortAsc: false, catFilter: '', rows: 20,
  treeFocus: [], treeSig: '', flameNodes: [],
  limitsDirty: new Set(),
  spikeSig: '', selectedSpike: null,
};

class AuthError extends Error {}

// ---------------------------------------------------------------- helpers
const esc = (s) => String(s == null ? '' : s).replace(/[&<>"']/g,
    (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]));
const isNum = (v) => typeof v === 'number' && isFinite(v);
// Number formats are costly to build: one per number of decimals, reused.
const NF = [];
const nf = (d) => NF[d] || (NF[d] = new Intl.NumberFormat('en-US', {minimumFractionDigits: d, maximumFractionDigits: d}));
function fmt(v, d) {
  if (!isNum(v)) return '\u2013';
  const a = Math.abs(v);
  if (d === undefined) d = a >= 1000 ? 0 : a >= 100 ? 1 : a >= 1 ? 2 : 3;
  return nf(d).format(v);
}
const fint = (v) => (isNum(v) ? nf(0).format(Math.round(v)) : '\u2013');
function ago(t) {
  if (!isNum(t) || !S.serverNow) return '\u2013';
  const s = Math.max(0, S.serverNow - t);
  if (s < 1) return 'now';
  if (s < 90) return s.toFixed(0) + ' s ago';
  if (s < 5400) return (s / 60).toFixed(0) + ' min ago';
  return (s / 3600).toFixed(1) + ' h ago';
}
function hashStr(s) {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619); }
  return h >>> 0;
}
// One colour per name, the same in the table, the call tree and the trace.
const PALETTE = [];
for (let i = 0; i < 24; i++) {
  const hue = (i * 137.508) % 360;
  PALETTE.push(`hsl(${hue.toFixed(0)}, 62%, ${i % 2 ? 62 : 70}%)`);
}
const colorIndex = (name) => hashStr(String(name)) % PALETTE.length;
// GPU spans (category "gpu"): saturated greens, darker than every PALETTE
// entry, so a GPU track reads apart from the CPU threads at a glance.
const GPU_PALETTE = ['#2bb673', '#1f9e8f', '#3fc98a', '#23a35c'];
const GPU_COLOR = '#3fc98a';  // the frame chart's GPU series
const colorOf = (name) => PALETTE[colorIndex(name)];
const CAT_COLORS = ['#5aa9ff', '#ffb347', '#54d38a', '#c792ea', '#ff6b6b', '#4fd1c5', '#f5c451', '#7aa2ff', '#f78fb3', '#9ccc65'];
const catColor = (name) => CAT_COLORS[hashStr(String(name)) % CAT_COLORS.length];

// A canvas sized to its CSS box in device pixels; returns a scaled context.
// Widths come from a ResizeObserver, so drawing never forces a layout in
// the middle of a refresh (the page redraws about once a second).
const canvasWidth = new WeakMap();
let resizeTimer = 0;
const ro = typeof ResizeObserver === 'function' ? new ResizeObserver((entries) => {
  let changed = false;
  for (const e of entries) {
    const w = Math.round(e.contentRect.width);
    if (canvasWidth.get(e.target) !== w) { canvasWidth.set(e.target, w); changed = true; }
  }
  if (changed) {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(redrawCanvases, 50);
  }
}) : null;
function fitCanvas(c, cssH) {
  const dpr = window.devicePixelRatio || 1;
  let w = canvasWidth.get(c);
  if (w === undefined) {
    w = c.clientWidth || c.parentNode.clientWidth || 300;
    canvasWidth.set(c, w);
    if (ro) ro.observe(c);
  }
  w = Math.max(50, w);
  if (cssH !== undefined && c._cssH !== cssH) { c.style.height = cssH + 'px'; c._cssH = cssH; }
  const h = cssH !== undefined ? cssH : (c.clientHeight || 100);
  const W = Math.round(w * dpr), H = Math.round(h * dpr);
  if (c.width !== W) c.width = W;
  if (c.height !== H) c.height = H;
  const ctx = c.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return {ctx, w, h};
}
let fontFamily = '';
const font = (px) => {
  if (!fontFamily) fontFamily = getComputedStyle(document.body).fontFamily || 'sans-serif';
  return px + 'px ' + fontFamily;
};
function niceStep(range, target) {
  const raw = range / Math.max(1, target);
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const m = raw / p;
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}
function save(text, name) {
  const url = URL.createObjectURL(new Blob([text], {type: 'application/json'}));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
const stamp = () => new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);

// Keyed table rows, updated cell by cell: rows (and the buttons in cells
// that do not change) survive a refresh, so clicks and hovers are not lost.
// A row's key is keyOf(item) with its occurrence number: two items with the
// same key (two sites whose cleaned names came out equal) get a row each,
// not one shared row. Every row not made from `items` this time is removed,
// so the table holds exactly one row per item.
function syncRows(tbody, items, keyOf, cellsOf, decorate) {
  const old = new Map();
  for (const tr of Array.from(tbody.rows)) {
    if (tr.dataset.key === undefined || old.has(tr.dataset.key)) tr.remove();
    else old.set(tr.dataset.key, tr);
  }
  const seen = new Map();
  let prev = null;
  for (const it of items) {
    const base = keyOf(it);
    const n = seen.get(base) || 0;
    seen.set(base, n + 1);
    const k = JSON.stringify([base, n]);
    let tr = old.get(k);
    if (tr) old.delete(k);
    else { tr = document.createElement('tr'); tr.dataset.key = k; }
    const cells = cellsOf(it);
    while (tr.cells.length > cells.length) tr.deleteCell(-1);
    cells.forEach((c, j) => {
      const td = tr.cells[j] || tr.insertCell();
      if (td._h !== c[0]) {
        // Plain text needs no HTML parser.
        if (/[<&]/.test(c[0])) td.innerHTML = c[0]; else td.textContent = c[0];
        td._h = c[0];
      }
      const cls = c[1] || '';
      if (td.className !== cls) td.className = cls;
    });
    if (decorate) decorate(tr, it);
    const want = prev ? prev.nextSibling : tbody.firstChild;
    if (want !== tr) tbody.insertBefore(tr, want);
    prev = tr;
  }
  for (const tr of old.values()) tr.remove();
}
// A site is its (name, category) pair (contract, section 8): the key of its rows.
const siteKey = (a) => JSON.stringify([String(a.name), a.category == null ? null : String(a.category)]);
// Inline styles are set through the CSSOM, never as style="" in markup: the
// page's Content-Security-Policy refuses style attributes. `_s` keeps the
// value last set, to skip writes that change nothing.
function setStyle(el, prop, value) {
  if (!el) return;
  const memo = el._s || (el._s = {});
  if (memo[prop] !== value) { el.style[prop] = value; memo[prop] = value; }
}

// Percentiles and self time rest on the spans the collector saw; coverage
// (0..1, absent on older adapters: 1) is their share of all recorded spans.
// Below 99% a figure gets a marker (an "approximately equal" sign) whose
// title gives the share.
const COVERAGE_MIN = 0.99;
function coverageText(cov) {
  if (!isNum(cov) || cov >= COVERAGE_MIN) return '';
  const pct = Math.max(0, cov * 100);
  return 'based on ' + (pct < 1 ? '<1' : String(Math.floor(pct + 1e-9))) + '% of spans';
}
function covMark(cov) {
  const t = coverageText(cov);
  return t ? `<span class="approx" title="${esc(t)}">\u2248</span>` : '';
}

// Tooltip shared by every view.
const tip = $('tip');
function showTip(html, x, y) {
  tip.innerHTML = html;
  tip.hidden = false;
  const r = tip.getBoundingClientRect();
  let left = x + 14, top = y + 14;
  if (left + r.width > window.innerWidth - 6) left = Math.max(6, x - r.width - 14);
  if (top + r.height > window.innerHeight - 6) top = Math.max(6, y - r.height - 14);
  tip.style.left = left + 'px';
  tip.style.top = top + 'px';
}
const hideTip = () => { tip.hidden = true; };
const rowsHtml = (pairs) => '<table>' + pairs.map((p) => `<tr><td>${esc(p[0])}</td><td>${p[1]}</td></tr>`).join('') + '</table>';
