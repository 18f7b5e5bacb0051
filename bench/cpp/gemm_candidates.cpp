// Which matrix-product engine densekit should use: every candidate at the workloads' shapes.
//
// Candidates (each only if it was found at build time; see bench/gemm_candidates.sh):
//   eigen      Eigen 3.4 as densekit trains today: parallel.hpp's gemm() (per-thread Eigen
//              products on column/row panels, no allocation)
//   openblas   cblas_sgemm from the scipy-openblas32 wheel (NumPy's BLAS; DYNAMIC_ARCH)
//   onednn     oneDNN matmul, primitives created once per shape and cached; inference weights
//              reordered once to the layout oneDNN prefers (format_tag::any)
//   libxsmm    JIT small-matrix kernels (Debian's libxsmm); 2 threads split the output columns
//   engine-*   densekit's kernel layer (kernels/gemm_engine.hpp) on each ISA path this CPU runs;
//              inference on pre-packed weights (gemm_packed)
// For each workload product (bench/cpp/gemm_shapes.hpp) and 1 and 2 threads: the median of many
// timed repetitions in GFLOP/s, every result checked against a naive product first. Then each
// workload's rate (Σ flops / Σ time, hidden layers weighted by their count) and the machine's
// peak: the best 4096² product rate among the candidates. Prints Markdown. One-thread rates use
// the process's CPU time, two-thread rates wall time (see gemm_bench_common.hpp).
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "densekit/kernels/gemm_engine.hpp"
#include "densekit/runtime/cpu_features.hpp"
#include "gemm_bench_common.hpp"

#ifdef DENSEKIT_HAVE_OPENBLAS
#include <cblas.h>
#endif
#ifdef DENSEKIT_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
#endif
#ifdef DENSEKIT_HAVE_LIBXSMM
#include <libxsmm.h>
#endif

using namespace densekit_bench;
namespace dk = densekit::kernels;

namespace {

// A candidate prepares a callable for (product, buffers, threads, inference) or says it can't.
using Call = std::function<void()>;
struct Candidate {
  std::string name;
  std::function<Call(const Product&, Operands&, int threads, bool inference)> prepare;
};

// ---- eigen (densekit today) ----
Candidate eigen_candidate() {
  return {"eigen", [](const Product& p, Operands& b, int threads, bool) -> Call {
            densekit::set_num_threads(threads);
            return eigen_call(p, b);
          }};
}

// ---- densekit's engine on one ISA path ----
Candidate engine_candidate(dk::Isa isa) {
  auto packed = std::make_shared<dk::PackedWeights<float>>();
  return {std::string("engine-") + dk::isa_name(isa),
          [isa, packed](const Product& p, Operands& b, int threads, bool inference) -> Call {
            dk::set_active_isa(isa);
            omp_set_num_threads(threads);
            const dk::Threading t{2, &omp_run};  // parts: the machine's 2 cores, whatever `threads`
            float* out = b.out.data();
            if (inference) {
              packed->pack(b.w.data(), p.OUT, p.IN, p.OUT, isa);
              return [&p, &b, out, t, packed] {
                dk::gemm_packed(out, p.OUT, b.x.data(), p.IN, *packed, (const float*)nullptr, p.B, t);
              };
            }
            if (p.op == Op::forward)
              return [&p, &b, out, t, isa] {
                dk::set_active_isa(isa);
                dk::gemm_forward(out, p.OUT, b.x.data(), p.IN, b.w.data(), p.OUT, (const float*)nullptr, p.B, p.IN,
                                 p.OUT, false, t);
              };
            if (p.op == Op::weight_grad)
              return [&p, &b, out, t] {
                dk::gemm_weight_grad(out, p.OUT, b.x.data(), p.IN, b.dz.data(), p.OUT, p.B, p.IN, p.OUT, false, t);
              };
            return [&p, &b, out, t] {
              dk::gemm_input_grad(out, p.IN, b.dz.data(), p.OUT, b.w.data(), p.OUT, p.B, p.IN, p.OUT, false, t);
            };
          }};
}

#ifdef DENSEKIT_HAVE_OPENBLAS
Candidate openblas_candidate() {
  return {"openblas", [](const Product& p, Operands& b, int threads, bool) -> Call {
            scipy_openblas_set_num_threads(threads);
            float* out = b.out.data();
            const int B = int(p.B), IN = int(p.IN), OUT = int(p.OUT);
            if (p.op == Op::forward)
              return [=, &b] {
                scipy_cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, OUT, IN, 1.0f, b.x.data(), IN,
                                  b.w.data(), OUT, 0.0f, out, OUT);
              };
            if (p.op == Op::weight_grad)
              return [=, &b] {
                scipy_cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, IN, OUT, B, 1.0f, b.x.data(), IN,
                                  b.dz.data(), OUT, 0.0f, out, OUT);
              };
            return [=, &b] {
              scipy_cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, IN, OUT, 1.0f, b.dz.data(), OUT,
                                b.w.data(), OUT, 0.0f, out, IN);
            };
          }};
}
#endif

#ifdef DENSEKIT_HAVE_ONEDNN
Candidate onednn_candidate() {
  struct State {
    dnnl::engine engine{dnnl::engine::kind::cpu, 0};
    dnnl::stream stream{engine};
  };
  auto state = std::make_shared<State>();
  return {"onednn", [state](const Product& p, Operands& b, int threads, bool inference) -> Call {
            using dnnl::memory;
            omp_set_num_threads(threads);
            const memory::dim B = p.B, IN = p.IN, OUT = p.OUT;
            auto md = [](memory::dims dims, memory::dims strides) {
              return memory::desc(dims, memory::data_type::f32, strides);
            };
            memory::desc src, wei, dst;
            float *src_ptr, *wei_ptr;
            if (p.op == Op::forward) {
              src = md({B, IN}, {IN, 1}), wei = md({IN, OUT}, {OUT, 1}), dst = md({B, OUT}, {OUT, 1});
              src_ptr = b.x.data(), wei_ptr = b.w.data();
            } else if (p.op == Op::weight_grad) {  // xᵀ (IN,B)·dz (B,OUT)
              src = md({IN, B}, {1, IN}), wei = md({B, OUT}, {OUT, 1}), dst = md({IN, OUT}, {OUT, 1});
              src_ptr = b.x.data(), wei_ptr = b.dz.data();
            } else {  // dz (B,OUT)·wᵀ (OUT,IN)
              src = md({B, OUT}, {OUT, 1}), wei = md({OUT, IN}, {1, OUT}), dst = md({B, IN}, {IN, 1});
              src_ptr = b.dz.data(), wei_ptr = b.w.data();
            }
            memory::desc wei_any = inference ? memory::desc({IN, OUT}, memory::data_type::f32, memory::format_tag::any) : wei;
            auto pd = dnnl::matmul::primitive_desc(state->engine, src, wei_any, dst);
            auto prim = std::make_shared<dnnl::matmul>(pd);
            memory src_m(src, state->engine, src_ptr), dst_m(dst, state->engine, b.out.data());
            memory wei_m(wei, state->engine, wei_ptr);
            if (inference && pd.weights_desc() != wei) {  // reordered once, as a serving user would
              memory packed(pd.weights_desc(), state->engine);
              dnnl::reorder(wei_m, packed).execute(state->stream, wei_m, packed);
              state->stream.wait();
              wei_m = packed;
            }
            return [state, prim, src_m, wei_m, dst_m] {
              prim->execute(state->stream, {{DNNL_ARG_SRC, src_m}, {DNNL_ARG_WEIGHTS, wei_m}, {DNNL_ARG_DST, dst_m}});
              state->stream.wait();
            };
          }};
}
#endif

#ifdef DENSEKIT_HAVE_LIBXSMM
// Column-major kernels on our row-major data: C' = A'·B' with C' = outᵀ.
Candidate libxsmm_candidate() {
  return {"libxsmm", [](const Product& p, Operands& b, int threads, bool) -> Call {
            const libxsmm_blasint B = p.B, IN = p.IN, OUT = p.OUT;
            libxsmm_blasint m, n, k, lda, ldb, ldc;
            int flags = 0;
            const float *A, *Bm;
            libxsmm_blasint b_col_stride;  // elements between columns n of B'
            if (p.op == Op::forward) {  // zᵀ (OUT,B) = wᵀ (OUT,IN)·xᵀ (IN,B)
              m = OUT, n = B, k = IN, lda = OUT, ldb = IN, ldc = OUT, A = b.w.data(), Bm = b.x.data(), b_col_stride = IN;
            } else if (p.op == Op::weight_grad) {  // dwᵀ (OUT,IN) = dzᵀ (OUT,B)·x (B,IN)
              m = OUT, n = IN, k = B, lda = OUT, ldb = IN, ldc = OUT, A = b.dz.data(), Bm = b.x.data(), b_col_stride = 1;
              flags = LIBXSMM_GEMM_FLAG_TRANS_B;
            } else {  // dxᵀ (IN,B) = w (IN,OUT)·dzᵀ (OUT,B)
              m = IN, n = B, k = OUT, lda = OUT, ldb = OUT, ldc = IN, A = b.w.data(), Bm = b.dz.data(), b_col_stride = OUT;
              flags = LIBXSMM_GEMM_FLAG_TRANS_A;
            }
            const float alpha = 1.0f, beta = 0.0f;
            const int parts = threads > 1 && n >= 2 ? 2 : 1;
            std::vector<libxsmm_smmfunction> kernels;
            std::vector<libxsmm_blasint> starts;
            for (int t = 0; t < parts; ++t) {
              const libxsmm_blasint n0 = n * t / parts, n1 = n * (t + 1) / parts;
              libxsmm_smmfunction f = libxsmm_smmdispatch(m, n1 - n0, k, &lda, &ldb, &ldc, &alpha, &beta, &flags, nullptr);
              if (!f) return nullptr;
              kernels.push_back(f);
              starts.push_back(n0);
            }
            float* out = b.out.data();
            return [=] {
#pragma omp parallel for num_threads(parts)
              for (int t = 0; t < parts; ++t)
                kernels[t](A, Bm + starts[t] * b_col_stride, out + starts[t] * ldc);
            };
          }};
}
#endif

}  // namespace

int main(int argc, char** argv) {
  use_densekit_openmp_waits(argv);
  int samples = 9;
  double target = 0.01;
  bool quick = false, peak_only = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) {
      quick = true, samples = 5, target = 0.004;
    } else if (!std::strcmp(argv[i], "--peak-only")) {
      peak_only = true;
    } else {
      std::fprintf(stderr, "usage: gemm_candidates [--quick | --peak-only]\n");
      return 2;
    }
  }
  std::vector<Candidate> candidates = {eigen_candidate()};
#ifdef DENSEKIT_HAVE_OPENBLAS
  candidates.push_back(openblas_candidate());
#endif
#ifdef DENSEKIT_HAVE_ONEDNN
  candidates.push_back(onednn_candidate());
#endif
#ifdef DENSEKIT_HAVE_LIBXSMM
  libxsmm_init();
  candidates.push_back(libxsmm_candidate());
#endif
  for (int i = dk::kIsaCount - 1; i >= 0; --i)
    if (dk::isa_supported(dk::Isa(i))) candidates.push_back(engine_candidate(dk::Isa(i)));

  const auto& f = densekit::runtime::cpu_features();
  std::printf("CPU: %s; avx2 %d fma %d avx512f %d avx512bw %d avx512vl %d avx512vnni %d avxvnni %d avx512bf16 %d\n",
              densekit::runtime::cpu_model_name(), f.avx2, f.fma, f.avx512f, f.avx512bw, f.avx512vl,
              f.avx512vnni, f.avxvnni, f.avx512bf16);
  std::printf("load average at start: %s; float32; median of %d samples of >= %.0f ms; GFLOP/s;\n"
              "1 thread: process CPU time (robust to other jobs on the machine), 2 threads: wall time\n\n",
              load_average().c_str(), samples, target * 1e3);

  // Header: candidate × threads.
  std::printf("| workload | product | M×N×K |");
  for (const auto& c : candidates) std::printf(" %s 1t | %s 2t |", c.name.c_str(), c.name.c_str());
  std::printf("\n|---|---|---|");
  for (std::size_t i = 0; i < candidates.size(); ++i) std::printf("---|---|");
  std::printf("\n");

  struct Total { double flops = 0, seconds = 0; bool complete = true; };
  std::map<std::string, std::vector<Total>> totals;  // workload -> per (candidate, threads)
  std::vector<std::string> order;
  for (const Workload& wl : workloads()) {
    if (peak_only) break;
    order.push_back(wl.name);
    auto& tot = totals[wl.name];
    tot.assign(candidates.size() * 2, Total{});
    for (const Product& p : wl.products) {
      Operands buffers(p);
      const std::vector<float> want = reference(p, buffers);
      const std::size_t n = output_size(p);
      std::printf("| %s | %s%s | %s |", wl.name.c_str(), op_name(p.op),
                  p.repeat > 1 ? (" ×" + std::to_string(p.repeat)).c_str() : "", p.mnk().c_str());
      for (std::size_t c = 0; c < candidates.size(); ++c)
        for (int threads = 1; threads <= 2; ++threads) {
          Total& t = tot[c * 2 + std::size_t(threads - 1)];
          Call call = candidates[c].prepare(p, buffers, threads, wl.inference);
          if (!call) {
            std::printf(" n/a |");
            t.complete = false;
            continue;
          }
          std::fill(buffers.out.begin(), buffers.out.end(), 0.0f);
          call();
          if (!close_to(buffers.out, want, n)) {
            std::printf(" WRONG |");
            t.complete = false;
            continue;
          }
          const double s = time_call(call, p.B == 1 ? samples * 3 : samples, target, threads == 1 ? Clock::cpu : Clock::wall);
          t.flops += p.flops() * p.repeat;
          t.seconds += s * p.repeat;
          std::printf(" %.1f |", p.flops() / s * 1e-9);
          std::fflush(stdout);
        }
      std::printf("\n");
    }
  }
  std::printf("\nPer workload (Σ flops / Σ time of its products; hidden layers weighted by count):\n\n");
  std::printf("| workload |");
  for (const auto& c : candidates) std::printf(" %s 1t | %s 2t |", c.name.c_str(), c.name.c_str());
  std::printf("\n|---|");
  for (std::size_t i = 0; i < candidates.size(); ++i) std::printf("---|---|");
  std::printf("\n");
  for (const std::string& name : order) {
    std::printf("| %s |", name.c_str());
    for (const Total& t : totals[name])
      if (t.complete && t.seconds > 0)
        std::printf(" %.1f |", t.flops / t.seconds * 1e-9);
      else
        std::printf(" n/a |");
    std::printf("\n");
  }

  // Batch invariance as a user sees it: W1's first layer forward (inference weights), rows of a
  // 256-row batch against the same rows predicted one at a time and as a 7-row batch.
  if (!peak_only) {
    const Product full{Op::forward, 256, 784, 300, 1};
    std::printf("\nBatch invariance, 784→300 forward, 1 thread: rows of a 256-row batch that differ in any bit "
                "when computed in a batch of 1 or 7:\n\n| candidate | rows differing |\n|---|---|\n");
    for (auto& c : candidates) {
      Operands all(full);
      Call call = c.prepare(full, all, 1, true);
      if (!call) continue;
      call();
      const std::vector<float> whole(all.out.begin(), all.out.begin() + 256 * 300);
      int differing = 0, checked = 0;
      for (long b : {1L, 7L}) {
        const Product part{Op::forward, b, 784, 300, 1};
        for (long first = 0; first + b <= 256; first += b == 1 ? 51 : 49) {
          Operands some(part);
          std::copy_n(all.x.begin() + first * 784, b * 784, some.x.begin());
          some.w = all.w;
          Call one = c.prepare(part, some, 1, true);
          one();
          for (long r = 0; r < b; ++r, ++checked)
            differing += std::memcmp(&some.out[std::size_t(r * 300)], &whole[std::size_t((first + r) * 300)],
                                     300 * sizeof(float)) != 0;
        }
      }
      std::printf("| %s | %d of %d |\n", c.name.c_str(), differing, checked);
    }
  }

  // The machine's peak: 4096² products; one thread in CPU time (robust on a busy machine; the
  // 2-core figure is twice that) and two threads in wall time.
  if (!quick) {
    const Product big{Op::forward, 4096, 4096, 4096, 1};
    Operands operands(big);
    std::printf("\nPeak, 4096×4096×4096 float32 (load %s), GFLOP/s:\n\n", load_average().c_str());
    std::printf("| candidate | 1 thread (CPU time) | ×2 cores | 2 threads (wall) |\n|---|---|---|---|\n");
    double best1 = 0, best2 = 0;
    std::string who1, who2;
    for (auto& c : candidates) {
      if (c.name == "libxsmm" || c.name == "engine-portable") continue;  // not made for this
      double rate[2] = {0, 0};
      for (int threads = 1; threads <= 2; ++threads) {
        Call call = c.prepare(big, operands, threads, false);
        if (!call) continue;
        const double s = time_call(call, 3, 0.5, threads == 1 ? Clock::cpu : Clock::wall);
        rate[threads - 1] = big.flops() / s * 1e-9;
      }
      std::printf("| %s | %.1f | %.1f | %.1f |\n", c.name.c_str(), rate[0], 2 * rate[0], rate[1]);
      std::fflush(stdout);
      if (rate[0] > best1) best1 = rate[0], who1 = c.name;
      if (rate[1] > best2) best2 = rate[1], who2 = c.name;
    }
    std::printf("\nPEAK per core %.1f GFLOP/s (%s; 2 cores: %.1f); 2 threads measured %.1f (%s)\n", best1,
                who1.c_str(), 2 * best1, best2, who2.c_str());
  }
  std::printf("load average at end: %s\n", load_average().c_str());
  return 0;
}
