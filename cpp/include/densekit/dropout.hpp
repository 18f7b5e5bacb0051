// Dropout (Srivastava et al. 2014, inverted) and AlphaDropout (Klambauer et al. 2017).
//
// Masks come from the counter-based hash of (layer seed, step, element), two 32-bit uniforms per
// hash, so mask generation stays a small fraction of a step and runs are reproducible whatever the
// thread count. The keep mask is stored (one T per element) for backward. In inference the layers
// are the identity, except when MC Dropout asks them to keep dropping (StepContext::dropout).
#pragma once

#include <cstdint>

#include "layers.hpp"
#include "rng.hpp"

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

template <class T>
class DropoutLayer : public Layer<T> {
 public:
  DropoutLayer(Index units, double rate) : Layer<T>(units, units), rate_(rate) {}
  const char* kind() const override { return "Dropout"; }
  double rate() const { return rate_; }
  void reserve(Index batch) override { mask_.reserve(batch * this->output_dim_); }

  // y = x ⊙ m/(1−p), m ~ Bernoulli(1−p); identity unless dropping.
  void forward(ConstMatrixMap<T> x, MatrixMap<T> y, const StepContext& ctx) override {
    active_ = ctx.dropout && rate_ > 0.0;
    if (!active_) {
      if (y.data() != x.data()) y = x;
      return;
    }
    const Index n = x.size();
    detail::dropout_mask<T>(mask_.data(), n, rate_, derive_key(this->seed, ctx.step),
                            T(1.0 / (1.0 - rate_)));
    ArrayMap<T>(y.data(), n) = ConstArrayMap<T>(x.data(), n) * ArrayMap<T>(mask_.data(), n);
  }
  void backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> g, T* dx, bool,
                const StepContext& ctx) override {
    (void)x, (void)y, (void)ctx;
    if (!dx) return;
    const Index n = g.size();
    if (active_)
      ArrayMap<T>(dx, n) = ArrayMap<T>(g.data(), n) * ArrayMap<T>(mask_.data(), n);
    else if (dx != g.data())
      ArrayMap<T>(dx, n) = ArrayMap<T>(g.data(), n);
  }

 private:
  double rate_;
  bool active_ = false;
  Buffer<T> mask_;
};

// Dropped units are set to α' = −λα (SELU's negative saturation), then y = a·x' + b with
// a = ((1−p)(1+p·α'²))^−½ and b = −a·α'·p, which keeps mean 0 and variance 1.
template <class T>
class AlphaDropoutLayer : public Layer<T> {
 public:
  AlphaDropoutLayer(Index units, double rate) : Layer<T>(units, units), rate_(rate) {
    const double ap = -kSeluLambda * kSeluAlpha;
    a_ = 1.0 / std::sqrt((1.0 - rate) * (1.0 + rate * ap * ap));
    b_ = -a_ * ap * rate;
    alpha_p_ = ap;
  }
  const char* kind() const override { return "AlphaDropout"; }
  double rate() const { return rate_; }
  void reserve(Index batch) override { mask_.reserve(batch * this->output_dim_); }

  void forward(ConstMatrixMap<T> x, MatrixMap<T> y, const StepContext& ctx) override {
    active_ = ctx.dropout && rate_ > 0.0;
    if (!active_) {
      if (y.data() != x.data()) y = x;
      return;
    }
    const Index n = x.size();
    detail::dropout_mask<T>(mask_.data(), n, rate_, derive_key(this->seed, ctx.step), T(1));
    ArrayMap<T> m(mask_.data(), n);
    // y = a·(x·m + α'(1−m)) + b
    ArrayMap<T>(y.data(), n) = T(a_) * (ConstArrayMap<T>(x.data(), n) * m + T(alpha_p_) * (T(1) - m)) + T(b_);
  }
  void backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> g, T* dx, bool,
                const StepContext& ctx) override {
    (void)x, (void)y, (void)ctx;
    if (!dx) return;
    const Index n = g.size();
    if (active_)
      ArrayMap<T>(dx, n) = T(a_) * ArrayMap<T>(g.data(), n) * ArrayMap<T>(mask_.data(), n);
    else if (dx != g.data())
      ArrayMap<T>(dx, n) = ArrayMap<T>(g.data(), n);
  }

 private:
  double rate_, a_, b_, alpha_p_;
  bool active_ = false;
  Buffer<T> mask_;
};

}  // namespace densekit
