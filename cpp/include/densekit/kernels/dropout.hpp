// Dropout (Srivastava et al. 2014, inverted) and AlphaDropout (Klambauer et al. 2017) math.
//
// Masks come from the counter-based hash of (key, element), two 32-bit uniforms per hash, so
// mask generation stays a small fraction of a step and runs are reproducible whatever the thread
// count. The mask holds keep_value where an element is kept and 0 where it is dropped; backward
// multiplies by the same mask. Free functions over raw buffers (outputs first, then inputs, then
// sizes and hyperparameters); the layers that own masks are model/dropout_layers.hpp.
#pragma once

#include <cmath>
#include <cstdint>

#include "densekit/kernels/activations.hpp"
#include "densekit/runtime/rng.hpp"
#include "densekit/runtime/types.hpp"

namespace densekit {

// mask (n): keep_value where element i is kept (probability 1 − rate), else 0. Element i is
// element first + i of the step's stream (first > 0: a rank's slice of a global batch), so the
// mask of an element does not depend on how the batch was split.
template <class T>
void dropout_mask(T* mask, Index n, double rate, std::uint64_t key, T keep_value,
                  Index first = 0) {
  const std::uint64_t threshold = std::uint64_t(rate * 4294967296.0);  // rate·2³²
  // Element e of the stream is half (e & 1) of hash (e >> 1): low 32 bits, then high.
  Index i = 0;
  if ((first & 1) && n > 0) {
    mask[0] = (hash64(key, std::uint64_t(first >> 1)) >> 32) >= threshold ? keep_value : T(0);
    i = 1;
  }
  for (; i + 1 < n; i += 2) {
    const std::uint64_t h = hash64(key, std::uint64_t((first + i) >> 1));
    mask[i] = (h & 0xFFFFFFFFu) >= threshold ? keep_value : T(0);
    mask[i + 1] = (h >> 32) >= threshold ? keep_value : T(0);
  }
  if (i < n)
    mask[i] = (hash64(key, std::uint64_t((first + i) >> 1)) & 0xFFFFFFFFu) >= threshold
                  ? keep_value : T(0);
}

// x (n), mask (n) holding 1/(1−p) or 0 -> y (n) = x ⊙ mask.
template <class T>
void dropout_forward(T* y, const T* x, const T* mask, Index n) {
  ArrayMap<T>(y, n) = ConstArrayMap<T>(x, n) * ConstArrayMap<T>(mask, n);
}

// AlphaDropout's constants for rate p: dropped units become α' = −λα (SELU's negative
// saturation), then y = a·x' + b with a = ((1−p)(1+p·α'²))^−½ and b = −a·α'·p, which keeps
// mean 0 and variance 1.
constexpr double kAlphaDropoutPrime = -kSeluLambda * kSeluAlpha;
inline double alpha_dropout_scale(double rate) {
  return 1.0 / std::sqrt((1.0 - rate) * (1.0 + rate * kAlphaDropoutPrime * kAlphaDropoutPrime));
}
inline double alpha_dropout_shift(double rate) {
  return -alpha_dropout_scale(rate) * kAlphaDropoutPrime * rate;
}

// x (n), mask (n) holding 1 or 0 -> y (n) = a·(x·m + α'(1−m)) + b.
template <class T>
void alpha_dropout_forward(T* y, const T* x, const T* mask, Index n, double a, double b) {
  const ConstArrayMap<T> xm(x, n), m(mask, n);
  ArrayMap<T>(y, n) = T(a) * (xm * m + T(kAlphaDropoutPrime) * (T(1) - m)) + T(b);
}

// g (n) = dL/dy, mask (n) -> dx (n) = grad_scale·mask ⊙ g.
template <class T>
void dropout_backward(T* dx, const T* g, const T* mask, Index n, double grad_scale) {
  ArrayMap<T>(dx, n) = T(grad_scale) * ConstArrayMap<T>(g, n) * ConstArrayMap<T>(mask, n);
}

}  // namespace densekit
