// Sparse inference: the cached sparse form of a Dense kernel and the per-call kernel choice.
#include "densekit/model/sparse_inference.hpp"

#include <algorithm>


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

void SparseInference<float>::rebuild(const float* W, Index IN, Index OUT) {
  sparse_ = false;
  zero_fraction_ = 0.0;
  if (IN * OUT == 0) return;
  const Index zeros = Index(std::count(W, W + IN * OUT, 0.0f));  // +0 and -0
  zero_fraction_ = double(zeros) / double(IN * OUT);
  sparse_ = zero_fraction_ >= kMinSparseFraction && IN <= kernels::kSparseMaxInner;
  if (sparse_) weights_.pack(W, OUT, IN, OUT);
}

bool SparseInference<float>::infer(float* z, Index ldz, const float* x, Index ldx, const float* b,
                                   Index rows, const kernels::Threading& threads) const {
  if (!sparse_) return false;
  switch (sparse_choice(weights_, rows)) {
    case SparseChoice::dense: return false;  // the caller's engine product: the same bits
    case SparseChoice::grouped:
      kernels::sparse_gemm(z, ldz, x, ldx, weights_, b, rows, kernels::SparseKernel::grouped, threads);
      return true;
    case SparseChoice::batched:
      kernels::sparse_gemm(z, ldz, x, ldx, weights_, b, rows, kernels::SparseKernel::batched, threads);
      return true;
  }
  return false;
}

}  // namespace densekit
