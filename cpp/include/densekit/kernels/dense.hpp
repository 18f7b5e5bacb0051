// Dense kernels: z = x·W + b and its backward pass.
//
// Shapes follow Keras: x (B,IN), W (IN,OUT), b (OUT) -> z (B,OUT). Products go through gemm(),
// which splits them between threads; the reductions here are cheap by comparison.
#pragma once

#include "densekit/kernels/gemm.hpp"
#include "densekit/runtime/types.hpp"

namespace densekit {

// x (B,IN), W (IN,OUT), b (OUT) or null -> z (B,OUT)
template <class T>
void dense_forward(MatrixMap<T> z, ConstMatrixMap<T> x, ConstMatrixMap<T> W, const T* b) {
  gemm(z, x, W);
  if (b) z.rowwise() += ConstRowVectorMap<T>(b, z.cols());
}

// dz (B,OUT), x (B,IN) -> dW (IN,OUT) = xᵀ·dz, db (OUT) = Σ_rows dz (db may be null).
template <class T>
void dense_backward_params(MatrixMap<T> dW, T* db, ConstMatrixMap<T> dz, ConstMatrixMap<T> x) {
  gemm(dW, x.transpose(), dz);
  if (db) RowVectorMap<T>(db, dz.cols()) = dz.colwise().sum();
}

// dz (B,OUT), W (IN,OUT) -> dx (B,IN) = dz·Wᵀ
template <class T>
void dense_backward_input(MatrixMap<T> dx, ConstMatrixMap<T> dz, ConstMatrixMap<T> W) {
  gemm(dx, dz, W.transpose());
}

}  // namespace densekit
