// comfyvn_perf — is this Host header the loopback interface? The adapter's
// guard against DNS rebinding: a browser that was lured to a foreign name
// sends that name, so only IP literals of the loopback interface and
// "localhost" pass. Parsed here, without a network library, so that the
// request handler stays free of Asio.
#pragma once

#include <string_view>  // the address and the Host header

namespace comfyvn::perf::http::detail {

// An IP literal of the loopback interface: 127.0.0.0/8, ::1, or an IPv4
// loopback address mapped into IPv6 (::ffff:127.x.y.z). A zone suffix
// ("::1%lo") does not change the answer.
bool is_loopback_literal(std::string_view address);

// A Host header naming a loopback address or "localhost" (any port), or none
// at all (HTTP/1.0 clients may omit it).
bool host_is_loopback(std::string_view host);

}  // namespace comfyvn::perf::http::detail

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <array>     // address bytes
#include <charconv>  // from_chars: hexadecimal groups
#include <cstddef>   // size_t
#include <optional>  // the position of "::"

#include "../os/text.hpp"  // os::trim, os::iequals

namespace comfyvn::perf::http::detail {

// A dotted-quad IPv4 literal, as strict as inet_pton: four decimal parts of
// at most 255 without leading zeros. Anything looser could be a DNS name.
bool parse_ipv4(std::string_view s, unsigned char* out) {
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (s.empty() || s.front() != '.') return false;
      s.remove_prefix(1);
    }
    std::size_t digits = 0;
    unsigned value = 0;
    while (digits < s.size() && digits < 4 && s[digits] >= '0' && s[digits] <= '9') {
      value = value * 10 + static_cast<unsigned>(s[digits] - '0');
      ++digits;
    }
    if (digits == 0 || digits > 3 || value > 255 || (digits > 1 && s[0] == '0')) return false;
    out[part] = static_cast<unsigned char>(value);
    s.remove_prefix(digits);
  }
  return s.empty();
}

// An IPv6 literal in any RFC 4291 spelling ("::1", "0:0:0:0:0:0:0:1",
// "::ffff:127.0.0.1"), without brackets or zone.
bool parse_ipv6(std::string_view s, std::array<unsigned char, 16>& out) {
  std::array<unsigned char, 16> bytes{};
  std::size_t n = 0;
  std::optional<std::size_t> gap;  // where "::" stands, in bytes
  if (s.substr(0, 2) == "::") {
    gap = 0;
    s.remove_prefix(2);
  }
  while (!s.empty()) {
    const auto colon = s.find(':');
    const std::string_view group = s.substr(0, colon);
    if (group.find('.') != std::string_view::npos) {
      // An embedded IPv4 address ends the literal.
      if (colon != std::string_view::npos || n + 4 > bytes.size()) return false;
      if (!parse_ipv4(group, &bytes[n])) return false;
      n += 4;
      break;
    }
    if (group.empty() || group.size() > 4 || n + 2 > bytes.size()) return false;
    unsigned value = 0;
    const char* end = group.data() + group.size();
    if (std::from_chars(group.data(), end, value, 16).ptr != end) return false;
    bytes[n++] = static_cast<unsigned char>(value >> 8);
    bytes[n++] = static_cast<unsigned char>(value & 0xFF);
    if (colon == std::string_view::npos) break;
    s.remove_prefix(colon + 1);
    if (s.empty()) return false;  // a trailing single ':'
    if (s.front() == ':') {
      if (gap) return false;  // "::" at most once
      gap = n;
      s.remove_prefix(1);
    }
  }
  if (gap) {
    if (n == bytes.size()) return false;  // "::" stands for at least one group
    const std::size_t tail = n - *gap;
    for (std::size_t i = 0; i < tail; ++i) bytes[15 - i] = bytes[n - 1 - i];
    for (std::size_t i = *gap; i < 16 - tail; ++i) bytes[i] = 0;
  } else if (n != bytes.size()) {
    return false;
  }
  out = bytes;
  return true;
}

bool is_loopback_literal(std::string_view address) {
  unsigned char v4[4];
  if (parse_ipv4(address, v4)) return v4[0] == 127;
  std::array<unsigned char, 16> v6;
  if (!parse_ipv6(address.substr(0, address.find('%')), v6)) return false;
  bool zero_prefix = true;  // bytes 0..9
  for (std::size_t i = 0; i < 10; ++i) zero_prefix = zero_prefix && v6[i] == 0;
  if (!zero_prefix) return false;
  if (v6[10] == 0xFF && v6[11] == 0xFF) return v6[12] == 127;
  for (std::size_t i = 10; i < 15; ++i) {
    if (v6[i] != 0) return false;
  }
  return v6[15] == 1;
}

bool host_is_loopback(std::string_view host) {
  host = os::trim(host);
  if (host.empty()) return true;
  std::string_view name = host;
  if (name.front() == '[') {
    const auto close = name.find(']');
    if (close == std::string_view::npos) return false;
    name = name.substr(1, close - 1);
  } else if (const auto colon = name.rfind(':'); colon != std::string_view::npos) {
    name = name.substr(0, colon);
  }
  return os::iequals(name, "localhost") || is_loopback_literal(name);
}

}  // namespace comfyvn::perf::http::detail
#endif
