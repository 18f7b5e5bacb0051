// The Dense forward on pruned weights: z (B,OUT) = x (B,IN)·w + bias with most of w zero.
//
// Format (built at load from the dense pruned matrix, never stored; the same for every path
// but its two sizes): columns go in groups of G, rows in blocks of R. For group g and block b,
// entries t < len(g, b) (the most non-zeros any of the group's columns has in the block) hold
// G lanes: lane c has the t-th non-zero of column G·g+c within the block (its row relative to
// the block, uint16, and its value), rows in increasing order, padded with (0, 0.0f).
// - portable: G = 16, R = 65536 (one block: sliced ELLPACK), inputs loaded one by one;
// - AVX2: G = 32, R = 8: a block's 8 inputs sit in one register, vpermps looks up 8 lanes;
// - AVX-512: G = 32, R = 32: two registers, vpermt2ps looks up 16 lanes.
//   Gathers are slow (Zen 4: under one float per cycle, slower than scalar loads).
// Batches of at least batched_min_rows() rows use a second, column-compressed copy (per
// column its non-zeros' rows and values) with the batch in the vector lanes: no lookups, no
// padding, one broadcast weight per non-zero. Unstructured magnitude pruning is what this serves: at 90 % sparsity a 1×16 block of w is all
// zero with probability 0.9^16 ≈ 19 %, so dense-block formats would skip little.
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

#include "aligned_buffer.hpp"
#include "dispatch.hpp"
#include "gemm_engine.hpp"

namespace densekit {
namespace kernels {

constexpr Index kSparseMaxInner = 65536;  // row indices are uint16

class SparseWeights {
 public:
  // From the dense w (IN,OUT) (zeros of either sign are skipped), for the active path or `isa`.
  // Throws std::invalid_argument when IN > kSparseMaxInner.
  void pack(const float* w, Index ldw, Index in, Index out);
  void pack(const float* w, Index ldw, Index in, Index out, Isa isa);

  Index in() const { return in_; }
  Index out() const { return out_; }
  Isa isa() const { return isa_; }
  Index group_cols() const { return group_cols_; }
  Index block_rows() const { return block_rows_; }
  Index groups() const { return group_cols_ ? (out_ + group_cols_ - 1) / group_cols_ : 0; }
  Index blocks() const { return blocks_; }
  Index nonzeros() const { return nnz_; }
  Index entries() const { return group_cols_ ? entry_begin()[groups() * blocks_] : 0; }  // of group_cols() lanes
  // groups()·blocks()+1 offsets (group-major), rows and values (entries()·group_cols() each);
  // then the column-compressed copy: out()+1 offsets, values and rows (nonzeros() each).
  const Index* entry_begin() const { return at<Index>(0); }
  const float* values() const { return at<float>(offset_[0]); }
  const std::uint16_t* rows() const { return at<std::uint16_t>(offset_[1]); }
  const Index* column_begin() const { return at<Index>(offset_[2]); }
  const float* column_values() const { return at<float>(offset_[3]); }
  const std::uint16_t* column_rows() const { return at<std::uint16_t>(offset_[4]); }
  // Rows from which sparse_gemm runs the batched kernel: half its tile (4 vectors of rows),
  // where it overtakes the grouped one (bench/SPARSE_CROSSOVER.md).
  Index batched_min_rows() const { return batched_min_rows_; }
  std::size_t bytes() const {
    return std::size_t(entries() * group_cols_) * 6 + std::size_t(groups() * blocks_ + 1) * sizeof(Index) +
           std::size_t(nnz_) * 6 + std::size_t(out_ + 1) * sizeof(Index);
  }

 private:
  template <class T>
  const T* at(std::size_t offset) const {
    return reinterpret_cast<const T*>(storage_.data() + offset);
  }

  AlignedBuffer storage_;
  std::size_t offset_[5] = {};  // bytes: values, rows, column offsets, column values, column rows
  Index batched_min_rows_ = 1;
  Index in_ = 0, out_ = 0, nnz_ = 0, group_cols_ = 0, block_rows_ = 0, blocks_ = 0;
  Isa isa_ = Isa::portable;
};

// z (B,OUT) = x (B,IN)·w + bias (OUT, or null) on w's path; x finite.
void sparse_gemm(float* z, Index ldz, const float* x, Index ldx, const SparseWeights& w,
                 const float* bias, Index B, const Threading& threading = {});

// One kernel regardless of B, for tests and benchmarks (sparse_gemm picks by B).
enum class SparseKernel { grouped, batched };
void sparse_gemm(float* z, Index ldz, const float* x, Index ldx, const SparseWeights& w,
                 const float* bias, Index B, SparseKernel kernel, const Threading& threading = {});

}  // namespace kernels
}  // namespace densekit
