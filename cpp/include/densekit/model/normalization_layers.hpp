// BatchNormalization and Normalization (fixed input standardization) as layers.
//
// The layers own parameters (γ, β), the moving statistics and the caches backward needs; the
// arithmetic is kernels/batchnorm.hpp. BN uses batch statistics in training mode, the moving
// statistics in inference and when frozen (as fine-tuning a reused base requires).
#pragma once

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
    scale_.reserve(units);
    shift_.reserve(units);
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
    kernels::elementwise<T>().batchnorm_backward_train(dx, this->trainable && gamma ? gamma->grad : nullptr,
                             this->trainable && beta ? beta->grad : nullptr, sum_dy_.data(),
                             sum_dy_xhat_.data(), dx_scale_.data(), g.data(), xhat_.data(),
                             inv_std_.data(), gamma ? gamma->value : nullptr, n, d);
  }

 private:
  const T* param(const char* name) {
    Param<T>* p = this->find_param(name);
    return p ? p->value : nullptr;
  }
  T* state(const char* name) { return this->find_state(name)->value; }

  double momentum_, epsilon_;
  bool batch_mode_ = false;  // whether the last forward used batch statistics
  Buffer<T> xhat_, mean_, inv_std_, scale_, shift_, sum_dy_, sum_dy_xhat_, dx_scale_;
};

// y = (x − mean)/max(√variance, 1e-7), with mean and variance set by adapt() (as Keras).
template <class T>
class NormalizationLayer : public Layer<T> {
 public:
  explicit NormalizationLayer(Index units) : Layer<T>(units, units) {
    this->allocate_states({{"mean", units}, {"variance", units}}, {T(0), T(1)});
    inv_.reserve(units);
  }
  const char* kind() const override { return "Normalization"; }

  void forward(ConstMatrixMap<T> x, MatrixMap<T> y, const StepContext& ctx) override {
    (void)ctx;
    const Index d = x.cols();
    ArrayMap<T> inv(inv_.data(), d);
    inv = T(1) / ArrayMap<T>(this->find_state("variance")->value, d).sqrt().max(T(1e-7));
    y.array() = (x.rowwise() - ConstRowVectorMap<T>(this->find_state("mean")->value, d)).array().rowwise() *
                inv.transpose();
  }
  void backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> g, T* dx, bool,
                const StepContext& ctx) override {
    (void)x, (void)y, (void)ctx;
    if (dx)
      MatrixMap<T>(dx, g.rows(), g.cols()).array() =
          g.array().rowwise() * ConstArrayMap<T>(inv_.data(), g.cols()).transpose();
  }

 private:
  Buffer<T> inv_;
};

}  // namespace densekit
