// Sparse inference: the cached sparse form of a Dense kernel and the per-call kernel choice.
#include "densekit/model/sparse_inference.hpp"

#include <algorithm>

#include "densekit/kernels/gemm_engine.hpp"
#include "densekit/runtime/parallel.hpp"

namespace densekit {

namespace {

constexpr double kGroupedOneRow = 1.35, kGroupedRows = 2.2, kBatchedPerNonzero = 2.2,
                 kBatchedTransposePerInput = 7.0;

Index round_up(Index n, Index unit) { return (n + unit - 1) / unit * unit; }

}  // namespace

SparseChoice sparse_choice(const kernels::SparseWeights& w, Index rows) {
  const Index nr = std::max(1, kernels::gemm_tile<float>(w.isa()).cols);
  const double dense = double(w.in()) * double(round_up(w.out(), nr));
  const double grouped = (rows <= 1 ? kGroupedOneRow : kGroupedRows) * double(w.entries()) *
                         double(w.group_cols());
  const Index tile = 2 * w.batched_min_rows();
  const double batched = (kBatchedPerNonzero * double(w.nonzeros()) +
                          kBatchedTransposePerInput * double(w.in())) *
                         double(round_up(rows, tile)) / double(std::max<Index>(rows, 1));
  if (dense <= grouped && dense <= batched) return SparseChoice::dense;
  return grouped <= batched ? SparseChoice::grouped : SparseChoice::batched;
}

const char* SparseInference<float>::path(Index rows) const {
  if (!sparse_) return "default";
  switch (sparse_choice(weights_, rows)) {
    case SparseChoice::dense: return "dense-engine";
    case SparseChoice::grouped: return "sparse-grouped";
    case SparseChoice::batched: return "sparse-batched";
  }
  return "default";
}

bool SparseInference<float>::forward(float* z, const float* x, const float* W, const float* b,
                                     Index B, Index IN, Index OUT, std::uint64_t version,
                                     int open_views) {
  if (open_views > 0 || IN > kernels::kSparseMaxInner || IN * OUT == 0) return false;
  std::lock_guard<std::mutex> lock(mutex_);
  if (!built_ || version != version_) {
    const Index zeros = Index(std::count(W, W + IN * OUT, 0.0f));  // +0 and -0
    zero_fraction_ = double(zeros) / double(IN * OUT);
    sparse_ = zero_fraction_ >= kMinSparseFraction;
    if (sparse_) weights_.pack(W, OUT, IN, OUT);
    built_ = true;
    version_ = version;
  }
  if (!sparse_) return false;
  const kernels::Threading threads{partition_count(), &run_parallel};
  const SparseChoice choice = sparse_choice(weights_, B);
  threads_.run(B, [&] {
    switch (choice) {
      case SparseChoice::dense:
        kernels::gemm_forward(z, OUT, x, IN, W, OUT, b, B, IN, OUT, false, threads);
        break;
      case SparseChoice::grouped:
        kernels::sparse_gemm(z, OUT, x, IN, weights_, b, B, kernels::SparseKernel::grouped, threads);
        break;
      case SparseChoice::batched:
        kernels::sparse_gemm(z, OUT, x, IN, weights_, b, B, kernels::SparseKernel::batched, threads);
        break;
    }
  });
  return true;
}

}  // namespace densekit
