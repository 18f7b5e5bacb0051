// Losses and metrics: per-sample terms, their weighted sum, and the gradient of the batch mean.
//
// A batch loss is (1/B)·Σ_i w_i·l_i, where l_i is averaged over output units for mse, mae,
// huber and binary cross-entropy (as Keras and PyTorch do). When the output layer ends in softmax
// (or sigmoid) and the loss is the matching cross-entropy, the pair is fused: the gradient goes
// straight to the pre-activation z as w_i·(p − y)/B, and the loss is computed from z exactly.
#pragma once

#include <algorithm>
#include <cmath>

#include "densekit/kinds.hpp"
#include "densekit/runtime/types.hpp"

namespace densekit {

struct LossSpec {
  LossKind kind = LossKind::mse;
  bool from_logits = false;
  double huber_delta = 1.0;
};

// Sums over a batch (double accumulation): Σ w_i l_i, Σ correct, Σ squared/absolute errors.
struct LossSums {
  double weighted_loss = 0.0;
  double correct = 0.0;
  double sq_error = 0.0;
  double abs_error = 0.0;
  void add(const LossSums& o) {
    weighted_loss += o.weighted_loss;
    correct += o.correct;
    sq_error += o.sq_error;
    abs_error += o.abs_error;
  }
};

constexpr double kProbEpsilon = 1e-7;  // Keras's clip for cross-entropy on probabilities

// out (B,C) network output; z (B,C) the output layer's pre-activation when softmax/sigmoid is
// fused with its cross-entropy, else null; y (B,C), or (B,1) class ids when sparse; w (B) sample
// weights or null. Writes the gradient of the *batch mean* loss (1/B folded in as `inv_batch`)
// into grad (B,C) when non-null: w.r.t. z when fused, w.r.t. out otherwise. Metrics are computed
// on out.
template <class T>
LossSums loss_and_grad(const LossSpec& spec, AccuracyKind acc, const T* out, const T* z,
                       const T* y, const T* w, T* grad, Index rows, Index cols, double inv_batch) {
  // Where the loss reads logits: the fused pre-activation, or the output itself (from_logits).
  const T* logits = z ? z : (spec.from_logits ? out : nullptr);
  LossSums sums;
  const Index ycols = spec.kind == LossKind::sparse_categorical_crossentropy ? 1 : cols;
  const double eps = kProbEpsilon;
  for (Index r = 0; r < rows; ++r) {
    const T* o = out + r * cols;
    const T* zl = logits ? logits + r * cols : nullptr;
    const T* yr = y + r * ycols;
    T* g = grad ? grad + r * cols : nullptr;
    const double wr = w ? double(w[r]) : 1.0;
    const double scale = wr * inv_batch;  // gradient scale of this row
    double l = 0.0;
    Index pred = 0;
    for (Index c = 1; c < cols; ++c)
      if (o[c] > o[pred]) pred = c;
    switch (spec.kind) {
      case LossKind::sparse_categorical_crossentropy:
      case LossKind::categorical_crossentropy: {
        const bool sparse = spec.kind == LossKind::sparse_categorical_crossentropy;
        const Index label = sparse ? Index(yr[0]) : 0;
        if (zl) {
          double m = double(zl[0]);
          for (Index c = 1; c < cols; ++c) m = std::max(m, double(zl[c]));
          double se = 0.0, ysum = sparse ? 1.0 : 0.0;
          for (Index c = 0; c < cols; ++c) se += std::exp(double(zl[c]) - m);
          if (!sparse)
            for (Index c = 0; c < cols; ++c) ysum += double(yr[c]);
          const double lse = m + std::log(se);
          // d/dz of −Σ y_c·log softmax(z)_c is p·Σy − y.
          for (Index c = 0; c < cols; ++c) {
            const double yc = sparse ? (c == label ? 1.0 : 0.0) : double(yr[c]);
            if (yc != 0.0) l -= yc * (double(zl[c]) - lse);
            if (g) g[c] = T((std::exp(double(zl[c]) - lse) * ysum - yc) * scale);
          }
        } else {
          for (Index c = 0; c < cols; ++c) {
            const double yc = sparse ? (c == label ? 1.0 : 0.0) : double(yr[c]);
            const double p = double(o[c]);
            const double pc = std::min(std::max(p, eps), 1.0 - eps);
            if (yc != 0.0) l -= yc * std::log(pc);
            if (g) g[c] = T((p > eps && p < 1.0 - eps) ? -yc / pc * scale : 0.0);
          }
        }
        if (acc == AccuracyKind::sparse_categorical) sums.correct += pred == label ? 1.0 : 0.0;
        if (acc == AccuracyKind::categorical) {
          Index truth = 0;
          for (Index c = 1; c < cols; ++c)
            if (yr[c] > yr[truth]) truth = c;
          sums.correct += pred == truth ? 1.0 : 0.0;
        }
        break;
      }
      case LossKind::binary_crossentropy: {
        double hits = 0.0;
        for (Index c = 0; c < cols; ++c) {
          const double yc = double(yr[c]);
          const double x = double(o[c]);
          if (zl) {
            // Stable form: max(z,0) − z·y + log(1 + e^−|z|).
            const double zc = double(zl[c]);
            l += std::max(zc, 0.0) - zc * yc + std::log1p(std::exp(-std::abs(zc)));
            const double p =
                zc >= 0 ? 1.0 / (1.0 + std::exp(-zc)) : std::exp(zc) / (1.0 + std::exp(zc));
            if (g) g[c] = T((p - yc) * scale / double(cols));
            hits += ((p > 0.5) == (yc > 0.5)) ? 1.0 : 0.0;
          } else {
            const double pc = std::min(std::max(x, eps), 1.0 - eps);
            l -= yc * std::log(pc) + (1.0 - yc) * std::log(1.0 - pc);
            if (g)
              g[c] = T((x > eps && x < 1.0 - eps) ? (pc - yc) / (pc * (1.0 - pc)) * scale / double(cols)
                                                   : 0.0);
            hits += ((x > 0.5) == (yc > 0.5)) ? 1.0 : 0.0;
          }
        }
        l /= double(cols);
        if (acc == AccuracyKind::binary) sums.correct += hits / double(cols);
        break;
      }
      case LossKind::mse:
      case LossKind::mae:
      case LossKind::huber: {
        const double delta = spec.huber_delta;
        for (Index c = 0; c < cols; ++c) {
          const double e = double(o[c]) - double(yr[c]);
          const double ae = std::abs(e);
          double d;
          if (spec.kind == LossKind::mse) {
            l += e * e;
            d = 2.0 * e;
          } else if (spec.kind == LossKind::mae) {
            l += ae;
            d = e > 0 ? 1.0 : (e < 0 ? -1.0 : 0.0);
          } else if (ae <= delta) {
            l += 0.5 * e * e;
            d = e;
          } else {
            l += delta * (ae - 0.5 * delta);
            d = e > 0 ? delta : -delta;
          }
          if (g) g[c] = T(d * scale / double(cols));
        }
        l /= double(cols);
        break;
      }
    }
    double se = 0.0, ae = 0.0;
    if (spec.kind != LossKind::sparse_categorical_crossentropy) {
      for (Index c = 0; c < cols; ++c) {
        const double e = double(o[c]) - double(yr[c]);
        se += e * e;
        ae += std::abs(e);
      }
      sums.sq_error += se / double(cols);
      sums.abs_error += ae / double(cols);
    }
    sums.weighted_loss += wr * l;
  }
  return sums;
}

}  // namespace densekit
