// The element-wise kernels' dispatch: the table of the path asked for (kernels/elementwise.hpp).
// Baseline code only; each table is defined by its path's copy of elementwise_path.cpp.
#include "densekit/kernels/elementwise.hpp"

extern "C" const densekit::kernels::ElementwisePath densekit_elementwise_portable;
// DENSEKIT_ELEMENTWISE_PORTABLE_ONLY: a toolchain that cannot keep a per-ISA object's symbols
// private (cmake/kernels.cmake) builds the portable copy alone, which every path then uses.
#if (defined(__x86_64__) || defined(__i386__)) && !defined(DENSEKIT_ELEMENTWISE_PORTABLE_ONLY)
#define DENSEKIT_ELEMENTWISE_ISA_PATHS 1
extern "C" const densekit::kernels::ElementwisePath densekit_elementwise_avx2;
extern "C" const densekit::kernels::ElementwisePath densekit_elementwise_avx512;
#endif

namespace densekit {
namespace kernels {

namespace {
const ElementwisePath& path_for(Isa isa) {
  switch (isa) {
#ifdef DENSEKIT_ELEMENTWISE_ISA_PATHS
    case Isa::avx512: return densekit_elementwise_avx512;
    case Isa::avx2: return densekit_elementwise_avx2;
#endif
    default: return densekit_elementwise_portable;
  }
}
}  // namespace

template <>
const ElementwiseKernels<float>& elementwise<float>(Isa isa) {
  return path_for(isa).f32;
}
template <>
const ElementwiseKernels<double>& elementwise<double>(Isa isa) {
  return path_for(isa).f64;
}

}  // namespace kernels
}  // namespace densekit
