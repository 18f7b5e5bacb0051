// BatchNormalization (Ioffe & Szegedy 2015) and Normalization (fixed input standardization).
//
// BN in training mode: per feature over the batch, μ_B and the biased σ²_B; x̂ = (x−μ_B)/√(σ²_B+ε);
// y = γ⊙x̂ + β; moving ← moving·momentum + batch·(1−momentum). Inference (and a frozen layer, as
// fine-tuning a reused base requires) uses the moving statistics. The backward pass is exact:
// dx = γ/√(σ²+ε)/B · (B·dy − Σdy − x̂·Σ(dy⊙x̂)). Per-feature work is fused into two passes.
#pragma once

#include <cmath>

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
      // y = x·a + b with a = γ/√(var+ε), b = β − mean·a.
      inference_affine(gamma, beta);
      y.array() = (x.array().rowwise() * ConstRowVectorMap<T>(scale_.data(), d).array()).rowwise() +
                  ConstRowVectorMap<T>(shift_.data(), d).array();
      return;
    }
    RowVectorMap<T> mu(mean_.data(), d), inv(inv_std_.data(), d);
    mu = x.colwise().sum() / T(n);
    // Biased variance, two-pass for accuracy.
    MatrixMap<T> xhat(xhat_.data(), n, d);
    xhat = x.rowwise() - mu;
    inv = xhat.colwise().squaredNorm() / T(n);  // σ²_B for now
    if (ctx.update_statistics) {
      const T m = T(momentum_);
      ArrayMap<T>(find_state_value("moving_mean"), d) =
          ArrayMap<T>(find_state_value("moving_mean"), d) * m + mu.transpose().array() * (T(1) - m);
      ArrayMap<T>(find_state_value("moving_variance"), d) =
          ArrayMap<T>(find_state_value("moving_variance"), d) * m + inv.transpose().array() * (T(1) - m);
    }
    inv = (inv.array() + T(epsilon_)).rsqrt().matrix();
    xhat.array().rowwise() *= inv.array();
    y = xhat;
    if (gamma) y.array().rowwise() *= ConstRowVectorMap<T>(gamma, d).array();
    if (beta) y.rowwise() += ConstRowVectorMap<T>(beta, d);
  }

  void backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> g, T* dx,
                bool g_is_preactivation, const StepContext& ctx) override {
    (void)x, (void)y, (void)g_is_preactivation, (void)ctx;
    const Index n = g.rows(), d = g.cols();
    const T* gamma = param("gamma");
    if (!batch_mode_) {
      // Frozen or inference: a fixed per-feature affine map.
      if (dx)
        MatrixMap<T>(dx, n, d).array() =
            g.array().rowwise() * ConstRowVectorMap<T>(scale_.data(), d).array();
      return;
    }
    ConstMatrixMap<T> xhat(xhat_.data(), n, d);
    RowVectorMap<T> sdy(sum_dy_.data(), d), sdyx(sum_dy_xhat_.data(), d);
    sdy = g.colwise().sum();
    sdyx = (g.array() * xhat.array()).colwise().sum().matrix();
    if (this->trainable) {
      if (Param<T>* p = this->find_param("gamma")) RowVectorMap<T>(p->grad, d) = sdyx;
      if (Param<T>* p = this->find_param("beta")) RowVectorMap<T>(p->grad, d) = sdy;
    }
    if (!dx) return;
    // dx = γ·inv/B · (B·dy − Σdy − x̂·Σ(dy⊙x̂))
    RowVectorMap<T> k(dx_scale_.data(), d);
    k = ConstRowVectorMap<T>(inv_std_.data(), d) / T(n);
    if (gamma) k.array() *= ConstRowVectorMap<T>(gamma, d).array();
    MatrixMap<T> out(dx, n, d);
    out.array() = ((g.array() * T(n)).rowwise() - sdy.array() - (xhat.array().rowwise() * sdyx.array()))
                      .rowwise() * k.array();
  }

 private:
  const T* param(const char* name) {
    Param<T>* p = this->find_param(name);
    return p ? p->value : nullptr;
  }
  T* find_state_value(const char* name) { return this->find_state(name)->value; }

  void inference_affine(const T* gamma, const T* beta) {
    const Index d = this->output_dim_;
    ArrayMap<T> a(scale_.data(), d), b(shift_.data(), d);
    a = (ArrayMap<T>(find_state_value("moving_variance"), d) + T(epsilon_)).rsqrt();
    if (gamma) a *= ConstArrayMap<T>(gamma, d);
    b = -ArrayMap<T>(find_state_value("moving_mean"), d) * a;
    if (beta) b += ConstArrayMap<T>(beta, d);
  }

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
