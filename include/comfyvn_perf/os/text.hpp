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

// Length of the well-formed UTF-8 sequence at the start of `s` (1-4), or 0
// when it is not one (a stray continuation byte, an overlong form, a
// surrogate, a value past U+10FFFF or a truncated sequence).
inline std::size_t utf8_sequence(std::string_view s) noexcept {
  const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  std::size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (s.size() < n || b(1) < lo || b(1) > hi) return 0;
  for (std::size_t i = 2; i < n; ++i) {
    if ((b(i) & 0xC0) != 0x80) return 0;
  }
  return n;
}

// Appends `s` with every ill-formed UTF-8 byte replaced by U+FFFD, passing
// each well-formed character to `put(out, sequence)`.
template <class Put>
void append_utf8(std::string& out, std::string_view s, Put&& put) {
  while (!s.empty()) {
    const std::size_t n = utf8_sequence(s);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      s.remove_prefix(1);
      continue;
    }
    put(out, s.substr(0, n));
    s.remove_prefix(n);
  }
}

// `s` as the inside of a JSON string (no quotes): escapes quote, backslash
// and control characters; ill-formed UTF-8 becomes U+FFFD.
inline void append_json_escaped(std::string& out, std::string_view s) {
  append_utf8(out, s, [](std::string& o, std::string_view ch) {
    const unsigned char c = static_cast<unsigned char>(ch[0]);
    if (ch.size() > 1 || (c >= 0x20 && c != '"' && c != '\\')) {
      o.append(ch.data(), ch.size());
    } else if (c == '"' || c == '\\') {
      o += '\\';
      o += static_cast<char>(c);
    } else if (c == '\n') {
      o += "\\n";
    } else if (c == '\t') {
      o += "\\t";
    } else if (c == '\r') {
      o += "\\r";
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      o += "\\u00";
      o += kHex[c >> 4];
      o += kHex[c & 15];
    }
  });
}

// `s` as a Prometheus label value (text format 0.0.4): backslash, quote and
// newline escaped; ill-formed UTF-8 becomes U+FFFD.
inline void append_label_escaped(std::string& out, std::string_view s) {
  append_utf8(out, s, [](std::string& o, std::string_view ch) {
    if (ch == "\\") {
      o += "\\\\";
    } else if (ch == "\"") {
      o += "\\\"";
    } else if (ch == "\n") {
      o += "\\n";
    } else {
      o.append(ch.data(), ch.size());
    }
  });
}

// Names and categories as the profiler keeps them (CONTRACT §8): ill-formed
// UTF-8 and control characters (C0, DEL, C1) each become U+FFFD, and a name
// longer than `max_bytes` is cut on a character boundary and ends in "…"
// (U+2026), the whole within `max_bytes` (at least 4). Sets `*truncated`
// when it cut.
inline std::string clean_name(std::string_view s, std::size_t max_bytes,
                              bool* truncated = nullptr) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  static constexpr std::string_view kEllipsis = "\xE2\x80\xA6";
  // Every input byte gives at least one output byte, so past max_bytes + 1
  // input bytes the name is cut anyway.
  const bool long_input = s.size() > max_bytes;
  std::string out;
  out.reserve(long_input ? max_bytes + 4 : s.size());
  append_utf8(out, long_input ? s.substr(0, max_bytes + 1) : s,
              [](std::string& o, std::string_view ch) {
                const auto c = static_cast<unsigned char>(ch[0]);
                const bool control =
                    (ch.size() == 1 && (c < 0x20 || c == 0x7F)) ||
                    (ch.size() == 2 && c == 0xC2 && static_cast<unsigned char>(ch[1]) < 0xA0);
                o.append(control ? kReplacement : ch);
              });
  const bool cut = long_input || out.size() > max_bytes;
  if (cut) {
    const std::size_t keep = max_bytes > kEllipsis.size() ? max_bytes - kEllipsis.size() : 0;
    out.resize(utf8_prefix(out, keep).size());
    out.append(kEllipsis);
  }
  if (truncated != nullptr) *truncated = cut;
  return out;
}

}  // namespace comfyvn::perf::os
