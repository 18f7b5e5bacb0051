// Thread-count bookkeeping and the one OpenMP parallel region every kernel goes through.
#include "densekit/runtime/parallel.hpp"

#include <omp.h>

#include <algorithm>
#include <atomic>

namespace densekit {

namespace {
std::atomic<int> g_threads{0};
thread_local int t_limit = 0;  // 0: no limit on this thread
}

int num_threads() {
  int n = g_threads.load(std::memory_order_relaxed);
  if (n <= 0) {
    n = omp_get_max_threads();  // honours OMP_NUM_THREADS
    g_threads.store(n, std::memory_order_relaxed);
  }
  return t_limit > 0 && t_limit < n ? t_limit : n;
}

ThreadLimit::ThreadLimit(int n) : previous_(t_limit) { t_limit = n; }
ThreadLimit::~ThreadLimit() { t_limit = previous_; }

void set_num_threads(int n) { g_threads.store(n < 1 ? 1 : n, std::memory_order_relaxed); }

int partition_count() {
  static const int parts = std::max(1, omp_get_num_procs());
  return parts;
}

void run_parallel(int parts, void (*body)(int, int, void*), void* ctx) {
  const int nthreads = std::min(parts, num_threads());
  if (nthreads <= 1) {
    for (int p = 0; p < parts; ++p) body(p, parts, ctx);
    return;
  }
#pragma omp parallel num_threads(nthreads)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    for (int p = t; p < parts; p += nt) body(p, parts, ctx);
  }
}

}  // namespace densekit
