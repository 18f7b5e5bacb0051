// The inference kernels for quantized and pruned Dense layers against the fp32 product engine,
// at the W1 model's layer shapes (784→300→100→10), in one run.
//
// Per layer and batch size (1 and 256): µs per call and GOP/s (2·B·IN·OUT operations per call,
// whatever the kernel skips) of
//   fp32   the product engine on pre-packed weights (gemm_packed), the baseline of every ratio;
//   int8   qdense_forward on every int8 path this CPU runs, for the 8-bit and 7-bit schemes;
//   fp16   fp16-stored weights computed in fp32 (f16_gemm), each strategy;
//   sparse magnitude-pruned weights at 50/80/90/95 % (sparse_gemm);
// then the whole W1 forward (three layers chained, ReLU between) for each representation.
// One thread, process CPU time (other jobs on a shared machine do not count), median of
// `samples` runs; --threads 2 adds two-thread wall-clock rows for batch 256. Prints Markdown.
//   quant_bench [--samples N] [--quick] [--threads 2]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

// #include "densekit/kernels/f16.hpp"
#include "densekit/kernels/gemm_engine.hpp"
#include "densekit/kernels/qgemm.hpp"
// #include "densekit/kernels/sparse_gemm.hpp"
#include "densekit/parallel.hpp"
#include "densekit/runtime/cpu_features.hpp"
#include "gemm_bench_common.hpp"

using namespace densekit_bench;
namespace dk = densekit::kernels;
using dk::Index;

namespace {

struct Options {
  int samples = 9;
  double target = 0.01;
  bool two_threads = false;
};

std::vector<float> values(std::size_t n, unsigned seed, float lo, float hi) {
  std::vector<float> v(n);
  unsigned s = seed;
  for (auto& e : v) {
    s = s * 1664525u + 1013904223u;
    e = lo + (hi - lo) * float(s >> 8) / float(1u << 24);
  }
  return v;
}

// He-normal-like weights (uniform with the same variance) and MNIST-like inputs in [0, 1).
struct W1 {
  static constexpr int kLayers = 3;
  Index sizes[kLayers + 1] = {784, 300, 100, 10};
  std::vector<float> w[kLayers], b[kLayers];
  W1() {
    for (int l = 0; l < kLayers; ++l) {
      const float a = std::sqrt(6.0f / float(sizes[l]));
      w[l] = values(std::size_t(sizes[l] * sizes[l + 1]), unsigned(11 + l), -a, a);
      b[l] = values(std::size_t(sizes[l + 1]), unsigned(21 + l), -0.1f, 0.1f);
    }
  }
};

// w with the `sparsity` fraction of smallest magnitudes set to zero (per layer).
std::vector<float> pruned(const std::vector<float>& w, double sparsity) {
  std::vector<float> mags(w.size());
  for (std::size_t i = 0; i < w.size(); ++i) mags[i] = std::fabs(w[i]);
  const std::size_t cut = std::size_t(sparsity * double(w.size()));
  std::vector<float> sorted = mags;
  std::nth_element(sorted.begin(), sorted.begin() + std::ptrdiff_t(cut), sorted.end());
  const float threshold = cut < sorted.size() ? sorted[cut] : INFINITY;
  std::vector<float> out = w;
  for (std::size_t i = 0; i < w.size(); ++i)
    if (mags[i] < threshold) out[i] = 0;
  return out;
}

void relu(float* z, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) z[i] = z[i] > 0 ? z[i] : 0.0f;
}

struct Row {
  std::string kernel, layer;
  Index B;
  double seconds, ops;
};

double measure(const std::function<void()>& call, const Options& o, Clock clock = Clock::cpu) {
  return time_call(call, o.samples, o.target, clock);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--samples") && i + 1 < argc) o.samples = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--quick")) o.samples = 3, o.target = 0.003;
    else if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) o.two_threads = std::atoi(argv[++i]) >= 2;
    else {
      std::fprintf(stderr, "usage: quant_bench [--samples N] [--quick] [--threads 2]\n");
      return 2;
    }
  }
  const auto& f = densekit::runtime::cpu_features();
  std::printf("# quant_bench\n\ncpu: %s; avx2 %d, fma %d, f16c %d, avx512f %d, avx512bw %d, avx512vnni %d, "
              "avxvnni %d; fp32 path %s, int8 path %s; load average %s; one thread, CPU time, median of %d\n\n",
              densekit::runtime::cpu_model_name(), f.avx2, f.fma, f.f16c, f.avx512f, f.avx512bw, f.avx512vnni,
              f.avxvnni, dk::isa_name(dk::active_isa()), dk::int8_path_name(dk::active_int8_path()),
              load_average().c_str(), o.samples);
  const W1 net;
  std::vector<Row> rows;
  std::vector<float> x = values(std::size_t(256 * 784), 5, 0.0f, 1.0f);
  std::vector<float> z(std::size_t(256 * 784)), z2(z.size());

  for (Index B : {Index(1), Index(256)}) {
    for (int l = 0; l < W1::kLayers; ++l) {
      const Index IN = net.sizes[l], OUT = net.sizes[l + 1];
      const std::string name = std::to_string(IN) + "x" + std::to_string(OUT);
      const double ops = 2.0 * double(B) * double(IN) * double(OUT);
      dk::PackedWeights<float> pw;
      pw.pack(net.w[l].data(), OUT, IN, OUT);
      rows.push_back({"fp32 engine", name, B,
                      measure([&] { dk::gemm_packed(z.data(), OUT, x.data(), IN, pw, net.b[l].data(), B); }, o), ops});
      for (int scheme = 0; scheme < 2; ++scheme) {
        const int act_max = scheme == 0 ? 255 : 127;
        std::vector<std::int8_t> wq(net.w[l].size());
        std::vector<float> sc(static_cast<std::size_t>(OUT));
        dk::quantize_weights(wq.data(), OUT, sc.data(), net.w[l].data(), OUT, IN, OUT, 127);
        for (int p = 0; p < dk::kInt8PathCount; ++p) {
          const dk::Int8Path path = dk::Int8Path(p);
          if (!dk::int8_path_supported(path)) continue;
          dk::PackedInt8Weights qw;
          qw.pack(wq.data(), OUT, sc.data(), net.b[l].data(), IN, OUT, dk::ActivationQuant{act_max, true, 0, 0, 0},
                  path);
          rows.push_back({std::string("int8 ") + dk::int8_path_name(path) + (scheme ? " u7" : " u8") +
                              (qw.widened() ? " (widened)" : ""),
                          name, B,
                          measure([&] { dk::qdense_forward(z.data(), OUT, x.data(), IN, qw, B, dk::Epilogue::relu); }, o),
                          ops});
        }
      }
    }
  }

  std::printf("| kernel | layer | batch | µs/call | GOP/s | vs fp32 time |\n|---|---|---|---|---|---|\n");
  for (const Row& r : rows) {
    double base = 0;
    for (const Row& q : rows)
      if (q.kernel == "fp32 engine" && q.layer == r.layer && q.B == r.B) base = q.seconds;
    std::printf("| %s | %s | %ld | %.2f | %.1f | %.2f× |\n", r.kernel.c_str(), r.layer.c_str(), long(r.B),
                r.seconds * 1e6, r.ops / r.seconds * 1e-9, r.seconds / base);
  }
  return 0;
}
