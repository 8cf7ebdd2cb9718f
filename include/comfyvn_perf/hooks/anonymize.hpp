// comfyvn_perf — anonymisation of hook payloads.
//
// Hook subscribers are third-party code (mods, scripts), so nothing they see
// may carry a raw file path or a secret. Hooks::emit runs every payload
// through anonymize() before any subscriber sees it; the rules are listed in
// docs/hooks.md. The functions here are pure and thread-safe, and usable on
// their own (e.g. to scrub a log line).
//
// This header holds the options and the walk over a payload (depth, item and
// size limits); the rules for one string are hooks/secret_rules.hpp, applied
// by hooks/text_scrubber.hpp; path tokens are keyed by hooks/path_hash.hpp.
#pragma once

#include <cstddef>      // size_t
#include <string>       // scrubbed text
#include <string_view>  // inputs

#include <boost/json.hpp>  // payloads: value, object

#include "path_hash.hpp"     // SipKey, siphash24, process_path_key
#include "secret_rules.hpp"  // kRedacted

namespace comfyvn::perf {

struct AnonymizeOptions {
  // Containers nested deeper than this become the string "[depth limit]".
  std::size_t max_depth = 20;
  // Strings (values and keys) longer than this many bytes are cut at a UTF-8
  // boundary and end in "…[truncated]".
  std::size_t max_string_bytes = 2048;
  // Elements kept per array or object; the rest is summarised by a marker.
  std::size_t max_items = 10000;
  // Values visited per payload before every remaining container is cut.
  std::size_t max_values = 200000;
  // Key of the path hash. Empty: a random key drawn once per process, so the
  // same path gives the same token within a process and nothing across runs.
  std::string_view salt;
};

// True for keys whose value must never reach a subscriber (see docs/hooks.md).
bool is_secret_key(std::string_view key);
// One string with every path hashed and every credential redacted.
std::string anonymize_text(std::string_view text, const AnonymizeOptions& options = {});
// "<path:0123456789abcdef.png>": keyed hash of the whole path, extension kept.
std::string path_token(std::string_view path, const AnonymizeOptions& options = {});
boost::json::value anonymize_value(const boost::json::value& v,
                                   const AnonymizeOptions& options = {});
boost::json::object anonymize(const boost::json::object& payload,
                              const AnonymizeOptions& options = {});

namespace detail::anon {

// One string under the options: scrubbed (TextScrubber) and cut to
// max_string_bytes.
std::string scrub(std::string_view s, const AnonymizeOptions& o, const SipKey& key);

// One payload under the options: every string scrubbed, every value under a
// secret key redacted, nesting, items and the values visited bounded.
class Walker {
 public:
  Walker(const AnonymizeOptions& o, const SipKey& key) : o_(o), key_(key), budget_(o.max_values) {}

  boost::json::value value(const boost::json::value& v, std::size_t depth);
  boost::json::object object(const boost::json::object& in, std::size_t depth);
  boost::json::array array(const boost::json::array& in, std::size_t depth);

 private:
  const AnonymizeOptions& o_;
  const SipKey& key_;
  std::size_t budget_;
};

}  // namespace detail::anon

}  // namespace comfyvn::perf

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <algorithm>  // min

#include "../os/text.hpp"     // utf8_prefix
#include "text_scrubber.hpp"  // TextScrubber

namespace comfyvn::perf {

namespace detail::anon {

std::string scrub(std::string_view s, const AnonymizeOptions& o, const SipKey& key) {
  const std::size_t cap = o.max_string_bytes == 0 ? 1 : o.max_string_bytes;
  // Bounded work for huge strings: what lies this far out cannot reach the
  // capped output anyway.
  const std::string_view in = os::utf8_prefix(s, cap > s.size() / 4 ? s.size() : cap * 4);
  std::string out = plain_text(in) ? std::string(in) : TextScrubber(key).run(in);
  if (out.size() > cap || in.size() < s.size()) {
    out.resize(os::utf8_prefix(out, cap).size());
    out.append("\u2026[truncated]");
  }
  return out;
}

boost::json::value Walker::value(const boost::json::value& v, std::size_t depth) {
  switch (v.kind()) {
    case boost::json::kind::string:
      return boost::json::string(scrub(v.get_string(), o_, key_));
    case boost::json::kind::array:
      if (depth >= o_.max_depth) return boost::json::string("[depth limit]");
      return array(v.get_array(), depth);
    case boost::json::kind::object:
      if (depth >= o_.max_depth) return boost::json::string("[depth limit]");
      return object(v.get_object(), depth);
    default:  // numbers, booleans and null say nothing about the user
      return v;
  }
}

boost::json::object Walker::object(const boost::json::object& in, std::size_t depth) {
  boost::json::object out;
  const std::size_t n = std::min(in.size(), o_.max_items);
  out.reserve(n);
  std::size_t done = 0;
  for (const auto& kv : in) {
    if (done == n || budget_ == 0) break;
    --budget_;
    ++done;
    const std::string_view k = kv.key();
    std::string key = scrub(k, o_, key_);
    if (secret_key(k)) {
      out.emplace(key, kRedacted);
    } else {
      out.emplace(key, value(kv.value(), depth + 1));
    }
  }
  if (done < in.size()) out["[truncated]"] = in.size() - done;
  return out;
}

boost::json::array Walker::array(const boost::json::array& in, std::size_t depth) {
  boost::json::array out;
  const std::size_t n = std::min(in.size(), o_.max_items);
  out.reserve(n);
  std::size_t done = 0;
  for (const auto& v : in) {
    if (done == n || budget_ == 0) break;
    --budget_;
    ++done;
    out.push_back(value(v, depth + 1));
  }
  if (done < in.size()) {
    out.push_back(
        boost::json::string("[truncated " + std::to_string(in.size() - done) + " items]"));
  }
  return out;
}

}  // namespace detail::anon

bool is_secret_key(std::string_view key) {
  return detail::anon::secret_key(key);
}

std::string anonymize_text(std::string_view text, const AnonymizeOptions& options) {
  const detail::SipKey key = detail::path_key(options.salt);
  return detail::anon::scrub(text, options, key);
}

std::string path_token(std::string_view path, const AnonymizeOptions& options) {
  const detail::SipKey key = detail::path_key(options.salt);
  return detail::anon::TextScrubber(key).token(path);
}

boost::json::value anonymize_value(const boost::json::value& v, const AnonymizeOptions& options) {
  const detail::SipKey key = detail::path_key(options.salt);
  return detail::anon::Walker(options, key).value(v, 0);
}

boost::json::object anonymize(const boost::json::object& payload, const AnonymizeOptions& options) {
  const detail::SipKey key = detail::path_key(options.salt);
  return detail::anon::Walker(options, key).object(payload, 0);
}

}  // namespace comfyvn::perf
#endif
