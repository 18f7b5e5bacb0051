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
#include "thread_workspace.hpp"

namespace densekit {
namespace kernels {

namespace {

const detail::CompressedPath& compressed_for(Isa isa) {
  switch (isa) {
#if defined(__x86_64__) || defined(__i386__)
    case Isa::avx512: return detail::avx512::compressed_path;
    case Isa::avx2: return detail::avx2::compressed_path;
#endif
    default: return detail::portable::compressed_path;
  }
}

constexpr Index kRowUnit = 4;

struct SparseSplit {
  detail::SparseProblem whole;
  const detail::CompressedPath* path;
  bool batched;
  bool by_rows;
  Index row_unit;
};

void sparse_part(int part, int parts, void* ctx) {
  const SparseSplit& s = *static_cast<const SparseSplit*>(ctx);
  detail::SparseProblem sub = s.whole;
  if (s.by_rows) {
    const Index units = (s.whole.m + s.row_unit - 1) / s.row_unit;
    const Index begin = std::min(s.whole.m, units * part / parts * s.row_unit);
    const Index end = std::min(s.whole.m, units * (part + 1) / parts * s.row_unit);
    sub.m = end - begin;
    sub.x += begin * s.whole.ldx;
    sub.z += begin * s.whole.ldz;
  } else if (s.batched) {
    sub.first_col = s.whole.out * part / parts;
    sub.last_col = s.whole.out * (part + 1) / parts;
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
    sub.workspace = static_cast<float*>(detail::thread_workspace(
        detail::sparse_batched_workspace_floats(sub.in, sub.out, s.path->sparse_batch_rows) * Index(sizeof(float))));
    s.path->sparse_batched(sub);
  } else if (sub.first_group < sub.last_group) {
    s.path->sparse(sub);
  }
}

}  // namespace

SparseWeights::~SparseWeights() { std::free(block_); }

SparseWeights::SparseWeights(SparseWeights&& other) noexcept { *this = std::move(other); }

SparseWeights& SparseWeights::operator=(SparseWeights&& other) noexcept {
  if (this != &other) {
    std::free(block_);
    block_ = std::exchange(other.block_, nullptr);
    capacity_ = std::exchange(other.capacity_, 0);
    entry_begin_ = std::exchange(other.entry_begin_, nullptr);
    rows_ = std::exchange(other.rows_, nullptr);
    values_ = std::exchange(other.values_, nullptr);
    col_begin_ = std::exchange(other.col_begin_, nullptr);
    csc_rows_ = std::exchange(other.csc_rows_, nullptr);
    csc_values_ = std::exchange(other.csc_values_, nullptr);
    in_ = std::exchange(other.in_, 0);
    out_ = std::exchange(other.out_, 0);
    nnz_ = std::exchange(other.nnz_, 0);
    group_cols_ = std::exchange(other.group_cols_, 0);
    block_rows_ = std::exchange(other.block_rows_, 0);
    blocks_ = std::exchange(other.blocks_, 0);
    batched_min_rows_ = other.batched_min_rows_;
    isa_ = other.isa_;
  }
  return *this;
}

void SparseWeights::pack(const float* w, Index ldw, Index in, Index out) { pack(w, ldw, in, out, active_isa()); }

void SparseWeights::pack(const float* w, Index ldw, Index in, Index out, Isa isa) {
  if (in < 0 || out < 0 || ldw < out)
    throw std::invalid_argument("SparseWeights::pack: need in >= 0, out >= 0 and ldw >= out");
  if (in > kSparseMaxInner)
    throw std::invalid_argument("SparseWeights::pack: in = " + std::to_string(in) + " exceeds " +
                                std::to_string(kSparseMaxInner) + " (row indices are 16-bit)");
  if (!isa_supported(isa))
    throw std::invalid_argument(std::string("SparseWeights::pack: this CPU cannot run the ") + isa_name(isa) + " path");
  const detail::CompressedPath& path = compressed_for(isa);
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
  const std::size_t offsets_bytes = (begin.size() * sizeof(Index) + 63) / 64 * 64;
  const std::size_t values_bytes = (lanes * sizeof(float) + 63) / 64 * 64;
  const std::size_t rows_bytes = (lanes * sizeof(std::uint16_t) + 63) / 64 * 64;
  // The column-compressed copy: offsets, values, rows.
  const std::size_t col_offsets_bytes = (std::size_t(out + 1) * sizeof(Index) + 63) / 64 * 64;
  const std::size_t csc_values_bytes = (std::size_t(nnz) * sizeof(float) + 63) / 64 * 64;
  const std::size_t need = offsets_bytes + values_bytes + rows_bytes + col_offsets_bytes + csc_values_bytes +
                           std::size_t(nnz) * sizeof(std::uint16_t);
  if (need > capacity_) {
    void* fresh = std::aligned_alloc(64, (need + 63) / 64 * 64);
    if (!fresh) throw std::bad_alloc();
    std::free(block_);
    block_ = fresh;
    capacity_ = need;
  }
  entry_begin_ = static_cast<Index*>(block_);
  values_ = reinterpret_cast<float*>(static_cast<char*>(block_) + offsets_bytes);
  char* at = static_cast<char*>(block_) + offsets_bytes + values_bytes;
  rows_ = reinterpret_cast<std::uint16_t*>(at);
  at += rows_bytes;
  col_begin_ = reinterpret_cast<Index*>(at);
  at += col_offsets_bytes;
  csc_values_ = reinterpret_cast<float*>(at);
  at += csc_values_bytes;
  csc_rows_ = reinterpret_cast<std::uint16_t*>(at);
  std::copy(begin.begin(), begin.end(), entry_begin_);
  std::fill(values_, values_ + lanes, 0.0f);
  std::fill(rows_, rows_ + lanes, std::uint16_t(0));
  for (Index j = 0; j < out; ++j) {
    const Index g = j / G, c = j % G;
    for (Index b = 0; b < blocks; ++b) {
      Index t = begin[std::size_t(g * blocks + b)];
      for (Index k = b * R; k < std::min(in, (b + 1) * R); ++k) {
        const float v = w[k * ldw + j];
        if (v == 0.0f) continue;
        values_[t * G + c] = v;
        rows_[t * G + c] = std::uint16_t(k - b * R);
        ++t;
      }
    }
  }
  Index e = 0;
  for (Index j = 0; j < out; ++j) {
    col_begin_[j] = e;
    for (Index k = 0; k < in; ++k) {
      const float v = w[k * ldw + j];
      if (v == 0.0f) continue;
      csc_values_[e] = v;
      csc_rows_[e] = std::uint16_t(k);
      ++e;
    }
  }
  col_begin_[out] = e;
  in_ = in, out_ = out, nnz_ = nnz, isa_ = isa;
  group_cols_ = G, block_rows_ = R, blocks_ = blocks;
  batched_min_rows_ = path.sparse_batch_rows / 2;
}

void sparse_gemm(float* z, Index ldz, const float* x, Index ldx, const SparseWeights& w, const float* bias, Index B,
                 SparseKernel kernel, const Threading& threading) {
  if (B <= 0 || w.out() <= 0) return;
  const detail::CompressedPath& path = compressed_for(w.isa());
  const bool batched = kernel == SparseKernel::batched;
  const Index row_unit = batched ? Index(path.sparse_batch_rows) : kRowUnit;
  SparseSplit split{{B, x, ldx, w.in(), w.entry_begin(), w.rows(), w.values(), w.blocks(), 0, w.groups(),
                     w.column_begin(), w.column_rows(), w.column_values(), 0, w.out(), nullptr, w.out(), bias, z,
                     ldz},
                    &path, batched, B >= 4 * row_unit, row_unit};
  // A parallel region pays off from about the work of a dense product of kParallelGemmFlops.
  const double flops = 2.0 * double(B) * (batched ? double(w.nonzeros())
                                                   : double(w.entries()) * double(w.group_cols()));
  int parts = 1;
  if (flops >= kParallelGemmFlops && threading.max_parts > 1) {
    const Index units = split.by_rows ? (B + row_unit - 1) / row_unit : batched ? w.out() : w.groups();
    parts = int(std::max<Index>(1, std::min<Index>(threading.max_parts, units)));
  }
  if (parts <= 1 || threading.run == nullptr) {
    for (int p = 0; p < parts; ++p) sparse_part(p, parts, &split);
    return;
  }
  threading.run(parts, &sparse_part, &split);
}

void sparse_gemm(float* z, Index ldz, const float* x, Index ldx, const SparseWeights& w, const float* bias, Index B,
                 const Threading& threading) {
  sparse_gemm(z, ldz, x, ldx, w, bias, B, B >= w.batched_min_rows() ? SparseKernel::batched : SparseKernel::grouped,
              threading);
}

}  // namespace kernels
}  // namespace densekit
