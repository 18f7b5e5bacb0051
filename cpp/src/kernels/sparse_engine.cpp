// Pruned weights: building the grouped, row-blocked ELLPACK format and splitting the forward between threads.
// Baseline code only; the vector kernels live in compressed_<isa>.cpp.
#include <algorithm>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "compressed_isa.hpp"
#include "densekit/kernels/sparse_gemm.hpp"
#include "kernel_support.hpp"

namespace densekit {
namespace kernels {

namespace {

constexpr Index kRowUnit = 4;

struct SparseSplit {
  detail::SparseProblem whole;
  const detail::CompressedPath* path;
  bool batched;
  bool by_rows;
  Index row_unit;
  char* workspaces = nullptr;  // the batched kernel's: detail::part_workspaces, reserved before the parts run
  Index workspace_bytes = 0;   // per part
};

void sparse_part(int part, int parts, void* ctx) {
  const SparseSplit& s = *static_cast<const SparseSplit*>(ctx);
  detail::SparseProblem sub = s.whole;
  if (s.by_rows) {
    const detail::Range r = detail::part_range(s.whole.m, s.row_unit, part, parts);
    sub.m = r.end - r.begin;
    sub.x += r.begin * s.whole.ldx;
    sub.z += r.begin * s.whole.ldz;
  } else if (s.batched) {
    const detail::Range r = detail::part_range(s.whole.out, 1, part, parts);
    sub.first_col = r.begin;
    sub.last_col = r.end;
  } else {
    // Equal shares of stored entries (groups differ in length).
    const Index groups = s.whole.last_group, blocks = s.whole.blocks;
    const Index total = s.whole.entry_begin[groups * blocks];
    const auto cut = [&](int q) {
      Index g = 0;
      while (g < groups && s.whole.entry_begin[g * blocks] < total * q / parts) ++g;
      return g;
    };
    sub.first_group = part == 0 ? 0 : cut(part);
    sub.last_group = part + 1 == parts ? groups : cut(part + 1);
  }
  if (sub.m <= 0) return;
  if (s.batched) {
    if (sub.first_col >= sub.last_col) return;
    sub.workspace = static_cast<float*>(detail::part_workspace(s.workspaces, part, s.workspace_bytes));
    s.path->sparse_batched(sub);
  } else if (sub.first_group < sub.last_group) {
    s.path->sparse(sub);
  }
}

}  // namespace

void SparseWeights::pack(const float* w, Index ldw, Index in, Index out) { pack(w, ldw, in, out, active_isa()); }

void SparseWeights::pack(const float* w, Index ldw, Index in, Index out, Isa isa) {
  if (in < 0 || out < 0 || ldw < out)
    throw std::invalid_argument("SparseWeights::pack: need in >= 0, out >= 0 and ldw >= out");
  if (in > kSparseMaxInner)
    throw std::invalid_argument("SparseWeights::pack: in = " + std::to_string(in) + " exceeds " +
                                std::to_string(kSparseMaxInner) + " (row indices are 16-bit)");
  if (!isa_supported(isa))
    throw std::invalid_argument(std::string("SparseWeights::pack: this CPU cannot run the ") + isa_name(isa) + " path");
  const detail::CompressedPath& path = detail::compressed_path_for(isa);
  const Index G = path.sparse_group_cols, R = path.sparse_block_rows;
  const Index groups = (out + G - 1) / G, blocks = std::max<Index>(1, (in + R - 1) / R);
  // Non-zeros per (column, block), then entries per (group, block): the group's longest column.
  std::vector<Index> count(std::size_t(groups * G * blocks), 0);
  Index nnz = 0;
  for (Index k = 0; k < in; ++k)
    for (Index j = 0; j < out; ++j)
      if (w[k * ldw + j] != 0.0f) ++count[std::size_t(j * blocks + k / R)], ++nnz;
  std::vector<Index> begin(std::size_t(groups * blocks) + 1, 0);
  for (Index g = 0; g < groups; ++g)
    for (Index b = 0; b < blocks; ++b) {
      Index len = 0;
      for (Index c = 0; c < G; ++c) len = std::max(len, count[std::size_t((g * G + c) * blocks + b)]);
      begin[std::size_t(g * blocks + b) + 1] = begin[std::size_t(g * blocks + b)] + len;
    }
  const Index entries = begin.back();
  const std::size_t lanes = std::size_t(entries * G);
  const auto round64 = [](std::size_t bytes) { return (bytes + 63) / 64 * 64; };
  offset_[0] = round64(begin.size() * sizeof(Index));
  offset_[1] = offset_[0] + round64(lanes * sizeof(float));
  offset_[2] = offset_[1] + round64(lanes * sizeof(std::uint16_t));
  offset_[3] = offset_[2] + round64(std::size_t(out + 1) * sizeof(Index));
  offset_[4] = offset_[3] + round64(std::size_t(nnz) * sizeof(float));
  char* block = storage_.reserve(offset_[4] + std::size_t(nnz) * sizeof(std::uint16_t));
  auto* entry_begin = reinterpret_cast<Index*>(block);
  auto* values = reinterpret_cast<float*>(block + offset_[0]);
  auto* rows = reinterpret_cast<std::uint16_t*>(block + offset_[1]);
  auto* col_begin = reinterpret_cast<Index*>(block + offset_[2]);
  auto* csc_values = reinterpret_cast<float*>(block + offset_[3]);
  auto* csc_rows = reinterpret_cast<std::uint16_t*>(block + offset_[4]);
  std::copy(begin.begin(), begin.end(), entry_begin);
  std::fill(values, values + lanes, 0.0f);
  std::fill(rows, rows + lanes, std::uint16_t(0));
  for (Index j = 0; j < out; ++j) {
    const Index g = j / G, c = j % G;
    for (Index b = 0; b < blocks; ++b) {
      Index t = begin[std::size_t(g * blocks + b)];
      for (Index k = b * R; k < std::min(in, (b + 1) * R); ++k) {
        const float v = w[k * ldw + j];
        if (v == 0.0f) continue;
        values[t * G + c] = v;
        rows[t * G + c] = std::uint16_t(k - b * R);
        ++t;
      }
    }
  }
  Index e = 0;
  for (Index j = 0; j < out; ++j) {
    col_begin[j] = e;
    for (Index k = 0; k < in; ++k) {
      const float v = w[k * ldw + j];
      if (v == 0.0f) continue;
      csc_values[e] = v;
      csc_rows[e] = std::uint16_t(k);
      ++e;
    }
  }
  col_begin[out] = e;
  in_ = in, out_ = out, nnz_ = nnz, isa_ = isa;
  group_cols_ = G, block_rows_ = R, blocks_ = blocks;
  batched_min_rows_ = path.sparse_batch_rows / 2;
}

void sparse_gemm(float* z, Index ldz, const float* x, Index ldx, const SparseWeights& w, const float* bias, Index B,
                 SparseKernel kernel, const Threading& threading) {
  if (B <= 0 || w.out() <= 0) return;
  const detail::CompressedPath& path = detail::compressed_path_for(w.isa());
  const bool batched = kernel == SparseKernel::batched;
  const Index row_unit = batched ? Index(path.sparse_batch_rows) : kRowUnit;
  SparseSplit split{{B, x, ldx, w.in(), w.entry_begin(), w.rows(), w.values(), w.blocks(), 0, w.groups(),
                     w.column_begin(), w.column_rows(), w.column_values(), 0, w.out(), nullptr, w.out(), bias, z,
                     ldz},
                    &path, batched, B >= 4 * row_unit, row_unit};
  // A parallel region pays off from about an eighth of a dense product's kParallelGemmFlops:
  // these flops count only the non-zeros, and the lookups around them cost several times as
  // much (W1 pruned to 90 %, batch 1: 6.1 µs on one thread, 5.4 µs split in two).
  const double flops = 2.0 * double(B) * (batched ? double(w.nonzeros())
                                                   : double(w.entries()) * double(w.group_cols()));
  const int parts = detail::part_count(
      flops, kParallelGemmFlops / 8, split.by_rows ? (B + row_unit - 1) / row_unit : batched ? w.out() : w.groups(),
      threading);
  if (batched) {
    split.workspace_bytes = detail::sparse_batched_workspace_floats(w.in(), w.out(), path.sparse_batch_rows) *
                            Index(sizeof(float));
    split.workspaces = detail::part_workspaces(parts, split.workspace_bytes);
  }
  detail::run_parts(parts, &sparse_part, &split, threading);
}

void sparse_gemm(float* z, Index ldz, const float* x, Index ldx, const SparseWeights& w, const float* bias, Index B,
                 const Threading& threading) {
  sparse_gemm(z, ldz, x, ldx, w, bias, B, B >= w.batched_min_rows() ? SparseKernel::batched : SparseKernel::grouped,
              threading);
}

}  // namespace kernels
}  // namespace densekit
