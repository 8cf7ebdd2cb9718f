// Trace view ------------------------------------------------------------------
// A captured Chrome trace drawn per thread on one canvas: spans stacked by
// nesting depth, counters as small tracks, marks as vertical lines. Spans
// narrower than a couple of pixels are merged into runs, so a 100,000-span
// capture draws in a few milliseconds once laid out. GPU tracks (threads
// named "gpu: NAME", one per GPU context, and their "... frames" track) come
// after the CPU threads; spans of category "gpu" take the GPU colours.
const TV = {
  canvas: $('trace-view'), wrap: $('trace-wrap'),
  data: null, v0: 0, v1: 1, hover: -1, text: '', file: 'comfyvn_trace.json', busy: false,
  lanes: [], W: 0, H: 0, fetchMs: -1,
};
const ROW = 16, LANE_HEAD = 18, CTR_H = 20, AXIS_H = 20, MAX_DEPTH = 32;
// Span colours by index: the PALETTE by name, then GPU_PALETTE for "gpu" spans.
const SPAN_COLORS = PALETTE.concat(GPU_PALETTE);
const isGpuLane = (name) => name.indexOf('gpu: ') === 0;

function buildTrace(doc) {
  const evs = Array.isArray(doc) ? doc : (doc && Array.isArray(doc.traceEvents) ? doc.traceEvents : []);
  let n = 0;
  for (let i = 0; i < evs.length; i++) { const e = evs[i]; if (e && e.ph === 'X' && typeof e.ts === 'number') n++; }
  const ts = new Float64Array(n), dur = new Float64Array(n), self = new Float64Array(n);
  const nameId = new Int32Array(n), thr = new Int32Array(n), depth = new Uint8Array(n), col = new Uint8Array(n);
  const names = [], cats = [];
  const byName = new Map();        // name -> {cat, id, more: Map(cat -> id) | null}
  const threads = [], threadIdx = new Map(), threadNames = new Map();
  const marks = [], counters = new Map();
  let j = 0, t0 = Infinity, t1 = -Infinity;
  let lastPid, lastTid, lastTh = -1;
  // One pass over the events; no string is built per span (100,000 of them
  // would keep the garbage collector busy for longer than the drawing).
  for (let i = 0; i < evs.length; i++) {
    const e = evs[i];
    if (!e) continue;
    const ph = e.ph;
    if (ph === 'X' && typeof e.ts === 'number') {
      const t = e.ts;
      if (!(t === t) || t === Infinity || t === -Infinity) continue;
      let th;
      if (lastTh >= 0 && e.tid === lastTid && e.pid === lastPid) th = lastTh;
      else {
        const tk = e.pid + ':' + e.tid;
        th = threadIdx.get(tk);
        if (th === undefined) { th = threads.length; threads.push({key: tk, pid: e.pid, tid: e.tid, count: 0}); threadIdx.set(tk, th); }
        lastTh = th; lastPid = e.pid; lastTid = e.tid;
      }
      const cat = e.cat || '';
      let rec = byName.get(e.name), id;
      if (rec && rec.cat === cat) id = rec.id;
      else {
        if (rec && rec.more && rec.more.has(cat)) id = rec.more.get(cat);
        else {
          id = names.length;
          names.push(String(e.name));
          cats.push(cat);
          if (!rec) byName.set(e.name, {cat, id, more: null});
          else { if (!rec.more) rec.more = new Map(); rec.more.set(cat, id); }
        }
      }
      const d = e.dur;
      ts[j] = t;
      dur[j] = typeof d === 'number' && d > 0 && d !== Infinity ? d : 0;
      self[j] = dur[j];
      nameId[j] = id;
      thr[j] = th;
      threads[th].count++;
      if (t < t0) t0 = t;
      if (t + dur[j] > t1) t1 = t + dur[j];
      j++;
    } else if (ph === 'M') {
      if (e.name === 'thread_name' && e.args) threadNames.set(e.pid + ':' + e.tid, String(e.args.name));
    } else if ((ph === 'i' || ph === 'I' || ph === 'R') && isNum(e.ts)) {
      marks.push({ts: e.ts, name: String(e.name), cat: e.cat || ''});
    } else if (ph === 'C' && isNum(e.ts) && e.args) {
      const keys = Object.keys(e.args);
      for (const k of keys) {
        const v = e.args[k];
        if (!isNum(v)) continue;
        const cn = keys.length > 1 ? e.name + '.' + k : String(e.name);
        let list = counters.get(cn);
        if (!list) { list = []; counters.set(cn, list); }
        list.push({ts: e.ts, v});
      }
    }
  }
  if (j < n) n = j;
  const nameCol = names.map((x, i) => cats[i] === 'gpu'
    ? PALETTE.length + hashStr(x) % GPU_PALETTE.length : colorIndex(x));
  for (let i = 0; i < n; i++) col[i] = nameCol[nameId[i]];
  // Spans of each thread, in file order.
  const perThread = threads.map((th) => new Int32Array(th.count));
  const fill = new Int32Array(threads.length);
  for (let i = 0; i < n; i++) { const th = thr[i]; perThread[th][fill[th]++] = i; }
  // Per thread: start order (parents first on ties), depth from a stack of
  // open spans, self time, then levels of non-overlapping spans as typed
  // arrays (starts and ends ascending, for binary search while drawing).
  const lanes = [];
  let maxDepthSeen = 0;
  const stack = new Int32Array(256);
  for (let ti = 0; ti < threads.length; ti++) {
    const th = threads[ti];
    let idx = perThread[ti];
    let sorted = true;
    for (let k = 1; k < idx.length; k++) {
      const a = idx[k - 1], b = idx[k];
      if (ts[a] > ts[b] || (ts[a] === ts[b] && dur[a] < dur[b])) { sorted = false; break; }
    }
    if (!sorted) idx = Int32Array.from(Array.from(idx).sort((a, b) => ts[a] - ts[b] || dur[b] - dur[a]));
    const cnt = new Int32Array(MAX_DEPTH);
    let top = 0;
    for (let k = 0; k < idx.length; k++) {
      const s = idx[k];
      const st = ts[s];
      while (top > 0 && ts[stack[top - 1]] + dur[stack[top - 1]] <= st + 1e-6) top--;
      if (top > 0) self[stack[top - 1]] -= dur[s];
      depth[s] = top;
      if (top < MAX_DEPTH) cnt[top]++;
      if (top > maxDepthSeen) maxDepthSeen = top;
      if (top < 255) stack[top++] = s;
    }
    let nl = 0;
    while (nl < MAX_DEPTH && cnt[nl] > 0) nl++;
    const levels = [], ends = [], at = new Int32Array(nl);
    for (let d = 0; d < nl; d++) { levels.push(new Int32Array(cnt[d])); ends.push(new Float64Array(cnt[d])); }
    for (let k = 0; k < idx.length; k++) {
      const s = idx[k];
      const d = depth[s];
      if (d >= nl) continue;
      const p = at[d]++;
      levels[d][p] = s;
      ends[d][p] = ts[s] + dur[s];
    }
    const name = threadNames.get(th.key) || ('thread ' + th.tid);
    lanes.push({name, gpu: isGpuLane(name), tid: th.tid, pid: th.pid, count: idx.length, levels, ends,
      truncated: maxDepthSeen >= MAX_DEPTH});
  }
  // CPU threads by (pid, tid); then the GPU tracks by name, so that a
  // context's frame track follows its own.
  lanes.sort((a, b) => (a.gpu - b.gpu) || (a.gpu && (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) ||
      (a.pid - b.pid) || (a.tid - b.tid));
  const ctrs = Array.from(counters.entries()).map(([name, pts]) => {
    pts.sort((a, b) => a.ts - b.ts);
    let lo = Infinity, hi = -Infinity;
    for (const p of pts) { lo = Math.min(lo, p.v); hi = Math.max(hi, p.v); if (p.ts < t0) t0 = p.ts; if (p.ts > t1) t1 = p.ts; }
    return {name, pts, lo, hi};
  });
  for (const m of marks) { if (m.ts < t0) t0 = m.ts; if (m.ts > t1) t1 = m.ts; }
  if (!isFinite(t0)) { t0 = 0; t1 = 1; }
  if (t1 <= t0) t1 = t0 + 1;
  return {n, ts, dur, self, nameId, thr, depth, col, names, cats, lanes, marks, ctrs, t0, t1, maxDepth: maxDepthSeen,
    other: doc && doc.otherData ? doc.otherData : null};
}

function layoutLanes() {
  const D = TV.data;
  let y = AXIS_H;
  TV.ctrTop = y;
  y += D.ctrs.length * CTR_H;
  for (const l of D.lanes) {
    l.y = y;
    l.h = LANE_HEAD + l.levels.length * ROW + 4;
    y += l.h;
  }
  TV.H = Math.max(60, y + 4);
}

function fitView() {
  const D = TV.data;
  if (!D) return;
  const pad = (D.t1 - D.t0) * 0.01;
  TV.v0 = D.t0 - pad;
  TV.v1 = D.t1 + pad;
}

function lowerBound(arr, v) {
  let lo = 0, hi = arr.length;
  while (lo < hi) { const m = (lo + hi) >>> 1; if (arr[m] < v) lo = m + 1; else hi = m; }
  return lo;
}

function drawTrace() {
  const D = TV.data;
  const c = TV.canvas;
  const {ctx, w, h} = fitCanvas(c, D ? TV.H : 60);
  TV.W = w;
  ctx.clearRect(0, 0, w, h);
  if (!D) return 0;
  const v0 = TV.v0, v1 = TV.v1;
  const k = w / (v1 - v0);
  const X = (t) => (t - v0) * k;
  ctx.font = font(11);
  ctx.textBaseline = 'middle';
  // Axis: milliseconds from the first event.
  const stepUs = niceStep((v1 - v0), Math.max(2, Math.floor(w / 110)));
  ctx.fillStyle = '#8591a0';
  ctx.strokeStyle = '#20262e';
  ctx.lineWidth = 1;
  ctx.textAlign = 'left';
  const first = Math.ceil((v0 - D.t0) / stepUs) * stepUs + D.t0;
  for (let t = first; t <= v1; t += stepUs) {
    const x = Math.round(X(t)) + 0.5;
    ctx.beginPath(); ctx.moveTo(x, AXIS_H - 4); ctx.lineTo(x, h); ctx.stroke();
    const ms = (t - D.t0) / 1000;
    ctx.fillText(fmt(ms, stepUs >= 1000 ? 0 : stepUs >= 100 ? 1 : stepUs >= 10 ? 2 : 3) + ' ms', x + 3, 9);
  }
  // Counter tracks.
  D.ctrs.forEach((cn, i) => {
    const y0 = TV.ctrTop + i * CTR_H;
    ctx.fillStyle = i % 2 ? '#151a20' : '#131820';
    ctx.fillRect(0, y0, w, CTR_H);
    const span = cn.hi - cn.lo || 1;
    const Y = (v) => y0 + CTR_H - 3 - (v - cn.lo) / span * (CTR_H - 8);
    ctx.strokeStyle = PALETTE[colorIndex(cn.name)];
    ctx.beginPath();
    let started = false, lastY = 0;
    for (const p of cn.pts) {
      const x = X(p.ts);
      if (x < -50) { lastY = Y(p.v); continue; }
      if (!started) { ctx.moveTo(Math.max(0, x), lastY || Y(p.v)); started = true; }
      ctx.lineTo(x, lastY || Y(p.v));
      ctx.lineTo(x, Y(p.v));
      lastY = Y(p.v);
      if (x > w + 50) break;
    }
    ctx.stroke();
    ctx.fillStyle = '#8591a0';
    ctx.textAlign = 'left';
    ctx.fillText(`${cn.name}  ${fmt(cn.lo)}\u2013${fmt(cn.hi)}`, 4, y0 + 7);
  });
  // Thread lanes.
  const buckets = SPAN_COLORS.map(() => []);
  const labels = [];
  const ts = D.ts, dur = D.dur, col = D.col;
  for (let li = 0; li < D.lanes.length; li++) {
    const l = D.lanes[li];
    ctx.fillStyle = li % 2 ? '#141920' : '#12161b';
    ctx.fillRect(0, l.y, w, l.h);
    ctx.fillStyle = l.gpu ? '#17261f' : '#1b2129';
    ctx.fillRect(0, l.y, w, LANE_HEAD - 2);
    ctx.fillStyle = l.gpu ? '#7fe0b4' : '#b9c7d8';
    ctx.textAlign = 'left';
    ctx.fillText(`${l.name}  \u00b7  ${fint(l.count)} spans${l.truncated ? ' (deeper levels hidden)' : ''}`, 6, l.y + 8);
    for (let d = 0; d < l.levels.length; d++) {
      const lv = l.levels[d], ends = l.ends[d];
      const y = l.y + LANE_HEAD + d * ROW;
      let i = lowerBound(ends, v0);
      let runS = -1, runE = -1, runC = 0;
      for (; i < lv.length; i++) {
        const s = lv[i];
        const st = ts[s];
        if (st > v1) break;
        const x0 = (st - v0) * k, x1 = x0 + dur[s] * k;
        if (x1 - x0 < 2) {
          if (runS >= 0 && x0 <= runE + 1) { if (x1 > runE) runE = x1; continue; }
          if (runS >= 0) buckets[runC].push(runS, y, Math.max(1, runE - runS));
          runS = x0; runE = Math.max(x1, x0 + 1); runC = col[s];
          continue;
        }
        if (runS >= 0) { buckets[runC].push(runS, y, Math.max(1, runE - runS)); runS = -1; }
        const cx0 = Math.max(-2, x0), cx1 = Math.min(w + 2, x1);
        buckets[col[s]].push(cx0, y, cx1 - cx0);
        if (cx1 - cx0 > 36) labels.push(s, cx0, y, cx1 - cx0);
      }
      if (runS >= 0) buckets[runC].push(runS, y, Math.max(1, runE - runS));
    }
  }
  for (let b = 0; b < buckets.length; b++) {
    const r = buckets[b];
    if (!r.length) continue;
    ctx.fillStyle = SPAN_COLORS[b];
    ctx.beginPath();
    for (let i = 0; i < r.length; i += 3) ctx.rect(r[i], r[i + 1], r[i + 2] > 1.5 ? r[i + 2] - 0.5 : r[i + 2], ROW - 2);
    ctx.fill();
  }
  ctx.fillStyle = '#10141a';
  ctx.textAlign = 'left';
  for (let i = 0; i < labels.length; i += 4) {
    const s = labels[i], x = labels[i + 1], y = labels[i + 2], wd = labels[i + 3];
    const maxChars = Math.floor((wd - 6) / 6.4);
    if (maxChars < 3) continue;
    let t = D.names[D.nameId[s]];
    if (t.length > maxChars) t = t.slice(0, maxChars - 1) + '\u2026';
    ctx.fillText(t, Math.max(x, 0) + 3, y + ROW / 2 - 1);
  }
  // Marks.
  ctx.strokeStyle = '#c792ea';
  ctx.fillStyle = '#c792ea';
  for (const m of D.marks) {
    if (m.ts < v0 || m.ts > v1) continue;
    const x = Math.round(X(m.ts)) + 0.5;
    ctx.globalAlpha = 0.7;
    ctx.beginPath(); ctx.moveTo(x, AXIS_H - 6); ctx.lineTo(x, h); ctx.stroke();
    ctx.globalAlpha = 1;
    ctx.beginPath(); ctx.moveTo(x - 4, AXIS_H - 8); ctx.lineTo(x + 4, AXIS_H - 8); ctx.lineTo(x, AXIS_H - 2); ctx.fill();
  }
  // Hovered span.
  if (TV.hover >= 0) {
    const s = TV.hover;
    const hl = TV.hoverLane;
    if (hl) {
      const y = hl.y + LANE_HEAD + D.depth[s] * ROW;
      ctx.strokeStyle = '#ffffff';
      ctx.lineWidth = 1.5;
      ctx.strokeRect(Math.max(0, X(ts[s])) + 0.5, y + 0.5, Math.max(2, Math.min(w, X(ts[s] + dur[s])) - Math.max(0, X(ts[s]))), ROW - 2);
    }
  }
  return labels.length / 4;
}

let tvFrame = 0;
function requestDraw() {
  if (tvFrame) return;
  tvFrame = requestAnimationFrame(() => { tvFrame = 0; drawTrace(); });
}

function spanAt(px, py) {
  const D = TV.data;
  if (!D) return null;
  const t = TV.v0 + px / TV.W * (TV.v1 - TV.v0);
  const tol = 2 * (TV.v1 - TV.v0) / TV.W;
  for (const l of D.lanes) {
    if (py < l.y + LANE_HEAD || py >= l.y + l.h) continue;
    const d = Math.floor((py - l.y - LANE_HEAD) / ROW);
    const lv = l.levels[d];
    if (!lv) return null;
    const ends = l.ends[d];
    let i = lowerBound(ends, t - tol);
    let best = -1;
    for (; i < lv.length; i++) {
      const s = lv[i];
      if (D.ts[s] > t + tol) break;
      if (D.ts[s] <= t + tol && D.ts[s] + D.dur[s] >= t - tol) { best = s; if (D.ts[s] <= t && D.ts[s] + D.dur[s] >= t) break; }
    }
    return best >= 0 ? {s: best, lane: l} : null;
  }
  return null;
}

function setTraceInfo(text) { $('trace-info').textContent = text; }

async function loadTrace(path, label, file) {
  if (TV.busy) return;
  TV.busy = true;
  const btn = $('trace-button');
  btn.disabled = true;
  const isCapture = path.indexOf('/profiler/trace') === 0;
  if (isCapture) btn.textContent = 'Capturing\u2026';
  setTraceInfo(isCapture ? 'capturing one second of spans\u2026' : 'loading ' + label + '\u2026');
  try {
    const tf = performance.now();
    const r = await request(path);
    TV.fetchMs = performance.now() - tf;
    if (r.status !== 200) {
      let d = 'HTTP ' + r.status;
      try { const b = JSON.parse(r.text); if (b && b.detail) d = b.detail; } catch (e) { /* not JSON */ }
      if (r.status === 404 && !isCapture) {
        // Spikes are a bounded list: this one was dropped for newer ones.
        setTraceInfo(label + ' is gone: the adapter keeps only the newest spikes. Pick a newer one.');
        S.spikes = (S.spikes || []).filter((x) => '/profiler/spikes?id=' + x.id !== path);
        S.selectedSpike = null;
        renderSpikes();
        return;
      }
      setTraceInfo((r.status === 409 ? 'another capture is running: ' : 'no trace: ') + d);
      return;
    }
    showTrace(r.text, label, file);
  } catch (e) {
    setTraceInfo(e instanceof AuthError ? 'needs the token' : 'no trace: ' + (e && e.message ? e.message : e));
  } finally {
    TV.busy = false;
    btn.disabled = false;
    btn.textContent = 'Capture 1 s';
  }
}

// Parses, lays out and draws a trace (the text of a Chrome Trace Event JSON
// document). Timings land on the canvas as data attributes.
function showTrace(text, label, file) {
  const tA = performance.now();
  let doc;
  try { doc = JSON.parse(text); } catch (e) { setTraceInfo('not a trace: ' + e.message); return; }
  const tB = performance.now();
  const D = buildTrace(doc);
  TV.data = D;
  TV.text = text;
  TV.file = file;
  TV.hover = -1;
  layoutLanes();
  fitView();
  const tC = performance.now();
  drawTrace();
  const tD = performance.now();
  const c = TV.canvas;
  c.dataset.spans = String(D.n);
  // The lanes' labels from top to bottom, for tests: a JSON array of names.
  c.dataset.lanes = JSON.stringify(D.lanes.map((l) => l.name));
  c.dataset.source = label;
  c.dataset.parseMs = (tB - tA).toFixed(1);
  c.dataset.layoutMs = (tC - tB).toFixed(1);
  c.dataset.drawMs = (tD - tC).toFixed(1);
  c.dataset.totalMs = (tD - tA).toFixed(1);
  c.dataset.fetchMs = TV.fetchMs >= 0 ? TV.fetchMs.toFixed(1) : '';
  TV.fetchMs = -1;
  $('trace-download').disabled = false;
  const o = D.other;
  const gpuLanes = D.lanes.filter((l) => l.gpu).length;
  setTraceInfo(`${label}: ${fint(D.n)} spans on ${D.lanes.length} thread${D.lanes.length === 1 ? '' : 's'}` +
      (gpuLanes ? ` (${gpuLanes} GPU)` : '') + ', ' +
      `${fmt((D.t1 - D.t0) / 1000)} ms, ${D.marks.length} marks, ${D.ctrs.length} counter series` +
      (o && o.dropped ? `, ${fint(o.dropped)} dropped` : '') +
      ` \u00b7 drawn in ${(tD - tA).toFixed(0)} ms \u00b7 wheel: zoom, drag: pan, double-click: fit`);
}

$('trace-button').addEventListener('click', () => {
  S.selectedSpike = null;
  renderSpikes();
  loadTrace('/profiler/trace?seconds=1', 'capture', `comfyvn_trace_${stamp()}.json`);
});
$('trace-download').addEventListener('click', () => { if (TV.text) save(TV.text, TV.file); });
$('snapshot-download').addEventListener('click', async () => {
  let d = null;
  try {
    if (S.prof) {
      const r = await api('/profiler/dashboard?limit=20');
      if (r.body && r.body.ok) d = r.body.dashboard;
    }
  } catch (e) { d = null; }
  if (!d) d = S.dash;
  if (!d) { setTraceInfo('no dashboard to save: the profiler is off'); return; }
  save(JSON.stringify(d, null, 1), `comfyvn_dashboard_${stamp()}.json`);
});

function zoomAt(px, factor) {
  const D = TV.data;
  if (!D) return;
  const t = TV.v0 + px / TV.W * (TV.v1 - TV.v0);
  let span = (TV.v1 - TV.v0) * factor;
  const full = (D.t1 - D.t0) * 1.2;
  span = Math.max(0.5, Math.min(full, span));
  const f = (t - TV.v0) / (TV.v1 - TV.v0);
  TV.v0 = t - f * span;
  TV.v1 = TV.v0 + span;
  clampView();
  requestDraw();
}
function clampView() {
  const D = TV.data;
  const span = TV.v1 - TV.v0;
  const lo = D.t0 - (D.t1 - D.t0) * 0.1, hi = D.t1 + (D.t1 - D.t0) * 0.1;
  if (TV.v0 < lo) { TV.v0 = lo; TV.v1 = lo + span; }
  if (TV.v1 > hi) { TV.v1 = hi; TV.v0 = hi - span; }
}
TV.canvas.addEventListener('wheel', (e) => {
  if (!TV.data) return;
  e.preventDefault();
  const r = TV.canvas.getBoundingClientRect();
  const dy = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY;
  if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(dy)) {
    const dx = e.shiftKey ? dy : e.deltaX;
    const dt = dx / TV.W * (TV.v1 - TV.v0);
    TV.v0 += dt; TV.v1 += dt;
    clampView();
    requestDraw();
    return;
  }
  zoomAt(e.clientX - r.left, Math.exp(dy * 0.0025));
}, {passive: false});
let drag = null;
TV.canvas.addEventListener('mousedown', (e) => {
  if (!TV.data || e.button !== 0) return;
  drag = {x: e.clientX, v0: TV.v0, v1: TV.v1};
  TV.canvas.classList.add('dragging');
  hideTip();
});
window.addEventListener('mousemove', (e) => {
  if (!drag) return;
  const dt = (e.clientX - drag.x) / TV.W * (drag.v1 - drag.v0);
  TV.v0 = drag.v0 - dt;
  TV.v1 = drag.v1 - dt;
  clampView();
  requestDraw();
});
window.addEventListener('mouseup', () => {
  if (drag) { drag = null; TV.canvas.classList.remove('dragging'); }
});
TV.canvas.addEventListener('dblclick', () => { if (TV.data) { fitView(); requestDraw(); } });
TV.canvas.addEventListener('mousemove', (e) => {
  if (drag || !TV.data) return;
  const r = TV.canvas.getBoundingClientRect();
  const hit = spanAt(e.clientX - r.left, e.clientY - r.top);
  const s = hit ? hit.s : -1;
  if (s !== TV.hover) { TV.hover = s; TV.hoverLane = hit ? hit.lane : null; requestDraw(); }
  if (!hit) { hideTip(); return; }
  const D = TV.data;
  showTip(`<b>${esc(D.names[D.nameId[s]])}</b> <span class="muted">${esc(D.cats[D.nameId[s]])}</span>` + rowsHtml([
    ['duration', fmt(D.dur[s] / 1000, 3) + ' ms'],
    ['self', fmt(Math.max(0, D.self[s]) / 1000, 3) + ' ms'],
    ['start', '+' + fmt((D.ts[s] - D.t0) / 1000, 3) + ' ms'],
    ['thread', esc(hit.lane.name)],
    ['depth', String(D.depth[s])],
  ]), e.clientX, e.clientY);
});
TV.canvas.addEventListener('mouseleave', () => {
  hideTip();
  if (TV.hover >= 0) { TV.hover = -1; requestDraw(); }
});
$('trace-zoom-in').addEventListener('click', () => zoomAt(TV.W / 2, 0.5));
$('trace-zoom-out').addEventListener('click', () => zoomAt(TV.W / 2, 2));
$('trace-reset').addEventListener('click', () => { if (TV.data) { fitView(); requestDraw(); } });
