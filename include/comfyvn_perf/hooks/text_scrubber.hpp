// comfyvn_perf — TextScrubber: one string through the anonymiser's rules
// (hooks/secret_rules.hpp). Word by word, it hashes every file path into a
// path token, redacts the value after a secret name ("password: x",
// "token=x"), the credential after an auth scheme, JWTs, and the user info
// and path of a URL.
#pragma once

#include <string>       // the scrubbed text
#include <string_view>  // input, words

#include "path_hash.hpp"  // SipKey: path tokens

namespace comfyvn::perf::detail::anon {

class TextScrubber {
 public:
  explicit TextScrubber(const SipKey& key) : key_(key) {}

  // `in` with every path hashed and every credential redacted.
  std::string run(std::string_view in);

  // "<path:0123456789abcdef.png>": keyed hash of the whole path, extension
  // kept.
  std::string token(std::string_view path) const;

 private:
  // "password: x", "Authorization: Bearer x" and "Bearer x" span words.
  enum class State { none, secret_name, expect_value, expect_credential, after_bearer };

  void word(std::string_view w);

  // The marker itself (between its brackets, which split words) stays, so
  // that anonymising twice changes nothing.
  void redact(std::string_view w);

  // "a=1", "api_key=XYZ", "path=/home/x": each side judged on its own.
  void assignments(std::string_view w);

  void piece(std::string_view p);

  // Header and payload of a JWT are base64url JSON, so they start with "eyJ".
  // Two segments are enough: a JWT cut short still must not leak its claims.
  void jwts(std::string_view p);

  // Web URLs keep scheme and host; user info and everything after the host
  // (path, query with its tokens, fragment) do not survive. file:// URLs are
  // paths.
  void url(std::string_view w);

  const SipKey& key_;
  std::string out_;
  State state_ = State::none;
};

}  // namespace comfyvn::perf::detail::anon

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <algorithm>  // min
#include <cstddef>    // size_t
#include <cstdint>    // uint64_t
#include <utility>    // move

#include "../os/text.hpp"    // iequals
#include "secret_rules.hpp"  // the rules, kRedacted

namespace comfyvn::perf::detail::anon {

std::string TextScrubber::run(std::string_view in) {
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

std::string TextScrubber::token(std::string_view path) const {
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

void TextScrubber::word(std::string_view w) {
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
  if (os::iequals(w, "bearer")) {
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

void TextScrubber::redact(std::string_view w) {
  out_.append(w == "redacted" ? w : kRedacted);
}

void TextScrubber::assignments(std::string_view w) {
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

void TextScrubber::piece(std::string_view p) {
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

void TextScrubber::jwts(std::string_view p) {
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

void TextScrubber::url(std::string_view w) {
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
  if (scheme.size() < 2 || os::iequals(scheme, "file")) {
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

}  // namespace comfyvn::perf::detail::anon
#endif
