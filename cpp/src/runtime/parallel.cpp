// Thread-count bookkeeping and the one OpenMP parallel region every kernel goes through.
//
// Nothing may fail inside the region: an exception cannot leave an OpenMP region (the process
// would terminate), and the OpenMP runtime ends the process (exit code 1) when it cannot create
// the threads of a team. So callers allocate every workspace before calling run_parallel
// (kernels reserve one block per part on the calling thread), a calling thread that has never
// run a team this large first checks that the address space for the new threads' stacks is
// there, and runs the parts itself when it is not (the same bits: how work is split never
// depends on the thread count), and an exception a part throws anyway is carried out of the
// region and rethrown on the calling thread.
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
#include <pthread.h>
#include <sys/mman.h>
#endif

#include <algorithm>
#include <atomic>
#include <exception>

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

// The largest team this thread has started: OpenMP keeps a calling thread's worker threads
// alive between regions, so a team up to this size creates no thread.
thread_local int t_team_started = 1;

// Whether `extra` more threads can be created now: their stacks (and a margin for their
// thread-local storage and guard pages) must fit the address space, which an RLIMIT_AS or a
// nearly full machine may not allow. A reservation, never touched, released at once.
bool threads_can_start(int extra) {
  static const std::size_t stack = [] {
    std::size_t size = 8u << 20;
    pthread_attr_t attr;
    if (pthread_getattr_default_np(&attr) == 0) {
      pthread_attr_getstacksize(&attr, &size);
      pthread_attr_destroy(&attr);
    }
    return size;
  }();
  const std::size_t bytes = std::size_t(extra) * (stack + (4u << 20));
  void* probe = mmap(nullptr, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (probe == MAP_FAILED) return false;
  munmap(probe, bytes);
  return true;
}
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
  int nthreads = std::min(parts, num_threads());
#ifndef DENSEKIT_NO_OPENMP
  if (nthreads > t_team_started && !threads_can_start(nthreads - t_team_started)) nthreads = 1;
#endif
  if (nthreads <= 1) {
    for (int p = 0; p < parts; ++p) body(p, parts, ctx);
    return;
  }
#ifndef DENSEKIT_NO_OPENMP  // (without OpenMP nthreads is 1: handled above)
  std::exception_ptr error;
#pragma omp parallel num_threads(nthreads)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    try {
      for (int p = t; p < parts; p += nt) body(p, parts, ctx);
    } catch (...) {
#pragma omp critical(densekit_run_parallel_error)
      if (!error) error = std::current_exception();
    }
  }
  t_team_started = std::max(t_team_started, nthreads);
  if (error) std::rethrow_exception(error);
#endif
}

}  // namespace densekit
