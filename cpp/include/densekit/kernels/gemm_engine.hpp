// The matrix-product engine behind Dense layers: forward, both gradients, and pre-packed inference.
//
// Shapes are a Dense layer's (Keras order, row-major like NumPy): x (B,IN), w (IN,OUT),
// z (B,OUT). Every matrix is a raw pointer with its leading dimension (elements between
// consecutive rows, >= the row length); sizes may be anything >= 0, including 0 and 1.
//
// Arithmetic contract (what makes results reproducible and batch-invariant by construction):
// every output element is one sequential chain over the inner dimension in increasing order,
//   acc = init;  for p = 0..inner-1: acc = acc + a_p·b_p   (fused multiply-add on the AVX2 and
//   AVX-512 paths, a rounded multiply then a rounded add on the portable path)
// with init = (accumulate ? out : 0), plus bias when one is given. No path splits the inner dimension
// between accumulators or threads, and tiles only decide which elements run side by side, so
// an element's value does not depend on the batch size, its row's position, the tile shapes,
// the thread count or how the work is partitioned. It depends on the ISA path: the portable
// path equals the *_ref functions bit for bit; the FMA paths differ from them by rounding only.
//
// Threads: a large product is split into parts along its output rows or columns; the number of
// parts depends only on the shapes and Threading::max_parts (the machine's core count, never
// the live thread count), and Threading::run decides which threads run them (densekit's
// run_parallel has exactly that signature). Nothing here allocates except PackedWeights::pack.
#pragma once

#include <cstddef>

#include "dispatch.hpp"

namespace densekit {
namespace kernels {

using Index = std::ptrdiff_t;

// Runs body(part, parts, ctx) for every part in [0, parts), on whichever threads it likes.
using RunParallel = void (*)(int parts, void (*body)(int part, int parts, void* ctx), void* ctx);

struct Threading {
  int max_parts = 1;          // split products into at most this many parts (partition_count())
  RunParallel run = nullptr;  // null: run the parts one after another on the calling thread
};

// Products below this many flops stay whole (a parallel region costs microseconds); the same
// threshold as densekit's gemm() in parallel.hpp.
constexpr double kParallelGemmFlops = 4.0e5;

// ---- training products (the active ISA path) ----------------------------------------------

// z (B,OUT) = x (B,IN)·w (IN,OUT) [+ bias (OUT)], or z += x·w [+ bias] when accumulate.
void gemm_forward(float* z, Index ldz, const float* x, Index ldx, const float* w, Index ldw,
                  const float* bias, Index B, Index IN, Index OUT, bool accumulate,
                  const Threading& threading = {});
void gemm_forward(double* z, Index ldz, const double* x, Index ldx, const double* w, Index ldw,
                  const double* bias, Index B, Index IN, Index OUT, bool accumulate,
                  const Threading& threading = {});

// dw (IN,OUT) = xᵀ·dz with x (B,IN), dz (B,OUT); or dw += xᵀ·dz when accumulate.
void gemm_weight_grad(float* dw, Index lddw, const float* x, Index ldx, const float* dz, Index lddz,
                      Index B, Index IN, Index OUT, bool accumulate, const Threading& threading = {});
void gemm_weight_grad(double* dw, Index lddw, const double* x, Index ldx, const double* dz,
                      Index lddz, Index B, Index IN, Index OUT, bool accumulate,
                      const Threading& threading = {});

// dx (B,IN) = dz (B,OUT)·wᵀ with w (IN,OUT); or dx += dz·wᵀ when accumulate.
void gemm_input_grad(float* dx, Index lddx, const float* dz, Index lddz, const float* w, Index ldw,
                     Index B, Index IN, Index OUT, bool accumulate, const Threading& threading = {});
void gemm_input_grad(double* dx, Index lddx, const double* dz, Index lddz, const double* w,
                     Index ldw, Index B, Index IN, Index OUT, bool accumulate,
                     const Threading& threading = {});

// ---- inference on pre-packed weights --------------------------------------------------------

// w (IN,OUT) rearranged for the micro-kernel of one ISA path: ceil(OUT/NR) panels of IN rows by
// NR columns each, IN·NR elements apart (the last one NR/2 wide when at most half full,
// zero-padded past OUT), in one 64-byte-aligned buffer. Owns its storage; packing again reuses
// it when the new weights fit (no allocation in steady state).
template <class T>
class PackedWeights {
 public:
  PackedWeights() = default;
  ~PackedWeights();
  PackedWeights(PackedWeights&& other) noexcept;
  PackedWeights& operator=(PackedWeights&& other) noexcept;
  PackedWeights(const PackedWeights&) = delete;
  PackedWeights& operator=(const PackedWeights&) = delete;

  // Packs w (IN,OUT) for the active ISA path (or `isa`, which must be supported).
  void pack(const T* w, Index ldw, Index in, Index out);
  void pack(const T* w, Index ldw, Index in, Index out, Isa isa);
  void clear();  // back to empty; keeps the storage

  bool empty() const { return out_ == 0 && in_ == 0; }
  Index in() const { return in_; }
  Index out() const { return out_; }
  Isa isa() const { return isa_; }
  Index panel_width() const { return nr_; }
  const T* data() const { return data_; }
  std::size_t bytes() const { return bytes_; }  // of the packed weights

 private:
  T* data_ = nullptr;
  std::size_t capacity_ = 0;  // elements
  Index in_ = 0, out_ = 0, nr_ = 0;
  std::size_t bytes_ = 0;
  Isa isa_ = Isa::portable;
};

// z (B,OUT) = x (B,IN)·w + bias (OUT, or null), with w packed by PackedWeights (IN, OUT from it);
// runs the ISA path w was packed for. Bit-identical to gemm_forward on that path, and a row's
// result does not depend on B or on the row's position (see the contract above).
void gemm_packed(float* z, Index ldz, const float* x, Index ldx, const PackedWeights<float>& w,
                 const float* bias, Index B, const Threading& threading = {});
void gemm_packed(double* z, Index ldz, const double* x, Index ldx, const PackedWeights<double>& w,
                 const double* bias, Index B, const Threading& threading = {});

// ---- naive references (test oracles): the contract's chain, plain multiply and add ---------

template <class T>
void gemm_forward_ref(T* z, Index ldz, const T* x, Index ldx, const T* w, Index ldw, const T* bias,
                      Index B, Index IN, Index OUT, bool accumulate);
template <class T>
void gemm_weight_grad_ref(T* dw, Index lddw, const T* x, Index ldx, const T* dz, Index lddz,
                          Index B, Index IN, Index OUT, bool accumulate);
template <class T>
void gemm_input_grad_ref(T* dx, Index lddx, const T* dz, Index lddz, const T* w, Index ldw,
                         Index B, Index IN, Index OUT, bool accumulate);

// Micro-tile of a path for element type T (rows × columns of outputs per kernel call); for
// benchmarks and reports.
struct TileShape {
  int rows, cols;
};
template <class T>
TileShape gemm_tile(Isa isa);

}  // namespace kernels
}  // namespace densekit
