// Product engine, AVX2 + FMA path (x86-64-v3: Haswell and later, AMD Zen 1-3).
//
// 6×16 float (6×8 double) micro-tiles: 12 ymm accumulators, two panel loads and a broadcast
// per row and step, within the 16 ymm registers. Only the code after the target pragma uses
// AVX2/FMA, and it runs only when kernels/dispatch.cpp has checked the CPU. Nothing from std::
// or Eigen is used below the pragma.
#include "gemm_isa.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#endif

namespace densekit {
namespace kernels {
namespace avx2 {
namespace {

#include "gemm_transpose_avx.inc"

struct VecF {
  using T = float;
  using V = __m256;
  static constexpr int L = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V loadu(const T* p) { return _mm256_loadu_ps(p); }
  static void storeu(T* p, V v) { _mm256_storeu_ps(p, v); }
  static __m256i lanes(Index n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static V load_partial(const T* p, Index n) { return _mm256_maskload_ps(p, lanes(n)); }
  static void store_partial(T* p, V v, Index n) { _mm256_maskstore_ps(p, lanes(n), v); }
  static V broadcast(const T* p) { return _mm256_broadcast_ss(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static constexpr int kTransposeBlock = 8;
  static void transpose_block(const T* s, Index ls, T* d, Index ld) { transpose8x8(s, ls, d, ld); }
};

struct VecD {
  using T = double;
  using V = __m256d;
  static constexpr int L = 4;
  static V zero() { return _mm256_setzero_pd(); }
  static V loadu(const T* p) { return _mm256_loadu_pd(p); }
  static void storeu(T* p, V v) { _mm256_storeu_pd(p, v); }
  static __m256i lanes(Index n) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
  }
  static V load_partial(const T* p, Index n) { return _mm256_maskload_pd(p, lanes(n)); }
  static void store_partial(T* p, V v, Index n) { _mm256_maskstore_pd(p, lanes(n), v); }
  static V broadcast(const T* p) { return _mm256_broadcast_sd(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V add(V a, V b) { return _mm256_add_pd(a, b); }
  static constexpr int kTransposeBlock = 4;
  static void transpose_block(const T* s, Index ls, T* d, Index ld) { transpose4x4(s, ls, d, ld); }
};

struct Tile {
  static constexpr int kMrF32 = 6, kNvF32 = 2;  // 6 × 16 floats
  static constexpr int kMrF64 = 6, kNvF64 = 2;  // 6 × 8 doubles
  static constexpr int kSmallRows = 3, kSmallPanels = 2;
};

}  // namespace

#include "gemm_microkernel.inc"

}  // namespace avx2
}  // namespace kernels
}  // namespace densekit

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif
