// int8 kernel, AVX512-VNNI path (Cascade Lake, Ice Lake, Sapphire Rapids and later Xeons,
// Zen 4/5): EVEX vpdpbusd on 512 bits, 64 exact u8×s8 products into int32 per instruction.
//
// A 16-column panel is one zmm accumulator per row. 6 rows × 4 panels for large batches (24
// accumulators, 4 weight loads and 6 broadcasts per k4 group); batch 1-2 runs 8 panels side by
// side to keep enough dot-product chains in flight. Compiled at the baseline ISA; only the code
// after the target pragma uses AVX-512, and it runs only when the CPU has it. Nothing from
// std:: or Eigen is used below the pragma.
#include "qgemm_isa.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,avx2,fma")
#endif

namespace densekit {
namespace kernels {
namespace avx512vnni {
namespace {

struct FV {
  using V = __m512;
  using I = __m512i;
  static constexpr int L = 16;
  static __mmask16 lanes(Index n) { return __mmask16((1u << n) - 1u); }
  static V fzero() { return _mm512_setzero_ps(); }
  static V fset(float s) { return _mm512_set1_ps(s); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static V load_partial(const float* p, Index n) { return _mm512_maskz_loadu_ps(lanes(n), p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static void store_partial(float* p, V v, Index n) { _mm512_mask_storeu_ps(p, lanes(n), v); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V min(V a, V b) { return _mm512_min_ps(a, b); }
  static V max(V a, V b) { return _mm512_max_ps(a, b); }
  // Exact whatever the order (GCC's _mm512_reduce_* warn about an undefined operand).
  static float hmin(V v) {
    __m256 m = _mm256_min_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 h = _mm_min_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_min_ps(h, _mm_movehl_ps(h, h));
    return _mm_cvtss_f32(_mm_min_ss(h, _mm_shuffle_ps(h, h, 1)));
  }
  static float hmax(V v) {
    __m256 m = _mm256_max_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    return _mm_cvtss_f32(_mm_max_ss(h, _mm_shuffle_ps(h, h, 1)));
  }
  static I round(V t) { return _mm512_cvtps_epi32(t); }  // MXCSR's mode: nearest-even
  static I iload(const std::int32_t* p) { return _mm512_loadu_si512(p); }
  static I iset(std::int32_t s) { return _mm512_set1_epi32(s); }
  static I isub(I a, I b) { return _mm512_sub_epi32(a, b); }
  static I imul(I a, I b) { return _mm512_mullo_epi32(a, b); }
  static I iadd(I a, I b) { return _mm512_add_epi32(a, b); }
  static V cvt(I v) { return _mm512_cvtepi32_ps(v); }
  static void store_u8(std::uint8_t* p, I v, Index n) {
    const __m128i bytes = _mm512_cvtepi32_epi8(v);
    if (n == L)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(p), bytes);  // a masked store is slow on Zen 4
    else
      _mm_mask_storeu_epi8(p, lanes(n), bytes);
  }
};

struct Dot {
  static constexpr int kVecs = 1;
  static constexpr int kMr = 6, kNp = 4, kSmallRows = 2, kSmallPanels = 8;
  using Acc = __m512i;
  using A = __m512i;
  using W = __m512i;
  static Acc zero() { return _mm512_setzero_si512(); }
  static A bcast(const std::uint8_t* p) {
    std::int32_t v;
    __builtin_memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
  }
  static W load(const std::int8_t* group, int) { return _mm512_loadu_si512(group); }
  static Acc dot(Acc acc, A a, W w) { return _mm512_dpbusd_epi32(acc, a, w); }
  static void finish(const Acc* acc, std::int32_t* out) { _mm512_storeu_si512(out, acc[0]); }
};

// The kernels of this path: Fast for every scheme it is exact for, Wide for the others.
using Fast = Dot;
using Wide = Dot;

}  // namespace

#include "qgemm_microkernel.inc"

}  // namespace avx512vnni
}  // namespace kernels
}  // namespace densekit

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif
