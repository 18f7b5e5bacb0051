// What each ISA path of the product engine provides: one problem description and a table.
//
// Internal to the engine (gemm_engine.cpp fills problems, splits them between threads and calls
// the table of the chosen path). Every gemm_<isa>.cpp includes this before its target pragma, so
// it holds plain data only: no inline functions, no templates with code, nothing that could be
// instantiated inside a target region (see gemm_microkernel.inc).
#pragma once

#include "densekit/kernels/gemm_engine.hpp"

namespace densekit {
namespace kernels {
namespace detail {

// c (m,n) (+)= a (m,k)·b (k,n) [+ bias (n)] with the engine's arithmetic contract.
// a(i,p) = a[i*a_row + p*a_col] (strides express x or xᵀ).
// b is either a row-major matrix, b(p,j) = b[p*ldb + j], or its transpose, b(p,j) = b[j*ldb + p]
// (b_transposed), which the path packs panel by panel; or, for inference, b_packed: panels of
// k×NR, consecutive panels k*NR elements apart, the first one holding column 0.
template <class T>
struct GemmProblem {
  Index m, n, k;
  const T* a;
  Index a_row, a_col;
  const T* b;
  Index ldb;
  bool b_transposed;
  bool b_packed;
  const T* bias;  // (n) or null
  T* c;
  Index ldc;
  bool accumulate;
  T* workspace;  // GemmPath::workspace_bytes, 64-byte aligned, this thread's: packed panel slices
};

struct GemmPath {
  int mr_f32, nr_f32, mr_f64, nr_f64;  // micro-tile: rows × columns
  Index workspace_bytes;
  void (*gemm_f32)(const GemmProblem<float>& problem);
  void (*gemm_f64)(const GemmProblem<double>& problem);
};

// The engine of `isa`'s path (gemm_engine.cpp); the float16 engine runs its products through it.
const GemmPath& gemm_path_for(Isa isa);

}  // namespace detail

// Each defined in its gemm_<isa>.cpp (the avx2/avx512 ones only on x86-64), in the namespace
// densekit::kernels::<isa> that every ISA-specific kernel file uses.
namespace portable {
extern const detail::GemmPath gemm_path;
}
namespace avx2 {
extern const detail::GemmPath gemm_path;
}
namespace avx512 {
extern const detail::GemmPath gemm_path;
}
}  // namespace kernels
}  // namespace densekit
