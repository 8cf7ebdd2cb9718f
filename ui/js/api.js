// The API client and the polling loop.
//
// Polling: /health about once a second. Each panel follows its own
// subsystem, as /health reports it (profiler_enabled, budgets_enabled), not
// the umbrella flag: a program may switch the profiler on from code, or the
// config may turn on one legacy key, while features.enable_perf stays off.
// With the profiler on: the profiler dashboard and the spikes every second,
// the call tree every other second, the span budgets every other second (every
// second while a "(frame)" budget exists: its window p95 is the frame
// chart's p95 line). With the budget manager on: /budgets every other second.
// A data route that answers 403 "... disabled" (the flags changed since
// /health) turns its panels off until it answers again. With both off only
// /health is called, backing off to one call every 10 s. A 401 asks for the
// bearer token once (kept in sessionStorage) and stops the data routes until
// one is given.

// -------------------------------------------------------------- transport
async function request(path, opts) {
  const o = Object.assign({cache: 'no-store', credentials: 'same-origin'}, opts || {});
  o.headers = Object.assign({'Accept': 'application/json'}, (opts && opts.headers) || {});
  if (S.token) o.headers['Authorization'] = 'Bearer ' + S.token;
  const r = await fetch(API + path, o);
  if (r.status === 401) {
    askToken();
    throw new AuthError('401');
  }
  const text = await r.text();
  return {status: r.status, text};
}
async function api(path, opts) {
  const r = await request(path, opts);
  let body = null;
  try { body = JSON.parse(r.text); } catch (e) { body = null; }
  return {status: r.status, body};
}
const post = (path, obj) => api(path, {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(obj || {})});
const detailOf = (r) => (r.body && r.body.detail) ? r.body.detail : ('HTTP ' + r.status);

function setConn(kind, text) {
  const c = $('conn');
  c.className = 'conn ' + kind;
  $('conn-text').textContent = text;
}

// ---------------------------------------------------------------- polling
function schedule(ms) {
  clearTimeout(S.timer);
  S.timer = setTimeout(poll, ms);
}

async function poll() {
  if (S.paused) return;
  const started = performance.now();
  let next = 1000;
  try {
    const h = await api('/health?limit=0');
    if (!h.body || typeof h.body.feature_flag !== 'boolean') throw new Error('health answered ' + h.status);
    S.failures = 0;
    S.lastOk = Date.now();
    applyHealth(h.body);
    if (!S.prof && !S.bud) {
      // Nothing to show: /health only, less and less often (2, 4, 8, then every 10 s).
      S.offRounds++;
      next = Math.min(10000, 1000 * Math.pow(2, Math.min(S.offRounds, 4)));
      setConn('idle', 'perf off \u00b7 next check ' + (next / 1000).toFixed(0) + ' s');
    } else {
      S.offRounds = 0;
      if (S.needToken) {
        next = 3000;
        setConn('idle', 'needs a token');
      } else {
        await pollData();
        setConn('ok', 'live');
      }
    }
    $('error').hidden = true;
  } catch (e) {
    if (e instanceof AuthError) {
      next = 3000;
    } else {
      S.failures++;
      next = Math.min(10000, 1000 * Math.pow(2, Math.min(S.failures, 4)));
      setConn('bad', 'no answer \u00b7 retry in ' + (next / 1000).toFixed(0) + ' s');
      const err = $('error');
      err.textContent = 'The adapter does not answer (' + (e && e.message ? e.message : e) + '). Retrying, less often each time.';
      err.hidden = S.failures < 2;
    }
  }
  if (!S.paused) schedule(Math.max(100, next - (performance.now() - started)));
}

// A data route's answer: a 403 whose detail says "disabled" turns that
// subsystem's panels off (the flags changed after /health answered); any
// 200 turns them on again.
function watch(sub, r) {
  if (r.status === 403 && r.body && /disabled/i.test(String(r.body.detail || ''))) S.routeOff[sub] = String(r.body.detail);
  else if (r.status === 200) S.routeOff[sub] = '';
  return r;
}
const ok = (r) => r.status === 200 && r.body && r.body.ok;

async function pollData() {
  const jobs = [];
  const tick = S.tick++;
  if (!S.authOk) {
    // One probe first: with a token configured and none given, a single
    // 401 asks for it instead of one per route.
    const r = await api(S.prof ? '/profiler/budgets' : '/budgets?limit=0');
    if (r.status !== 401) S.authOk = true;
  }
  if (S.prof) {
    const prof = (path) => api(path).then((r) => watch('prof', r));
    jobs.push(prof('/profiler/dashboard?limit=5&marks=64').then((r) => {
      if (ok(r) && r.body.dashboard) onDashboard(r.body.dashboard);
    }));
    if (tick % 2 === 0 || !S.spanBudgetsSeen || frameBudget()) {
      jobs.push(prof('/profiler/budgets').then((r) => {
        S.spanBudgets = (ok(r) && Array.isArray(r.body.budgets)) ? r.body.budgets : [];
        S.spanBudgetsSeen = true;
      }));
    }
    jobs.push(prof('/profiler/spikes').then((r) => {
      S.spikes = (ok(r) && Array.isArray(r.body.spikes)) ? r.body.spikes : [];
    }));
    if (tick % 2 === 1 || !S.tree) {
      jobs.push(prof('/profiler/tree?limit=12').then((r) => {
        if (ok(r) && r.body.tree) S.tree = r.body.tree;
      }));
    }
  }
  if (S.bud && (tick % 2 === 0 || !S.budgets)) {
    jobs.push(api('/budgets?limit=100').then((r) => watch('bud', r)).then((r) => {
      if (ok(r) && r.body.budgets) onBudgets(r.body.budgets);
    }));
  }
  const res = await Promise.allSettled(jobs);
  for (const x of res) {
    if (x.status === 'rejected') throw x.reason;
  }
  sampleWindowP95();
  markPanels();
  renderAll();
}

function applyHealth(h) {
  const on = !!h.feature_flag;
  S.flag = on;
  const prof = !!h.profiler_enabled, bud = !!h.budgets_enabled;
  // A subsystem switched on again starts from what its routes answer next.
  if (prof !== S.prof) S.routeOff.prof = '';
  if (bud !== S.bud) S.routeOff.bud = '';
  S.prof = prof;
  S.bud = bud;
  S.health = h;
  document.body.dataset.flag = on ? 'on' : 'off';
  document.body.dataset.profiler = S.prof ? 'on' : 'off';
  document.body.dataset.budgets = S.bud ? 'on' : 'off';
  $('flag').textContent = on ? 'on' : 'off';
  $('pill-flag').className = 'pill ' + (on ? 'on' : 'off');
  $('prof-on').textContent = S.prof ? 'on' : 'off';
  $('pill-prof').className = 'pill ' + (S.prof ? 'on' : 'off');
  $('bud-on').textContent = S.bud ? 'on' : 'off';
  $('pill-bud').className = 'pill ' + (S.bud ? 'on' : 'off');
  markPanels();
  const p = h.profiler;
  const dropped = p && isNum(p.dropped) ? p.dropped : 0;
  const hookDrops = p && p.hooks && isNum(p.hooks.dropped) ? p.hooks.dropped : 0;
  $('st-dropped').textContent = fint(dropped);
  $('st-dropped').parentNode.classList.toggle('alert', dropped > 0);
  $('st-hookdrops').textContent = fint(hookDrops);
  $('st-hookdrops').parentNode.classList.toggle('alert', hookDrops > 0);
  const th = p && p.threads;
  $('st-threads').textContent = th ? `${fint(th.live)}${th.exited ? ' / ' + fint(th.exited) + ' exited' : ''}` : '0';
  $('st-spans').textContent = p ? fint(p.spans_recorded) : '0';
  if (p && isNum(p.timestamp)) S.serverNow = Math.max(S.serverNow, p.timestamp);
  const b = h.budgets;
  if (b) {
    const q = b.queue || {};
    $('jobs-queued').textContent = String(q.queued || 0);
    $('jobs-delayed').textContent = String(q.delayed || 0);
    $('jobs-running').textContent = String(q.running || 0);
    $('jobs-seen').textContent = String(q.seen_jobs || 0);
    const a = b.assets || {};
    $('assets-loaded-mb').textContent = isNum(a.loaded_mb) ? a.loaded_mb.toFixed(1) : '0';
    $('assets-loaded').textContent = fint(a.loaded || 0);
    $('assets-evictions').textContent = fint(a.evictions || 0);
    $('eval-info').textContent = isNum(b.last_evaluation) ? 'evaluated ' + ago(b.last_evaluation) : '';
  }
}

// Which panels show their data. The page-wide banner only when both
// subsystems are off; otherwise each panel of a subsystem that is off (per
// /health, or per its route's 403) says so itself.
const PANEL_SUBSYSTEM = {
  'p-frames': 'prof', 'p-top': 'prof', 'p-tree': 'prof', 'p-trace': 'prof', 'p-spanbud': 'prof', 'p-counters': 'prof',
  'p-limits': 'bud', 'p-jobs': 'bud', 'p-assets': 'bud',
};
const OFF_TEXT = {
  prof: 'The profiler is off: features.enable_perf and enable_perf_profiler_dashboard are false, and no code switched it on.',
  bud: 'The budget manager is off: features.enable_perf and enable_perf_budgets are false, and no code switched it on.',
};
function markPanels() {
  const none = !S.prof && !S.bud;
  $('disabled').hidden = !none;
  $('main').classList.toggle('disabled', none);
  for (const id of Object.keys(PANEL_SUBSYSTEM)) {
    const sub = PANEL_SUBSYSTEM[id];
    const on = sub === 'prof' ? S.prof : S.bud;
    const why = none ? '' : !on ? OFF_TEXT[sub]
      : S.routeOff[sub] ? `Disabled: the adapter answers 403 "${S.routeOff[sub]}" for this panel's data.` : '';
    const panel = $(id);
    let note = panel._offNote;
    if (why && !note) {
      note = panel._offNote = document.createElement('div');
      note.className = 'off-note';
      panel.querySelector('.ph').after(note);
    }
    if (note) {
      if (note.hidden !== !why) note.hidden = !why;
      if (note.textContent !== why) note.textContent = why;
    }
    panel.classList.toggle('off', !!why);
  }
}

// The frame chart's p95 line: the "(frame)" span budget's observed p95,
// which the collector computes from every frame of its latest evaluation
// window (1 s by default), attached to this round's sample. The p95 in
// `frames` covers the time since start or reset: on a 2-minute axis it
// would hide what changed in the last seconds.
function sampleWindowP95() {
  const last = S.hist.length ? S.hist[S.hist.length - 1] : null;
  if (!last || last.wp95 !== undefined) return;
  const b = frameBudget();
  last.wp95 = b && b.state !== 'no_data' && isNum(b.observed_p95_ms) ? b.observed_p95_ms : null;
}

function pushWindow(arr, item) {
  arr.push(item);
  const cut = item.t - HISTORY_S - 2;
  let i = 0;
  while (i < arr.length && arr[i].t < cut) i++;
  if (i) arr.splice(0, i);
}

// The average frame since the previous poll, from the change in count and
// total (count x avg); null on the first poll or when no frame ended.
function secondAvg(f, lastCount, lastAvg) {
  if (!isNum(lastCount) || !isNum(lastAvg) || !(f.count > lastCount)) return null;
  const avg = (f.count * f.avg_ms - lastCount * lastAvg) / (f.count - lastCount);
  return isNum(avg) && avg >= 0 ? avg : null;
}

function onDashboard(d) {
  S.dash = d;
  const t = isNum(d.timestamp) ? d.timestamp : Date.now() / 1000;
  S.serverNow = Math.max(S.serverNow, t);
  const f = d.frames;
  const last = S.hist.length ? S.hist[S.hist.length - 1] : null;
  const sample = {t, avg: null, p95: null, count: null, avgAll: null};
  if (f && isNum(f.count) && f.count > 0) {
    sample.avg = secondAvg(f, last && last.count, last && last.avgAll);
    Object.assign(sample, {p95: f.p95_ms, count: f.count, avgAll: f.avg_ms});
  }
  // The "(gpu frame)" site of every GPU context, sampled the same way; the
  // fields stay absent without GPU frames, so the chart draws as before.
  const g = d.gpu_frames;
  if (g && isNum(g.count) && g.count > 0) {
    sample.gavg = secondAvg(g, last && last.gcount, last && last.gavgAll);
    sample.gcount = g.count;
    sample.gavgAll = g.avg_ms;
  }
  pushWindow(S.hist, sample);
  for (const c of d.counters || []) {
    if (!S.ctrHist.has(c.name)) S.ctrHist.set(c.name, []);
    pushWindow(S.ctrHist.get(c.name), {t, v: c.last});
  }
  const seen = new Set(S.marks.map((m) => m.t + '\u0001' + m.name));
  for (const m of d.marks || []) {
    if (!isNum(m.timestamp)) continue;
    const k = m.timestamp + '\u0001' + m.name;
    if (!seen.has(k)) { S.marks.push({t: m.timestamp, name: m.name, category: m.category}); seen.add(k); }
  }
  S.marks.sort((a, b) => a.t - b.t);
  const cut = t - HISTORY_S;
  while (S.marks.length && S.marks[0].t < cut) S.marks.shift();
}

function onBudgets(b) {
  S.budgets = b;
  const m = b.metrics;
  if (m && isNum(m.timestamp)) {
    S.serverNow = Math.max(S.serverNow, m.timestamp);
    if (isNum(m.cpu_percent)) pushWindow(S.cpuHist, {t: m.timestamp, v: m.cpu_percent});
  }
}
