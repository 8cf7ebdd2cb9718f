// comfyvn_perf — reading what a client sent: the `limit` query parameter,
// the JSON body and its typed fields. Every failure is a Rejection whose
// detail names the offending field, which the handler turns into the error
// response.
#pragma once

#include <cstddef>      // size_t
#include <optional>     // optional fields
#include <string>       // owned text, messages
#include <string_view>  // keys, query

#include <boost/json/object.hpp>  // Rejection::extra, bodies
#include <boost/json/value.hpp>   // fields' values

#include "options.hpp"  // kMaxDetailChars
#include "status.hpp"   // StatusCode

namespace comfyvn::perf::http::detail {

namespace json = boost::json;

// Thrown inside the handler and turned into the error reply at the top.
struct Rejection {
  StatusCode status;
  std::string detail;
  json::object extra = {};      // fields that travel with the error (a 409's reason)
  std::string_view allow = {};  // Allow header of a 405
  bool close = false;           // the request cannot be trusted to frame the next one
};

int hex_digit(char c);

// application/x-www-form-urlencoded decoding; false on a broken escape.
bool percent_decode(std::string_view in, std::string& out);

// An error detail cut to about kMaxDetailChars characters (never inside a
// UTF-8 sequence), ending in "..." when cut: details may quote what a client
// sent, and a megabyte-long key must not come back in full.
std::string clip_detail(std::string detail, std::size_t max_chars = kMaxDetailChars);

// Calls `fn(decoded_value, ok)` for every occurrence of query parameter
// `name`, in order; `ok` is false when the value could not be decoded.
template <class Fn>
void for_each_query_value(std::string_view query, std::string_view name, Fn&& fn) {
  std::string key, value;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const auto eq = pair.find('=');
    if (!percent_decode(pair.substr(0, eq), key) || key != name) continue;
    const std::string_view raw =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    const bool ok = percent_decode(raw, value);
    fn(std::string_view(value), ok);
  }
}

// Whether the query names parameter `name` at all.
bool has_query_param(std::string_view query, std::string_view name);

// One unsigned integer query parameter `name`: `fallback` when absent, else
// 0..max; anything else is a 422 naming it. Every occurrence must be valid;
// the last one wins. Other parameters are ignored.
std::size_t parse_count(std::string_view query, std::string_view name, std::size_t fallback,
                        std::size_t max);

// One decimal query parameter `name` ("2", "0.5", ".25"): `fallback` when
// absent, else min..max; anything else (signs, exponents, NaN, hex, more
// than 12 characters) is a 422 naming it and the range.
double parse_decimal(std::string_view query, std::string_view name, double fallback, double min,
                     double max);

// The `limit` query parameter of /health and /profiler/dashboard: an integer
// 0..kMaxLimit, kDefaultLimit when absent.
std::size_t parse_limit(std::string_view query);

// Boost.JSON reads 1e999999 as infinity and would write it back as the
// non-JSON token "Infinity"; refuse such numbers before anything stores them.
// True when `v` holds one; `path` then names it ("metadata.v[1]"). The
// parser's depth cap bounds the recursion.
bool find_non_finite(const json::value& v, std::string& path);

// A POST body: a JSON object, or nothing at all (treated as {} so that
// `curl -X POST .../profiler/reset` works).
json::object parse_body(std::string_view body, std::size_t max_depth);

// Typed access to the fields of one JSON object; every failure is a 422 whose
// detail names the field (with its path, e.g. "payload.perf.ram_mb").
class Fields {
 public:
  Fields(const json::object& obj, std::size_t max_object_bytes, std::string prefix = {});

  // Lengths count characters as a person does: UTF-8 code points (Boost.JSON
  // has already rejected invalid UTF-8).
  std::optional<std::string> text(std::string_view key, std::size_t min_chars,
                                  std::size_t max_chars) const;

  std::string required_text(std::string_view key, std::size_t min_chars,
                            std::size_t max_chars) const;

  std::optional<double> number(std::string_view key, double min) const;

  double required_number(std::string_view key, double min) const;

  std::optional<json::object> object(std::string_view key) const;

  std::string name_of(std::string_view key) const;

 private:
  // Absent and null both mean "not given".
  const json::value* find(std::string_view key) const;
  [[noreturn]] void fail(std::string_view key, const std::string& what) const;
  static std::string format_min(double min);

  const json::object& obj_;
  std::size_t max_object_bytes_;
  std::string prefix_;
};

}  // namespace comfyvn::perf::http::detail

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <cmath>    // isfinite
#include <cstdio>   // snprintf
#include <utility>  // move

#include <boost/json.hpp>  // parse, serialize

#include "../os/text.hpp"  // utf8_length

namespace comfyvn::perf::http::detail {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = hex_digit(in[i + 1]), lo = hex_digit(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return true;
}

std::string clip_detail(std::string detail, std::size_t max_chars) {
  if (detail.size() <= max_chars) return detail;
  std::size_t cut = max_chars;
  // Step back over UTF-8 continuation bytes (10xxxxxx) to a character start.
  while (cut > 0 && (static_cast<unsigned char>(detail[cut]) & 0xC0) == 0x80) --cut;
  detail.resize(cut);
  detail += "...";
  return detail;
}

bool has_query_param(std::string_view query, std::string_view name) {
  bool found = false;
  for_each_query_value(query, name, [&](std::string_view, bool) { found = true; });
  return found;
}

std::size_t parse_count(std::string_view query, std::string_view name, std::size_t fallback,
                        std::size_t max) {
  std::size_t result = fallback;
  for_each_query_value(query, name, [&](std::string_view value, bool ok) {
    // Ten digits hold every accepted maximum and cannot overflow size_t.
    bool good = ok && !value.empty() && value.size() <= 10;
    std::size_t n = 0;
    for (const char c : value) {
      if (c < '0' || c > '9') good = false;
      if (good) n = n * 10 + static_cast<std::size_t>(c - '0');
    }
    if (!good || n > max) {
      throw Rejection{
          StatusCode::unprocessable_entity,
          std::string(name) + " must be an integer between 0 and " + std::to_string(max)};
    }
    result = n;
  });
  return result;
}

double parse_decimal(std::string_view query, std::string_view name, double fallback, double min,
                     double max) {
  double result = fallback;
  for_each_query_value(query, name, [&](std::string_view value, bool ok) {
    bool good = ok && !value.empty() && value.size() <= 12 && value != ".";
    double whole = 0, scale = 0;  // scale: 0 before the point, then 0.1, 0.01, ...
    for (const char c : value) {
      if (c == '.' && scale == 0) {
        scale = 0.1;
      } else if (c >= '0' && c <= '9') {
        if (scale == 0) {
          whole = whole * 10 + (c - '0');
        } else {
          whole += (c - '0') * scale;
          scale /= 10;
        }
      } else {
        good = false;
      }
    }
    if (!good || whole < min || whole > max) {
      char range[64];
      std::snprintf(range, sizeof range, " must be a number from %g to %g", min, max);
      throw Rejection{StatusCode::unprocessable_entity, std::string(name) + range};
    }
    result = whole;
  });
  return result;
}

std::size_t parse_limit(std::string_view query) {
  return parse_count(query, "limit", kDefaultLimit, kMaxLimit);
}

bool find_non_finite(const json::value& v, std::string& path) {
  if (v.is_double()) return !std::isfinite(v.get_double());
  if (v.is_object()) {
    for (const auto& kv : v.get_object()) {
      if (find_non_finite(kv.value(), path)) {
        const std::string key(kv.key());
        path = path.empty() ? key : (path.front() == '[' ? key + path : key + "." + path);
        // Only the first characters reach the detail (clip_detail).
        if (path.size() > 2 * kMaxDetailChars) path.resize(2 * kMaxDetailChars);
        return true;
      }
    }
  } else if (v.is_array()) {
    const auto& arr = v.get_array();
    for (std::size_t i = 0; i < arr.size(); ++i) {
      if (find_non_finite(arr[i], path)) {
        const std::string idx = "[" + std::to_string(i) + "]";
        path = path.empty() ? idx : (path.front() == '[' ? idx + path : idx + "." + path);
        return true;
      }
    }
  }
  return false;
}

json::object parse_body(std::string_view body, std::size_t max_depth) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return {};
  json::parse_options opts;
  opts.max_depth = max_depth;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec, json::storage_ptr(), opts);
  if (ec == json::error::too_deep) {
    throw Rejection{StatusCode::bad_request,
                    "body nests deeper than " + std::to_string(max_depth) + " levels"};
  }
  if (ec) throw Rejection{StatusCode::bad_request, "body is not valid JSON: " + ec.message()};
  if (!v.is_object()) throw Rejection{StatusCode::bad_request, "body must be a JSON object"};
  std::string where;
  if (find_non_finite(v, where)) {
    throw Rejection{StatusCode::unprocessable_entity,
                    clip_detail(where + " is out of range (not a finite number)")};
  }
  return std::move(v.get_object());
}

Fields::Fields(const json::object& obj, std::size_t max_object_bytes, std::string prefix)
    : obj_(obj), max_object_bytes_(max_object_bytes), prefix_(std::move(prefix)) {}

std::optional<std::string> Fields::text(std::string_view key, std::size_t min_chars,
                                        std::size_t max_chars) const {
  const json::value* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) fail(key, "must be a string");
  const std::string_view s = v->get_string();
  const std::size_t n = os::utf8_length(s);
  if (n < min_chars || n > max_chars) {
    fail(key, "must be " + std::to_string(min_chars) + "-" + std::to_string(max_chars) +
                  " characters long");
  }
  for (const char c : s) {
    // Ids and names end up in logs and keys: no NUL, newline or escape codes.
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      fail(key, "must not contain control characters");
    }
  }
  return std::string(s);
}

std::string Fields::required_text(std::string_view key, std::size_t min_chars,
                                  std::size_t max_chars) const {
  auto s = text(key, min_chars, max_chars);
  if (!s) fail(key, "is required");
  return std::move(*s);
}

std::optional<double> Fields::number(std::string_view key, double min) const {
  const json::value* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_number()) fail(key, "must be a number");
  const double d = v->to_number<double>();
  if (!std::isfinite(d) || d < min) fail(key, "must be a number >= " + format_min(min));
  return d;
}

double Fields::required_number(std::string_view key, double min) const {
  auto d = number(key, min);
  if (!d) fail(key, "is required");
  return *d;
}

std::optional<json::object> Fields::object(std::string_view key) const {
  const json::value* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_object()) fail(key, "must be an object");
  if (json::serialize(*v).size() > max_object_bytes_) {
    fail(key, "is too large (at most " + std::to_string(max_object_bytes_) + " bytes of JSON)");
  }
  return v->get_object();
}

std::string Fields::name_of(std::string_view key) const {
  return prefix_ + std::string(key);
}

const json::value* Fields::find(std::string_view key) const {
  const json::value* v = obj_.if_contains(key);
  return (v == nullptr || v->is_null()) ? nullptr : v;
}

void Fields::fail(std::string_view key, const std::string& what) const {
  throw Rejection{StatusCode::unprocessable_entity, clip_detail(name_of(key) + " " + what)};
}

std::string Fields::format_min(double min) {
  std::string s = std::to_string(min);
  s.erase(s.find_last_not_of('0') + 1);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace comfyvn::perf::http::detail
#endif
