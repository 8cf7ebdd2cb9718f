// Drives the dashboard page (GET /api/perf/ui) in headless Chromium
// (playwright-core) against a running adapter and judges it.
//
//   node dashboard_check.cjs --node-modules DIR --chromium PATH --base URL
//        --mode on|off|token --screenshot PNG [--token T] [--page HTML]
//        [--viewport WxH] [--full-page]
//
// on:    the perf flag is on (the demo with --enable-perf --spike-every N):
//        "frame" row in top-time, frame-p95-ms > 0, call-tree node "frame", a
//        spikes row that opens its trace, the limits form changes what GET
//        /budgets reports and shows a 422 detail, span budgets set and
//        removed, the trace button draws spans, both downloads, pause.
// off:   the flags are off: the page shows "off" and calls only /health.
// token: the adapter has a token (--token T): the page asks once, sends
//        Authorization: Bearer, and does not ask again after a reload.
// Every mode: no console error or warning, no page error, no dialog, and no
// request to anything but the adapter's origin (blocked and failed). The
// only console errors tolerated are Chromium's "Failed to load resource"
// lines for the statuses a step provokes on purpose (422, 401).
// --page HTML serves that file as /api/perf/ui instead of the adapter's
// compiled-in page (with the adapter's headers): to work on ui/ without
// rebuilding the C++.
'use strict';

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
    else if (k === '--viewport') a.viewport = next();
    else if (k === '--full-page') a.fullPage = true;
    else throw new Error(`unknown argument ${k}`);
  }
  for (const k of ['nodeModules', 'chromium', 'base', 'mode', 'screenshot']) {
    if (!a[k]) throw new Error(`missing --${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`);
  }
  if (!['on', 'off', 'token'].includes(a.mode)) throw new Error(`--mode must be on, off or token`);
  if (a.mode === 'token' && !a.token) throw new Error('--mode token needs --token');
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
    const r = await new Promise((resolve, reject) => {
      http.get(uiURL, (res) => { res.resume(); res.on('end', () => resolve(res)); }).on('error', reject);
    });
    pageHeaders = {};
    for (const [k, v] of Object.entries(r.headers)) {
      if (!['content-length', 'connection', 'keep-alive', 'transfer-encoding'].includes(k)) pageHeaders[k] = String(v);
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
  let verdict;
  const reasons = [];
  try {
    const context = await browser.newContext({
      serviceWorkers: 'block', viewport: {width: vw, height: vh}, acceptDownloads: true,
    });
    await context.route('**/*', (route) => {
      const url = route.request().url();
      let u = null;
      try { u = new URL(url); } catch (e) { u = null; }
      if (u && u.origin === origin) {
        if (pageOverride && u.pathname === '/api/perf/ui') {
          return route.fulfill({status: 200, headers: pageHeaders, body: pageOverride});
        }
        return route.continue();
      }
      blocked.push(url);
      return route.abort('blockedbyclient');
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

    await page.goto(uiURL, {waitUntil: 'load'});
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
    if (args.fullPage) await page.addStyleTag({content: '.top { position: static !important; }'});
    await page.screenshot({path: args.screenshot, fullPage: args.fullPage});

    const isAllowed = (m) => allowed.some((a) => a.re.test(m.text) && m.t >= a.from && m.t <= a.to + 500);
    const problems = consoleMessages.filter((m) => (m.type === 'error' || m.type === 'warning') && !isAllowed(m));
    if (problems.length) reasons.push(`console errors/warnings: ${JSON.stringify(problems.slice(0, 8).map((m) => m.text))}`);
    if (pageErrors.length) reasons.push(`page errors: ${JSON.stringify(pageErrors)}`);
    if (dialogs.length) reasons.push(`dialogs: ${JSON.stringify(dialogs)}`);
    if (blocked.length) reasons.push(`requests outside ${origin} (blocked): ${JSON.stringify(blocked)}`);
    const outside = requests.filter((r) => !r.url.startsWith(origin + '/') && !r.url.startsWith('blob:' + origin + '/'));
    if (outside.length) reasons.push(`requests outside ${origin}: ${JSON.stringify(outside.map((r) => r.url))}`);
    verdict = {
      pass: reasons.length === 0,
      mode: args.mode,
      page: pageOverride ? `${args.page} (served in place of the compiled-in page)` : 'compiled-in',
      chromium: browser.version(),
      title,
      steps,
      requests: requests.length,
      console: consoleMessages.length,
      console_messages: consoleMessages.slice(0, 10).map((m) => `${m.type}: ${m.text}`),
      tolerated_console_errors: consoleMessages.filter((m) => m.type === 'error' && isAllowed(m)).map((m) => m.text),
      blocked_requests: blocked.length,
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
