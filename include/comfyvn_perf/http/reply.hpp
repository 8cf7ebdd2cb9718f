// comfyvn_perf — the HTTP adapter's answers: the Reply a request gets, the
// JSON envelope around a route's fields ({"ok", "detail", "feature_flag",
// ...}), and the response size cap (Options::max_response_bytes): bodies are
// serialised under the cap, client metadata is dropped first when a list
// would not fit, and what still does not fit is refused with a hint.
#pragma once

#include <cstddef>      // size_t
#include <string>       // the body
#include <string_view>  // headers, details, hints

#include <boost/json/array.hpp>       // lists whose metadata is fitted
#include <boost/json/object.hpp>      // fields
#include <boost/json/serializer.hpp>  // serialized_size_upto
#include <boost/json/value.hpp>       // bodies

#include "status.hpp"    // StatusCode
#include "validate.hpp"  // Rejection

namespace comfyvn::perf::http {

// The complete answer. Every error carries a JSON body with `ok` and
// `feature_flag`, and so does every success but 204 and the routes that serve
// another format (/metrics, /profiler/trace). A HEAD request gets the GET
// answer: the transport sends its headers and length without the body.
struct Reply {
  StatusCode status = StatusCode::ok;
  std::string body;                   // JSON text unless content_type says otherwise
  std::string_view content_type;      // empty: application/json
  std::string_view allow;             // Allow header (405 and OPTIONS), else empty
  std::string_view www_authenticate;  // challenge of a 401, else empty
  bool keep_alive = true;             // false: close the connection after this reply
};

namespace detail {

// `metadata_omitted`: how many entries of the list show `metadata: null`
// because of the size cap, counting those the producing part already
// dropped.
void add_omitted(json::object& o, std::size_t more);

// Serialises `v` into `out` unless it exceeds `cap` bytes; false then, having
// done at most about `cap` bytes of work (the writer stops there), so that a
// huge value is never written out in full just to be refused.
bool serialize_capped(const json::value& v, std::size_t cap, std::string& out);

// Serialised size of `v` (a value, object or array), counted up to just past
// `limit` (then it stops).
template <class Json>
std::size_t serialized_size_upto(const Json& v, std::size_t limit) {
  json::serializer sr;
  sr.reset(&v);
  char buf[16 * 1024];
  std::size_t n = 0;
  while (!sr.done() && n <= limit) n += sr.read(buf, sizeof buf).size();
  return n;
}

// Room kept for what json_reply adds around a route's fields: {"ok":true,
// "feature_flag":false} and separators.
inline constexpr std::size_t kEnvelopeBytes = 256;

// Keeps the body of a route under `cap` by dropping client metadata, the one
// part of a list entry whose size a client chooses: the entries of `items`
// keep their `metadata` in order while it fits; from the first that does not
// fit on, `metadata` is null. `fields` is the route's whole answer and
// contains `items`. Returns how many entries lost their metadata.
std::size_t fit_metadata(const json::object& fields, json::array& items, std::size_t cap);

// NaN and the infinities have no JSON spelling (Boost.JSON would write the
// non-JSON tokens NaN and Infinity, which every strict parser refuses). A
// number that overflowed somewhere (two 1e308 sizes summed) is written as
// null: the field is still there and the rest of the body stays readable.
// The depth is bounded by the request parser's depth cap plus a few levels.
void null_non_finite(json::value& v);

// The body of a response past Options::max_response_bytes. 422 rather than a
// 5xx: nothing failed, and the client can ask for less (`hint` names how).
Rejection too_large(std::size_t cap, std::string_view hint);

// {"ok", ["detail",] "feature_flag", ...fields} as a complete reply; an empty
// body when the JSON would exceed `cap` bytes.
Reply json_reply(StatusCode status, bool flag, std::string_view detail, json::object fields,
                 std::size_t cap = static_cast<std::size_t>(-1));

}  // namespace detail

}  // namespace comfyvn::perf::http

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <algorithm>  // min
#include <cmath>      // isfinite: no NaN or Infinity leaves the adapter
#include <utility>    // move
#include <vector>     // metadata set aside while a body is fitted under the cap

#include "../json/text.hpp"  // append_json_text

namespace comfyvn::perf::http::detail {

void add_omitted(json::object& o, std::size_t more) {
  std::size_t already = 0;
  if (const json::value* v = o.if_contains("metadata_omitted"); v != nullptr && v->is_uint64()) {
    already = static_cast<std::size_t>(v->get_uint64());
  } else if (v != nullptr && v->is_int64() && v->get_int64() > 0) {
    already = static_cast<std::size_t>(v->get_int64());
  }
  o["metadata_omitted"] = already + more;
}

bool serialize_capped(const json::value& v, std::size_t cap, std::string& out) {
  // The SDK's JSON text (json/text.hpp): whole numbers as integers, others
  // in their shortest exact form, never Boost's exponent spelling (8.5E1).
  out.clear();
  return perf::detail::append_json_text(v, out, cap);
}

std::size_t fit_metadata(const json::object& fields, json::array& items, std::size_t cap) {
  // Set every entry's metadata aside, measure the rest, then put metadata
  // back while it fits. Moving json values is cheap (no copy).
  std::vector<json::value> kept(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!items[i].is_object()) continue;
    if (json::value* m = items[i].get_object().if_contains("metadata")) {
      kept[i] = std::move(*m);
      *m = nullptr;
    }
  }
  const std::size_t budget = cap > kEnvelopeBytes ? cap - kEnvelopeBytes : 0;
  const std::size_t base = serialized_size_upto(fields, budget);
  std::size_t left = base <= budget ? budget - base : 0;
  std::size_t omitted = 0;
  bool full = false;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (kept[i].is_null()) continue;
    if (!full) {
      // `metadata` replaces "null" (4 bytes) in the text already counted.
      const std::size_t size = serialized_size_upto(kept[i], left + 4);
      if (size <= left + 4) {
        left -= size - std::min<std::size_t>(size, 4);
        items[i].get_object()["metadata"] = std::move(kept[i]);
        continue;
      }
      full = true;
    }
    ++omitted;
  }
  return omitted;
}

void null_non_finite(json::value& v) {
  if (v.is_double()) {
    if (!std::isfinite(v.get_double())) v = nullptr;
  } else if (v.is_object()) {
    for (auto& kv : v.get_object()) null_non_finite(kv.value());
  } else if (v.is_array()) {
    for (auto& e : v.get_array()) null_non_finite(e);
  }
}

Rejection too_large(std::size_t cap, std::string_view hint) {
  std::string detail =
      "response would exceed max_response_bytes (" + std::to_string(cap) + " bytes)";
  if (!hint.empty()) detail += "; " + std::string(hint);
  return Rejection{StatusCode::unprocessable_entity, std::move(detail),
                   json::object{{"max_response_bytes", cap}}};
}

Reply json_reply(StatusCode status, bool flag, std::string_view detail, json::object fields,
                 std::size_t cap) {
  const bool ok = status == StatusCode::ok;
  json::object body;
  body.reserve(fields.size() + 3);
  body["ok"] = ok;
  if (!ok) body["detail"] = detail;
  body["feature_flag"] = flag;
  for (auto& kv : fields) body.emplace(kv.key(), std::move(kv.value()));
  json::value whole(std::move(body));
  null_non_finite(whole);
  Reply reply;
  reply.status = status;
  if (!serialize_capped(whole, cap, reply.body)) reply.body.clear();
  return reply;
}

}  // namespace comfyvn::perf::http::detail
#endif
