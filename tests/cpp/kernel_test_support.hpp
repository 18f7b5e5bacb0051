// What the C++ tests of the int8, float16 and sparse kernels share: a counting CHECK, the
// closing "N passed, N failed" line, seeded values, the fp32 paths this CPU runs, and an
// OpenMP Threading::run.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <numeric>
#include <vector>

#include "densekit/kernels/dispatch.hpp"
#include "densekit/kernels/gemm_engine.hpp"

namespace kernel_test {

inline int failures = 0;
inline int checks = 0;

// Counts a check; prints the first 20 failures with a printf-style message.
#define CHECK(cond, ...)                                                      \
  do {                                                                        \
    ++kernel_test::checks;                                                    \
    if (!(cond)) {                                                            \
      if (++kernel_test::failures <= 20) {                                    \
        std::printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);          \
        std::printf(__VA_ARGS__);                                             \
        std::printf("\n");                                                    \
      }                                                                       \
    }                                                                         \
  } while (0)

// The closing line CTest's log shows; the process's exit status.
inline int report() {
  std::printf("%d passed, %d failed\n", checks - failures, failures);
  return failures ? 1 : 0;
}

// n values in [-amp, amp), deterministic in seed.
inline std::vector<float> random_floats(std::size_t n, std::uint64_t seed, float amp) {
  std::vector<float> v(n);
  std::uint64_t s = seed * 0x9E3779B97F4A7C15ULL + 3;
  for (auto& x : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x = amp * (float(s >> 40) / float(1 << 24) * 2 - 1);
  }
  return v;
}

inline std::vector<densekit::kernels::Isa> runnable_paths() {
  std::vector<densekit::kernels::Isa> paths;
  for (int i = 0; i < densekit::kernels::kIsaCount; ++i)
    if (densekit::kernels::isa_supported(densekit::kernels::Isa(i))) paths.push_back(densekit::kernels::Isa(i));
  return paths;
}

inline void omp_run(int parts, void (*body)(int, int, void*), void* ctx) {
#pragma omp parallel for schedule(static) num_threads(std::min(parts, omp_get_max_threads()))
  for (int p = 0; p < parts; ++p) body(p, parts, ctx);
}

// forward(z, x, B, threading): z (B, out) from x (B, in), both dense row-major.
using Forward = std::function<void(float* z, const float* x, densekit::kernels::Index B,
                                   const densekit::kernels::Threading& threading)>;

// A row's output must have the same bits whatever the batch: checks forward on N rows of x
// against every batch size up to 20 and every `step`-th after (rows [start, start+B), start
// varying), a permutation of the rows, and 2 or 3 parts on N and on 5 rows.
inline void check_batch_invariance(const char* what, const Forward& forward, const std::vector<float>& x,
                                   densekit::kernels::Index in, densekit::kernels::Index out,
                                   densekit::kernels::Index N, densekit::kernels::Index step) {
  using densekit::kernels::Index;
  std::vector<float> full(std::size_t(N * out));
  forward(full.data(), x.data(), N, {});
  int bad = 0;
  for (Index B = 1; B <= N; B += (B < 20 ? 1 : step)) {
    const Index start = (B * 7) % (N - B + 1);
    std::vector<float> part(std::size_t(B * out));
    forward(part.data(), x.data() + start * in, B, {});
    bad += std::memcmp(part.data(), full.data() + start * out, part.size() * sizeof(float)) != 0;
  }
  CHECK(bad == 0, "%s: %d batch sizes change rows", what, bad);
  std::vector<Index> perm(static_cast<std::size_t>(N));
  std::iota(perm.begin(), perm.end(), Index(0));
  std::uint64_t s = std::uint64_t(N) * 2654435761u + 1;
  for (Index i = N - 1; i > 0; --i) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    std::swap(perm[std::size_t(i)], perm[std::size_t((s >> 33) % std::uint64_t(i + 1))]);
  }
  std::vector<float> xp(std::size_t(N * in)), zp(full.size());
  for (Index i = 0; i < N; ++i)
    std::memcpy(&xp[std::size_t(i * in)], &x[std::size_t(perm[std::size_t(i)] * in)], std::size_t(in) * sizeof(float));
  forward(zp.data(), xp.data(), N, {});
  bad = 0;
  for (Index i = 0; i < N; ++i)
    bad += std::memcmp(&zp[std::size_t(i * out)], &full[std::size_t(perm[std::size_t(i)] * out)],
                       std::size_t(out) * sizeof(float)) != 0;
  CHECK(bad == 0, "%s: %d rows differ under a permutation", what, bad);
  for (int parts : {2, 3})
    for (Index B : {N, Index(5)}) {
      std::vector<float> threaded(std::size_t(B * out));
      forward(threaded.data(), x.data(), B, densekit::kernels::Threading{parts, &omp_run});
      CHECK(std::memcmp(threaded.data(), full.data(), threaded.size() * sizeof(float)) == 0,
            "%s: %d parts change a batch of %ld", what, parts, long(B));
    }
}

}  // namespace kernel_test
