// Tests of the product engine (kernels/gemm_engine.hpp) on every ISA path this CPU can run.
//
// - Each training product equals its *_ref on odd shapes (every size in kSizes for M, N and K,
//   up to 2e5 multiply-adds), float and double, accumulate on and off, with and without bias,
//   padded leading dimensions: bit for bit on the portable path (the reference's own
//   arithmetic); on the FMA paths bit for bit against the same chain with std::fma, and within
//   2·K·eps·Σ|a·b| of the plain reference.
// - Inference on packed weights equals gemm_forward bit for bit, and a row's output is the same
//   bits for every batch size 1…300, every position in the batch, and any permutation of rows.
// - Results do not depend on the thread count or on how many parts a product is split into.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <numeric>
#include <vector>

#include "densekit/kernels/gemm_engine.hpp"
#include "kernel_test_support.hpp"

namespace dk = densekit::kernels;
using dk::Index;

namespace {

const Index kSizes[] = {1, 2, 3, 7, 15, 16, 17, 31, 33, 63, 65, 127, 129, 300, 784};

// Deterministic values in [-1, 1) with a few exact zeros and negative zeros mixed in.
template <class T>
std::vector<T> random_values(std::size_t n, std::uint64_t seed) {
  std::vector<T> v(n);
  std::uint64_t s = seed * 0x9E3779B97F4A7C15ULL + 1;
  for (auto& x : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    const std::uint64_t r = s >> 11;
    x = T(double(r) / double(1ULL << 53) * 2.0 - 1.0);
    if ((r & 63) == 0) x = (r & 64) ? T(0) : T(-0.0);
  }
  return v;
}

bool same_bits(const void* a, const void* b, std::size_t bytes) { return std::memcmp(a, b, bytes) == 0; }

using kernel_test::omp_run;
using kernel_test::runnable_paths;

enum class Variant { forward, weight_grad, input_grad };
const char* variant_name(Variant v) {
  return v == Variant::forward ? "forward" : v == Variant::weight_grad ? "weight_grad" : "input_grad";
}

// One product with operands in row-major buffers with padded leading dimensions.
// forward: out (B,OUT) (+)= x (B,IN)·w (IN,OUT) [+ bias]; weight_grad: out (IN,OUT) (+)= xᵀ·dz;
// input_grad: out (B,IN) (+)= dz (B,OUT)·wᵀ. `a` is x (or dz for input_grad), `b` is w (or dz).
template <class T>
struct Product {
  Variant variant;
  Index B, IN, OUT, pad;
  bool accumulate;
  bool with_bias;
  std::vector<T> a, b, bias, out0;
  Index lda, ldb, ldo, rows, cols, inner;

  Product(Variant v, Index B_, Index IN_, Index OUT_, Index pad_, bool acc, bool bias_, std::uint64_t seed)
      : variant(v), B(B_), IN(IN_), OUT(OUT_), pad(pad_), accumulate(acc), with_bias(bias_) {
    Index arows, acols, brows, bcols;
    switch (variant) {
      case Variant::forward: arows = B, acols = IN, brows = IN, bcols = OUT, rows = B, cols = OUT, inner = IN; break;
      case Variant::weight_grad: arows = B, acols = IN, brows = B, bcols = OUT, rows = IN, cols = OUT, inner = B; break;
      default: arows = B, acols = OUT, brows = IN, bcols = OUT, rows = B, cols = IN, inner = OUT; break;
    }
    lda = acols + pad, ldb = bcols + pad, ldo = cols + pad;
    a = random_values<T>(std::size_t(arows * lda), seed);
    b = random_values<T>(std::size_t(brows * ldb), seed + 1);
    bias = random_values<T>(std::size_t(cols), seed + 2);
    out0 = random_values<T>(std::size_t(rows * ldo), seed + 3);
  }
  const T* bias_ptr() const { return with_bias ? bias.data() : nullptr; }

  std::vector<T> run(const dk::Threading& t = {}) const {
    std::vector<T> out = out0;
    switch (variant) {
      case Variant::forward:
        dk::gemm_forward(out.data(), ldo, a.data(), lda, b.data(), ldb, bias_ptr(), B, IN, OUT, accumulate, t);
        break;
      case Variant::weight_grad:
        dk::gemm_weight_grad(out.data(), ldo, a.data(), lda, b.data(), ldb, B, IN, OUT, accumulate, t);
        break;
      case Variant::input_grad:
        dk::gemm_input_grad(out.data(), ldo, a.data(), lda, b.data(), ldb, B, IN, OUT, accumulate, t);
        break;
    }
    return out;
  }

  std::vector<T> reference() const {
    std::vector<T> out = out0;
    switch (variant) {
      case Variant::forward:
        dk::gemm_forward_ref(out.data(), ldo, a.data(), lda, b.data(), ldb, bias_ptr(), B, IN, OUT, accumulate);
        break;
      case Variant::weight_grad:
        dk::gemm_weight_grad_ref(out.data(), ldo, a.data(), lda, b.data(), ldb, B, IN, OUT, accumulate);
        break;
      case Variant::input_grad:
        dk::gemm_input_grad_ref(out.data(), ldo, a.data(), lda, b.data(), ldb, B, IN, OUT, accumulate);
        break;
    }
    return out;
  }

  // a(i,p) and b(p,j) of the product, whatever the variant.
  T av(Index i, Index p) const {
    return variant == Variant::weight_grad ? a[std::size_t(p * lda + i)] : a[std::size_t(i * lda + p)];
  }
  T bv(Index p, Index j) const {
    return variant == Variant::input_grad ? b[std::size_t(j * ldb + p)] : b[std::size_t(p * ldb + j)];
  }
  T init(Index i, Index j) const {
    const T c = accumulate ? out0[std::size_t(i * ldo + j)] : T(0);
    return with_bias ? c + bias[std::size_t(j)] : c;
  }

  // The contract's chain with fused multiply-adds (what the AVX2 and AVX-512 paths compute),
  // and the error bound of any chain against the plain reference.
  void fused_reference(std::vector<T>& out, std::vector<T>& bound) const {
    out = out0;
    bound.assign(out.size(), T(0));
    const T eps = std::numeric_limits<T>::epsilon();
    for (Index i = 0; i < rows; ++i)
      for (Index j = 0; j < cols; ++j) {
        T acc = init(i, j);
        T mag = std::fabs(acc);
        for (Index p = 0; p < inner; ++p) {
          acc = std::fma(av(i, p), bv(p, j), acc);
          mag += std::fabs(av(i, p) * bv(p, j));
        }
        out[std::size_t(i * ldo + j)] = acc;
        bound[std::size_t(i * ldo + j)] = 2 * T(inner + 1) * eps * mag + std::numeric_limits<T>::min();
      }
  }
};

template <class T>
void test_against_references(const std::vector<dk::Isa>& paths) {
  const char* type = sizeof(T) == 4 ? "float" : "double";
  for (Variant variant : {Variant::forward, Variant::weight_grad, Variant::input_grad}) {
    int index = 0;
    for (Index m : kSizes)
      for (Index n : kSizes)
        for (Index k : kSizes) {
          if (double(m) * double(n) * double(k) > 2e5) continue;
          ++index;
          const bool accumulate = index % 2 == 1;
          const bool bias = variant == Variant::forward && index % 4 >= 2;
          const Index pad = index % 3 == 0 ? 0 : index % 7;
          // (m, n, k) is (rows, cols, inner) of the product whatever the variant.
          Index B = 0, IN = 0, OUT = 0;
          switch (variant) {
            case Variant::forward: B = m, OUT = n, IN = k; break;
            case Variant::weight_grad: IN = m, OUT = n, B = k; break;
            case Variant::input_grad: B = m, IN = n, OUT = k; break;
          }
          const Product<T> pr(variant, B, IN, OUT, pad, accumulate, bias, std::uint64_t(index));
          const std::vector<T> plain = pr.reference();
          std::vector<T> fused, bound;
          pr.fused_reference(fused, bound);
          for (dk::Isa isa : paths) {
            dk::set_active_isa(isa);
            const std::vector<T> got = pr.run();
            const std::vector<T>& exact = isa == dk::Isa::portable ? plain : fused;
            bool bits = same_bits(got.data(), exact.data(), got.size() * sizeof(T));
            CHECK(bits, "%s %s %s m=%td n=%td k=%td acc=%d bias=%d pad=%td: not the contract's chain",
                  dk::isa_name(isa), type, variant_name(variant), m, n, k, accumulate, bias, pad);
            double worst = 0;
            for (std::size_t e = 0; e < got.size(); ++e)
              worst = std::max(worst, double(std::fabs(got[e] - plain[e]) / bound[e]));
            CHECK(worst <= 1.0, "%s %s %s m=%td n=%td k=%td: error %.3g of the bound",
                  dk::isa_name(isa), type, variant_name(variant), m, n, k, worst);
          }
        }
  }
}

// Packed inference: equal to gemm_forward, and batch-invariant by row, position and permutation.
template <class T>
void test_packed_batch_invariance(const std::vector<dk::Isa>& paths) {
  const char* type = sizeof(T) == 4 ? "float" : "double";
  struct Shape { Index in, out; bool every_batch; };
  const Shape shapes[] = {{65, 33, true}, {7, 129, true}, {784, 300, false}, {300, 10, false}};
  const Index kRows = 300;
  const Index some_batches[] = {1, 2, 3, 4, 7, 8, 9, 17, 33, 64, 255, 300};
  const dk::Threading threaded{2, &omp_run};
  for (dk::Isa isa : paths) {
    dk::set_active_isa(isa);
    for (const Shape& s : shapes) {
      const Index ldx = s.in + 1, ldz = s.out + 2;
      const std::vector<T> w = random_values<T>(std::size_t(s.in * s.out), 7);
      const std::vector<T> bias = random_values<T>(std::size_t(s.out), 8);
      const std::vector<T> x = random_values<T>(std::size_t(kRows * ldx), 9);
      dk::PackedWeights<T> packed;
      packed.pack(w.data(), s.out, s.in, s.out);
      CHECK(packed.isa() == isa, "packed for the active path");
      CHECK(reinterpret_cast<std::uintptr_t>(packed.data()) % 64 == 0, "64-byte aligned");
      std::vector<T> full(std::size_t(kRows * ldz), T(-7));
      dk::gemm_packed(full.data(), ldz, x.data(), ldx, packed, bias.data(), kRows);
      std::vector<T> forward(full.size(), T(-7));
      dk::gemm_forward(forward.data(), ldz, x.data(), ldx, w.data(), s.out, bias.data(), kRows, s.in, s.out, false);
      CHECK(same_bits(full.data(), forward.data(), full.size() * sizeof(T)),
            "%s %s %tdx%td: gemm_packed differs from gemm_forward", dk::isa_name(isa), type, s.in, s.out);
      std::vector<T> part(std::size_t(kRows * ldz));
      auto rows_match = [&](Index first, Index count, const std::vector<T>& got) {
        for (Index r = 0; r < count; ++r)
          if (!same_bits(&got[std::size_t(r * ldz)], &full[std::size_t((first + r) * ldz)], std::size_t(s.out) * sizeof(T)))
            return false;
        return true;
      };
      std::vector<Index> batches;
      if (s.every_batch) {
        for (Index b = 1; b <= kRows; ++b) batches.push_back(b);
      } else {
        for (Index b : some_batches) batches.push_back(b);
      }
      for (Index b : batches) {
        // Every batch size at a position that moves with it (start, end, anywhere between), or
        // a few sizes at the start and at the end; every 32nd size split between threads.
        const Index spread = b * 37 % (kRows - b + 1);
        for (Index first : {s.every_batch ? spread : Index(0), kRows - b}) {
          if (s.every_batch && first == kRows - b && b % 16 != 0) continue;
          dk::gemm_packed(part.data(), ldz, x.data() + first * ldx, ldx, packed, bias.data(), b,
                          b % 32 == 0 ? threaded : dk::Threading{});
          CHECK(rows_match(first, b, part), "%s %s %tdx%td: batch %td at row %td changes rows",
                dk::isa_name(isa), type, s.in, s.out, b, first);
        }
      }
      // Under a permutation of the rows.
      std::vector<Index> order(static_cast<std::size_t>(kRows));
      std::iota(order.begin(), order.end(), Index(0));
      std::uint64_t st = 12345;
      for (Index i = kRows - 1; i > 0; --i) {
        st = st * 6364136223846793005ULL + 1442695040888963407ULL;
        std::swap(order[std::size_t(i)], order[std::size_t((st >> 33) % std::uint64_t(i + 1))]);
      }
      std::vector<T> xp(x.size());
      for (Index r = 0; r < kRows; ++r)
        std::copy_n(&x[std::size_t(order[std::size_t(r)] * ldx)], s.in, &xp[std::size_t(r * ldx)]);
      dk::gemm_packed(part.data(), ldz, xp.data(), ldx, packed, bias.data(), kRows, threaded);
      bool permuted_ok = true;
      for (Index r = 0; r < kRows; ++r)
        permuted_ok &= same_bits(&part[std::size_t(r * ldz)], &full[std::size_t(order[std::size_t(r)] * ldz)],
                                 std::size_t(s.out) * sizeof(T));
      CHECK(permuted_ok, "%s %s %tdx%td: permuting rows changes them", dk::isa_name(isa), type, s.in, s.out);
    }
  }
}

// Thread count and partition count do not change any bit.
template <class T>
void test_thread_independence(const std::vector<dk::Isa>& paths) {
  struct Shape { Index B, IN, OUT; };
  const Shape shapes[] = {{32, 784, 300}, {32, 300, 100}, {256, 1024, 129}, {7, 3072, 100}};
  for (dk::Isa isa : paths) {
    dk::set_active_isa(isa);
    for (const Shape& s : shapes)
      for (Variant v : {Variant::forward, Variant::weight_grad, Variant::input_grad}) {
        const Product<T> pr(v, s.B, s.IN, s.OUT, 0, true, v == Variant::forward, 99);
        const std::vector<T> serial = pr.run();
        for (int parts : {2, 3, 8})
          for (int threads : {1, 2}) {
            omp_set_num_threads(threads);
            const std::vector<T> got = pr.run(dk::Threading{parts, &omp_run});
            CHECK(same_bits(got.data(), serial.data(), got.size() * sizeof(T)),
                  "%s %s %tdx%tdx%td parts=%d threads=%d differs from serial", dk::isa_name(isa),
                  variant_name(v), s.B, s.IN, s.OUT, parts, threads);
          }
        omp_set_num_threads(2);
      }
  }
}

// Empty products, k = 0 and the packed buffer's reuse.
template <class T>
void test_edges() {
  std::vector<T> z = {T(1), T(2), T(3), T(4)};
  const T bias[2] = {T(10), T(20)};
  dk::gemm_forward(z.data(), 2, static_cast<const T*>(nullptr), 0, static_cast<const T*>(nullptr), 2,
                   bias, 2, 0, 2, true);
  CHECK(z[0] == T(11) && z[1] == T(22) && z[2] == T(13) && z[3] == T(24), "k = 0 accumulates bias");
  dk::gemm_forward(z.data(), 2, static_cast<const T*>(nullptr), 0, static_cast<const T*>(nullptr), 2,
                   static_cast<const T*>(nullptr), 2, 0, 2, false);
  CHECK(z[0] == T(0) && z[3] == T(0), "k = 0 without accumulate zeroes");
  dk::gemm_weight_grad(z.data(), 2, static_cast<const T*>(nullptr), 2, static_cast<const T*>(nullptr), 2, 0, 0, 2,
                       false);  // IN = 0: nothing to write
  const std::vector<T> w = random_values<T>(784 * 300, 3);
  dk::PackedWeights<T> packed;
  packed.pack(w.data(), 300, 784, 300);
  const T* storage = packed.data();
  packed.pack(w.data(), 300, 100, 300);  // smaller: same storage (no allocation)
  CHECK(packed.data() == storage && packed.in() == 100, "repacking smaller weights reuses the buffer");
  bool threw = false;
  try {
    packed.pack(w.data(), 10, 100, 300);  // ldw < out
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  CHECK(threw, "pack refuses ldw < out");
}

}  // namespace

int main() {
  const std::vector<dk::Isa> paths = runnable_paths();
  std::printf("paths run:");
  for (dk::Isa isa : paths) std::printf(" %s", dk::isa_name(isa));
  std::printf(" (best %s)\n", dk::isa_name(dk::best_isa()));
  auto timed = [](const char* name, void (*test)(const std::vector<dk::Isa>&), const std::vector<dk::Isa>& p) {
    const auto start = std::chrono::steady_clock::now();
    test(p);
    std::printf("%-34s %6.2f s\n", name,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  };
  timed("references float", &test_against_references<float>, paths);
  timed("references double", &test_against_references<double>, paths);
  timed("packed batch invariance float", &test_packed_batch_invariance<float>, paths);
  timed("packed batch invariance double", &test_packed_batch_invariance<double>, paths);
  timed("thread independence float", &test_thread_independence<float>, paths);
  timed("thread independence double", &test_thread_independence<double>, paths);
  test_edges<float>();
  test_edges<double>();
  return kernel_test::report();
}
