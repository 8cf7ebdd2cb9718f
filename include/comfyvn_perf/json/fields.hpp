// comfyvn_perf — checks for fields of JSON request bodies.
//
// JSON has one number type; these decide what counts as "a number" and "an
// integer" the same way everywhere: 2.0 is an integer, 2.5 is not, true is
// not a number, and NaN or infinity never get through.
#pragma once

#include <cstddef>      // size_t
#include <cstdint>      // uint64_t
#include <optional>     // "not acceptable"
#include <string>       // shortened names
#include <string_view>  // length checks

#include <boost/json/fwd.hpp>  // value, object: what is checked

namespace comfyvn::perf::detail {

std::optional<double> json_number(const boost::json::value& v);

// A whole number >= 0 that fits in 64 bits.
std::optional<std::uint64_t> json_whole_number(const boost::json::value& v);

// Lengths are characters as a person counts them: UTF-8 code points, not
// bytes.
bool length_within(std::string_view s, std::size_t lo, std::size_t hi);

// A client-chosen key or id as error messages quote it: at most `max_bytes`
// (cut on a UTF-8 boundary, marked with "..."), so that a megabyte-long
// unknown key cannot make a megabyte-long detail.
std::string quoted_name(std::string_view s, std::size_t max_bytes = 64);

// The length of boost::json::serialize(v), counted through a small buffer
// instead of building the whole string: caps on stored metadata and on
// response bodies measure what a client would receive.
std::size_t serialized_size(const boost::json::value& v);

std::size_t serialized_size(const boost::json::object& o);

}  // namespace comfyvn::perf::detail

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <cmath>  // isfinite, floor

#include <boost/json.hpp>  // value, object, serializer

#include "../os/text.hpp"  // utf8_length, utf8_prefix

namespace comfyvn::perf::detail {

std::optional<double> json_number(const boost::json::value& v) {
  double d = 0;
  if (v.is_int64()) {
    d = static_cast<double>(v.get_int64());
  } else if (v.is_uint64()) {
    d = static_cast<double>(v.get_uint64());
  } else if (v.is_double()) {
    d = v.get_double();
  } else {
    return std::nullopt;
  }
  if (!std::isfinite(d)) return std::nullopt;
  return d;
}

std::optional<std::uint64_t> json_whole_number(const boost::json::value& v) {
  if (v.is_uint64()) return v.get_uint64();
  if (v.is_int64()) {
    if (v.get_int64() < 0) return std::nullopt;
    return static_cast<std::uint64_t>(v.get_int64());
  }
  if (v.is_double()) {
    const double d = v.get_double();
    // 2^64 is exactly representable; anything at or above it does not fit.
    if (!std::isfinite(d) || d < 0 || d >= 18446744073709551616.0 || std::floor(d) != d) {
      return std::nullopt;
    }
    return static_cast<std::uint64_t>(d);
  }
  return std::nullopt;
}

bool length_within(std::string_view s, std::size_t lo, std::size_t hi) {
  const std::size_t n = os::utf8_length(s);
  return n >= lo && n <= hi;
}

std::string quoted_name(std::string_view s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return std::string(s);
  std::string out(os::utf8_prefix(s, max_bytes));
  out += "...";
  return out;
}

// Both serialized_size overloads: `j` is anything serializer::reset takes
// (a value, an object), serialized through the buffer and only counted.
template <typename Json>
std::size_t counted_serialized_size(const Json& j) {
  boost::json::serializer sr;
  sr.reset(&j);
  char buf[4096];
  std::size_t n = 0;
  while (!sr.done()) n += sr.read(buf, sizeof buf).size();
  return n;
}

std::size_t serialized_size(const boost::json::value& v) {
  return counted_serialized_size(v);
}

std::size_t serialized_size(const boost::json::object& o) {
  return counted_serialized_size(o);
}

}  // namespace comfyvn::perf::detail
#endif
