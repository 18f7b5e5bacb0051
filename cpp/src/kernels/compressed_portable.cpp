// Kernels over fp16-stored and sparse weights, portable path: the build's baseline ISA through
// GCC/Clang vector extensions; no fused multiply-add (-ffp-contract=off), so the results are
// those of the fp32 engine's portable path. Panels of 8 columns, as that path's.
#include "compressed_isa.hpp"

namespace densekit {
namespace kernels {
namespace portable {
namespace {

struct VT {
  typedef float V __attribute__((vector_size(16)));
  typedef std::uint32_t U __attribute__((vector_size(16)));
  typedef std::int32_t S __attribute__((vector_size(16)));
  static constexpr int L = 4;
  static constexpr bool kHasF16 = true;
  static V zero() { return V{}; }
  static V loadu(const float* p) {
    V v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
  }
  static void storeu(float* p, V v) { __builtin_memcpy(p, &v, sizeof v); }
  static V load_partial(const float* p, Index n) {
    V v{};
    for (int l = 0; l < L; ++l)
      if (l < n) v[l] = p[l];
    return v;
  }
  static void store_partial(float* p, V v, Index n) {
    for (int l = 0; l < L; ++l)
      if (l < n) p[l] = v[l];
  }
  static V broadcast(const float* p) { return V{*p, *p, *p, *p}; }
  static V fma(V a, V b, V c) { return c + a * b; }  // two roundings (-ffp-contract=off)
  static V add(V a, V b) { return a + b; }
  using Table = const float*;
  static Table table(const float* x_block, Index) { return x_block; }
  static V lookup(Table base, const std::uint16_t* rows) {
    return V{base[rows[0]], base[rows[1]], base[rows[2]], base[rows[3]]};
  }
  // Exact: the half's exponent and mantissa placed in a float's and scaled by 2^112 (subnormal
  // halves become float subnormals first); infinities keep their sign, NaNs their payload and
  // become quiet (as vcvtph2ps).
  static V cvtph(const std::uint16_t* p) {
    const U h = U{p[0], p[1], p[2], p[3]};
    const U em = h & 0x7fffu;
    const U sign = (h & 0x8000u) << 16;
    V magnitude;
    const U shifted = em << 13;
    __builtin_memcpy(&magnitude, &shifted, sizeof magnitude);
    magnitude = magnitude * 0x1p112f;
    U bits;
    __builtin_memcpy(&bits, &magnitude, sizeof bits);
    const S special = em >= 0x7c00u;
    const S nan = em > 0x7c00u;
    bits = (bits & ~U(special)) | (((em << 13) | 0x7f800000u | (0x00400000u & U(nan))) & U(special));
    bits |= sign;
    V out;
    __builtin_memcpy(&out, &bits, sizeof out);
    return out;
  }
  static void cvtps_ph(std::uint16_t* p, V v) {
    for (int l = 0; l < L; ++l) p[l] = detail::f32_to_f16_scalar(v[l]);
  }
};

constexpr bool kTranspose8 = false;
inline void transpose8x8(const float*, Index, float*, Index) {}

struct CT {
  static constexpr int kNr = 8;  // the fp32 engine's portable panel width
  static constexpr int kF16Rows = 2, kF16Panels = 2;
  static constexpr int kSparseRows = 2;
  static constexpr int kSparseGroupCols = 16, kSparseBlockRows = 65536;  // sliced ELLPACK
};

}  // namespace

#include "compressed_kernels.inc"


}  // namespace portable
}  // namespace kernels
}  // namespace densekit
