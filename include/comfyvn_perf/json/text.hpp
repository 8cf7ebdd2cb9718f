// comfyvn_perf — JSON text as every response and file of the SDK writes it.
//
// Boost.JSON's serializer writes every double in exponent form
// ("max_cpu_percent":8.5E1, "evaluation_interval":2E0). Here a number whose
// value is a whole number (within ±2^53, where doubles are exact) is written
// as an integer, and any other number in the shortest form that reads back
// to the same double (std::to_chars). Strings are escaped as JSON requires,
// and ill-formed UTF-8 in them becomes U+FFFD, so the text is always strict
// UTF-8 JSON. NaN and infinity are written as null.
#pragma once

#include <cstddef>  // size_t
#include <string>   // the text

#include <boost/json/fwd.hpp>  // value

namespace comfyvn::perf::detail {

// Appends `v` to `out`. Returns false, with `out` then longer than `cap`,
// as soon as the text passes `cap` bytes (it stops writing there).
bool append_json_text(const boost::json::value& v, std::string& out,
                      std::size_t cap = static_cast<std::size_t>(-1));

std::string json_text(const boost::json::value& v);

}  // namespace comfyvn::perf::detail

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <charconv>  // to_chars
#include <cmath>     // isfinite, trunc
#include <cstdint>   // int64_t

#include <boost/json/value.hpp>

#include "../os/text.hpp"  // append_json_escaped

namespace comfyvn::perf::detail {
namespace {

void append_string(std::string& out, boost::json::string_view s) {
  out += '"';
  os::append_json_escaped(out, std::string_view(s.data(), s.size()));
  out += '"';
}

template <class T>
void append_integer(std::string& out, T v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_double(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  constexpr double kExact = 9007199254740992.0;  // 2^53
  if (v == std::trunc(v) && v > -kExact && v < kExact) {
    append_integer(out, static_cast<std::int64_t>(v));
    return;
  }
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

}  // namespace

bool append_json_text(const boost::json::value& v, std::string& out, std::size_t cap) {
  if (out.size() > cap) return false;
  switch (v.kind()) {
    case boost::json::kind::null:
      out += "null";
      break;
    case boost::json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      break;
    case boost::json::kind::int64:
      append_integer(out, v.get_int64());
      break;
    case boost::json::kind::uint64:
      append_integer(out, v.get_uint64());
      break;
    case boost::json::kind::double_:
      append_double(out, v.get_double());
      break;
    case boost::json::kind::string:
      append_string(out, v.get_string());
      break;
    case boost::json::kind::array: {
      out += '[';
      bool first = true;
      for (const boost::json::value& e : v.get_array()) {
        if (!first) out += ',';
        first = false;
        if (!append_json_text(e, out, cap)) return false;
      }
      out += ']';
      break;
    }
    case boost::json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) out += ',';
        first = false;
        append_string(out, kv.key());
        out += ':';
        if (!append_json_text(kv.value(), out, cap)) return false;
      }
      out += '}';
      break;
    }
  }
  return out.size() <= cap;
}

std::string json_text(const boost::json::value& v) {
  std::string out;
  append_json_text(v, out);
  return out;
}

}  // namespace comfyvn::perf::detail
#endif  // COMFYVN_PERF_IMPLEMENTATION
