// BatchNormalization math (Ioffe & Szegedy 2015): batch statistics, normalization, the exact
// backward pass, and the fixed affine map of inference.
//
// Training: per feature over the batch, μ_B and the biased σ²_B (two passes, for accuracy);
// x̂ = (x−μ_B)/√(σ²_B+ε); y = γ⊙x̂ + β; moving ← moving·momentum + batch·(1−momentum).
// Backward: dx = γ/√(σ²+ε)/B · (B·dy − Σdy − x̂·Σ(dy⊙x̂)), per-feature work fused into two passes.
// Data-parallel training splits a global batch of N rows over ranks: each rank sums its rows
// (shifted sums forward, Σdy and Σdy⊙x̂ backward), the layer all-reduces the sums, and the
// *_global kernels below finish from the totals.
// Inference (and a frozen layer) uses y = x·scale + shift with scale = γ/√(var+ε) and
// shift = β − mean·scale from the moving statistics. Free functions over raw row-major buffers:
// outputs, then caches and workspaces, then inputs and weights, then sizes and hyperparameters.
// The layer that owns the buffers is model/normalization_layers.hpp. Nothing here allocates.
#pragma once

#include "densekit/runtime/types.hpp"

namespace densekit {

// The end of every training forward: xhat (B,D) holds x − μ_B and inv_std (D) holds σ²_B on
// entry; advances the moving statistics (when non-null), then leaves x̂ in xhat, 1/√(σ²_B+ε) in
// inv_std and γ⊙x̂ + β in y (B,D).
template <class T>
void batchnorm_finish_forward(T* y, T* xhat, T* inv_std, T* moving_mean, T* moving_var,
                              const T* mean, const T* gamma, const T* beta, Index B, Index D,
                              double momentum, double epsilon) {
  const ConstRowVectorMap<T> mu(mean, D);
  RowVectorMap<T> inv(inv_std, D);
  MatrixMap<T> xh(xhat, B, D);
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
  batchnorm_finish_forward(y, xhat, inv_std, moving_mean, moving_var, mean, gamma, beta, B, D,
                           momentum, epsilon);
}

// x (B,D), shift (D) -> sum (D) = Σ_rows (x − shift), sum_sq (D) = Σ_rows (x − shift)²: one
// rank's part of the global batch statistics. Summing around a shift near the mean keeps
// Σ(x−K)²/N − (Σ(x−K)/N)² from cancelling.
template <class T>
void batchnorm_shifted_sums(T* sum, T* sum_sq, const T* x, const T* shift, Index B, Index D) {
  RowVectorMap<T> s(sum, D), q(sum_sq, D);
  s.setZero();
  q.setZero();
  const ConstRowVectorMap<T> k(shift, D);
  for (Index r = 0; r < B; ++r) {
    const auto d = (ConstRowVectorMap<T>(x + r * D, D) - k).array();
    s.array() += d;
    q.array() += d * d;
  }
}

// Whether the shifted sums of N rows (all-reduced) came from a shift further than one standard
// deviation from the mean in some feature: (Σ/N)² > Σsq/N − (Σ/N)². Then Σsq/N − (Σ/N)² would
// lose digits, and the caller sums again around the mean it now knows.
template <class T>
bool batchnorm_shift_is_far(const T* sum, const T* sum_sq, Index N, Index D) {
  for (Index j = 0; j < D; ++j) {
    const double m = double(sum[j]) / double(N);
    if (2.0 * m * m > double(sum_sq[j]) / double(N)) return true;
  }
  return false;
}

// The training forward of a rank's rows x (B,D) from the all-reduced shifted sums of the
// global batch (N rows, shift as given to batchnorm_shifted_sums): μ = shift + Σ/N,
// σ² = Σsq/N − (Σ/N)²; outputs and caches as batchnorm_forward_train.
template <class T>
void batchnorm_forward_train_global(T* y, T* xhat, T* mean, T* inv_std, T* moving_mean,
                                    T* moving_var, const T* x, const T* sum, const T* sum_sq,
                                    const T* shift, const T* gamma, const T* beta, Index B,
                                    Index N, Index D, double momentum, double epsilon) {
  RowVectorMap<T> mu(mean, D), var(inv_std, D);
  const auto m = ConstRowVectorMap<T>(sum, D).array() / T(N);
  mu = (ConstRowVectorMap<T>(shift, D).array() + m).matrix();
  var = (ConstRowVectorMap<T>(sum_sq, D).array() / T(N) - m * m).max(T(0)).matrix();
  MatrixMap<T>(xhat, B, D) = ConstMatrixMap<T>(x, B, D).rowwise() - mu;
  batchnorm_finish_forward(y, xhat, inv_std, moving_mean, moving_var, mean, gamma, beta, B, D,
                           momentum, epsilon);
}

// dy (B,D), xhat (B,D) -> sum_dy = Σdy and sum_dy_xhat = Σ(dy⊙x̂) (D): dβ and dγ, and the two
// sums the input gradient needs.
template <class T>
void batchnorm_backward_sums(T* sum_dy, T* sum_dy_xhat, const T* dy, const T* xhat, Index B,
                             Index D) {
  const ConstMatrixMap<T> g(dy, B, D), xh(xhat, B, D);
  RowVectorMap<T>(sum_dy, D) = g.colwise().sum();
  RowVectorMap<T>(sum_dy_xhat, D) = (g.array() * xh.array()).colwise().sum().matrix();
}

// dy (B,D), xhat (B,D), the sums over the N rows of the (global) batch, inv_std (D), gamma (D)
// or null -> dx (B,D) = γ/√(σ²+ε)/N · (N·dy − Σdy − x̂·Σ(dy⊙x̂)); workspace dx_scale (D).
template <class T>
void batchnorm_backward_input(T* dx, T* dx_scale, const T* dy, const T* xhat, const T* sum_dy,
                              const T* sum_dy_xhat, const T* inv_std, const T* gamma, Index B,
                              Index N, Index D) {
  const ConstMatrixMap<T> g(dy, B, D), xh(xhat, B, D);
  const ConstRowVectorMap<T> sdy(sum_dy, D), sdyx(sum_dy_xhat, D);
  RowVectorMap<T> k(dx_scale, D);
  k = ConstRowVectorMap<T>(inv_std, D) / T(N);
  if (gamma) k.array() *= ConstRowVectorMap<T>(gamma, D).array();
  MatrixMap<T>(dx, B, D).array() =
      ((g.array() * T(N)).rowwise() - sdy.array() - (xh.array().rowwise() * sdyx.array())).rowwise() *
      k.array();
}

// dy (B,D), caches xhat (B,D) and inv_std (D) of the training forward, gamma (D) or null ->
// dx (B,D) (skipped when null); dgamma = Σ(dy⊙x̂), dbeta = Σdy (D) when non-null. Workspaces
// sum_dy, sum_dy_xhat, dx_scale (D).
template <class T>
void batchnorm_backward_train(T* dx, T* dgamma, T* dbeta, T* sum_dy, T* sum_dy_xhat, T* dx_scale,
                              const T* dy, const T* xhat, const T* inv_std, const T* gamma,
                              Index B, Index D) {
  batchnorm_backward_sums(sum_dy, sum_dy_xhat, dy, xhat, B, D);
  if (dgamma) RowVectorMap<T>(dgamma, D) = ConstRowVectorMap<T>(sum_dy_xhat, D);
  if (dbeta) RowVectorMap<T>(dbeta, D) = ConstRowVectorMap<T>(sum_dy, D);
  if (dx) batchnorm_backward_input(dx, dx_scale, dy, xhat, sum_dy, sum_dy_xhat, inv_std, gamma, B, B, D);
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
