// Product engine, portable path: the build's baseline ISA (SSE4.2 on x86-64, NEON or whatever
// the target offers elsewhere) through GCC/Clang vector extensions.
//
// 4×8 float (4×4 double) micro-tiles. No fused multiply-add: the baseline has none on x86-64,
// and the file is compiled with -ffp-contract=off so the compiler never fuses on CPUs that
// have one; this path therefore computes exactly what the *_ref functions compute.
#include "gemm_isa.hpp"

namespace densekit {
namespace kernels {
namespace portable {
namespace {

template <class Scalar, int Lanes>
struct VecExt {
  using T = Scalar;
  typedef Scalar V __attribute__((vector_size(sizeof(Scalar) * Lanes)));
  static constexpr int L = Lanes;
  static V zero() { return V{}; }
  static V loadu(const T* p) {
    V v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
  }
  static void storeu(T* p, V v) { __builtin_memcpy(p, &v, sizeof v); }
  static V load_partial(const T* p, Index n) {
    V v{};
    for (int l = 0; l < L; ++l)
      if (l < n) v[l] = p[l];
    return v;
  }
  static void store_partial(T* p, V v, Index n) {
    for (int l = 0; l < L; ++l)
      if (l < n) p[l] = v[l];
  }
  static V broadcast(const T* p) {
    V v;
    for (int l = 0; l < L; ++l) v[l] = *p;
    return v;
  }
  static V fma(V a, V b, V c) { return c + a * b; }  // two roundings (-ffp-contract=off)
  static V add(V a, V b) { return a + b; }
  static constexpr int kTransposeBlock = 1;  // packing transposes element by element
};

using VecF = VecExt<float, 4>;
using VecD = VecExt<double, 2>;

struct Tile {
  static constexpr int kMrF32 = 4, kNvF32 = 2;  // 4 × 8 floats
  static constexpr int kMrF64 = 4, kNvF64 = 2;  // 4 × 4 doubles
  static constexpr int kSmallRows = 3, kSmallPanels = 2;
};

}  // namespace

#include "gemm_microkernel.inc"

}  // namespace portable
}  // namespace kernels
}  // namespace densekit
