// Thread-count bookkeeping and the one OpenMP parallel region every kernel goes through.
//
// Built without OpenMP (DENSEKIT_OPENMP=OFF, the small static build) every part runs on the
// calling thread, split exactly as with threads: partition_count() still counts the CPUs this
// process may use, so results are the same bits as an OpenMP build's.
#include "densekit/runtime/parallel.hpp"

#ifdef DENSEKIT_NO_OPENMP
#include <thread>
#if defined(__linux__)
#include <sched.h>
#endif
#else
#include <omp.h>
#endif

#include <algorithm>
#include <atomic>

namespace densekit {

namespace {
std::atomic<int> g_threads{0};
thread_local int t_limit = 0;  // 0: no limit on this thread

#ifdef DENSEKIT_NO_OPENMP
int cpus_available() {  // as omp_get_num_procs counts them: the CPUs this process may run on
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
#endif
  return int(std::thread::hardware_concurrency());
}
#else
int default_threads() { return omp_get_max_threads(); }  // honours OMP_NUM_THREADS
int cpus_available() { return omp_get_num_procs(); }
#endif
}  // namespace

int num_threads() {
#ifdef DENSEKIT_NO_OPENMP
  return 1;  // set_num_threads is recorded but changes nothing without OpenMP
#else
  int n = g_threads.load(std::memory_order_relaxed);
  if (n <= 0) {
    n = default_threads();
    g_threads.store(n, std::memory_order_relaxed);
  }
  return t_limit > 0 && t_limit < n ? t_limit : n;
#endif
}

ThreadLimit::ThreadLimit(int n) : previous_(t_limit) { t_limit = n; }
ThreadLimit::~ThreadLimit() { t_limit = previous_; }

void set_num_threads(int n) { g_threads.store(n < 1 ? 1 : n, std::memory_order_relaxed); }

int partition_count() {
  static const int parts = std::max(1, cpus_available());
  return parts;
}

void run_parallel(int parts, void (*body)(int, int, void*), void* ctx) {
  const int nthreads = std::min(parts, num_threads());
  if (nthreads <= 1) {
    for (int p = 0; p < parts; ++p) body(p, parts, ctx);
    return;
  }
#ifndef DENSEKIT_NO_OPENMP  // (without OpenMP nthreads is 1: handled above)
#pragma omp parallel num_threads(nthreads)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    for (int p = t; p < parts; p += nt) body(p, parts, ctx);
  }
#endif
}

}  // namespace densekit
