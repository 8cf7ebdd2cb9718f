// comfyvn_perf — the anonymiser's rules: which names hold secrets, which
// words are file paths, what a credential after "Bearer" looks like, and the
// marker that replaces a secret. docs/hooks.md lists them for users;
// hooks/text_scrubber.hpp applies them to text, hooks/anonymize.hpp to whole
// payloads.
#pragma once

#include <string_view>  // names, words

namespace comfyvn::perf {

// Replaces the value under a secret-looking key, and bearer tokens / JWTs.
inline constexpr std::string_view kRedacted = "[redacted]";

}  // namespace comfyvn::perf

namespace comfyvn::perf::detail::anon {

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

// Where one word of a text ends (white space, quotes, brackets, separators).
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

// "x-api-key", "sessionToken", "APIKey", "db.password" — compared without
// case and separators, so every spelling of a name is caught.
bool secret_key(std::string_view key);

// A plain identifier, as opposed to arbitrary text that happens to contain a
// secret word: "password" in "password=x" is a name, "/home/token:" is not.
bool key_name(std::string_view s) noexcept;

// A plain identifier that names a secret.
bool secret_name(std::string_view s);

// "name.ext" where ext starts with a letter: "forest.png", "a.tar.gz", but not
// "3.5ms", "v1.2" or ".bashrc" (a dot file has no extension).
std::string_view extension(std::string_view component) noexcept;

// Whether one word (no whitespace) is a file path. Absolute, home, drive, UNC
// and backslash paths always are. A relative path with forward slashes needs
// more evidence, so that "render/step", "ms/frame", "1/2", "image/png" or
// "TCP/IP" pass: a leading dot component, three or more components, or a
// component with a file extension.
bool is_path(std::string_view s) noexcept;

// What follows "Bearer": a credential is long or not a plain word, so that
// "the bearer of news" stays readable while "Bearer abc123" does not.
bool credential_like(std::string_view s) noexcept;

// "Bearer", "Basic", ...: the word after one is a credential.
bool auth_scheme(std::string_view s) noexcept;

// Nothing to look at: no separator, no "key: value", no JWT, no Bearer.
bool plain_text(std::string_view s) noexcept;

}  // namespace comfyvn::perf::detail::anon

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <cstddef>  // size_t
#include <string>   // normalised names

#include "../os/text.hpp"  // ASCII case

namespace comfyvn::perf::detail::anon {

bool ends_with(std::string_view s, std::string_view suffix) noexcept {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool secret_key(std::string_view key) {
  std::string norm;
  norm.reserve(key.size());
  for (char c : key)
    if (is_alnum(c)) norm.push_back(os::ascii_lower(c));
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
      if (os::iequals(w, short_word)) return true;
    i = j;
  }
  return false;
}

bool key_name(std::string_view s) noexcept {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!is_alnum(c) && c != '_' && c != '-' && c != '.') return false;
  return true;
}

bool secret_name(std::string_view s) {
  return key_name(s) && secret_key(s);
}

std::string_view extension(std::string_view component) noexcept {
  const std::size_t dot = component.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 >= component.size()) return {};
  const std::string_view ext = component.substr(dot + 1);
  if (ext.size() > 8 || !is_alpha(ext[0])) return {};
  for (char c : ext)
    if (!is_alnum(c)) return {};
  return ext;
}

bool is_path(std::string_view s) noexcept {
  if (s.size() < 2) return false;
  if (os::istarts_with(s, "file:")) return true;
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
    if (os::iequals(s, w)) return true;
  return false;
}

bool plain_text(std::string_view s) noexcept {
  return s.find_first_of("/\\:=") == std::string_view::npos &&
         s.find("eyJ") == std::string_view::npos && !os::icontains(s, "bearer");
}

}  // namespace comfyvn::perf::detail::anon
#endif
