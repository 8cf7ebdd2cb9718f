// Start-up and wiring: the refresh of every panel, pause, resize, the hooks
// for tests and benchmarks; then the first poll. Comes last.

// -------------------------------------------------------------- rendering
// Panels off screen are redrawn every fifth refresh only (their data is
// still polled): a long page costs the browser, and so the machine it
// shares with the application, little more than what is in view.
const onScreen = new Map();   // panel id -> bool; unknown counts as visible
const io = typeof IntersectionObserver === 'function' ? new IntersectionObserver((entries) => {
  let appeared = false;
  for (const e of entries) {
    if (e.isIntersecting && onScreen.get(e.target.id) === false) appeared = true;
    onScreen.set(e.target.id, e.isIntersecting);
  }
  if (appeared && (S.prof || S.bud)) requestAnimationFrame(() => renderAll(true));
}, {rootMargin: '150px'}) : null;
if (io) for (const p of document.querySelectorAll('main > .panel')) io.observe(p);
const PANELS = [
  ['p-frames', [renderFrames, drawFrameChart]], ['p-top', [renderTop]], ['p-tree', [renderTree]],
  ['p-trace', [renderSpikes]], ['p-limits', [renderLimits, renderHost]], ['p-jobs', [renderJobs]],
  ['p-assets', [renderAssets]], ['p-spanbud', [renderSpanBudgets]], ['p-counters', [renderCounters]],
];
let renders = 0;
function renderAll(visibleOnly) {
  const due = !visibleOnly && renders++ % 5 === 0;
  const canvases = [];
  for (const [id, fns] of PANELS) {
    if (onScreen.get(id) === false && !due) continue;
    for (const fn of fns) {
      // Canvases last, after every DOM write: one layout at most.
      if (fn === drawFrameChart) { canvases.push(fn); continue; }
      try { fn(); } catch (e) { /* one panel's bad data must not stop the others */ showPanelError(fn.name, e); }
    }
  }
  canvases.push(() => drawSparks(onScreen.get('p-counters') !== false || due, onScreen.get('p-limits') !== false || due));
  for (const fn of canvases) {
    try { fn(); } catch (e) { showPanelError(fn.name || 'a chart', e); }
  }
  const foot = 'polling this adapter about once a second \u00b7 updated ' +
      new Date().toLocaleTimeString() + (S.dash ? ' \u00b7 ' + fint(S.dash.spans_recorded) + ' spans recorded' : '');
  if ($('foot-info').textContent !== foot) $('foot-info').textContent = foot;
}
function showPanelError(name, e) {
  const err = $('error');
  err.textContent = 'Could not draw ' + name + ': ' + (e && e.message ? e.message : e);
  err.hidden = false;
}

// ------------------------------------------------------------ pause, resize
$('pause').addEventListener('click', () => {
  S.paused = !S.paused;
  const b = $('pause');
  b.setAttribute('aria-pressed', S.paused ? 'true' : 'false');
  b.textContent = S.paused ? 'Resume' : 'Pause';
  if (S.paused) {
    clearTimeout(S.timer);
    setConn('idle', 'paused');
  } else {
    schedule(0);
  }
});
function redrawCanvases() {
  drawFrameChart();
  if (TV.data) drawTrace();
  drawSparks();
}
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(redrawCanvases, 100);
});

// For the benchmark and tests: draw a trace given as text, without a request.
// pointOfWidestSpan: canvas coordinates of the widest span in view, for hover tests.
window.comfyvnPerfDashboard = {
  showTrace: (text, label) => showTrace(text, label || 'file', 'trace.json'),
  state: S,
  // Synchronous redraw of the trace view at a view given as fractions of the trace; its time in ms.
  drawAt: (f0, f1) => {
    const D = TV.data;
    if (!D) return null;
    TV.v0 = D.t0 + (D.t1 - D.t0) * f0;
    TV.v1 = D.t0 + (D.t1 - D.t0) * f1;
    const t = performance.now();
    drawTrace();
    return performance.now() - t;
  },
  pointOfWidestSpan: () => {
    const D = TV.data;
    if (!D) return null;
    let best = null;
    for (const l of D.lanes) {
      for (let d = 0; d < l.levels.length; d++) {
        for (const s of l.levels[d]) {
          const a = Math.max(TV.v0, D.ts[s]), b = Math.min(TV.v1, D.ts[s] + D.dur[s]);
          if (b > a && (!best || b - a > best.w)) best = {w: b - a, t: (a + b) / 2, y: l.y + LANE_HEAD + d * ROW + ROW / 2, s};
        }
      }
    }
    return best && {x: (best.t - TV.v0) / (TV.v1 - TV.v0) * TV.W, y: best.y, name: D.names[D.nameId[best.s]]};
  },
};

drawFrameChart();
drawTrace();
poll();
