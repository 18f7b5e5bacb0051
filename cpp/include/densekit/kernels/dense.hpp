// Dense kernels: z = x·W + b and its backward pass.
//
// Shapes follow Keras: x (B,IN), W (IN,OUT), b (OUT) -> z (B,OUT), every buffer row-major.
// Products go through gemm(), which splits them between threads; the reductions here are cheap
// by comparison. Free functions over raw buffers: outputs first, then inputs and weights, then
// sizes. Nothing here allocates.
#pragma once

#include "densekit/kernels/gemm.hpp"
#include "densekit/runtime/types.hpp"

namespace densekit {

// x (B,IN), W (IN,OUT), b (OUT) or null -> z (B,OUT)
template <class T>
void dense_forward(T* z, const T* x, const T* W, const T* b, Index B, Index IN, Index OUT) {
  gemm(z, x, W, B, OUT, IN, Trans::no, Trans::no, false);
  if (b) MatrixMap<T>(z, B, OUT).rowwise() += ConstRowVectorMap<T>(b, OUT);
}

// dz (B,OUT), x (B,IN) -> dW (IN,OUT) = xᵀ·dz, db (OUT) = Σ_rows dz (db may be null).
template <class T>
void dense_backward_params(T* dW, T* db, const T* dz, const T* x, Index B, Index IN, Index OUT) {
  gemm(dW, x, dz, IN, OUT, B, Trans::yes, Trans::no, false);
  if (db) RowVectorMap<T>(db, OUT) = ConstMatrixMap<T>(dz, B, OUT).colwise().sum();
}

// dz (B,OUT), W (IN,OUT) -> dx (B,IN) = dz·Wᵀ
template <class T>
void dense_backward_input(T* dx, const T* dz, const T* W, Index B, Index IN, Index OUT) {
  gemm(dx, dz, W, B, IN, OUT, Trans::no, Trans::yes, false);
}

}  // namespace densekit
