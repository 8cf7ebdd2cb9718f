// comfyvn_perf — the site table: every (name, category) a scope, a dynamic
// name or a counter has used, by id. Ids are dense and never reused; the
// table only grows (to COMFYVN_PERF_MAX_SITES), so a consumer may size its
// per-site arrays by it. Not thread-safe: the registry guards it with its
// state lock.
//
// Names and categories are cleaned once, here (os::clean_name): ill-formed
// UTF-8 and control characters become U+FFFD, and each is cut to
// kMaxNameBytes on a character boundary, ending in "…". A site is the
// cleaned (name, category) pair, compared as a pair; two raw names that
// clean to the same text are one site. Everything downstream (JSON,
// /metrics, traces) therefore sees valid, bounded UTF-8.
#pragma once

#include <cstddef>        // size_t
#include <cstdint>        // uint32_t
#include <string>         // keys
#include <string_view>    // names
#include <unordered_map>  // interned names
#include <vector>         // by id

#include "../config.hpp"  // COMFYVN_PERF_MAX_SITES, COMFYVN_PERF_MAX_DYNAMIC_NAMES
#include "consumer.hpp"   // SiteInfo

namespace comfyvn::perf::detail {

class SiteTable {
 public:

  // Holds the built-in sites: "(invalid)", "(other)" and "(frame)".
  SiteTable();

  // The id of (name, category), added when new. Past the table's size, or
  // for a dynamic name past the dynamic cap, "(other)" (counted as folded).
  std::uint32_t intern(std::string_view name, std::string_view category, bool dynamic,
                       const char* file, const char* function, std::uint32_t line);

  const std::vector<SiteInfo>& all() const { return sites_; }
  std::size_t size() const { return sites_.size(); }

  void set_max_dynamic(std::size_t n);
  std::uint64_t dynamic_names() const { return dynamic_names_; }
  std::uint64_t dynamic_folded() const { return dynamic_folded_; }

 private:
  std::vector<SiteInfo> sites_;
  std::unordered_map<std::string, std::uint32_t> ids_;
  std::size_t max_dynamic_ = COMFYVN_PERF_MAX_DYNAMIC_NAMES;
  std::uint64_t dynamic_names_ = 0;
  std::uint64_t dynamic_folded_ = 0;
};

}  // namespace comfyvn::perf::detail

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <algorithm>  // min
#include <utility>    // move

#include "../core/site.hpp"  // kOtherSiteId
#include "../os/text.hpp"    // clean_name

namespace comfyvn::perf::detail {

SiteTable::SiteTable() {
  sites_.reserve(1024);
  sites_.push_back(SiteInfo{"(invalid)", "", "", "", 0, false});
  sites_.push_back(SiteInfo{"(other)", "dynamic", "", "", 0, true});
  sites_.push_back(SiteInfo{"(frame)", "frame", "", "", 0, false, false, true});
}

std::uint32_t SiteTable::intern(std::string_view name, std::string_view category, bool dynamic,
                                const char* file, const char* function, std::uint32_t line) {
  const std::string clean = os::clean_name(name, kMaxNameBytes);
  const std::string clean_category = os::clean_name(category, kMaxNameBytes);
  // The pair, unambiguously: the name's length first.
  std::string key;
  const auto name_bytes = static_cast<std::uint32_t>(clean.size());
  key.reserve(sizeof name_bytes + clean.size() + clean_category.size());
  key.append(reinterpret_cast<const char*>(&name_bytes), sizeof name_bytes);
  key.append(clean).append(clean_category);
  auto it = ids_.find(key);
  if (it != ids_.end()) return it->second;
  if (sites_.size() >= COMFYVN_PERF_MAX_SITES) {
    ++dynamic_folded_;
    return kOtherSiteId;
  }
  if (dynamic) {
    if (dynamic_names_ >= max_dynamic_) {
      ++dynamic_folded_;
      return kOtherSiteId;
    }
    ++dynamic_names_;
  }
  const auto id = static_cast<std::uint32_t>(sites_.size());
  sites_.push_back(SiteInfo{clean, clean_category, file ? file : "", function ? function : "",
                            line, dynamic, category == kCounterCategory,
                            clean == kGpuFrameSiteName && clean_category == kGpuCategory});
  ids_.emplace(std::move(key), id);
  return id;
}

void SiteTable::set_max_dynamic(std::size_t n) {
  max_dynamic_ = std::min<std::size_t>(n, COMFYVN_PERF_MAX_SITES - 64);
}

}  // namespace comfyvn::perf::detail
#endif  // COMFYVN_PERF_IMPLEMENTATION
