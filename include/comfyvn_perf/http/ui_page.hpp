// comfyvn_perf — the dashboard page served at GET /api/perf/ui.
// Generated from ui/ by tools/gen_ui_header.py; edit the sources there.
#pragma once

#include <string_view>

namespace comfyvn::perf::http {

inline constexpr std::string_view kDashboardHtml = R"comfyvn_ui(<!doctype html>
<html><head><meta charset="utf-8"><title>comfyvn_perf</title></head>
<body><p data-testid="feature-flag">off</p></body></html>
)comfyvn_ui";

}  // namespace comfyvn::perf::http
