// What the dashboard page's polling costs the application's frames: the
// frame-cost experiment of benchmarks/http_load.sh ("frames" mode), with the
// real page in headless Chromium as the poller.
//
//   node benchmarks/ui_poll_cost.cjs [--demo build/examples/render_loop] [--phases 8]
//        [--phase-seconds 8] [--demo-arg ARG]... [--poller page|requests]
//        [--node-modules DIR] [--chromium PATH]
//
// --poller requests replays the page's requests from node instead (same
// routes, same rate, keep-alive): the adapter's share of the cost without the
// browser's own CPU, which on a small machine competes with the application.
// Starts the render-loop demo (--port 0 --enable-perf --duration 0, plus any
// --demo-arg), then alternates phases without and with the page open: the
// browser stays up the whole time; a quiet phase shows about:blank, a polled
// phase shows GET /api/perf/ui, which polls the adapter about once a second
// (health, dashboard and spikes every second; span budgets, budgets and the
// call tree every other second: 4.5 requests a second). Alternating spreads drift in machine load over both kinds.
// Per phase, after 1.5 s of settling: the demo's mean frame work (the "frame"
// span: delta of total_ms over delta of count, from /profiler/dashboard read
// at both ends), its frame interval (PERF_FRAME), the demo process's CPU time
// (/proc/PID/stat), the poller's CPU (the browser's process tree, or node)
// and the page's requests. Reports quiet vs polled and the
// difference in percent, next to the spread between quiet phases (the noise).
// Everything stays on 127.0.0.1; other requests are blocked.
'use strict';

const {spawn} = require('child_process');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');

function parseArgs(argv) {
  const a = {demo: path.join(ROOT, 'build/examples/render_loop'), phases: 8, phaseSeconds: 8, demoArgs: [],
    nodeModules: path.join(ROOT, 'build/third_party/node/node_modules'),
    chromium: process.env.COMFYVN_CHROMIUM || '/usr/bin/chromium', poller: 'page'};
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => argv[++i];
    if (k === '--demo') a.demo = v();
    else if (k === '--phases') a.phases = Number(v());
    else if (k === '--phase-seconds') a.phaseSeconds = Number(v());
    else if (k === '--demo-arg') a.demoArgs.push(v());
    else if (k === '--node-modules') a.nodeModules = v();
    else if (k === '--chromium') a.chromium = v();
    else if (k === '--poller') a.poller = v();
    else throw new Error(`unknown argument ${k}`);
  }
  return a;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function getJson(url) {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => { try { resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))); } catch (e) { reject(e); } });
    }).on('error', reject);
  });
}

function cpuSeconds(pid) {
  // /proc/PID/stat: utime and stime are fields 14 and 15, in clock ticks.
  const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

// CPU seconds of a process and all its descendants (the browser's renderer,
// GPU and network processes).
function treeCpuSeconds(root) {
  const kids = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(d)) continue;
    try {
      const s = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      const ppid = Number(f[1]);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid).push(Number(d));
    } catch (e) { /* exited */ }
  }
  let total = 0;
  const todo = [root];
  while (todo.length) {
    const p = todo.pop();
    try { total += cpuSeconds(p); } catch (e) { /* exited */ }
    for (const c of kids.get(p) || []) todo.push(c);
  }
  return total;
}

// The page's requests, replayed without a browser: what the adapter sees
// from an open dashboard, without the browser's own CPU.
function requestPoller(base) {
  const agent = new http.Agent({keepAlive: true, maxSockets: 6});
  // As the page: health, then dashboard and spikes every second; span
  // budgets and budgets on even rounds, the call tree on odd ones.
  const every = ['/api/perf/profiler/dashboard?limit=5&marks=64', '/api/perf/profiler/spikes'];
  const even = ['/api/perf/profiler/budgets', '/api/perf/budgets?limit=100'];
  const odd = ['/api/perf/profiler/tree?limit=12'];
  let on = false, tick = 0, count = 0, timer = null;
  const get = (p) => new Promise((resolve) => {
    http.get(base + p, {agent}, (res) => { res.resume(); res.on('end', resolve); }).on('error', resolve);
  });
  const round = async () => {
    if (!on) return;
    const t = Date.now();
    await get('/api/perf/health?limit=0');
    const more = every.concat(tick++ % 2 === 0 ? even : odd);
    await Promise.all(more.map(get));
    count += 1 + more.length;
    if (on) timer = setTimeout(round, Math.max(0, 1000 - (Date.now() - t)));
  };
  return {
    start() { on = true; round(); },
    stop() { on = false; clearTimeout(timer); },
    get requests() { return count; },
    close() { agent.destroy(); },
  };
}

async function frameStats(base) {
  const d = (await getJson(base + '/api/perf/profiler/dashboard?limit=0&marks=0')).dashboard;
  const row = (d.aggregates || []).find((a) => a.name === 'frame' && a.category === 'render');
  const f = d.frames || {count: 0, avg_ms: 0};
  return {count: row ? row.count : 0, total_ms: row ? row.total_ms : 0,
    frames: f.count, frames_total_ms: f.count * f.avg_ms, t: Date.now()};
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const {chromium} = require(path.join(path.resolve(a.nodeModules), 'playwright-core'));
  const demo = spawn(a.demo, ['--port', '0', '--enable-perf', '--duration', '0', ...a.demoArgs],
      {stdio: ['ignore', 'pipe', 'inherit']});
  let port = null;
  let buf = '';
  const ready = new Promise((resolve, reject) => {
    demo.stdout.on('data', (c) => {
      buf += c.toString();
      const m = /^listening on http:\/\/127\.0\.0\.1:(\d+)$/m.exec(buf);
      if (m && !port) { port = Number(m[1]); resolve(); }
      if (buf.length > 65536) buf = buf.slice(-4096);
    });
    demo.on('exit', (code) => reject(new Error(`the demo exited ${code} before listening`)));
    setTimeout(() => reject(new Error('the demo did not print its port within 20 s')), 20000);
  });
  let browser = null;
  const out = {demo: [a.demo, ...a.demoArgs].join(' '), phases: [], cpus: os.cpus().length, loadavg_start: os.loadavg()};
  try {
    await ready;
    const base = `http://127.0.0.1:${port}`;
    browser = await chromium.launch({executablePath: a.chromium, headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--no-first-run', '--disable-default-apps', '--no-pings', '--disable-breakpad',
        '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1', '--proxy-server=http://127.0.0.1:9']});
    const context = await browser.newContext({viewport: {width: 1280, height: 900}, serviceWorkers: 'block'});
    const blocked = [];
    await context.route('**/*', (route) => {
      const u = route.request().url();
      if (u.startsWith(base + '/')) return route.continue();
      blocked.push(u);
      return route.abort();
    });
    const page = await context.newPage();
    let pageRequests = 0;
    page.on('request', (r) => { if (r.url().startsWith(base + '/api/perf/')) pageRequests++; });
    const replay = requestPoller(base);
    const requests = () => (a.poller === 'page' ? pageRequests : replay.requests);
    out.poller = a.poller === 'page' ? 'the dashboard page in headless Chromium' : "the page's requests replayed from node (no browser)";
    await page.goto('about:blank');
    await sleep(3000);  // the demo warms up
    for (let p = 0; p < a.phases; p++) {
      const polled = p % 2 === 1;
      if (a.poller === 'page') {
        if (polled) {
          await page.goto(base + '/api/perf/ui', {waitUntil: 'load'});
          await page.waitForSelector('body[data-flag="on"]', {timeout: 10000});
        } else {
          await page.goto('about:blank');
        }
      } else if (polled) replay.start();
      else replay.stop();
      await sleep(1500);  // frames straddling the switch are not counted
      const s0 = await frameStats(base);
      const c0 = cpuSeconds(demo.pid);
      const b0 = treeCpuSeconds(process.pid) - treeCpuSeconds(demo.pid);
      const r0 = requests();
      await sleep(a.phaseSeconds * 1000);
      const s1 = await frameStats(base);
      const c1 = cpuSeconds(demo.pid);
      const b1 = treeCpuSeconds(process.pid) - treeCpuSeconds(demo.pid);
      const secs = (s1.t - s0.t) / 1000;
      const ph = {
        polled, seconds: secs, frames: s1.count - s0.count,
        frame_work_ms: (s1.total_ms - s0.total_ms) / Math.max(1, s1.count - s0.count),
        frame_interval_ms: (s1.frames_total_ms - s0.frames_total_ms) / Math.max(1, s1.frames - s0.frames),
        demo_cpu_percent: 100 * (c1 - c0) / secs,
        poller_cpu_percent: 100 * (b1 - b0) / secs,
        page_requests_per_s: (requests() - r0) / secs,
      };
      out.phases.push(ph);
      console.error(`phase ${p + 1}/${a.phases} ${polled ? 'polled' : 'quiet '}: frame work ${ph.frame_work_ms.toFixed(4)} ms over ${ph.frames} frames, ` +
        `demo CPU ${ph.demo_cpu_percent.toFixed(1)}%, poller CPU ${ph.poller_cpu_percent.toFixed(1)}%, ${ph.page_requests_per_s.toFixed(1)} requests/s`);
    }
    replay.stop();
    replay.close();
    out.blocked_requests = blocked.length;
  } finally {
    if (browser) await browser.close().catch(() => {});
    if (demo.exitCode === null) demo.kill('SIGTERM');
  }
  const agg = (polled) => {
    const ps = out.phases.filter((x) => x.polled === polled);
    const frames = ps.reduce((s, x) => s + x.frames, 0);
    return {
      phases: ps.length, frames,
      frame_work_ms: ps.reduce((s, x) => s + x.frame_work_ms * x.frames, 0) / Math.max(1, frames),
      frame_interval_ms: ps.reduce((s, x) => s + x.frame_interval_ms * x.frames, 0) / Math.max(1, frames),
      demo_cpu_percent: ps.reduce((s, x) => s + x.demo_cpu_percent, 0) / Math.max(1, ps.length),
      poller_cpu_percent: ps.reduce((s, x) => s + x.poller_cpu_percent, 0) / Math.max(1, ps.length),
      page_requests_per_s: ps.reduce((s, x) => s + x.page_requests_per_s, 0) / Math.max(1, ps.length),
      spread_percent: ps.length > 1 ? 100 * (Math.max(...ps.map((x) => x.frame_work_ms)) - Math.min(...ps.map((x) => x.frame_work_ms))) /
        (ps.reduce((s, x) => s + x.frame_work_ms, 0) / ps.length) : 0,
    };
  };
  out.quiet = agg(false);
  out.polled = agg(true);
  out.frame_cost_percent = 100 * (out.polled.frame_work_ms - out.quiet.frame_work_ms) / out.quiet.frame_work_ms;
  out.loadavg_end = os.loadavg();
  console.log(JSON.stringify(out, null, 1));
  console.log(`ui_poll_cost (${out.poller}): frame work ${out.quiet.frame_work_ms.toFixed(4)} ms quiet, ` +
    `${out.polled.frame_work_ms.toFixed(4)} ms polled (${out.polled.page_requests_per_s.toFixed(1)} requests/s): ` +
    `${out.frame_cost_percent >= 0 ? '+' : ''}${out.frame_cost_percent.toFixed(2)}% ` +
    `(quiet phases spread ${out.quiet.spread_percent.toFixed(1)}%); demo CPU ${out.quiet.demo_cpu_percent.toFixed(1)}% -> ${out.polled.demo_cpu_percent.toFixed(1)}%, ` +
    `poller CPU ${out.quiet.poller_cpu_percent.toFixed(1)}% -> ${out.polled.poller_cpu_percent.toFixed(1)}%`);
  return 0;
}

main().then((rc) => process.exit(rc), (e) => { console.log('ui_poll_cost: FAIL: ' + (e && e.stack ? e.stack : e)); process.exit(1); });
