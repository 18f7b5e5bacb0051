// BatchNormalization math (Ioffe & Szegedy 2015): batch statistics, normalization, the exact
// backward pass, and the fixed affine map of inference.
//
// Training: per feature over the batch, μ_B and the biased σ²_B (two passes, for accuracy);
// x̂ = (x−μ_B)/√(σ²_B+ε); y = γ⊙x̂ + β; moving ← moving·momentum + batch·(1−momentum).
// Backward: dx = γ/√(σ²+ε)/B · (B·dy − Σdy − x̂·Σ(dy⊙x̂)), per-feature work fused into two passes.
// Inference (and a frozen layer) uses y = x·scale + shift with scale = γ/√(var+ε) and
// shift = β − mean·scale from the moving statistics. Free functions over raw row-major buffers:
// outputs, then caches and workspaces, then inputs and weights, then sizes and hyperparameters.
// The layer that owns the buffers is model/normalization_layers.hpp. Nothing here allocates.
#pragma once

#include "densekit/runtime/types.hpp"

namespace densekit {

// x (B,D), gamma/beta (D) or null -> y (B,D); caches xhat (B,D), mean (D), inv_std (D) for
// backward; moving_mean/moving_var (D) advance when non-null (real training steps only).
template <class T>
void batchnorm_forward_train(T* y, T* xhat, T* mean, T* inv_std, T* moving_mean, T* moving_var,
                             const T* x, const T* gamma, const T* beta, Index B, Index D,
                             double momentum, double epsilon) {
  const ConstMatrixMap<T> xm(x, B, D);
  RowVectorMap<T> mu(mean, D), inv(inv_std, D);
  mu = xm.colwise().sum() / T(B);
  MatrixMap<T> xh(xhat, B, D);
  xh = xm.rowwise() - mu;
  inv = xh.colwise().squaredNorm() / T(B);  // σ²_B for now
  if (moving_mean) {
    const T m = T(momentum);
    ArrayMap<T>(moving_mean, D) = ArrayMap<T>(moving_mean, D) * m + mu.transpose().array() * (T(1) - m);
    ArrayMap<T>(moving_var, D) = ArrayMap<T>(moving_var, D) * m + inv.transpose().array() * (T(1) - m);
  }
  inv = (inv.array() + T(epsilon)).rsqrt().matrix();
  xh.array().rowwise() *= inv.array();
  MatrixMap<T> ym(y, B, D);
  ym = xh;
  if (gamma) ym.array().rowwise() *= ConstRowVectorMap<T>(gamma, D).array();
  if (beta) ym.rowwise() += ConstRowVectorMap<T>(beta, D);
}

// dy (B,D), caches xhat (B,D) and inv_std (D) of the training forward, gamma (D) or null ->
// dx (B,D) (skipped when null); dgamma = Σ(dy⊙x̂), dbeta = Σdy (D) when non-null. Workspaces
// sum_dy, sum_dy_xhat, dx_scale (D).
template <class T>
void batchnorm_backward_train(T* dx, T* dgamma, T* dbeta, T* sum_dy, T* sum_dy_xhat, T* dx_scale,
                              const T* dy, const T* xhat, const T* inv_std, const T* gamma,
                              Index B, Index D) {
  const ConstMatrixMap<T> g(dy, B, D), xh(xhat, B, D);
  RowVectorMap<T> sdy(sum_dy, D), sdyx(sum_dy_xhat, D);
  sdy = g.colwise().sum();
  sdyx = (g.array() * xh.array()).colwise().sum().matrix();
  if (dgamma) RowVectorMap<T>(dgamma, D) = sdyx;
  if (dbeta) RowVectorMap<T>(dbeta, D) = sdy;
  if (!dx) return;
  RowVectorMap<T> k(dx_scale, D);
  k = ConstRowVectorMap<T>(inv_std, D) / T(B);
  if (gamma) k.array() *= ConstRowVectorMap<T>(gamma, D).array();
  MatrixMap<T>(dx, B, D).array() =
      ((g.array() * T(B)).rowwise() - sdy.array() - (xh.array().rowwise() * sdyx.array())).rowwise() *
      k.array();
}

// moving_mean, moving_var (D), gamma/beta (D) or null -> scale, shift (D) of the inference map.
template <class T>
void batchnorm_inference_affine(T* scale, T* shift, const T* moving_mean, const T* moving_var,
                                const T* gamma, const T* beta, Index D, double epsilon) {
  ArrayMap<T> a(scale, D), b(shift, D);
  a = (ConstArrayMap<T>(moving_var, D) + T(epsilon)).rsqrt();
  if (gamma) a *= ConstArrayMap<T>(gamma, D);
  b = -ConstArrayMap<T>(moving_mean, D) * a;
  if (beta) b += ConstArrayMap<T>(beta, D);
}

// x (B,D), scale/shift (D) -> y (B,D) = x·scale + shift (per feature).
template <class T>
void batchnorm_affine_forward(T* y, const T* x, const T* scale, const T* shift, Index B, Index D) {
  MatrixMap<T>(y, B, D).array() =
      (ConstMatrixMap<T>(x, B, D).array().rowwise() * ConstRowVectorMap<T>(scale, D).array()).rowwise() +
      ConstRowVectorMap<T>(shift, D).array();
}

// dy (B,D), scale (D) -> dx (B,D) = dy·scale: the backward pass of the fixed affine map.
template <class T>
void batchnorm_affine_backward(T* dx, const T* dy, const T* scale, Index B, Index D) {
  MatrixMap<T>(dx, B, D).array() =
      ConstMatrixMap<T>(dy, B, D).array().rowwise() * ConstRowVectorMap<T>(scale, D).array();
}

}  // namespace densekit
