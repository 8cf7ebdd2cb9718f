// Charts: the frame-time chart and its marks, the host meters and the
// sparklines of the counters and the CPU.

// Frame time ------------------------------------------------------------
function frameBudget() {
  const b = (S.spanBudgets || []).find((x) => x.name === '(frame)');
  return b || null;
}
function renderFrames() {
  const d = S.dash;
  const f = d && d.frames;
  const last = S.hist.length ? S.hist[S.hist.length - 1] : null;
  $('frame-p95').textContent = f && isNum(f.p95_ms) ? f.p95_ms.toFixed(2) : '0';
  $('frame-avg').textContent = last && isNum(last.avg) ? fmt(last.avg) + ' ms' : '\u2013';
  $('frame-avg-all').textContent = f ? fmt(f.avg_ms) + ' ms' : '\u2013';
  $('frame-max').textContent = f ? fmt(f.max_ms) + ' ms' : '\u2013';
  $('frame-fps').textContent = last && isNum(last.avg) && last.avg > 0 ? fmt(1000 / last.avg, 1) : '\u2013';
  $('frame-count').textContent = f ? fint(f.count) : '0';
  // GPU frames ("(gpu frame)", every context): the average since start or
  // reset, as "avg" is for the CPU frame; a dash without GPU frames.
  const g = d && d.gpu_frames;
  const hasGpu = !!(g && isNum(g.count) && g.count > 0 && isNum(g.avg_ms));
  const ga = hasGpu ? fmt(g.avg_ms) : '\u2013';
  if ($('gpu-frame-avg').textContent !== ga) $('gpu-frame-avg').textContent = ga;
  if ($('gpu-frame-avg-unit').hidden === hasGpu) $('gpu-frame-avg-unit').hidden = !hasGpu;
  const w = last && isNum(last.wp95) ? fmt(last.wp95) + ' ms' : '\u2013';
  if ($('frame-p95-window').textContent !== w) $('frame-p95-window').textContent = w;
  const b = frameBudget();
  const parts = [];
  if (b && isNum(b.max_ms)) parts.push('max ' + fmt(b.max_ms) + ' ms');
  if (b && isNum(b.p95_ms)) parts.push('p95 ' + fmt(b.p95_ms) + ' ms');
  const bl = b ? '(frame) budget: ' + parts.join(', ') : 'no (frame) budget';
  if ($('budget-label').textContent !== bl) $('budget-label').textContent = bl;
  renderMarks();
}

const chart = {x0: 0, x1: 0, pad: null, t0: 0, t1: 0, markPx: []};
function drawFrameChart() {
  const c = $('frame-chart');
  const {ctx, w, h} = fitCanvas(c, 190);
  const pad = {l: 46, r: 12, t: 14, b: 20};
  const t1 = S.hist.length ? S.hist[S.hist.length - 1].t : (S.serverNow || Date.now() / 1000);
  const t0 = t1 - HISTORY_S;
  Object.assign(chart, {pad, t0, t1, w, h});
  const b = frameBudget();
  // The p95 line: the (frame) budget's window p95 where the page has it
  // (sampleWindowP95 in api.js); without a (frame) budget, the p95 since
  // start, labelled so.
  const inView = S.hist.filter((s) => s.t >= t0 - 1);
  const p95Key = inView.some((s) => isNum(s.wp95)) ? 'wp95' : inView.some((s) => isNum(s.p95)) ? 'p95' : '';
  const p95Pts = p95Key ? inView.filter((s) => isNum(s[p95Key])) : [];
  // What is drawn, for tests: data-p95-source, data-p95-points, data-p95-last.
  const drawn = {
    p95Source: p95Key === 'wp95' ? 'window' : p95Key ? 'since-start' : '',
    p95Points: String(p95Pts.length),
    p95Last: p95Pts.length ? String(p95Pts[p95Pts.length - 1][p95Key]) : '',
  };
  for (const k of Object.keys(drawn)) if (c.dataset[k] !== drawn[k]) c.dataset[k] = drawn[k];
  const label = p95Key === 'wp95' ? 'p95 per window of the (frame) budget'
    : !p95Key ? 'p95'
    : b ? 'p95 since start (the (frame) budget has no window p95 yet)'
    : 'p95 since start (set a (frame) budget for a window p95)';
  if ($('p95-label').textContent !== label) $('p95-label').textContent = label;
  // The GPU series (gavg, api.js) and its legend entry only with GPU frames
  // in view: without them the chart is the CPU chart alone.
  const gpu = inView.some((s) => isNum(s.gavg));
  if ($('gpu-legend').hidden === gpu) $('gpu-legend').hidden = !gpu;
  const gpuPts = String(inView.filter((s) => isNum(s.gavg)).length);
  if (c.dataset.gpuPoints !== gpuPts) c.dataset.gpuPoints = gpuPts;
  let ymax = 0;
  for (const s of inView) {
    if (s.t < t0) continue;
    if (isNum(s.avg)) ymax = Math.max(ymax, s.avg);
    if (isNum(s.gavg)) ymax = Math.max(ymax, s.gavg);
    if (p95Key && isNum(s[p95Key])) ymax = Math.max(ymax, s[p95Key]);
  }
  const lines = [];
  if (b && isNum(b.max_ms)) lines.push({v: b.max_ms, label: '(frame) max ' + fmt(b.max_ms) + ' ms'});
  if (b && isNum(b.p95_ms)) lines.push({v: b.p95_ms, label: '(frame) p95 ' + fmt(b.p95_ms) + ' ms'});
  for (const l of lines) ymax = Math.max(ymax, l.v);
  if (ymax <= 0) ymax = 20;
  const step = niceStep(ymax * 1.12, 4);
  ymax = Math.ceil(ymax * 1.12 / step) * step;
  const X = (t) => pad.l + (t - t0) / (t1 - t0) * (w - pad.l - pad.r);
  const Y = (v) => h - pad.b - v / ymax * (h - pad.t - pad.b);
  chart.X = X; chart.Y = Y;
  ctx.clearRect(0, 0, w, h);
  ctx.font = font(11);
  ctx.lineWidth = 1;
  ctx.strokeStyle = '#232932';
  ctx.fillStyle = '#8591a0';
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (let v = 0; v <= ymax + 1e-9; v += step) {
    const y = Math.round(Y(v)) + 0.5;
    ctx.beginPath(); ctx.moveTo(pad.l, y); ctx.lineTo(w - pad.r, y); ctx.stroke();
    ctx.fillText(fmt(v, step < 1 ? 1 : 0) + ' ms', pad.l - 6, y);
  }
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (let s = 0; s <= HISTORY_S; s += 30) {
    const x = X(t1 - s);
    ctx.fillText(s === 0 ? 'now' : '\u2212' + s + ' s', Math.min(w - pad.r - 12, Math.max(pad.l + 12, x)), h - pad.b + 5);
  }
  // Marks: ticks along the top; full-height lines when there are few.
  chart.markPx = [];
  const vis = S.marks.filter((m) => m.t >= t0 && m.t <= t1 + 1);
  ctx.strokeStyle = '#c792ea';
  for (const m of vis) {
    const x = Math.round(X(Math.min(m.t, t1))) + 0.5;
    chart.markPx.push({x, m});
    ctx.globalAlpha = vis.length <= 24 ? 0.45 : 0.9;
    ctx.beginPath();
    ctx.moveTo(x, vis.length <= 24 ? h - pad.b : pad.t + 4);
    ctx.lineTo(x, pad.t - 4);
    ctx.stroke();
  }
  ctx.globalAlpha = 1;
  // Budget lines.
  ctx.setLineDash([5, 4]);
  ctx.strokeStyle = '#ff6b6b';
  ctx.fillStyle = '#ff6b6b';
  ctx.textAlign = 'right';
  ctx.textBaseline = 'bottom';
  for (const l of lines) {
    const y = Math.round(Y(l.v)) + 0.5;
    ctx.beginPath(); ctx.moveTo(pad.l, y); ctx.lineTo(w - pad.r, y); ctx.stroke();
    ctx.fillText(l.label, w - pad.r - 2, y - 2);
  }
  ctx.setLineDash([]);
  const series = (key, color, width) => {
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    ctx.lineJoin = 'round';
    ctx.beginPath();
    let pen = false;
    for (const s of S.hist) {
      if (s.t < t0 - 1 || !isNum(s[key])) { pen = false; continue; }
      const x = X(Math.max(s.t, t0)), y = Y(s[key]);
      if (pen) ctx.lineTo(x, y); else ctx.moveTo(x, y);
      pen = true;
    }
    ctx.stroke();
  };
  series('avg', '#5aa9ff', 1.6);
  if (gpu) series('gavg', GPU_COLOR, 1.6);
  if (p95Key) series(p95Key, '#ffb347', 1.6);
  ctx.lineWidth = 1;
  if (!p95Key && !gpu) {
    ctx.fillStyle = '#8591a0';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText(S.prof ? 'no frames yet (PERF_FRAME)' : 'the profiler is off', (pad.l + w - pad.r) / 2, (pad.t + h - pad.b) / 2);
  }
}
$('frame-chart').addEventListener('mousemove', (e) => {
  if (!chart.X || !S.hist.length) return;
  const r = e.currentTarget.getBoundingClientRect();
  const x = e.clientX - r.left;
  const t = chart.t0 + (x - chart.pad.l) / (chart.w - chart.pad.l - chart.pad.r) * (chart.t1 - chart.t0);
  let best = null;
  for (const s of S.hist) if (!best || Math.abs(s.t - t) < Math.abs(best.t - t)) best = s;
  const near = chart.markPx.filter((p) => Math.abs(p.x - x) <= 3).map((p) => p.m);
  const pairs = [];
  if (best) {
    pairs.push(['time', ((best.t - chart.t1).toFixed(0)) + ' s']);
    pairs.push(['avg', fmt(best.avg) + ' ms']);
    if (isNum(best.wp95)) pairs.push(['p95 (window)', fmt(best.wp95) + ' ms']);
    pairs.push(['p95 since start', fmt(best.p95) + ' ms']);
    if (isNum(best.gavg)) pairs.push(['GPU frame avg', fmt(best.gavg) + ' ms']);
  }
  for (const m of near.slice(0, 4)) pairs.push(['mark', esc(m.name) + ' <span class="muted">' + esc(m.category) + '</span>']);
  showTip(rowsHtml(pairs), e.clientX, e.clientY);
});
$('frame-chart').addEventListener('mouseleave', hideTip);

function renderMarks() {
  const by = new Map();
  for (const m of S.marks) {
    const k = m.name + '\u0001' + m.category;
    const e = by.get(k) || {name: m.name, category: m.category, n: 0, last: 0};
    e.n++;
    e.last = Math.max(e.last, m.t);
    by.set(k, e);
  }
  const list = Array.from(by.values()).sort((a, b) => b.last - a.last).slice(0, 12);
  const html = list.length
    ? list.map((e) => `<span class="mk"><b>${esc(e.name)}</b> ${esc(e.category)} \u00d7${e.n} \u00b7 ${ago(e.last)}</span>`).join('')
    : '<span class="muted">no marks in the last 2 minutes</span>';
  if ($('marks')._h !== html) { $('marks').innerHTML = html; $('marks')._h = html; }
}

// Budgets: host -----------------------------------------------------------
// Host meters: built once, then updated in place.
function meterSet(key, label, value, max, limit, text) {
  const box = $('host-meters');
  let m = box.querySelector(`[data-meter="${key}"]`);
  if (!m) {
    m = document.createElement('div');
    m.className = 'meter';
    m.dataset.meter = key;
    m.innerHTML = `<span>${label}</span><div class="bar"><i></i><u hidden title="limit"></u></div><span class="v"></span>`;
    box.appendChild(m);
  }
  const frac = max > 0 && isNum(value) ? value / max : 0;
  const cls = isNum(limit) && limit > 0 && value > limit ? 'hot' : frac > 0.85 ? 'warm' : '';
  const i = m.querySelector('i'), u = m.querySelector('u'), v = m.querySelector('.v');
  const width = Math.min(100, frac * 100).toFixed(1) + '%';
  if (i.style.width !== width) i.style.width = width;
  if (i.className !== cls) i.className = cls;
  const hasLimit = isNum(limit) && limit > 0 && max > 0;
  if (u.hidden === hasLimit) u.hidden = !hasLimit;
  if (hasLimit) {
    const left = Math.min(100, limit / max * 100).toFixed(1) + '%';
    if (u.style.left !== left) u.style.left = left;
  }
  if (v.textContent !== text) v.textContent = text;
}
function renderHost() {
  const b = S.budgets;
  if (!b || !b.metrics) return;
  const m = b.metrics, l = b.limits || {};
  const gpus = Array.isArray(m.gpus) ? m.gpus : [];
  const vramTotal = gpus.reduce((s, g) => s + (isNum(g.mem_total) ? g.mem_total : 0), 0);
  meterSet('cpu', 'CPU', m.cpu_percent, 100, l.max_cpu_percent,
      `${fmt(m.cpu_percent, 1)}%` + (isNum(l.max_cpu_percent) ? ` / ${fmt(l.max_cpu_percent, 0)}%` : ''));
  meterSet('ram', 'RAM', m.mem_used_mb, m.mem_total_mb, l.max_mem_mb,
      `${fint(m.mem_used_mb)} / ${fint(m.mem_total_mb)} MB` + (l.max_mem_mb ? ` (limit ${fint(l.max_mem_mb)})` : ''));
  meterSet('vram', 'VRAM', m.vram_used_mb, vramTotal || (l.max_vram_mb || 0), l.max_vram_mb,
      gpus.length ? `${fint(m.vram_used_mb)} / ${fint(vramTotal)} MB` : 'no GPU reported');
  const proc = `process: ${fmt(m.process_cpu_percent, 1)}% CPU \u00b7 ${fmt(m.process_rss_mb, 1)} MB resident \u00b7 ${fint(m.process_threads)} threads` +
      (isNum(m.cpu_count) ? ` \u00b7 ${fint(m.cpu_count)} CPUs` : '') +
      (m.pressure && isNum(m.pressure.cpu) ? ` \u00b7 CPU pressure ${fmt(m.pressure.cpu, 1)}%` : '') +
      (m.cgroup ? ` \u00b7 cgroup ${m.cgroup}` : '');
  if ($('host-proc').textContent !== proc) $('host-proc').textContent = proc;
  const g = gpus.map((x) => `<div>GPU ${esc(x.id)} ${esc(x.name)}: ${fmt(x.util, 0)}% \u00b7 ${fint(x.mem_used)} / ${fint(x.mem_total)} MB${isNum(x.temp_c) ? ' \u00b7 ' + fmt(x.temp_c, 0) + ' \u00b0C' : ''}</div>`).join('');
  if ($('host-gpus')._h !== g) { $('host-gpus').innerHTML = g; $('host-gpus')._h = g; }
}

// Sparklines: counters and the CPU ----------------------------------------
function spark(c, pts, color, fixedMax, label) {
  if (!c) return;
  const {ctx, w, h} = fitCanvas(c, 34);
  ctx.clearRect(0, 0, w, h);
  if (!pts || !pts.length) return;
  // The last 2 minutes, or what the page has seen of them.
  const t1 = pts[pts.length - 1].t, t0 = Math.max(t1 - HISTORY_S, pts[0].t);
  const range = Math.max(1, t1 - t0);
  let lo = Infinity, hi = -Infinity;
  for (const p of pts) if (isNum(p.v)) { lo = Math.min(lo, p.v); hi = Math.max(hi, p.v); }
  if (!isFinite(lo)) return;
  if (fixedMax !== undefined) { lo = 0; hi = Math.max(fixedMax, hi); }
  if (hi - lo < 1e-9) { hi += 1; lo -= 1; }
  const X = (t) => (t - t0) / range * (w - 2) + 1;
  const Y = (v) => h - 3 - (v - lo) / (hi - lo) * (h - 6);
  ctx.strokeStyle = color;
  ctx.fillStyle = color;
  ctx.lineWidth = 1.3;
  ctx.beginPath();
  let first = true;
  for (const p of pts) {
    if (!isNum(p.v) || p.t < t0) continue;
    if (first) ctx.moveTo(X(p.t), Y(p.v)); else ctx.lineTo(X(p.t), Y(p.v));
    first = false;
  }
  ctx.stroke();
  ctx.globalAlpha = 0.12;
  ctx.lineTo(w - 1, h);
  ctx.lineTo(X(Math.max(t0, pts[0].t)), h);
  ctx.fill();
  ctx.globalAlpha = 1;
  if (label) {
    ctx.fillStyle = '#8591a0';
    ctx.font = '10px sans-serif';
    ctx.fillText(label, 4, 10);
  }
}

// Canvases last, after every DOM write of a refresh: one layout at most.
function drawSparks(counters, host) {
  if (counters !== false) {
    for (const el of $('counters').querySelectorAll('.ctr[data-name]')) {
      const name = el.getAttribute('data-name');
      spark(el.querySelector('canvas'), S.ctrHist.get(name), PALETTE[colorIndex(name)]);
    }
  }
  if (host !== false && S.cpuHist.length) spark($('cpu-spark'), S.cpuHist, '#5aa9ff', 100, 'CPU % over 2 min');
}
