// What each ISA path provides for weights stored compressed but computed in float32: the fp16
// conversions and in-register-converting forward (f16.hpp) and the sparse forward
// (sparse_gemm.hpp). One problem description per kernel and a table per path.
//
// Internal to those kernels (f16_engine.cpp and sparse_engine.cpp fill problems and split them
// between threads). Every compressed_<isa>.cpp includes this before its target pragma, so it
// holds plain data only.
#pragma once

#include <cstdint>

#include "densekit/kernels/dispatch.hpp"
#include "densekit/kernels/gemm_engine.hpp"

namespace densekit {
namespace kernels {
namespace detail {

// z (m, n) = x (m, k)·f32(w) [+ bias]: w is n/nr panels (the last one zero-padded) of k rows
// × nr fp16 columns, k·nr apart.
struct F16Problem {
  Index m, n, k;
  const float* x;
  Index ldx;
  const std::uint16_t* w;
  Index nr;
  const float* bias;
  float* z;
  Index ldz;
};

// z rows [0, m) × column groups [first_group, last_group) of a SparseWeights (the grouped
// format), or × columns [first_col, last_col) (the column-compressed copy, batched kernel).
struct SparseProblem {
  Index m;
  const float* x;
  Index ldx;
  Index in;
  const Index* entry_begin;  // (groups·blocks + 1) entry offsets, group-major
  const std::uint16_t* rows;  // per lane: the row within its block
  const float* values;
  Index blocks;
  Index first_group, last_group;
  const Index* col_begin;  // (out + 1) offsets into csc_rows / csc_values
  const std::uint16_t* csc_rows;
  const float* csc_values;
  Index first_col, last_col;
  float* workspace;  // batched kernel: sparse_batched_workspace_floats(in, out, batch_rows)
  Index out;
  const float* bias;  // (out) or null
  float* z;
  Index ldz;
};

struct CompressedPath {
  void (*f16_direct)(const F16Problem& problem);  // null: no in-register conversion on this path
  void (*f16_to_f32)(float* dst, const std::uint16_t* src, Index n);
  void (*f32_to_f16)(std::uint16_t* dst, const float* src, Index n);
  void (*sparse)(const SparseProblem& problem);          // the grouped format, any batch
  void (*sparse_batched)(const SparseProblem& problem);  // the column-compressed copy, batches
  int sparse_batch_rows;  // rows per tile of sparse_batched (its lanes)
  int sparse_group_cols;  // the path's sparse format: columns per group (lanes of an entry)
  int sparse_block_rows;  // and rows per block
};

constexpr Index sparse_batched_workspace_floats(Index in, Index out, Index batch_rows) {
  return (in + out) * batch_rows;
}

// The table of a path (defined in f16_engine.cpp).
const CompressedPath& compressed_path_for(Isa isa);

// The scalar conversions of f16.hpp, for paths without F16C and for tails.
std::uint16_t f32_to_f16_scalar(float value);
float f16_to_f32_scalar(std::uint16_t half);

}  // namespace detail

// Each defined in its compressed_<isa>.cpp (avx2/avx512 only on x86-64), in the namespace
// densekit::kernels::<isa> of the ISA-specific kernel files.
namespace portable {
extern const detail::CompressedPath compressed_path;
}
namespace avx2 {
extern const detail::CompressedPath compressed_path;
}
namespace avx512 {
extern const detail::CompressedPath compressed_path;
}
}  // namespace kernels
}  // namespace densekit
