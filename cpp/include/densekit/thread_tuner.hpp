// Picks how many threads a network's training step uses, by measuring.
//
// On a quiet machine both cores help; on a shared one a second thread can stall whole steps while
// it waits for a core (BENCHMARKS.md, "Under contention"). Rather than guess, the tuner times
// batches with one thread and with all of them, uses the faster, and re-checks the other with an
// exponentially growing interval (so a steady choice costs < 1% in probes, and a change in load is
// noticed within a few hundred batches).
#pragma once

#include <algorithm>

namespace densekit {

class ThreadTuner {
 public:
  // Threads for the next batch, given the current maximum.
  int choose(int max_threads) {
    if (max_threads <= 1) return 1;
    max_ = max_threads;
    int arm;
    if (count_[0] < kWarm || count_[1] < kWarm) {
      arm = count_[1] <= count_[0] ? 1 : 0;  // sample both arms first, many threads first
    } else if (probing_ > 0) {
      arm = 1 - best();
      --probing_;
    } else if (++since_probe_ >= interval_) {
      since_probe_ = 0;
      probing_ = kProbe - 1;
      probe_from_ = best();
      arm = 1 - probe_from_;
    } else {
      arm = best();
    }
    return arm == 0 ? 1 : max_;
  }

  // Seconds one batch of `samples` took with `threads`.
  void record(int threads, double seconds, double samples) {
    if (max_ <= 1 || samples <= 0) return;
    const int arm = threads > 1 ? 1 : 0;
    const bool cold = arm != last_arm_;  // the first batch after a switch pays wake-up costs
    last_arm_ = arm;
    if (cold && count_[arm] > 0) return;
    const double c = seconds / samples;
    cost_[arm] = count_[arm] == 0 ? c : 0.7 * cost_[arm] + 0.3 * c;
    ++count_[arm];
    if (probing_ == 0 && probe_from_ >= 0) {  // a probe just ended
      interval_ = best() == probe_from_ ? std::min(interval_ * 2, kMaxInterval) : kMinInterval;
      probe_from_ = -1;
    }
  }

  int preferred_threads() const { return best() == 0 ? 1 : max_; }

 private:
  static constexpr int kWarm = 3, kProbe = 2, kMinInterval = 64, kMaxInterval = 4096;
  int best() const { return cost_[1] <= cost_[0] ? 1 : 0; }

  double cost_[2] = {0.0, 0.0};
  int count_[2] = {0, 0};
  int max_ = 1;
  int last_arm_ = -1;
  int probing_ = 0;
  int probe_from_ = -1;
  int since_probe_ = 0;
  int interval_ = kMinInterval;
};

}  // namespace densekit
