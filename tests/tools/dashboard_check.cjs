// Drives the dashboard page (GET /api/perf/ui) in headless Chromium
// (playwright-core) against a running adapter, or against stubbed API
// answers, and judges it.
//
//   node dashboard_check.cjs --node-modules DIR --chromium PATH --base URL
//        --mode on|off|token|stub --screenshot PNG [--token T] [--page HTML]
//        [--page-from-header] [--csp-script-hash H] [--csp-style-hash H]
//        [--config-file PATH] [--viewport WxH] [--full-page]
//
// on:    the perf flag is on (the demo with --enable-perf --spike-every N):
//        "frame" row in top-time, frame-p95-ms > 0, the frame chart plots
//        the (frame) budget's window p95, call-tree node "frame", a spikes
//        row that opens its trace, the limits form changes what GET
//        /budgets reports and shows a 422 detail, span budgets set and
//        removed, the trace button draws spans, both downloads, pause. No
//        GPU in the demo: the GPU avg KPI shows a dash, the chart no GPU
//        series and the trace view no GPU lane.
// off:   the flags are off: the page shows "off" and calls only /health.
//        Then --config-file (the demo's config) gets
//        enable_perf_profiler_dashboard=true, enable_perf staying off: after
//        a reload the profiler panels show the demo's data, the budget
//        panels say that the budgets are off, and /budgets is not called.
// token: the adapter has a token (--token T): the page asks once, sends
//        Authorization: Bearer, and does not ask again after a reload.
// stub:  no adapter: --base is a made-up origin whose every request this
//        check answers (STUB below). Rows keyed by (name, category) and
//        bounded by the rows setting with look-alike sites; the coverage
//        marker; the window p95 in the frame chart; a route that answers
//        "disabled" turns its panels off; gpu_frames in the GPU avg KPI and
//        as the chart's GPU series; GPU tracks in the trace view, after the
//        CPU threads. Needs --page.
// Every mode: the page is served under a strict Content-Security-Policy
// (script-src and style-src by hash, nothing 'unsafe-inline'): the hashes
// of its one inline <script> and <style>, which must equal --csp-script-hash
// and --csp-style-hash (the constants of ui_page.hpp) unless --page serves
// another file; no CSP violation; no console error or warning, no page
// error, no dialog, and no request to anything but the origin (blocked and
// failed). The only console errors tolerated are Chromium's "Failed to load
// resource" lines for the statuses a step provokes on purpose (422, 401,
// 403 in stub mode).
// --page HTML serves that file as /api/perf/ui instead of the adapter's
// compiled-in page (with the adapter's headers): to work on ui/ without
// rebuilding the C++. --page-from-header: that file is the page of
// ui_page.hpp, so its hashes must match the constants too.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const path = require('path');

const {launchChromium, loadChromium} = require('./browser.cjs');

function parseArgs(argv) {
  const a = {fullPage: false};
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      return argv[++i];
    };
    if (k === '--node-modules') a.nodeModules = next();
    else if (k === '--chromium') a.chromium = next();
    else if (k === '--base') a.base = next();
    else if (k === '--mode') a.mode = next();
    else if (k === '--screenshot') a.screenshot = next();
    else if (k === '--token') a.token = next();
    else if (k === '--page') a.page = next();
    else if (k === '--page-from-header') a.pageFromHeader = true;
    else if (k === '--csp-script-hash') a.cspScriptHash = next();
    else if (k === '--csp-style-hash') a.cspStyleHash = next();
    else if (k === '--config-file') a.configFile = next();
    else if (k === '--viewport') a.viewport = next();
    else if (k === '--full-page') a.fullPage = true;
    else throw new Error(`unknown argument ${k}`);
  }
  for (const k of ['nodeModules', 'chromium', 'base', 'mode', 'screenshot']) {
    if (!a[k]) throw new Error(`missing --${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`);
  }
  if (!['on', 'off', 'token', 'stub'].includes(a.mode)) throw new Error(`--mode must be on, off, token or stub`);
  if (a.mode === 'token' && !a.token) throw new Error('--mode token needs --token');
  if (a.mode === 'stub' && !a.page) throw new Error('--mode stub needs --page');
  if (a.mode === 'off' && !a.configFile) throw new Error('--mode off needs --config-file');
  return a;
}

// Plain HTTP from node (no Origin header): what an outside client sees.
function call(base, method, p, body, token) {
  return new Promise((resolve, reject) => {
    const u = new URL(base + p);
    const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
    const headers = {Accept: 'application/json'};
    if (data) { headers['Content-Type'] = 'application/json'; headers['Content-Length'] = data.length; }
    if (token) headers.Authorization = 'Bearer ' + token;
    const req = http.request({host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers, timeout: 10000}, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try { json = JSON.parse(text); } catch (e) { json = null; }
        resolve({status: res.statusCode, json, text});
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${p}: timeout`)));
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The CSP source expressions of the page's inline script and style: sha256
// of the exact text between the tags. A page with more than one of either,
// or one with attributes (a src), is refused.
function inlineHashes(body) {
  const html = body.toString('latin1');
  const one = (tag) => {
    const all = Array.from(html.matchAll(new RegExp(`<${tag}\\b([^>]*)>([\\s\\S]*?)</${tag}>`, 'gi')));
    if (all.length !== 1 || all[0][1].trim() !== '') {
      throw new Error(`the page holds ${all.length} <${tag}> elements${all.length === 1 ? ' with attributes' : ''}; expected one plain inline <${tag}>`);
    }
    return 'sha256-' + crypto.createHash('sha256').update(Buffer.from(all[0][2], 'latin1')).digest('base64');
  };
  return {script: one('script'), style: one('style')};
}
// The panels of each subsystem (ui/js/api.js, PANEL_SUBSYSTEM).
const PROFILER_PANELS = ['p-frames', 'p-top', 'p-tree', 'p-trace', 'p-spanbud', 'p-counters'];
const BUDGET_PANELS = ['p-limits', 'p-jobs', 'p-assets'];
const strictPolicy = (h) => `default-src 'none'; script-src '${h.script}'; style-src '${h.style}'; ` +
    `connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`;

// ---------------------------------------------------------------- stub mode
// API answers for --mode stub. The dashboard's data changes with every call
// until call FREEZE, then stays as it is, so that the page's last render
// can be compared with it. Its sites: one name in two categories, two sites
// whose cleaned names look alike (the same name and category twice), sites
// that come and go between calls, and coverage below 1 on some.
const STUB = {dash: 0, FREEZE: 2, p95: 50, windowP95: (k) => 10 + (k % 3) + 0.5, gpuAvg: 4.25};
// A captured trace with two CPU threads and one GPU context: the GPU track
// ("gpu: NAME") and its frame track have tids between the CPU threads', so
// the lanes' order shows that GPU tracks go last.
const STUB_TRACE_LANES = ['main', 'worker', 'gpu: vk0', 'gpu: vk0 frames'];
function stubTrace() {
  const ev = [];
  const meta = (tid, name) => ev.push({ph: 'M', name: 'thread_name', pid: 1, tid, args: {name}});
  const span = (tid, name, cat, ts, dur) => ev.push({ph: 'X', name, cat, ts, dur, pid: 1, tid});
  meta(1, 'main'); meta(3, 'gpu: vk0'); meta(33554435, 'gpu: vk0 frames'); meta(7, 'worker');
  for (let f = 0; f < 4; f++) {
    const t = f * 16000;
    span(1, 'frame', 'render', t, 15000);
    span(1, 'draw', 'render', t + 1000, 9000);
    span(7, 'load', 'io', t + 2000, 4000);
    span(3, 'shadow pass', 'gpu', t + 3000, 2500);
    span(3, 'main pass', 'gpu', t + 6000, 1750);
    span(33554435, '(gpu frame)', 'gpu', t + 3000, 4750);
  }
  return {traceEvents: ev, displayTimeUnit: 'ms', otherData: {spans: 24, dropped: 0, seconds: 1, version: 'stub'}};
}
function stubSites(k) {
  const site = (name, category, total, extra) => Object.assign({
    name, category, count: 100, total_ms: total, self_ms: total / 2, avg_ms: total / 100,
    max_ms: total / 20, min_ms: 0.01, p50_ms: total / 150, p95_ms: total / 80, p99_ms: total / 60,
    total_kb: 10, max_kb: 1, avg_kb: 0.1, last_timestamp: 1.7e9,
  }, extra || {});
  const sites = [
    site('draw', 'render', 990, {coverage: 0.5}),
    site('draw', 'gpu', 980),                        // no coverage field (an older server): 1
    site('load\ufffd', 'io', 970, {coverage: 1}),   // the same cleaned name twice
    site('load\ufffd', 'io', 955 - (k % 2) * 20),
    site('site00', 'cpu', 950, {coverage: 0.995}),   // under 1 but not under 0.99: no marker
    site('site01', 'cpu', 940, {coverage: 0.985}),
  ];
  for (let i = 2; i < 24; i++) {
    // Sites 2-5 leave the data every other call (others take their place).
    const name = i <= 5 && k % 2 ? `late${i}` : `site${String(i).padStart(2, '0')}`;
    sites.push(site(name, 'cpu', 900 - i * 10 + (k % 3)));
  }
  return sites;
}
function stubAnswer(u) {
  const p = u.pathname.replace(/^\/api\/perf/, '');
  const ok = (o) => ({status: 200, json: Object.assign({ok: true, feature_flag: true}, o)});
  const k = Math.min(STUB.dash, STUB.FREEZE);
  const now = 1.7e9 + STUB.dash;
  if (p === '/health') {
    return ok({budgets_enabled: true, profiler_enabled: true, budgets: null,
      profiler: {spans_recorded: 1000 * (k + 1), marks_recorded: 0, dropped: 0, threads: {live: 2, exited: 0}, top_time: [], top_memory: [], timestamp: now}});
  }
  if (p === '/profiler/dashboard') {
    STUB.dash++;
    const aggs = stubSites(k);
    const cats = {};
    for (const a of aggs) {
      const c = cats[a.category] || (cats[a.category] = {total_ms: 0, count: 0, sites: 0});
      c.total_ms += a.total_ms; c.count += a.count; c.sites++;
    }
    const top = aggs.slice().sort((a, b) => b.total_ms - a.total_ms).slice(0, 5);
    return ok({dashboard: {aggregates: aggs, aggregates_total: aggs.length, top_time: top, top_memory: top, top_self: top,
      categories: cats, counters: [], marks: [], spans_recorded: 1000 * (k + 1), dropped: 0, timestamp: now,
      frames: {count: 60 * (k + 1), avg_ms: 16.5, p95_ms: STUB.p95, max_ms: 80},
      gpu_frames: {count: 60 * (k + 1), avg_ms: STUB.gpuAvg, p95_ms: 6, max_ms: 9}}});
  }
  if (p === '/profiler/trace') return {status: 200, json: stubTrace()};
  if (p === '/profiler/budgets') {
    return ok({budgets: [{name: '(frame)', category: null, p95_ms: null, max_ms: 33, observed_p95_ms: STUB.windowP95(k),
      observed_max_ms: 20, over_count: 0, exceeded_total: 0, state: 'ok', since: 1.7e9, source: 'api'}]});
  }
  if (p === '/profiler/spikes') {
    return ok({spikes: [{id: 7, frame_ms: 12.5, budget_ms: 8, site: '(gpu frame)', timestamp: now - 1, spans: 24},
      {id: 6, frame_ms: 40, budget_ms: 33, site: '(frame)', timestamp: now - 2, spans: 30}]});
  }
  if (p === '/profiler/tree') {
    const node = (name, total, extra, children) => Object.assign({name, category: 'render', count: 60, total_ms: total, self_ms: total / 4, children: children || []}, extra || {});
    return ok({tree: {roots: [node('frame', 400, {coverage: 0.6}, [node('draw', 300, {}, [])])], coverage: 0.6, nodes: 2, folded: 0}});
  }
  // The budget manager's routes answer "disabled" although /health says it is on
  // (the flags changed in between): its panels must say so.
  if (p.startsWith('/budgets')) return {status: 403, json: {ok: false, feature_flag: true, detail: 'enable_perf flag disabled'}};
  return {status: 404, json: {ok: false, feature_flag: true, detail: 'no such route'}};
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  const chromium = loadChromium(args.nodeModules);
  const base = args.base.replace(/\/$/, '');
  const origin = new URL(base).origin;
  const uiURL = base + '/api/perf/ui';
  let pageOverride = null;
  let pageHeaders = null;
  if (args.page) {
    pageOverride = fs.readFileSync(args.page);
    pageHeaders = {'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store'};
    if (args.mode !== 'stub') {
      const r = await new Promise((resolve, reject) => {
        http.get(uiURL, (res) => { res.resume(); res.on('end', () => resolve(res)); }).on('error', reject);
      });
      pageHeaders = {};
      for (const [k, v] of Object.entries(r.headers)) {
        if (!['content-length', 'connection', 'keep-alive', 'transfer-encoding'].includes(k)) pageHeaders[k] = String(v);
      }
    }
  }
  const [vw, vh] = (args.viewport || '1280x900').split('x').map(Number);

  const browser = await launchChromium(chromium, args.chromium);
  const consoleMessages = [];
  const pageErrors = [];
  const dialogs = [];
  const blocked = [];
  const requests = [];
  const steps = [];
  const allowed = [];  // console errors provoked on purpose: {re, from, to}
  const cspViolations = [];
  const csp = {policy: null, served: null, problems: []};
  let verdict;
  const reasons = [];
  if (args.mode === 'stub') allowed.push({re: /status of 403/, from: 0, to: Infinity});

  // The page under the strict policy, whatever the adapter sends today.
  async function servePage(route) {
    let status = 200;
    let headers = pageHeaders;
    let body = pageOverride;
    if (!body) {
      const r = await route.fetch();
      status = r.status();
      headers = r.headers();
      body = await r.body();
    }
    let h;
    try {
      h = inlineHashes(body);
    } catch (e) {
      csp.problems.push(e.message);
      return route.fulfill({status, headers, body});
    }
    const fromHeader = !pageOverride || args.pageFromHeader;
    if (fromHeader) {
      for (const [k, name] of [['script', 'kDashboardScriptHash'], ['style', 'kDashboardStyleHash']]) {
        const want = k === 'script' ? args.cspScriptHash : args.cspStyleHash;
        if (!want) csp.problems.push(`ui_page.hpp declares no ${name}`);
        else if (want !== h[k]) csp.problems.push(`${name} is ${want}, but the served page's inline <${k}> hashes to ${h[k]}`);
        else h[k] = want;
      }
    }
    csp.policy = strictPolicy(h);
    const out = {};
    for (const [k, v] of Object.entries(headers)) {
      if (!['content-length', 'content-security-policy', 'connection', 'keep-alive', 'transfer-encoding'].includes(k.toLowerCase())) out[k] = v;
    }
    out['content-security-policy'] = csp.policy;
    return route.fulfill({status, headers: out, body});
  }

  try {
    const context = await browser.newContext({
      serviceWorkers: 'block', viewport: {width: vw, height: vh}, acceptDownloads: true,
    });
    await context.route('**/*', (route) => {
      const url = route.request().url();
      let u = null;
      try { u = new URL(url); } catch (e) { u = null; }
      if (u && u.origin === origin) {
        if (u.pathname === '/api/perf/ui') return servePage(route);
        if (args.mode === 'stub') {
          const a = stubAnswer(u);
          return route.fulfill({status: a.status, contentType: 'application/json', body: JSON.stringify(a.json)});
        }
        return route.continue();
      }
      blocked.push(url);
      return route.abort('blockedbyclient');
    });
    // Violations are reported by the browser as events on the document; the
    // binding carries them out across reloads.
    await context.exposeBinding('comfyvnCspReport', (src, text) => { cspViolations.push(text); });
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        window.comfyvnCspReport(`${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} at line ${e.lineNumber}: ${(e.sample || '').slice(0, 60)}`);
      });
    });
    const page = await context.newPage();
    page.on('console', (m) => consoleMessages.push({type: m.type(), text: m.text(), t: Date.now()}));
    page.on('pageerror', (e) => pageErrors.push(String(e && e.stack ? e.stack : e)));
    page.on('dialog', (d) => {
      dialogs.push(`${d.type()}: ${d.message()}`);
      d.dismiss().catch(() => {});
    });
    page.on('crash', () => pageErrors.push('page crashed'));
    page.on('request', (r) => {
      const url = r.url();
      if (url.startsWith('data:')) return;
      requests.push({url, method: r.method(), t: Date.now(), auth: r.headers().authorization || ''});
    });

    // One named step: its time, and its failure as a reason (later steps run on).
    async function step(name, fn) {
      const s = Date.now();
      try {
        const detail = await fn();
        steps.push({step: name, ok: true, ms: Date.now() - s, detail: detail === undefined ? null : detail});
        return true;
      } catch (e) {
        const msg = (e && e.message ? e.message : String(e)).split('\n')[0];
        steps.push({step: name, ok: false, ms: Date.now() - s, error: msg});
        reasons.push(`${name}: ${msg}`);
        return false;
      }
    }
    const tid = (id) => `[data-testid="${id}"]`;
    const text = (sel) => page.$eval(sel, (el) => el.textContent.trim());

    const first = await page.goto(uiURL, {waitUntil: 'load'});
    csp.served = first ? first.headers()['content-security-policy'] || null : null;
    const title = await page.title();

    if (args.mode === 'on') {
      await step('feature-flag shows on', async () => {
        await page.waitForSelector('body[data-flag="on"]', {timeout: 15000});
        const v = await text(tid('feature-flag'));
        if (v !== 'on') throw new Error(`feature-flag reads ${JSON.stringify(v)}`);
      });
      await step('top-time has a "frame" row', async () => {
        await page.waitForSelector(`${tid('top-time')} tbody tr[data-name="frame"]`, {timeout: 15000});
        return await page.$$eval(`${tid('top-time')} tbody tr[data-name]`, (rs) => rs.slice(0, 6).map((r) => r.dataset.name));
      });
      await step('frame-p95-ms is a positive number', async () => {
        await page.waitForFunction((sel) => {
          const el = document.querySelector(sel);
          const s = el ? el.textContent.trim() : '';
          return /^[0-9]+(\.[0-9]+)?$/.test(s) && Number(s) > 0;
        }, tid('frame-p95-ms'), {timeout: 15000});
        return Number(await text(tid('frame-p95-ms')));
      });
      await step('frame chart plots the (frame) budget window p95', async () => {
        // The demo sets a (frame) budget: its window p95, not the p95 since start.
        await page.waitForFunction(() => {
          const c = document.getElementById('frame-chart');
          return c.dataset.p95Source === 'window' && Number(c.dataset.p95Points) >= 2;
        }, null, {timeout: 10000});
        return await page.$eval('#frame-chart', (c) => ({points: Number(c.dataset.p95Points), last_ms: Number(c.dataset.p95Last)}));
      });
      await step('jobs and assets numbers', async () => {
        const q = await text(tid('jobs-queued'));
        const r = await text(tid('jobs-running'));
        const mb = await text(tid('assets-loaded-mb'));
        for (const [k, v] of [['jobs-queued', q], ['jobs-running', r], ['assets-loaded-mb', mb]]) {
          if (!/^[0-9]+(\.[0-9]+)?$/.test(v)) throw new Error(`${k} reads ${JSON.stringify(v)}, not a number`);
        }
        return {queued: Number(q), running: Number(r), assets_loaded_mb: Number(mb)};
      });
      await step('call-tree shows a node for frame', async () => {
        await page.waitForSelector(`${tid('call-tree')} [data-name="frame"]`, {timeout: 15000});
        return await page.$$eval(`${tid('call-tree')} [data-name]`, (ns) => ns.length);
      });
      await step('counters show the demo series', async () => {
        await page.waitForSelector(`${tid('counters')} [data-name]`, {timeout: 10000});
        return await page.$$eval(`${tid('counters')} [data-name]`, (ns) => ns.map((n) => n.dataset.name));
      });
      await step('span budgets table lists the (frame) budget', async () => {
        await page.waitForSelector(`${tid('budgets')} tbody tr[data-name="(frame)"]`, {timeout: 10000});
      });
      await step('a row appears in spikes', async () => {
        await page.waitForSelector(`${tid('spikes')} tbody tr[data-spike-id]`, {timeout: 20000});
        return await page.$$eval(`${tid('spikes')} tbody tr[data-spike-id]`, (rs) => rs.length);
      });
      await step('a spike row opens its trace', async () => {
        // The adapter keeps the newest 8 spikes; at --spike-every 20 one
        // lives about 3 s. Click a row as soon as it appears; if it was
        // dropped meanwhile (404: the page says so), take the next one.
        const from = Date.now();
        let lastErr = null;
        for (let attempt = 1; attempt <= 4; attempt++) {
          const seen = await page.$eval(`${tid('spikes')} tbody tr[data-spike-id]`, (r) => r.dataset.spikeId);
          await page.waitForFunction(([sel, seen]) => {
            const r = document.querySelector(sel);
            return r && r.dataset.spikeId !== seen;
          }, [`${tid('spikes')} tbody tr[data-spike-id]`, seen], {timeout: 10000});
          const id = await page.$eval(`${tid('spikes')} tbody tr[data-spike-id]`, (r) => r.dataset.spikeId);
          await page.click(`${tid('spikes')} tbody tr[data-spike-id="${id}"]`);
          try {
            await page.waitForFunction(([sel, id]) => {
              const c = document.querySelector(sel);
              if (/is gone/.test(document.getElementById('trace-info').textContent)) throw new Error('spike #' + id + ' dropped before it was read');
              return c && c.dataset.source && c.dataset.source.startsWith('spike #' + id) && Number(c.dataset.spans) > 0;
            }, [tid('trace-view'), id], {timeout: 10000});
            allowed.push({re: /status of 404/, from, to: Date.now()});
            return {id: Number(id), attempts: attempt, spans: Number(await page.$eval(tid('trace-view'), (c) => c.dataset.spans))};
          } catch (e) {
            lastErr = e;
            if (!/dropped before/.test(String(e && e.message))) throw e;
          }
        }
        allowed.push({re: /status of 404/, from, to: Date.now()});
        throw lastErr;
      });
      await step('limits-form: max_running_jobs=2 reaches GET /budgets', async () => {
        // The demo starts at 2: move it away first, from outside.
        const pre = await call(base, 'POST', '/api/perf/budgets/apply', {max_running_jobs: 5});
        if (pre.status !== 200) throw new Error(`setup apply answered ${pre.status}`);
        const before = (await call(base, 'GET', '/api/perf/budgets?limit=0')).json.budgets.limits.max_running_jobs;
        if (before !== 5) throw new Error(`setup: /budgets reports ${before}`);
        const input = `${tid('limits-form')} input[name="max_running_jobs"]`;
        // Off screen, the panel refreshes every 5 s.
        await page.waitForFunction((sel) => document.querySelector(sel).value === '5', input, {timeout: 12000});
        await page.fill(input, '2');
        await page.click(`${tid('limits-form')} button[type="submit"]`);
        const until = Date.now() + 5000;
        let now = before;
        while (Date.now() < until) {
          now = (await call(base, 'GET', '/api/perf/budgets?limit=0')).json.budgets.limits.max_running_jobs;
          if (now === 2) break;
          await sleep(100);
        }
        if (now !== 2) throw new Error(`GET /budgets still reports max_running_jobs=${now}`);
        await page.waitForFunction(() => /applied/.test(document.getElementById('limits-msg').textContent), null, {timeout: 5000});
        return {before, after: now};
      });
      await step('limits-form shows the 422 detail', async () => {
        const from = Date.now();
        const input = `${tid('limits-form')} input[name="max_queue_depth"]`;
        const old = await page.$eval(input, (el) => el.value);
        await page.fill(input, '0');
        await page.click(`${tid('limits-form')} button[type="submit"]`);
        await page.waitForFunction(() => {
          const m = document.getElementById('limits-msg');
          return m.classList.contains('err') && /max_queue_depth/.test(m.textContent);
        }, null, {timeout: 5000});
        const shown = await text('#limits-msg');
        await page.fill(input, old);
        await page.click(`${tid('limits-form')} button[type="submit"]`);
        await page.waitForFunction(() => /applied/.test(document.getElementById('limits-msg').textContent), null, {timeout: 5000});
        allowed.push({re: /status of 422/, from, to: Date.now()});
        return shown;
      });
      await step('span budget set and removed from the page', async () => {
        await page.fill('#budget-form input[name="name"]', 'draw');
        await page.fill('#budget-form input[name="category"]', 'render');
        await page.fill('#budget-form input[name="p95_ms"]', '50');
        await page.click('#budget-form button[type="submit"]');
        const row = `${tid('budgets')} tbody tr[data-name="draw"]`;
        await page.waitForSelector(row, {timeout: 5000});
        const listed = (await call(base, 'GET', '/api/perf/profiler/budgets')).json.budgets.some((b) => b.name === 'draw');
        if (!listed) throw new Error('GET /profiler/budgets does not list "draw"');
        await page.click(`${row} button[data-remove]`);
        await page.waitForSelector(row, {state: 'detached', timeout: 5000});
      });
      await step('trace-button draws spans', async () => {
        const s = Date.now();
        await page.click(tid('trace-button'));
        await page.waitForFunction((sel) => {
          const c = document.querySelector(sel);
          return c && c.dataset.source === 'capture' && Number(c.dataset.spans) > 0;
        }, tid('trace-view'), {timeout: 15000});
        const d = await page.$eval(tid('trace-view'), (c) => Object.assign({}, c.dataset));
        return {spans: Number(d.spans), click_to_drawn_ms: Date.now() - s, parse_layout_draw_ms: Number(d.totalMs)};
      });
      await step('no GPU in the demo: a dash for GPU avg, no GPU series or lane', async () => {
        const v = await text(tid('gpu-frame-avg-ms'));
        if (v !== '\u2013') throw new Error(`gpu-frame-avg-ms reads ${JSON.stringify(v)}, expected a dash`);
        if (await page.isVisible('#gpu-legend')) throw new Error('a "GPU frame" legend entry without GPU frames');
        const pts = await page.$eval('#frame-chart', (c) => c.dataset.gpuPoints);
        if (pts !== '0') throw new Error(`the chart has ${pts} GPU points`);
        const lanes = JSON.parse(await page.$eval(tid('trace-view'), (c) => c.dataset.lanes || '[]'));
        if (!lanes.length || lanes.some((n) => n.startsWith('gpu: '))) throw new Error(`trace lanes ${JSON.stringify(lanes)}`);
        return {kpi: v, lanes};
      });
      await step('trace view: zoom, pan, hover details', async () => {
        const box = await (await page.$(tid('trace-view'))).boundingBox();
        const mid = {x: box.x + box.width / 2, y: box.y + Math.min(box.height - 4, 60)};
        await page.mouse.move(mid.x, mid.y);
        await page.mouse.wheel(0, -500);
        await page.mouse.down();
        await page.mouse.move(mid.x + 80, mid.y, {steps: 4});
        await page.mouse.up();
        const p = await page.evaluate(() => window.comfyvnPerfDashboard.pointOfWidestSpan());
        if (!p) throw new Error('no span in view after zoom and pan');
        await page.mouse.move(box.x + p.x, box.y + p.y, {steps: 2});
        await page.waitForFunction((name) => {
          const t = document.getElementById('tip');
          return !t.hidden && t.textContent.includes(name) && /duration/.test(t.textContent);
        }, p.name, {timeout: 10000});
        return {hovered: p.name};
      });
      await step('download snapshot: the bare dashboard object', async () => {
        const [dl] = await Promise.all([page.waitForEvent('download', {timeout: 10000}), page.click('#snapshot-download')]);
        const file = await dl.path();
        const j = JSON.parse(fs.readFileSync(file, 'utf8'));
        if (!Array.isArray(j.aggregates) || !Array.isArray(j.top_time) || j.ok !== undefined) {
          throw new Error('the snapshot is not the bare dashboard object');
        }
        return {file: dl.suggestedFilename(), sites: j.aggregates.length};
      });
      await step('download trace: Chrome trace JSON', async () => {
        const [dl] = await Promise.all([page.waitForEvent('download', {timeout: 10000}), page.click('#trace-download')]);
        const j = JSON.parse(fs.readFileSync(await dl.path(), 'utf8'));
        if (!Array.isArray(j.traceEvents)) throw new Error('no traceEvents');
        return {file: dl.suggestedFilename(), events: j.traceEvents.length};
      });
      await step('pause stops polling, resume restarts it', async () => {
        await page.click('#pause');
        await sleep(300);
        const from = requests.length;
        await sleep(2500);
        const during = requests.slice(from).filter((r) => r.url.includes('/api/perf/'));
        if (during.length) throw new Error(`${during.length} requests while paused`);
        await page.click('#pause');
        await page.waitForFunction(() => document.getElementById('conn').classList.contains('ok'), null, {timeout: 5000});
      });
      await page.mouse.move(0, 0);
      await sleep(1200);  // one more refresh before the picture
    } else if (args.mode === 'off') {
      await step('feature-flag shows off, the disabled state', async () => {
        await page.waitForSelector('body[data-flag="off"]', {timeout: 15000});
        const v = await text(tid('feature-flag'));
        if (v !== 'off') throw new Error(`feature-flag reads ${JSON.stringify(v)}`);
        if (!(await page.isVisible('#disabled'))) throw new Error('the disabled banner is not shown');
      });
      await step('only /health is called, backing off', async () => {
        await sleep(7500);
        const paths = requests.map((r) => new URL(r.url).pathname + new URL(r.url).search);
        const other = paths.filter((p) => p !== '/api/perf/ui' && !p.startsWith('/api/perf/health'));
        if (other.length) throw new Error(`requests other than /health: ${JSON.stringify(other)}`);
        const health = requests.filter((r) => r.url.includes('/api/perf/health'));
        if (health.length < 2) throw new Error(`only ${health.length} /health calls`);
        if (health.length > 6) throw new Error(`${health.length} /health calls in 7.5 s: no back-off`);
        const gaps = health.slice(1).map((r, i) => r.t - health[i].t);
        return {health_calls: health.length, gaps_ms: gaps};
      });
      // What a program that switches the profiler on from code shows too
      // (perf_profiler().set_enabled(true)): /health says feature_flag false,
      // profiler_enabled true, budgets_enabled false.
      await step('profiler on while enable_perf stays off: the profiler panels show data', async () => {
        const cfg = JSON.parse(fs.readFileSync(args.configFile, 'utf8'));
        cfg.features = Object.assign({}, cfg.features, {enable_perf: false, enable_perf_profiler_dashboard: true});
        fs.writeFileSync(args.configFile + '.tmp', JSON.stringify(cfg, null, 2));
        fs.renameSync(args.configFile + '.tmp', args.configFile);
        const until = Date.now() + 8000;
        let h = null;
        while (Date.now() < until) {
          h = (await call(base, 'GET', '/api/perf/health?limit=0')).json;
          if (h && h.profiler_enabled === true) break;
          await sleep(200);
        }
        if (!h || h.profiler_enabled !== true || h.feature_flag !== false || h.budgets_enabled !== false) {
          throw new Error(`the demo did not take the config change: /health ${JSON.stringify(h && {feature_flag: h.feature_flag, profiler_enabled: h.profiler_enabled, budgets_enabled: h.budgets_enabled})}`);
        }
        const from = requests.length;
        await page.reload({waitUntil: 'load'});
        await page.waitForSelector(`${tid('top-time')} tbody tr[data-name="frame"]`, {timeout: 10000});
        await page.waitForSelector(`${tid('call-tree')} [data-name="frame"]`, {timeout: 10000});
        await page.waitForFunction((sel) => Number(document.querySelector(sel).textContent) > 0, tid('frame-p95-ms'), {timeout: 10000});
        const flag = await text(tid('feature-flag'));
        if (flag !== 'off') throw new Error(`feature-flag reads ${JSON.stringify(flag)}`);
        if (await page.isVisible('#disabled')) throw new Error('the page-wide "Perf is disabled" banner is shown');
        for (const id of PROFILER_PANELS) {
          if (await page.$eval('#' + id, (el) => el.classList.contains('off'))) throw new Error(`profiler panel #${id} is marked off`);
        }
        for (const id of BUDGET_PANELS) {
          if (!(await page.isVisible(`#${id} .off-note`))) throw new Error(`budget panel #${id} does not say that the budgets are off`);
        }
        const budgetCalls = requests.slice(from).filter((r) => new URL(r.url).pathname.startsWith('/api/perf/budgets'));
        if (budgetCalls.length) throw new Error(`/budgets called ${budgetCalls.length} times while the budgets are off`);
        return {rows: await page.$$eval(`${tid('top-time')} tbody tr[data-name]`, (rs) => rs.length),
          frame_p95_ms: Number(await text(tid('frame-p95-ms'))), budget_note: await text('#p-jobs .off-note')};
      });
    } else if (args.mode === 'stub') {
      // The page's calls to /profiler/dashboard: `n` more answered, and the
      // render of the last one done (the next request has started).
      const dashCalls = () => requests.filter((r) => new URL(r.url).pathname === '/api/perf/profiler/dashboard').length;
      const frozen = stubSites(STUB.FREEZE);
      const key = (a) => JSON.stringify([a.name, a.category]);
      await step('rows keyed by (name, category), bounded by the rows setting', async () => {
        const until = Date.now() + 15000;
        while (dashCalls() < STUB.FREEZE + 3 && Date.now() < until) await sleep(100);
        if (dashCalls() < STUB.FREEZE + 3) throw new Error(`only ${dashCalls()} dashboard calls in 15 s`);
        const rowsOf = () => page.$$eval(`${tid('top-time')} tbody tr`, (rs) => rs.map((r) => JSON.stringify([r.dataset.name, r.dataset.category])));
        const want = (n) => frozen.slice().sort((a, b) => b.total_ms - a.total_ms).slice(0, n).map(key);
        const out = {};
        for (const n of [20, 10, 50]) {
          if (n !== 20) await page.selectOption('#top-rows', String(n));
          const got = await rowsOf();
          const exp = want(n);
          if (got.length !== exp.length || got.some((k, i) => k !== exp[i])) {
            throw new Error(`rows setting ${n}: ${got.length} rows, expected ${exp.length}; first difference at ` +
                `${got.findIndex((k, i) => k !== exp[i])}: ${got.filter((k, i) => k !== exp[i]).slice(0, 3).join(' ')}`);
          }
          out['rows_' + n] = got.length;
        }
        await page.selectOption('#top-rows', '20');
        return out;
      });
      await step('coverage under 99%: a marker by p95 and self time', async () => {
        const marks = await page.$$eval(`${tid('top-time')} tbody tr`, (rs) => {
          const ths = Array.from(document.querySelectorAll('#top-time thead th'));
          const col = (k) => ths.findIndex((th) => th.dataset.k === k);
          return rs.map((r) => ({
            key: JSON.stringify([r.dataset.name, r.dataset.category]),
            p95: (r.cells[col('p95_ms')].querySelector('.approx') || {}).title || null,
            self: (r.cells[col('self_ms')].querySelector('.approx') || {}).title || null,
            any: r.querySelectorAll('.approx').length,
          }));
        });
        const of = (name, cat) => marks.find((m) => m.key === JSON.stringify([name, cat]));
        const expect = [['draw', 'render', 'based on 50% of spans'], ['site01', 'cpu', 'based on 98% of spans']];
        for (const [name, cat, title] of expect) {
          const m = of(name, cat);
          if (!m || m.p95 !== title || m.self !== title) throw new Error(`${name} [${cat}]: markers ${JSON.stringify(m)}, expected "${title}" by p95 and self`);
        }
        for (const [name, cat] of [['draw', 'gpu'], ['site00', 'cpu'], ['site06', 'cpu']]) {
          const m = of(name, cat);
          if (!m || m.any) throw new Error(`${name} [${cat}] (coverage ${name === 'site00' ? '0.995' : 'absent or 1'}): ${m ? m.any + ' markers' : 'no row'}`);
        }
        // The call tree: the self time in a node's details.
        await page.hover(`${tid('call-tree')} .fn[data-name="frame"]`);
        await page.waitForSelector('#tip:not([hidden]) .approx[title="based on 60% of spans"]', {timeout: 5000});
        await page.mouse.move(0, 0);
        return marks.filter((m) => m.any).map((m) => m.key);
      });
      await step('the frame chart plots the (frame) budget window p95', async () => {
        const want = STUB.windowP95(STUB.FREEZE);
        await page.waitForFunction((want) => {
          const c = document.getElementById('frame-chart');
          return c.dataset.p95Source === 'window' && Math.abs(Number(c.dataset.p95Last) - want) < 1e-6;
        }, want, {timeout: 5000}).catch(async () => {
          const d = await page.$eval('#frame-chart', (c) => Object.assign({}, c.dataset));
          throw new Error(`frame chart p95: ${JSON.stringify(d)}; expected the window p95 ${want} (the p95 since start is ${STUB.p95})`);
        });
        return await page.$eval('#frame-chart', (c) => Object.assign({}, c.dataset));
      });
      await step('gpu_frames: the GPU avg KPI and the chart\'s GPU series', async () => {
        const want = String(STUB.gpuAvg);
        await page.waitForFunction((sel) => document.querySelector(sel).textContent.trim() !== '\u2013', tid('gpu-frame-avg-ms'), {timeout: 5000});
        const v = await text(tid('gpu-frame-avg-ms'));
        if (v !== want) throw new Error(`gpu-frame-avg-ms reads ${JSON.stringify(v)}, expected ${want}`);
        await page.waitForFunction(() => Number(document.getElementById('frame-chart').dataset.gpuPoints) > 0, null, {timeout: 5000});
        if (!(await page.isVisible('#gpu-legend'))) throw new Error('no "GPU frame" legend entry');
        return {kpi: v, legend: await text('#gpu-legend'), points: Number(await page.$eval('#frame-chart', (c) => c.dataset.gpuPoints))};
      });
      await step('the trace view lists the GPU tracks after the CPU threads', async () => {
        await page.click(tid('trace-button'));
        await page.waitForFunction((sel) => Number(document.querySelector(sel).dataset.spans) > 0, tid('trace-view'), {timeout: 5000});
        const lanes = JSON.parse(await page.$eval(tid('trace-view'), (c) => c.dataset.lanes || '[]'));
        if (JSON.stringify(lanes) !== JSON.stringify(STUB_TRACE_LANES)) {
          throw new Error(`lanes ${JSON.stringify(lanes)}, expected ${JSON.stringify(STUB_TRACE_LANES)}`);
        }
        if (!/\(2 GPU\)/.test(await text('#trace-info'))) throw new Error('the trace info does not count the GPU tracks');
        return lanes;
      });
      await step('a GPU frame spike says GPU, a CPU frame spike does not', async () => {
        const cell = (id) => page.$eval(`${tid('spikes')} tbody tr[data-spike-id="${id}"] td`, (td) => td.textContent.trim());
        await page.waitForSelector(`${tid('spikes')} tbody tr[data-spike-id="7"]`, {timeout: 5000});
        const gpu = await cell(7), cpu = await cell(6);
        if (gpu !== '7 GPU' || cpu !== '6') throw new Error(`spike cells ${JSON.stringify([gpu, cpu])}, expected ["7 GPU", "6"]`);
        return [gpu, cpu];
      });
      await step('a route that answers "disabled": its panels say so, the others do not', async () => {
        await page.waitForSelector('#p-limits .off-note', {state: 'visible', timeout: 5000});
        for (const id of BUDGET_PANELS) {
          if (!(await page.isVisible(`#${id} .off-note`))) throw new Error(`#${id} does not say that its route answered "disabled"`);
        }
        for (const id of PROFILER_PANELS) {
          if (await page.$eval('#' + id, (el) => el.classList.contains('off'))) throw new Error(`#${id} is marked off`);
        }
        if (await page.isVisible('#disabled')) throw new Error('the page-wide banner is shown');
        return await text('#p-limits .off-note');
      });
    } else {
      await step('asks for the token once (a form, not a dialog)', async () => {
        await page.waitForSelector('#token-form:not([hidden])', {timeout: 10000});
        allowed.push({re: /status of 401/, from: 0, to: Date.now()});
        await page.fill('#token-input', args.token);
        await page.click('#token-form button[type="submit"]');
        await page.waitForSelector(`${tid('top-time')} tbody tr[data-name="frame"]`, {timeout: 15000});
      });
      await step('data routes carry Authorization: Bearer', async () => {
        const data = requests.filter((r) => /\/api\/perf\/(profiler|budgets)/.test(r.url));
        const last = data.slice(-5);
        if (!last.length || last.some((r) => r.auth !== 'Bearer ' + args.token)) {
          throw new Error(`missing bearer on ${JSON.stringify(last.map((r) => r.url))}`);
        }
        return last.length;
      });
      await step('after a reload the token is reused (sessionStorage)', async () => {
        const from = Date.now();
        await page.reload({waitUntil: 'load'});
        await page.waitForSelector(`${tid('top-time')} tbody tr[data-name="frame"]`, {timeout: 15000});
        if (await page.isVisible('#token-form')) throw new Error('asked again');
        const late401 = consoleMessages.filter((m) => m.t >= from && /status of 401/.test(m.text));
        if (late401.length) throw new Error('401 after the reload');
      });
    }

    fs.mkdirSync(path.dirname(path.resolve(args.screenshot)), {recursive: true});
    // A full-page picture would show the sticky header in the middle.
    // (CSSOM, which the policy allows; a <style> tag it would refuse.)
    if (args.fullPage) await page.$eval('.top', (el) => el.style.setProperty('position', 'static', 'important'));
    await page.screenshot({path: args.screenshot, fullPage: args.fullPage});

    const isAllowed = (m) => allowed.some((a) => a.re.test(m.text) && m.t >= a.from && m.t <= a.to + 500);
    const problems = consoleMessages.filter((m) => (m.type === 'error' || m.type === 'warning') && !isAllowed(m));
    if (problems.length) reasons.push(`console errors/warnings: ${JSON.stringify(problems.slice(0, 8).map((m) => m.text.slice(0, 240)))}`);
    if (pageErrors.length) reasons.push(`page errors: ${JSON.stringify(pageErrors)}`);
    for (const p of csp.problems) reasons.push(`CSP: ${p}`);
    if (!csp.served || csp.served !== csp.policy) reasons.push(`the page was not served under the strict policy (got ${JSON.stringify(csp.served)})`);
    if (cspViolations.length) reasons.push(`CSP violations: ${JSON.stringify(cspViolations.slice(0, 8))}`);
    if (dialogs.length) reasons.push(`dialogs: ${JSON.stringify(dialogs)}`);
    if (blocked.length) reasons.push(`requests outside ${origin} (blocked): ${JSON.stringify(blocked)}`);
    const outside = requests.filter((r) => !r.url.startsWith(origin + '/') && !r.url.startsWith('blob:' + origin + '/'));
    if (outside.length) reasons.push(`requests outside ${origin}: ${JSON.stringify(outside.map((r) => r.url))}`);
    verdict = {
      pass: reasons.length === 0,
      mode: args.mode,
      page: args.pageFromHeader ? 'the page of ui_page.hpp' : pageOverride ? `${args.page} (served in place of the compiled-in page)` : 'compiled-in',
      chromium: browser.version(),
      title,
      steps,
      requests: requests.length,
      console: consoleMessages.length,
      console_messages: consoleMessages.slice(0, 10).map((m) => `${m.type}: ${m.text}`),
      tolerated_console_errors: consoleMessages.filter((m) => m.type === 'error' && isAllowed(m)).map((m) => m.text),
      blocked_requests: blocked.length,
      csp: csp.policy,
      csp_violations: cspViolations.length,
      screenshot: path.resolve(args.screenshot),
      seconds: (Date.now() - t0) / 1000,
      reasons,
    };
  } finally {
    await browser.close().catch(() => {});
  }
  console.log(JSON.stringify(verdict, null, 1));
  console.log(verdict.pass ? `dashboard (${args.mode}): PASS` : `dashboard (${args.mode}): FAIL: ${verdict.reasons.join('; ')}`);
  return verdict.pass ? 0 : 1;
}

main().then((rc) => process.exit(rc), (e) => {
  console.log(`dashboard: FAIL: ${e && e.message ? e.message : e}`);
  process.exit(1);
});
