// What each ISA path provides for weights stored compressed but computed in float32: the fp16
// conversions and in-register-converting forward (f16.hpp) and the sparse forward
// (sparse_gemm.hpp). One problem description per kernel and a table per path.
//
// Internal to those kernels (f16_engine.cpp and sparse_engine.cpp fill problems and split them
// between threads). Every compressed_<isa>.cpp includes this before its target pragma, so it
// holds plain data only.
#pragma once

#include <cstdint>

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

// z rows [0, m) × slices [slice_begin_index, slice_end_index) of a SparseWeights.
struct SparseProblem {
  Index m;
  const float* x;
  Index ldx;
  const Index* slice_begin;  // entry offsets
  const std::uint16_t* rows;
  const float* values;
  Index first_slice, last_slice;  // [first, last)
  Index out;
  const float* bias;  // (out) or null
  float* z;
  Index ldz;
};

struct CompressedPath {
  void (*f16_direct)(const F16Problem& problem);  // null: no in-register conversion on this path
  void (*f16_to_f32)(float* dst, const std::uint16_t* src, Index n);
  void (*f32_to_f16)(std::uint16_t* dst, const float* src, Index n);
  void (*sparse)(const SparseProblem& problem);
};

// The scalar conversions of f16.hpp, for paths without F16C and for tails.
std::uint16_t f32_to_f16_scalar(float value);
float f16_to_f32_scalar(std::uint16_t half);

namespace portable {
extern const CompressedPath compressed_path;
}
namespace avx2 {
extern const CompressedPath compressed_path;
}
namespace avx512 {
extern const CompressedPath compressed_path;
}

}  // namespace detail
}  // namespace kernels
}  // namespace densekit
