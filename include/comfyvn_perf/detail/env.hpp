// comfyvn_perf — reading boolean switches from the environment.
#pragma once

#include <string_view>  // comparisons

namespace comfyvn::perf::detail {

// "1", "true", "yes", "on" (any case) switch a feature on; anything else,
// including an unset variable, does not.
inline bool env_flag_true(const char* v) noexcept {
  if (v == nullptr) return false;
  std::string_view s(v);
  if (s.size() > 5) return false;
  char low[6] = {};
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    low[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  const std::string_view l(low, s.size());
  return l == "1" || l == "true" || l == "yes" || l == "on";
}

}  // namespace comfyvn::perf::detail
