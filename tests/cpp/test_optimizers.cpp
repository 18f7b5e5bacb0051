// Tiled optimizer updates equal an untiled pass, bit for bit, for every update rule.
//
// Optimizer::step() walks each tensor in tiles of kUpdateTile elements (and splits large tensors
// between threads), so that rules written as several Eigen statements move memory once. That is
// only sound for element-wise rules: a rule that reduced over a tensor (a norm, a trust ratio)
// would silently change when tiled. For every rule and option, float and double, this runs two
// optimizers on identical parameters and gradients — one tiled (default, two threads), one with
// a single tile per tensor on one thread — for several steps, and requires identical parameters
// after each. Tensor sizes cover one element, an exact tile, tile ± 1 and a tensor large enough
// to be split between threads; gradient clipping (which does reduce) runs before the tiles. The
// update rules run on every ISA path this CPU has (kernels/elementwise.hpp), each checked.
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "check.hpp"
#include "densekit/optim/optimizers.hpp"
#include "densekit/runtime/parallel.hpp"

using namespace densekit;

namespace {

struct Rule {
  std::string name;
  OptimizerConfig config;
};

std::vector<Rule> rules() {
  auto make = [](OptimizerKind kind, auto&& tweak) {
    OptimizerConfig c;
    c.kind = kind;
    c.learning_rate = 1e-2;
    tweak(c);
    return c;
  };
  auto none = [](OptimizerConfig&) {};
  return {
      {"sgd", make(OptimizerKind::sgd, none)},
      {"sgd momentum", make(OptimizerKind::sgd, [](auto& c) { c.momentum = 0.9; })},
      {"sgd nesterov", make(OptimizerKind::sgd, [](auto& c) { c.momentum = 0.9, c.nesterov = true; })},
      {"adagrad", make(OptimizerKind::adagrad, none)},
      {"rmsprop", make(OptimizerKind::rmsprop, none)},
      {"rmsprop momentum", make(OptimizerKind::rmsprop, [](auto& c) { c.momentum = 0.5; })},
      {"rmsprop centered", make(OptimizerKind::rmsprop, [](auto& c) { c.centered = true; })},
      {"rmsprop centered momentum",
       make(OptimizerKind::rmsprop, [](auto& c) { c.centered = true, c.momentum = 0.5; })},
      {"adam", make(OptimizerKind::adam, none)},
      {"adam amsgrad", make(OptimizerKind::adam, [](auto& c) { c.amsgrad = true; })},
      {"adamw", make(OptimizerKind::adamw, [](auto& c) { c.weight_decay = 0.01; })},
      {"adamw amsgrad", make(OptimizerKind::adamw, [](auto& c) { c.weight_decay = 0.01, c.amsgrad = true; })},
      {"adamax", make(OptimizerKind::adamax, none)},
      {"nadam", make(OptimizerKind::nadam, none)},
      {"adam clipvalue", make(OptimizerKind::adam, [](auto& c) { c.clipvalue = 0.5; })},
      {"sgd clipnorm", make(OptimizerKind::sgd, [](auto& c) { c.momentum = 0.9, c.clipnorm = 1.0; })},
      {"nadam global_clipnorm", make(OptimizerKind::nadam, [](auto& c) { c.global_clipnorm = 1.0; })},
  };
}

// One optimizer and the tensors it updates, in 64-byte-aligned storage laid out like a layer's.
template <class T>
struct Bench {
  std::vector<AlignedVector<T>> values, grads;
  bool trainable = true;
  Optimizer<T> optimizer;

  Bench(const OptimizerConfig& config, const std::vector<Index>& sizes) : optimizer(config) {
    std::vector<ParamSlot<T>> params;
    for (Index n : sizes) {
      values.emplace_back(std::size_t(n), T(0));
      grads.emplace_back(std::size_t(n), T(0));
    }
    for (std::size_t i = 0; i < sizes.size(); ++i)
      params.push_back({values[i].data(), grads[i].data(), sizes[i], &trainable});
    optimizer.bind(params);
  }
};

template <class T>
void check_rule(const Rule& rule, std::mt19937_64& rng) {
  const std::vector<Index> sizes = {1, kUpdateTile, kUpdateTile - 1, kUpdateTile + 1,
                                    3 * kUpdateTile + 37, 2 * kParallelElements + 123};
  Bench<T> tiled(rule.config, sizes), whole(rule.config, sizes);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (std::size_t i = 0; i < sizes.size(); ++i)
    for (std::size_t j = 0; j < tiled.values[i].size(); ++j)
      tiled.values[i][j] = whole.values[i][j] = T(normal(rng));
  const std::string label = rule.name + (sizeof(T) == 4 ? " (float, " : " (double, ") +
                            kernels::isa_name(kernels::active_isa()) + ")";
  for (int step = 1; step <= 4; ++step) {
    for (std::size_t i = 0; i < sizes.size(); ++i)
      for (std::size_t j = 0; j < tiled.grads[i].size(); ++j)
        tiled.grads[i][j] = whole.grads[i][j] = T(normal(rng) * (step == 2 ? 30.0 : 1.0));
    set_num_threads(2);
    tiled.optimizer.step();
    set_num_threads(1);
    whole.optimizer.step(std::numeric_limits<Index>::max());
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      const bool same = std::memcmp(tiled.values[i].data(), whole.values[i].data(),
                                    tiled.values[i].size() * sizeof(T)) == 0;
      CHECK(same, label, ": tensor of ", sizes[i], " elements differs after step ", step);
    }
  }
}

}  // namespace

int main() {
  std::mt19937_64 rng(7);
  for (int isa = 0; isa < kernels::kIsaCount; ++isa) {  // every path this CPU runs
    if (!kernels::set_active_isa(kernels::Isa(isa))) continue;
    for (const Rule& rule : rules()) {
      check_rule<float>(rule, rng);
      check_rule<double>(rule, rng);
    }
  }
  return densekit::test::finish("test_optimizers");
}
