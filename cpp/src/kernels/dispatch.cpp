// Selection of the kernels' ISA path: once from the CPU's features and DENSEKIT_ISA.
#include "densekit/kernels/dispatch.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "densekit/runtime/cpu_features.hpp"

namespace densekit {
namespace kernels {

namespace {

Isa initial_isa() {
  const Isa best = best_isa();
  const char* env = std::getenv("DENSEKIT_ISA");
  if (!env || !*env) return best;
  Isa wanted;
  if (!parse_isa(env, &wanted)) {
    std::fprintf(stderr, "densekit: DENSEKIT_ISA=%s is not one of portable, avx2, avx512; using %s\n",
                 env, isa_name(best));
    return best;
  }
  if (!isa_supported(wanted)) {
    std::fprintf(stderr, "densekit: DENSEKIT_ISA=%s is not supported by this CPU; using %s\n", env,
                 isa_name(best));
    return best;
  }
  return wanted;
}

std::atomic<int>& active_slot() {
  static std::atomic<int> slot{int(initial_isa())};
  return slot;
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::portable: return "portable";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
  }
  return "unknown";
}

bool parse_isa(const char* text, Isa* out) {
  for (int i = 0; i < kIsaCount; ++i) {
    if (std::strcmp(text, isa_name(Isa(i))) == 0) {
      *out = Isa(i);
      return true;
    }
  }
  return false;
}

bool isa_supported(Isa isa) {
  const runtime::CpuFeatures& f = runtime::cpu_features();
  switch (isa) {
    case Isa::portable: return true;
    case Isa::avx2: return f.avx2 && f.fma;
    case Isa::avx512: return isa_supported(Isa::avx2) && f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl;
  }
  return false;
}

Isa best_isa() {
  for (int i = kIsaCount - 1; i > 0; --i)
    if (isa_supported(Isa(i))) return Isa(i);
  return Isa::portable;
}

Isa active_isa() { return Isa(active_slot().load(std::memory_order_relaxed)); }

bool set_active_isa(Isa isa) {
  if (!isa_supported(isa)) return false;
  active_slot().store(int(isa), std::memory_order_relaxed);
  return true;
}

}  // namespace kernels
}  // namespace densekit
