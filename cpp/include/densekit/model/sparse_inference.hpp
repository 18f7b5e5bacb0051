// Sparse inference for float32 Dense layers whose kernels are mostly exact zeros (dk.prune, a
// PruningSchedule, or l1 regularization): the forward product by whichever of the sparse
// kernels (kernels/sparse_gemm.hpp) and the dense engine is expected to be fastest at this batch
// size, for this layer's own sparsity pattern.
//
// The sparse kernels give the dense engine's bits exactly (finite inputs), so the choice can be
// made per call without changing a prediction: a row's output is the same whatever the batch
// size. A layer with fewer than kMinSparseFraction exact zeros is left to its ordinary path.
//
// The sparse form is one of DenseLayer's inference copies (model/layers.hpp): built by
// rebuild() under the layer's lock whenever the parameters changed, read by the const infer()
// from any number of threads, never used while a writable view of the weights is open in Python
// and never by training. float64 layers have no sparse kernels: SparseInference<double> always
// declines.
#pragma once

#include <cstdint>

#include "densekit/kernels/gemm_engine.hpp"
#include "densekit/kernels/sparse_gemm.hpp"
#include "densekit/runtime/types.hpp"

namespace densekit {

// Fewest exact zeros (as a fraction of the kernel) for which a layer is considered sparse: below
// the lowest crossover measured (bench/SPARSE_CROSSOVER.md: about 45 %).
constexpr double kMinSparseFraction = 0.4;

// Which product serves a call.
enum class SparseChoice { dense, grouped, batched };

// The cost model behind the choice, in units of one dense multiply-add (relative costs only):
//   dense    IN · ceil(OUT / NR)·NR                         (NR: the engine's panel width)
//   grouped  c_g(B) · entries · G                           (padded entries of G lanes)
//   batched  (c_b · nnz + c_t · IN) · ceil(B / T)·T / B     (T rows per tile; the input is
//                                                             transposed once per tile)
// per row, with c_g = 1.35 at one row and 2.2 above, c_b = 2.2, c_t = 7: the per-entry costs
// the kernels showed against the engine on W1's layers (bench/SPARSE_CROSSOVER.md, AVX2 and
// AVX-512 alike, within about 10 %).
SparseChoice sparse_choice(const kernels::SparseWeights& w, Index rows);

template <class T>
class SparseInference {
 public:
  void rebuild(const T*, Index, Index) {}
  bool infer(T*, Index, const T*, Index, const T*, Index, const kernels::Threading&) const {
    return false;
  }
  double zero_fraction() const { return 0.0; }
  const char* path(Index) const { return "default"; }
};

template <>
class SparseInference<float> {
 public:
  // Counts W's (IN,OUT) exact zeros and, when there are enough, packs its sparse form. Not
  // thread-safe: the layer calls it under its inference lock.
  void rebuild(const float* W, Index IN, Index OUT);
  // z (rows, OUT) ldz apart = x (rows, IN) ldx apart · W + b (OUT or null) through a sparse
  // kernel, or false (nothing written) when the layer is not sparse or the dense engine is
  // expected to be faster at this batch size. const and safe from many threads at once.
  bool infer(float* z, Index ldz, const float* x, Index ldx, const float* b, Index rows,
             const kernels::Threading& threads) const;
  // Fraction of exact zeros at the last rebuild (0 before any).
  double zero_fraction() const { return zero_fraction_; }
  // The product an inference of `rows` rows runs through: "sparse-grouped", "sparse-batched",
  // "dense-engine" (sparse, but the engine wins at this batch size), or "default" (not sparse:
  // the layer's ordinary path).
  const char* path(Index rows) const;

 private:
  bool sparse_ = false;
  double zero_fraction_ = 0.0;
  kernels::SparseWeights weights_;
};

}  // namespace densekit
