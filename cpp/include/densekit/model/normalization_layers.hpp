// BatchNormalization and Normalization (fixed input standardization) as layers.
//
// The layers own parameters (γ, β), the moving statistics and the caches backward needs; the
// arithmetic is kernels/batchnorm.hpp. BN uses batch statistics in training mode, the moving
// statistics in inference and when frozen (as fine-tuning a reused base requires). For
// prediction each keeps its per-feature map (BN's scale and shift, Normalization's 1/σ) as an
// inference copy, rebuilt when its parameters or statistics change (layers.hpp).
#pragma once

#include <algorithm>
#include <cmath>

#include "densekit/kernels/batchnorm.hpp"
#include "densekit/model/layers.hpp"

namespace densekit {

template <class T>
class BatchNormLayer : public Layer<T> {
 public:
  BatchNormLayer(Index units, double momentum, double epsilon, bool center, bool scale)
      : Layer<T>(units, units), momentum_(momentum), epsilon_(epsilon) {
    std::vector<std::pair<std::string, std::pair<Index, Index>>> shapes;
    if (scale) shapes.push_back({"gamma", {1, units}});
    if (center) shapes.push_back({"beta", {1, units}});
    this->allocate(shapes);
    if (auto* g = this->find_param("gamma")) ArrayMap<T>(g->value, units).setOnes();
    this->allocate_states({{"moving_mean", units}, {"moving_variance", units}}, {T(0), T(1)});
    mean_.reserve(units);
    inv_std_.reserve(units);
    // [distributed] Two sums of `units`, the second at a padded offset (aligned as the first);
    // the padding between them stays zero (it is all-reduced with them).
    global_sums_.reserve(padded<T>(units) + units);
    global_shift_.reserve(units);
    std::fill(global_sums_.data(), global_sums_.data() + global_sums_.size(), T(0));
    scale_.reserve(units);
    shift_.reserve(units);
    inference_affine_.reserve(2 * units);
    sum_dy_.reserve(units);
    sum_dy_xhat_.reserve(units);
    dx_scale_.reserve(units);
  }

  const char* kind() const override { return "BatchNormalization"; }
  double momentum() const { return momentum_; }
  double epsilon() const { return epsilon_; }
  void reserve(Index batch) override { xhat_.reserve(batch * this->output_dim_); }

  void forward(ConstMatrixMap<T> x, MatrixMap<T> y, const StepContext& ctx) override {
    const Index n = x.rows(), d = x.cols();
    batch_mode_ = ctx.training && this->trainable;
    const T* gamma = param("gamma");
    const T* beta = param("beta");
    if (!batch_mode_) {
      batchnorm_inference_affine(scale_.data(), shift_.data(), state("moving_mean"),
                                 state("moving_variance"), gamma, beta, d, epsilon_);
      batchnorm_affine_forward(y.data(), x.data(), scale_.data(), shift_.data(), n, d);
      return;
    }
    if (ctx.comm) return forward_global(x, y, ctx, gamma, beta);
    kernels::elementwise<T>().batchnorm_forward_train(y.data(), xhat_.data(), mean_.data(), inv_std_.data(),
                            ctx.update_statistics ? state("moving_mean") : nullptr,
                            ctx.update_statistics ? state("moving_variance") : nullptr, x.data(),
                            gamma, beta, n, d, momentum_, epsilon_);
  }

  void backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> g, T* dx,
                bool g_is_preactivation, const StepContext& ctx) override {
    (void)x, (void)y, (void)g_is_preactivation, (void)ctx;
    const Index n = g.rows(), d = g.cols();
    if (!batch_mode_) {  // frozen or inference: a fixed per-feature affine map
      if (dx) batchnorm_affine_backward(dx, g.data(), scale_.data(), n, d);
      return;
    }
    Param<T>* gamma = this->find_param("gamma");
    Param<T>* beta = this->find_param("beta");
    if (ctx.comm) return backward_global(g, dx, ctx, gamma, beta);
    kernels::elementwise<T>().batchnorm_backward_train(dx, this->trainable && gamma ? gamma->grad : nullptr,
                             this->trainable && beta ? beta->grad : nullptr, sum_dy_.data(),
                             sum_dy_xhat_.data(), dx_scale_.data(), g.data(), xhat_.data(),
                             inv_std_.data(), gamma ? gamma->value : nullptr, n, d);
  }

 protected:
  // y = x·scale + shift per row, from the moving statistics.
  void infer_rows(const T* x, Index ldx, T* y, Index ldy, Index rows, const StepContext& ctx,
                  bool prepared) const override {
    (void)ctx;
    const Index d = this->output_dim_;
    const T* affine = inference_affine_.data();  // scale (d) then shift (d)
    if (!prepared) {  // statistics open to writes: the map from them as they are now
      thread_local Buffer<T> live;
      live.reserve(2 * d);
      inference_map(live.data());
      affine = live.data();
    }
    for (Index r = 0; r < rows; ++r)
      batchnorm_affine_forward(y + r * ldy, x + r * ldx, affine, affine + d, 1, d);
  }
  void rebuild_inference() const override { inference_map(inference_affine_.data()); }

 private:
  const T* param(const char* name) const {
    const Param<T>* p = this->find_param(name);
    return p ? p->value : nullptr;
  }
  T* state(const char* name) { return this->find_state(name)->value; }
  const T* state(const char* name) const { return this->find_state(name)->value; }
  // affine (2·units) = the inference map's scale then shift.
  void inference_map(T* affine) const {
    const Index d = this->output_dim_;
    batchnorm_inference_affine(affine, affine + d, state("moving_mean"), state("moving_variance"),
                               param("gamma"), param("beta"), d, epsilon_);
  }

  // [distributed] Statistics of the global batch (ctx.global_rows rows over every rank): each
  // rank sums its rows around a shift all ranks share — the moving mean, which tracks the batch
  // mean — and one all-reduce totals the sums. Where the moving mean is still more than a
  // standard deviation away (early in training), a second pass sums around the global mean the
  // first one gave, so the variance never loses digits to cancellation. Both the test and its
  // outcome come from all-reduced values, so every rank takes the same branch.
  void forward_global(ConstMatrixMap<T> x, MatrixMap<T> y, const StepContext& ctx,
                      const T* gamma, const T* beta) {
    const Index n = x.rows(), d = x.cols(), N = ctx.global_rows;
    T* sum = global_sums_.data();
    T* sum_sq = sum + padded<T>(d);
    const Index reduced = padded<T>(d) + d;
    const T* shift = state("moving_mean");
    batchnorm_shifted_sums(sum, sum_sq, x.data(), shift, n, d);
    ctx.comm->allreduce_sum(sum, reduced);
    if (batchnorm_shift_is_far(sum, sum_sq, N, d)) {
      ArrayMap<T>(global_shift_.data(), d) = ConstArrayMap<T>(shift, d) + ConstArrayMap<T>(sum, d) / T(N);
      shift = global_shift_.data();
      batchnorm_shifted_sums(sum, sum_sq, x.data(), shift, n, d);
      ctx.comm->allreduce_sum(sum, reduced);
    }
    batchnorm_forward_train_global(y.data(), xhat_.data(), mean_.data(), inv_std_.data(),
                                   ctx.update_statistics ? state("moving_mean") : nullptr,
                                   ctx.update_statistics ? state("moving_variance") : nullptr,
                                   x.data(), sum, sum_sq, shift, gamma, beta, n, N, d, momentum_,
                                   epsilon_);
  }

  // [distributed] dγ and dβ are this rank's sums (the network's gradient all-reduce totals
  // them); the input gradient needs the global Σdy and Σdy⊙x̂: one all-reduce.
  void backward_global(MatrixMap<T> g, T* dx, const StepContext& ctx, Param<T>* gamma,
                       Param<T>* beta) {
    const Index n = g.rows(), d = g.cols();
    T* sum_dy = global_sums_.data();
    T* sum_dy_xhat = sum_dy + padded<T>(d);
    batchnorm_backward_sums(sum_dy, sum_dy_xhat, g.data(), xhat_.data(), n, d);
    if (this->trainable && gamma) RowVectorMap<T>(gamma->grad, d) = ConstRowVectorMap<T>(sum_dy_xhat, d);
    if (this->trainable && beta) RowVectorMap<T>(beta->grad, d) = ConstRowVectorMap<T>(sum_dy, d);
    if (!dx) return;
    ctx.comm->allreduce_sum(sum_dy, padded<T>(d) + d);
    batchnorm_backward_input(dx, dx_scale_.data(), g.data(), xhat_.data(), sum_dy, sum_dy_xhat,
                             inv_std_.data(), gamma ? gamma->value : nullptr, n,
                             ctx.global_rows, d);
  }

  double momentum_, epsilon_;
  bool batch_mode_ = false;  // whether the last forward used batch statistics
  Buffer<T> xhat_, mean_, inv_std_, scale_, shift_, sum_dy_, sum_dy_xhat_, dx_scale_;
  mutable Buffer<T> inference_affine_;
  Buffer<T> global_sums_;   // [distributed] this rank's sums, then the all-reduced totals
  Buffer<T> global_shift_;  // [distributed] the second pass's shift (the global batch mean)
};

// y = (x − mean)/max(√variance, 1e-7), with mean and variance set by adapt() (as Keras).
template <class T>
class NormalizationLayer : public Layer<T> {
 public:
  explicit NormalizationLayer(Index units) : Layer<T>(units, units) {
    this->allocate_states({{"mean", units}, {"variance", units}}, {T(0), T(1)});
    inv_.reserve(units);
    inference_inv_.reserve(units);
  }
  const char* kind() const override { return "Normalization"; }

  void forward(ConstMatrixMap<T> x, MatrixMap<T> y, const StepContext& ctx) override {
    (void)ctx;
    const Index d = x.cols();
    inverse_std(inv_.data());
    y.array() = (x.rowwise() - ConstRowVectorMap<T>(this->find_state("mean")->value, d)).array().rowwise() *
                ArrayMap<T>(inv_.data(), d).transpose();
  }
  void backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> g, T* dx, bool,
                const StepContext& ctx) override {
    (void)x, (void)y, (void)ctx;
    if (dx)
      MatrixMap<T>(dx, g.rows(), g.cols()).array() =
          g.array().rowwise() * ConstArrayMap<T>(inv_.data(), g.cols()).transpose();
  }

 protected:
  void infer_rows(const T* x, Index ldx, T* y, Index ldy, Index rows, const StepContext& ctx,
                  bool prepared) const override {
    (void)ctx;
    const Index d = this->output_dim_;
    const T* inv = inference_inv_.data();
    if (!prepared) {  // statistics open to writes: 1/σ from them as they are now
      thread_local Buffer<T> live;
      live.reserve(d);
      inverse_std(live.data());
      inv = live.data();
    }
    const ConstRowVectorMap<T> mean(this->find_state("mean")->value, d);
    for (Index r = 0; r < rows; ++r)
      MatrixMap<T>(y + r * ldy, 1, d).array() =
          (ConstMatrixMap<T>(x + r * ldx, 1, d) - mean).array() * ConstArrayMap<T>(inv, d).transpose();
  }
  void rebuild_inference() const override { inverse_std(inference_inv_.data()); }

 private:
  // inv (units) = 1/max(√variance, 1e-7)
  void inverse_std(T* inv) const {
    const Index d = this->output_dim_;
    ArrayMap<T>(inv, d) = T(1) / ConstArrayMap<T>(this->find_state("variance")->value, d).sqrt().max(T(1e-7));
  }

  Buffer<T> inv_;
  mutable Buffer<T> inference_inv_;
};

}  // namespace densekit
