// int8 kernel, AVX2 path (x86-64-v3: Haswell and later, Zen 1-3), two kernels:
// - DotBytes: vpmaddubsw (u8×s8 pairs summed into int16) then vpmaddwd by ones (pairs into int32):
//   32 products in 3 instructions, exact when 2·act_max·max|wq| ≤ 32767 (a 7-bit scheme);
// - DotWide: activations and weights widened to int16, vpmaddwd: 16 exact products in 3
//   instructions, for 8-bit activations × 8-bit weights, where vpmaddubsw could saturate.
// Both read the shared packed format and give the same integer sums as every path. Compiled at
// the baseline ISA; only the code after the target pragma uses AVX2, and it runs only when the
// CPU has it. Nothing from std:: or Eigen is used below the pragma.
#include "qgemm_isa.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif

namespace densekit {
namespace kernels {
namespace avx2 {
namespace {

#include "qgemm_fv_avx2.inc"

inline std::int32_t load4(const std::uint8_t* p) {
  std::int32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}

struct DotBytes {
  static constexpr int kVecs = 2;  // columns 0-7, 8-15
  static constexpr int kMr = 4, kNp = 1, kSmallRows = 1, kSmallPanels = 4;
  using Acc = __m256i;
  using A = __m256i;
  using W = __m256i;
  static Acc zero() { return _mm256_setzero_si256(); }
  static A bcast(const std::uint8_t* p) { return _mm256_set1_epi32(load4(p)); }
  static W load(const std::int8_t* group, int v) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(group + 32 * v));
  }
  static Acc dot(Acc acc, A a, W w) {
    const __m256i pairs = _mm256_maddubs_epi16(a, w);
    return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
  }
  static void finish(const Acc* acc, std::int32_t* out) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), acc[0]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 8), acc[1]);
  }
};

struct DotWide {
  // Vector v: columns 4v..4v+3, each as two int32 partial sums (rows 4g,4g+1 and 4g+2,4g+3).
  static constexpr int kVecs = 4;
  static constexpr int kMr = 2, kNp = 1, kSmallRows = 1, kSmallPanels = 2;
  using Acc = __m256i;
  using A = __m256i;
  using W = __m256i;
  static Acc zero() { return _mm256_setzero_si256(); }
  static A bcast(const std::uint8_t* p) { return _mm256_cvtepu8_epi16(_mm_set1_epi32(load4(p))); }
  static W load(const std::int8_t* group, int v) {
    return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(group + 16 * v)));
  }
  static Acc dot(Acc acc, A a, W w) { return _mm256_add_epi32(acc, _mm256_madd_epi16(a, w)); }
  static void finish(const Acc* acc, std::int32_t* out) {
    for (int h = 0; h < 2; ++h) {
      // hadd: per 128 bits [c0 c1 | c4 c5], [c2 c3 | c6 c7] of the pair; restore column order.
      const __m256i sums = _mm256_hadd_epi32(acc[2 * h], acc[2 * h + 1]);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 8 * h), _mm256_permute4x64_epi64(sums, 0xD8));
    }
  }
};

// The kernels of this path: Fast for every scheme it is exact for, Wide for the others.
using Fast = DotBytes;
using Wide = DotWide;

}  // namespace

#include "qgemm_microkernel.inc"

}  // namespace avx2
}  // namespace kernels
}  // namespace densekit

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif
