// Picks how many threads a network's training step uses, by measuring.
//
// On a quiet machine both cores help; on a shared one a second thread can stall whole steps while
// it waits for a core (BENCHMARKS.md, "Under contention"). Rather than guess, the tuner times
// batches. Each arm (one thread, all threads) is measured in a block of consecutive batches —
// the first batch of a block is discarded (it pays thread wake-up), the block's estimate is the
// fastest of the rest, and it replaces the arm's previous estimate outright. The faster arm is
// then used, its cost tracked batch by batch, and the other arm re-measured after an interval
// that doubles each time the choice is confirmed (probes cost < 1% once settled) and resets when
// the choice flips. Results do not depend on the choice: see parallel.hpp.
//
// Prediction has its own tuners (PredictThreadTuner below): a row's output is the same bits on
// any number of threads (batch invariance), so predict() may pick threads the same way.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <limits>
#include <mutex>

namespace densekit {

class ThreadTuner {
 public:
  // Threads for the next batch, given the current maximum.
  int choose(int max_threads) {
    if (max_threads <= 1) return 1;
    max_ = max_threads;
    if (block_left_ == 0) {  // start the next block if one is due
      if (count_[1] == 0) {
        start_block(1);
      } else if (count_[0] == 0) {
        start_block(0);
      } else if (since_probe_ >= interval_) {
        since_probe_ = 0;
        probe_from_ = best();
        start_block(1 - probe_from_);
      }
    }
    return arm_ == 0 ? 1 : max_;
  }

  // Seconds one batch of `samples` took with `threads`.
  void record(int threads, double seconds, double samples) {
    if (max_ <= 1 || samples <= 0) return;
    const int arm = threads > 1 ? 1 : 0;
    const double c = seconds / samples;
    if (block_left_ > 0) {
      if (block_left_ < kBlock) block_min_ = std::min(block_min_, c);  // skip the cold first batch
      if (--block_left_ == 0) finish_block(arm);
      return;
    }
    cost_[arm] = 0.9 * cost_[arm] + 0.1 * c;  // the arm in use, tracked continuously
    ++since_probe_;
  }

  int preferred_threads() const { return best() == 0 ? 1 : max_; }
  // Per-sample seconds estimated with one thread and with all (0 until measured).
  double cost(bool many) const { return cost_[many ? 1 : 0]; }

 private:
  static constexpr int kBlock = 3, kMinInterval = 64, kMaxInterval = 4096;
  int best() const {
    if (count_[0] == 0 || count_[1] == 0) return count_[1] ? 1 : 0;
    return cost_[1] <= cost_[0] ? 1 : 0;
  }
  void start_block(int arm) {
    arm_ = arm;
    block_left_ = kBlock;
    block_min_ = std::numeric_limits<double>::infinity();
  }
  void finish_block(int arm) {
    cost_[arm] = block_min_;
    ++count_[arm];
    if (probe_from_ >= 0) {
      interval_ = best() == probe_from_ ? std::min(interval_ * 2, kMaxInterval) : kMinInterval;
      probe_from_ = -1;
    }
    arm_ = best();
  }

  double cost_[2] = {0.0, 0.0};
  int count_[2] = {0, 0};
  int max_ = 1;
  int arm_ = 1;
  int block_left_ = 0;
  double block_min_ = 0.0;
  int probe_from_ = -1;
  int since_probe_ = 0;
  int interval_ = kMinInterval;
};

// predict()'s tuner: one ThreadTuner per class of batch sizes — whether a second thread pays
// depends on the batch (a batch of 1 gains from splitting the first layer's weights between
// the cores' caches, a batch of 256 from splitting the rows) — shared by every thread predicting
// on one network, under a mutex (each call holds it twice, for nanoseconds). Concurrent callers
// may interleave a block's calls; that only blurs one estimate, never a result.
class PredictThreadTuner {
 public:
  int choose(std::ptrdiff_t rows, int max_threads) {
    if (max_threads <= 1) return 1;
    std::lock_guard<std::mutex> lock(mutex_);
    return tuners_[size_class(rows)].choose(max_threads);
  }
  void record(std::ptrdiff_t rows, int threads, double seconds, double samples) {
    std::lock_guard<std::mutex> lock(mutex_);
    tuners_[size_class(rows)].record(threads, seconds, samples);
  }
  // The class of `rows`: 1, 2–7, 8–31, 32–255, 256 and up.
  static int size_class(std::ptrdiff_t rows) {
    return rows <= 1 ? 0 : rows < 8 ? 1 : rows < 32 ? 2 : rows < 256 ? 3 : 4;
  }
  static constexpr int kClasses = 5;
  // Threads the tuner of `rows`'s class prefers now (1 or the maximum it was last given).
  int preferred_threads(std::ptrdiff_t rows) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return tuners_[size_class(rows)].preferred_threads();
  }

 private:
  mutable std::mutex mutex_;
  std::array<ThreadTuner, kClasses> tuners_;
};

}  // namespace densekit
