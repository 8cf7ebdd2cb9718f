// comfyvn_perf — the dashboard page served at GET /api/perf/ui.
// Generated from ui/ by tools/gen_ui_header.py; edit the sources there and run
// `python3 tools/gen_ui_header.py` (the unit test `ui_header` fails while this file is stale).
// 108489 bytes of HTML, CSS and JavaScript in 7 raw literals of at most 16000 bytes
// (MSVC caps a single literal at 16,380 bytes); adjacent literals concatenate.
// Only the implementation section holds them: one file per program parses them.
#pragma once

#include <string_view>  // kDashboardHtml, the CSP hashes

namespace comfyvn::perf::http {

// The page, one self-contained HTML document. Defined in the implementation
// section (config.hpp, COMFYVN_PERF_IMPLEMENTATION).
extern const std::string_view kDashboardHtml;

// Content-Security-Policy source expressions for the page's one inline
// <script> and one inline <style>: "sha256-" and the base64 SHA-256 of the
// exact text between the tags, as served. With them a server sends
// script-src '<kDashboardScriptHash>' and style-src '<kDashboardStyleHash>'
// instead of 'unsafe-inline': the page has no inline event handler and no
// style attribute, the generator refuses them.
inline constexpr std::string_view kDashboardScriptHash = "sha256-yj8s7HZq3m8TmEswIBT4snIhknAkg2oS5jN2wzu2trU=";
inline constexpr std::string_view kDashboardStyleHash = "sha256-hu3TGp/u1+KRiFfKE5LbJIYtokzV7ogGXmVLG+VLKbc=";

}  // namespace comfyvn::perf::http

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
namespace comfyvn::perf::http {

namespace detail {
// Longer than the 65,536 characters the standard asks every compiler to
// accept in one literal; GCC, Clang and MSVC (since VS 2022 17.0) take it.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Woverlength-strings"
#elif defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverlength-strings"
#endif
constexpr char kDashboardHtmlBytes[] =
    R"comfyvn_ui(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>comfyvn_perf dashboard</title>
<link rel="icon" href="data:,">
<style>
/* comfyvn_perf dashboard: dark, dense, readable. No web fonts: system stacks only. */
:root {
  --bg: #0f1216; --panel: #171b21; --panel2: #1d222a; --line: #2a313b; --text: #d8dee6;
  --muted: #8591a0; --accent: #5aa9ff; --p95: #ffb347; --bad: #ff6b6b; --ok: #54d38a;
  --warn: #f5c451; --mark: #c792ea; --gpu: #3fc98a;
  --mono: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace;
  --sans: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif;
}
* { box-sizing: border-box; }
html, body { margin: 0; background: var(--bg); color: var(--text); font: 13px/1.4 var(--sans); }
code { font-family: var(--mono); font-size: 12px; color: #b9c7d8; }
h2 { font-size: 14px; margin: 0; letter-spacing: .02em; }
h3 { font-size: 12px; margin: 12px 0 6px; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: .06em; }
h3 .muted { text-transform: none; letter-spacing: 0; font-weight: 400; margin-left: 6px; }
.muted { color: var(--muted); }
[hidden] { display: none !important; }

/* header */
.top { position: sticky; top: 0; z-index: 5; display: flex; align-items: center; gap: 14px; padding: 8px 14px;
  background: #11151bf2; border-bottom: 1px solid var(--line); flex-wrap: wrap; }
.brand { font-weight: 700; font-size: 15px; display: flex; align-items: center; gap: 8px; }
.logo { width: 14px; height: 14px; border-radius: 3px; background: linear-gradient(135deg, var(--accent), var(--p95)); }
.pills { display: flex; gap: 6px; flex-wrap: wrap; flex: 1; }
.pill { border: 1px solid var(--line); background: var(--panel); border-radius: 999px; padding: 2px 10px; color: var(--muted); }
.pill b { color: var(--text); font-variant-numeric: tabular-nums; margin-left: 3px; }
.pill.on { border-color: #2f6b4a; } .pill.on b { color: var(--ok); }
.pill.off { border-color: #6b2f2f; } .pill.off b { color: var(--bad); }
.pill.alert b { color: var(--warn); }
.ctl { display: flex; gap: 8px; align-items: center; }
.conn { display: inline-flex; align-items: center; gap: 6px; color: var(--muted); min-width: 120px; }
.conn i { width: 8px; height: 8px; border-radius: 50%; background: var(--muted); }
.conn.ok i { background: var(--ok); } .conn.bad i { background: var(--bad); } .conn.idle i { background: var(--warn); }

.btn { font: inherit; color: var(--text); background: #24508a; border: 1px solid #2f64a8; border-radius: 6px;
  padding: 4px 12px; cursor: pointer; }
.btn:hover { background: #2c5fa3; }
.btn:disabled { opacity: .45; cursor: default; }
.btn.ghost { background: var(--panel2); border-color: var(--line); }
.btn.ghost:hover { background: #262d37; }
.btn.small { padding: 1px 8px; font-size: 12px; }
.btn[aria-pressed="true"] { background: #7a5a12; border-color: #a17819; }

.banner { margin: 10px 14px 0; padding: 10px 14px; border: 1px solid #3a4656; background: #18212c; border-radius: 8px; }
.banner.warn { border-color: #6b3a2f; background: #2a1a17; }
.token { margin: 10px 14px 0; padding: 10px 14px; border: 1px solid #6b5a2f; background: #241f14; border-radius: 8px;
  display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
input, select { font: inherit; color: var(--text); background: #0c0f13; border: 1px solid var(--line); border-radius: 5px; padding: 3px 6px; }
input:focus, select:focus { outline: 1px solid var(--accent); border-color: var(--accent); }

/* layout */
main { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 12px; padding: 12px 14px; }
main.disabled .panel { opacity: .35; pointer-events: none; filter: grayscale(.6); }
/* a panel whose subsystem is off (or whose route answered "disabled"): its note, the rest dimmed */
.panel.off > :not(.ph):not(.off-note) { opacity: .35; pointer-events: none; filter: grayscale(.6); }
.off-note { margin: 0 0 8px; padding: 6px 10px; border: 1px solid #3a4656; background: #18212c; border-radius: 6px; color: var(--muted); }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px; min-width: 0;
  contain: layout paint; /* a refresh inside one panel lays out and paints that panel only */ }
.panel.wide { grid-column: 1 / -1; }
.ph { display: flex; align-items: center; justify-content: space-between; gap: 12px; margin-bottom: 8px; flex-wrap: wrap; }
.tools { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.tools label { color: var(--muted); }
.legend { display: flex; gap: 16px; flex-wrap: wrap; color: var(--muted); font-size: 12px; margin-top: 6px; }
.sw { display: inline-block; width: 14px; height: 3px; margin-right: 6px; vertical-align: middle; border-radius: 2px; }
.s-avg { background: var(--accent); } .s-p95 { background: var(--p95); } .s-gpu { background: var(--gpu); }
.s-bud { background: repeating-linear-gradient(90deg, var(--bad) 0 4px, transparent 4px 7px); }
.s-mark { background: var(--mark); width: 3px; height: 10px; }
.empty { color: var(--muted); padding: 14px; text-align: center; }
.foot { color: var(--muted); font-size: 12px; padding: 0 14px 14px; }

/* numbers */
.kpis, .counts { display: flex; gap: 18px; flex-wrap: wrap; align-items: flex-end; }
.counts { margin-bottom: 8px; }
.kpi { display: flex; flex-direction: column; }
.kpi > span { color: var(--muted); font-size: 11px; text-transform: uppercase; letter-spacing: .06em; }
.kpi b { font-size: 17px; font-variant-numeric: tabular-nums; font-family: var(--mono); font-weight: 600; }
.kpi.big b { font-size: 24px; color: var(--p95); }
.kpi.gpu b { color: var(--gpu); }
.kpi small { font-size: 12px; color: var(--muted); }

/* charts */
.chart-wrap { position: relative; }
canvas { display: block; width: 100%; }
#frame-chart { height: 190px; }
.marks { display: flex; gap: 6px; flex-wrap: wrap; margin-top: 6px; font-size: 12px; }
.marks .mk { border-left: 3px solid var(--mark); padding: 0 6px; background: var(--panel2); border-radius: 3px; color: var(--muted); }
.marks .mk b { color: var(--text); font-weight: 500; }

/* tables */
.split { display: grid; grid-template-columns: minmax(0, 1fr) 210px; gap: 14px; align-items: start; }
.tbl-wrap { overflow: auto; max-height: 430px; }
.tbl-wrap.short { max-height: 240px; }
.tbl { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
.tbl th, .tbl td { padding: 3px 8px; border-bottom: 1px solid #232932; text-align: right; white-space: nowrap; }
.tbl th { position: sticky; top: 0; background: var(--panel); color: var(--muted); font-weight: 600; font-size: 12px; user-select: none; }
.tbl th[data-k] { cursor: pointer; }
.tbl th[data-k]:hover { color: var(--text); }
.tbl th.sorted { color: var(--accent); }
.tbl th.sorted::after { content: " \25BE"; }
.tbl th.sorted.asc::after { content: " \25B4"; }
.tbl .l { text-align: left; }
#budgets td { white-space: normal; }
#budgets td.name { white-space: nowrap; max-width: 160px; }
.tbl td.name { font-family: var(--mono); font-size: 12px; max-width: 320px; overflow: hidden; text-overflow: ellipsis; }
.tbl tbody tr:hover { background: #1f252e; }
.tbl.click tbody tr { cursor: pointer; }
.tbl tr.sel { background: #22324a; }
.tbl td .barcell { display: inline-block; height: 6px; background: var(--accent); opacity: .55; border-radius: 2px; margin-right: 6px; vertical-align: middle; }
.approx { color: var(--warn); margin-right: 3px; cursor: help; }
.dot { display: inline-block; width: 8px; height: 8px; border-radius: 2px; margin-right: 6px; vertical-align: middle; }
.badge { display: inline-block; padding: 0 7px; border-radius: 999px; font-size: 11px; border: 1px solid var(--line); }
.badge.ok { color: var(--ok); border-color: #2f6b4a; }
.badge.over { color: var(--bad); border-color: #6b2f2f; background: #2a1515; }
.badge.no_data { color: var(--muted); }
.badge.delayed { color: var(--warn); border-color: #6b5a2f; }
.badge.running { color: var(--accent); border-color: #2f4f6b; }
.badge.queued { color: var(--text); }
.badge.complete { color: var(--ok); } .badge.error, .badge.canceled { color: var(--bad); }

/* categories */
.cats { display: flex; flex-direction: column; align-items: center; gap: 8px; }
#cat-pie path { cursor: pointer; stroke: var(--panel); stroke-width: 1; }
#cat-pie path.dim { opacity: .3; }
.cat-legend { list-style: none; margin: 0; padding: 0; width: 100%; font-size: 12px; }
.cat-legend li { display: flex; justify-content: space-between; gap: 8px; padding: 2px 4px; cursor: pointer; border-radius: 4px; }
.cat-legend li:hover, .cat-legend li.sel { background: var(--panel2); }
.cat-legend li b { font-weight: 500; font-variant-numeric: tabular-nums; color: var(--muted); }

/* flame graph of the call tree */
.crumbs { font-size: 12px; color: var(--muted); margin-bottom: 4px; min-height: 16px; }
.crumbs a { color: var(--accent); cursor: pointer; text-decoration: none; }
.flame { position: relative; min-height: 80px; overflow: hidden; border: 1px solid #232932; border-radius: 6px; background: #12161b; }
.fn { position: absolute; height: 19px; border-radius: 2px; overflow: hidden; white-space: nowrap; text-overflow: ellipsis;
  font: 11px/19px var(--mono); color: #10141a; padding: 0 4px; cursor: pointer;
  box-shadow: inset -1px 0 0 #12161b, inset 0 -1px 0 #12161b; }
.fn:hover { filter: brightness(1.18); }
.fn.tiny { padding: 0; color: transparent; }
.fself { position: absolute; height: 19px; pointer-events: none;
  background: repeating-linear-gradient(135deg, #ffffff22 0 3px, transparent 3px 6px); }

/* trace */
.trace-info { color: var(--muted); font-size: 12px; margin-bottom: 6px; min-height: 17px; }
.trace-wrap { position: relative; max-height: 560px; overflow-y: auto; overflow-x: hidden; border: 1px solid #232932; border-radius: 6px; background: #12161b; }
#trace-view { cursor: grab; }
#trace-view.dragging { cursor: grabbing; }

/* budgets */
.limits { display: grid; grid-template-columns: 1fr 1fr; gap: 6px 12px; }
.limits label { display: flex; flex-direction: column; gap: 2px; color: var(--muted); font-size: 12px; font-family: var(--mono); }
.limits input { width: 100%; }
.limits input.dirty { border-color: var(--p95); }
.form-row { grid-column: 1 / -1; display: flex; gap: 10px; align-items: center; margin-top: 4px; }
.msg { font-size: 12px; color: var(--muted); }
.msg.err { color: var(--bad); } .msg.ok { color: var(--ok); }
.inline-form { display: flex; gap: 6px; flex-wrap: wrap; margin-top: 8px; align-items: center; }
.inline-form input { width: 110px; }
.inline-form input[name="name"] { width: 180px; }
.meters { display: flex; flex-direction: column; gap: 8px; }
.meter { display: grid; grid-template-columns: 56px minmax(0, 1fr) 150px; gap: 8px; align-items: center; font-size: 12px; }
.meter .v { text-align: right; font-variant-numeric: tabular-nums; font-family: var(--mono); }
.bar { position: relative; height: 10px; background: #0c0f13; border: 1px solid var(--line); border-radius: 5px; overflow: hidden; margin-bottom: 8px; }
.meter .bar { margin: 0; }
.bar i { position: absolute; left: 0; top: 0; bottom: 0; background: var(--accent); border-radius: 5px; width: 0; }
.bar i.hot { background: var(--bad); } .bar i.warm { background: var(--warn); }
.bar u { position: absolute; top: -2px; bottom: -2px; width: 2px; background: var(--bad); }
.jobs h3:first-child { margin-top: 4px; }
.job { display: grid; grid-template-columns: 110px 70px minmax(0, 1fr); gap: 8px; padding: 3px 0; border-bottom: 1px solid #232932; font-size: 12px; }
.job .id { font-family: var(--mono); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.job .why { color: var(--muted); }
.job .why b { color: var(--warn); font-weight: 500; }
.blk { display: inline-block; margin: 1px 6px 1px 0; padding: 0 6px; border-radius: 4px; background: #2a2415; color: #e8cf8e; font-family: var(--mono); font-size: 11px; }

/* counters */
.counters { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 8px; }
.ctr { background: var(--panel2); border: 1px solid var(--line); border-radius: 8px; padding: 6px 8px; }
.ctr .n { font-family: var(--mono); font-size: 12px; color: var(--muted); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.ctr .v { font-family: var(--mono); font-size: 18px; font-weight: 600; }
.ctr .s { font-size: 11px; color: var(--muted); font-variant-numeric: tabular-nums; }
.ctr canvas { height: 34px; margin-top: 4px; }

/* tooltip */
.tip { position: fixed; z-index: 20; pointer-events: none; background: #0b0e12f5; border: 1px solid #3a4656; border-radius: 6px;
  padding: 6px 9px; font-size: 12px; max-width: 420px; box-shadow: 0 4px 18px #0008; }
.tip b { font-family: var(--mono); }
.tip table { border-collapse: collapse; margin-top: 3px; }
.tip td { padding: 0 8px 0 0; font-variant-numeric: tabular-nums; }
.tip td:first-child { color: var(--muted); }

@media (max-width: 900px) {
  main { grid-template-columns: 1fr; }
  .split { grid-template-columns: 1fr; }
}
</style>
</head>
<body>
<!-- comfyvn_perf dashboard: served by the HTTP adapter at GET /api/perf/ui.
     Sources in ui/; tools/gen_ui_header.py inlines them into
     include/comfyvn_perf/http/ui_page.hpp. Talks to its own origin only. -->
<header class="top">
  <div class="brand"><span class="logo" aria-hidden="true"></span>comfyvn_perf</div>
  <div class="pills">
    <span class="pill" id="pill-flag">perf <b data-testid="feature-flag" id="flag">off</b></span>
    <span class="pill" id="pill-prof">profiler <b id="prof-on">off</b></span>
    <span class="pill" id="pill-bud">budgets <b id="bud-on">off</b></span>
    <span class="pill stat" title="spans overwritten before collection, or recorded without a buffer">dropped <b id="st-dropped">0</b></span>
    <span class="pill stat" title="hook events dropped (subscribers too slow)">hook drops <b id="st-hookdrops">0</b></span>
    <span class="pill stat" title="recording threads: live / exited">threads <b id="st-threads">0</b></span>
    <span class="pill stat" title="spans recorded since the last reset">spans <b id="st-spans">0</b></span>
  </div>
  <div class="ctl">
    <span class="conn" id="conn" title="connection"><i></i><span id="conn-text">connecting</span></span>
    <button type="button" id="pause" class="btn" aria-pressed="false">Pause</button>
    <button type="button" id="token-btn" class="btn ghost" hidden>Token</button>
  </div>
</header>

<div class="banner" id="disabled" hidden>
  <b>Perf is disabled.</b> <span id="disabled-text">The profiler and the budget manager are off
  (features.enable_perf and the legacy keys): only <code>/api/perf/health</code> is polled.</span> Turn it on in the config file
  (<code>"features": {"enable_perf": true}</code>), with <code>COMFYVN_ENABLE_PERF=1</code>, or run the
  demo with <code>--enable-perf</code>; this page notices within seconds.
</div>
<div class="banner warn" id="error" hidden></div>

<form class="token" id="token-form" hidden autocomplete="off">
  <label for="token-input">This adapter needs a bearer token.</label>
  <input id="token-input" name="token" type="password" placeholder="token" spellcheck="false" autocomplete="off">
  <button type="submit" class="btn">Use token</button>
  <span class="muted" id="token-note">Kept for this tab only (sessionStorage).</span>
</form>

<main id="main">
  <section class="panel wide" id="p-frames">
    <div class="ph">
      <h2>Frame time</h2>
      <div class="kpis">
        <div class="kpi big"><span>p95 since start</span><b><span data-testid="frame-p95-ms" id="frame-p95">0</span><small> ms</small></b></div>
        <div class="kpi"><span>p95 (window)</span><b id="frame-p95-window" title="the (frame) span budget's p95 over its latest window">&ndash;</b></div>
        <div class="kpi"><span>avg (1 s)</span><b id="frame-avg">&ndash;</b></div>
)comfyvn_ui"
    R"comfyvn_ui(        <div class="kpi"><span>avg</span><b id="frame-avg-all">&ndash;</b></div>
        <div class="kpi"><span>max</span><b id="frame-max">&ndash;</b></div>
        <div class="kpi"><span>fps</span><b id="frame-fps">&ndash;</b></div>
        <div class="kpi"><span>frames</span><b id="frame-count">0</b></div>
        <div class="kpi gpu"><span>GPU avg</span><b title="the average GPU frame (PERF_GPU_FRAME) since start, every GPU context"><span data-testid="gpu-frame-avg-ms" id="gpu-frame-avg">&ndash;</span><small hidden id="gpu-frame-avg-unit"> ms</small></b></div>
      </div>
    </div>
    <div class="chart-wrap"><canvas id="frame-chart" height="190"></canvas></div>
    <div class="legend">
      <span><i class="sw s-avg"></i>avg per second</span>
      <span hidden id="gpu-legend"><i class="sw s-gpu"></i>GPU frame</span>
      <span><i class="sw s-p95"></i><span id="p95-label">p95</span></span>
      <span><i class="sw s-bud"></i><span id="budget-label">no (frame) budget</span></span>
      <span><i class="sw s-mark"></i>marks</span>
      <span class="muted">last 2 minutes</span>
    </div>
    <div class="marks" id="marks"></div>
  </section>

  <section class="panel wide" id="p-top">
    <div class="ph">
      <h2>Top offenders</h2>
      <div class="tools">
        <label>category <select id="cat-filter"><option value="">all</option></select></label>
        <label>rows <select id="top-rows"><option>10</option><option selected>20</option><option>50</option><option>200</option></select></label>
      </div>
    </div>
    <div class="split">
      <div class="tbl-wrap">
        <table class="tbl" data-testid="top-time" id="top-time">
          <thead><tr>
            <th data-k="name" class="l">span</th><th data-k="category" class="l">category</th>
            <th data-k="count">count</th><th data-k="total_ms">total ms</th><th data-k="self_ms">self ms</th>
            <th data-k="avg_ms">avg ms</th><th data-k="p95_ms">p95 ms</th><th data-k="max_ms">max ms</th>
            <th data-k="total_kb">memory KB</th>
          </tr></thead>
          <tbody></tbody>
        </table>
      </div>
      <div class="cats">
        <svg id="cat-pie" viewBox="-60 -60 120 120" width="150" height="150" role="img" aria-label="time by category"></svg>
        <ul class="cat-legend" id="cat-legend"></ul>
      </div>
    </div>
  </section>

  <section class="panel wide" id="p-tree">
    <div class="ph">
      <h2>Call tree</h2>
      <div class="tools">
        <span class="muted" id="tree-info"></span>
        <button type="button" class="btn ghost" id="tree-reset" hidden>Whole tree</button>
      </div>
    </div>
    <div class="crumbs" id="tree-crumbs"></div>
    <div class="flame" data-testid="call-tree" id="call-tree"><div class="empty">no spans yet</div></div>
    <div class="legend"><span class="muted">Width: total time. The part of a node not covered by its children is its self time (hatched). Click a node to zoom.</span></div>
  </section>

  <section class="panel wide" id="p-trace">
    <div class="ph">
      <h2>Trace</h2>
      <div class="tools">
        <button type="button" class="btn" data-testid="trace-button" id="trace-button">Capture 1 s</button>
        <button type="button" class="btn ghost" id="trace-zoom-out" title="zoom out">&minus;</button>
        <button type="button" class="btn ghost" id="trace-zoom-in" title="zoom in">+</button>
        <button type="button" class="btn ghost" id="trace-reset">Fit</button>
        <button type="button" class="btn ghost" id="trace-download" disabled>Download trace</button>
        <button type="button" class="btn ghost" id="snapshot-download">Download snapshot</button>
      </div>
    </div>
    <div class="trace-info" id="trace-info">Capture one second of spans, or open a spike below. Wheel: zoom; drag: pan; double-click: fit.</div>
    <div class="trace-wrap" id="trace-wrap"><canvas data-testid="trace-view" id="trace-view" height="60"></canvas></div>
    <h3>Spikes <span class="muted" id="spikes-note">frames over the (frame) budget's max_ms keep every thread's spans</span></h3>
    <div class="tbl-wrap short">
      <table class="tbl click" data-testid="spikes" id="spikes">
        <thead><tr><th class="l">#</th><th class="l">when</th><th>frame ms</th><th>budget ms</th><th>spans</th><th class="l"></th></tr></thead>
        <tbody></tbody>
      </table>
    </div>
  </section>

  <section class="panel" id="p-limits">
    <div class="ph"><h2>Budgets</h2><span class="muted" id="eval-info"></span></div>
    <form data-testid="limits-form" id="limits-form" class="limits" novalidate autocomplete="off">
      <label><span>max_cpu_percent</span><input name="max_cpu_percent" type="number" step="any" min="0" max="100"></label>
      <label><span>max_mem_mb</span><input name="max_mem_mb" type="number" step="1" min="0"></label>
      <label><span>max_vram_mb</span><input name="max_vram_mb" type="number" step="1" min="0"></label>
      <label><span>max_running_jobs</span><input name="max_running_jobs" type="number" step="1" min="0"></label>
      <label><span>lazy_asset_target_mb</span><input name="lazy_asset_target_mb" type="number" step="1" min="0"></label>
      <label><span>max_queue_depth</span><input name="max_queue_depth" type="number" step="1" min="1" max="100000"></label>
      <label><span>evaluation_interval</span><input name="evaluation_interval" type="number" step="any" min="0.1" max="3600"></label>
      <div class="form-row"><button type="submit" class="btn">Apply limits</button><span class="msg" id="limits-msg"></span></div>
    </form>
    <h3>Host</h3>
    <div class="meters" id="host"><div id="host-meters" class="meters"></div>
      <div class="muted" id="host-proc"></div><div class="muted" id="host-gpus"></div>
      <canvas id="cpu-spark" height="34"></canvas></div>
  </section>

  <section class="panel" id="p-jobs">
    <div class="ph"><h2>Jobs</h2></div>
    <div class="counts">
      <div class="kpi"><span>queued</span><b data-testid="jobs-queued" id="jobs-queued">0</b></div>
      <div class="kpi"><span>delayed</span><b id="jobs-delayed">0</b></div>
      <div class="kpi"><span>running</span><b data-testid="jobs-running" id="jobs-running">0</b></div>
      <div class="kpi"><span>seen</span><b id="jobs-seen">0</b></div>
    </div>
    <div id="jobs"></div>
  </section>

  <section class="panel" id="p-assets">
    <div class="ph"><h2>Lazy assets</h2></div>
    <div class="counts">
      <div class="kpi big"><span>loaded MB</span><b data-testid="assets-loaded-mb" id="assets-loaded-mb">0</b></div>
      <div class="kpi"><span>target MB</span><b id="assets-target">&ndash;</b></div>
      <div class="kpi"><span>loaded</span><b id="assets-loaded">0</b></div>
      <div class="kpi"><span>evictions</span><b id="assets-evictions">0</b></div>
    </div>
    <div class="bar" id="assets-bar"><i></i></div>
    <div class="tbl-wrap short">
      <table class="tbl" id="assets">
        <thead><tr><th class="l">LRU</th><th class="l">asset</th><th>MB</th><th>pins</th><th>last used</th></tr></thead>
        <tbody></tbody>
      </table>
    </div>
  </section>

  <section class="panel" id="p-spanbud">
    <div class="ph"><h2>Span budgets</h2></div>
    <div class="tbl-wrap">
      <table class="tbl" data-testid="budgets" id="budgets">
        <thead><tr><th class="l">site</th><th class="l">budget</th><th class="l">seen (window)</th><th>over</th><th class="l">state</th><th></th></tr></thead>
        <tbody></tbody>
      </table>
    </div>
    <form id="budget-form" class="inline-form" novalidate autocomplete="off">
      <input name="name" placeholder="name, e.g. draw or (frame)" spellcheck="false">
      <input name="category" placeholder="category" spellcheck="false">
      <input name="p95_ms" type="number" step="any" min="0" placeholder="p95 ms">
      <input name="max_ms" type="number" step="any" min="0" placeholder="max ms">
      <button type="submit" class="btn">Set</button>
      <span class="msg" id="budget-msg"></span>
    </form>
  </section>

  <section class="panel" id="p-counters">
    <div class="ph"><h2>Counters</h2></div>
    <div class="counters" data-testid="counters" id="counters"><div class="empty">no PERF_COUNTER series</div></div>
  </section>
</main>

<footer class="foot"><span id="foot-info">polling this adapter about once a second</span></footer>
<div class="tip" id="tip" hidden></div>
<!-- The script: ui/js/*.js, joined by tools/gen_ui_header.py in its JS_FILES order. -->
<script>
'use strict';
(function () {
// ---- ui/js/core.js
// comfyvn_perf dashboard. Plain JavaScript, no framework, no external URL:
// every request goes to this page's own origin (relative /api/perf/... URLs).
//
// The script is the files of ui/js/ joined by tools/gen_ui_header.py, in the
// order of its JS_FILES, inside one strict-mode function: the files share one
// scope (a name declared at the top level of one is seen by all), and no two may
// declare the same name. This one comes first: constants, the page state and
// the helpers every panel uses.

const API = '/api/perf';
const HISTORY_S = 120;
const TOKEN_KEY = 'comfyvn_perf_token';
const $ = (id) => document.getElementById(id);

function storageGet(k) {
  try { return window.sessionStorage.getItem(k) || ''; } catch (e) { return ''; }
}
function storageSet(k, v) {
  try { window.sessionStorage.setItem(k, v); } catch (e) { /* private mode: keep it in memory */ }
}

const S = {
  token: storageGet(TOKEN_KEY),
  paused: false,
  needToken: false, authOk: false,
  flag: null, prof: false, bud: false,
  routeOff: {prof: '', bud: ''},  // the detail of a data route's 403 "disabled", per subsystem
  health: null, dash: null, budgets: null, spanBudgets: [], spikes: [], tree: null,
  hist: [],                 // frame samples: {t, avg, p95 (since start), wp95 (window), count, gavg (GPU)}
  cpuHist: [],              // {t, v}
  ctrHist: new Map(),       // counter name -> [{t, v}]
  marks: [],                // {t, name, category}
  serverNow: 0,
  tick: 0, timer: 0, failures: 0, offRounds: 0, lastOk: 0,
  sortKey: 'total_ms', sortAsc: false, catFilter: '', rows: 20,
  treeFocus: [], treeSig: '', flameNodes: [],
  limitsDirty: new Set(),
  spikeSig: '', selectedSpike: null,
};

class AuthError extends Error {}

// ---------------------------------------------------------------- helpers
const esc = (s) => String(s == null ? '' : s).replace(/[&<>"']/g,
    (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]));
const isNum = (v) => typeof v === 'number' && isFinite(v);
// Number formats are costly to build: one per number of decimals, reused.
const NF = [];
const nf = (d) => NF[d] || (NF[d] = new Intl.NumberFormat('en-US', {minimumFractionDigits: d, maximumFractionDigits: d}));
function fmt(v, d) {
  if (!isNum(v)) return '\u2013';
  const a = Math.abs(v);
  if (d === undefined) d = a >= 1000 ? 0 : a >= 100 ? 1 : a >= 1 ? 2 : 3;
  return nf(d).format(v);
}
const fint = (v) => (isNum(v) ? nf(0).format(Math.round(v)) : '\u2013');
function ago(t) {
  if (!isNum(t) || !S.serverNow) return '\u2013';
  const s = Math.max(0, S.serverNow - t);
  if (s < 1) return 'now';
  if (s < 90) return s.toFixed(0) + ' s ago';
  if (s < 5400) return (s / 60).toFixed(0) + ' min ago';
  return (s / 3600).toFixed(1) + ' h ago';
}
function hashStr(s) {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619); }
  return h >>> 0;
}
// One colour per name, the same in the table, the call tree and the trace.
const PALETTE = [];
for (let i = 0; i < 24; i++) {
  const hue = (i * 137.508) % 360;
  PALETTE.push(`hsl(${hue.toFixed(0)}, 62%, ${i % 2 ? 62 : 70}%)`);
}
const colorIndex = (name) => hashStr(String(name)) % PALETTE.length;
// GPU spans (category "gpu"): saturated greens, darker than every PALETTE
// entry, so a GPU track reads apart from the CPU threads at a glance.
const GPU_PALETTE = ['#2bb673', '#1f9e8f', '#3fc98a', '#23a35c'];
const GPU_COLOR = '#3fc98a';  // the frame chart's GPU series
const colorOf = (name) => PALETTE[colorIndex(name)];
const CAT_COLORS = ['#5aa9ff', '#ffb347', '#54d38a', '#c792ea', '#ff6b6b', '#4fd1c5', '#f5c451', '#7aa2ff', '#f78fb3', '#9ccc65'];
const catColor = (name) => CAT_COLORS[hashStr(String(name)) % CAT_COLORS.length];

// A canvas sized to its CSS box in device pixels; returns a scaled context.
// Widths come from a ResizeObserver, so drawing never forces a layout in
// the middle of a refresh (the page redraws about once a second).
const canvasWidth = new WeakMap();
let resizeTimer = 0;
const ro = typeof ResizeObserver === 'function' ? new ResizeObserver((entries) => {
  let changed = false;
  for (const e of entries) {
    const w = Math.round(e.contentRect.width);
    if (canvasWidth.get(e.target) !== w) { canvasWidth.set(e.target, w); changed = true; }
  }
  if (changed) {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(redrawCanvases, 50);
  }
}) : null;
function fitCanvas(c, cssH) {
  const dpr = window.devicePixelRatio || 1;
  let w = canvasWidth.get(c);
  if (w === undefined) {
    w = c.clientWidth || c.parentNode.clientWidth || 300;
    canvasWidth.set(c, w);
    if (ro) ro.observe(c);
  }
  w = Math.max(50, w);
  if (cssH !== undefined && c._cssH !== cssH) { c.style.height = cssH + 'px'; c._cssH = cssH; }
  const h = cssH !== undefined ? cssH : (c.clientHeight || 100);
  const W = Math.round(w * dpr), H = Math.round(h * dpr);
  if (c.width !== W) c.width = W;
  if (c.height !== H) c.height = H;
  const ctx = c.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return {ctx, w, h};
}
let fontFamily = '';
const font = (px) => {
  if (!fontFamily) fontFamily = getComputedStyle(document.body).fontFamily || 'sans-serif';
  return px + 'px ' + fontFamily;
};
function niceStep(range, target) {
  const raw = range / Math.max(1, target);
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const m = raw / p;
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}
function save(text, name) {
  const url = URL.createObjectURL(new Blob([text], {type: 'application/json'}));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
const stamp = () => new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);

// Keyed table rows, updated cell by cell: rows (and the buttons in cells
// that do not change) survive a refresh, so clicks and hovers are not lost.
// A row's key is keyOf(item) with its occurrence number: two items with the
// same key (two sites whose cleaned names came out equal) get a row each,
// not one shared row. Every row not made from `items` this time is removed,
// so the table holds exactly one row per item.
function syncRows(tbody, items, keyOf, cellsOf, decorate) {
  const old = new Map();
  for (const tr of Array.from(tbody.rows)) {
    if (tr.dataset.key === undefined || old.has(tr.dataset.key)) tr.remove();
    else old.set(tr.dataset.key, tr);
  }
  const seen = new Map();
  let prev = null;
  for (const it of items) {
    const base = keyOf(it);
    const n = seen.get(base) || 0;
    seen.set(base, n + 1);
    const k = JSON.stringify([base, n]);
    let tr = old.get(k);
    if (tr) old.delete(k);
    else { tr = document.createElement('tr'); tr.dataset.key = k; }
    const cells = cellsOf(it);
    while (tr.cells.length > cells.length) tr.deleteCell(-1);
    cells.forEach((c, j) => {
      const td = tr.cells[j] || tr.insertCell();
      if (td._h !== c[0]) {
        // Plain text needs no HTML parser.
        if (/[<&]/.test(c[0])) td.innerHTML = c[0]; else td.textContent = c[0];
        td._h = c[0];
      }
      const cls = c[1] || '';
      if (td.className !== cls) td.className = cls;
    });
    if (decorate) decorate(tr, it);
    const want = prev ? prev.nextSibling : tbody.firstChild;
)comfyvn_ui"
    R"comfyvn_ui(    if (want !== tr) tbody.insertBefore(tr, want);
    prev = tr;
  }
  for (const tr of old.values()) tr.remove();
}
// A site is its (name, category) pair (contract, section 8): the key of its rows.
const siteKey = (a) => JSON.stringify([String(a.name), a.category == null ? null : String(a.category)]);
// Inline styles are set through the CSSOM, never as style="" in markup: the
// page's Content-Security-Policy refuses style attributes. `_s` keeps the
// value last set, to skip writes that change nothing.
function setStyle(el, prop, value) {
  if (!el) return;
  const memo = el._s || (el._s = {});
  if (memo[prop] !== value) { el.style[prop] = value; memo[prop] = value; }
}

// Percentiles and self time rest on the spans the collector saw; coverage
// (0..1, absent on older adapters: 1) is their share of all recorded spans.
// Below 99% a figure gets a marker (an "approximately equal" sign) whose
// title gives the share.
const COVERAGE_MIN = 0.99;
function coverageText(cov) {
  if (!isNum(cov) || cov >= COVERAGE_MIN) return '';
  const pct = Math.max(0, cov * 100);
  return 'based on ' + (pct < 1 ? '<1' : String(Math.floor(pct + 1e-9))) + '% of spans';
}
function covMark(cov) {
  const t = coverageText(cov);
  return t ? `<span class="approx" title="${esc(t)}">\u2248</span>` : '';
}

// Tooltip shared by every view.
const tip = $('tip');
function showTip(html, x, y) {
  tip.innerHTML = html;
  tip.hidden = false;
  const r = tip.getBoundingClientRect();
  let left = x + 14, top = y + 14;
  if (left + r.width > window.innerWidth - 6) left = Math.max(6, x - r.width - 14);
  if (top + r.height > window.innerHeight - 6) top = Math.max(6, y - r.height - 14);
  tip.style.left = left + 'px';
  tip.style.top = top + 'px';
}
const hideTip = () => { tip.hidden = true; };
const rowsHtml = (pairs) => '<table>' + pairs.map((p) => `<tr><td>${esc(p[0])}</td><td>${p[1]}</td></tr>`).join('') + '</table>';

// ---- ui/js/api.js
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

// ---- ui/js/charts.js
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
)comfyvn_ui"
    R"comfyvn_ui(  if (b && isNum(b.p95_ms)) parts.push('p95 ' + fmt(b.p95_ms) + ' ms');
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

// ---- ui/js/tables.js
// Tables: top offenders (with the category pie), spikes, jobs and assets,
// span budgets, counters.

// Top offenders -----------------------------------------------------------
function renderTop() {
  const d = S.dash;
  const aggs = (d && Array.isArray(d.aggregates) && d.aggregates.length) ? d.aggregates : (d && d.top_time) || [];
  const cats = new Map();
  for (const a of aggs) cats.set(a.category, true);
  const sel = $('cat-filter');
  const want = [''].concat(Array.from(cats.keys()).sort());
  const have = Array.from(sel.options).map((o) => o.value);
  if (want.join('\u0001') !== have.join('\u0001')) {
    sel.innerHTML = want.map((c) => `<option value="${esc(c)}">${c ? esc(c) : 'all'}</option>`).join('');
  }
  if (S.catFilter && !cats.has(S.catFilter)) S.catFilter = '';
  sel.value = S.catFilter;
  const k = S.sortKey;
  const dir = S.sortAsc ? 1 : -1;
  const rows = aggs.filter((a) => !S.catFilter || a.category === S.catFilter).slice();
  rows.sort((a, b) => {
    const x = a[k], y = b[k];
    if (typeof x === 'string' || typeof y === 'string') return dir * String(x).localeCompare(String(y));
    return dir * ((isNum(x) ? x : -Infinity) - (isNum(y) ? y : -Infinity)) || (b.total_ms - a.total_ms);
  });
  const shown = rows.slice(0, S.rows);
  const maxTotal = Math.max(1e-9, ...shown.map((a) => a.total_ms || 0));
  // Rows keyed by site, (name, category): one row per site shown, at most S.rows.
  syncRows($('top-time').tBodies[0], shown, siteKey, (a) => [
    ['<span class="dot"></span>' + esc(a.name), 'l name'],
    [esc(a.category), 'l'],
    [fint(a.count)],
    ['<span class="barcell"></span>' + fmt(a.total_ms)],
    [covMark(a.coverage) + fmt(a.self_ms)], [fmt(a.avg_ms)], [covMark(a.coverage) + fmt(a.p95_ms)], [fmt(a.max_ms)], [fmt(a.total_kb, 0)],
  ], (tr, a) => {
    if (tr.dataset.name !== a.name) tr.dataset.name = a.name;
    if (tr.dataset.category !== a.category) tr.dataset.category = a.category;
    setStyle(tr.cells[0].firstChild, 'backgroundColor', colorOf(a.name));
    setStyle(tr.cells[3].firstChild, 'width', Math.round(40 * (a.total_ms || 0) / maxTotal) + 'px');
    const cov = coverageText(a.coverage);
    const approx = cov ? '\u2248' : '';
    const title = `${a.name} [${a.category}] min ${fmt(a.min_ms)} ms \u00b7 p50 ${approx}${fmt(a.p50_ms)} \u00b7 p99 ${approx}${fmt(a.p99_ms)} \u00b7 max ${fmt(a.max_kb)} KB` +
        (cov ? ` \u00b7 percentiles and self time ${cov}` : '');
    if (tr.title !== title) tr.title = title;
  });
  for (const th of $('top-time').tHead.rows[0].cells) {
    th.classList.toggle('sorted', th.dataset.k === k);
    th.classList.toggle('asc', th.dataset.k === k && S.sortAsc);
  }
  renderCats(d && d.categories);
}
$('top-time').tHead.addEventListener('click', (e) => {
  const th = e.target.closest('th[data-k]');
  if (!th) return;
  const k = th.dataset.k;
  if (S.sortKey === k) S.sortAsc = !S.sortAsc;
  else { S.sortKey = k; S.sortAsc = k === 'name' || k === 'category'; }
  renderTop();
});
$('cat-filter').addEventListener('change', (e) => { S.catFilter = e.target.value; renderTop(); });
$('top-rows').addEventListener('change', (e) => { S.rows = Number(e.target.value) || 20; renderTop(); });

function renderCats(cats) {
  const list = cats ? Object.keys(cats).map((k) => ({name: k, total: cats[k].total_ms || 0, sites: cats[k].sites, count: cats[k].count})) : [];
  list.sort((a, b) => b.total - a.total);
  const sum = list.reduce((s, c) => s + c.total, 0);
  let svg = '';
  if (sum > 0) {
    let a0 = -Math.PI / 2;
    for (const c of list) {
      const frac = Math.round(c.total / sum * 400) / 400;
      const a1 = a0 + frac * 2 * Math.PI;
      const cls = S.catFilter && S.catFilter !== c.name ? ' class="dim"' : '';
      const title = `<title>${esc(c.name)}: ${(frac * 100).toFixed(1)}%</title>`;
      if (frac > 0.9999) {
        svg += `<path data-cat="${esc(c.name)}"${cls} fill="${catColor(c.name)}" d="M0,-56A56,56 0 1,1 -0.01,-56ZM0,-30A30,30 0 1,0 0.01,-30Z">${title}</path>`;
      } else {
        const large = a1 - a0 > Math.PI ? 1 : 0;
        const p = (r, a) => `${(r * Math.cos(a)).toFixed(2)},${(r * Math.sin(a)).toFixed(2)}`;
)comfyvn_ui"
    R"comfyvn_ui(        svg += `<path data-cat="${esc(c.name)}"${cls} fill="${catColor(c.name)}" d="M${p(56, a0)}A56,56 0 ${large},1 ${p(56, a1)}L${p(30, a1)}A30,30 0 ${large},0 ${p(30, a0)}Z">${title}</path>`;
      }
      a0 = a1;
    }
    svg += `<text x="0" y="4" text-anchor="middle" fill="#d8dee6" font-size="11">${esc(S.catFilter || 'all')}</text>`;
  } else {
    svg = '<circle r="43" fill="none" stroke="#2a313b" stroke-width="26"></circle>';
  }
  const pie = $('cat-pie');
  if (pie._h !== svg) { pie.innerHTML = svg; pie._h = svg; }
  // The legend's items are rebuilt when the categories change; their numbers in place.
  const ul = $('cat-legend');
  const key = list.map((c) => c.name).join('\u0001') + '\u0002' + S.catFilter;
  if (ul._h !== key) {
    ul.innerHTML = list.map((c) => `<li data-cat="${esc(c.name)}"${S.catFilter === c.name ? ' class="sel"' : ''}><span><span class="dot"></span>${esc(c.name)}</span><b></b></li>`).join('');
    ul._h = key;
    list.forEach((c, i) => setStyle(ul.children[i].querySelector('.dot'), 'backgroundColor', catColor(c.name)));
  }
  list.forEach((c, i) => {
    const b = ul.children[i] && ul.children[i].lastElementChild;
    const t = `${fmt(c.total)} ms \u00b7 ${(sum ? c.total / sum * 100 : 0).toFixed(0)}%`;
    if (b && b.textContent !== t) b.textContent = t;
  });
}
function catClick(e) {
  const el = e.target.closest('[data-cat]');
  if (!el) return;
  const c = el.getAttribute('data-cat');
  S.catFilter = S.catFilter === c ? '' : c;
  renderTop();
}
$('cat-pie').addEventListener('click', catClick);
$('cat-legend').addEventListener('click', catClick);

// Spikes ------------------------------------------------------------------
function renderSpikes() {
  const list = S.spikes || [];
  const fb = frameBudget();
  // A "(gpu frame)" budget with max_ms keeps slow GPU frames the same way
  // (their rows say GPU).
  const gb = (S.spanBudgets || []).find((x) => x.name === '(gpu frame)' && isNum(x.max_ms));
  $('spikes-note').textContent = fb && isNum(fb.max_ms)
    ? `frames over ${fmt(fb.max_ms)} ms keep every thread's spans (newest first); click one to open its trace`
    : gb ? `GPU frames over ${fmt(gb.max_ms)} ms keep every thread's spans (newest first); click one to open its trace`
    : 'set a (frame) budget with max_ms to keep slow frames here';
  syncRows($('spikes').tBodies[0], list, (s) => String(s.id), (s) => [
    [String(s.id) + (s.site === '(gpu frame)' ? ' <span class="muted">GPU</span>' : ''), 'l'], [ago(s.timestamp), 'l'], [fmt(s.frame_ms)], [fmt(s.budget_ms)], [fint(s.spans)],
    ['<span class="muted">open trace \u203a</span>', 'l'],
  ], (tr, s) => {
    if (tr.dataset.spikeId !== String(s.id)) tr.dataset.spikeId = String(s.id);
    tr.classList.toggle('sel', S.selectedSpike === s.id);
  });
}
$('spikes').tBodies[0].addEventListener('click', (e) => {
  const tr = e.target.closest('tr[data-spike-id]');
  if (!tr) return;
  const id = Number(tr.dataset.spikeId);
  S.selectedSpike = id;
  const s = (S.spikes || []).find((x) => x.id === id);
  renderSpikes();
  loadTrace('/profiler/spikes?id=' + id, `spike #${id}` + (s ? ` (frame ${fmt(s.frame_ms)} ms)` : ''), `comfyvn_spike_${id}.json`);
});

// Budgets: jobs, assets ---------------------------------------------------
function renderJobs() {
  const b = S.budgets;
  const box = $('jobs');
  if (!b) return;
  const jobs = Array.isArray(b.jobs) ? b.jobs : [];
  const waiting = jobs.filter((j) => j.status === 'queued' || j.status === 'delayed');
  const running = jobs.filter((j) => j.status === 'running');
  const done = jobs.filter((j) => j.status !== 'queued' && j.status !== 'delayed' && j.status !== 'running')
      .sort((a, b2) => (b2.last_transition || 0) - (a.last_transition || 0)).slice(0, 8);
  const blk = (x) => {
    const r = x.resource || '?';
    const num = (v) => (isNum(v) ? fmt(v, 1) : '\u2013');
    return `<span class="blk" title="${esc(r)}: in use ${num(x.in_use)} + requested ${num(x.requested)} over the limit ${num(x.limit)}${isNum(x.release_below) ? '; admitted again below ' + num(x.release_below) : ''}">${esc(r)} ${num(x.in_use)} + ${num(x.requested)} &gt; ${num(x.limit)}</span>`;
  };
  const row = (j, why) => `<div class="job"><span class="id" title="${esc(j.id)} (${esc(j.type)})">${esc(j.id)}</span><span><span class="badge ${esc(j.status)}">${esc(j.status)}</span></span><span class="why">${why}</span></div>`;
  let html = '<div class="jobs">';
  html += `<h3>Queue <span class="muted">${waiting.length} waiting, in order</span></h3>`;
  html += waiting.length ? waiting.map((j) => row(j,
    (j.reason ? `<b>${esc(j.reason)}</b> ` : '') + (Array.isArray(j.blockers) ? j.blockers.map(blk).join('') : '') +
    (j.infeasible ? ' <span class="badge over">infeasible</span>' : '') +
    ` <span class="muted">waiting ${ago(j.submitted_at).replace(' ago', '')}</span>`)).join('') : '<div class="muted">empty</div>';
  html += `<h3>Running <span class="muted">${running.length}</span></h3>`;
  html += running.length ? running.map((j) => row(j, `${esc(j.type)} \u00b7 since ${ago(j.last_transition)}` + reqText(j))).join('') : '<div class="muted">none</div>';
  html += `<h3>Finished <span class="muted">newest ${done.length}</span></h3>`;
  html += done.length ? done.map((j) => row(j, `${esc(j.type)} \u00b7 ${ago(j.last_transition)}` + (j.reason ? ' \u00b7 ' + esc(j.reason) : ''))).join('') : '<div class="muted">none yet</div>';
  if (isNum(b.jobs_total) && b.jobs_total > jobs.length) html += `<div class="muted">showing ${jobs.length} of ${fint(b.jobs_total)} jobs</div>`;
  html += '</div>';
  if (box._h !== html) { box.innerHTML = html; box._h = html; }
}
function reqText(j) {
  const r = j.requirements;
  if (!r) return '';
  return ` <span class="muted">\u00b7 cpu ${fmt(r.cpu_percent, 1)}% \u00b7 ram ${fint(r.ram_mb)} MB \u00b7 vram ${fint(r.vram_mb)} MB</span>`;
}

function renderAssets() {
  const b = S.budgets;
  if (!b) return;
  const target = b.limits ? b.limits.lazy_asset_target_mb : null;
  const assets = Array.isArray(b.assets) ? b.assets : [];
  const loadedMb = assets.filter((a) => a.loaded).reduce((s, a) => s + (a.size_mb || 0), 0);
  const hb = S.health && S.health.budgets && S.health.budgets.assets;
  const mb = hb && isNum(hb.loaded_mb) ? hb.loaded_mb : loadedMb;
  $('assets-target').textContent = isNum(target) ? (target > 0 ? fint(target) : 'none') : '\u2013';
  const bar = $('assets-bar').firstElementChild;
  const frac = isNum(target) && target > 0 ? mb / target : 0;
  bar.style.width = Math.min(100, frac * 100).toFixed(1) + '%';
  bar.className = frac > 1 ? 'hot' : frac > 0.9 ? 'warm' : '';
  $('assets-bar').title = `${fmt(mb, 1)} MB loaded of a ${isNum(target) ? fint(target) : '\u2013'} MB target`;
  let rank = 0;
  const shown = assets.slice(0, 60);
  syncRows($('assets').tBodies[0], shown, (a) => a.asset_id, (a) => [
    [a.loaded ? String(++rank) : '\u2013', 'l'],
    [esc(a.asset_id), 'l name'],
    [fmt(a.size_mb, 1)],
    [a.pinned ? `<span class="badge running">${fint(a.pinned)}</span>` : '0'],
    [a.loaded ? ago(a.last_used) : '<span class="muted">unloaded</span>'],
  ], (tr, a) => { tr.style.opacity = a.loaded ? '' : '0.5'; });
}

// Span budgets --------------------------------------------------------------
function renderSpanBudgets() {
  const list = S.spanBudgets || [];
  const tb = $('budgets').tBodies[0];
  syncRows(tb, list, siteKey, (b) => [
    [`${esc(b.name)}${b.category ? ' <span class="muted">' + esc(b.category) + '</span>' : ''}`, 'l name'],
    [[isNum(b.p95_ms) ? 'p95 \u2264 ' + fmt(b.p95_ms) : '', isNum(b.max_ms) ? 'max \u2264 ' + fmt(b.max_ms) : ''].filter(Boolean).join(' \u00b7 ') + ' ms', 'l'],
    [`p95 ${fmt(b.observed_p95_ms)} \u00b7 max ${fmt(b.observed_max_ms)}`, 'l'],
    [fint(b.over_count)],
    [`<span class="badge ${esc(b.state)}" title="${isNum(b.since) ? 'since ' + esc(ago(b.since)) : ''}">${esc(b.state)}</span>`, 'l'],
    ['<button type="button" class="btn ghost small" data-remove="1">remove</button>'],
  ], (tr, b) => {
    if (tr.dataset.name !== b.name) tr.dataset.name = b.name;
    const cat = b.category == null ? '' : String(b.category);
    if (tr.dataset.category !== cat) tr.dataset.category = cat;
    tr.dataset.hasCategory = b.category == null ? '0' : '1';
  });
  if (!list.length && !tb.querySelector('.empty-row')) {
    tb.innerHTML = '<tr class="empty-row" data-key=""><td colspan="6" class="l muted">no span budgets; set one below (the frame site is "(frame)")</td></tr>';
  }
}
$('budgets').tBodies[0].addEventListener('click', async (e) => {
  const btn = e.target.closest('button[data-remove]');
  if (!btn) return;
  const tr = btn.closest('tr');
  const body = {name: tr.dataset.name};
  if (tr.dataset.hasCategory === '1') body.category = tr.dataset.category;
  const msg = $('budget-msg');
  btn.disabled = true;
  try {
    const r = await post('/profiler/budgets/remove', body);
    msg.className = r.status === 200 ? 'msg ok' : 'msg err';
    msg.textContent = r.status === 200 ? (r.body.removed ? 'removed ' + body.name : body.name + ' was not set') : detailOf(r);
    await refreshSpanBudgets();
  } catch (err) {
    msg.className = 'msg err';
    msg.textContent = err instanceof AuthError ? 'needs the token' : String(err && err.message ? err.message : err);
  } finally {
    btn.disabled = false;
  }
});

// Counters --------------------------------------------------------------------
function renderCounters() {
  const d = S.dash;
  const list = (d && Array.isArray(d.counters)) ? d.counters : [];
  const box = $('counters');
  if (!list.length) {
    if (!box.querySelector('.empty')) box.innerHTML = '<div class="empty">no PERF_COUNTER series</div>';
    return;
  }
  const names = list.map((c) => c.name).join('\u0001');
  if (box._names !== names) {
    box.innerHTML = list.map((c, i) => `<div class="ctr" data-name="${esc(c.name)}"><div class="n" title="${esc(c.name)}">${esc(c.name)}</div><div class="v" data-i="${i}"></div><div class="s"></div><canvas height="34"></canvas></div>`).join('');
    box._names = names;
  }
  list.forEach((c, i) => {
    const el = box.children[i];
    const v = fmt(c.last);
    const st = `min ${fmt(c.min)} \u00b7 avg ${fmt(c.avg)} \u00b7 max ${fmt(c.max)} \u00b7 ${fint(c.count)} samples`;
    const ve = el.querySelector('.v'), se = el.querySelector('.s');
    if (ve.textContent !== v) ve.textContent = v;
    if (se.textContent !== st) se.textContent = st;
  });
}

// ---- ui/js/flame.js
// Call tree as a flame graph (icicle: roots on top) -------------------------
function renderTree() {
  const t = S.tree;
  const box = $('call-tree');
  if (!t || !Array.isArray(t.roots)) return;
  const sig = JSON.stringify(t) + '\u0001' + S.treeFocus.join('\u0002');
  if (sig === S.treeSig) return;
  S.treeSig = sig;
  $('tree-info').textContent = `coverage ${(100 * (t.coverage || 0)).toFixed(1)}% \u00b7 ${fint(t.nodes)} nodes` + (t.folded ? ` \u00b7 ${fint(t.folded)} folded` : '');
  // Follow the focus path; drop it when the node is gone.
  let roots = t.roots;
  const crumbs = [];
  for (const key of S.treeFocus) {
    const n = roots.find((x) => siteKey(x) === key);
    if (!n) { S.treeFocus = crumbs.map((c) => c.key); break; }
    crumbs.push({key, node: n});
    roots = [n];
    if (crumbs.length < S.treeFocus.length) roots = n.children || [];
  }
  if (crumbs.length) roots = [crumbs[crumbs.length - 1].node];
  $('tree-reset').hidden = crumbs.length === 0;
  $('tree-crumbs').innerHTML = crumbs.length
    ? '<a data-depth="0">all</a> \u203a ' + crumbs.map((c, i) => `<a data-depth="${i + 1}">${esc(c.node.name)}</a>`).join(' \u203a ')
    : '';
  const total = roots.reduce((s, n) => s + (n.total_ms || 0), 0);
  if (!(total > 0)) {
    box.innerHTML = '<div class="empty">no spans yet</div>';
    box.style.height = '';
    S.flameNodes = [];
    return;
  }
  const out = [];
  let maxDepth = 0;
  const lay = (nodes, x0, scale, depth, parentKey) => {
    const sorted = nodes.slice().sort((a, b) => (a.name === '(other)') - (b.name === '(other)') || b.total_ms - a.total_ms);
    let x = x0;
    for (const n of sorted) {
      const w = (n.total_ms || 0) * scale;
      if (w >= 0.0015) {
        const key = siteKey(n);
        const path = parentKey.concat([key]);
        out.push({n, x, w, depth, path});
        maxDepth = Math.max(maxDepth, depth);
        if (depth < 40 && n.children && n.children.length) lay(n.children, x, scale, depth + 1, path);
      }
      x += w;
    }
  };
  lay(roots, 0, 1 / total, 0, crumbs.length ? S.treeFocus.slice(0, crumbs.length - 1) : []);
  S.flameNodes = out;
  // Built as elements, their geometry set through the CSSOM (the page's
  // Content-Security-Policy refuses style attributes in markup).
  const frag = document.createDocumentFragment();
  const div = (cls, left, width, top) => {
    const el = document.createElement('div');
    el.className = cls;
    el.style.left = (left * 100).toFixed(4) + '%';
    el.style.width = (width * 100).toFixed(4) + '%';
    el.style.top = top + 'px';
    frag.appendChild(el);
    return el;
  };
  out.forEach((o, i) => {
    const n = o.n;
    const tiny = o.w < 0.025;
    const el = div(tiny ? 'fn tiny' : 'fn', o.x, o.w, o.depth * 20);
    el.dataset.i = String(i);
    el.dataset.name = n.name;
    el.style.background = colorOf(n.name);
    if (!tiny) {
      el.textContent = n.name + ' ';
      const small = document.createElement('small');
      small.textContent = fmt(n.total_ms) + ' ms';
      el.appendChild(small);
    }
    const kids = (n.children || []).reduce((s, c) => s + (c.total_ms || 0), 0);
    if (kids > 0 && n.total_ms > 0) {
      const selfFrac = Math.max(0, n.total_ms - kids) / n.total_ms;
      const sw = o.w * selfFrac;
      if (sw >= 0.002) div('fself', o.x + o.w - sw, sw, (o.depth + 1) * 20);
    }
  });
  box.style.height = ((maxDepth + 2) * 20 + 4) + 'px';
  box.replaceChildren(frag);
}
$('call-tree').addEventListener('mousemove', (e) => {
  const el = e.target.closest('.fn');
  if (!el) { hideTip(); return; }
  const o = S.flameNodes[Number(el.dataset.i)];
  if (!o) return;
  const n = o.n;
  const root = S.flameNodes.length ? S.flameNodes.filter((x) => x.depth === 0).reduce((s, x) => s + x.n.total_ms, 0) : 0;
  showTip(`<b>${esc(n.name)}</b> <span class="muted">${esc(n.category)}</span>` + rowsHtml([
    ['total', fmt(n.total_ms) + ' ms' + (root ? ` (${(100 * n.total_ms / root).toFixed(1)}%)` : '')],
    ['self', covMark(n.coverage) + fmt(n.self_ms) + ' ms' + (coverageText(n.coverage) ? ` <span class="muted">(${coverageText(n.coverage)})</span>` : '')],
    ['calls', fint(n.count)],
    ['per call', n.count ? fmt(n.total_ms / n.count) + ' ms' : '\u2013'],
    ['children', String((n.children || []).length)],
  ]), e.clientX, e.clientY);
});
$('call-tree').addEventListener('mouseleave', hideTip);
$('call-tree').addEventListener('click', (e) => {
  const el = e.target.closest('.fn');
  if (!el) return;
  const o = S.flameNodes[Number(el.dataset.i)];
  if (!o) return;
  S.treeFocus = o.path;
  S.treeSig = '';
  renderTree();
});
$('tree-crumbs').addEventListener('click', (e) => {
  const a = e.target.closest('a[data-depth]');
  if (!a) return;
  S.treeFocus = S.treeFocus.slice(0, Number(a.dataset.depth));
  S.treeSig = '';
  renderTree();
});
$('tree-reset').addEventListener('click', () => { S.treeFocus = []; S.treeSig = ''; renderTree(); });

// ---- ui/js/trace.js
// Trace view ------------------------------------------------------------------
// A captured Chrome trace drawn per thread on one canvas: spans stacked by
// nesting depth, counters as small tracks, marks as vertical lines. Spans
// narrower than a couple of pixels are merged into runs, so a 100,000-span
// capture draws in a few milliseconds once laid out. GPU tracks (threads
// named "gpu: NAME", one per GPU context, and their "... frames" track) come
// after the CPU threads; spans of category "gpu" take the GPU colours.
const TV = {
)comfyvn_ui"
    R"comfyvn_ui(  canvas: $('trace-view'), wrap: $('trace-wrap'),
  data: null, v0: 0, v1: 1, hover: -1, text: '', file: 'comfyvn_trace.json', busy: false,
  lanes: [], W: 0, H: 0, fetchMs: -1,
};
const ROW = 16, LANE_HEAD = 18, CTR_H = 20, AXIS_H = 20, MAX_DEPTH = 32;
// Span colours by index: the PALETTE by name, then GPU_PALETTE for "gpu" spans.
const SPAN_COLORS = PALETTE.concat(GPU_PALETTE);
const isGpuLane = (name) => name.indexOf('gpu: ') === 0;

function buildTrace(doc) {
  const evs = Array.isArray(doc) ? doc : (doc && Array.isArray(doc.traceEvents) ? doc.traceEvents : []);
  let n = 0;
  for (let i = 0; i < evs.length; i++) { const e = evs[i]; if (e && e.ph === 'X' && typeof e.ts === 'number') n++; }
  const ts = new Float64Array(n), dur = new Float64Array(n), self = new Float64Array(n);
  const nameId = new Int32Array(n), thr = new Int32Array(n), depth = new Uint8Array(n), col = new Uint8Array(n);
  const names = [], cats = [];
  const byName = new Map();        // name -> {cat, id, more: Map(cat -> id) | null}
  const threads = [], threadIdx = new Map(), threadNames = new Map();
  const marks = [], counters = new Map();
  let j = 0, t0 = Infinity, t1 = -Infinity;
  let lastPid, lastTid, lastTh = -1;
  // One pass over the events; no string is built per span (100,000 of them
  // would keep the garbage collector busy for longer than the drawing).
  for (let i = 0; i < evs.length; i++) {
    const e = evs[i];
    if (!e) continue;
    const ph = e.ph;
    if (ph === 'X' && typeof e.ts === 'number') {
      const t = e.ts;
      if (!(t === t) || t === Infinity || t === -Infinity) continue;
      let th;
      if (lastTh >= 0 && e.tid === lastTid && e.pid === lastPid) th = lastTh;
      else {
        const tk = e.pid + ':' + e.tid;
        th = threadIdx.get(tk);
        if (th === undefined) { th = threads.length; threads.push({key: tk, pid: e.pid, tid: e.tid, count: 0}); threadIdx.set(tk, th); }
        lastTh = th; lastPid = e.pid; lastTid = e.tid;
      }
      const cat = e.cat || '';
      let rec = byName.get(e.name), id;
      if (rec && rec.cat === cat) id = rec.id;
      else {
        if (rec && rec.more && rec.more.has(cat)) id = rec.more.get(cat);
        else {
          id = names.length;
          names.push(String(e.name));
          cats.push(cat);
          if (!rec) byName.set(e.name, {cat, id, more: null});
          else { if (!rec.more) rec.more = new Map(); rec.more.set(cat, id); }
        }
      }
      const d = e.dur;
      ts[j] = t;
      dur[j] = typeof d === 'number' && d > 0 && d !== Infinity ? d : 0;
      self[j] = dur[j];
      nameId[j] = id;
      thr[j] = th;
      threads[th].count++;
      if (t < t0) t0 = t;
      if (t + dur[j] > t1) t1 = t + dur[j];
      j++;
    } else if (ph === 'M') {
      if (e.name === 'thread_name' && e.args) threadNames.set(e.pid + ':' + e.tid, String(e.args.name));
    } else if ((ph === 'i' || ph === 'I' || ph === 'R') && isNum(e.ts)) {
      marks.push({ts: e.ts, name: String(e.name), cat: e.cat || ''});
    } else if (ph === 'C' && isNum(e.ts) && e.args) {
      const keys = Object.keys(e.args);
      for (const k of keys) {
        const v = e.args[k];
        if (!isNum(v)) continue;
        const cn = keys.length > 1 ? e.name + '.' + k : String(e.name);
        let list = counters.get(cn);
        if (!list) { list = []; counters.set(cn, list); }
        list.push({ts: e.ts, v});
      }
    }
  }
  if (j < n) n = j;
  const nameCol = names.map((x, i) => cats[i] === 'gpu'
    ? PALETTE.length + hashStr(x) % GPU_PALETTE.length : colorIndex(x));
  for (let i = 0; i < n; i++) col[i] = nameCol[nameId[i]];
  // Spans of each thread, in file order.
  const perThread = threads.map((th) => new Int32Array(th.count));
  const fill = new Int32Array(threads.length);
  for (let i = 0; i < n; i++) { const th = thr[i]; perThread[th][fill[th]++] = i; }
  // Per thread: start order (parents first on ties), depth from a stack of
  // open spans, self time, then levels of non-overlapping spans as typed
  // arrays (starts and ends ascending, for binary search while drawing).
  const lanes = [];
  let maxDepthSeen = 0;
  const stack = new Int32Array(256);
  for (let ti = 0; ti < threads.length; ti++) {
    const th = threads[ti];
    let idx = perThread[ti];
    let sorted = true;
    for (let k = 1; k < idx.length; k++) {
      const a = idx[k - 1], b = idx[k];
      if (ts[a] > ts[b] || (ts[a] === ts[b] && dur[a] < dur[b])) { sorted = false; break; }
    }
    if (!sorted) idx = Int32Array.from(Array.from(idx).sort((a, b) => ts[a] - ts[b] || dur[b] - dur[a]));
    const cnt = new Int32Array(MAX_DEPTH);
    let top = 0;
    for (let k = 0; k < idx.length; k++) {
      const s = idx[k];
      const st = ts[s];
      while (top > 0 && ts[stack[top - 1]] + dur[stack[top - 1]] <= st + 1e-6) top--;
      if (top > 0) self[stack[top - 1]] -= dur[s];
      depth[s] = top;
      if (top < MAX_DEPTH) cnt[top]++;
      if (top > maxDepthSeen) maxDepthSeen = top;
      if (top < 255) stack[top++] = s;
    }
    let nl = 0;
    while (nl < MAX_DEPTH && cnt[nl] > 0) nl++;
    const levels = [], ends = [], at = new Int32Array(nl);
    for (let d = 0; d < nl; d++) { levels.push(new Int32Array(cnt[d])); ends.push(new Float64Array(cnt[d])); }
    for (let k = 0; k < idx.length; k++) {
      const s = idx[k];
      const d = depth[s];
      if (d >= nl) continue;
      const p = at[d]++;
      levels[d][p] = s;
      ends[d][p] = ts[s] + dur[s];
    }
    const name = threadNames.get(th.key) || ('thread ' + th.tid);
    lanes.push({name, gpu: isGpuLane(name), tid: th.tid, pid: th.pid, count: idx.length, levels, ends,
      truncated: maxDepthSeen >= MAX_DEPTH});
  }
  // CPU threads by (pid, tid); then the GPU tracks by name, so that a
  // context's frame track follows its own.
  lanes.sort((a, b) => (a.gpu - b.gpu) || (a.gpu && (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) ||
      (a.pid - b.pid) || (a.tid - b.tid));
  const ctrs = Array.from(counters.entries()).map(([name, pts]) => {
    pts.sort((a, b) => a.ts - b.ts);
    let lo = Infinity, hi = -Infinity;
    for (const p of pts) { lo = Math.min(lo, p.v); hi = Math.max(hi, p.v); if (p.ts < t0) t0 = p.ts; if (p.ts > t1) t1 = p.ts; }
    return {name, pts, lo, hi};
  });
  for (const m of marks) { if (m.ts < t0) t0 = m.ts; if (m.ts > t1) t1 = m.ts; }
  if (!isFinite(t0)) { t0 = 0; t1 = 1; }
  if (t1 <= t0) t1 = t0 + 1;
  return {n, ts, dur, self, nameId, thr, depth, col, names, cats, lanes, marks, ctrs, t0, t1, maxDepth: maxDepthSeen,
    other: doc && doc.otherData ? doc.otherData : null};
}

function layoutLanes() {
  const D = TV.data;
  let y = AXIS_H;
  TV.ctrTop = y;
  y += D.ctrs.length * CTR_H;
  for (const l of D.lanes) {
    l.y = y;
    l.h = LANE_HEAD + l.levels.length * ROW + 4;
    y += l.h;
  }
  TV.H = Math.max(60, y + 4);
}

function fitView() {
  const D = TV.data;
  if (!D) return;
  const pad = (D.t1 - D.t0) * 0.01;
  TV.v0 = D.t0 - pad;
  TV.v1 = D.t1 + pad;
}

function lowerBound(arr, v) {
  let lo = 0, hi = arr.length;
  while (lo < hi) { const m = (lo + hi) >>> 1; if (arr[m] < v) lo = m + 1; else hi = m; }
  return lo;
}

function drawTrace() {
  const D = TV.data;
  const c = TV.canvas;
  const {ctx, w, h} = fitCanvas(c, D ? TV.H : 60);
  TV.W = w;
  ctx.clearRect(0, 0, w, h);
  if (!D) return 0;
  const v0 = TV.v0, v1 = TV.v1;
  const k = w / (v1 - v0);
  const X = (t) => (t - v0) * k;
  ctx.font = font(11);
  ctx.textBaseline = 'middle';
  // Axis: milliseconds from the first event.
  const stepUs = niceStep((v1 - v0), Math.max(2, Math.floor(w / 110)));
  ctx.fillStyle = '#8591a0';
  ctx.strokeStyle = '#20262e';
  ctx.lineWidth = 1;
  ctx.textAlign = 'left';
  const first = Math.ceil((v0 - D.t0) / stepUs) * stepUs + D.t0;
  for (let t = first; t <= v1; t += stepUs) {
    const x = Math.round(X(t)) + 0.5;
    ctx.beginPath(); ctx.moveTo(x, AXIS_H - 4); ctx.lineTo(x, h); ctx.stroke();
    const ms = (t - D.t0) / 1000;
    ctx.fillText(fmt(ms, stepUs >= 1000 ? 0 : stepUs >= 100 ? 1 : stepUs >= 10 ? 2 : 3) + ' ms', x + 3, 9);
  }
  // Counter tracks.
  D.ctrs.forEach((cn, i) => {
    const y0 = TV.ctrTop + i * CTR_H;
    ctx.fillStyle = i % 2 ? '#151a20' : '#131820';
    ctx.fillRect(0, y0, w, CTR_H);
    const span = cn.hi - cn.lo || 1;
    const Y = (v) => y0 + CTR_H - 3 - (v - cn.lo) / span * (CTR_H - 8);
    ctx.strokeStyle = PALETTE[colorIndex(cn.name)];
    ctx.beginPath();
    let started = false, lastY = 0;
    for (const p of cn.pts) {
      const x = X(p.ts);
      if (x < -50) { lastY = Y(p.v); continue; }
      if (!started) { ctx.moveTo(Math.max(0, x), lastY || Y(p.v)); started = true; }
      ctx.lineTo(x, lastY || Y(p.v));
      ctx.lineTo(x, Y(p.v));
      lastY = Y(p.v);
      if (x > w + 50) break;
    }
    ctx.stroke();
    ctx.fillStyle = '#8591a0';
    ctx.textAlign = 'left';
    ctx.fillText(`${cn.name}  ${fmt(cn.lo)}\u2013${fmt(cn.hi)}`, 4, y0 + 7);
  });
  // Thread lanes.
  const buckets = SPAN_COLORS.map(() => []);
  const labels = [];
  const ts = D.ts, dur = D.dur, col = D.col;
  for (let li = 0; li < D.lanes.length; li++) {
    const l = D.lanes[li];
    ctx.fillStyle = li % 2 ? '#141920' : '#12161b';
    ctx.fillRect(0, l.y, w, l.h);
    ctx.fillStyle = l.gpu ? '#17261f' : '#1b2129';
    ctx.fillRect(0, l.y, w, LANE_HEAD - 2);
    ctx.fillStyle = l.gpu ? '#7fe0b4' : '#b9c7d8';
    ctx.textAlign = 'left';
    ctx.fillText(`${l.name}  \u00b7  ${fint(l.count)} spans${l.truncated ? ' (deeper levels hidden)' : ''}`, 6, l.y + 8);
    for (let d = 0; d < l.levels.length; d++) {
      const lv = l.levels[d], ends = l.ends[d];
      const y = l.y + LANE_HEAD + d * ROW;
      let i = lowerBound(ends, v0);
      let runS = -1, runE = -1, runC = 0;
      for (; i < lv.length; i++) {
        const s = lv[i];
        const st = ts[s];
        if (st > v1) break;
        const x0 = (st - v0) * k, x1 = x0 + dur[s] * k;
        if (x1 - x0 < 2) {
          if (runS >= 0 && x0 <= runE + 1) { if (x1 > runE) runE = x1; continue; }
          if (runS >= 0) buckets[runC].push(runS, y, Math.max(1, runE - runS));
          runS = x0; runE = Math.max(x1, x0 + 1); runC = col[s];
          continue;
        }
        if (runS >= 0) { buckets[runC].push(runS, y, Math.max(1, runE - runS)); runS = -1; }
        const cx0 = Math.max(-2, x0), cx1 = Math.min(w + 2, x1);
        buckets[col[s]].push(cx0, y, cx1 - cx0);
        if (cx1 - cx0 > 36) labels.push(s, cx0, y, cx1 - cx0);
      }
      if (runS >= 0) buckets[runC].push(runS, y, Math.max(1, runE - runS));
    }
  }
  for (let b = 0; b < buckets.length; b++) {
    const r = buckets[b];
    if (!r.length) continue;
    ctx.fillStyle = SPAN_COLORS[b];
    ctx.beginPath();
    for (let i = 0; i < r.length; i += 3) ctx.rect(r[i], r[i + 1], r[i + 2] > 1.5 ? r[i + 2] - 0.5 : r[i + 2], ROW - 2);
    ctx.fill();
  }
  ctx.fillStyle = '#10141a';
  ctx.textAlign = 'left';
  for (let i = 0; i < labels.length; i += 4) {
    const s = labels[i], x = labels[i + 1], y = labels[i + 2], wd = labels[i + 3];
    const maxChars = Math.floor((wd - 6) / 6.4);
    if (maxChars < 3) continue;
    let t = D.names[D.nameId[s]];
    if (t.length > maxChars) t = t.slice(0, maxChars - 1) + '\u2026';
    ctx.fillText(t, Math.max(x, 0) + 3, y + ROW / 2 - 1);
  }
  // Marks.
  ctx.strokeStyle = '#c792ea';
  ctx.fillStyle = '#c792ea';
  for (const m of D.marks) {
    if (m.ts < v0 || m.ts > v1) continue;
    const x = Math.round(X(m.ts)) + 0.5;
    ctx.globalAlpha = 0.7;
    ctx.beginPath(); ctx.moveTo(x, AXIS_H - 6); ctx.lineTo(x, h); ctx.stroke();
    ctx.globalAlpha = 1;
    ctx.beginPath(); ctx.moveTo(x - 4, AXIS_H - 8); ctx.lineTo(x + 4, AXIS_H - 8); ctx.lineTo(x, AXIS_H - 2); ctx.fill();
  }
  // Hovered span.
  if (TV.hover >= 0) {
    const s = TV.hover;
    const hl = TV.hoverLane;
    if (hl) {
      const y = hl.y + LANE_HEAD + D.depth[s] * ROW;
      ctx.strokeStyle = '#ffffff';
      ctx.lineWidth = 1.5;
      ctx.strokeRect(Math.max(0, X(ts[s])) + 0.5, y + 0.5, Math.max(2, Math.min(w, X(ts[s] + dur[s])) - Math.max(0, X(ts[s]))), ROW - 2);
    }
  }
  return labels.length / 4;
}

let tvFrame = 0;
function requestDraw() {
  if (tvFrame) return;
  tvFrame = requestAnimationFrame(() => { tvFrame = 0; drawTrace(); });
}

function spanAt(px, py) {
  const D = TV.data;
  if (!D) return null;
  const t = TV.v0 + px / TV.W * (TV.v1 - TV.v0);
  const tol = 2 * (TV.v1 - TV.v0) / TV.W;
  for (const l of D.lanes) {
    if (py < l.y + LANE_HEAD || py >= l.y + l.h) continue;
    const d = Math.floor((py - l.y - LANE_HEAD) / ROW);
    const lv = l.levels[d];
    if (!lv) return null;
    const ends = l.ends[d];
    let i = lowerBound(ends, t - tol);
    let best = -1;
    for (; i < lv.length; i++) {
      const s = lv[i];
      if (D.ts[s] > t + tol) break;
      if (D.ts[s] <= t + tol && D.ts[s] + D.dur[s] >= t - tol) { best = s; if (D.ts[s] <= t && D.ts[s] + D.dur[s] >= t) break; }
    }
    return best >= 0 ? {s: best, lane: l} : null;
  }
  return null;
}

function setTraceInfo(text) { $('trace-info').textContent = text; }

async function loadTrace(path, label, file) {
  if (TV.busy) return;
  TV.busy = true;
  const btn = $('trace-button');
  btn.disabled = true;
  const isCapture = path.indexOf('/profiler/trace') === 0;
  if (isCapture) btn.textContent = 'Capturing\u2026';
  setTraceInfo(isCapture ? 'capturing one second of spans\u2026' : 'loading ' + label + '\u2026');
  try {
    const tf = performance.now();
    const r = await request(path);
    TV.fetchMs = performance.now() - tf;
    if (r.status !== 200) {
      let d = 'HTTP ' + r.status;
      try { const b = JSON.parse(r.text); if (b && b.detail) d = b.detail; } catch (e) { /* not JSON */ }
      if (r.status === 404 && !isCapture) {
        // Spikes are a bounded list: this one was dropped for newer ones.
        setTraceInfo(label + ' is gone: the adapter keeps only the newest spikes. Pick a newer one.');
        S.spikes = (S.spikes || []).filter((x) => '/profiler/spikes?id=' + x.id !== path);
        S.selectedSpike = null;
        renderSpikes();
        return;
      }
      setTraceInfo((r.status === 409 ? 'another capture is running: ' : 'no trace: ') + d);
      return;
    }
    showTrace(r.text, label, file);
  } catch (e) {
    setTraceInfo(e instanceof AuthError ? 'needs the token' : 'no trace: ' + (e && e.message ? e.message : e));
  } finally {
    TV.busy = false;
    btn.disabled = false;
    btn.textContent = 'Capture 1 s';
  }
}

// Parses, lays out and draws a trace (the text of a Chrome Trace Event JSON
// document). Timings land on the canvas as data attributes.
function showTrace(text, label, file) {
  const tA = performance.now();
  let doc;
  try { doc = JSON.parse(text); } catch (e) { setTraceInfo('not a trace: ' + e.message); return; }
  const tB = performance.now();
  const D = buildTrace(doc);
  TV.data = D;
  TV.text = text;
  TV.file = file;
  TV.hover = -1;
  layoutLanes();
  fitView();
  const tC = performance.now();
  drawTrace();
  const tD = performance.now();
  const c = TV.canvas;
  c.dataset.spans = String(D.n);
  // The lanes' labels from top to bottom, for tests: a JSON array of names.
  c.dataset.lanes = JSON.stringify(D.lanes.map((l) => l.name));
  c.dataset.source = label;
  c.dataset.parseMs = (tB - tA).toFixed(1);
  c.dataset.layoutMs = (tC - tB).toFixed(1);
  c.dataset.drawMs = (tD - tC).toFixed(1);
  c.dataset.totalMs = (tD - tA).toFixed(1);
  c.dataset.fetchMs = TV.fetchMs >= 0 ? TV.fetchMs.toFixed(1) : '';
  TV.fetchMs = -1;
  $('trace-download').disabled = false;
  const o = D.other;
  const gpuLanes = D.lanes.filter((l) => l.gpu).length;
  setTraceInfo(`${label}: ${fint(D.n)} spans on ${D.lanes.length} thread${D.lanes.length === 1 ? '' : 's'}` +
      (gpuLanes ? ` (${gpuLanes} GPU)` : '') + ', ' +
      `${fmt((D.t1 - D.t0) / 1000)} ms, ${D.marks.length} marks, ${D.ctrs.length} counter series` +
)comfyvn_ui"
    R"comfyvn_ui(      (o && o.dropped ? `, ${fint(o.dropped)} dropped` : '') +
      ` \u00b7 drawn in ${(tD - tA).toFixed(0)} ms \u00b7 wheel: zoom, drag: pan, double-click: fit`);
}

$('trace-button').addEventListener('click', () => {
  S.selectedSpike = null;
  renderSpikes();
  loadTrace('/profiler/trace?seconds=1', 'capture', `comfyvn_trace_${stamp()}.json`);
});
$('trace-download').addEventListener('click', () => { if (TV.text) save(TV.text, TV.file); });
$('snapshot-download').addEventListener('click', async () => {
  let d = null;
  try {
    if (S.prof) {
      const r = await api('/profiler/dashboard?limit=20');
      if (r.body && r.body.ok) d = r.body.dashboard;
    }
  } catch (e) { d = null; }
  if (!d) d = S.dash;
  if (!d) { setTraceInfo('no dashboard to save: the profiler is off'); return; }
  save(JSON.stringify(d, null, 1), `comfyvn_dashboard_${stamp()}.json`);
});

function zoomAt(px, factor) {
  const D = TV.data;
  if (!D) return;
  const t = TV.v0 + px / TV.W * (TV.v1 - TV.v0);
  let span = (TV.v1 - TV.v0) * factor;
  const full = (D.t1 - D.t0) * 1.2;
  span = Math.max(0.5, Math.min(full, span));
  const f = (t - TV.v0) / (TV.v1 - TV.v0);
  TV.v0 = t - f * span;
  TV.v1 = TV.v0 + span;
  clampView();
  requestDraw();
}
function clampView() {
  const D = TV.data;
  const span = TV.v1 - TV.v0;
  const lo = D.t0 - (D.t1 - D.t0) * 0.1, hi = D.t1 + (D.t1 - D.t0) * 0.1;
  if (TV.v0 < lo) { TV.v0 = lo; TV.v1 = lo + span; }
  if (TV.v1 > hi) { TV.v1 = hi; TV.v0 = hi - span; }
}
TV.canvas.addEventListener('wheel', (e) => {
  if (!TV.data) return;
  e.preventDefault();
  const r = TV.canvas.getBoundingClientRect();
  const dy = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY;
  if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(dy)) {
    const dx = e.shiftKey ? dy : e.deltaX;
    const dt = dx / TV.W * (TV.v1 - TV.v0);
    TV.v0 += dt; TV.v1 += dt;
    clampView();
    requestDraw();
    return;
  }
  zoomAt(e.clientX - r.left, Math.exp(dy * 0.0025));
}, {passive: false});
let drag = null;
TV.canvas.addEventListener('mousedown', (e) => {
  if (!TV.data || e.button !== 0) return;
  drag = {x: e.clientX, v0: TV.v0, v1: TV.v1};
  TV.canvas.classList.add('dragging');
  hideTip();
});
window.addEventListener('mousemove', (e) => {
  if (!drag) return;
  const dt = (e.clientX - drag.x) / TV.W * (drag.v1 - drag.v0);
  TV.v0 = drag.v0 - dt;
  TV.v1 = drag.v1 - dt;
  clampView();
  requestDraw();
});
window.addEventListener('mouseup', () => {
  if (drag) { drag = null; TV.canvas.classList.remove('dragging'); }
});
TV.canvas.addEventListener('dblclick', () => { if (TV.data) { fitView(); requestDraw(); } });
TV.canvas.addEventListener('mousemove', (e) => {
  if (drag || !TV.data) return;
  const r = TV.canvas.getBoundingClientRect();
  const hit = spanAt(e.clientX - r.left, e.clientY - r.top);
  const s = hit ? hit.s : -1;
  if (s !== TV.hover) { TV.hover = s; TV.hoverLane = hit ? hit.lane : null; requestDraw(); }
  if (!hit) { hideTip(); return; }
  const D = TV.data;
  showTip(`<b>${esc(D.names[D.nameId[s]])}</b> <span class="muted">${esc(D.cats[D.nameId[s]])}</span>` + rowsHtml([
    ['duration', fmt(D.dur[s] / 1000, 3) + ' ms'],
    ['self', fmt(Math.max(0, D.self[s]) / 1000, 3) + ' ms'],
    ['start', '+' + fmt((D.ts[s] - D.t0) / 1000, 3) + ' ms'],
    ['thread', esc(hit.lane.name)],
    ['depth', String(D.depth[s])],
  ]), e.clientX, e.clientY);
});
TV.canvas.addEventListener('mouseleave', () => {
  hideTip();
  if (TV.hover >= 0) { TV.hover = -1; requestDraw(); }
});
$('trace-zoom-in').addEventListener('click', () => zoomAt(TV.W / 2, 0.5));
$('trace-zoom-out').addEventListener('click', () => zoomAt(TV.W / 2, 2));
$('trace-reset').addEventListener('click', () => { if (TV.data) { fitView(); requestDraw(); } });

// ---- ui/js/forms.js
// Forms: the bearer-token prompt, the budget limits and the span budgets.

// Bearer token ------------------------------------------------------------
// A 401 asks once; the token is kept in sessionStorage, sent as a bearer token.
function askToken() {
  const first = !S.needToken;
  S.needToken = true;
  const f = $('token-form');
  if (first) {
    $('token-note').textContent = S.token ? 'The token was refused; enter it again.' : 'Kept for this tab only (sessionStorage).';
    f.hidden = false;
    $('token-input').focus();
  }
  setConn('idle', 'needs a token');
}
$('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const v = $('token-input').value.trim();
  if (!v) return;
  S.token = v;
  storageSet(TOKEN_KEY, v);
  $('token-input').value = '';
  $('token-form').hidden = true;
  $('token-btn').hidden = false;
  S.needToken = false;
  S.authOk = false;
  schedule(0);
});
$('token-btn').addEventListener('click', () => {
  $('token-form').hidden = false;
  $('token-note').textContent = 'Replace the token kept for this tab.';
  $('token-input').focus();
});
if (S.token) $('token-btn').hidden = false;

// Budgets: limits ---------------------------------------------------------
const LIMITS = ['max_cpu_percent', 'max_mem_mb', 'max_vram_mb', 'max_running_jobs', 'lazy_asset_target_mb', 'max_queue_depth', 'evaluation_interval'];
const limitsForm = $('limits-form');
function renderLimits() {
  const l = S.budgets && S.budgets.limits;
  if (!l) return;
  for (const k of LIMITS) {
    const inp = limitsForm.elements[k];
    if (!inp || S.limitsDirty.has(k) || document.activeElement === inp) continue;
    const v = l[k];
    const s = isNum(v) ? String(v) : '';
    if (inp.value !== s) inp.value = s;
  }
}
limitsForm.addEventListener('input', (e) => {
  const n = e.target && e.target.name;
  if (!n) return;
  S.limitsDirty.add(n);
  e.target.classList.add('dirty');
});
limitsForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const msg = $('limits-msg');
  const body = {};
  const keys = S.limitsDirty.size ? LIMITS.filter((k) => S.limitsDirty.has(k)) : LIMITS;
  for (const k of keys) {
    const raw = String(limitsForm.elements[k].value).trim();
    if (raw === '') {
      if (S.limitsDirty.has(k)) { msg.className = 'msg err'; msg.textContent = k + ' is empty'; return; }
      continue;
    }
    const v = Number(raw);
    body[k] = isNum(v) ? v : raw;
  }
  msg.className = 'msg';
  msg.textContent = 'applying\u2026';
  try {
    const r = await post('/budgets/apply', body);
    if (r.status === 200 && r.body && r.body.ok) {
      for (const k of LIMITS) limitsForm.elements[k].classList.remove('dirty');
      S.limitsDirty.clear();
      if (S.budgets) S.budgets.limits = r.body.limits;
      renderLimits();
      msg.className = 'msg ok';
      msg.textContent = 'applied: ' + Object.keys(body).map((k) => k + '=' + body[k]).join(', ');
    } else {
      msg.className = 'msg err';
      msg.textContent = (r.status === 422 ? '422: ' : 'HTTP ' + r.status + ': ') + detailOf(r);
    }
  } catch (err) {
    msg.className = 'msg err';
    msg.textContent = err instanceof AuthError ? 'needs the token' : 'not applied: ' + (err && err.message ? err.message : err);
  }
});

// Span budgets: the form (the table is in tables.js) ----------------------
async function refreshSpanBudgets() {
  const r = await api('/profiler/budgets');
  if (r.body && r.body.ok && Array.isArray(r.body.budgets)) S.spanBudgets = r.body.budgets;
  renderSpanBudgets();
}
$('budget-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = e.currentTarget;
  const msg = $('budget-msg');
  const body = {name: f.elements.name.value.trim()};
  const cat = f.elements.category.value.trim();
  if (cat) body.category = cat;
  for (const k of ['p95_ms', 'max_ms']) {
    const raw = f.elements[k].value.trim();
    if (raw !== '') body[k] = isNum(Number(raw)) ? Number(raw) : raw;
  }
  try {
    const r = await post('/profiler/budgets/set', body);
    if (r.status === 200) {
      msg.className = 'msg ok';
      msg.textContent = 'set ' + body.name;
      f.reset();
      await refreshSpanBudgets();
    } else {
      msg.className = 'msg err';
      msg.textContent = (r.status === 422 ? '422: ' : 'HTTP ' + r.status + ': ') + detailOf(r);
    }
  } catch (err) {
    msg.className = 'msg err';
    msg.textContent = err instanceof AuthError ? 'needs the token' : String(err && err.message ? err.message : err);
  }
});

// ---- ui/js/main.js
// Start-up and wiring: the refresh of every panel, pause, resize, the hooks
// for tests and benchmarks; then the first poll. Comes last.

// -------------------------------------------------------------- rendering
// Panels off screen are redrawn every fifth refresh only (their data is
// still polled): a long page costs the browser, and so the machine it
// shares with the application, little more than what is in view.
const onScreen = new Map();   // panel id -> bool; unknown counts as visible
const io = typeof IntersectionObserver === 'function' ? new IntersectionObserver((entries) => {
  let appeared = false;
  for (const e of entries) {
    if (e.isIntersecting && onScreen.get(e.target.id) === false) appeared = true;
    onScreen.set(e.target.id, e.isIntersecting);
  }
  if (appeared && (S.prof || S.bud)) requestAnimationFrame(() => renderAll(true));
}, {rootMargin: '150px'}) : null;
if (io) for (const p of document.querySelectorAll('main > .panel')) io.observe(p);
const PANELS = [
  ['p-frames', [renderFrames, drawFrameChart]], ['p-top', [renderTop]], ['p-tree', [renderTree]],
  ['p-trace', [renderSpikes]], ['p-limits', [renderLimits, renderHost]], ['p-jobs', [renderJobs]],
  ['p-assets', [renderAssets]], ['p-spanbud', [renderSpanBudgets]], ['p-counters', [renderCounters]],
];
let renders = 0;
function renderAll(visibleOnly) {
  const due = !visibleOnly && renders++ % 5 === 0;
  const canvases = [];
  for (const [id, fns] of PANELS) {
    if (onScreen.get(id) === false && !due) continue;
    for (const fn of fns) {
      // Canvases last, after every DOM write: one layout at most.
      if (fn === drawFrameChart) { canvases.push(fn); continue; }
      try { fn(); } catch (e) { /* one panel's bad data must not stop the others */ showPanelError(fn.name, e); }
    }
  }
  canvases.push(() => drawSparks(onScreen.get('p-counters') !== false || due, onScreen.get('p-limits') !== false || due));
  for (const fn of canvases) {
    try { fn(); } catch (e) { showPanelError(fn.name || 'a chart', e); }
  }
  const foot = 'polling this adapter about once a second \u00b7 updated ' +
      new Date().toLocaleTimeString() + (S.dash ? ' \u00b7 ' + fint(S.dash.spans_recorded) + ' spans recorded' : '');
  if ($('foot-info').textContent !== foot) $('foot-info').textContent = foot;
}
function showPanelError(name, e) {
  const err = $('error');
  err.textContent = 'Could not draw ' + name + ': ' + (e && e.message ? e.message : e);
  err.hidden = false;
}

// ------------------------------------------------------------ pause, resize
$('pause').addEventListener('click', () => {
  S.paused = !S.paused;
  const b = $('pause');
  b.setAttribute('aria-pressed', S.paused ? 'true' : 'false');
  b.textContent = S.paused ? 'Resume' : 'Pause';
  if (S.paused) {
    clearTimeout(S.timer);
    setConn('idle', 'paused');
  } else {
    schedule(0);
  }
});
function redrawCanvases() {
  drawFrameChart();
  if (TV.data) drawTrace();
  drawSparks();
}
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(redrawCanvases, 100);
});

// For the benchmark and tests: draw a trace given as text, without a request.
// pointOfWidestSpan: canvas coordinates of the widest span in view, for hover tests.
window.comfyvnPerfDashboard = {
  showTrace: (text, label) => showTrace(text, label || 'file', 'trace.json'),
  state: S,
  // Synchronous redraw of the trace view at a view given as fractions of the trace; its time in ms.
  drawAt: (f0, f1) => {
    const D = TV.data;
    if (!D) return null;
    TV.v0 = D.t0 + (D.t1 - D.t0) * f0;
    TV.v1 = D.t0 + (D.t1 - D.t0) * f1;
    const t = performance.now();
    drawTrace();
    return performance.now() - t;
  },
  pointOfWidestSpan: () => {
    const D = TV.data;
    if (!D) return null;
    let best = null;
    for (const l of D.lanes) {
      for (let d = 0; d < l.levels.length; d++) {
        for (const s of l.levels[d]) {
          const a = Math.max(TV.v0, D.ts[s]), b = Math.min(TV.v1, D.ts[s] + D.dur[s]);
          if (b > a && (!best || b - a > best.w)) best = {w: b - a, t: (a + b) / 2, y: l.y + LANE_HEAD + d * ROW + ROW / 2, s};
        }
      }
    }
    return best && {x: (best.t - TV.v0) / (TV.v1 - TV.v0) * TV.W, y: best.y, name: D.names[D.nameId[best.s]]};
  },
};

drawFrameChart();
drawTrace();
poll();
})();
</script>
</body>
</html>
)comfyvn_ui";
#if defined(__clang__)
#pragma clang diagnostic pop
#elif defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
}  // namespace detail

// Constant-initialised: valid before any dynamic initialiser runs.
const std::string_view kDashboardHtml{detail::kDashboardHtmlBytes,
                                      sizeof(detail::kDashboardHtmlBytes) - 1};

}  // namespace comfyvn::perf::http
#endif
