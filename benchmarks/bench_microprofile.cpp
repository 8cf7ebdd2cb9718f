// The peer: microprofile's MICROPROFILE_SCOPEI, recording (groups enabled,
// one flip per 32,768 scopes so its buffers are consumed as in a real frame
// loop; the flip cost is amortised into the per-scope figure).
#include <microprofile.h>

#include "bench_common.hpp"

namespace {
void mp_setup(const benchmark::State&) {
  static const bool init = [] {
    MicroProfileOnThreadCreate("main");
    return true;
  }();
  (void)init;
  MicroProfileSetEnableAllGroups(1);
  MicroProfileFlip(nullptr);
}

void BM_Microprofile(benchmark::State& state) {
  std::uint64_t n = 0;
  for (auto _ : state) {
    {
      MICROPROFILE_SCOPEI("bench", "scope", 0xff8800);
      benchmark::ClobberMemory();
    }
    if ((++n & 32767) == 0 && state.thread_index() == 0) MicroProfileFlip(nullptr);
  }
}
}  // namespace

BENCHMARK(BM_Microprofile)->Setup(mp_setup)->Threads(1)->Threads(2);
