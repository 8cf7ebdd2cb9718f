// comfyvn_perf — AssetPin: keeps one lazy asset from being evicted while it
// lives (BudgetManager::pin_asset hands them out).
#pragma once

#include <string>  // the asset id

namespace comfyvn::perf {

class BudgetManager;

// Keeps one asset from being evicted while it lives. Move-only; an empty pin
// (unknown asset) converts to false.
class AssetPin {
 public:
  AssetPin() = default;
  AssetPin(AssetPin&& o) noexcept;
  AssetPin& operator=(AssetPin&& o) noexcept;
  AssetPin(const AssetPin&) = delete;
  AssetPin& operator=(const AssetPin&) = delete;
  ~AssetPin();

  explicit operator bool() const noexcept { return manager_ != nullptr; }
  const std::string& asset_id() const noexcept { return asset_id_; }
  void release() noexcept;

 private:
  friend class BudgetManager;
  // How a pin lets go of its asset: the manager's unpin, passed in by the
  // manager so that this header needs no more of it than its name.
  using Unpin = void (*)(BudgetManager& manager, const std::string& asset_id) noexcept;

  AssetPin(BudgetManager* m, Unpin unpin, std::string id);

  BudgetManager* manager_ = nullptr;
  Unpin unpin_ = nullptr;
  std::string asset_id_;
};

}  // namespace comfyvn::perf

#ifdef COMFYVN_PERF_IMPLEMENTATION
// ---- implementation: compiled once per program (config.hpp, COMFYVN_PERF_IMPLEMENTATION) ----
#include <utility>  // move

namespace comfyvn::perf {

AssetPin::AssetPin(AssetPin&& o) noexcept
    : manager_(o.manager_), unpin_(o.unpin_), asset_id_(std::move(o.asset_id_)) {
  o.manager_ = nullptr;
}

AssetPin& AssetPin::operator=(AssetPin&& o) noexcept {
  if (this != &o) {
    release();
    manager_ = o.manager_;
    unpin_ = o.unpin_;
    asset_id_ = std::move(o.asset_id_);
    o.manager_ = nullptr;
  }
  return *this;
}

AssetPin::~AssetPin() {
  release();
}

AssetPin::AssetPin(BudgetManager* m, Unpin unpin, std::string id)
    : manager_(m), unpin_(unpin), asset_id_(std::move(id)) {}

void AssetPin::release() noexcept {
  if (manager_ != nullptr) unpin_(*manager_, asset_id_);
  manager_ = nullptr;
}

}  // namespace comfyvn::perf
#endif
