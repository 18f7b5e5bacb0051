// The Dense forward on pruned weights: z (B,OUT) = x (B,IN)·w + bias with most of w zero.
//
// Format (built at load from the dense pruned matrix, never stored): sliced ELLPACK over output
// columns. Columns go in slices of 16; slice s stores, for t < len(s) (its longest column's
// non-zero count), one entry of 16 lanes: lane c holds the t-th non-zero of column 16s+c (row
// index as uint16, value as float), rows in increasing order, padded with (row 0, 0.0f) past a
// column's non-zeros. A batch-1 row is computed slice by slice: gather 16 inputs, one fused
// multiply-add. Unstructured magnitude pruning is what this serves: at 90 % sparsity a 1×16
// block of w is all zero with probability 0.9^16 ≈ 19 %, so dense-block formats would skip little.
//
// Arithmetic: each output runs the product engine's chain over the column's non-zeros only
// (acc = 0 + bias, then acc = fma(x_k, w_k, acc) in increasing k; a multiply then an add on
// the portable path). Adding x·0 to an accumulator that is never -0 changes nothing, so for
// finite inputs the result equals gemm_forward on the dense pruned matrix on the same ISA path
// bit for bit, and, like it, does not depend on the batch size, the row's position or threads:
// switching a layer between the sparse and the dense kernel never changes a prediction.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dispatch.hpp"
#include "gemm_engine.hpp"

namespace densekit {
namespace kernels {

constexpr Index kSparseSliceCols = 16;
constexpr Index kSparseMaxInner = 65536;  // row indices are uint16

class SparseWeights {
 public:
  SparseWeights() = default;
  ~SparseWeights();
  SparseWeights(SparseWeights&& other) noexcept;
  SparseWeights& operator=(SparseWeights&& other) noexcept;
  SparseWeights(const SparseWeights&) = delete;
  SparseWeights& operator=(const SparseWeights&) = delete;

  // From the dense w (IN,OUT) (zeros of either sign are skipped), for the active path or `isa`.
  // Throws std::invalid_argument when IN > kSparseMaxInner.
  void pack(const float* w, Index ldw, Index in, Index out);
  void pack(const float* w, Index ldw, Index in, Index out, Isa isa);

  Index in() const { return in_; }
  Index out() const { return out_; }
  Isa isa() const { return isa_; }
  Index slices() const { return (out_ + kSparseSliceCols - 1) / kSparseSliceCols; }
  Index nonzeros() const { return nnz_; }
  Index entries() const { return slice_begin_ ? slice_begin_[slices()] : 0; }  // 16 lanes each
  const Index* slice_begin() const { return slice_begin_; }  // slices()+1 entry offsets
  const std::uint16_t* rows() const { return rows_; }         // entries()·16
  const float* values() const { return values_; }             // entries()·16
  std::size_t bytes() const { return std::size_t(entries()) * 16 * 6 + std::size_t(slices() + 1) * sizeof(Index); }

 private:
  void* block_ = nullptr;
  std::size_t capacity_ = 0;
  Index* slice_begin_ = nullptr;
  std::uint16_t* rows_ = nullptr;
  float* values_ = nullptr;
  Index in_ = 0, out_ = 0, nnz_ = 0;
  Isa isa_ = Isa::portable;
};

// z (B,OUT) = x (B,IN)·w + bias (OUT, or null) on w's path; x finite.
void sparse_gemm(float* z, Index ldz, const float* x, Index ldx, const SparseWeights& w,
                 const float* bias, Index B, const Threading& threading = {});

}  // namespace kernels
}  // namespace densekit
