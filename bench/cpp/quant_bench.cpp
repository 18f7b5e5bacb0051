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

#include "densekit/kernels/f16.hpp"
#include "densekit/kernels/gemm_engine.hpp"
#include "densekit/kernels/qgemm.hpp"
#include "densekit/kernels/sparse_gemm.hpp"
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

void print_rows(const char* title, const std::vector<Row>& rows) {
  std::printf("\n## %s\n\n| kernel | layer | batch | µs/call | GOP/s | time vs fp32 |\n|---|---|---|---|---|---|\n",
              title);
  for (const Row& r : rows) {
    double base = 0;
    for (const Row& q : rows)
      if (q.layer == r.layer && q.B == r.B && q.kernel.rfind("fp32", 0) == 0 &&
          (q.kernel.find("2 threads") != std::string::npos) == (r.kernel.find("2 threads") != std::string::npos)) {
        base = q.seconds;
        break;
      }
    std::printf("| %s | %s | %ld | %.2f | %.1f | %.2f× |\n", r.kernel.c_str(), r.layer.c_str(), long(r.B),
                r.seconds * 1e6, r.ops / r.seconds * 1e-9, base > 0 ? r.seconds / base : 0.0);
  }
  std::fflush(stdout);
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
  std::vector<float> x = values(std::size_t(256 * 784), 5, 0.0f, 1.0f);
  std::vector<float> z(std::size_t(256 * 784)), z2(z.size());
  const dk::Threading one{};
  const dk::Threading two{2, &omp_run};

  // ---- per layer: fp32, int8 (every path, both activation widths), fp16 ----
  std::vector<Row> rows;
  std::vector<dk::PackedWeights<float>> p32(W1::kLayers);
  std::vector<dk::PackedF16Weights> p16(W1::kLayers);
  // Weights quantized with 8 bits (index 0) and 7 bits (index 1).
  std::vector<std::vector<std::int8_t>> wq[2] = {std::vector<std::vector<std::int8_t>>(W1::kLayers),
                                                 std::vector<std::vector<std::int8_t>>(W1::kLayers)};
  std::vector<std::vector<float>> wscale[2] = {std::vector<std::vector<float>>(W1::kLayers),
                                               std::vector<std::vector<float>>(W1::kLayers)};
  for (int l = 0; l < W1::kLayers; ++l) {
    const Index IN = net.sizes[l], OUT = net.sizes[l + 1];
    p32[std::size_t(l)].pack(net.w[l].data(), OUT, IN, OUT);
    std::vector<std::uint16_t> h(net.w[l].size());
    dk::f32_to_f16(h.data(), net.w[l].data(), Index(h.size()));
    p16[std::size_t(l)].pack(h.data(), OUT, IN, OUT);
    for (int bits7 = 0; bits7 < 2; ++bits7) {
      wq[bits7][std::size_t(l)].resize(net.w[l].size());
      wscale[bits7][std::size_t(l)].resize(std::size_t(OUT));
      dk::quantize_weights(wq[bits7][std::size_t(l)].data(), OUT, wscale[bits7][std::size_t(l)].data(), net.w[l].data(),
                           OUT, IN, OUT, bits7 ? 63 : 127);
    }
  }
  // The schemes: activations × weights, u8 × s8, u7 × s8 (7-bit activations), u8 × s7.
  struct Scheme {
    const char* name;
    int act_max, weight_bits7;
  };
  const Scheme schemes[] = {{"u8×s8", 255, 0}, {"u7×s8", 127, 0}, {"u8×s7", 255, 1}};
  auto packed_int8 = [&](int l, dk::Int8Path path, const Scheme& sc) {
    dk::PackedInt8Weights qw;
    const Index IN = net.sizes[l], OUT = net.sizes[l + 1];
    qw.pack(wq[sc.weight_bits7][std::size_t(l)].data(), OUT, wscale[sc.weight_bits7][std::size_t(l)].data(),
            net.b[l].data(), IN, OUT, dk::ActivationQuant{sc.act_max, true, 0, 0, 0}, path);
    return qw;
  };
  for (Index B : {Index(1), Index(256)})
    for (int l = 0; l < W1::kLayers; ++l) {
      const Index IN = net.sizes[l], OUT = net.sizes[l + 1];
      const std::string name = std::to_string(IN) + "x" + std::to_string(OUT);
      const double ops = 2.0 * double(B) * double(IN) * double(OUT);
      const auto& pw = p32[std::size_t(l)];
      rows.push_back({"fp32 engine", name, B,
                      measure([&] { dk::gemm_packed(z.data(), OUT, x.data(), IN, pw, net.b[l].data(), B); }, o), ops});
      for (int p = dk::kInt8PathCount - 1; p >= 0; --p) {
        const dk::Int8Path path = dk::Int8Path(p);
        if (!dk::int8_path_supported(path)) continue;
        for (const Scheme& sc : schemes) {
          const dk::PackedInt8Weights qw = packed_int8(l, path, sc);
          rows.push_back({std::string("int8 ") + dk::int8_path_name(path) + " " + sc.name +
                              (qw.widened() ? " (widened)" : ""),
                          name, B,
                          measure([&] { dk::qdense_forward(z.data(), OUT, x.data(), IN, qw, B, dk::Epilogue::relu); }, o),
                          ops});
        }
      }
      const auto& hw = p16[std::size_t(l)];
      for (dk::F16Strategy st : {dk::F16Strategy::direct, dk::F16Strategy::convert_panels})
        rows.push_back({st == dk::F16Strategy::direct ? "fp16 in registers" : "fp16 panel at a time", name, B,
                        measure([&] { dk::f16_gemm(z.data(), OUT, x.data(), IN, hw, net.b[l].data(), B, st); }, o),
                        ops});
    }
  print_rows("Per layer (ratios: time / the fp32 engine's time on the same layer and batch)", rows);

  // ---- fp16: where converting in registers stops paying (784x300) ----
  rows.clear();
  for (Index B : {Index(1), Index(2), Index(4), Index(8), Index(16), Index(32), Index(64)}) {
    const double ops = 2.0 * double(B) * 784 * 300;
    rows.push_back({"fp32 engine", "784x300", B,
                    measure([&] { dk::gemm_packed(z.data(), 300, x.data(), 784, p32[0], net.b[0].data(), B); }, o), ops});
    for (dk::F16Strategy st : {dk::F16Strategy::direct, dk::F16Strategy::convert_panels})
      rows.push_back({st == dk::F16Strategy::direct ? "fp16 in registers" : "fp16 panel at a time", "784x300", B,
                      measure([&] { dk::f16_gemm(z.data(), 300, x.data(), 784, p16[0], net.b[0].data(), B, st); }, o),
                      ops});
  }
  print_rows("float16 strategies by batch size", rows);

  // ---- sparse: time vs the dense engine by sparsity and batch size ----
  rows.clear();
  const double sparsities[] = {0.3, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95};
  std::vector<std::vector<dk::SparseWeights>> sw(W1::kLayers);
  for (int l = 0; l < W1::kLayers; ++l)
    for (double s : sparsities) {
      const Index IN = net.sizes[l], OUT = net.sizes[l + 1];
      const std::vector<float> w = pruned(net.w[l], s);
      sw[std::size_t(l)].emplace_back();
      sw[std::size_t(l)].back().pack(w.data(), OUT, IN, OUT);
    }
  for (Index B : {Index(1), Index(4), Index(16), Index(64), Index(256)})
    for (int l = 0; l < W1::kLayers; ++l) {
      const Index IN = net.sizes[l], OUT = net.sizes[l + 1];
      const std::string name = std::to_string(IN) + "x" + std::to_string(OUT);
      const double ops = 2.0 * double(B) * double(IN) * double(OUT);
      rows.push_back({"fp32 engine", name, B,
                      measure([&] { dk::gemm_packed(z.data(), OUT, x.data(), IN, p32[std::size_t(l)], net.b[l].data(), B); }, o),
                      ops});
      for (std::size_t i = 0; i < std::size(sparsities); ++i) {
        const dk::SparseWeights& s = sw[std::size_t(l)][i];
        for (dk::SparseKernel kernel : {dk::SparseKernel::grouped, dk::SparseKernel::batched}) {
          if (kernel == dk::SparseKernel::batched ? B < 4 : B > 64) continue;
          char label[96];
          if (kernel == dk::SparseKernel::grouped)
            std::snprintf(label, sizeof label, "sparse %.0f%% grouped (padding %.0f%%)", sparsities[i] * 100,
                          100.0 * (double(s.entries() * s.group_cols()) / double(std::max<Index>(1, s.nonzeros())) - 1));
          else
            std::snprintf(label, sizeof label, "sparse %.0f%% batched", sparsities[i] * 100);
          rows.push_back({label, name, B,
                          measure([&] { dk::sparse_gemm(z.data(), OUT, x.data(), IN, s, net.b[l].data(), B, kernel); }, o),
                          ops});
        }
      }
    }
  print_rows("Pruned weights (GOP/s counts the dense operations, 2·B·IN·OUT)", rows);
  // Crossover: the sparsity where a kernel's time equals the dense engine's (linear between the
  // two measured sparsities around it), per layer, batch and kernel.
  std::printf("\n## Crossover sparsity (sparse kernel as fast as the dense fp32 engine)\n\n"
              "| layer | batch | grouped | batched | sparse_gemm's choice |\n|---|---|---|---|---|\n");
  for (Index B : {Index(1), Index(4), Index(16), Index(64), Index(256)})
    for (int l = 0; l < W1::kLayers; ++l) {
      const std::string name = std::to_string(net.sizes[l]) + "x" + std::to_string(net.sizes[l + 1]);
      double dense = 0;
      for (const Row& r : rows)
        if (r.layer == name && r.B == B && r.kernel == "fp32 engine") dense = r.seconds;
      std::string cross[2];
      for (int k = 0; k < 2; ++k) {
        const char* tag = k == 0 ? "grouped" : "batched";
        double prev_s = -1, prev_ratio = 0;
        cross[k] = "–";
        bool any = false;
        for (double sp : sparsities)
          for (const Row& r : rows) {
            char want[32];
            std::snprintf(want, sizeof want, "sparse %.0f%% %s", sp * 100, tag);
            if (r.layer != name || r.B != B || r.kernel.rfind(want, 0) != 0) continue;
            any = true;
            const double ratio = r.seconds / dense;
            if (ratio <= 1 && cross[k] == "–") {
              char buf[48];
              if (prev_s < 0) std::snprintf(buf, sizeof buf, "≤ %.0f %%", sp * 100);
              else std::snprintf(buf, sizeof buf, "%.0f %%", 100 * (prev_s + (sp - prev_s) * (prev_ratio - 1) / (prev_ratio - ratio)));
              cross[k] = buf;
            }
            prev_s = sp, prev_ratio = ratio;
          }
        if (any && cross[k] == "–") cross[k] = "> 95 %";
        if (!any) cross[k] = "(not run)";
      }
      std::printf("| %s | %ld | %s | %s | %s |\n", name.c_str(), long(B), cross[0].c_str(), cross[1].c_str(),
                  B >= sw[std::size_t(l)][0].batched_min_rows() ? "batched" : "grouped");
    }

  // ---- the whole W1 forward, three layers chained ----
  rows.clear();
  const dk::Int8Path best = dk::active_int8_path();
  std::vector<dk::PackedInt8Weights> q8[3];  // per scheme
  for (int sc = 0; sc < 3; ++sc)
    for (int l = 0; l < W1::kLayers; ++l) q8[sc].push_back(packed_int8(l, best, schemes[sc]));
  const std::size_t s90 = 6;  // sparsities[6] = 0.9
  auto network = [&](const std::string& kind, Index B, const dk::Threading& t) -> std::function<void()> {
    float* a = z.data();
    float* b = z2.data();
    if (kind == "fp32")
      return [&, a, b, B, t] {
        dk::gemm_packed(a, 300, x.data(), 784, p32[0], net.b[0].data(), B, t);
        relu(a, std::size_t(B * 300));
        dk::gemm_packed(b, 100, a, 300, p32[1], net.b[1].data(), B, t);
        relu(b, std::size_t(B * 100));
        dk::gemm_packed(a, 10, b, 100, p32[2], net.b[2].data(), B, t);
      };
    for (int sc = 0; sc < 3; ++sc) {
      if (kind != std::string("int8 ") + schemes[sc].name) continue;
      const auto& q = q8[sc];
      return [&, a, b, B, t] {
        dk::qdense_forward(a, 300, x.data(), 784, q[0], B, dk::Epilogue::relu, t);
        dk::qdense_forward(b, 100, a, 300, q[1], B, dk::Epilogue::relu, t);
        dk::qdense_forward(a, 10, b, 100, q[2], B, dk::Epilogue::identity, t);
      };
    }
    if (kind == "int8 u8×s8, last layer fp32")
      return [&, a, b, B, t] {
        dk::qdense_forward(a, 300, x.data(), 784, q8[0][0], B, dk::Epilogue::relu, t);
        dk::qdense_forward(b, 100, a, 300, q8[0][1], B, dk::Epilogue::relu, t);
        dk::gemm_packed(a, 10, b, 100, p32[2], net.b[2].data(), B, t);
      };
    if (kind == "fp16")
      return [&, a, b, B, t] {
        dk::f16_gemm(a, 300, x.data(), 784, p16[0], net.b[0].data(), B, t);
        relu(a, std::size_t(B * 300));
        dk::f16_gemm(b, 100, a, 300, p16[1], net.b[1].data(), B, t);
        relu(b, std::size_t(B * 100));
        dk::f16_gemm(a, 10, b, 100, p16[2], net.b[2].data(), B, t);
      };
    // sparse 90 %: every layer pruned, sparse kernels on the two large layers
    return [&, a, b, B, t] {
      dk::sparse_gemm(a, 300, x.data(), 784, sw[0][s90], net.b[0].data(), B, t);
      relu(a, std::size_t(B * 300));
      dk::sparse_gemm(b, 100, a, 300, sw[1][s90], net.b[1].data(), B, t);
      relu(b, std::size_t(B * 100));
      dk::sparse_gemm(a, 10, b, 100, sw[2][s90], net.b[2].data(), B, t);
    };
  };
  const char* kinds[] = {"fp32",  "int8 u8×s8", "int8 u7×s8", "int8 u8×s7", "int8 u8×s8, last layer fp32",
                         "fp16", "sparse 90%"};
  for (Index B : {Index(1), Index(256)})
    for (const char* kind : kinds)
      rows.push_back({kind, "W1", B, measure(network(kind, B, one), o), 2.0 * double(B) * (784 * 300 + 300 * 100 + 100 * 10)});
  if (o.two_threads)
    for (const char* kind : kinds)
      rows.push_back({std::string(kind) + ", 2 threads", "W1", 256,
                      measure(network(kind, 256, two), o, Clock::wall), 2.0 * 256 * (784 * 300 + 300 * 100 + 100 * 10)});
  print_rows("The whole W1 forward (784→300→100→10, ReLU; int8 on the best path, dynamic activations)", rows);
  return 0;
}
