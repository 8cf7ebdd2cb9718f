// The API client and the polling loop.
//
// Polling: /health about once a second. With the perf flag on, also the
// profiler dashboard and the spikes every second; the span budgets, the
// budget manager and the call tree every other second; each only while its
// subsystem is enabled. With the flag off
// only /health is called, backing off to one call every 10 s. A 401 asks for
// the bearer token once (kept in sessionStorage) and stops the data routes
// until one is given.

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
    if (!h.body.feature_flag) {
      // Disabled: /health only, less and less often (2, 4, 8, then every 10 s).
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
    jobs.push(api('/profiler/dashboard?limit=5&marks=64').then((r) => {
      if (r.body && r.body.ok && r.body.dashboard) onDashboard(r.body.dashboard);
    }));
    if (tick % 2 === 0 || !S.spanBudgetsSeen) {
      jobs.push(api('/profiler/budgets').then((r) => {
        S.spanBudgets = (r.body && r.body.ok && Array.isArray(r.body.budgets)) ? r.body.budgets : [];
        S.spanBudgetsSeen = true;
      }));
    }
    jobs.push(api('/profiler/spikes').then((r) => {
      S.spikes = (r.body && r.body.ok && Array.isArray(r.body.spikes)) ? r.body.spikes : [];
    }));
    if (tick % 2 === 1 || !S.tree) {
      jobs.push(api('/profiler/tree?limit=12').then((r) => {
        if (r.body && r.body.ok && r.body.tree) S.tree = r.body.tree;
      }));
    }
  }
  if (S.bud && (tick % 2 === 0 || !S.budgets)) {
    jobs.push(api('/budgets?limit=100').then((r) => {
      if (r.body && r.body.ok && r.body.budgets) onBudgets(r.body.budgets);
    }));
  }
  const res = await Promise.allSettled(jobs);
  for (const x of res) {
    if (x.status === 'rejected') throw x.reason;
  }
  renderAll();
}

function applyHealth(h) {
  const on = !!h.feature_flag;
  S.flag = on;
  S.prof = !!h.profiler_enabled;
  S.bud = !!h.budgets_enabled;
  S.health = h;
  document.body.dataset.flag = on ? 'on' : 'off';
  $('flag').textContent = on ? 'on' : 'off';
  $('pill-flag').className = 'pill ' + (on ? 'on' : 'off');
  $('prof-on').textContent = S.prof ? 'on' : 'off';
  $('pill-prof').className = 'pill ' + (S.prof ? 'on' : 'off');
  $('bud-on').textContent = S.bud ? 'on' : 'off';
  $('pill-bud').className = 'pill ' + (S.bud ? 'on' : 'off');
  $('disabled').hidden = on;
  $('main').classList.toggle('disabled', !on);
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

function pushWindow(arr, item) {
  arr.push(item);
  const cut = item.t - HISTORY_S - 2;
  let i = 0;
  while (i < arr.length && arr[i].t < cut) i++;
  if (i) arr.splice(0, i);
}

function onDashboard(d) {
  S.dash = d;
  const t = isNum(d.timestamp) ? d.timestamp : Date.now() / 1000;
  S.serverNow = Math.max(S.serverNow, t);
  const f = d.frames;
  const last = S.hist.length ? S.hist[S.hist.length - 1] : null;
  if (f && isNum(f.count) && f.count > 0) {
    let avg = null;
    if (last && last.count !== null && f.count > last.count) {
      avg = (f.count * f.avg_ms - last.count * last.avgAll) / (f.count - last.count);
      if (!isNum(avg) || avg < 0) avg = null;
    }
    pushWindow(S.hist, {t, avg, p95: f.p95_ms, count: f.count, avgAll: f.avg_ms});
  } else {
    pushWindow(S.hist, {t, avg: null, p95: null, count: null, avgAll: null});
  }
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
