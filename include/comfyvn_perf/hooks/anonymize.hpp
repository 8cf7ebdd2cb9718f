// comfyvn_perf — anonymisation of hook payloads.
//
// Hook subscribers are third-party code (mods, scripts), so nothing they see
// may carry a raw file path or a secret. Hooks::emit runs every payload
// through anonymize() before any subscriber sees it; the rules are listed in
// docs/hooks.md. The functions here are pure and thread-safe, and usable on
// their own (e.g. to scrub a log line).
#pragma once

#include <cstddef>      // size_t
#include <cstdint>      // uint64_t
#include <string>       // scrubbed text
#include <string_view>  // inputs

#include <boost/json.hpp>  // payloads: value, object

#include "../config.hpp"  // COMFYVN_PERF_VISIBLE

namespace comfyvn::perf {

// Replaces the value under a secret-looking key, and bearer tokens / JWTs.
inline constexpr std::string_view kRedacted = "[redacted]";

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

// ---------------------------------------------------------------------------
// Declarations.
// ---------------------------------------------------------------------------

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

namespace detail {

// SipHash-2-4 (Aumasson & Bernstein): a keyed hash, so that a subscriber who
// sees tokens cannot confirm a guessed path without the process's key.
struct SipKey {
  std::uint64_t k0 = 0;
  std::uint64_t k1 = 0;
};

std::uint64_t siphash24(const SipKey& key, std::string_view data) noexcept;

// One key per process, also across dlopen'ed libraries.
COMFYVN_PERF_VISIBLE const SipKey& process_path_key() noexcept;

}  // namespace detail

}  // namespace comfyvn::perf

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <unistd.h>  // getpid: fallback entropy for the path salt

#include <algorithm>  // min
#include <chrono>     // fallback entropy for the path salt
#include <random>     // random_device: the per-process path salt

#include "../os/text.hpp"  // ASCII case, UTF-8 prefixes

namespace comfyvn::perf {

namespace detail {

std::uint64_t siphash24(const SipKey& key, std::string_view data) noexcept {
  auto rotl = [](std::uint64_t x, int b) { return (x << b) | (x >> (64 - b)); };
  std::uint64_t v0 = key.k0 ^ 0x736f6d6570736575ull;
  std::uint64_t v1 = key.k1 ^ 0x646f72616e646f6dull;
  std::uint64_t v2 = key.k0 ^ 0x6c7967656e657261ull;
  std::uint64_t v3 = key.k1 ^ 0x7465646279746573ull;
  auto round = [&] {
    v0 += v1;
    v1 = rotl(v1, 13);
    v1 ^= v0;
    v0 = rotl(v0, 32);
    v2 += v3;
    v3 = rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = rotl(v1, 17);
    v1 ^= v2;
    v2 = rotl(v2, 32);
  };
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const std::size_t n = data.size();
  const std::size_t whole = n - n % 8;
  for (std::size_t i = 0; i < whole; i += 8) {
    std::uint64_t m = 0;
    for (int b = 7; b >= 0; --b) m = (m << 8) | p[i + b];  // little-endian on every host
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  std::uint64_t last = static_cast<std::uint64_t>(n & 0xff) << 56;
  for (std::size_t i = whole; i < n; ++i)
    last |= static_cast<std::uint64_t>(p[i]) << (8 * (i - whole));
  v3 ^= last;
  round();
  round();
  v0 ^= last;
  v2 ^= 0xff;
  round();
  round();
  round();
  round();
  return v0 ^ v1 ^ v2 ^ v3;
}

SipKey random_sip_key() noexcept {
  SipKey k;
  try {
    std::random_device rd;
    k.k0 = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    k.k1 = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  } catch (...) {
    // No entropy source: a per-run value is still far better than none.
    const auto t = static_cast<std::uint64_t>(
        std::chrono::high_resolution_clock::now().time_since_epoch().count());
    k.k0 = t ^ 0x9e3779b97f4a7c15ull;
    k.k1 = (static_cast<std::uint64_t>(::getpid()) << 32) ^ reinterpret_cast<std::uintptr_t>(&k);
  }
  return k;
}

const SipKey& process_path_key() noexcept {
  static const SipKey key = random_sip_key();
  return key;
}

SipKey key_for(const AnonymizeOptions& o) noexcept {
  if (o.salt.empty()) return process_path_key();
  const SipKey fixed{0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
  return SipKey{siphash24(fixed, o.salt), siphash24(SipKey{1, 2}, o.salt)};
}

namespace anon {

constexpr bool is_alpha(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
constexpr bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}
constexpr bool is_alnum(char c) noexcept {
  return is_alpha(c) || is_digit(c);
}
constexpr bool is_upper(char c) noexcept {
  return c >= 'A' && c <= 'Z';
}

using os::ascii_lower;
using os::icontains;
using os::iequals;
using os::istarts_with;
using os::utf8_prefix;

bool ends_with(std::string_view s, std::string_view suffix) noexcept {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// "x-api-key", "sessionToken", "APIKey", "db.password" — compared without
// case and separators, so every spelling of a name is caught.
bool secret_key(std::string_view key) {
  std::string norm;
  norm.reserve(key.size());
  for (char c : key)
    if (is_alnum(c)) norm.push_back(ascii_lower(c));
  const std::string_view s(norm);
  if (s.empty()) return false;
  // Distinctive enough to match anywhere in the name.
  static constexpr std::string_view anywhere[] = {
      "token",         "secret", "passw",  "passphrase", "apikey",
      "authorization", "oauth",  "cookie", "session",    "credential",
      "private",       "bearer", "jwt"};
  for (std::string_view w : anywhere)
    if (s.find(w) != std::string_view::npos) return true;
  // "key" alone would catch "keyframe"; as a suffix it catches "accesskey",
  // "privKey" and "signing_key".
  if (ends_with(s, "key") || ends_with(s, "keys")) return true;
  // Short words that only count as a whole word of the name.
  std::size_t i = 0;
  while (i < key.size()) {
    while (i < key.size() && !is_alnum(key[i])) ++i;
    std::size_t j = i;
    while (j < key.size() && is_alnum(key[j])) {
      // camelCase / PascalCase boundary: "keyId" -> "key", "Id";
      // "APIKey" -> "API", "Key".
      if (j > i && is_upper(key[j]) &&
          (!is_upper(key[j - 1]) ||
           (j + 1 < key.size() && !is_upper(key[j + 1]) && is_alpha(key[j + 1])))) {
        break;
      }
      ++j;
    }
    const std::string_view w = key.substr(i, j - i);
    for (std::string_view short_word : {"key", "keys", "auth", "pwd", "creds"})
      if (iequals(w, short_word)) return true;
    i = j;
  }
  return false;
}

// A plain identifier, as opposed to arbitrary text that happens to contain a
// secret word: "password" in "password=x" is a name, "/home/token:" is not.
bool key_name(std::string_view s) noexcept {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!is_alnum(c) && c != '_' && c != '-' && c != '.') return false;
  return true;
}

bool secret_name(std::string_view s) {
  return key_name(s) && secret_key(s);
}

// "name.ext" where ext starts with a letter: "forest.png", "a.tar.gz", but not
// "3.5ms", "v1.2" or ".bashrc" (a dot file has no extension).
std::string_view extension(std::string_view component) noexcept {
  const std::size_t dot = component.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 >= component.size()) return {};
  const std::string_view ext = component.substr(dot + 1);
  if (ext.size() > 8 || !is_alpha(ext[0])) return {};
  for (char c : ext)
    if (!is_alnum(c)) return {};
  return ext;
}

// Whether one word (no whitespace) is a file path. Absolute, home, drive, UNC
// and backslash paths always are. A relative path with forward slashes needs
// more evidence, so that "render/step", "ms/frame", "1/2", "image/png" or
// "TCP/IP" pass: a leading dot component, three or more components, or a
// component with a file extension.
bool is_path(std::string_view s) noexcept {
  if (s.size() < 2) return false;
  if (istarts_with(s, "file:")) return true;
  const char c0 = s[0];
  if (c0 == '/') return s[1] != '/' || s.size() > 2;
  if (c0 == '\\') return true;
  if (c0 == '~') return s.find_first_of("/\\") != std::string_view::npos;
  if (s.size() >= 3 && is_alpha(c0) && s[1] == ':' && (s[2] == '\\' || s[2] == '/')) return true;
  if (s.find('\\') != std::string_view::npos) return true;
  if (s.find('/') == std::string_view::npos) return false;
  std::size_t components = 0;
  bool letters = false;
  bool file_like = false;
  bool dot_first = false;
  std::size_t i = 0;
  while (i <= s.size()) {
    std::size_t j = s.find('/', i);
    if (j == std::string_view::npos) j = s.size();
    const std::string_view c = s.substr(i, j - i);
    if (!c.empty()) {
      if (components == 0 && c[0] == '.' &&
          (c == "." || c == ".." || (c.size() > 1 && (is_alnum(c[1]) || c[1] == '_')))) {
        dot_first = true;
      }
      ++components;
      for (char ch : c) letters = letters || is_alpha(ch);
      file_like = file_like || !extension(c).empty();
    }
    i = j + 1;
  }
  if (components < 2) return false;
  return dot_first || file_like || (components >= 3 && letters);
}

constexpr bool is_delimiter(char c) noexcept {
  return std::string_view(" \t\n\r\f\v\"'`<>()[]{},;|&").find(c) != std::string_view::npos;
}

constexpr bool is_token68(char c) noexcept {
  return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' ||
         c == '=';
}

constexpr bool is_b64url(char c) noexcept {
  return is_alnum(c) || c == '-' || c == '_';
}

// What follows "Bearer": a credential is long or not a plain word, so that
// "the bearer of news" stays readable while "Bearer abc123" does not.
bool credential_like(std::string_view s) noexcept {
  if (s.empty()) return false;
  bool plain_word = true;
  for (char c : s) {
    if (!is_token68(c)) return false;
    if (!is_alpha(c)) plain_word = false;
  }
  return s.size() >= 8 || !plain_word;
}

bool auth_scheme(std::string_view s) noexcept {
  for (std::string_view w : {"bearer", "basic", "digest", "token", "negotiate"})
    if (iequals(s, w)) return true;
  return false;
}

class TextScrubber {
 public:
  explicit TextScrubber(const SipKey& key) : key_(key) {}

  std::string run(std::string_view in) {
    out_.clear();
    out_.reserve(in.size());
    state_ = State::none;
    std::size_t i = 0;
    while (i < in.size()) {
      if (is_delimiter(in[i])) {
        out_.push_back(in[i++]);
        continue;
      }
      std::size_t j = i;
      while (j < in.size() && !is_delimiter(in[j])) ++j;
      word(in.substr(i, j - i));
      i = j;
    }
    return std::move(out_);
  }

  std::string token(std::string_view path) const {
    // The extension comes from the last component, without query or fragment.
    std::string_view last = path;
    if (const std::size_t q = last.find_first_of("?#"); q != std::string_view::npos) {
      last = last.substr(0, q);
    }
    if (const std::size_t sep = last.find_last_of("/\\"); sep != std::string_view::npos) {
      last = last.substr(sep + 1);
    }
    const std::string_view ext = extension(last);
    static constexpr char hex[] = "0123456789abcdef";
    const std::uint64_t h = siphash24(key_, path);
    std::string t = "<path:";
    for (int shift = 60; shift >= 0; shift -= 4) t.push_back(hex[(h >> shift) & 0xf]);
    if (!ext.empty()) t.append(".").append(ext);
    t.push_back('>');
    return t;
  }

 private:
  // "password: x", "Authorization: Bearer x" and "Bearer x" span words.
  enum class State { none, secret_name, expect_value, expect_credential, after_bearer };

  void word(std::string_view w) {
    switch (state_) {
      case State::expect_value:
        if (w == ":" || w == "=") {
          out_.append(w);
          return;
        }
        if (auth_scheme(w)) {
          out_.append(w);
          state_ = State::expect_credential;
          return;
        }
        redact(w);
        state_ = State::none;
        return;
      case State::expect_credential:
        redact(w);
        state_ = State::none;
        return;
      case State::after_bearer:
        state_ = State::none;
        if (credential_like(w)) {
          redact(w);
          return;
        }
        break;
      case State::secret_name:
        state_ = State::none;
        if (w == ":" || w == "=" || w == ":=") {
          out_.append(w);
          state_ = State::expect_value;
          return;
        }
        break;
      case State::none:
        break;
    }
    if (iequals(w, "bearer")) {
      out_.append(w);
      state_ = State::after_bearer;
      return;
    }
    if (w.find("://") != std::string_view::npos) {
      url(w);
      return;
    }
    // "token:" / "password=" ending a word: the next word is the value.
    std::size_t name_end = w.size();
    while (name_end > 0 && (w[name_end - 1] == ':' || w[name_end - 1] == '=')) --name_end;
    if (name_end < w.size() && secret_name(w.substr(0, name_end))) {
      out_.append(w);
      state_ = State::expect_value;
      return;
    }
    // "token:abc" in one word (a drive letter "C:\" is no secret name).
    if (const std::size_t colon = w.find(':');
        colon != std::string_view::npos && colon + 1 < w.size() &&
        w.find('=') == std::string_view::npos && secret_name(w.substr(0, colon))) {
      out_.append(w.substr(0, colon + 1)).append(kRedacted);
      return;
    }
    if (secret_name(w)) state_ = State::secret_name;
    assignments(w);
  }

  // The marker itself (between its brackets, which split words) stays, so
  // that anonymising twice changes nothing.
  void redact(std::string_view w) { out_.append(w == "redacted" ? w : kRedacted); }

  // "a=1", "api_key=XYZ", "path=/home/x": each side judged on its own.
  void assignments(std::string_view w) {
    bool redact_next = false;
    std::size_t i = 0;
    while (true) {
      const std::size_t eq = w.find('=', i);
      const std::string_view part = w.substr(i, eq == std::string_view::npos ? eq : eq - i);
      if (redact_next && !part.empty()) {
        redact(part);
      } else {
        piece(part);
      }
      if (eq == std::string_view::npos) break;
      redact_next = secret_name(part);
      out_.push_back('=');
      i = eq + 1;
    }
  }

  void piece(std::string_view p) {
    std::size_t end = p.size();
    while (end > 0 &&
           (p[end - 1] == '.' || p[end - 1] == ':' || p[end - 1] == '!' || p[end - 1] == '?')) {
      --end;
    }
    const std::string_view core = p.substr(0, end);
    if (is_path(core)) {
      out_.append(token(core)).append(p.substr(end));
      return;
    }
    jwts(p);
  }

  // Header and payload of a JWT are base64url JSON, so they start with "eyJ".
  // Two segments are enough: a JWT cut short still must not leak its claims.
  void jwts(std::string_view p) {
    std::size_t copied = 0;
    std::size_t i = 0;
    while ((i = p.find("eyJ", i)) != std::string_view::npos) {
      if (i > 0 && is_b64url(p[i - 1])) {
        i += 3;
        continue;
      }
      std::size_t j = i;
      while (j < p.size() && is_b64url(p[j])) ++j;
      std::size_t end = j;
      bool jwt = false;
      if (j - i >= 10 && j < p.size() && p[j] == '.') {
        std::size_t k = j + 1;
        while (k < p.size() && is_b64url(p[k])) ++k;
        if (k - (j + 1) >= 2) {
          jwt = true;
          end = k;
          if (k < p.size() && p[k] == '.') {
            ++k;
            while (k < p.size() && is_b64url(p[k])) ++k;
            end = k;
          }
        }
      }
      if (jwt) {
        out_.append(p.substr(copied, i - copied)).append(kRedacted);
        copied = end;
      }
      i = end > i ? end : i + 3;
    }
    out_.append(p.substr(copied));
  }

  // Web URLs keep scheme and host; user info and everything after the host
  // (path, query with its tokens, fragment) do not survive. file:// URLs are
  // paths.
  void url(std::string_view w) {
    const std::size_t sep = w.find("://");
    std::size_t s = sep;
    while (s > 0 && (is_alnum(w[s - 1]) || w[s - 1] == '+' || w[s - 1] == '-' || w[s - 1] == '.')) {
      --s;
    }
    if (s > 0) assignments(w.substr(0, s));
    std::size_t end = w.size();
    while (end > sep + 3 &&
           (w[end - 1] == '.' || w[end - 1] == ':' || w[end - 1] == '!' || w[end - 1] == '?')) {
      --end;
    }
    const std::string_view whole = w.substr(s, end - s);
    const std::string_view tail = w.substr(end);
    const std::string_view scheme = w.substr(s, sep - s);
    // A one-letter "scheme" is a drive: "C://Users/x".
    if (scheme.size() < 2 || iequals(scheme, "file")) {
      out_.append(token(whole)).append(tail);
      return;
    }
    const std::string_view rest = w.substr(sep + 3, end - (sep + 3));
    const std::size_t auth_end = std::min(rest.find_first_of("/?#"), rest.size());
    std::string_view authority = rest.substr(0, auth_end);
    out_.append(scheme).append("://");
    if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
      out_.append(kRedacted).push_back('@');
      authority = authority.substr(at + 1);
    }
    out_.append(authority);
    const std::string_view path = rest.substr(auth_end);
    if (!path.empty() && path != "/") {
      out_.append(token(path));
    } else {
      out_.append(path);
    }
    out_.append(tail);
  }

  const SipKey& key_;
  std::string out_;
  State state_ = State::none;
};

// Nothing to look at: no separator, no "key: value", no JWT, no Bearer.
bool plain_text(std::string_view s) noexcept {
  return s.find_first_of("/\\:=") == std::string_view::npos &&
         s.find("eyJ") == std::string_view::npos && !icontains(s, "bearer");
}

std::string scrub(std::string_view s, const AnonymizeOptions& o, const SipKey& key) {
  const std::size_t cap = o.max_string_bytes == 0 ? 1 : o.max_string_bytes;
  // Bounded work for huge strings: what lies this far out cannot reach the
  // capped output anyway.
  const std::string_view in = utf8_prefix(s, cap > s.size() / 4 ? s.size() : cap * 4);
  std::string out = plain_text(in) ? std::string(in) : TextScrubber(key).run(in);
  if (out.size() > cap || in.size() < s.size()) {
    out.resize(utf8_prefix(out, cap).size());
    out.append("\u2026[truncated]");
  }
  return out;
}

class Walker {
 public:
  Walker(const AnonymizeOptions& o, const SipKey& key) : o_(o), key_(key), budget_(o.max_values) {}

  boost::json::value value(const boost::json::value& v, std::size_t depth) {
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

  boost::json::object object(const boost::json::object& in, std::size_t depth) {
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
      if (anon::secret_key(k)) {
        out.emplace(key, kRedacted);
      } else {
        out.emplace(key, value(kv.value(), depth + 1));
      }
    }
    if (done < in.size()) out["[truncated]"] = in.size() - done;
    return out;
  }

  boost::json::array array(const boost::json::array& in, std::size_t depth) {
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

 private:
  const AnonymizeOptions& o_;
  const SipKey& key_;
  std::size_t budget_;
};

}  // namespace anon
}  // namespace detail

bool is_secret_key(std::string_view key) {
  return detail::anon::secret_key(key);
}

std::string anonymize_text(std::string_view text, const AnonymizeOptions& options) {
  const detail::SipKey key = detail::key_for(options);
  return detail::anon::scrub(text, options, key);
}

std::string path_token(std::string_view path, const AnonymizeOptions& options) {
  const detail::SipKey key = detail::key_for(options);
  return detail::anon::TextScrubber(key).token(path);
}

boost::json::value anonymize_value(const boost::json::value& v, const AnonymizeOptions& options) {
  const detail::SipKey key = detail::key_for(options);
  return detail::anon::Walker(options, key).value(v, 0);
}

boost::json::object anonymize(const boost::json::object& payload, const AnonymizeOptions& options) {
  const detail::SipKey key = detail::key_for(options);
  return detail::anon::Walker(options, key).object(payload, 0);
}

}  // namespace comfyvn::perf
#endif
