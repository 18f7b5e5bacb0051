// The fast matrix product (kernels/gemm.hpp) against Eigen and against the naive oracle.
//
// For every shape with M, N, K in {1, 3, 7, 17, 33, 65, 129} (odd sizes straddle Eigen's packet
// widths, register blocks and the small-product threshold), both operands plain or transposed,
// accumulate on and off, float and double:
//   - product_into() equals Eigen's `dst.noalias() = lhs * rhs` (or `+=`) bit for bit: it is
//     documented to run the same Eigen kernel with the same blocking;
//   - gemm() equals product_into() whenever it does not split (below kParallelGemmFlops), and
//     when it splits into panels its result does not depend on the thread count (one thread and
//     two give the same bits): the split depends on the shapes and the machine only;
//   - both are within the classical dot-product error bound of gemm_ref(), the naive triple loop
//     summed in long double: |fast − ref| ≤ γ_(K+1)·(|C₀| + |op(A)|·|op(B)|) + 2u·|ref|, with
//     γ_n = n·u/(1 − n·u) and u the unit roundoff of T (Higham 2002, §3.1; the +1 and |C₀| cover
//     the accumulate case, 2u·|ref| the final rounding of ref itself).
// Every buffer starts 64-byte aligned, as densekit's own buffers do: Eigen treats unaligned head
// elements with scalar code, which rounds differently from its fused packet code.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "check.hpp"
#include "densekit/kernels/gemm.hpp"
#include "densekit/kernels/gemm_ref.hpp"
#include "densekit/runtime/parallel.hpp"

using namespace densekit;

namespace {

const Index kSizes[] = {1, 3, 7, 17, 33, 65, 129};

// n values in 64-byte-aligned storage.
template <class T>
class Aligned {
 public:
  explicit Aligned(std::size_t n) : n_(n), storage_(n + 64 / sizeof(T)) {
    auto address = reinterpret_cast<std::uintptr_t>(storage_.data());
    data_ = storage_.data() + ((64 - address % 64) % 64) / sizeof(T);
  }
  Aligned(const Aligned& other) : Aligned(other.n_) { std::copy(other.data_, other.data_ + n_, data_); }
  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return n_; }
  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }

 private:
  std::size_t n_;
  std::vector<T> storage_;
  T* data_;
};

template <class T>
Aligned<T> random_values(std::size_t n, std::mt19937_64& rng) {
  std::normal_distribution<double> normal(0.0, 1.0);
  Aligned<T> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = T(normal(rng));
  return v;
}

// Eigen's own product on the same operands: the reference for bit identity.
template <class T>
void eigen_product(T* c, const T* a, const T* b, Index m, Index n, Index k, Trans ta, Trans tb,
                   bool accumulate) {
  const ConstMatrixMap<T> A(a, ta == Trans::no ? m : k, ta == Trans::no ? k : m);
  const ConstMatrixMap<T> B(b, tb == Trans::no ? k : n, tb == Trans::no ? n : k);
  MatrixMap<T> C(c, m, n);
  auto run = [&](const auto& lhs, const auto& rhs) {
    if (accumulate)
      C.noalias() += lhs * rhs;
    else
      C.noalias() = lhs * rhs;
  };
  if (ta == Trans::no && tb == Trans::no) run(A, B);
  if (ta == Trans::no && tb == Trans::yes) run(A, B.transpose());
  if (ta == Trans::yes && tb == Trans::no) run(A.transpose(), B);
  if (ta == Trans::yes && tb == Trans::yes) run(A.transpose(), B.transpose());
}

bool same_bits(const void* x, const void* y, std::size_t bytes) { return std::memcmp(x, y, bytes) == 0; }

template <class T>
void check_shape(Index m, Index n, Index k, Trans ta, Trans tb, bool accumulate, std::mt19937_64& rng) {
  const std::string label = std::string(sizeof(T) == 4 ? "float" : "double") + " M=" +
                            std::to_string(m) + " N=" + std::to_string(n) + " K=" + std::to_string(k) +
                            (ta == Trans::yes ? " Aᵀ" : "") + (tb == Trans::yes ? " Bᵀ" : "") +
                            (accumulate ? " accumulate" : "");
  const Aligned<T> a = random_values<T>(std::size_t(m * k), rng);
  const Aligned<T> b = random_values<T>(std::size_t(k * n), rng);
  const Aligned<T> c0 = random_values<T>(std::size_t(m * n), rng);
  Aligned<T> eigen = c0, single = c0, split = c0, split1 = c0, ref = c0;
  eigen_product(eigen.data(), a.data(), b.data(), m, n, k, ta, tb, accumulate);
  product_into(single.data(), a.data(), b.data(), m, n, k, ta, tb, accumulate);
  set_num_threads(2);
  gemm(split.data(), a.data(), b.data(), m, n, k, ta, tb, accumulate);
  set_num_threads(1);
  gemm(split1.data(), a.data(), b.data(), m, n, k, ta, tb, accumulate);
  gemm_ref(ref.data(), a.data(), b.data(), m, n, k, ta, tb, accumulate);
  const std::size_t bytes = eigen.size() * sizeof(T);
  CHECK(same_bits(single.data(), eigen.data(), bytes), label, ": product_into differs from Eigen");
  CHECK(same_bits(split.data(), split1.data(), bytes), label, ": gemm differs between 1 and 2 threads");
  if (2.0 * double(m) * double(n) * double(k) < kParallelGemmFlops)
    CHECK(same_bits(split.data(), single.data(), bytes), label, ": unsplit gemm differs from product_into");

  // |op(A)|·|op(B)| (+ |C₀|), by the reference itself on absolute values.
  Aligned<T> abs_a(a.size()), abs_b(b.size()), scale(c0.size());
  for (std::size_t i = 0; i < a.size(); ++i) abs_a[i] = std::abs(a[i]);
  for (std::size_t i = 0; i < b.size(); ++i) abs_b[i] = std::abs(b[i]);
  for (std::size_t i = 0; i < c0.size(); ++i) scale[i] = accumulate ? std::abs(c0[i]) : T(0);
  gemm_ref(scale.data(), abs_a.data(), abs_b.data(), m, n, k, ta, tb, true);
  const double u = std::numeric_limits<T>::epsilon() / 2;
  const double terms = double(k + 1);
  const double gamma = terms * u / (1 - terms * u);
  double worst = 0.0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const double bound = gamma * double(scale[i]) + 2 * u * std::abs(double(ref[i])) +
                         std::numeric_limits<T>::denorm_min();
    const double err = std::max(std::abs(double(single[i]) - double(ref[i])),
                                std::abs(double(split[i]) - double(ref[i])));
    worst = std::max(worst, err / bound);
  }
  CHECK(worst <= 1.0, label, ": error vs gemm_ref is ", worst, "x the bound");
}

template <class T>
void check_all(std::mt19937_64& rng) {
  for (Index m : kSizes)
    for (Index n : kSizes)
      for (Index k : kSizes)
        for (Trans ta : {Trans::no, Trans::yes})
          for (Trans tb : {Trans::no, Trans::yes})
            for (bool accumulate : {false, true}) check_shape<T>(m, n, k, ta, tb, accumulate, rng);
}

}  // namespace

int main() {
  std::mt19937_64 rng(20240607);
  check_all<float>(rng);
  check_all<double>(rng);
  return densekit::test::finish("test_gemm");
}
