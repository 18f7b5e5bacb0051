// Kernels over fp16-stored and sparse weights, AVX-512 path: vcvtph2ps on 16 weights at a time;
// sparse entries look their inputs up in registers (vpermt2ps over a 32-row block), as
// vgatherdps is slow on several cores (on Zen 4 a scalar loop outruns it). Panels of 32 columns, as the fp32 engine's AVX-512
// path. Compiled at the baseline ISA; only the code after the target pragma uses AVX-512, and it
// runs only when the CPU has it. Nothing from std:: or Eigen is used below the pragma.
#include "compressed_isa.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c")
#endif

namespace densekit {
namespace kernels {
namespace avx512 {
namespace {

struct VT {
  using V = __m512;
  static constexpr int L = 16;
  static constexpr bool kHasF16 = true;
  static __mmask16 lanes(Index n) { return __mmask16((1u << n) - 1u); }
  static V zero() { return _mm512_setzero_ps(); }
  static V loadu(const float* p) { return _mm512_loadu_ps(p); }
  static void storeu(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V load_partial(const float* p, Index n) { return _mm512_maskz_loadu_ps(lanes(n), p); }
  static void store_partial(float* p, V v, Index n) { _mm512_mask_storeu_ps(p, lanes(n), v); }
  static V broadcast(const float* p) { return _mm512_set1_ps(*p); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  // A block's 32 inputs live in two registers; vpermt2ps picks each lane's (no gather).
  struct Table {
    V lo, hi;
  };
  static Table table(const float* x_block, Index n) {
    return Table{load_partial(x_block, n < 16 ? n : 16), load_partial(x_block + 16, n < 16 ? 0 : n - 16)};
  }
  static V lookup(const Table& t, const std::uint16_t* rows) {
    const __m512i idx = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows)));
    return _mm512_permutex2var_ps(t.lo, idx, t.hi);
  }
  static V cvtph(const std::uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static void cvtps_ph(std::uint16_t* p, V v) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
};

#include "gemm_transpose_avx.inc"
constexpr bool kTranspose8 = true;

struct CT {
  static constexpr int kNr = 32;  // the fp32 engine's AVX-512 panel width
  static constexpr int kF16Rows = 2, kF16Panels = 4;
  static constexpr int kSparseRows = 2;
  // Blocks of 32 rows (one vpermt2ps per 16 lanes), groups of 32 columns (two independent
  // chains per row). Measured on Zen 4 at 90-95 % sparsity: 64-column groups (more padding) and
  // 16-row blocks (vpermps, more entries) are 4-30 % slower; the permutes bound the loop.
  static constexpr int kSparseGroupCols = 32, kSparseBlockRows = 32;
};

}  // namespace

#include "compressed_kernels.inc"


}  // namespace avx512
}  // namespace kernels
}  // namespace densekit

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif
