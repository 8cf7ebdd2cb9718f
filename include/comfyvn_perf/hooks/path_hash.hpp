// comfyvn_perf — the keyed hash behind the anonymiser's path tokens
// ("<path:0123456789abcdef.png>"): SipHash-2-4 and the key it runs under.
#pragma once

#include <cstdint>      // uint64_t
#include <string_view>  // hashed text, salts

#include "../config.hpp"  // COMFYVN_PERF_VISIBLE

namespace comfyvn::perf::detail {

// SipHash-2-4 (Aumasson & Bernstein): a keyed hash, so that a subscriber who
// sees tokens cannot confirm a guessed path without the process's key.
struct SipKey {
  std::uint64_t k0 = 0;
  std::uint64_t k1 = 0;
};

std::uint64_t siphash24(const SipKey& key, std::string_view data) noexcept;

// One key per process, also across dlopen'ed libraries.
COMFYVN_PERF_VISIBLE const SipKey& process_path_key() noexcept;

// The key for AnonymizeOptions::salt: the process key when empty, else one
// derived from the salt (the same salt gives the same tokens in any run).
SipKey path_key(std::string_view salt) noexcept;

}  // namespace comfyvn::perf::detail

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <unistd.h>  // getpid: fallback entropy for the path salt

#include <chrono>  // fallback entropy for the path salt
#include <random>  // random_device: the per-process path salt

namespace comfyvn::perf::detail {

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
    for (std::size_t b = 8; b > 0; --b) m = (m << 8) | p[i + b - 1];  // little-endian on every host
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

SipKey path_key(std::string_view salt) noexcept {
  if (salt.empty()) return process_path_key();
  const SipKey fixed{0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
  return SipKey{siphash24(fixed, salt), siphash24(SipKey{1, 2}, salt)};
}

}  // namespace comfyvn::perf::detail
#endif
