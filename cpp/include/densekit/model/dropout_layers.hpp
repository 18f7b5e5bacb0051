// Dropout and AlphaDropout as layers: the identity in inference, except when MC Dropout asks
// them to keep dropping (StepContext::dropout).
//
// Each layer draws a fresh mask per step from (layer seed, step) and keeps it for backward (one
// T per element); the arithmetic is kernels/dropout.hpp.
#pragma once

#include <cstdint>

#include "densekit/kernels/dropout.hpp"
#include "densekit/model/layers.hpp"
#include "densekit/runtime/rng.hpp"

namespace densekit {

// The shared mechanics: a fresh mask per step (keep_value where kept, 0 where dropped), the
// identity when not dropping, and dx = grad_scale·mask⊙g. Subclasses give the forward map.
template <class T>
class MaskedDropoutLayer : public Layer<T> {
 public:
  MaskedDropoutLayer(Index units, double rate, double keep_value, double grad_scale)
      : Layer<T>(units, units), rate_(rate), keep_value_(keep_value), grad_scale_(grad_scale) {}
  double rate() const { return rate_; }
  void reserve(Index batch) override { mask_.reserve(batch * this->output_dim_); }

  void forward(ConstMatrixMap<T> x, MatrixMap<T> y, const StepContext& ctx) override {
    active_ = ctx.dropout && rate_ > 0.0;
    if (!active_) {
      if (y.data() != x.data()) y = x;
      return;
    }
    const Index n = x.size();
    dropout_mask<T>(mask_.data(), n, rate_, derive_key(this->seed, ctx.step), T(keep_value_),
                    ctx.row_offset * x.cols());
    transform(y.data(), x.data(), mask_.data(), n);
  }
  void backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> g, T* dx, bool,
                const StepContext& ctx) override {
    (void)x, (void)y, (void)ctx;
    if (!dx) return;
    const Index n = g.size();
    if (active_)
      dropout_backward(dx, g.data(), mask_.data(), n, grad_scale_);
    else if (dx != g.data())
      ArrayMap<T>(dx, n) = ArrayMap<T>(g.data(), n);
  }

 protected:
  // Inference: the identity, or (MC Dropout) the mask of (seed, ctx.step) over the rows·units
  // elements in row order, as forward() draws it.
  void infer_rows(const T* x, Index ldx, T* y, Index ldy, Index rows, const StepContext& ctx,
                  bool prepared) const override {
    (void)prepared;
    const Index d = this->output_dim_;
    if (!(ctx.dropout && rate_ > 0.0)) {
      copy_rows(y, ldy, x, ldx, rows, d);
      return;
    }
    thread_local Buffer<T> mask;
    mask.reserve(rows * d);
    dropout_mask<T>(mask.data(), rows * d, rate_, derive_key(this->seed, ctx.step), T(keep_value_));
    for (Index r = 0; r < rows; ++r) transform(y + r * ldy, x + r * ldx, mask.data() + r * d, d);
  }

  // y (n) from x (n) and the mask (n), when dropping.
  virtual void transform(T* y, const T* x, const T* mask, Index n) const = 0;

 private:
  double rate_, keep_value_, grad_scale_;
  bool active_ = false;
  Buffer<T> mask_;
};

// y = x ⊙ m/(1−p), m ~ Bernoulli(1−p); identity unless dropping.
template <class T>
class DropoutLayer : public MaskedDropoutLayer<T> {
 public:
  DropoutLayer(Index units, double rate)
      : MaskedDropoutLayer<T>(units, rate, 1.0 / (1.0 - rate), 1.0) {}
  const char* kind() const override { return "Dropout"; }

 protected:
  void transform(T* y, const T* x, const T* mask, Index n) const override {
    dropout_forward(y, x, mask, n);
  }
};

// y = a·(x·m + α'(1−m)) + b; see alpha_dropout_scale in kernels/dropout.hpp.
template <class T>
class AlphaDropoutLayer : public MaskedDropoutLayer<T> {
 public:
  AlphaDropoutLayer(Index units, double rate)
      : MaskedDropoutLayer<T>(units, rate, 1.0, alpha_dropout_scale(rate)),
        a_(alpha_dropout_scale(rate)), b_(alpha_dropout_shift(rate)) {}
  const char* kind() const override { return "AlphaDropout"; }

 protected:
  void transform(T* y, const T* x, const T* mask, Index n) const override {
    alpha_dropout_forward(y, x, mask, n, a_, b_);
  }

 private:
  double a_, b_;
};

}  // namespace densekit
