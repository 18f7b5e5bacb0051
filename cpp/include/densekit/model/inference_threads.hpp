// How many threads one layer's inference calls use, chosen by measuring, per batch-size class.
//
// A product split into parts waits for its slowest part: on a shared machine a second thread that
// waits for a core turns a 0.3 ms call into milliseconds (measured on the 2-core benchmark
// machine under load). As the training step does (runtime/thread_tuner.hpp), each class of batch
// sizes (powers of two) times its calls with one thread and with all, and keeps the faster,
// re-checking now and then. Work is split by shape only, so the choice never changes a result.
#pragma once

#include <chrono>
#include <mutex>

#include "densekit/runtime/parallel.hpp"
#include "densekit/runtime/thread_tuner.hpp"
#include "densekit/runtime/types.hpp"

namespace densekit {

class InferenceThreads {
 public:
  // Runs f() with the thread count the tuner of `rows`' class picks, and records its time.
  template <class F>
  void run(Index rows, F&& f) {
    const int max = num_threads();
    if (max <= 1) {
      f();
      return;
    }
    ThreadTuner& tuner = tuners_[bucket(rows)];
    int threads;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      threads = tuner.choose(max);
    }
    ThreadLimit limit(threads);
    const auto t0 = std::chrono::steady_clock::now();
    f();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::lock_guard<std::mutex> lock(mutex_);
    tuner.record(threads, s, double(rows));
  }

 private:
  static constexpr int kBuckets = 20;
  static int bucket(Index rows) {
    int b = 0;
    while (b + 1 < kBuckets && (Index(1) << b) < rows) ++b;
    return b;
  }
  std::mutex mutex_;
  ThreadTuner tuners_[kBuckets];
};

}  // namespace densekit
