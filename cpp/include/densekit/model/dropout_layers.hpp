// Dropout (Srivastava et al. 2014, inverted) and AlphaDropout (Klambauer et al. 2017).
//
// Masks come from the counter-based hash of (layer seed, step, element), two 32-bit uniforms per
// hash, so mask generation stays a small fraction of a step and runs are reproducible whatever the
// thread count. The keep mask is stored (one T per element) for backward. In inference the layers
// are the identity, except when MC Dropout asks them to keep dropping (StepContext::dropout).
#pragma once

#include <cmath>
#include <cstdint>

#include "densekit/model/layers.hpp"
#include "densekit/runtime/rng.hpp"

namespace densekit {

namespace detail {
// mask[i] = keep_value if element i is kept (probability 1 − rate), else 0.
template <class T>
void dropout_mask(T* mask, Index n, double rate, std::uint64_t key, T keep_value) {
  const std::uint64_t threshold = std::uint64_t(rate * 4294967296.0);  // rate·2³²
  Index i = 0;
  for (; i + 1 < n; i += 2) {
    const std::uint64_t h = hash64(key, std::uint64_t(i >> 1));
    mask[i] = (h & 0xFFFFFFFFu) >= threshold ? keep_value : T(0);
    mask[i + 1] = (h >> 32) >= threshold ? keep_value : T(0);
  }
  if (i < n) mask[i] = (hash64(key, std::uint64_t(i >> 1)) & 0xFFFFFFFFu) >= threshold ? keep_value : T(0);
}
}  // namespace detail

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
    detail::dropout_mask<T>(mask_.data(), n, rate_, derive_key(this->seed, ctx.step), T(keep_value_));
    transform(ConstArrayMap<T>(x.data(), n), ConstArrayMap<T>(mask_.data(), n), ArrayMap<T>(y.data(), n));
  }
  void backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> g, T* dx, bool,
                const StepContext& ctx) override {
    (void)x, (void)y, (void)ctx;
    if (!dx) return;
    const Index n = g.size();
    if (active_)
      ArrayMap<T>(dx, n) = T(grad_scale_) * ArrayMap<T>(g.data(), n) * ArrayMap<T>(mask_.data(), n);
    else if (dx != g.data())
      ArrayMap<T>(dx, n) = ArrayMap<T>(g.data(), n);
  }

 protected:
  // y from x and the mask m, when dropping.
  virtual void transform(ConstArrayMap<T> x, ConstArrayMap<T> m, ArrayMap<T> y) const = 0;

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
  void transform(ConstArrayMap<T> x, ConstArrayMap<T> m, ArrayMap<T> y) const override { y = x * m; }
};

// Dropped units are set to α' = −λα (SELU's negative saturation), then y = a·x' + b with
// a = ((1−p)(1+p·α'²))^−½ and b = −a·α'·p, which keeps mean 0 and variance 1.
template <class T>
class AlphaDropoutLayer : public MaskedDropoutLayer<T> {
 public:
  AlphaDropoutLayer(Index units, double rate)
      : MaskedDropoutLayer<T>(units, rate, 1.0, scale(rate)), a_(scale(rate)),
        b_(-scale(rate) * kAlphaPrime * rate) {}
  const char* kind() const override { return "AlphaDropout"; }

 protected:
  // y = a·(x·m + α'(1−m)) + b
  void transform(ConstArrayMap<T> x, ConstArrayMap<T> m, ArrayMap<T> y) const override {
    y = T(a_) * (x * m + T(kAlphaPrime) * (T(1) - m)) + T(b_);
  }

 private:
  static constexpr double kAlphaPrime = -kSeluLambda * kSeluAlpha;
  static double scale(double rate) {
    return 1.0 / std::sqrt((1.0 - rate) * (1.0 + rate * kAlphaPrime * kAlphaPrime));
  }
  double a_, b_;
};

}  // namespace densekit
