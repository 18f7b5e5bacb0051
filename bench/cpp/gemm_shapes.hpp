// The matrix products of the BENCHMARKS.md workloads, shared by the GEMM benchmarks.
//
// Per Dense layer x (B,IN)·w (IN,OUT): forward z = x·w, weight gradient dw = xᵀ·dz, input
// gradient dx = dz·wᵀ (a network's first layer needs no dx). `repeat` counts identical layers
// (W3/W4 have 19 hidden 100→100 layers), so a workload's rate is Σ flops / Σ time over its
// products weighted by repeat. Inference workloads (I1, I2) run the forward products only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace densekit_bench {

enum class Op { forward, weight_grad, input_grad };
inline const char* op_name(Op op) {
  return op == Op::forward ? "fwd" : op == Op::weight_grad ? "dW" : "dX";
}

struct Product {
  Op op;
  long B, IN, OUT;
  int repeat;
  double flops() const { return 2.0 * double(B) * double(IN) * double(OUT); }
  // (M, N, K) as a BLAS would see it: output rows, output columns, inner dimension.
  std::string mnk() const {
    const long m = op == Op::weight_grad ? IN : B, n = op == Op::input_grad ? IN : OUT,
               k = op == Op::forward ? IN : op == Op::weight_grad ? B : OUT;
    return std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k);
  }
};

struct Workload {
  std::string name;
  bool inference;
  std::vector<Product> products;
};

// layers: widths in→…→out with a repeat count per layer.
inline Workload make_workload(const std::string& name, long batch, bool inference,
                              const std::vector<std::pair<long, long>>& layers,
                              const std::vector<int>& repeats) {
  Workload w{name, inference, {}};
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const auto [in, out] = layers[i];
    const int r = repeats.empty() ? 1 : repeats[i];
    w.products.push_back({Op::forward, batch, in, out, r});
    if (inference) continue;
    w.products.push_back({Op::weight_grad, batch, in, out, r});
    if (i > 0) w.products.push_back({Op::input_grad, batch, in, out, r});
  }
  return w;
}

inline std::vector<Workload> workloads() {
  const std::vector<std::pair<long, long>> w1 = {{784, 300}, {300, 100}, {100, 10}};
  const std::vector<std::pair<long, long>> w3 = {{3072, 100}, {100, 100}, {100, 10}};
  const std::vector<std::pair<long, long>> w5 = {{784, 1024}, {1024, 1024}, {1024, 10}};
  return {
      make_workload("W1", 32, false, w1, {}),
      make_workload("W2", 256, false, w1, {}),
      make_workload("W3/W4", 32, false, w3, {1, 19, 1}),
      make_workload("W5", 256, false, w5, {}),
      make_workload("I1", 1, true, w1, {}),
      make_workload("I2", 256, true, w1, {}),
  };
}

}  // namespace densekit_bench
