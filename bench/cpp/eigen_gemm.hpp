// Eigen's matrix product as densekit ran it for training before the product engine: the baseline
// the GEMM benchmarks (gemm_engine_bench, gemm_candidates) measure the engine against. Benchmark
// code only; the library does not use it.
//
// product_into() is one single-threaded Eigen product (general_matrix_matrix_product, the code
// `dst.noalias() = lhs * rhs` ends in) packing into a per-thread grow-only workspace; gemm()
// splits large products into panels of the output, each a product_into() on one thread, as
// runtime/parallel.hpp's policy does for the engine. This file reaches into Eigen::internal,
// stable across the Eigen 3.4 series the build requires.
#pragma once

#include <cstddef>
#include <type_traits>

#include "densekit/kernels/gemm_engine.hpp"
#include "densekit/runtime/parallel.hpp"
#include "densekit/runtime/types.hpp"

namespace densekit {
namespace eigen_baseline {

// Whether an operand is used as stored (row-major) or transposed.
enum class Trans : bool { no = false, yes = true };

namespace detail {

// Grow-only packing space of the calling thread.
template <class T>
T* packing_workspace(std::size_t elements) {
  thread_local Buffer<T> space;
  space.reserve(Index(elements));
  return space.data();
}

// Eigen's blocking for a row-major destination, with the packing blocks in our workspace.
template <class T>
class WorkspaceBlocking : public Eigen::internal::level3_blocking<T, T> {
 public:
  WorkspaceBlocking(Index rows, Index cols, Index depth) {
    // As gemm_blocking_space<RowMajor, ...>: a row-major product runs as its transpose.
    this->m_mc = cols;
    this->m_nc = rows;
    this->m_kc = depth;
    Eigen::internal::computeProductBlockingSizes<T, T, 1, Index>(this->m_kc, this->m_mc, this->m_nc, 1);
    const std::size_t a = round_up(std::size_t(this->m_mc * this->m_kc));
    const std::size_t b = round_up(std::size_t(this->m_kc * this->m_nc));
    T* space = packing_workspace<T>(a + b);
    this->m_blockA = space;
    this->m_blockB = space + a;
  }

 private:
  static std::size_t round_up(std::size_t n) {
    const std::size_t align = std::size_t(kAlignElements<T>);
    return (n + align - 1) / align * align;
  }
};

// dst (M,N) = lhs (M,K)·rhs (K,N), or dst += lhs·rhs when accumulate; single-threaded.
// dst must be row-major (every buffer in densekit is); lhs and rhs may be row- or column-major
// views (e.g. a transposed map).
template <class Dst, class Lhs, class Rhs>
void product_expr(Dst&& dst, const Lhs& lhs, const Rhs& rhs, bool accumulate) {
  using DstType = std::remove_reference_t<Dst>;
  using T = typename DstType::Scalar;
  static_assert(int(DstType::Flags) & Eigen::RowMajorBit, "product_into: dst must be row-major");
  const Index m = dst.rows(), n = dst.cols(), k = lhs.cols();
  // Vector-shaped and tiny products take Eigen's GEMV / lazy paths, which pack nothing.
  if (m == 1 || n == 1 || k == 0 || m + n + k < EIGEN_GEMM_TO_COEFFBASED_THRESHOLD) {
    if (accumulate)
      dst.noalias() += lhs * rhs;
    else
      dst.noalias() = lhs * rhs;
    return;
  }
  using LhsTraits = Eigen::internal::blas_traits<Lhs>;
  using RhsTraits = Eigen::internal::blas_traits<Rhs>;
  using LhsPlain = typename Eigen::internal::remove_all<typename LhsTraits::DirectLinearAccessType>::type;
  using RhsPlain = typename Eigen::internal::remove_all<typename RhsTraits::DirectLinearAccessType>::type;
  const auto& a = LhsTraits::extract(lhs);
  const auto& b = RhsTraits::extract(rhs);
  constexpr int lhs_order = (int(LhsPlain::Flags) & Eigen::RowMajorBit) ? Eigen::RowMajor : Eigen::ColMajor;
  constexpr int rhs_order = (int(RhsPlain::Flags) & Eigen::RowMajorBit) ? Eigen::RowMajor : Eigen::ColMajor;
  using Kernel = Eigen::internal::general_matrix_matrix_product<Index, T, lhs_order, false, T, rhs_order,
                                                                false, Eigen::RowMajor, 1>;
  if (!accumulate) dst.setZero();
  detail::WorkspaceBlocking<T> blocking(m, n, k);
  Kernel::run(m, n, k, a.data(), a.outerStride(), b.data(), b.outerStride(), dst.data(), 1,
              dst.outerStride(), T(1), blocking, nullptr);
}

// As product_expr, split between threads along dst's larger dimension when the product is
// large enough. Panels depend on the shapes and the machine only, never on the thread count.
template <class Dst, class Lhs, class Rhs>
void gemm_expr(Dst dst, const Lhs& lhs, const Rhs& rhs, bool accumulate) {
  const Index m = dst.rows(), n = dst.cols(), k = lhs.cols();
  const double flops = 2.0 * double(m) * double(n) * double(k);
  const bool split_cols = n >= m;
  const Index extent = split_cols ? n : m;
  const int parts = flops < kernels::kParallelGemmFlops ? 1 : int(std::min<Index>(partition_count(), extent / 16));
  if (parts <= 1) {
    product_expr(dst, lhs, rhs, accumulate);
    return;
  }
  parallel_invoke(parts, [&](int t, int nparts) {
    Index b, e;
    densekit::detail::split_range(extent, t, nparts, 8, b, e);
    if (b >= e) return;
    if (split_cols)
      product_expr(dst.middleCols(b, e - b), lhs, rhs.middleCols(b, e - b), accumulate);
    else
      product_expr(dst.middleRows(b, e - b), lhs.middleRows(b, e - b), rhs, accumulate);
  });
}

// Calls f(op(a), op(b)) with a and b mapped as (M,K) and (K,N) after transposition.
template <class T, class F>
void with_operands(const T* a, const T* b, Index m, Index n, Index k, Trans ta, Trans tb, F&& f) {
  const ConstMatrixMap<T> A(a, ta == Trans::no ? m : k, ta == Trans::no ? k : m);
  const ConstMatrixMap<T> B(b, tb == Trans::no ? k : n, tb == Trans::no ? n : k);
  if (ta == Trans::no) {
    if (tb == Trans::no) f(A, B);
    else f(A, B.transpose());
  } else {
    if (tb == Trans::no) f(A.transpose(), B);
    else f(A.transpose(), B.transpose());
  }
}

}  // namespace detail

// c (M,N) = op(a) (M,K)·op(b) (K,N), or c += op(a)·op(b) when accumulate; single-threaded.
// a is stored (M,K) row-major, or (K,M) when ta == Trans::yes; b is (K,N), or (N,K) when
// tb == Trans::yes. c must not overlap a or b.
template <class T>
void product_into(T* c, const T* a, const T* b, Index m, Index n, Index k, Trans ta, Trans tb,
                  bool accumulate) {
  detail::with_operands(a, b, m, n, k, ta, tb, [&](const auto& A, const auto& B) {
    detail::product_expr(MatrixMap<T>(c, m, n), A, B, accumulate);
  });
}

// As product_into, split between threads when the product is large (kParallelGemmFlops).
template <class T>
void gemm(T* c, const T* a, const T* b, Index m, Index n, Index k, Trans ta, Trans tb,
          bool accumulate) {
  detail::with_operands(a, b, m, n, k, ta, tb, [&](const auto& A, const auto& B) {
    detail::gemm_expr(MatrixMap<T>(c, m, n), A, B, accumulate);
  });
}

}  // namespace eigen_baseline
}  // namespace densekit
