// int8 kernel, AVX-VNNI path: the VEX-encoded vpdpbusd on 256 bits (Alder Lake and later
// clients, Sierra Forest, Zen 5), 32 exact u8×s8 products into int32 per instruction.
//
// The test build compiles this file a second time with DENSEKIT_QGEMM_EVEX_TWIN: the same kernel
// with the EVEX encoding of the same instruction (AVX512-VL + VNNI), so that a CPU with AVX-512
// VNNI but without AVX-VNNI (Zen 4, Ice Lake) checks everything but the encoding. Compiled at the
// baseline ISA; only the code after the target pragma uses the extension, and it runs only when
// the CPU has it. Nothing from std:: or Eigen is used below the pragma.
#include "qgemm_isa.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#ifdef DENSEKIT_QGEMM_EVEX_TWIN
#define DENSEKIT_QGEMM_NS avxvnni_evex_twin
#define DENSEKIT_DPBUSD _mm256_dpbusd_epi32
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,avx512f,avx512vl,avx512vnni"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,avx512f,avx512vl,avx512vnni")
#endif
#else
#define DENSEKIT_QGEMM_NS avxvnni
#define DENSEKIT_DPBUSD _mm256_dpbusd_avx_epi32
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,avxvnni"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,avxvnni")
#endif
#endif

namespace densekit {
namespace kernels {
namespace DENSEKIT_QGEMM_NS {
namespace {

#include "qgemm_fv_avx2.inc"

struct Dot {
  static constexpr int kVecs = 2;  // columns 0-7, 8-15
  static constexpr int kMr = 6, kNp = 1, kSmallRows = 1, kSmallPanels = 4;
  using Acc = __m256i;
  using A = __m256i;
  using W = __m256i;
  static Acc zero() { return _mm256_setzero_si256(); }
  static A bcast(const std::uint8_t* p) {
    std::int32_t v;
    __builtin_memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
  }
  static W load(const std::int8_t* group, int v) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(group + 32 * v));
  }
  static Acc dot(Acc acc, A a, W w) { return DENSEKIT_DPBUSD(acc, a, w); }
  static void finish(const Acc* acc, std::int32_t* out) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), acc[0]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 8), acc[1]);
  }
};

// The kernels of this path: Fast for every scheme it is exact for, Wide for the others.
using Fast = Dot;
using Wide = Dot;

}  // namespace

#include "qgemm_microkernel.inc"

}  // namespace DENSEKIT_QGEMM_NS
}  // namespace kernels
}  // namespace densekit

#undef DENSEKIT_DPBUSD
#undef DENSEKIT_QGEMM_NS
#pragma GCC pop_options
#endif
