// Tests of the forward on pruned weights (kernels/sparse_gemm.hpp) on every ISA path.
//
// - The format: per column, its non-zeros in increasing row order, nothing else but padding.
// - sparse_gemm (both kernels) equals gemm_forward on the dense pruned matrix on the same path, bit for bit, at
//   sparsities 0…100 % (magnitude-pruned, plus columns left empty), odd shapes, batch 1…300,
//   with and without bias, padded leading dimensions, negative-zero weights.
// - Batch invariance: batch sizes 1…300, positions, permutations, thread counts.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "densekit/kernels/sparse_gemm.hpp"
#include "densekit/runtime/cpu_features.hpp"
#include "kernel_test_support.hpp"

namespace dk = densekit::kernels;
using dk::Index;

namespace {

using kernel_test::omp_run;
using kernel_test::random_floats;
using kernel_test::runnable_paths;

// w (IN,OUT) with the `sparsity` fraction of smallest magnitudes zeroed (some as -0.0f), and,
// when asked, a few whole columns emptied.
std::vector<float> pruned_weights(Index IN, Index OUT, double sparsity, bool empty_columns, std::uint64_t seed) {
  std::vector<float> w = random_floats(std::size_t(IN * OUT), seed, 1.0f);
  std::vector<float> mags(w.size());
  for (std::size_t i = 0; i < w.size(); ++i) mags[i] = std::fabs(w[i]);
  const std::size_t cut = std::min(w.size(), std::size_t(sparsity * double(w.size())));
  std::vector<float> sorted = mags;
  std::sort(sorted.begin(), sorted.end());
  const float threshold = cut < sorted.size() ? sorted[cut] : INFINITY;
  for (std::size_t i = 0; i < w.size(); ++i)
    if (mags[i] < threshold) w[i] = (i % 5 == 0) ? -0.0f : 0.0f;
  if (empty_columns)
    for (Index j = 0; j < OUT; j += 7)
      for (Index k = 0; k < IN; ++k) w[std::size_t(k * OUT + j)] = 0.0f;
  return w;
}

void test_format(dk::Isa isa) {
  const Index IN = 77, OUT = 141;
  const std::vector<float> w = pruned_weights(IN, OUT, 0.8, true, 1);
  dk::SparseWeights s;
  s.pack(w.data(), OUT, IN, OUT, isa);
  Index nnz = 0;
  for (float v : w) nnz += v != 0.0f;
  CHECK(s.nonzeros() == nnz, "nonzeros %ld, want %ld", long(s.nonzeros()), long(nnz));
  const Index G = s.group_cols(), R = s.block_rows();
  for (Index j = 0; j < OUT; ++j) {
    const Index g = j / G, c = j % G;
    std::vector<Index> rows;
    for (Index b = 0; b < s.blocks(); ++b)
      for (Index t = s.entry_begin()[g * s.blocks() + b]; t < s.entry_begin()[g * s.blocks() + b + 1]; ++t) {
        const float v = s.values()[t * G + c];
        if (v != 0.0f) {
          rows.push_back(b * R + s.rows()[t * G + c]);
          CHECK(w[std::size_t(rows.back() * OUT + j)] == v, "column %ld: value mismatch", long(j));
        }
      }
    Index expected = 0;
    for (Index k = 0; k < IN; ++k) expected += w[std::size_t(k * OUT + j)] != 0.0f;
    CHECK(Index(rows.size()) == expected && std::is_sorted(rows.begin(), rows.end()) &&
              std::adjacent_find(rows.begin(), rows.end()) == rows.end(),
          "column %ld: %zu stored non-zeros in order, want %ld", long(j), rows.size(), long(expected));
  }
  bool threw = false;
  try {
    s.pack(w.data(), 1, dk::kSparseMaxInner + 1, 1);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  CHECK(threw, "pack accepted IN beyond 16-bit row indices");
}

void test_against_dense(const std::vector<dk::Isa>& paths) {
  const Index ins[] = {1, 3, 16, 33, 100, 300, 784};
  const Index outs[] = {1, 10, 16, 17, 100, 300};
  const Index batches[] = {1, 2, 3, 4, 5, 9, 17, 64, 300};
  const double sparsities[] = {0.0, 0.5, 0.9, 0.97, 1.0};
  int index = 0;
  for (Index IN : ins)
    for (Index OUT : outs)
      for (Index B : batches) {
        if (double(IN) * OUT * B > 3e6) continue;
        ++index;
        const double sparsity = sparsities[index % 5];
        const Index pad = index % 3, ldx = IN + pad, ldz = OUT + pad;
        const std::vector<float> w = pruned_weights(IN, OUT, sparsity, index % 2 == 0, std::uint64_t(index));
        const std::vector<float> x = random_floats(std::size_t(B * ldx), std::uint64_t(index) + 50, 2.0f);
        const std::vector<float> bias = random_floats(std::size_t(OUT), std::uint64_t(index) + 9, 0.5f);
        const float* b = index % 4 ? bias.data() : nullptr;
        for (dk::Isa isa : paths) {
          dk::set_active_isa(isa);
          std::vector<float> want(std::size_t(B * ldz), -3.0f);
          dk::gemm_forward(want.data(), ldz, x.data(), ldx, w.data(), OUT, b, B, IN, OUT, false);
          dk::SparseWeights s;
          s.pack(w.data(), OUT, IN, OUT, isa);
          for (dk::SparseKernel kernel : {dk::SparseKernel::grouped, dk::SparseKernel::batched}) {
            std::vector<float> got(want.size(), -3.0f);
            dk::sparse_gemm(got.data(), ldz, x.data(), ldx, s, b, B, kernel);
            CHECK(std::memcmp(got.data(), want.data(), got.size() * 4) == 0,
                  "sparse_gemm %s kernel %d B=%ld IN=%ld OUT=%ld sparsity %.2f differs from the dense engine",
                  dk::isa_name(isa), int(kernel), long(B), long(IN), long(OUT), sparsity);
          }
        }
      }
}

void test_batch_invariance(const std::vector<dk::Isa>& paths) {
  const Index IN = 784, OUT = 300, N = 300;
  const std::vector<float> w = pruned_weights(IN, OUT, 0.9, false, 77);
  const std::vector<float> x = random_floats(std::size_t(N * IN), 78, 1.0f);
  const std::vector<float> bias = random_floats(std::size_t(OUT), 79, 0.5f);
  for (dk::Isa isa : paths) {
    dk::SparseWeights s;
    s.pack(w.data(), OUT, IN, OUT, isa);
    const std::string what = std::string("sparse_gemm on ") + dk::isa_name(isa);
    kernel_test::check_batch_invariance(
        what.c_str(),
        [&](float* z, const float* xs, Index B, const dk::Threading& t) {
          dk::sparse_gemm(z, OUT, xs, IN, s, bias.data(), B, t);
        },
        x, IN, OUT, N, 17);
  }
}

}  // namespace

int main() {
  const std::vector<dk::Isa> paths = runnable_paths();
  std::printf("cpu %s\n", densekit::runtime::cpu_model_name());
  for (dk::Isa isa : paths) test_format(isa);
  test_against_dense(paths);
  test_batch_invariance(paths);
  return kernel_test::report();
}
