// The element-wise kernels whose speed depends on the vector width — the activations (exp, tanh,
// log1p), batch normalization's training passes, the optimizers' update rules and the input's
// NaN/Inf scan — compiled once
// per ISA path and called through the table of the path dispatch.hpp chose.
//
// The math stays where it is written (kernels/activations.hpp, kernels/batchnorm.hpp,
// optim/optimizers.hpp); cpp/src/kernels/elementwise_path.cpp instantiates it once per path into
// a table of these function pointers, and cmake/kernels.cmake keeps every other symbol of that
// object private. Everything else in the library is compiled once, at the baseline ISA, and
// reaches these kernels only through elementwise<T>(). Raw pointers and sizes, as every kernel;
// nothing here allocates. This header declares; it computes nothing.
#pragma once

#include <cstdint>

#include "densekit/kernels/dispatch.hpp"
#include "densekit/runtime/types.hpp"

namespace densekit {

struct ActivationSpec;   // kernels/activations.hpp
struct OptimizerConfig;  // optim/optimizers.hpp
struct StepScalars;      // optim/optimizers.hpp

namespace kernels {

template <class T>
struct ElementwiseKernels {
  // activations.hpp's activation_forward and activation_backward on contiguous (rows, cols);
  // first_row: these rows' offset in a global batch (data-parallel training), for RReLU's draws.
  void (*activation_forward)(T* a, const T* z, const T* prelu_alpha, Index rows, Index cols,
                             const ActivationSpec& s, bool training, std::uint64_t key,
                             Index first_row);
  void (*activation_backward)(T* g, T* prelu_dalpha, const T* z, const T* a, const T* prelu_alpha,
                              Index rows, Index cols, const ActivationSpec& s, std::uint64_t key,
                              Index first_row);
  // Inference: z (rows, cols) with rows ldz apart -> a, rows lda apart (may alias z). Each row
  // is computed on its own, so with rows starting at the same alignment (the inference buffers'
  // padded strides) a row's result does not depend on the batch around it.
  void (*activation_rows)(T* a, Index lda, const T* z, Index ldz, const T* prelu_alpha, Index rows,
                          Index cols, const ActivationSpec& s);
  // batchnorm.hpp's training passes.
  void (*batchnorm_forward_train)(T* y, T* xhat, T* mean, T* inv_std, T* moving_mean, T* moving_var,
                                  const T* x, const T* gamma, const T* beta, Index B, Index D,
                                  double momentum, double epsilon);
  void (*batchnorm_backward_train)(T* dx, T* dgamma, T* dbeta, T* sum_dy, T* sum_dy_xhat,
                                   T* dx_scale, const T* dy, const T* xhat, const T* inv_std,
                                   const T* gamma, Index B, Index D);
  // optimizers.hpp's update::apply_rule: one rule's pass over n elements of one tensor.
  void (*optimizer_update)(const OptimizerConfig& c, const StepScalars& s, T* theta, const T* grad,
                           T* slot0, T* slot1, T* slot2, Index n);
  // finite.hpp's first_non_finite: the index of the first NaN or Inf of x[0, n), else n.
  Index (*first_non_finite)(const T* x, Index n);
};

// One path's tables, defined by its copy of elementwise_path.cpp.
struct ElementwisePath {
  ElementwiseKernels<float> f32;
  ElementwiseKernels<double> f64;
};

// The kernels of `isa`'s path (which must be supported), or of the active path.
template <class T>
const ElementwiseKernels<T>& elementwise(Isa isa);
template <>
const ElementwiseKernels<float>& elementwise<float>(Isa isa);
template <>
const ElementwiseKernels<double>& elementwise<double>(Isa isa);
template <class T>
const ElementwiseKernels<T>& elementwise() {
  return elementwise<T>(active_isa());
}

}  // namespace kernels
}  // namespace densekit
