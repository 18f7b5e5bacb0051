// What the GEMM benchmarks share: the BENCHMARKS.md workloads' matrix products, their operands
// with a naive-product check, and the timer.
//
// Per Dense layer x (B,IN)·w (IN,OUT): forward z = x·w, weight gradient dw = xᵀ·dz, input
// gradient dx = dz·wᵀ (a network's first layer needs no dx). `repeat` counts identical layers
// (W3/W4 have 19 hidden 100→100 layers), so a workload's rate is Σ flops / Σ time over its
// products weighted by repeat. Inference workloads (I1, I2) run the forward products only.
#pragma once

#include <omp.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "densekit/kernels/gemm_engine.hpp"
#include "eigen_gemm.hpp"

namespace densekit_bench {

enum class Op { forward, weight_grad, input_grad };
inline const char* op_name(Op op) {
  return op == Op::forward ? "fwd" : op == Op::weight_grad ? "dW" : "dX";
}

struct Product {
  Op op;
  long B, IN, OUT;
  int repeat;
  double flops() const { return 2.0 * double(B) * double(IN) * double(OUT); }
  // (M, N, K) as a BLAS would see it: output rows, output columns, inner dimension.
  std::string mnk() const {
    const long m = op == Op::weight_grad ? IN : B, n = op == Op::input_grad ? IN : OUT,
               k = op == Op::forward ? IN : op == Op::weight_grad ? B : OUT;
    return std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k);
  }
};

struct Workload {
  std::string name;
  bool inference;
  std::vector<Product> products;
};

// layers: widths in→…→out with a repeat count per layer.
inline Workload make_workload(const std::string& name, long batch, bool inference,
                              const std::vector<std::pair<long, long>>& layers,
                              const std::vector<int>& repeats) {
  Workload w{name, inference, {}};
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const auto [in, out] = layers[i];
    const int r = repeats.empty() ? 1 : repeats[i];
    w.products.push_back({Op::forward, batch, in, out, r});
    if (inference) continue;
    w.products.push_back({Op::weight_grad, batch, in, out, r});
    if (i > 0) w.products.push_back({Op::input_grad, batch, in, out, r});
  }
  return w;
}

inline std::vector<Workload> workloads() {
  const std::vector<std::pair<long, long>> w1 = {{784, 300}, {300, 100}, {100, 10}};
  const std::vector<std::pair<long, long>> w3 = {{3072, 100}, {100, 100}, {100, 10}};
  const std::vector<std::pair<long, long>> w5 = {{784, 1024}, {1024, 1024}, {1024, 10}};
  return {
      make_workload("W1", 32, false, w1, {}),
      make_workload("W2", 256, false, w1, {}),
      make_workload("W3/W4", 32, false, w3, {1, 19, 1}),
      make_workload("W5", 256, false, w5, {}),
      make_workload("I1", 1, true, w1, {}),
      make_workload("I2", 256, true, w1, {}),
  };
}

// Operands of one product (values in [-1, 1], fixed seeds) and an output large enough for any.
struct Operands {
  std::vector<float> x, w, dz, out;
  explicit Operands(const Product& p) {
    fill(x, std::size_t(p.B * p.IN), 1);
    fill(w, std::size_t(p.IN * p.OUT), 2);
    fill(dz, std::size_t(p.B * p.OUT), 3);
    out.assign(std::size_t(std::max({p.B * p.OUT, p.IN * p.OUT, p.B * p.IN})), 0.0f);
  }
  static void fill(std::vector<float>& v, std::size_t n, unsigned seed) {
    v.resize(n);
    unsigned s = seed;
    for (auto& e : v) {
      s = s * 1664525u + 1013904223u;
      e = float(int(s >> 9) % 2001 - 1000) * 1e-3f;
    }
  }
};

inline std::size_t output_size(const Product& p) {
  return std::size_t(p.op == Op::forward ? p.B * p.OUT : p.op == Op::weight_grad ? p.IN * p.OUT : p.B * p.IN);
}

// The naive product (the engine's *_ref) into a fresh buffer.
inline std::vector<float> reference(const Product& p, const Operands& b) {
  namespace dk = densekit::kernels;
  std::vector<float> r(b.out.size(), 0.0f);
  if (p.op == Op::forward)
    dk::gemm_forward_ref(r.data(), p.OUT, b.x.data(), p.IN, b.w.data(), p.OUT, (const float*)nullptr, p.B, p.IN,
                         p.OUT, false);
  else if (p.op == Op::weight_grad)
    dk::gemm_weight_grad_ref(r.data(), p.OUT, b.x.data(), p.IN, b.dz.data(), p.OUT, p.B, p.IN, p.OUT, false);
  else
    dk::gemm_input_grad_ref(r.data(), p.IN, b.dz.data(), p.OUT, b.w.data(), p.OUT, p.B, p.IN, p.OUT, false);
  return r;
}

// Whether got matches want to 1e-4 of want's largest magnitude (float32 sums of ≤ 4096 terms).
inline bool close_to(const std::vector<float>& got, const std::vector<float>& want, std::size_t n) {
  double scale = 1e-30, err = 0;
  for (std::size_t i = 0; i < n; ++i) {
    scale = std::max(scale, double(std::fabs(want[i])));
    err = std::max(err, double(std::fabs(got[i] - want[i])));
  }
  return err <= 1e-4 * scale;
}

// Eigen as densekit trained before the engine: dense.hpp's three products through the former
// panel-split gemm() (eigen_gemm.hpp).
inline std::function<void()> eigen_call(const Product& p, Operands& b) {
  namespace eb = densekit::eigen_baseline;
  float* out = b.out.data();
  if (p.op == Op::forward)
    return [&p, &b, out] {
      eb::gemm(out, b.x.data(), b.w.data(), p.B, p.OUT, p.IN, eb::Trans::no, eb::Trans::no, false);
    };
  if (p.op == Op::weight_grad)
    return [&p, &b, out] {
      eb::gemm(out, b.x.data(), b.dz.data(), p.IN, p.OUT, p.B, eb::Trans::yes, eb::Trans::no, false);
    };
  return [&p, &b, out] {
    eb::gemm(out, b.dz.data(), b.w.data(), p.B, p.IN, p.OUT, eb::Trans::no, eb::Trans::yes, false);
  };
}

// Runs body(part, parts, ctx) for every part on OpenMP threads (the engine's Threading::run).
inline void omp_run(int parts, void (*body)(int, int, void*), void* ctx) {
#pragma omp parallel for schedule(static) num_threads(std::min(parts, omp_get_max_threads()))
  for (int part = 0; part < parts; ++part) body(part, parts, ctx);
}

// Wall time, or the process's CPU time: with one thread on a machine shared with other jobs,
// CPU time leaves out the time the scheduler gave to someone else.
enum class Clock { wall, cpu };
inline double now(Clock clock) {
  if (clock == Clock::wall)
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}

// Median seconds per call over `samples` batches of calls lasting ~target_s each, after a warm-up.
inline double time_call(const std::function<void()>& call, int samples, double target_s, Clock clock) {
  double t0 = now(clock);
  int warm = 0;
  while (warm < 3 || now(clock) - t0 < 0.02) {
    call();
    ++warm;
  }
  const double per_call = std::max(1e-9, (now(clock) - t0) / warm);
  const int iters = std::max(1, int(target_s / per_call));
  std::vector<double> times;
  for (int s = 0; s < samples; ++s) {
    t0 = now(clock);
    for (int i = 0; i < iters; ++i) call();
    times.push_back((now(clock) - t0) / iters);
  }
  std::nth_element(times.begin(), times.begin() + samples / 2, times.end());
  return times[std::size_t(samples / 2)];
}

// densekit's Python package lets OpenMP threads spin only briefly before sleeping
// (GOMP_SPINCOUNT=20000, python/densekit/_native.py), which keeps a busy machine usable;
// libgomp reads it when it loads, so a benchmark re-runs itself once with it set.
inline void use_densekit_openmp_waits(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
  setenv("GOMP_SPINCOUNT", "20000", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: then run with the default
}

inline std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

}  // namespace densekit_bench
