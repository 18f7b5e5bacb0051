// The thread tuners (runtime/thread_tuner.hpp) on synthetic timings: which arm they settle on,
// that they re-measure the other arm and follow a change, and that predict()'s tuner keeps one
// decision per class of batch sizes.
#include "check.hpp"
#include "densekit/runtime/thread_tuner.hpp"

using namespace densekit;

namespace {

// Runs `calls` calls through `tuner`, each costing cost(threads) seconds per sample; returns how
// many of them ran on more than one thread.
template <class Cost>
int run(ThreadTuner& tuner, int calls, Cost cost) {
  int many = 0;
  for (int i = 0; i < calls; ++i) {
    const int threads = tuner.choose(2);
    many += threads > 1;
    tuner.record(threads, cost(threads) * 32, 32);
  }
  return many;
}

void check_training_tuner() {
  ThreadTuner fast_pair;  // two threads twice as fast
  run(fast_pair, 10, [](int t) { return t > 1 ? 1e-6 : 2e-6; });
  CHECK(fast_pair.preferred_threads() == 2, "a faster second thread is kept");
  const int many = run(fast_pair, 1000, [](int t) { return t > 1 ? 1e-6 : 2e-6; });
  CHECK(many > 950, "probing the slower arm costs little once settled: ", many, " of 1000");

  ThreadTuner busy;  // a busy core: the second thread makes every call slower
  run(busy, 10, [](int t) { return t > 1 ? 3e-6 : 2e-6; });
  CHECK(busy.preferred_threads() == 1, "falls back to one thread when the second one stalls");
  // The other core frees up: a later probe finds two threads faster again.
  run(busy, 200, [](int t) { return t > 1 ? 1e-6 : 2e-6; });
  CHECK(busy.preferred_threads() == 2, "returns to two threads after a probe");
  CHECK(ThreadTuner().choose(1) == 1, "one thread allowed: one thread");
}

void check_predict_tuner() {
  PredictThreadTuner tuner;
  CHECK(PredictThreadTuner::size_class(1) == 0 && PredictThreadTuner::size_class(7) == 1 &&
            PredictThreadTuner::size_class(8) == 2 && PredictThreadTuner::size_class(255) == 3 &&
            PredictThreadTuner::size_class(256) == 4 && PredictThreadTuner::size_class(100000) == 4,
        "size classes 1, 2-7, 8-31, 32-255, 256+");
  // Batch 1 loses with two threads, batch 256 gains: each class keeps its own answer.
  for (int i = 0; i < 20; ++i) {
    for (std::ptrdiff_t rows : {std::ptrdiff_t(1), std::ptrdiff_t(256)}) {
      const int threads = tuner.choose(rows, 2);
      const double per_sample = rows == 1 ? (threads > 1 ? 3e-5 : 2e-5) : (threads > 1 ? 3e-6 : 5e-6);
      tuner.record(rows, threads, per_sample * double(rows), double(rows));
    }
  }
  CHECK(tuner.preferred_threads(1) == 1, "batch 1: one thread");
  CHECK(tuner.preferred_threads(256) == 2, "batch 256: two threads");
  CHECK(tuner.choose(64, 1) == 1, "one thread allowed: one thread");
}

}  // namespace

int main() {
  check_training_tuner();
  check_predict_tuner();
  return densekit::test::finish("test_thread_tuner");
}
