// comfyvn_perf — boolean switches from the environment (and config text).
#pragma once

#include <cstddef>      // size_t
#include <optional>     // "not a switch"
#include <string_view>  // comparisons

namespace comfyvn::perf::os {

// 1/0, true/false, yes/no, on/off in any case. nullopt with `invalid` set for
// anything else; nullopt with `invalid` clear for an empty string.
inline std::optional<bool> parse_switch(std::string_view s, bool& invalid) noexcept {
  invalid = false;
  if (s.empty()) return std::nullopt;
  char low[6] = {};
  if (s.size() < sizeof low) {
    for (std::size_t i = 0; i < s.size(); ++i) {
      const char c = s[i];
      low[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    const std::string_view l(low, s.size());
    if (l == "1" || l == "true" || l == "yes" || l == "on") return true;
    if (l == "0" || l == "false" || l == "no" || l == "off") return false;
  }
  invalid = true;
  return std::nullopt;
}

// True only for a set variable spelling "on" (see parse_switch).
inline bool env_flag_true(const char* v) noexcept {
  if (v == nullptr) return false;
  bool invalid = false;
  const std::optional<bool> on = parse_switch(v, invalid);
  return on.value_or(false);
}

}  // namespace comfyvn::perf::os
