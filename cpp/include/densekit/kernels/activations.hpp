// Activation kernels: forward a = f(z) and backward dz = f'(z) ⊙ da, element-wise on (B,N).
//
// Free functions over raw row-major blocks so Dense (activation=...) and the Activation layers
// share one implementation; arguments come in kernel order (outputs, then inputs and weights,
// then sizes, then the activation's hyperparameters). Backward overwrites the incoming gradient
// in place (da -> dz), which saves a buffer per layer. Nothing here allocates.
#pragma once

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "densekit/kinds.hpp"
#include "densekit/runtime/parallel.hpp"
#include "densekit/runtime/rng.hpp"
#include "densekit/runtime/types.hpp"

namespace densekit {

constexpr double kSeluLambda = 1.0507009873554805;
constexpr double kSeluAlpha = 1.6732632423543772;

// Hyperparameters of one activation. `alpha` is LeakyReLU's slope or ELU's α; `lower`/`upper`
// bound RReLU's random slope. PReLU's learnable slopes live with the owning layer.
struct ActivationSpec {
  ActivationKind kind = ActivationKind::linear;
  double alpha = 0.0;
  double lower = 1.0 / 8.0;
  double upper = 1.0 / 3.0;
};

// Whether backward needs the pre-activation z (otherwise the output a suffices).
inline bool needs_preactivation(ActivationKind k) { return k != ActivationKind::linear; }

namespace detail {

// σ(z) = 1/(1 + exp(−z)) as an Eigen expression on the vectorized exp: a few ulps everywhere,
// tails included (exp overflowing to inf gives exactly 0). Eigen's logistic() is faster but its
// float version loses relative precision in the tail (7e-4 near z = −7).
template <class Z>
auto sigmoid_of(const Z& z) {
  using T = typename Z::Scalar;
  return (T(1) + (-z).exp()).inverse();
}

// softplus(z) = log(1 + eᶻ) as max(z, 0) + log1p(e^−|z|): no overflow for large z, no loss of
// the small values for very negative z.
template <class Z>
auto softplus_of(const Z& z) {
  using T = typename Z::Scalar;
  return z.max(T(0)) + (-z.abs()).exp().log1p();
}

// RReLU's training-mode slope for element i of a step: a pure function of (key, i), so the
// backward pass regenerates the same slopes instead of storing them.
template <class T>
inline T rrelu_slope(std::uint64_t key, std::uint64_t i, double lower, double upper) {
  return T(lower + (upper - lower) * uniform01(hash64(key, i)));
}

// Element-wise forward over n contiguous values starting at flat index `offset`.
template <class T>
void activation_forward_flat(T* ap, const T* zp, Index n, Index offset, const ActivationSpec& s,
                             bool training, std::uint64_t key) {
  ConstArrayMap<T> z(zp, n);
  ArrayMap<T> a(ap, n);
  const T alpha = T(s.alpha);
  switch (s.kind) {
    case ActivationKind::linear:
      if (ap != zp) a = z;
      break;
    case ActivationKind::relu:
      a = z.max(T(0));
      break;
    case ActivationKind::leaky_relu:
      for (Index i = 0; i < n; ++i) ap[i] = zp[i] > T(0) ? zp[i] : alpha * zp[i];
      break;
    case ActivationKind::rrelu:
      if (training) {
        for (Index i = 0; i < n; ++i) {
          const T v = zp[i];
          ap[i] = v > T(0) ? v : v * rrelu_slope<T>(key, std::uint64_t(offset + i), s.lower, s.upper);
        }
      } else {
        const T mid = T((s.lower + s.upper) / 2);
        for (Index i = 0; i < n; ++i) ap[i] = zp[i] > T(0) ? zp[i] : mid * zp[i];
      }
      break;
    // ELU and SELU as max(z,0) + α(exp(min(z,0)) − 1), which equals the two-branch form (for
    // z > 0 the exp term is exactly 0). Written without select() because Eigen 3.4 evaluates
    // select element by element, i.e. one scalar libm expf per element: that was 25% of a
    // 20-layer SELU net's step. exp(z) − 1 rather than expm1 for the same reason (Eigen has no
    // vectorized expm1); the cost is an absolute error of ~1 ulp of 1 near z = 0.
    case ActivationKind::elu:
      a = z.max(T(0)) + alpha * (z.min(T(0)).exp() - T(1));
      break;
    case ActivationKind::selu:
      a = T(kSeluLambda) * (z.max(T(0)) + T(kSeluAlpha) * (z.min(T(0)).exp() - T(1)));
      break;
    case ActivationKind::tanh:
      a = z.tanh();
      break;
    case ActivationKind::sigmoid:
      a = sigmoid_of(z);
      break;
    // GELU as z·Φ(z) with Φ(z) = ½·erfc(−z/√2): erfc keeps the negative tail accurate where
    // 1 + erf(z/√2) cancels to 0. Scalar libm; GELU nets are not on a hot benchmark path.
    case ActivationKind::gelu:
      for (Index i = 0; i < n; ++i) ap[i] = T(0.5) * zp[i] * std::erfc(-zp[i] * T(0.70710678118654752440));
      break;
    case ActivationKind::swish:
      a = z * sigmoid_of(z);
      break;
    case ActivationKind::softplus:
      a = softplus_of(z);
      break;
    // Mish (Misra 2019): z·tanh(softplus(z)); softplus in its overflow-free form.
    case ActivationKind::mish:
      a = z * softplus_of(z).tanh();
      break;
    // Keras 3's hard sigmoid: relu6(z + 3)/6 (tf.keras 2 used 0.2z + 0.5 clipped to [0, 1]).
    case ActivationKind::hard_sigmoid:
      a = ((z + T(3)).max(T(0)).min(T(6))) * T(1.0 / 6.0);
      break;
    case ActivationKind::softsign:
      a = z / (T(1) + z.abs());
      break;
    case ActivationKind::exponential:
      a = z.exp();
      break;
    case ActivationKind::relu6:
      a = z.max(T(0)).min(T(6));
      break;
    case ActivationKind::prelu:
    case ActivationKind::softmax:
      throw std::logic_error("prelu/softmax are not element-wise");
  }
}

// Element-wise backward: g holds da on entry and dz on exit.
template <class T>
void activation_backward_flat(T* gp, const T* zp, const T* ap, Index n, Index offset,
                              const ActivationSpec& s, std::uint64_t key) {
  ConstArrayMap<T> z(zp, n);
  ConstArrayMap<T> a(ap, n);
  ArrayMap<T> g(gp, n);
  const T alpha = T(s.alpha);
  switch (s.kind) {
    case ActivationKind::linear:
      break;
    // Plain loops with ?: instead of Eigen's select() (scalar in Eigen 3.4): the compiler
    // vectorizes these into compare-and-blend.
    case ActivationKind::relu:
      for (Index i = 0; i < n; ++i) gp[i] = zp[i] > T(0) ? gp[i] : T(0);
      break;
    case ActivationKind::leaky_relu:
      for (Index i = 0; i < n; ++i) gp[i] = zp[i] > T(0) ? gp[i] : alpha * gp[i];
      break;
    case ActivationKind::rrelu:
      for (Index i = 0; i < n; ++i)
        if (zp[i] <= T(0))
          gp[i] *= rrelu_slope<T>(key, std::uint64_t(offset + i), s.lower, s.upper);
      break;
    case ActivationKind::elu:
      for (Index i = 0; i < n; ++i) gp[i] = zp[i] > T(0) ? gp[i] : gp[i] * (ap[i] + alpha);
      break;
    case ActivationKind::selu: {
      const T lambda = T(kSeluLambda), lambda_alpha = T(kSeluLambda * kSeluAlpha);
      for (Index i = 0; i < n; ++i)
        gp[i] = zp[i] > T(0) ? lambda * gp[i] : gp[i] * (ap[i] + lambda_alpha);
      break;
    }
    case ActivationKind::tanh:
      g = g * (T(1) - a * a);
      break;
    case ActivationKind::sigmoid:
      g = g * a * (T(1) - a);
      break;
    case ActivationKind::gelu:  // Φ(z) + z·φ(z)
      for (Index i = 0; i < n; ++i) {
        const T x = zp[i];
        const T cdf = T(0.5) * std::erfc(-x * T(0.70710678118654752440));
        const T pdf = T(0.39894228040143267794) * std::exp(T(-0.5) * x * x);
        gp[i] *= cdf + x * pdf;
      }
      break;
    case ActivationKind::swish:  // σ + z·σ·(1 − σ) = a + σ·(1 − a): one exp per element
      g *= a + sigmoid_of(z) * (T(1) - a);
      break;
    case ActivationKind::softplus:  // σ(z)
      g *= sigmoid_of(z);
      break;
    case ActivationKind::mish: {  // t + z·σ(z)·(1 − t²), t = tanh(softplus(z))
      const auto t = softplus_of(z).tanh();
      g *= t + z * sigmoid_of(z) * (T(1) - t * t);
      break;
    }
    // The kinks belong to the flat side (derivative 0 at z = ±3, and at 0 and 6 for relu6), as
    // ReLU's z = 0 does and as torch's hardsigmoid and relu6 do.
    case ActivationKind::hard_sigmoid:
      for (Index i = 0; i < n; ++i)
        gp[i] = (zp[i] > T(-3) && zp[i] < T(3)) ? gp[i] * T(1.0 / 6.0) : T(0);
      break;
    case ActivationKind::softsign:  // 1/(1 + |z|)²
      g /= (T(1) + z.abs()).square();
      break;
    case ActivationKind::exponential:  // eᶻ = a
      g *= a;
      break;
    case ActivationKind::relu6:
      for (Index i = 0; i < n; ++i) gp[i] = (zp[i] > T(0) && zp[i] < T(6)) ? gp[i] : T(0);
      break;
    case ActivationKind::prelu:
    case ActivationKind::softmax:
      throw std::logic_error("prelu/softmax are not element-wise");
  }
}

}  // namespace detail

// z (B,N), prelu_alpha (N) or null -> a (B,N). `a` may alias `z` (in-place inference).
// prelu_alpha is PReLU's per-unit slope; `key` seeds RReLU's training-mode slopes, drawn per
// element of the batch counted from row `first_row` (a rank's offset in a global batch).
template <class T>
void activation_forward(T* a, const T* z, const T* prelu_alpha, Index rows, Index cols,
                        const ActivationSpec& s, bool training, std::uint64_t key,
                        Index first_row = 0) {
  if (s.kind == ActivationKind::linear && a == z) return;
  parallel_rows(rows, cols, [&](Index r0, Index r1) {
    if (s.kind == ActivationKind::softmax) {
      for (Index r = r0; r < r1; ++r) {
        ConstArrayMap<T> zr(z + r * cols, cols);
        ArrayMap<T> ar(a + r * cols, cols);
        const T m = zr.maxCoeff();
        ar = (zr - m).exp();
        ar /= ar.sum();
      }
    } else if (s.kind == ActivationKind::prelu) {
      ConstArrayMap<T> al(prelu_alpha, cols);
      for (Index r = r0; r < r1; ++r) {
        ConstArrayMap<T> zr(z + r * cols, cols);
        ArrayMap<T> ar(a + r * cols, cols);
        for (Index c = 0; c < cols; ++c) ar[c] = zr[c] > T(0) ? zr[c] : al[c] * zr[c];
      }
    } else {
      detail::activation_forward_flat(a + r0 * cols, z + r0 * cols, (r1 - r0) * cols,
                                      (first_row + r0) * cols, s, training, key);
    }
  });
}

// g (B,N) holds da on entry and dz on exit; z (B,N) the pre-activation, a (B,N) the output,
// prelu_alpha (N) PReLU's slope. For PReLU, dL/dα is written into prelu_dalpha (N) when it is
// non-null (zeroed here first, then summed over rows).
template <class T>
void activation_backward(T* g, T* prelu_dalpha, const T* z, const T* a, const T* prelu_alpha,
                         Index rows, Index cols, const ActivationSpec& s, std::uint64_t key,
                         Index first_row = 0) {
  if (s.kind == ActivationKind::linear) return;
  if (s.kind == ActivationKind::prelu) {
    // Single pass, single thread: the α reduction over rows would race otherwise, and PReLU
    // layers are rarely large enough for threads to pay.
    ConstArrayMap<T> al(prelu_alpha, cols);
    if (prelu_dalpha) ArrayMap<T>(prelu_dalpha, cols).setZero();
    for (Index r = 0; r < rows; ++r) {
      ConstArrayMap<T> zr(z + r * cols, cols);
      ArrayMap<T> gr(g + r * cols, cols);
      for (Index c = 0; c < cols; ++c) {
        if (zr[c] > T(0)) continue;
        if (prelu_dalpha) prelu_dalpha[c] += zr[c] * gr[c];
        gr[c] *= al[c];
      }
    }
    return;
  }
  parallel_rows(rows, cols, [&](Index r0, Index r1) {
    if (s.kind == ActivationKind::softmax) {
      for (Index r = r0; r < r1; ++r) {
        ConstArrayMap<T> ar(a + r * cols, cols);
        ArrayMap<T> gr(g + r * cols, cols);
        const T dot = (gr * ar).sum();
        gr = ar * (gr - dot);
      }
    } else {
      detail::activation_backward_flat(g + r0 * cols, z + r0 * cols, a + r0 * cols,
                                       (r1 - r0) * cols, (first_row + r0) * cols, s, key);
    }
  });
}

}  // namespace densekit
