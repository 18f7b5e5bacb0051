// The threading policy, stated once.
//
// Threads come only from here: the kernels vectorize, and large work is split into parts that
// run_parallel() hands to OpenMP threads. A matrix product is split along its output columns (or
// rows) by the engine (kernels/gemm_engine.hpp, given partition_count() and run_parallel);
// element-wise loops by parallel_range/parallel_rows. Small products and small element-wise loops
// stay whole: a parallel region costs microseconds.
//
// Determinism: how work is split depends only on the shapes and the machine (partition_count()),
// never on how many threads run — threads only decide who computes which part. So one thread,
// two threads, or the auto-tuner switching between them give bit-identical results.
#pragma once

#include <algorithm>

#include "densekit/runtime/types.hpp"

namespace densekit {

// Threads used by kernels; defaults to OMP_NUM_THREADS (or the core count). A ThreadLimit on
// the calling thread lowers it for a scope.
int num_threads();
void set_num_threads(int n);

// Caps num_threads() on the calling thread while alive (used by the thread auto-tuner).
class ThreadLimit {
 public:
  explicit ThreadLimit(int n);
  ~ThreadLimit();
  ThreadLimit(const ThreadLimit&) = delete;
  ThreadLimit& operator=(const ThreadLimit&) = delete;

 private:
  int previous_;
};

// Number of panels large work is split into: the machine's core count, fixed for the process.
int partition_count();

// Runs body(p, parts, ctx) for every part p in [0, parts), on up to num_threads() threads.
void run_parallel(int parts, void (*body)(int, int, void*), void* ctx);

// Element-wise loops below this many elements run single-threaded.
constexpr Index kParallelElements = 1 << 15;

namespace detail {
// [begin, end) of part t of n parts of `total`, boundaries rounded to `align`.
inline void split_range(Index total, int t, int n, Index align, Index& begin, Index& end) {
  Index chunk = (total + n - 1) / n;
  chunk = (chunk + align - 1) / align * align;
  begin = std::min<Index>(total, chunk * t);
  end = std::min<Index>(total, begin + chunk);
}

template <class F>
void trampoline(int t, int n, void* ctx) {
  (*static_cast<F*>(ctx))(t, n);
}
}  // namespace detail

// Runs f(p, n) for every part p of n, on as many threads as allowed.
template <class F>
void parallel_invoke(int n, F&& f) {
  using Fn = std::remove_reference_t<F>;
  run_parallel(n, &detail::trampoline<Fn>, static_cast<void*>(&f));
}

// Runs f(begin, end) over [0, n) element indices, split between threads (at multiples of
// `align`) when n is large.
template <class F>
void parallel_range(Index n, Index align, F&& f) {
  const int nparts = n < kParallelElements ? 1 : partition_count();
  if (nparts <= 1) {
    f(Index(0), n);
    return;
  }
  parallel_invoke(nparts, [&](int t, int parts) {
    Index b, e;
    detail::split_range(n, t, parts, align, b, e);
    if (b < e) f(b, e);
  });
}

// Runs f(row_begin, row_end) over [0, rows), split between threads when rows*cols is large.
template <class F>
void parallel_rows(Index rows, Index cols, F&& f) {
  const int nparts =
      rows * cols < kParallelElements ? 1 : int(std::min<Index>(partition_count(), rows));
  if (nparts <= 1) {
    f(Index(0), rows);
    return;
  }
  parallel_invoke(nparts, [&](int t, int parts) {
    Index b, e;
    detail::split_range(rows, t, parts, 1, b, e);
    if (b < e) f(b, e);
  });
}

}  // namespace densekit
