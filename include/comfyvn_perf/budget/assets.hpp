// comfyvn_perf — the lazy-asset cache: registered assets, a size-weighted
// LRU of the loaded ones, pins, and eviction by target, pressure or request.
//
// The cache only decides and records: unload handlers and events go into
// BudgetEffects, which BudgetManager delivers once its lock is released.
//
// Not thread-safe: BudgetManager holds its lock around every call.
#pragma once

#include <cmath>        // isfinite
#include <cstddef>      // size_t
#include <cstdint>      // uint64_t
#include <functional>   // less<>: lookups by string_view
#include <map>          // assets by id, LRU by use order
#include <optional>     // argument checks
#include <string>       // ids
#include <string_view>  // API arguments
#include <utility>      // move
#include <vector>       // evictions, listings

#include <boost/json.hpp>

#include "../json/budget.hpp"
#include "../json/fields.hpp"
#include "../metrics/sample.hpp"
#include "effects.hpp"
#include "events.hpp"
#include "types.hpp"

namespace comfyvn::perf {

// asset_id: 1-256 characters; size_mb: a finite number >= 0.
inline std::optional<std::string> check_asset_fields(std::string_view asset_id, double size_mb) {
  if (!detail::length_within(asset_id, 1, 256)) {
    return std::string("asset_id must be 1-256 characters");
  }
  if (!std::isfinite(size_mb) || size_mb < 0) return std::string("size_mb must be a number >= 0");
  return std::nullopt;
}

// evict_lazy_assets takes a target or an asset, never both.
inline std::optional<std::string> check_evict_args(const std::optional<double>& target_mb,
                                                   const std::optional<std::string>& asset_id) {
  if (target_mb && asset_id) return std::string("give either target_mb or asset_id, not both");
  if (target_mb && (!std::isfinite(*target_mb) || *target_mb < 0)) {
    return std::string("target_mb must be a number >= 0");
  }
  return std::nullopt;
}

class AssetCache {
 public:
  // Registers (or re-registers) a loaded asset and makes it the most recently
  // used. Re-registering replaces size and metadata and keeps the existing
  // handler unless a new one is given; pins survive. Then trims the loaded
  // total to `target_mb`, never evicting this asset. Body: {asset}.
  BudgetResult register_asset(std::string asset_id, double size_mb, boost::json::object metadata,
                              UnloadHandler handler, double now, std::uint64_t target_mb,
                              BudgetEffects& fx) {
    auto [it, inserted] = assets_.try_emplace(asset_id);
    BudgetAsset& a = it->second;
    if (inserted) {
      a.id = std::move(asset_id);
      a.registered_at = now;
    } else if (a.loaded) {
      unload_bytes(a);
    }
    a.size_mb = size_mb;
    a.metadata = std::move(metadata);
    if (handler) a.handler = std::move(handler);
    load(a, now);
    BudgetResult r;
    r.body = {{"asset", asset_json(a)}};
    if (fx.events.wanted()) fx.events.add(kBudgetAssetRegistered, r.body);
    trim_to_target(target_mb, &a, fx);
    return r;
  }

  // Marks an asset used now (loading it again if it had been evicted), then
  // trims to the target as register_asset does. Body: {asset}.
  BudgetResult touch_asset(std::string_view asset_id, double now, std::uint64_t target_mb,
                           BudgetEffects& fx) {
    auto it = assets_.find(asset_id);
    if (it == assets_.end()) return unknown(asset_id);
    BudgetAsset& a = it->second;
    touch(a, now);
    BudgetResult r;
    r.body = {{"asset", asset_json(a)}};
    trim_to_target(target_mb, &a, fx);
    return r;
  }

  // Trims loaded, unpinned assets, least recently used first, until their
  // total is <= target_mb (0 evicts every unpinned one). Body: {evicted:
  // [{asset_id, size_mb}], freed_mb}.
  BudgetResult evict_to(double target_mb, BudgetEffects& fx) {
    const std::size_t first = fx.evictions.size();
    trim_to(target_mb, nullptr, EvictionCause::explicit_, fx);
    return evicted_since(first, fx.evictions);
  }

  // Evicts one asset: not_found when unknown, conflict when pinned. Body as
  // evict_to.
  BudgetResult evict_asset(std::string_view asset_id, BudgetEffects& fx) {
    auto it = assets_.find(asset_id);
    if (it == assets_.end()) return unknown(asset_id);
    if (it->second.pins > 0) {
      return BudgetResult::failure(BudgetError::conflict,
                                   std::string("asset ").append(asset_id).append(" is pinned"));
    }
    const std::size_t first = fx.evictions.size();
    if (it->second.loaded) evict_one(it->second, EvictionCause::explicit_, fx);
    return evicted_since(first, fx.evictions);
  }

  // Touches the asset and adds a pin; nullptr for an unknown asset.
  const BudgetAsset* pin(std::string_view asset_id, double now, std::uint64_t target_mb,
                         BudgetEffects& fx) {
    auto it = assets_.find(asset_id);
    if (it == assets_.end()) return nullptr;
    BudgetAsset& a = it->second;
    touch(a, now);
    ++a.pins;
    trim_to_target(target_mb, &a, fx);
    return &a;
  }

  void unpin(std::string_view asset_id) noexcept {
    auto it = assets_.find(asset_id);
    if (it != assets_.end() && it->second.pins > 0) --it->second.pins;
  }

  // Keeps the loaded total at or under `target_mb` (0: no automatic trim),
  // never evicting `keep`.
  void trim_to_target(std::uint64_t target_mb, const BudgetAsset* keep, BudgetEffects& fx) {
    if (target_mb == 0) return;
    trim_to(static_cast<double>(target_mb), keep, EvictionCause::target, fx);
  }

  // While the latest sample shows RAM or VRAM over its limit, evicts the
  // least recently used assets, assuming each frees its size until the next
  // sample says otherwise.
  void trim_for_pressure(const BudgetLimits& l, const Metrics& m, BudgetEffects& fx) {
    double ram_over = l.max_mem_mb > 0 ? m.mem_used_mb - static_cast<double>(l.max_mem_mb) : 0.0;
    double vram_over = l.max_vram_mb > 0 && !m.gpus.empty()
                           ? m.vram_used_mb() - static_cast<double>(l.max_vram_mb)
                           : 0.0;
    while (ram_over > 0 || vram_over > 0) {
      BudgetAsset* a = eviction_candidate(nullptr);
      if (a == nullptr) break;
      ram_over -= a->size_mb;
      vram_over -= a->size_mb;
      evict_one(*a, EvictionCause::pressure, fx);
    }
  }

  // Every loaded asset, pinned or not (shutdown).
  void unload_all(EvictionCause cause, BudgetEffects& fx) {
    while (!lru_.empty()) evict_one(*lru_.begin()->second, cause, fx);
  }

  // Used for evicted assets that have no handler of their own.
  void set_default_handler(UnloadHandler handler) { default_handler_ = std::move(handler); }

  // ---- reading ---------------------------------------------------------------

  // Loaded assets least recently used first, then the unloaded ones.
  std::vector<const BudgetAsset*> in_order() const {
    std::vector<const BudgetAsset*> all;
    all.reserve(assets_.size());
    for (const auto& kv : lru_) all.push_back(kv.second);
    for (const auto& kv : assets_) {
      if (!kv.second.loaded) all.push_back(&kv.second);
    }
    return all;
  }

  const BudgetAsset* find(std::string_view asset_id) const {
    auto it = assets_.find(asset_id);
    return it == assets_.end() ? nullptr : &it->second;
  }

  std::size_t loaded() const noexcept { return lru_.size(); }
  double loaded_mb() const noexcept { return loaded_mb_ > 0 ? loaded_mb_ : 0.0; }

  // The cache's figures of BudgetManager::health().
  void fill(BudgetHealth& h) const noexcept {
    h.assets_registered = assets_.size();
    h.assets_loaded = lru_.size();
    h.loaded_mb = loaded_mb();
    h.assets_pinned = 0;
    for (const auto& kv : assets_) h.assets_pinned += kv.second.pins > 0;
    h.evictions = evictions_;
  }

 private:
  static BudgetResult unknown(std::string_view asset_id) {
    return BudgetResult::failure(BudgetError::not_found,
                                 std::string("asset ").append(asset_id).append(" not found"));
  }

  static BudgetResult evicted_since(std::size_t first, const std::vector<Eviction>& out) {
    boost::json::array evicted;
    double freed = 0;
    for (std::size_t i = first; i < out.size(); ++i) {
      evicted.push_back(
          boost::json::object{{"asset_id", out[i].asset_id}, {"size_mb", out[i].size_mb}});
      freed += out[i].size_mb;
    }
    BudgetResult r;
    r.body = {{"evicted", std::move(evicted)}, {"freed_mb", freed}};
    return r;
  }

  // Marks loaded and most recently used.
  void load(BudgetAsset& a, double now) {
    a.loaded = true;
    a.use_seq = ++use_seq_;
    a.last_used = now;
    lru_.emplace(a.use_seq, &a);
    loaded_mb_ += a.size_mb;
  }

  // Most recently used now, loaded again if it had been evicted.
  void touch(BudgetAsset& a, double now) {
    if (a.loaded) unload_bytes(a);
    load(a, now);
  }

  // Takes a loaded asset out of the LRU and the loaded total.
  void unload_bytes(BudgetAsset& a) {
    lru_.erase(a.use_seq);
    a.loaded = false;
    loaded_mb_ -= a.size_mb;
    // Rounding must not leave a phantom total once nothing is loaded.
    if (lru_.empty()) loaded_mb_ = 0;
  }

  void evict_one(BudgetAsset& a, EvictionCause cause, BudgetEffects& fx) {
    unload_bytes(a);
    ++a.evictions;
    ++evictions_;
    a.last_eviction = cause;
    fx.evictions.push_back(
        {a.id, a.size_mb, a.metadata, a.handler ? a.handler : default_handler_, cause});
    if (fx.events.wanted()) {
      fx.events.add(kBudgetAssetEvicted,
                    {{"asset_id", a.id}, {"size_mb", a.size_mb}, {"cause", to_string(cause)}});
    }
  }

  // Least recently used, loaded, unpinned, and not `keep`.
  BudgetAsset* eviction_candidate(const BudgetAsset* keep) const {
    for (const auto& kv : lru_) {
      BudgetAsset* a = kv.second;
      if (a != keep && a->pins == 0) return a;
    }
    return nullptr;
  }

  void trim_to(double target, const BudgetAsset* keep, EvictionCause cause, BudgetEffects& fx) {
    // A tolerance so sizes like 0.1 + 0.2 do not evict one asset too many.
    while (loaded_mb() > target + 1e-9) {
      BudgetAsset* a = eviction_candidate(keep);
      if (a == nullptr) break;
      evict_one(*a, cause, fx);
    }
  }

  std::map<std::string, BudgetAsset, std::less<>> assets_;
  std::map<std::uint64_t, BudgetAsset*> lru_;  // loaded assets, least recently used first
  std::uint64_t use_seq_ = 0;
  double loaded_mb_ = 0;
  std::uint64_t evictions_ = 0;
  UnloadHandler default_handler_;
};

}  // namespace comfyvn::perf
