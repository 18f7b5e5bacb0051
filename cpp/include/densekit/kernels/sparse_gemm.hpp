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

#include "dispatch.hpp"
#include "gemm_engine.hpp"

namespace densekit {
namespace kernels {

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
  Index group_cols() const { return group_cols_; }
  Index block_rows() const { return block_rows_; }
  Index groups() const { return group_cols_ ? (out_ + group_cols_ - 1) / group_cols_ : 0; }
  Index blocks() const { return blocks_; }
  Index nonzeros() const { return nnz_; }
  Index entries() const { return entry_begin_ ? entry_begin_[groups() * blocks_] : 0; }  // of group_cols() lanes
  const Index* entry_begin() const { return entry_begin_; }  // groups()·blocks()+1 offsets, group-major
  const std::uint16_t* rows() const { return rows_; }         // entries()·group_cols()
  const float* values() const { return values_; }             // entries()·group_cols()
  const Index* column_begin() const { return col_begin_; }    // out()+1 offsets, column-compressed copy
  const std::uint16_t* column_rows() const { return csc_rows_; }
  const float* column_values() const { return csc_values_; }
  // Rows from which sparse_gemm runs the batched kernel: half its tile (4 vectors of rows),
  // where it overtakes the grouped one (bench/SPARSE_CROSSOVER.md).
  Index batched_min_rows() const { return batched_min_rows_; }
  std::size_t bytes() const {
    return std::size_t(entries() * group_cols_) * 6 + std::size_t(groups() * blocks_ + 1) * sizeof(Index) +
           std::size_t(nnz_) * 6 + std::size_t(out_ + 1) * sizeof(Index);
  }

 private:
  void* block_ = nullptr;
  std::size_t capacity_ = 0;
  Index* entry_begin_ = nullptr;
  std::uint16_t* rows_ = nullptr;
  float* values_ = nullptr;
  Index* col_begin_ = nullptr;
  std::uint16_t* csc_rows_ = nullptr;
  float* csc_values_ = nullptr;
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
