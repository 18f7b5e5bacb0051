// Data-parallel training in the core, without MPI: P "ranks" are P threads, each with its own
// copy of a network, summing through an in-process Communicator. After a run of batches every
// copy must hold the weights of one network trained on the whole global batches — BN's global
// statistics, dropout and RReLU masks keyed by global rows, the loss averaged over the global
// batch, penalties and global clipping once — and every copy the same bits.
// Also: a dropout mask drawn from an offset equals the same slice of the whole batch's mask.
#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "check.hpp"
#include "densekit/kernels/dropout.hpp"
#include "densekit/model/network.hpp"

using namespace densekit;

namespace {

// Threads of one process as ranks: each publishes its buffer, waits for all, sums every rank's
// buffer in rank order into its own scratch, waits again (no one overwrites a buffer another is
// still reading), then copies the sum in.
class Group {
 public:
  explicit Group(int size) : size_(size), inputs_(std::size_t(size)) {}
  int size() const { return size_; }
  void publish(int rank, const void* data) { inputs_[std::size_t(rank)] = data; }
  const void* input(int rank) const { return inputs_[std::size_t(rank)]; }
  void barrier() {
    std::unique_lock<std::mutex> lock(mutex_);
    const long gen = generation_;
    if (++waiting_ == size_) {
      waiting_ = 0;
      ++generation_;
      cv_.notify_all();
    } else {
      cv_.wait(lock, [&] { return generation_ != gen; });
    }
  }

 private:
  const int size_;
  std::vector<const void*> inputs_;
  std::mutex mutex_;
  std::condition_variable cv_;
  int waiting_ = 0;
  long generation_ = 0;
};

class ThreadCommunicator final : public Communicator {
 public:
  ThreadCommunicator(Group& group, int rank) : group_(group), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return group_.size(); }
  void allreduce_sum(float* data, Index n) override { sum(data, n); }
  void allreduce_sum(double* data, Index n) override { sum(data, n); }

 private:
  template <class T>
  void sum(T* data, Index n) {
    group_.publish(rank_, data);
    group_.barrier();
    std::vector<T> total(static_cast<const T*>(group_.input(0)),
                         static_cast<const T*>(group_.input(0)) + n);
    for (int r = 1; r < group_.size(); ++r) {
      const T* other = static_cast<const T*>(group_.input(r));
      for (Index i = 0; i < n; ++i) total[std::size_t(i)] += other[i];
    }
    group_.barrier();
    std::copy(total.begin(), total.end(), data);
  }

  Group& group_;
  const int rank_;
};

constexpr Index kIn = 5, kHidden = 12, kClasses = 3, kRows = 47, kBatch = 20;

// Input → Dense(12, no bias) → BN → Dropout(0.3) → Dense(12) → RReLU → BN → Dense(3, softmax).
std::unique_ptr<Network<double>> make_network() {
  std::vector<std::shared_ptr<Layer<double>>> layers{
      std::make_shared<DenseLayer<double>>(kIn, kHidden, false, ActivationSpec{}),
      std::make_shared<BatchNormLayer<double>>(kHidden, 0.9, 1e-3, true, true),
      std::make_shared<DropoutLayer<double>>(kHidden, 0.3),
      std::make_shared<DenseLayer<double>>(kHidden, kHidden, true, ActivationSpec{}),
      std::make_shared<ActivationLayer<double>>(kHidden, ActivationSpec{ActivationKind::rrelu}),
      std::make_shared<BatchNormLayer<double>>(kHidden, 0.9, 1e-3, true, true),
      std::make_shared<DenseLayer<double>>(kHidden, kClasses, true,
                                           ActivationSpec{ActivationKind::softmax})};
  std::mt19937_64 gen(7);
  std::normal_distribution<double> normal(0.0, 0.5);
  for (std::size_t i = 0; i < layers.size(); ++i) {
    layers[i]->seed = 1000 + i;
    for (auto& p : layers[i]->params())
      if (p.name == "kernel")
        for (Index k = 0; k < p.size(); ++k) p.value[k] = normal(gen);
    for (auto& p : layers[i]->params())
      if (p.name == "kernel") p.l2 = 1e-3;
  }
  auto net = std::make_unique<Network<double>>(layers);
  OptimizerConfig adam;
  adam.kind = OptimizerKind::adam;
  adam.learning_rate = 0.05;
  adam.global_clipnorm = 2.0;
  net->compile(LossSpec{LossKind::sparse_categorical_crossentropy}, AccuracyKind::sparse_categorical,
               adam);
  return net;
}

// Every parameter and state of a network, in order.
std::vector<double> values(Network<double>& net) {
  std::vector<double> out;
  for (auto& layer : net.layers()) {
    for (auto& p : layer->params()) out.insert(out.end(), p.value, p.value + p.size());
    for (auto& p : layer->states()) out.insert(out.end(), p.value, p.value + p.size());
  }
  return out;
}

void check_ranks(int P, const Matrix<double>& X, const Matrix<double>& Y,
                 const std::vector<std::int64_t>& order) {
  auto reference = make_network();
  const RunStats want = reference->train(ConstMatrixMap<double>(X.data(), kRows, kIn),
                                         ConstMatrixMap<double>(Y.data(), kRows, 1), nullptr,
                                         order.data(), kRows, kBatch, nullptr);
  const std::vector<double> expected = values(*reference);

  Group group(P);
  std::vector<std::unique_ptr<Network<double>>> nets;
  for (int r = 0; r < P; ++r) nets.push_back(make_network());
  std::vector<RunStats> got(static_cast<std::size_t>(P));
  std::vector<std::thread> threads;
  for (int r = 0; r < P; ++r) {
    threads.emplace_back([&, r] {
      ThreadCommunicator comm(group, r);
      std::vector<std::int64_t> ids, plan;
      for (Index start = 0; start < kRows; start += kBatch) {  // rank r's share of each batch
        const Index rows = std::min(kBatch, kRows - start);
        const Index lo = rows * r / P, hi = rows * (r + 1) / P;
        for (Index i = lo; i < hi; ++i) ids.push_back(order[std::size_t(start + i)]);
        plan.insert(plan.end(), {hi - lo, rows, lo});
      }
      const ShardPlan shard{&comm, plan.data(), Index(plan.size() / 3)};
      got[std::size_t(r)] = nets[std::size_t(r)]->train(
          ConstMatrixMap<double>(X.data(), kRows, kIn), ConstMatrixMap<double>(Y.data(), kRows, 1),
          nullptr, ids.data(), Index(ids.size()), kBatch, nullptr, nullptr, nullptr, &shard);
    });
  }
  for (auto& t : threads) t.join();

  double worst = 0.0, scale = 0.0;
  const std::vector<double> first = values(*nets[0]);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    worst = std::max(worst, std::abs(first[i] - expected[i]));
    scale = std::max(scale, std::abs(expected[i]));
  }
  CHECK(worst <= 1e-12 * scale, P, " ranks: weights differ from one process by ", worst);
  for (int r = 1; r < P; ++r) CHECK(values(*nets[std::size_t(r)]) == first, "rank ", r, " differs");
  CHECK(std::abs(got[0].loss_sum - want.loss_sum) <= 1e-12 * std::abs(want.loss_sum), P,
        " ranks: loss ", got[0].loss_sum, " vs ", want.loss_sum);
  CHECK(got[0].samples == want.samples && got[0].batches == want.batches, P, " ranks: counts");
  CHECK(got[0].sums.correct == want.sums.correct, P, " ranks: accuracy sums");
}

}  // namespace

int main() {
  set_num_threads(1);  // the ranks are threads already
  // A mask drawn from element `first` on is that slice of the mask drawn from 0.
  std::vector<double> whole(101), part(60);
  dropout_mask(whole.data(), Index(whole.size()), 0.4, 99, 2.0);
  for (Index first : {0, 1, 2, 7, 41}) {
    dropout_mask(part.data(), Index(part.size()), 0.4, 99, 2.0, first);
    CHECK(std::equal(part.begin(), part.end(), whole.begin() + first), "mask from ", first);
  }

  std::mt19937_64 gen(3);
  std::normal_distribution<double> normal(1.0, 2.0);
  Matrix<double> X(kRows, kIn), Y(kRows, 1);
  for (Index i = 0; i < kRows; ++i) {
    for (Index j = 0; j < kIn; ++j) X(i, j) = normal(gen);
    Y(i, 0) = double((X(i, 0) > 1.0) + (X(i, 1) > 2.0));
  }
  std::vector<std::int64_t> order(kRows);
  for (Index i = 0; i < kRows; ++i) order[std::size_t(i)] = (i * 17) % kRows;  // a permutation
  // 47 rows in batches of 20: 20, 20, 7; 3 ranks split 20 as 6/7/7; 4 ranks give 7 as 1/2/2/2.
  for (int P : {1, 2, 3, 4}) check_ranks(P, X, Y, order);
  return densekit::test::finish("test_data_parallel");
}
