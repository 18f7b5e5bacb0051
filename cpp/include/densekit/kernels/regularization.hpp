// Weight penalties (L1/L2) and constraints (MaxNorm, NonNeg, UnitNorm) on one parameter tensor.
//
// Penalties add λ1Σ|w| + λ2Σw² to the loss and λ1·sign(w) + 2λ2·w to the gradient; constraints
// project w after every optimizer update. Free functions over raw row-major buffers (outputs
// first, then inputs, then sizes and hyperparameters); which tensors carry which is the
// network's business (model/network.hpp). Sums accumulate in double. Nothing here allocates.
#pragma once

#include <cmath>

#include "densekit/kinds.hpp"
#include "densekit/runtime/types.hpp"

namespace densekit {

// w (n) -> λ1Σ|w| + λ2Σw²
template <class T>
double penalty(const T* w, Index n, double l1, double l2) {
  const ConstArrayMap<T> wm(w, n);
  double total = 0.0;
  if (l1 != 0.0) total += l1 * double(wm.abs().sum());
  if (l2 != 0.0) total += l2 * double(wm.square().sum());
  return total;
}

// w (n) -> g (n) += λ1·sign(w) + 2λ2·w
template <class T>
void penalty_gradient(T* g, const T* w, Index n, double l1, double l2) {
  const ConstArrayMap<T> wm(w, n);
  ArrayMap<T> gm(g, n);
  if (l1 != 0.0) gm += T(l1) * wm.sign();
  if (l2 != 0.0) gm += T(2 * l2) * wm;
}

// w (rows, cols), constrained in place. NonNeg: w ← max(w, 0). MaxNorm(r): every column
// (axis 0: each unit's incoming weights) or row (axis 1) whose L2 norm exceeds r is rescaled to
// norm r. UnitNorm: every column (or row) is rescaled to norm 1 (zero vectors stay zero).
template <class T>
void apply_constraint(T* w, Index rows, Index cols, ConstraintKind kind, double value, int axis) {
  MatrixMap<T> wm(w, rows, cols);
  switch (kind) {
    case ConstraintKind::non_neg:
      wm = wm.cwiseMax(T(0));
      break;
    case ConstraintKind::max_norm:
    case ConstraintKind::unit_norm: {
      const bool per_col = axis == 0;
      const Index count = per_col ? cols : rows;
      for (Index k = 0; k < count; ++k) {
        const double norm = std::sqrt(double(per_col ? wm.col(k).squaredNorm() : wm.row(k).squaredNorm()));
        double factor = 1.0;
        if (kind == ConstraintKind::max_norm) {
          if (norm > value) factor = value / norm;
        } else if (norm > 0.0) {
          factor = 1.0 / norm;
        }
        if (factor == 1.0) continue;
        if (per_col)
          wm.col(k) *= T(factor);
        else
          wm.row(k) *= T(factor);
      }
      break;
    }
    case ConstraintKind::none:
      break;
  }
}

}  // namespace densekit
