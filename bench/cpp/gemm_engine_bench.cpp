// The product engine against Eigen as densekit uses it today, at every workload's shapes.
//
// For each product of W1, W2, W3/W4, W5 (forward, dW, dX) and I1, I2 (forward; the engine on
// pre-packed weights): GFLOP/s of parallel.hpp's gemm() (per-thread Eigen products) and of the
// engine on the active ISA path (DENSEKIT_ISA to force one), their ratio, and each as a fraction
// of the machine's peak: the best 4096² float32 rate measured here (engine or Eigen, 2 threads),
// or the one given with --peak (bench/gemm_candidates.sh measures OpenBLAS and oneDNN too).
// One-thread rates use process CPU time, two-thread rates wall time. Prints Markdown.
//   gemm_engine_bench [--threads 1|2] [--peak GFLOPS] [--quick]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include "densekit/kernels/gemm_engine.hpp"
#include "densekit/parallel.hpp"
#include "densekit/runtime/cpu_features.hpp"
#include "gemm_bench_common.hpp"

using namespace densekit_bench;
namespace dk = densekit::kernels;
using Call = std::function<void()>;

namespace {

// The engine with densekit's partitioning: parts = the machine's cores, threads run them.
Call engine_call(const Product& p, Operands& b, bool inference, dk::PackedWeights<float>& packed) {
  const dk::Threading t{densekit::partition_count(), &omp_run};
  float* out = b.out.data();
  if (inference) {
    packed.pack(b.w.data(), p.OUT, p.IN, p.OUT);
    return [&p, &b, out, t, &packed] {
      dk::gemm_packed(out, p.OUT, b.x.data(), p.IN, packed, (const float*)nullptr, p.B, t);
    };
  }
  if (p.op == Op::forward)
    return [&p, &b, out, t] {
      dk::gemm_forward(out, p.OUT, b.x.data(), p.IN, b.w.data(), p.OUT, (const float*)nullptr, p.B, p.IN, p.OUT,
                       false, t);
    };
  if (p.op == Op::weight_grad)
    return [&p, &b, out, t] {
      dk::gemm_weight_grad(out, p.OUT, b.x.data(), p.IN, b.dz.data(), p.OUT, p.B, p.IN, p.OUT, false, t);
    };
  return [&p, &b, out, t] {
    dk::gemm_input_grad(out, p.IN, b.dz.data(), p.OUT, b.w.data(), p.OUT, p.B, p.IN, p.OUT, false, t);
  };
}

}  // namespace

int main(int argc, char** argv) {
  use_densekit_openmp_waits(argv);
  std::vector<int> thread_counts = {1, 2};
  double peak = 0;
  int samples = 9;
  double target = 0.01;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) {
      thread_counts = {std::atoi(argv[++i])};
    } else if (!std::strcmp(argv[i], "--peak") && i + 1 < argc) {
      peak = std::atof(argv[++i]);
    } else if (!std::strcmp(argv[i], "--quick")) {
      samples = 5, target = 0.004;
    } else {
      std::fprintf(stderr, "usage: gemm_engine_bench [--threads N] [--peak GFLOPS] [--quick]\n");
      return 2;
    }
  }
  const char* isa = dk::isa_name(dk::active_isa());
  std::printf("CPU: %s; engine path %s (best %s); load average %s\n", densekit::runtime::cpu_model_name(), isa,
              dk::isa_name(dk::best_isa()), load_average().c_str());

  std::string peak_source = "given with --peak";
  if (peak <= 0) {
    const Product big{Op::forward, 4096, 4096, 4096, 1};
    Operands ops(big);
    dk::PackedWeights<float> unused;
    densekit::set_num_threads(2);
    omp_set_num_threads(2);
    const double e = big.flops() / time_call(eigen_call(big, ops), 3, 0.5, Clock::wall) * 1e-9;
    const double g = big.flops() / time_call(engine_call(big, ops, false, unused), 3, 0.5, Clock::wall) * 1e-9;
    peak = std::max(e, g);
    char text[128];
    std::snprintf(text, sizeof text, "4096² float32, 2 threads: eigen %.1f, engine %.1f", e, g);
    peak_source = text;
  }
  std::printf("peak %.1f GFLOP/s (%s)\n", peak, peak_source.c_str());

  for (int threads : thread_counts) {
    densekit::set_num_threads(threads);
    omp_set_num_threads(threads);
    const Clock clock = threads == 1 ? Clock::cpu : Clock::wall;
    std::printf("\n### %d thread%s (%s time)\n\n", threads, threads > 1 ? "s" : "",
                clock == Clock::cpu ? "CPU" : "wall");
    std::printf("| workload | product | M×N×K | eigen GFLOP/s | engine-%s GFLOP/s | engine / eigen | eigen %% peak | engine %% peak |\n",
                isa);
    std::printf("|---|---|---|---|---|---|---|---|\n");
    std::vector<std::string> summary;
    for (const Workload& wl : workloads()) {
      double flops = 0, t_eigen = 0, t_engine = 0;
      for (const Product& p : wl.products) {
        Operands ops(p);
        dk::PackedWeights<float> packed;
        const std::vector<float> want = reference(p, ops);
        double rate[2];
        for (int which = 0; which < 2; ++which) {
          Call call = which == 0 ? eigen_call(p, ops) : engine_call(p, ops, wl.inference, packed);
          std::fill(ops.out.begin(), ops.out.end(), 0.0f);
          call();
          if (!close_to(ops.out, want, output_size(p))) {
            std::printf("%s gives a wrong result for %s %s\n", which ? "engine" : "eigen", wl.name.c_str(),
                        p.mnk().c_str());
            return 1;
          }
          const double s = time_call(call, p.B == 1 ? 3 * samples : samples, target, clock);
          (which == 0 ? t_eigen : t_engine) += s * p.repeat;
          rate[which] = p.flops() / s * 1e-9;
        }
        flops += p.flops() * p.repeat;
        std::printf("| %s | %s%s | %s | %.1f | %.1f | %.2f | %.0f %% | %.0f %% |\n", wl.name.c_str(), op_name(p.op),
                    p.repeat > 1 ? (" ×" + std::to_string(p.repeat)).c_str() : "", p.mnk().c_str(), rate[0],
                    rate[1], rate[1] / rate[0], 100 * rate[0] / peak, 100 * rate[1] / peak);
        std::fflush(stdout);
      }
      char line[256];
      std::snprintf(line, sizeof line, "| %s | %.1f | %.1f | %.2f | %.0f %% | %.0f %% |", wl.name.c_str(),
                    flops / t_eigen * 1e-9, flops / t_engine * 1e-9, t_eigen / t_engine,
                    100 * flops / t_eigen * 1e-9 / peak, 100 * flops / t_engine * 1e-9 / peak);
      summary.push_back(line);
    }
    std::printf("\nPer workload, %d thread%s (Σ flops / Σ time):\n\n", threads, threads > 1 ? "s" : "");
    std::printf("| workload | eigen GFLOP/s | engine GFLOP/s | engine / eigen | eigen %% peak | engine %% peak |\n");
    std::printf("|---|---|---|---|---|---|\n");
    for (const auto& line : summary) std::printf("%s\n", line.c_str());
  }
  std::printf("\nload average at end: %s\n", load_average().c_str());
  return 0;
}
