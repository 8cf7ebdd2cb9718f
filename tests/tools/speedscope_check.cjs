// Loads a Chrome Trace Event JSON file into speedscope's static build in
// headless Chromium (playwright-core) and judges the import.
//
//   node speedscope_check.cjs --node-modules DIR --chromium PATH --trace FILE
//        --screenshot PNG [--expect-nesting-warning]
//
// Pass: speedscope logs "Importing as Trace Event Format profile", the page
// shows the profile (title "<file> - speedscope", a flame graph canvas), and
// there is no console warning or error, no page error, no dialog and no
// request to anything but the local server. speedscope warns "Tried to end
// ..." / "... was still open at end of profile" when spans on one thread do
// not nest.
// With --expect-nesting-warning (the self-test over a broken trace) the
// verdict is inverted for that warning: it must appear, so the check is
// shown to be able to fail.
//
// Everything stays on 127.0.0.1: the files are served by an HTTP server in
// this process, every other request is aborted and fails the check, and
// Chromium runs with its background services off, a dead proxy for anything
// that is not loopback and no DNS.
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');

const {launchChromium, loadChromium} = require('./browser.cjs');

function parseArgs(argv) {
  const a = {expectNestingWarning: false};
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      return argv[++i];
    };
    if (k === '--node-modules') a.nodeModules = next();
    else if (k === '--chromium') a.chromium = next();
    else if (k === '--trace') a.trace = next();
    else if (k === '--screenshot') a.screenshot = next();
    else if (k === '--expect-nesting-warning') a.expectNestingWarning = true;
    else if (k === '--expect-profile') a.expectProfile = next();
    else throw new Error(`unknown argument ${k}`);
  }
  for (const k of ['nodeModules', 'chromium', 'trace', 'screenshot']) {
    if (!a[k]) throw new Error(`missing --${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`);
  }
  return a;
}

const GPU_NOTE = /^\[\.WebGL-0x[0-9a-f]+\]GL Driver Message \(OpenGL, Performance, [A-Z0-9_]+, [A-Za-z]+\): GPU stall due to ReadPixels( \(this message will no longer repeat\))?$/;

const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.png': 'image/png',
  '.ico': 'image/x-icon', '.woff2': 'font/woff2', '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8', '.md': 'text/plain; charset=utf-8',
};

// Serves speedscope's release folder, and the trace as /trace.json.
function startServer(root, traceFile) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    let file;
    if (url.pathname === '/trace.json') {
      file = traceFile;
    } else {
      file = path.join(root, path.normalize(decodeURIComponent(url.pathname)).replace(/^[/\\]+/, ''));
      if (!file.startsWith(root + path.sep)) file = null;
    }
    if (!file || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404, {'Content-Type': 'text/plain'});
      res.end('not found');
      return;
    }
    res.writeHead(200, {
      'Content-Type': MIME[path.extname(file)] || 'application/octet-stream',
      'Cache-Control': 'no-store',
    });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  const nodeModules = path.resolve(args.nodeModules);
  const chromium = loadChromium(nodeModules);
  const root = path.join(nodeModules, 'speedscope', 'dist', 'release');
  if (!fs.existsSync(path.join(root, 'index.html'))) {
    throw new Error(`speedscope's static build is missing (${root}/index.html); run ./dev test`);
  }
  const speedscopeVersion = fs.readFileSync(path.join(root, 'release.txt'), 'utf8').split('\n')[0];

  const server = await startServer(root, path.resolve(args.trace));
  const port = server.address().port;
  const origin = `http://127.0.0.1:${port}`;

  // speedscope draws with WebGL; without a GPU Chromium needs its software
  // rasteriser allowed explicitly.
  const browser = await launchChromium(chromium, args.chromium,
      ['--enable-unsafe-swiftshader', '--use-angle=swiftshader']);
  const consoleMessages = [];
  const pageErrors = [];
  const dialogs = [];
  const blocked = [];
  let verdict;
  try {
    const context = await browser.newContext({serviceWorkers: 'block', viewport: {width: 1280, height: 720}});
    await context.route('**/*', (route) => {
      const url = route.request().url();
      let u;
      try {
        u = new URL(url);
      } catch {
        u = null;
      }
      if (u && u.protocol === 'http:' && u.hostname === '127.0.0.1' && u.port === String(port)) {
        return route.continue();
      }
      blocked.push(url);
      return route.abort('blockedbyclient');
    });
    const page = await context.newPage();
    page.on('console', (m) => consoleMessages.push({type: m.type(), text: m.text()}));
    page.on('pageerror', (e) => pageErrors.push(String(e && e.stack ? e.stack : e)));
    page.on('dialog', (d) => {
      dialogs.push(`${d.type()}: ${d.message()}`);
      d.dismiss().catch(() => {});
    });
    page.on('crash', () => pageErrors.push('page crashed'));

    const traceURL = `${origin}/trace.json`;
    await page.goto(`${origin}/index.html#profileURL=${encodeURIComponent(traceURL)}`, {waitUntil: 'load'});
    // Loaded: the title names the file; failed: an error view or a dialog.
    let loaded = true;
    try {
      await page.waitForFunction(
          () => / - speedscope$/.test(document.title) || /Something went wrong/.test(document.body.innerText),
          null, {timeout: 20000});
    } catch {
      loaded = false;
    }
    // Let the flame graph draw (and any late warning arrive).
    await page.waitForTimeout(1000);
    const state = await page.evaluate(() => ({
      title: document.title,
      canvases: document.querySelectorAll('canvas').length,
      text: document.body.innerText.slice(0, 400),
      failed: /Something went wrong/.test(document.body.innerText),
    }));
    fs.mkdirSync(path.dirname(path.resolve(args.screenshot)), {recursive: true});
    await page.screenshot({path: args.screenshot});

    // --expect-profile NAME: one of the profiles (speedscope makes one per
    // thread) is NAME; the toolbar names the one shown, `n` shows the next.
    const profilesSeen = [];
    let profileFound = !args.expectProfile;
    for (let i = 0; !profileFound && i < 32; i++) {
      const bar = await page.evaluate(() => document.body.innerText.split('\n').filter(Boolean).slice(0, 4).join(' | '));
      profilesSeen.push(bar);
      if (bar.includes(args.expectProfile)) profileFound = true;
      else {
        await page.keyboard.press('n');
        await page.waitForTimeout(150);
      }
    }
    if (args.expectProfile && profileFound) await page.screenshot({path: args.screenshot});
    const importLines = consoleMessages.filter((m) => m.text.startsWith('Importing as'));
    // Chromium's own note about software WebGL (SwiftShader reads pixels back
    // for the screenshot) is not the page's: it is counted, not failed.
    const gpuNotes = consoleMessages.filter((m) => GPU_NOTE.test(m.text));
    const problems = consoleMessages.filter(
        (m) => (m.type === 'warning' || m.type === 'error') && !gpuNotes.includes(m));
    const nesting = problems.filter((m) => /Tried to end|was still open at end of profile/.test(m.text));
    const tef = importLines.length === 1 && importLines[0].text === 'Importing as Trace Event Format profile';
    const shown = loaded && !state.failed && state.title === 'trace.json - speedscope' && state.canvases > 0;
    const reasons = [];
    if (!tef) reasons.push(`import: ${JSON.stringify(importLines.map((m) => m.text))}, expected exactly "Importing as Trace Event Format profile"`);
    if (!shown) reasons.push(`profile not shown (title ${JSON.stringify(state.title)}, ${state.canvases} canvas(es), text ${JSON.stringify(state.text.slice(0, 120))})`);
    if (pageErrors.length) reasons.push(`page errors: ${JSON.stringify(pageErrors)}`);
    if (dialogs.length) reasons.push(`dialogs: ${JSON.stringify(dialogs)}`);
    if (!profileFound) reasons.push(`no profile named ${JSON.stringify(args.expectProfile)} among ${JSON.stringify([...new Set(profilesSeen)].slice(0, 8))}`);
    if (blocked.length) reasons.push(`requests outside 127.0.0.1:${port} (blocked): ${JSON.stringify(blocked)}`);
    if (args.expectNestingWarning) {
      if (nesting.length === 0) reasons.push('the broken trace gave no "Tried to end ..." warning: the check cannot see non-nesting spans');
      const others = problems.filter((m) => !nesting.includes(m));
      if (others.length) reasons.push(`other console warnings/errors: ${JSON.stringify(others)}`);
    } else if (problems.length) {
      reasons.push(`console warnings/errors: ${JSON.stringify(problems.slice(0, 10))}${problems.length > 10 ? ` (+${problems.length - 10} more)` : ''}`);
    }
    verdict = {
      pass: reasons.length === 0,
      mode: args.expectNestingWarning ? 'self-test (broken trace must be flagged)' : 'trace',
      speedscope: speedscopeVersion,
      chromium: browser.version(),
      import: importLines.map((m) => m.text),
      title: state.title,
      profile: args.expectProfile ? {name: args.expectProfile, found: profileFound} : undefined,
      toolbar: state.text.split('\n').filter(Boolean).slice(0, 3),
      nesting_warnings: nesting.length,
      nesting_examples: nesting.slice(0, 2).map((m) => m.text),
      console: consoleMessages.length,
      ignored_gpu_notes: gpuNotes.length,
      blocked_requests: blocked.length,
      screenshot: path.resolve(args.screenshot),
      seconds: (Date.now() - t0) / 1000,
      reasons,
    };
  } finally {
    await browser.close().catch(() => {});
    server.close();
  }
  console.log(JSON.stringify(verdict, null, 1));
  console.log(verdict.pass ? 'speedscope: PASS' : `speedscope: FAIL: ${verdict.reasons.join('; ')}`);
  return verdict.pass ? 0 : 1;
}

main().then((rc) => process.exit(rc), (e) => {
  console.log(`speedscope: FAIL: ${e && e.message ? e.message : e}`);
  process.exit(1);
});
