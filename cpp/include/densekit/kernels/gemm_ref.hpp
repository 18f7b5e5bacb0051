// The naive matrix product: the oracle the fast one (gemm.hpp) is tested against.
//
// Same signature as gemm() and product_into(), written as the textbook triple loop so that it
// is obviously right: each entry is one dot product over k, accumulated in long double and
// rounded to T once. It is not bit-identical to the blocked product (which sums in T, in
// another order); cpp/tests/test_gemm.cpp compares the two within the classical error bound of
// a dot product, |fast − exact| ≤ γ_k·(|op(a)|·|op(b)|) with γ_k = k·u/(1 − k·u) and u the unit
// roundoff of T (Higham, "Accuracy and Stability of Numerical Algorithms", §3.1). Never used on
// a training path: it is O(M·N·K) with no blocking or vectorization.
#pragma once

#include "densekit/kernels/gemm.hpp"
#include "densekit/runtime/types.hpp"

namespace densekit {

// c (M,N) = op(a) (M,K)·op(b) (K,N), or c += op(a)·op(b) when accumulate. Layouts as gemm().
template <class T>
void gemm_ref(T* c, const T* a, const T* b, Index m, Index n, Index k, Trans ta, Trans tb,
              bool accumulate) {
  for (Index i = 0; i < m; ++i) {
    for (Index j = 0; j < n; ++j) {
      long double sum = accumulate ? static_cast<long double>(c[i * n + j]) : 0.0L;
      for (Index p = 0; p < k; ++p) {
        const T aip = ta == Trans::no ? a[i * k + p] : a[p * m + i];
        const T bpj = tb == Trans::no ? b[p * n + j] : b[j * k + p];
        sum += static_cast<long double>(aip) * static_cast<long double>(bpj);
      }
      c[i * n + j] = static_cast<T>(sum);
    }
  }
}

}  // namespace densekit
