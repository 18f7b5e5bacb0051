// Optimizer update bandwidth against the machine's memory bandwidth, without Python.
//
// For each update rule of cpp/include/densekit/optim/optimizers.hpp and a few parameter counts, times
// densekit::Optimizer<float>::step() (exactly what a training step runs: clipping check, then
// the rule split between threads by parallel_rows) and reports GB/s counted the way STREAM
// counts: every array the rule must touch, once per read and once per write — parameters
// read + written, gradients read, each moment slot read + written. The same program measures
// STREAM copy, triad and axpy (a += q·b) with the same threads and size; "% of axpy" says how
// close a rule comes to the memory system (axpy, like every rule, reads what it writes). A second
// column runs the same update:: functions on cache-sized tiles (one pass over memory however
// many Eigen statements a rule has); the gap between the two is what the multi-statement rules
// pay in extra memory traffic. Results: bench/OPTIMIZER_BANDWIDTH.md. Nothing here changes the
// library.
//
//   optimizer_bandwidth [--sizes 266610,4194304,33554432] [--threads 1,2] [--min-ms 60]
//                       [--trials 5] [--rules adam,sgd,...]
#include <densekit/optim/optimizers.hpp>
#include <densekit/runtime/parallel.hpp>

#include <omp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

using namespace densekit;
using Clock = std::chrono::steady_clock;

namespace {

struct Rule {
  std::string name;
  OptimizerConfig config;
  // Arrays a single fused pass must move per element, STREAM-style (reads + writes).
  int min_arrays;
  // Arrays the rule moves as written in optimizers.hpp, one Eigen loop per statement (when
  // the arrays do not stay in cache between statements). See the table in OPTIMIZER_BANDWIDTH.md.
  int eigen_arrays;
};

std::vector<Rule> all_rules() {
  auto cfg = [](OptimizerKind k) {
    OptimizerConfig c;
    c.kind = k;
    c.learning_rate = 1e-3;
    return c;
  };
  std::vector<Rule> r;
  r.push_back({"sgd", cfg(OptimizerKind::sgd), 3, 3});
  { auto c = cfg(OptimizerKind::sgd); c.momentum = 0.9; r.push_back({"momentum", c, 5, 6}); }
  { auto c = cfg(OptimizerKind::sgd); c.momentum = 0.9; c.nesterov = true; r.push_back({"nesterov", c, 5, 7}); }
  r.push_back({"adagrad", cfg(OptimizerKind::adagrad), 5, 7});
  r.push_back({"rmsprop", cfg(OptimizerKind::rmsprop), 5, 7});
  { auto c = cfg(OptimizerKind::rmsprop); c.momentum = 0.9; c.centered = true; r.push_back({"rmsprop_mom_centered", c, 9, 14}); }
  r.push_back({"adam", cfg(OptimizerKind::adam), 7, 10});
  { auto c = cfg(OptimizerKind::adam); c.amsgrad = true; r.push_back({"amsgrad", c, 9, 13}); }
  { auto c = cfg(OptimizerKind::adamw); c.weight_decay = 0.004; r.push_back({"adamw", c, 7, 12}); }
  r.push_back({"adamax", cfg(OptimizerKind::adamax), 7, 10});
  r.push_back({"nadam", cfg(OptimizerKind::nadam), 7, 11});
  return r;
}

std::vector<long> parse_list(const char* s) {
  std::vector<long> out;
  std::string str(s);
  size_t pos = 0;
  while (pos < str.size()) {
    size_t end = str.find(',', pos);
    if (end == std::string::npos) end = str.size();
    out.push_back(std::atol(str.substr(pos, end - pos).c_str()));
    pos = end + 1;
  }
  return out;
}

struct Options {
  std::vector<long> sizes{266610, 4194304, 33554432};
  std::vector<long> threads;
  double min_ms = 60;
  int trials = 5;
  std::vector<std::string> rules;
};

// Best (minimum) seconds per call of f over `trials` trials, each repeating f until min_ms.
double time_per_call(const std::function<void()>& f, const Options& o) {
  f();
  f();  // warm: pages touched, threads started
  auto t0 = Clock::now();
  f();
  double once = std::chrono::duration<double>(Clock::now() - t0).count();
  long reps = std::max(1L, long(o.min_ms * 1e-3 / std::max(once, 1e-9)));
  double best = 1e300;
  for (int t = 0; t < o.trials; ++t) {
    auto a = Clock::now();
    for (long i = 0; i < reps; ++i) f();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - a).count() / double(reps));
  }
  return best;
}

// STREAM copy (a = b) and triad (a = b + q·c), plus the read-modify-write kernel the update
// rules are made of, axpy (a = a + q·b); float, `nt` threads, static schedule. Bytes are counted
// as STREAM counts them (8, 12 and 12 per element). Copy and triad write an array they do not
// read, which costs a hidden read (write-allocate) on most CPUs; axpy, like every update rule,
// reads what it writes, so it is the fair reference for the rules.
struct Stream {
  double copy_gbs, triad_gbs, axpy_gbs;
};

Stream measure_stream(long n, int nt, const Options& o) {
  std::vector<float> a(n), b(n), c(n);
#pragma omp parallel for num_threads(nt) schedule(static)
  for (long i = 0; i < n; ++i) {
    a[i] = 0.f;
    b[i] = 1.f;
    c[i] = 2.f;
  }
  float* pa = a.data();
  const float* pb = b.data();
  const float* pc = c.data();
  const float q = 3.f;
  double tc = time_per_call([&] {
#pragma omp parallel for num_threads(nt) schedule(static)
    for (long i = 0; i < n; ++i) pa[i] = pb[i];
  }, o);
  double tt = time_per_call([&] {
#pragma omp parallel for num_threads(nt) schedule(static)
    for (long i = 0; i < n; ++i) pa[i] = pb[i] + q * pc[i];
  }, o);
  double ta = time_per_call([&] {
#pragma omp parallel for num_threads(nt) schedule(static)
    for (long i = 0; i < n; ++i) pa[i] = pa[i] + 1e-7f * pb[i];
  }, o);
  return {8.0 * n / tc * 1e-9, 12.0 * n / tt * 1e-9, 12.0 * n / ta * 1e-9};
}

StepScalars scalars_at(const OptimizerConfig& c, double t) {
  StepScalars s{};
  s.lr = c.learning_rate;
  s.bias1 = 1.0 - std::pow(c.beta_1, t);
  s.bias2 = 1.0 - std::pow(c.beta_2, t);
  s.mu_t = c.beta_1 * (1.0 - 0.5 * std::pow(0.96, t * c.momentum_decay));
  s.mu_next = c.beta_1 * (1.0 - 0.5 * std::pow(0.96, (t + 1.0) * c.momentum_decay));
  s.mu_prod = 0.5 * s.mu_t;
  s.mu_prod_next = s.mu_prod * s.mu_next;
  return s;
}

// The rule's update:: function on [off, off + n) of the arrays; slot k of element i at
// slots[k][i], laid out as Optimizer::apply lays them out.
void apply_range(const Rule& r, const StepScalars& s, float* th, const float* g,
                 std::vector<float*>& slots, Index off, Index n) {
  const auto& c = r.config;
  auto sl = [&](int k) { return slots[std::size_t(k)] + off; };
  switch (c.kind) {
    case OptimizerKind::sgd:
      update::sgd<float>(c, s, th + off, g + off, c.momentum != 0.0 ? sl(0) : nullptr, n);
      break;
    case OptimizerKind::adagrad:
      update::adagrad<float>(c, s, th + off, g + off, sl(0), n);
      break;
    case OptimizerKind::rmsprop: {
      int k = 1;
      float* mom = c.momentum != 0.0 ? sl(k++) : nullptr;
      float* gbar = c.centered ? sl(k++) : nullptr;
      update::rmsprop<float>(c, s, th + off, g + off, sl(0), mom, gbar, n);
      break;
    }
    case OptimizerKind::adam:
    case OptimizerKind::adamw:
      update::adam<float>(c, s, th + off, g + off, sl(0), sl(1), c.amsgrad ? sl(2) : nullptr, n);
      break;
    case OptimizerKind::adamax:
      update::adamax<float>(c, s, th + off, g + off, sl(0), sl(1), n);
      break;
    case OptimizerKind::nadam:
      update::nadam<float>(c, s, th + off, g + off, sl(0), sl(1), n);
      break;
  }
}

// CPU-seconds all CPUs spent busy since boot, and this process's own CPU-seconds: their
// difference over a section is how much other processes ran meanwhile (the machine may be shared).
double cpu_busy_seconds() {
  std::FILE* f = std::fopen("/proc/stat", "r");
  if (!f) return -1;
  unsigned long long v[8] = {0};
  int got = std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                        &v[4], &v[5], &v[6], &v[7]);
  std::fclose(f);
  if (got != 8) return -1;
  unsigned long long total = 0;
  for (auto x : v) total += x;
  return double(total - v[3] - v[4]) / double(sysconf(_SC_CLK_TCK));
}

double own_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + 1e-6 * double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  o.threads = {1, long(omp_get_max_threads())};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--sizes") o.sizes = parse_list(next());
    else if (a == "--threads") o.threads = parse_list(next());
    else if (a == "--min-ms") o.min_ms = std::atof(next());
    else if (a == "--trials") o.trials = std::atoi(next());
    else if (a == "--rules") {
      std::string s = next();
      size_t pos = 0;
      while (pos < s.size()) {
        size_t end = s.find(',', pos);
        if (end == std::string::npos) end = s.size();
        o.rules.push_back(s.substr(pos, end - pos));
        pos = end + 1;
      }
    } else {
      std::fprintf(stderr, "usage: %s [--sizes a,b] [--threads 1,2] [--min-ms ms] [--trials n] [--rules r,s]\n", argv[0]);
      return 2;
    }
  }
  o.threads.erase(std::unique(o.threads.begin(), o.threads.end()), o.threads.end());
  auto rules = all_rules();
  if (!o.rules.empty()) {
    std::vector<Rule> keep;
    for (auto& r : rules)
      if (std::find(o.rules.begin(), o.rules.end(), r.name) != o.rules.end()) keep.push_back(r);
    rules = keep;
  }
  const Index tile = 2048;  // floats per array per tile: θ, g and ≤ 3 slots (40 KB) stay in L1/L2

  std::printf("float32; GB/s = bytes a fused pass must move (θ r+w, g r, each slot r+w) / time per step;\n"
              "step = Optimizer<float>::step() as in training; tiled = same update:: functions on %ld-element tiles;\n"
              "best of %d trials of >= %.0f ms each\n\n",
              long(tile), o.trials, o.min_ms);
  for (long n : o.sizes) {
    std::mt19937 rng(42);
    std::normal_distribution<float> dist(0.f, 0.05f);
    std::vector<float> theta0(static_cast<std::size_t>(n)), grad(static_cast<std::size_t>(n));
    for (auto& v : theta0) v = dist(rng);
    for (auto& v : grad) v = dist(rng);
    std::vector<float> theta(theta0);
    for (long nt : o.threads) {
      const double busy0 = cpu_busy_seconds(), own0 = own_cpu_seconds();
      const auto wall0 = Clock::now();
      Stream st = measure_stream(n, int(nt), o);
      std::printf("## %ld parameters (%.1f MB per array), %ld thread%s\n\n"
                  "STREAM copy %.1f GB/s, triad %.1f GB/s, axpy (a += q·b) %.1f GB/s\n\n",
                  n, n * 4.0 / 1e6, nt, nt > 1 ? "s" : "", st.copy_gbs, st.triad_gbs, st.axpy_gbs);
      std::printf("| rule | arrays (min / as written) | step µs | step GB/s | %% of axpy | tiled µs | tiled GB/s | %% of axpy | step ÷ tiled |\n");
      std::printf("|:--|--:|--:|--:|--:|--:|--:|--:|--:|\n");
      set_num_threads(int(nt));
      for (const auto& r : rules) {
        std::copy(theta0.begin(), theta0.end(), theta.begin());
        bool trainable = true;
        Optimizer<float> opt(r.config);
        opt.bind({ParamSlot<float>{theta.data(), grad.data(), Index(n), &trainable}});
        double t_step = time_per_call([&] { opt.step(); }, o);

        // Tiled: own slot arrays, same layout; one pass over memory per step.
        const int ns = slots_for(r.config);
        std::vector<std::vector<float>> slot_store(std::size_t(ns), std::vector<float>(std::size_t(n),
            r.config.kind == OptimizerKind::adagrad ? 0.1f : 0.f));
        std::vector<float*> slots;
        for (auto& v : slot_store) slots.push_back(v.data());
        std::copy(theta0.begin(), theta0.end(), theta.begin());
        const StepScalars s = scalars_at(r.config, 10.0);
        float* th = theta.data();
        const float* g = grad.data();
        double t_tiled = time_per_call([&] {
          parallel_rows(Index(n), 1, [&](Index b, Index e) {
            for (Index k = b; k < e; k += tile) apply_range(r, s, th, g, slots, k, std::min(tile, e - k));
          });
        }, o);

        const double bytes = 4.0 * r.min_arrays * double(n);
        const double gs = bytes / t_step * 1e-9, gt = bytes / t_tiled * 1e-9;
        std::printf("| %s | %d / %d | %.0f | %.1f | %.0f | %.0f | %.1f | %.0f | %.2f |\n", r.name.c_str(),
                    r.min_arrays, r.eigen_arrays, t_step * 1e6, gs, 100 * gs / st.axpy_gbs,
                    t_tiled * 1e6, gt, 100 * gt / st.axpy_gbs, t_step / t_tiled);
        std::fflush(stdout);
      }
      const double wall = std::chrono::duration<double>(Clock::now() - wall0).count();
      const double other = (cpu_busy_seconds() - busy0) - (own_cpu_seconds() - own0);
      std::printf("\nOther processes kept %.1f CPUs busy during this table (0 = quiet machine).\n\n",
                  busy0 < 0 ? -1.0 : std::max(0.0, other) / wall);
    }
  }
  return 0;
}
