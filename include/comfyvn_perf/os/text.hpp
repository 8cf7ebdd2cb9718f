// comfyvn_perf — small text helpers shared by the parts (ASCII only, no locale).
#pragma once

#include <cstddef>      // size_t
#include <string>       // lower-case copies
#include <string_view>  // inputs

namespace comfyvn::perf::os {

constexpr char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

inline std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

// Case-insensitive (ASCII) equality.
inline bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

inline bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

inline bool icontains(std::string_view s, std::string_view needle) noexcept {
  if (needle.size() > s.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= s.size(); ++i)
    if (iequals(s.substr(i, needle.size()), needle)) return true;
  return false;
}

constexpr bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// Without leading and trailing ASCII whitespace.
inline std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// The longest prefix of `s` of at most `n` bytes that does not end inside a
// UTF-8 code point.
inline std::string_view utf8_prefix(std::string_view s, std::size_t n) noexcept {
  if (s.size() <= n) return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

// Number of UTF-8 code points in `s`.
inline std::size_t utf8_length(std::string_view s) noexcept {
  std::size_t points = 0;
  for (const char c : s) points += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return points;
}

}  // namespace comfyvn::perf::os
