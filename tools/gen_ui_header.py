#!/usr/bin/env python3
"""Builds the dashboard page (GET /api/perf/ui) from ui/ and writes it into the
SDK as a C++ header, include/comfyvn_perf/http/ui_page.hpp.

    tools/gen_ui_header.py                      rewrite the checked-in header (when it changed)
    tools/gen_ui_header.py --output FILE        write the header elsewhere (the Meson custom_target)
    tools/gen_ui_header.py --check              exit 1 when the checked-in header is stale
    tools/gen_ui_header.py --compare BUILT FILE exit 1 when two headers differ (the Meson test)
    tools/gen_ui_header.py --html FILE|-        write the inlined page itself (benchmarks, tests)
    tools/gen_ui_header.py --weight             print the page weight; exit 1 over the limit
    tools/gen_ui_header.py --csp                print the CSP hashes of the inline script and style

ui/index.html names its stylesheet with `<link rel="stylesheet" href="style.css">`
and holds one `<script data-join="js"></script>`; the first is replaced by an
inline <style>, the second by the one inline <script>: the files of ui/js/,
joined in the fixed order of JS_FILES below and wrapped in one strict-mode
function, `'use strict'; (function () { ... })();`. The files are plain
browser scripts split by panel (no modules, no bundler) that share that one
scope: core.js (constants, state, helpers) first, main.js (start-up) last.
A new file goes into JS_FILES and into the `input:` list of ui/meson.build;
a .js file in ui/js/ that JS_FILES lacks, or a name that two files declare at
their top level (a line that starts with const, let, var, function or class),
is refused. The page must be ASCII, reference no external URL (no
http(s)://, no protocol-relative //, no CSS url() or @import, no src/href but
"data:" and "#"), stay within --max-bytes (default 200 KB) and never contain
the raw-string terminator. The page must also pass a strict
Content-Security-Policy: no inline event handler (onclick=...), no style
attribute (style="..." in index.html or in markup the script builds; the
script sets styles through the CSSOM), no setAttribute('style'|'on...'), no
javascript: URL, and no <script> or <style> element but the two inlined. The
header declares the policy's source expressions for them,
`kDashboardScriptHash` and `kDashboardStyleHash` ("sha256-" and the base64
SHA-256 of the exact text between <script> and </script>, <style> and
</style>), so that a server can send script-src 'sha256-...' instead of
'unsafe-inline'. The header holds the page as adjacent raw string
literals of at most 16,000 bytes each (MSVC refuses a single literal over
16,380 bytes). They sit in the header's implementation section, compiled once
per program (COMFYVN_PERF_IMPLEMENTATION); every other file sees only the
declaration of `kDashboardHtml`, a `std::string_view`. Python 3 standard
library only.
"""

import argparse
import base64
import hashlib
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_UI = os.path.join(ROOT, "ui")
DEFAULT_HEADER = os.path.join(ROOT, "include", "comfyvn_perf", "http", "ui_page.hpp")
REGENERATE = "python3 tools/gen_ui_header.py"
MAX_BYTES = 200 * 1024
CHUNK = 16000
CSS_TAG = '<link rel="stylesheet" href="style.css">'
JS_TAG = '<script data-join="js"></script>'
JS_DIR = "js"
# The order the script runs in: each file may use at load time only what the
# files before it define (functions are hoisted across all of them).
JS_FILES = (
    "core.js",    # constants, the page state S, helpers, canvas sizing, tooltip
    "api.js",     # the API client and the polling loop
    "charts.js",  # frame-time chart and marks, host meters, sparklines
    "tables.js",  # top offenders, spikes, jobs and assets, span budgets, counters
    "flame.js",   # the call tree as a flame graph
    "trace.js",   # the trace view
    "forms.js",   # the token prompt, the limits form, the span-budget form
    "main.js",    # the refresh of every panel, pause, resize, test hooks, start
)
TOP_DECL = re.compile(r"^(?:const|let|var|class|(?:async\s+)?function\*?)\s+([A-Za-z_$][\w$]*)", re.M)


class UiError(Exception):
    pass


def read(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise UiError(f"cannot read {path}: {e.strerror}")
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise UiError(f"{path}:{line}: non-ASCII byte 0x{data[e.start]:02x}; "
                      "use an HTML entity or a \\u escape")
    if "\r" in text:
        raise UiError(f"{path}: carriage return found; use LF line endings")
    return text


def line_of(text, pos):
    return text.count("\n", 0, pos) + 1


def join_js(ui_dir):
    """The files of ui/js/ in JS_FILES order, in one strict-mode function."""
    js_dir = os.path.join(ui_dir, JS_DIR)
    try:
        extra = sorted(f for f in os.listdir(js_dir) if f.endswith(".js") and f not in JS_FILES)
    except OSError as e:
        raise UiError(f"cannot list {js_dir}: {e.strerror}")
    if extra:
        raise UiError(f"ui/{JS_DIR}/{extra[0]} is not in JS_FILES of tools/gen_ui_header.py "
                      "(add it there, in its place, and to the input: list of ui/meson.build)")
    parts, declared = [], {}
    for name in JS_FILES:
        rel = f"ui/{JS_DIR}/{name}"
        text = read(os.path.join(js_dir, name))
        if re.search(r"</script|<!--", text, re.I):
            raise UiError(f"{rel} contains `</script` or `<!--`: write them as '<' + '/script' instead")
        for m in TOP_DECL.finditer(text):
            first = declared.setdefault(m.group(1), (rel, line_of(text, m.start())))
            if first[0] != rel:
                raise UiError(f"{rel}:{line_of(text, m.start())}: `{m.group(1)}` is declared at the top level "
                              f"of {first[0]}:{first[1]} too; the files share one scope")
        parts.append(f"// ---- {rel}\n" + text.strip("\n") + "\n")
    return "'use strict';\n(function () {\n" + "\n".join(parts) + "})();"


def build_html(ui_dir):
    """The page with style.css and the joined ui/js/ inlined, checked."""
    html = read(os.path.join(ui_dir, "index.html"))
    css = read(os.path.join(ui_dir, "style.css"))
    for tag, name in ((CSS_TAG, "stylesheet"), (JS_TAG, "script")):
        n = html.count(tag)
        if n != 1:
            raise UiError(f"ui/index.html must hold `{tag}` exactly once (the {name} to inline); found {n}")
    if re.search(r"</style", css, re.I):
        raise UiError("ui/style.css contains `</style`: it would end the inlined <style> early")
    js = join_js(ui_dir)
    page = html.replace(CSS_TAG, "<style>\n" + css.rstrip("\n") + "\n</style>")
    page = page.replace(JS_TAG, "<script>\n" + js.rstrip("\n") + "\n</script>")
    markup = html.replace(CSS_TAG, "").replace(JS_TAG, "")
    check_self_contained(page, markup, css)
    check_strict_csp(page, markup, js)
    return page


def check_strict_csp(page, markup, js):
    """Nothing that a policy without 'unsafe-inline' would block."""
    problems = []
    for m in re.finditer(r"<(?:script|style)\b", markup, re.I):
        problems.append((page.find(m.group(0)), f"`{m.group(0)}` in ui/index.html: "
                         "only the inlined script and stylesheet may be there"))
    # Attributes in markup: index.html, and the HTML the script writes.
    for text, where in ((markup, "ui/index.html"), (js, "the script")):
        for m in re.finditer(r"<[A-Za-z][^<>]*?\s(on[a-z]+|style)\s*=", text):
            kind = "inline event handler" if m.group(1).lower().startswith("on") else "style attribute"
            problems.append((page.find(m.group(0)), f"{kind} `{m.group(1)}=` in {where}: "
                             "use addEventListener / the CSSOM (element.style) instead"))
    for m in re.finditer(r"setAttribute\(\s*['\"](?:style|on[a-z]+)['\"]", js):
        problems.append((page.find(m.group(0)), f"`{m.group(0)}` in the script: use the CSSOM / addEventListener"))
    for m in re.finditer(r"javascript:", page, re.I):
        problems.append((m.start(), "a javascript: URL"))
    if problems:
        pos, what = min(problems)
        raise UiError(f"the page must run under a strict Content-Security-Policy: line {line_of(page, pos)} "
                      f"of the inlined page: {what}" + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""))


def csp_hash(page, tag):
    """'sha256-<base64>' of the text between <tag> and </tag>: the CSP source
    expression that allows that one inline element."""
    m = re.search(f"<{tag}>(.*?)</{tag}>", page, re.S)
    if not m:
        raise UiError(f"no inline <{tag}> in the page")
    return "sha256-" + base64.b64encode(hashlib.sha256(m.group(1).encode("ascii")).digest()).decode("ascii")


def check_self_contained(page, markup, css):
    """No URL that leaves the page's own origin, nor any fetched resource."""
    problems = []
    for m in re.finditer(r"\b(?:https?|wss?|ftp)://|//[A-Za-z0-9-]+\.[A-Za-z0-9.-]+/", page, re.I):
        # '//' starts JS comments; a host-looking path after it does not.
        problems.append((m.start(), f"external URL `{page[m.start():m.start() + 40]}`"))
    # Markup only: the script sets a.href to blob: URLs of its own downloads.
    for m in re.finditer(r"\s(?:src|href|action|poster|srcset|formaction)\s*=\s*[\"']?([^\"'\s>]*)", markup, re.I):
        v = m.group(1)
        if not (v.startswith("data:") or v.startswith("#")):
            problems.append((page.find(m.group(0).strip()), f"attribute `{m.group(0).strip()}` loads a resource"))
    for m in re.finditer(r"url\s*\(|@import", css, re.I):
        problems.append((page.find(m.group(0)), f"`{m.group(0)}` in style.css fetches a resource"))
    if problems:
        pos, what = problems[0]
        raise UiError(f"the page must be self-contained: line {line_of(page, pos)} of the inlined page: {what}"
                      + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""))


def chunks(page, size=CHUNK):
    """Pieces of at most `size` bytes, cut after a newline where one is near."""
    out, i = [], 0
    while i < len(page):
        end = min(len(page), i + size)
        if end < len(page):
            nl = page.rfind("\n", i, end)
            if nl > i + size // 2:
                end = nl + 1
        out.append(page[i:end])
        i = end
    return out


def pick_delimiter(page):
    for d in ["comfyvn_ui"] + [f"comfyvn_ui{i}" for i in range(1, 100)]:
        if ")" + d + '"' not in page:
            return d
    raise UiError("no raw-string delimiter fits the page")


def render_header(page):
    d = pick_delimiter(page)
    parts = chunks(page)
    literals = "\n".join(f'    R"{d}({p}){d}"' for p in parts)
    script_hash, style_hash = csp_hash(page, "script"), csp_hash(page, "style")
    return f"""// comfyvn_perf \u2014 the dashboard page served at GET /api/perf/ui.
// Generated from ui/ by tools/gen_ui_header.py; edit the sources there and run
// `{REGENERATE}` (the unit test `ui_header` fails while this file is stale).
// {len(page)} bytes of HTML, CSS and JavaScript in {len(parts)} raw literals of at most {CHUNK} bytes
// (MSVC caps a single literal at 16,380 bytes); adjacent literals concatenate.
// Only the implementation section holds them: one file per program parses them.
#pragma once

#include <string_view>  // kDashboardHtml, the CSP hashes

namespace comfyvn::perf::http {{

// The page, one self-contained HTML document. Defined in the implementation
// section (config.hpp, COMFYVN_PERF_IMPLEMENTATION).
extern const std::string_view kDashboardHtml;

// Content-Security-Policy source expressions for the page's one inline
// <script> and one inline <style>: "sha256-" and the base64 SHA-256 of the
// exact text between the tags, as served. With them a server sends
// script-src '<kDashboardScriptHash>' and style-src '<kDashboardStyleHash>'
// instead of 'unsafe-inline': the page has no inline event handler and no
// style attribute, the generator refuses them.
inline constexpr std::string_view kDashboardScriptHash = "{script_hash}";
inline constexpr std::string_view kDashboardStyleHash = "{style_hash}";

}}  // namespace comfyvn::perf::http

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
namespace comfyvn::perf::http {{

namespace detail {{
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
{literals};
#if defined(__clang__)
#pragma clang diagnostic pop
#elif defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
}}  // namespace detail

// Constant-initialised: valid before any dynamic initialiser runs.
const std::string_view kDashboardHtml{{detail::kDashboardHtmlBytes,
                                      sizeof(detail::kDashboardHtmlBytes) - 1}};

}}  // namespace comfyvn::perf::http
#endif
"""


def first_difference(a, b):
    al, bl = a.splitlines(), b.splitlines()
    for i, (x, y) in enumerate(zip(al, bl)):
        if x != y:
            return i + 1
    return min(len(al), len(bl)) + 1


def write_if_changed(path, text):
    try:
        with open(path, "r", encoding="utf-8", newline="") as f:
            if f.read() == text:
                return False
    except OSError:
        pass
    os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    os.replace(tmp, path)
    return True


def read_header(path):
    try:
        with open(path, "r", encoding="utf-8", newline="") as f:
            return f.read()
    except OSError as e:
        return None if e.errno == 2 else ""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ui", default=DEFAULT_UI, help="folder of index.html, style.css and js/")
    ap.add_argument("--output", help="header to write (default: the checked-in one)")
    ap.add_argument("--html", help="write the inlined page to this file ('-': stdout) instead of a header")
    ap.add_argument("--check", nargs="?", const=DEFAULT_HEADER, metavar="HEADER",
                    help="exit 1 when HEADER (default: the checked-in one) differs from what ui/ makes")
    ap.add_argument("--compare", nargs=2, metavar=("BUILT", "CHECKED_IN"),
                    help="exit 1 when the two headers differ")
    ap.add_argument("--weight", action="store_true", help="print the page weight; exit 1 over --max-bytes")
    ap.add_argument("--csp", action="store_true", help="print the CSP hashes of the inline script and style")
    ap.add_argument("--max-bytes", type=int, default=MAX_BYTES)
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)

    if a.compare:
        built, checked = (read_header(p) for p in a.compare)
        if built is None or built == "":
            print(f"FAIL: cannot read the generated header {a.compare[0]}")
            return 1
        if checked != built:
            where = "missing" if checked is None else f"differs from ui/ (first at line {first_difference(built, checked or '')})"
            print(f"FAIL: {a.compare[1]} {where}.\nRegenerate it: {REGENERATE}")
            return 1
        print(f"ok: {a.compare[1]} matches ui/")
        return 0

    try:
        page = build_html(a.ui)
    except UiError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 2
    size = len(page.encode("ascii"))
    over = size > a.max_bytes
    if a.weight:
        print(f"page weight: {size} bytes (limit {a.max_bytes})")
        return 1 if over else 0
    if over:
        print(f"FAIL: the page is {size} bytes, over the {a.max_bytes}-byte limit", file=sys.stderr)
        return 2
    if a.csp:
        print(f"script-src '{csp_hash(page, 'script')}'; style-src '{csp_hash(page, 'style')}'")
        return 0
    if a.html:
        if a.html == "-":
            sys.stdout.write(page)
        else:
            write_if_changed(a.html, page)
        return 0
    header = render_header(page)
    if a.check:
        current = read_header(a.check)
        if current != header:
            where = "missing" if current is None else f"stale (first difference at line {first_difference(header, current or '')})"
            print(f"FAIL: {a.check} is {where}.\nRegenerate it: {REGENERATE}")
            return 1
        if not a.quiet:
            print(f"ok: {a.check} matches ui/ ({size} bytes)")
        return 0
    out = a.output or DEFAULT_HEADER
    changed = write_if_changed(out, header)
    if not a.quiet:
        print(f"{os.path.relpath(out)}: {'written' if changed else 'unchanged'} "
              f"({size} bytes of page, {len(chunks(page))} literals)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
