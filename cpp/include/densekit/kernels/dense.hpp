// Dense kernels for training: z = x·W + b and its backward pass.
//
// Shapes follow Keras: x (B,IN), W (IN,OUT), b (OUT) -> z (B,OUT), every buffer row-major and
// contiguous. The products are the engine's (kernels/gemm_engine.hpp), split between densekit's
// threads by runtime/parallel.hpp's policy: the split depends on the shapes and the machine only,
// and each output element is one chain over the inner dimension, so one thread, two, or the
// tuner switching between them give the same bits. The bias is the chain's first term (the
// engine adds it before the products, not after). Free functions over raw buffers: outputs
// first, then inputs and weights, then sizes. Nothing here allocates (the engine's per-thread
// workspace is sized once).
#pragma once

#include "densekit/kernels/gemm_engine.hpp"
#include "densekit/runtime/parallel.hpp"
#include "densekit/runtime/types.hpp"

namespace densekit {

// How training products are split: into partition_count() parts at most, run by run_parallel.
inline kernels::Threading training_threads() { return {partition_count(), &run_parallel}; }

// How inference splits a large product's columns between threads — from one row up: each core
// then reads half the weights, from its own cache (W1's batch 1: 15.5 -> 10 µs on two cores).
// A busy core would stall the split; predict()'s thread tuner (Network::predict) then falls back
// to one thread. One thread (num_threads() 1, e.g. inside Network::predict's row blocks) keeps
// the product whole, and products below kParallelGemmFlops stay whole anyway.
inline kernels::Threading inference_threads() {
  if (num_threads() <= 1) return {1, nullptr};
  return {partition_count(), &run_parallel};
}

// x (B,IN), W (IN,OUT), b (OUT) or null -> z (B,OUT)
template <class T>
void dense_forward(T* z, const T* x, const T* W, const T* b, Index B, Index IN, Index OUT) {
  kernels::gemm_forward(z, OUT, x, IN, W, OUT, b, B, IN, OUT, false, training_threads());
}

// dz (B,OUT), x (B,IN) -> dW (IN,OUT) = xᵀ·dz, db (OUT) = Σ_rows dz (db may be null).
template <class T>
void dense_backward_params(T* dW, T* db, const T* dz, const T* x, Index B, Index IN, Index OUT) {
  kernels::gemm_weight_grad(dW, OUT, x, IN, dz, OUT, B, IN, OUT, false, training_threads());
  if (db) RowVectorMap<T>(db, OUT) = ConstMatrixMap<T>(dz, B, OUT).colwise().sum();
}

// dz (B,OUT), W (IN,OUT) -> dx (B,IN) = dz·Wᵀ
template <class T>
void dense_backward_input(T* dx, const T* dz, const T* W, Index B, Index IN, Index OUT) {
  kernels::gemm_input_grad(dx, IN, dz, OUT, W, OUT, B, IN, OUT, false, training_threads());
}

}  // namespace densekit
