// Headless Chromium for the page checks (dashboard_check.cjs,
// speedscope_check.cjs), launched through playwright-core with every
// background service off, and nothing but loopback reachable even if a
// request slipped past a check's own request filter.
'use strict';

const path = require('path');

const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
  '--disable-default-apps', '--disable-domain-reliability', '--no-pings',
  '--disable-client-side-phishing-detection', '--disable-breakpad',
  '--disable-features=OptimizationHints,MediaRouter,Translate,AutofillServerCommunication',
  // No name resolution, a dead proxy for the rest.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
  '--proxy-server=http://127.0.0.1:9',
];

// playwright-core's chromium, from the node_modules folder `nodeModules`.
function loadChromium(nodeModules) {
  return require(path.join(path.resolve(nodeModules), 'playwright-core')).chromium;
}

// Launches `chromium` (from loadChromium) with the browser at
// `executablePath`, the flags above, then `extraArgs`: a Browser.
function launchChromium(chromium, executablePath, extraArgs = []) {
  return chromium.launch({
    executablePath,
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
  });
}

module.exports = {loadChromium, launchChromium};
