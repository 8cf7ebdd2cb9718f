// comfyvn_perf — Pressure Stall Information (/proc/pressure/*).
//
// Kernels without PSI (or with it disabled) lack the files; the metrics then
// report the pressure as missing.
#pragma once

#include <optional>     // missing values
#include <string_view>  // parsing without copies

namespace comfyvn::perf::procfs {

// Pressure Stall Information: the avg10 of the "some" line.
std::optional<double> parse_psi_some_avg10(std::string_view text);

}  // namespace comfyvn::perf::procfs

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include "procfs.hpp"  // next_line, next_token, to_double

namespace comfyvn::perf::procfs {

std::optional<double> parse_psi_some_avg10(std::string_view text) {
  while (!text.empty()) {
    std::string_view line = next_line(text);
    if (next_token(line) != "some") continue;
    for (std::string_view tok = next_token(line); !tok.empty(); tok = next_token(line)) {
      if (tok.substr(0, 6) == "avg10=") return to_double(tok.substr(6));
    }
  }
  return std::nullopt;
}

}  // namespace comfyvn::perf::procfs
#endif
