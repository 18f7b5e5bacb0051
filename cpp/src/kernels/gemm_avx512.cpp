// Product engine, AVX-512 path (x86-64-v4: Skylake-SP and later Xeons, Zen 4/5).
//
// 8×32 float (8×16 double) micro-tiles: 16 zmm accumulators, two panel loads and eight
// broadcasts per step of the inner dimension, all FMAs independent, enough to cover the FMA
// latency on one- and two-FMA-port cores alike. Compiled at the baseline ISA like the rest of
// the library; only the code after the target pragma uses AVX-512, and it runs only when
// kernels/dispatch.cpp has checked the CPU. Nothing from std:: or Eigen is used below the pragma.
#include "gemm_isa.hpp"

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

#include "gemm_transpose_avx.inc"

struct VecF {
  using T = float;
  using V = __m512;
  static constexpr int L = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V loadu(const T* p) { return _mm512_loadu_ps(p); }
  static void storeu(T* p, V v) { _mm512_storeu_ps(p, v); }
  static __mmask16 lanes(Index n) { return __mmask16((1u << n) - 1u); }
  static V load_partial(const T* p, Index n) { return _mm512_maskz_loadu_ps(lanes(n), p); }
  static void store_partial(T* p, V v, Index n) { _mm512_mask_storeu_ps(p, lanes(n), v); }
  static V broadcast(const T* p) { return _mm512_set1_ps(*p); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static constexpr int kTransposeBlock = 8;
  static void transpose_block(const T* s, Index ls, T* d, Index ld) { transpose8x8(s, ls, d, ld); }
};

struct VecD {
  using T = double;
  using V = __m512d;
  static constexpr int L = 8;
  static V zero() { return _mm512_setzero_pd(); }
  static V loadu(const T* p) { return _mm512_loadu_pd(p); }
  static void storeu(T* p, V v) { _mm512_storeu_pd(p, v); }
  static __mmask8 lanes(Index n) { return __mmask8((1u << n) - 1u); }
  static V load_partial(const T* p, Index n) { return _mm512_maskz_loadu_pd(lanes(n), p); }
  static void store_partial(T* p, V v, Index n) { _mm512_mask_storeu_pd(p, lanes(n), v); }
  static V broadcast(const T* p) { return _mm512_set1_pd(*p); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V add(V a, V b) { return _mm512_add_pd(a, b); }
  static constexpr int kTransposeBlock = 4;
  static void transpose_block(const T* s, Index ls, T* d, Index ld) { transpose4x4(s, ls, d, ld); }
};

struct Tile {
  static constexpr int kMrF32 = 8, kNvF32 = 2;  // 8 × 32 floats
  static constexpr int kMrF64 = 8, kNvF64 = 2;  // 8 × 16 doubles
  static constexpr int kSmallRows = 3, kSmallPanels = 4;
};

}  // namespace

#include "gemm_microkernel.inc"

}  // namespace avx512
}  // namespace kernels
}  // namespace densekit

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif
