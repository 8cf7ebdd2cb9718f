// A page on another origin attacks a running adapter through headless
// Chromium (playwright-core), and the adapter's own answers show that none
// of the attacks had an effect (contract §8, Trust rules).
//
//   node fetch_site_check.cjs --node-modules DIR --chromium PATH --base URL
//
// The attacker page is served by a second HTTP server started here, on
// another ephemeral loopback port: a real second origin, same site as the
// adapter (Chromium labels its requests Sec-Fetch-Site: same-site). It
// sends, with no Origin header on the GETs:
//   fetch(BASE/api/perf/profiler/trace?seconds=5, {mode: 'no-cors'})
//   <img src=BASE/api/perf/profiler/trace?seconds=5>
//   <script src=BASE/api/perf/profiler/trace?seconds=5>
//   <form method=post action=BASE/api/perf/profiler/reset>, submitted at load
// Verdict: each attack reached the adapter and was answered 403 with the
// Fetch Metadata detail; then, asked as curl would (no browser headers), a
// trace of 0.2 s answers 200 (an attack that started a 5 s capture makes it
// 409), and a mark posted before the attack is still in the dashboard (the
// reset did not run). Prints PASS or FAIL lines; exit 0 on PASS.
'use strict';

const http = require('http');
const path = require('path');

const {launchChromium, loadChromium} = require('./browser.cjs');

const DETAIL = 'requests from other sites are refused (Sec-Fetch-Site)';
// How long an attack request may go unanswered before the adapter's view is
// checked: a guarded adapter answers at once, an unguarded one is capturing.
const ANSWER_WAIT_MS = 2500;

function parseArgs(argv) {
  const a = {};
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
    if (k === '--node-modules') a.nodeModules = argv[++i];
    else if (k === '--chromium') a.chromium = argv[++i];
    else if (k === '--base') a.base = argv[++i];
    else throw new Error(`unknown argument ${k}`);
  }
  for (const k of ['nodeModules', 'chromium', 'base']) {
    if (!a[k]) throw new Error(`missing --${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`);
  }
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(a.base)) throw new Error(`--base must be http://127.0.0.1:PORT, not ${a.base}`);
  return a;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The attacks, each aimed at its own URL so that none waits on another in
// the browser's cache.
function attacks(base) {
  const trace = (via) => `${base}/api/perf/profiler/trace?seconds=5&via=${via}`;
  return [
    {name: 'fetch no-cors', url: trace('fetch')},
    {name: '<img>', url: trace('img')},
    {name: '<script>', url: trace('script')},
    {name: '<form method=post>', url: `${base}/api/perf/profiler/reset`},
  ];
}

function attackerPage(list) {
  const [f, img, script, form] = list.map((a) => a.url);
  // The fetch first, the script async: no attack waits for another. The form
  // posts into a frame, so the page stays.
  return `<!doctype html><html><head><meta charset="utf-8"><title>elsewhere</title>
<script>fetch(${JSON.stringify(f)}, {mode: 'no-cors'}).catch(() => {});</script>
</head><body>
<img src="${img}">
<script async src="${script}"></script>
<iframe name="sink" style="display:none"></iframe>
<form id="f" method="post" action="${form}" target="sink"></form>
<script>document.getElementById('f').submit();</script>
</body></html>`;
}

// The attacker's origin: a second server on another ephemeral port.
function serveAttacker(html) {
  const server = http.createServer((req, res) => {
    if (req.url === '/') {
      res.writeHead(200, {'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store'});
      res.end(html);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  const base = args.base;
  const problems = [];

  // The adapter's own view, asked as curl would: Playwright's API client
  // sends no Origin and no Sec-Fetch-* header.
  const api = await require(path.join(path.resolve(args.nodeModules), 'playwright-core')).request.newContext({
    baseURL: base, extraHTTPHeaders: {Accept: 'application/json'}, timeout: 10000,
  });
  const markName = `before-attack-${process.pid}`;
  const marked = await api.post('/api/perf/profiler/mark', {data: {name: markName, category: 'fetch-site-check'}});
  if (marked.status() !== 200) throw new Error(`POST /profiler/mark answered ${marked.status()}: ${(await marked.text()).slice(0, 200)}`);

  const list = attacks(base);
  const server = await serveAttacker(attackerPage(list));
  const attacker = `http://127.0.0.1:${server.address().port}`;
  console.log(`attacker page on ${attacker}/, adapter on ${base}`);

  const browser = await launchChromium(loadChromium(args.nodeModules), args.chromium);
  try {
    const context = await browser.newContext({serviceWorkers: 'block'});
    const page = await context.newPage();
    // What went over the wire, from the browser's network layer (CDP): the
    // headers Chromium really sent, and the status the adapter answered, also
    // for answers that Opaque Response Blocking then hides from the page
    // (the JSON of <img> and <script>).
    // url -> {sent, headers, status, detail, failure, done}
    const seen = new Map();
    // ExtraInfo events may come before or after requestWillBeSent: one
    // record per requestId, named by its URL when that is known.
    const byId = new Map();
    const record = (id) => {
      if (!byId.has(id)) byId.set(id, {sent: null, headers: {}, status: null, detail: null, failure: null, done: false});
      return byId.get(id);
    };
    const cdp = await context.newCDPSession(page);
    cdp.on('Network.requestWillBeSent', (ev) => {
      if (!ev.request.url.startsWith(base + '/')) return;
      const e = record(ev.requestId);
      e.sent = Date.now();
      seen.set(ev.request.url, e);
    });
    const lower = (h) => Object.fromEntries(Object.entries(h || {}).map(([k, v]) => [k.toLowerCase(), v]));
    cdp.on('Network.requestWillBeSentExtraInfo', (ev) => { record(ev.requestId).headers = lower(ev.headers); });
    cdp.on('Network.responseReceivedExtraInfo', (ev) => { record(ev.requestId).status = ev.statusCode; });
    cdp.on('Network.loadingFailed', (ev) => {
      const e = record(ev.requestId);
      e.failure = ev.blockedReason || ev.errorText || 'failed';
      e.done = true;
    });
    await cdp.send('Network.enable');
    // The detail, where the page may read the body (the fetch's opaque
    // answer and the form's frame).
    page.on('response', async (res) => {
      const e = seen.get(res.url());
      if (!e) return;
      try {
        const doc = JSON.parse(await res.text());
        e.detail = doc && typeof doc.detail === 'string' ? doc.detail : null;
      } catch (err) {
        e.detail = null;
      }
      e.done = true;
    });

    await page.goto(attacker + '/', {waitUntil: 'domcontentloaded', timeout: 10000});
    // Every attack sent, and each answered (its body read) or left waiting
    // long enough that its effect on the adapter is visible.
    const deadline = Date.now() + 8000;
    const settled = () => list.every((a) => {
      const e = seen.get(a.url);
      return e && ((e.status !== null && e.done) || Date.now() - e.sent > ANSWER_WAIT_MS);
    });
    while (!settled() && Date.now() < deadline) await sleep(25);

    // The adapter's own view again.
    const trace = await api.get('/api/perf/profiler/trace?seconds=0.2');
    if (trace.status() !== 200) {
      problems.push(`a trace of 0.2 s asked after the attacks answered ${trace.status()} ${(await trace.text()).slice(0, 120)}: an attack started a capture`);
    }
    const dash = await api.get('/api/perf/profiler/dashboard?limit=0&marks=1000');
    let doc = null;
    try { doc = await dash.json(); } catch (e) { doc = null; }
    const marks = doc && doc.dashboard && Array.isArray(doc.dashboard.marks) ? doc.dashboard.marks : null;
    if (dash.status() !== 200 || !marks) {
      problems.push(`GET /profiler/dashboard answered ${dash.status()}: ${(await dash.text()).slice(0, 200)}`);
    } else if (!marks.some((m) => m && m.name === markName)) {
      problems.push(`the mark posted before the attacks is gone: the profiler was reset`);
    }

    for (const a of list) {
      const e = seen.get(a.url);
      if (!e) {
        problems.push(`${a.name}: the browser never sent ${a.url}`);
        continue;
      }
      const site = e.headers['sec-fetch-site'];
      const answer = e.status === null ? `nothing within ${ANSWER_WAIT_MS} ms` : String(e.status);
      const shown = `${answer}${e.detail !== null ? ' ' + JSON.stringify(e.detail) : ''}${e.failure ? ` (page sees ${e.failure})` : ''}`;
      console.log(`${a.name}: Sec-Fetch-Site ${site || '(none)'}, Origin ${e.headers.origin || '(none)'} -> ${shown}`);
      if (!site || site === 'same-origin' || site === 'none') {
        problems.push(`${a.name}: the browser labelled it Sec-Fetch-Site ${site || '(none)'}, so this check tests nothing`);
      }
      if (e.status !== 403 || (e.detail !== null && e.detail !== DETAIL)) {
        problems.push(`${a.name}: answered ${shown}, expected 403 ${JSON.stringify(DETAIL)}`);
      }
    }
    await context.close();
  } finally {
    await browser.close();
    await api.dispose();
    await new Promise((resolve) => server.close(resolve));
  }
  for (const p of problems) console.log(`FAIL: ${p}`);
  if (!problems.length) console.log(`PASS: ${list.length} attacks from ${attacker} refused; the adapter still traces and was not reset`);
  console.log(`(browser check ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  return problems.length ? 1 : 0;
}

main().then((code) => { process.exitCode = code; }, (e) => {
  console.log(`FAIL: ${e && e.stack ? e.stack : e}`);
  process.exitCode = 1;
});
