// How long the dashboard page (GET /api/perf/ui) takes to draw a captured
// trace of 100,000 spans, in headless Chromium. Goal: under 1 s.
//
//   node benchmarks/ui_trace_draw.cjs [--spans 100000] [--threads 4] [--runs 5]
//        [--node-modules build/third_party/node/node_modules] [--chromium /usr/bin/chromium]
//        [--page FILE]        (default: the page built from ui/ by tools/gen_ui_header.py)
//
// A synthetic Chrome trace of nested spans (frame > update, cull, draw >
// draw_batch > upload, present, on each thread; plus marks and counter
// events) is generated here. A stand-in adapter on 127.0.0.1 (an HTTP
// server in this process) serves the page, /api/perf/health saying the
// profiler is on, small stubs for the other routes, and the fixture as
// /api/perf/profiler/trace; any other request is blocked.
// Measured, per run (median reported):
//   draw   the page's own parse + layout + first draw of the text
//          (window.comfyvnPerfDashboard.showTrace): the drawing cost;
//   click  "Capture 1 s" pressed until trace-view carries data-spans, the
//          answer's transfer over loopback included (no 1 s capture wait);
//   redraw a redraw at a few zoom levels (whole trace, 10%, 1%, 0.1%).
// Exit 1 when the median draw is 1 s or more.
'use strict';

const {execFileSync} = require('child_process');
const http = require('http');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');

function parseArgs(argv) {
  const a = {spans: 100000, threads: 4, runs: 5, nodeModules: path.join(ROOT, 'build/third_party/node/node_modules'),
    chromium: process.env.COMFYVN_CHROMIUM || '/usr/bin/chromium', page: null};
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => argv[++i];
    if (k === '--spans') a.spans = Number(v());
    else if (k === '--threads') a.threads = Number(v());
    else if (k === '--runs') a.runs = Number(v());
    else if (k === '--node-modules') a.nodeModules = v();
    else if (k === '--chromium') a.chromium = v();
    else if (k === '--page') a.page = v();
    else throw new Error(`unknown argument ${k}`);
  }
  return a;
}

// One second of a busy process: `threads` threads, each running frames of
// 17 nested spans back to back, `spans` spans in all.
function makeTrace(spans, threads) {
  const ev = [{ph: 'M', name: 'process_name', pid: 1, tid: 0, args: {name: 'synthetic'}}];
  const perThread = Math.ceil(spans / threads);
  const framesPerThread = Math.ceil(perThread / 17);
  const frameUs = 1e6 / framesPerThread;
  let n = 0;
  const r3 = (x) => Math.round(x * 1000) / 1000;
  for (let t = 1; t <= threads; t++) {
    ev.push({ph: 'M', name: 'thread_name', pid: 1, tid: t, args: {name: t === 1 ? 'render' : 'worker ' + (t - 1)}});
    for (let f = 0; f < framesPerThread && n < spans; f++) {
      const s = f * frameUs + t * 3.1;
      const w = frameUs * 0.92;
      const X = (name, cat, ts, dur) => { if (n < spans) { ev.push({ph: 'X', name, cat, ts: r3(ts), dur: r3(dur), pid: 1, tid: t}); n++; } };
      X('frame', 'render', s, w);
      X('update', 'render', s + w * 0.01, w * 0.2);
      X('cull', 'render', s + w * 0.22, w * 0.05);
      X('draw', 'render', s + w * 0.28, w * 0.6);
      for (let b = 0; b < 6; b++) {
        const bs = s + w * 0.29 + b * w * 0.095;
        X('draw_batch', 'render', bs, w * 0.09);
        X('upload', 'render', bs + w * 0.01, w * 0.05);
      }
      X('present', 'render', s + w * 0.9, w * 0.08);
    }
  }
  for (let i = 0; i < 60; i++) ev.push({ph: 'i', s: 'p', name: 'second', cat: 'render', ts: i * 16667, pid: 1, tid: 0});
  for (let i = 0; i < 200; i++) {
    ev.push({ph: 'C', name: 'draw_calls', ts: i * 5000, pid: 1, tid: 0, args: {value: 4 + (i * 7) % 9}});
    ev.push({ph: 'C', name: 'host_cpu_percent', ts: i * 5000 + 1, pid: 1, tid: 0, args: {value: 30 + (i * 13) % 50}});
  }
  return JSON.stringify({traceEvents: ev, displayTimeUnit: 'ms', otherData: {spans: n, dropped: 0, seconds: 1, version: 'synthetic'}});
}

const median = (xs) => { const s = xs.slice().sort((a, b) => a - b); return s.length ? s[(s.length - 1) >> 1] : null; };

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const {chromium} = require(path.join(path.resolve(a.nodeModules), 'playwright-core'));
  const html = a.page ? require('fs').readFileSync(a.page, 'utf8')
    : execFileSync('python3', [path.join(ROOT, 'tools/gen_ui_header.py'), '--html', '-'], {encoding: 'utf8'});
  const t0 = Date.now();
  const trace = makeTrace(a.spans, a.threads);
  const genMs = Date.now() - t0;
  const csp = "default-src 'none'; connect-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data: blob:";
  const ok = (o) => JSON.stringify(Object.assign({ok: true, feature_flag: true}, o));
  const routes = {
    '/api/perf/health': () => ok({profiler_enabled: true, budgets_enabled: false, budgets: null,
      profiler: {spans_recorded: 0, dropped: 0, threads: {live: 1, exited: 0}, hooks: {dropped: 0}, timestamp: Date.now() / 1000}}),
    '/api/perf/profiler/dashboard': () => ok({dashboard: {top_time: [], top_memory: [], top_self: [], counters: [], aggregates: [],
      categories: {}, marks: [], spans_recorded: 0, dropped: 0, timestamp: Date.now() / 1000}}),
    '/api/perf/profiler/budgets': () => ok({budgets: []}),
    '/api/perf/profiler/spikes': () => ok({spikes: []}),
    '/api/perf/profiler/tree': () => ok({tree: {roots: [], coverage: 1, nodes: 0, folded: 0}}),
  };
  const traceBuf = Buffer.from(trace);
  // A stand-in adapter on loopback: the page, small stubs, and the fixture as
  // /profiler/trace (answered at once, not after a 1 s capture).
  const server = http.createServer((req, res) => {
    const p = new URL(req.url, 'http://127.0.0.1').pathname;
    if (p === '/api/perf/ui') {
      res.writeHead(200, {'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': csp, 'Cache-Control': 'no-store'});
      return res.end(html);
    }
    if (p === '/api/perf/profiler/trace') {
      res.writeHead(200, {'Content-Type': 'application/json', 'Content-Length': traceBuf.length, 'Cache-Control': 'no-store'});
      return res.end(traceBuf);
    }
    const body = routes[p] ? routes[p]() : '{"ok":false,"feature_flag":true,"detail":"no such route"}';
    res.writeHead(routes[p] ? 200 : 404, {'Content-Type': 'application/json', 'Cache-Control': 'no-store'});
    res.end(body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;

  const browser = await chromium.launch({
    executablePath: a.chromium, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-default-apps', '--no-pings', '--disable-breakpad',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1', '--proxy-server=http://127.0.0.1:9'],
  });
  const out = {spans: a.spans, threads: a.threads, trace_bytes: trace.length, generate_ms: genMs, runs: []};
  const errors = [];
  try {
    const context = await browser.newContext({viewport: {width: 1280, height: 900}, serviceWorkers: 'block'});
    await context.route('**/*', (route) => {
      const u = new URL(route.request().url());
      if (u.origin !== origin) { errors.push('outside request: ' + u.href); return route.abort(); }
      return route.continue();
    });
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.goto(origin + '/api/perf/ui', {waitUntil: 'load'});
    await page.waitForSelector('body[data-flag="on"]', {timeout: 10000});
    // The text lives in the page once; each run parses, lays out and draws it.
    await page.evaluate((t) => { window.__trace = t; }, trace);
    for (let r = 0; r < a.runs; r++) {
      const m = await page.evaluate(() => {
        const t = performance.now();
        window.comfyvnPerfDashboard.showTrace(window.__trace, 'synthetic');
        const total = performance.now() - t;
        const c = document.querySelector('[data-testid="trace-view"]');
        return {total_ms: total, parse_ms: Number(c.dataset.parseMs), layout_ms: Number(c.dataset.layoutMs),
          draw_ms: Number(c.dataset.drawMs), spans: Number(c.dataset.spans)};
      });
      const redraw = await page.evaluate(() => {
        const z = window.comfyvnPerfDashboard;
        return {whole: z.drawAt(0, 1), '10%': z.drawAt(0.4, 0.5), '1%': z.drawAt(0.45, 0.46), '0.1%': z.drawAt(0.455, 0.456)};
      });
      // Click path: the button, the route's 10 MB answer, then the same work.
      await page.evaluate(() => { delete document.querySelector('[data-testid="trace-view"]').dataset.spans; });
      const s = Date.now();
      await page.click('[data-testid="trace-button"]');
      await page.waitForFunction((n) => Number(document.querySelector('[data-testid="trace-view"]').dataset.spans) === n, a.spans, {timeout: 30000});
      m.click_to_drawn_ms = Date.now() - s;
      m.fetch_ms = await page.$eval('[data-testid="trace-view"]', (c) => Number(c.dataset.fetchMs));
      m.redraw_ms = redraw;
      out.runs.push(m);
      if (m.spans !== a.spans) errors.push(`run ${r}: drew ${m.spans} spans, expected ${a.spans}`);
    }
    await page.screenshot({path: path.join(require('os').tmpdir(), 'ui_trace_draw.png')});
    out.chromium = browser.version();
  } finally {
    await browser.close().catch(() => {});
    server.close();
  }
  const pick = (k) => median(out.runs.map((r) => r[k]));
  out.median = {total_ms: pick('total_ms'), parse_ms: pick('parse_ms'), layout_ms: pick('layout_ms'), draw_ms: pick('draw_ms'),
    click_to_drawn_ms: pick('click_to_drawn_ms'), fetch_ms: pick('fetch_ms'),
    redraw_ms: Object.fromEntries(['whole', '10%', '1%', '0.1%'].map((k) => [k, median(out.runs.map((r) => r.redraw_ms[k]))]))};
  out.errors = errors;
  out.pass = errors.length === 0 && out.median.total_ms < 1000;
  console.log(JSON.stringify(out, null, 1));
  const f = (x) => (x === null ? '?' : x.toFixed(0));
  console.log(`ui_trace_draw: ${a.spans} spans on ${a.threads} threads (${(trace.length / 1e6).toFixed(1)} MB): ` +
    `parse + layout + draw ${f(out.median.total_ms)} ms (parse ${f(out.median.parse_ms)}, layout ${f(out.median.layout_ms)}, ` +
    `draw ${f(out.median.draw_ms)}); click to drawn ${f(out.median.click_to_drawn_ms)} ms (fetch of the answer ` +
    `${f(out.median.fetch_ms)} ms); median of ${a.runs}; ` +
    `goal < 1000 ms: ${out.pass ? 'PASS' : 'FAIL'}`);
  return out.pass ? 0 : 1;
}

main().then((rc) => process.exit(rc), (e) => { console.log('ui_trace_draw: FAIL: ' + (e && e.stack ? e.stack : e)); process.exit(1); });
