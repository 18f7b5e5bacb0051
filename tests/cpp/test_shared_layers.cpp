// Networks that share a layer, trained and evaluated from two threads at once (issue 11, item 2).
//
// A layer's caches, gradients and parameters are one set whatever network runs it, so Network
// serializes every call over the layers it holds (Layer::use_mutex, taken in address order).
// Checked here: two heads trained concurrently on a frozen shared layer end bit for bit where
// the same steps run one model after the other end; a trainable shared layer trained by one
// network while another trains and predicts through it gives finite results and no data race.
// tools/sanitize.sh runs this under ThreadSanitizer (the race it would report without the
// layer locks is the shared layer's pre-activation cache).
#include <cmath>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "check.hpp"
#include "densekit/model/network.hpp"

using namespace densekit;

namespace {

constexpr Index kIn = 16, kHidden = 64, kBatch = 32, kSteps = 200;

double uniform(std::uint64_t& state) {
  state = state * 6364136223846793005ULL + 1442695040888963407ULL;
  return double(state >> 11) / double(1ULL << 53) - 0.5;
}

void fill(Layer<float>& layer, std::uint64_t seed) {
  for (auto& p : layer.params())
    for (Index i = 0; i < p.size(); ++i) p.value[i] = float(uniform(seed));
  layer.parameters_changed();
}

struct Twins {
  std::shared_ptr<DenseLayer<float>> shared;
  std::unique_ptr<Network<float>> a, b;
};

Twins make_twins(bool shared_trainable) {
  Twins t;
  t.shared = std::make_shared<DenseLayer<float>>(kIn, kHidden, true, ActivationSpec{ActivationKind::relu});
  auto head_a = std::make_shared<DenseLayer<float>>(kHidden, 3, true, ActivationSpec{ActivationKind::softmax});
  auto mid_b = std::make_shared<DenseLayer<float>>(kHidden, 8, true, ActivationSpec{ActivationKind::tanh});
  auto head_b = std::make_shared<DenseLayer<float>>(8, 3, true, ActivationSpec{ActivationKind::softmax});
  fill(*t.shared, 1);
  fill(*head_a, 2);
  fill(*mid_b, 3);
  fill(*head_b, 4);
  t.shared->trainable = shared_trainable;
  t.a = std::make_unique<Network<float>>(std::vector<std::shared_ptr<Layer<float>>>{t.shared, head_a});
  t.b = std::make_unique<Network<float>>(std::vector<std::shared_ptr<Layer<float>>>{t.shared, mid_b, head_b});
  OptimizerConfig adam;
  adam.kind = OptimizerKind::adam;
  adam.learning_rate = 0.01;
  for (auto* n : {t.a.get(), t.b.get()})
    n->compile(LossSpec{LossKind::sparse_categorical_crossentropy}, AccuracyKind::none, adam);
  return t;
}

struct Data {
  std::vector<float> x, y;
  explicit Data(std::uint64_t seed) : x(std::size_t(kSteps * kBatch * kIn)), y(std::size_t(kSteps * kBatch)) {
    for (auto& v : x) v = float(uniform(seed)) * 4.0f;
    for (auto& v : y) v = float(std::uint64_t((uniform(seed) + 0.5) * 3.0) % 3);
  }
};

// kSteps single-batch train calls, like train_on_batch in a loop.
void train_steps(Network<float>& net, const Data& d) {
  for (Index s = 0; s < kSteps; ++s) {
    ConstMatrixMap<float> x(d.x.data() + s * kBatch * kIn, kBatch, kIn);
    ConstMatrixMap<float> y(d.y.data() + s * kBatch, kBatch, 1);
    net.train(x, y, nullptr, nullptr, kBatch, kBatch, nullptr);
  }
}

std::vector<float> parameters(Network<float>& net) {
  std::vector<float> all;
  for (const auto& l : net.layers())
    for (auto& p : l->params()) all.insert(all.end(), p.value, p.value + p.size());
  return all;
}

void check_frozen_shared_layer_matches_serial_run() {
  const Data da(10), db(11);
  Twins serial = make_twins(false), concurrent = make_twins(false);
  train_steps(*serial.a, da);
  train_steps(*serial.b, db);
  std::thread ta([&] { train_steps(*concurrent.a, da); });
  std::thread tb([&] { train_steps(*concurrent.b, db); });
  ta.join();
  tb.join();
  CHECK(parameters(*concurrent.a) == parameters(*serial.a), "model a: concurrent = serial, bit for bit");
  CHECK(parameters(*concurrent.b) == parameters(*serial.b), "model b: concurrent = serial, bit for bit");
}

void check_trainable_shared_layer_under_concurrent_use() {
  const Data da(12), db(13);
  Twins t = make_twins(true);
  std::vector<float> out(std::size_t(kBatch * 3));
  std::thread ta([&] { train_steps(*t.a, da); });
  std::thread tb([&] {
    for (Index s = 0; s < kSteps; ++s) {
      ConstMatrixMap<float> x(db.x.data() + s * kBatch * kIn, kBatch, kIn);
      if (s % 2 == 0) {
        ConstMatrixMap<float> y(db.y.data() + s * kBatch, kBatch, 1);
        t.b->train(x, y, nullptr, nullptr, kBatch, kBatch, nullptr);
      } else {
        t.b->predict(x, MatrixMap<float>(out.data(), kBatch, 3), kBatch);
      }
    }
  });
  ta.join();
  tb.join();
  bool finite = true;
  for (float v : parameters(*t.a)) finite = finite && std::isfinite(v);
  for (float v : parameters(*t.b)) finite = finite && std::isfinite(v);
  CHECK(finite, "every parameter is finite after concurrent training through a shared layer");
}

}  // namespace

int main() {
  check_frozen_shared_layer_matches_serial_run();
  check_trainable_shared_layer_under_concurrent_use();
  return densekit::test::finish("test_shared_layers");
}
