// comfyvn_perf — the lazy-asset cache: registered assets, a size-weighted
// LRU of the loaded ones, pins, and eviction by target, pressure or request.
//
// The cache only decides and records: unload handlers and events go into
// BudgetEffects, which BudgetManager delivers once its lock is released.
//
// Not thread-safe: BudgetManager holds its lock around every call.
#pragma once

#include <cstddef>      // size_t
#include <cstdint>      // uint64_t
#include <functional>   // less<>: lookups by string_view
#include <map>          // assets by id, LRU by use order
#include <optional>     // argument checks
#include <string>       // ids
#include <string_view>  // API arguments
#include <vector>       // evictions, listings

#include <boost/json.hpp>  // metadata

#include "../metrics/sample.hpp"  // Metrics
#include "effects.hpp"            // BudgetEffects, Eviction
#include "types.hpp"              // assets, handlers, results

namespace comfyvn::perf {

// asset_id: 1-256 characters.
std::optional<std::string> check_asset_id(std::string_view asset_id);

// asset_id: 1-256 characters; size_mb: a finite number 0..1e9 (kMaxSizeMb).
std::optional<std::string> check_asset_fields(std::string_view asset_id, double size_mb);

// A size in whole kSizeUnitsPerMb units, rounded to nearest; saturates for
// figures beyond any checked size so that a direct caller cannot overflow.
std::uint64_t size_units(double mb) noexcept;

inline double units_to_mb(std::uint64_t units) noexcept {
  return static_cast<double>(units) / kSizeUnitsPerMb;
}

// evict_lazy_assets takes a target or an asset, never both.
std::optional<std::string> check_evict_args(const std::optional<double>& target_mb,
                                            const std::optional<std::string>& asset_id);

class AssetCache {
 public:
  // Registers (or re-registers) a loaded asset and makes it the most recently
  // used. Re-registering replaces size and metadata and keeps the existing
  // handlers unless new ones are given; pins survive. Then trims the loaded
  // total to `target_mb`, never evicting this asset. Body: {asset}.
  // Refused with queue_full, storing nothing, when a new id would pass
  // max_assets or the metadata would pass the byte cap (set_caps).
  // `metadata_bytes` is the serialized size of `metadata` when the caller has
  // measured it already (outside its lock); otherwise it is measured here.
  BudgetResult register_asset(std::string asset_id, double size_mb, boost::json::object metadata,
                              UnloadHandler handler, double now, std::uint64_t target_mb,
                              BudgetEffects& fx, LoadHandler load_handler = {},
                              std::optional<std::size_t> metadata_bytes = std::nullopt);

  // Marks an asset used now, loading it again if it had been evicted (its
  // load handler then runs after the lock), then trims to the target as
  // register_asset does. Body: {asset, reloaded}.
  BudgetResult touch_asset(std::string_view asset_id, double now, std::uint64_t target_mb,
                           BudgetEffects& fx);

  // Forgets an asset. A loaded one is unloaded first: its handler runs with
  // cause "unregister" and asset.evicted is emitted, as for any unload. Then
  // asset.unregistered {asset_id, size_mb, was_loaded}. An unknown id is not
  // an error: body {removed: false}. A pinned asset is a conflict, since its
  // pin holder is still using it. Body: {removed}.
  BudgetResult unregister(std::string_view asset_id, BudgetEffects& fx);

  // Trims loaded, unpinned assets, least recently used first, until their
  // total is <= target_mb (0 evicts every unpinned one). Body: {evicted:
  // [{asset_id, size_mb}], freed_mb}.
  BudgetResult evict_to(double target_mb, BudgetEffects& fx);

  // Evicts one asset: not_found when unknown, conflict when pinned. Body as
  // evict_to.
  BudgetResult evict_asset(std::string_view asset_id, BudgetEffects& fx);

  // Touches the asset and adds a pin; nullptr for an unknown asset.
  const BudgetAsset* pin(std::string_view asset_id, double now, std::uint64_t target_mb,
                         BudgetEffects& fx);

  void unpin(std::string_view asset_id) noexcept;

  // Keeps the loaded total at or under `target_mb` (0: no automatic trim),
  // never evicting `keep`.
  void trim_to_target(std::uint64_t target_mb, const BudgetAsset* keep, BudgetEffects& fx);

  // While the latest sample shows RAM or VRAM over its limit, evicts the
  // least recently used assets, assuming each frees its size until the next
  // sample says otherwise.
  void trim_for_pressure(const BudgetLimits& l, const Metrics& m, BudgetEffects& fx);

  // Every loaded asset, pinned or not (shutdown).
  void unload_all(EvictionCause cause, BudgetEffects& fx);

  // Used for evicted assets that have no handler of their own.
  void set_default_handler(UnloadHandler handler);
  // Used for reloaded assets that have no load handler of their own.
  void set_default_load_handler(LoadHandler handler);

  // The registry's caps (BudgetPolicy::max_assets, max_asset_metadata_bytes).
  // Lowering them below what is stored keeps every asset; only new
  // registrations are refused until enough are unregistered.
  void set_caps(std::size_t max_assets, std::size_t max_metadata_bytes) noexcept;

  // ---- reading ---------------------------------------------------------------

  // Loaded assets least recently used first, then the unloaded ones.
  std::vector<const BudgetAsset*> in_order() const;

  const BudgetAsset* find(std::string_view asset_id) const;

  std::size_t size() const noexcept { return assets_.size(); }
  std::size_t loaded() const noexcept { return lru_.size(); }
  // Exact: the sum of the loaded assets' sizes in whole units (size_units).
  std::uint64_t loaded_units() const noexcept { return loaded_units_; }
  double loaded_mb() const noexcept { return units_to_mb(loaded_units_); }
  std::size_t metadata_bytes() const noexcept { return metadata_bytes_; }

  // The cache's figures of BudgetManager::health().
  void fill(BudgetHealth& h) const noexcept;

 private:
  static BudgetResult unknown(std::string_view asset_id);

  static BudgetResult evicted_since(std::size_t first, const std::vector<Eviction>& out);

  // Marks loaded and most recently used.
  void load(BudgetAsset& a, double now);

  // Most recently used now, loaded again if it had been evicted: then its load
  // handler (else the default) is queued. True when it was reloaded.
  bool touch(BudgetAsset& a, double now, BudgetEffects& fx);

  // Takes a loaded asset out of the LRU and the loaded total (integers: the
  // total is exact, whatever sizes came and went).
  void unload_bytes(BudgetAsset& a);

  void evict_one(BudgetAsset& a, EvictionCause cause, BudgetEffects& fx);

  // Least recently used, loaded, unpinned, and not `keep`.
  BudgetAsset* eviction_candidate(const BudgetAsset* keep) const;

  void trim_to(std::uint64_t target_units, const BudgetAsset* keep, EvictionCause cause,
               BudgetEffects& fx);

  std::map<std::string, BudgetAsset, std::less<>> assets_;
  std::map<std::uint64_t, BudgetAsset*> lru_;  // loaded assets, least recently used first
  std::uint64_t use_seq_ = 0;
  std::uint64_t loaded_units_ = 0;  // sum of size_units of the loaded assets
  std::size_t metadata_bytes_ = 0;  // sum of metadata_bytes of every registered asset
  std::size_t max_assets_ = BudgetPolicy{}.max_assets;
  std::size_t max_metadata_bytes_ = BudgetPolicy{}.max_asset_metadata_bytes;
  std::uint64_t evictions_ = 0;
  UnloadHandler default_handler_;
  LoadHandler default_load_;
};

}  // namespace comfyvn::perf

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <cmath>    // isfinite
#include <utility>  // move

#include "../json/budget.hpp"  // asset_json
#include "../json/fields.hpp"  // length_within, quoted_name, serialized_size
#include "events.hpp"          // kBudgetAsset* triggers

namespace comfyvn::perf {

std::optional<std::string> check_asset_id(std::string_view asset_id) {
  if (!detail::length_within(asset_id, 1, 256)) {
    return std::string("asset_id must be 1-256 characters");
  }
  return std::nullopt;
}

std::optional<std::string> check_asset_fields(std::string_view asset_id, double size_mb) {
  if (auto err = check_asset_id(asset_id)) return err;
  if (!std::isfinite(size_mb) || size_mb < 0 || size_mb > kMaxSizeMb) {
    return std::string("size_mb must be a number >= 0 and <= 1e9");
  }
  return std::nullopt;
}

std::uint64_t size_units(double mb) noexcept {
  if (!(mb > 0)) return 0;
  const double u = mb * kSizeUnitsPerMb + 0.5;
  if (u >= 18446744073709551615.0) return ~std::uint64_t{0};
  return static_cast<std::uint64_t>(u);
}

std::optional<std::string> check_evict_args(const std::optional<double>& target_mb,
                                            const std::optional<std::string>& asset_id) {
  if (target_mb && asset_id) return std::string("give either target_mb or asset_id, not both");
  if (target_mb && (!std::isfinite(*target_mb) || *target_mb < 0 || *target_mb > kMaxSizeMb)) {
    return std::string("target_mb must be a number >= 0 and <= 1e9");
  }
  return std::nullopt;
}

BudgetResult AssetCache::register_asset(std::string asset_id, double size_mb,
                                        boost::json::object metadata, UnloadHandler handler,
                                        double now, std::uint64_t target_mb, BudgetEffects& fx,
                                        LoadHandler load_handler,
                                        std::optional<std::size_t> metadata_bytes) {
  const std::size_t bytes = metadata_bytes ? *metadata_bytes : detail::serialized_size(metadata);
  auto it = assets_.find(asset_id);
  const bool inserted = it == assets_.end();
  if (inserted && assets_.size() >= max_assets_) {
    return BudgetResult::failure(
        BudgetError::queue_full,
        "max_assets reached (" + std::to_string(max_assets_) +
            " assets registered): unregister assets before registering new ones");
  }
  const std::size_t others = metadata_bytes_ - (inserted ? 0 : it->second.metadata_bytes);
  if (bytes > max_metadata_bytes_ || others > max_metadata_bytes_ - bytes) {
    return BudgetResult::failure(
        BudgetError::queue_full,
        "max_asset_metadata_bytes reached (" + std::to_string(max_metadata_bytes_) +
            " bytes of metadata in all; this asset's is " + std::to_string(bytes) + ")");
  }
  if (inserted) {
    it = assets_.try_emplace(std::move(asset_id)).first;
    it->second.id = it->first;
    it->second.registered_at = now;
  }
  BudgetAsset& a = it->second;
  if (!inserted && a.loaded) unload_bytes(a);
  a.size_mb = size_mb;
  a.size_units = size_units(size_mb);
  a.metadata = std::move(metadata);
  metadata_bytes_ = others + bytes;
  a.metadata_bytes = bytes;
  if (handler) a.handler = std::move(handler);
  if (load_handler) a.load_handler = std::move(load_handler);
  load(a, now);
  BudgetResult r;
  r.body = {{"asset", asset_json(a)}};
  if (fx.events.wanted()) fx.events.add(kBudgetAssetRegistered, r.body);
  trim_to_target(target_mb, &a, fx);
  return r;
}

BudgetResult AssetCache::touch_asset(std::string_view asset_id, double now, std::uint64_t target_mb,
                                     BudgetEffects& fx) {
  auto it = assets_.find(asset_id);
  if (it == assets_.end()) return unknown(asset_id);
  BudgetAsset& a = it->second;
  const bool reloaded = touch(a, now, fx);
  BudgetResult r;
  r.body = {{"asset", asset_json(a)}, {"reloaded", reloaded}};
  trim_to_target(target_mb, &a, fx);
  return r;
}

BudgetResult AssetCache::unregister(std::string_view asset_id, BudgetEffects& fx) {
  auto it = assets_.find(asset_id);
  BudgetResult r;
  if (it == assets_.end()) {
    r.body = {{"removed", false}};
    return r;
  }
  BudgetAsset& a = it->second;
  if (a.pins > 0) {
    return BudgetResult::failure(BudgetError::conflict, "asset " + detail::quoted_name(asset_id) +
                                                            " is pinned: release its pins first");
  }
  const bool was_loaded = a.loaded;
  if (was_loaded) evict_one(a, EvictionCause::unregister, fx);
  if (fx.events.wanted()) {
    fx.events.add(kBudgetAssetUnregistered,
                  {{"asset_id", a.id}, {"size_mb", a.size_mb}, {"was_loaded", was_loaded}});
  }
  metadata_bytes_ -= a.metadata_bytes;
  assets_.erase(it);
  r.body = {{"removed", true}};
  return r;
}

BudgetResult AssetCache::evict_to(double target_mb, BudgetEffects& fx) {
  const std::size_t first = fx.evictions.size();
  trim_to(size_units(target_mb), nullptr, EvictionCause::explicit_, fx);
  return evicted_since(first, fx.evictions);
}

BudgetResult AssetCache::evict_asset(std::string_view asset_id, BudgetEffects& fx) {
  auto it = assets_.find(asset_id);
  if (it == assets_.end()) return unknown(asset_id);
  if (it->second.pins > 0) {
    return BudgetResult::failure(BudgetError::conflict,
                                 "asset " + detail::quoted_name(asset_id) + " is pinned");
  }
  const std::size_t first = fx.evictions.size();
  if (it->second.loaded) evict_one(it->second, EvictionCause::explicit_, fx);
  return evicted_since(first, fx.evictions);
}

const BudgetAsset* AssetCache::pin(std::string_view asset_id, double now, std::uint64_t target_mb,
                                   BudgetEffects& fx) {
  auto it = assets_.find(asset_id);
  if (it == assets_.end()) return nullptr;
  BudgetAsset& a = it->second;
  touch(a, now, fx);
  ++a.pins;
  trim_to_target(target_mb, &a, fx);
  return &a;
}

void AssetCache::unpin(std::string_view asset_id) noexcept {
  auto it = assets_.find(asset_id);
  if (it != assets_.end() && it->second.pins > 0) --it->second.pins;
}

void AssetCache::trim_to_target(std::uint64_t target_mb, const BudgetAsset* keep,
                                BudgetEffects& fx) {
  if (target_mb == 0) return;
  trim_to(size_units(static_cast<double>(target_mb)), keep, EvictionCause::target, fx);
}

void AssetCache::trim_for_pressure(const BudgetLimits& l, const Metrics& m, BudgetEffects& fx) {
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

void AssetCache::unload_all(EvictionCause cause, BudgetEffects& fx) {
  while (!lru_.empty()) evict_one(*lru_.begin()->second, cause, fx);
}

void AssetCache::set_default_handler(UnloadHandler handler) {
  default_handler_ = std::move(handler);
}

void AssetCache::set_default_load_handler(LoadHandler handler) {
  default_load_ = std::move(handler);
}

void AssetCache::set_caps(std::size_t max_assets, std::size_t max_metadata_bytes) noexcept {
  max_assets_ = max_assets;
  max_metadata_bytes_ = max_metadata_bytes;
}

std::vector<const BudgetAsset*> AssetCache::in_order() const {
  std::vector<const BudgetAsset*> all;
  all.reserve(assets_.size());
  for (const auto& kv : lru_) all.push_back(kv.second);
  for (const auto& kv : assets_) {
    if (!kv.second.loaded) all.push_back(&kv.second);
  }
  return all;
}

const BudgetAsset* AssetCache::find(std::string_view asset_id) const {
  auto it = assets_.find(asset_id);
  return it == assets_.end() ? nullptr : &it->second;
}

void AssetCache::fill(BudgetHealth& h) const noexcept {
  h.assets_registered = assets_.size();
  h.assets_loaded = lru_.size();
  h.loaded_mb = loaded_mb();
  h.asset_metadata_bytes = metadata_bytes_;
  h.assets_pinned = 0;
  for (const auto& kv : assets_) h.assets_pinned += kv.second.pins > 0;
  h.evictions = evictions_;
}

BudgetResult AssetCache::unknown(std::string_view asset_id) {
  return BudgetResult::failure(BudgetError::not_found,
                               "asset " + detail::quoted_name(asset_id) + " not found");
}

BudgetResult AssetCache::evicted_since(std::size_t first, const std::vector<Eviction>& out) {
  boost::json::array evicted;
  std::uint64_t freed = 0;  // exact, like the loaded total
  for (std::size_t i = first; i < out.size(); ++i) {
    evicted.push_back(
        boost::json::object{{"asset_id", out[i].asset_id}, {"size_mb", out[i].size_mb}});
    freed += out[i].size_units;
  }
  BudgetResult r;
  r.body = {{"evicted", std::move(evicted)}, {"freed_mb", units_to_mb(freed)}};
  return r;
}

void AssetCache::load(BudgetAsset& a, double now) {
  a.loaded = true;
  a.use_seq = ++use_seq_;
  a.last_used = now;
  lru_.emplace(a.use_seq, &a);
  loaded_units_ += a.size_units;
}

bool AssetCache::touch(BudgetAsset& a, double now, BudgetEffects& fx) {
  const bool reloaded = !a.loaded;
  if (a.loaded) unload_bytes(a);
  load(a, now);
  if (reloaded) {
    LoadHandler h = a.load_handler ? a.load_handler : default_load_;
    if (h) fx.reloads.push_back({a.id, a.metadata, std::move(h)});
  }
  return reloaded;
}

void AssetCache::unload_bytes(BudgetAsset& a) {
  lru_.erase(a.use_seq);
  a.loaded = false;
  loaded_units_ -= a.size_units;
}

void AssetCache::evict_one(BudgetAsset& a, EvictionCause cause, BudgetEffects& fx) {
  unload_bytes(a);
  ++a.evictions;
  ++evictions_;
  a.last_eviction = cause;
  fx.evictions.push_back(
      {a.id, a.size_mb, a.metadata, a.handler ? a.handler : default_handler_, cause, a.size_units});
  if (fx.events.wanted()) {
    fx.events.add(kBudgetAssetEvicted,
                  {{"asset_id", a.id}, {"size_mb", a.size_mb}, {"cause", to_string(cause)}});
  }
}

BudgetAsset* AssetCache::eviction_candidate(const BudgetAsset* keep) const {
  for (const auto& kv : lru_) {
    BudgetAsset* a = kv.second;
    if (a != keep && a->pins == 0) return a;
  }
  return nullptr;
}

void AssetCache::trim_to(std::uint64_t target_units, const BudgetAsset* keep, EvictionCause cause,
                         BudgetEffects& fx) {
  // Whole units on both sides: 0.1 + 0.2 MB fits a 0.3 MB target exactly.
  while (loaded_units_ > target_units) {
    BudgetAsset* a = eviction_candidate(keep);
    if (a == nullptr) break;
    evict_one(*a, cause, fx);
  }
}

}  // namespace comfyvn::perf
#endif
