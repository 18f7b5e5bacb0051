// int8 kernel, portable path: the build's baseline ISA through GCC/Clang vector extensions.
//
// Four 4-lane int32 accumulators per row and 16-column panel; each k4 group multiplies the 4
// broadcast activations with the 4 weights of each column (widened to int32: exact). Speed on
// this path is secondary; it is the same integer sum as every other path.
#include "qgemm_isa.hpp"

namespace densekit {
namespace kernels {
namespace portable {
namespace {

typedef float f32x4 __attribute__((vector_size(16)));
typedef std::int32_t i32x4 __attribute__((vector_size(16)));
typedef std::int8_t i8x16 __attribute__((vector_size(16)));

struct FV {
  using V = f32x4;
  using I = i32x4;
  static constexpr int L = 4;
  static V fzero() { return V{}; }
  static V fset(float s) { return V{s, s, s, s}; }
  static V load(const float* p) {
    V v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
  }
  static V load_partial(const float* p, Index n) {
    V v{};
    for (int l = 0; l < L; ++l)
      if (l < n) v[l] = p[l];
    return v;
  }
  static void store(float* p, V v) { __builtin_memcpy(p, &v, sizeof v); }
  static void store_partial(float* p, V v, Index n) {
    for (int l = 0; l < L; ++l)
      if (l < n) p[l] = v[l];
  }
  static V mul(V a, V b) { return a * b; }
  static V add(V a, V b) { return a + b; }
  // Lane-wise a < b ? a : b and a > b ? a : b: with a NaN in a, b (as the x86 instructions).
  static V min(V a, V b) { return a < b ? a : b; }
  static V max(V a, V b) { return a > b ? a : b; }
  static float hmin(V v) {
    float m = v[0];
    for (int l = 1; l < L; ++l) m = v[l] < m ? v[l] : m;
    return m;
  }
  static float hmax(V v) {
    float m = v[0];
    for (int l = 1; l < L; ++l) m = v[l] > m ? v[l] : m;
    return m;
  }
  // Nearest-even for |t| ≤ 2^22 (t is clamped to [-255, 255]): adding and subtracting 1.5·2^23
  // leaves the rounded integer (one IEEE rounding, the current mode's: nearest-even).
  static I round(V t) {
    const V magic = fset(12582912.0f);
    return __builtin_convertvector((t + magic) - magic, I);
  }
  static I iload(const std::int32_t* p) {
    I v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
  }
  static I iset(std::int32_t s) { return I{s, s, s, s}; }
  static I isub(I a, I b) { return a - b; }
  static I imul(I a, I b) { return a * b; }
  static I iadd(I a, I b) { return a + b; }
  static V cvt(I v) { return __builtin_convertvector(v, V); }
  static void store_u8(std::uint8_t* p, I v, Index n) {
    for (int l = 0; l < L; ++l)
      if (l < n) p[l] = std::uint8_t(v[l]);
  }
};

struct Dot {
  static constexpr int kVecs = 4;  // columns 4v..4v+3
  static constexpr int kMr = 2, kNp = 1, kSmallRows = 1, kSmallPanels = 2;
  using Acc = i32x4;
  struct A {
    i32x4 x[4];  // activation t of the group, in every lane
  };
  struct W {
    i32x4 w[4];  // weight t of the group for columns 4v..4v+3
  };
  static Acc zero() { return Acc{}; }
  static A bcast(const std::uint8_t* p) {
    A a;
    for (int t = 0; t < 4; ++t) a.x[t] = i32x4{p[t], p[t], p[t], p[t]};
    return a;
  }
  static W load(const std::int8_t* group, int v) {
    i8x16 b;
    __builtin_memcpy(&b, group + 16 * v, sizeof b);
    W w;
    w.w[0] = i32x4{b[0], b[4], b[8], b[12]};
    w.w[1] = i32x4{b[1], b[5], b[9], b[13]};
    w.w[2] = i32x4{b[2], b[6], b[10], b[14]};
    w.w[3] = i32x4{b[3], b[7], b[11], b[15]};
    return w;
  }
  static Acc dot(Acc acc, const A& a, const W& w) {
    return acc + a.x[0] * w.w[0] + a.x[1] * w.w[1] + a.x[2] * w.w[2] + a.x[3] * w.w[3];
  }
  static void finish(const Acc* acc, std::int32_t* out) {
    for (int v = 0; v < kVecs; ++v) __builtin_memcpy(out + 4 * v, &acc[v], sizeof(Acc));
  }
};

// The kernels of this path: Fast for every scheme it is exact for, Wide for the others.
using Fast = Dot;
using Wide = Dot;

}  // namespace

#include "qgemm_microkernel.inc"

}  // namespace portable
}  // namespace kernels
}  // namespace densekit
