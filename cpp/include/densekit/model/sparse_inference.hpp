// Sparse inference for float32 Dense layers whose kernels are mostly exact zeros (dk.prune, a
// PruningSchedule, or l1 regularization): the forward product by whichever of the sparse
// kernels (kernels/sparse_gemm.hpp) and the dense engine is expected to be fastest at this batch
// size, for this layer's own sparsity pattern.
//
// The sparse kernels give the dense engine's bits exactly (finite inputs), so the choice can be
// made per call without changing a prediction: a row's output is the same whatever the batch
// size. A layer with fewer than kMinSparseFraction exact zeros is left to its ordinary path.
//
// The sparse form is derived from the weights and cached; it is rebuilt when the layer's weights
// version changes (an optimizer step, a view handed to Python) and never used while a writable
// view of the weights is alive in Python (it could have been written since). Training never
// uses it. float64 layers have no sparse kernels: SparseInference<double> always declines.
#pragma once

#include <cstdint>
#include <mutex>

#include "densekit/kernels/sparse_gemm.hpp"
#include "densekit/model/inference_threads.hpp"
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
  bool forward(T*, const T*, const T*, const T*, Index, Index, Index, std::uint64_t, int) {
    return false;
  }
  double zero_fraction() const { return 0.0; }
  const char* path(Index) const { return "default"; }
};

template <>
class SparseInference<float> {
 public:
  // z (B,OUT) = x (B,IN)·W (IN,OUT) + b (OUT or null) through the sparse path, or false (nothing
  // written) when the layer is not sparse enough or a view of its weights is open. `version` is
  // the layer's weights version, `open_views` the number of live writable views.
  bool forward(float* z, const float* x, const float* W, const float* b, Index B, Index IN,
               Index OUT, std::uint64_t version, int open_views);
  // Fraction of exact zeros at the last rebuild (0 before any).
  double zero_fraction() const { return zero_fraction_; }
  // The product a forward of `rows` rows ran through at the last rebuild: "sparse-grouped",
  // "sparse-batched", "dense-engine", or "default" (not sparse: the layer's ordinary path).
  const char* path(Index rows) const;

 private:
  std::mutex mutex_;
  bool built_ = false;
  std::uint64_t version_ = 0;
  bool sparse_ = false;
  double zero_fraction_ = 0.0;
  kernels::SparseWeights weights_;
  InferenceThreads threads_;
};

}  // namespace densekit
