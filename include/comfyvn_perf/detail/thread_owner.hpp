// comfyvn_perf — ending a background thread held by pointer.
#pragma once

#include <thread>  // std::thread, this_thread::get_id

namespace comfyvn::perf::detail {

// Waits for `t` and frees it. When called from `t` itself (a stop requested
// by code running on that thread), joining would deadlock: the thread is
// detached instead and finishes on its own once its loop sees the stop flag.
inline void join_and_delete(std::thread* t) {
  if (t == nullptr) return;
  if (t->get_id() == std::this_thread::get_id()) {
    t->detach();
  } else {
    t->join();
  }
  delete t;
}

}  // namespace comfyvn::perf::detail
