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
#pragma once

#include <algorithm>
#include <limits>

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

}  // namespace densekit
