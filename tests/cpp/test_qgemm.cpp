// Tests of the int8 Dense kernel (kernels/qgemm.hpp) on every int8 path this CPU can run.
//
// - qdense_forward equals qdense_forward_ref (the scheme in scalar int64 code) bit for bit on
//   odd shapes (IN, OUT not multiples of 4/16/64; B up to 300), for each scheme (8-bit or 7-bit
//   activations, 8-bit or 7-bit weights), dynamic and static activation scales, ReLU or not,
//   with and without bias, padded leading dimensions; quantize_activations equals its reference.
// - Saturation: all-127 and all--128 weights against maximal activations (where vpmaddubsw
//   would saturate), and the largest inner dimension (65536) at the int32 limit.
// - Batch invariance: a row's output has the same bits for every batch size 1…300, every
//   position, any permutation, and any thread count.
// - The AVX-VNNI kernel runs here through its EVEX twin when the CPU has AVX512-VNNI only.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "densekit/kernels/qgemm.hpp"
#include "densekit/runtime/cpu_features.hpp"
#include "kernel_test_support.hpp"
#include "qgemm_isa.hpp"

namespace dk = densekit::kernels;
using dk::Index;

namespace densekit::kernels::avxvnni_evex_twin {
extern const detail::QgemmPath qgemm_path;
}

namespace {

using kernel_test::omp_run;

struct Rng {
  std::uint64_t s;
  explicit Rng(std::uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ULL + 7) {}
  std::uint64_t next() {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return s >> 11;
  }
  float uniform(float lo, float hi) { return lo + (hi - lo) * float(double(next()) / double(1ULL << 53)); }
  int below(int n) { return int(next() % std::uint64_t(n)); }
};

// Rows of mixed kinds: signed, non-negative (a ReLU's output), all zero, one huge value, tiny.
std::vector<float> activations(Index B, Index IN, Index ld, std::uint64_t seed) {
  Rng r(seed);
  std::vector<float> x(std::size_t(std::max<Index>(B * ld, 1)), -77.0f);  // padding must not matter
  for (Index i = 0; i < B; ++i) {
    const int kind = r.below(8);
    const float amp = std::pow(10.0f, r.uniform(-3, 3));
    for (Index k = 0; k < IN; ++k) {
      float v = r.uniform(-amp, amp);
      if (kind == 1 || kind == 2) v = std::max(v, 0.0f);
      if (kind == 3) v = 0;
      if (kind == 4 && k == IN / 2) v = 1e6f;
      if (kind == 5) v = r.uniform(-1e-30f, 1e-30f);
      if (kind == 6) v = std::max(v, 0.0f) + 0.5f * amp;  // strictly positive
      if (r.below(16) == 0) v = 0;
      x[std::size_t(i * ld + k)] = v;
    }
  }
  return x;
}

struct Layer {
  Index IN, OUT;
  std::vector<std::int8_t> wq;
  std::vector<float> scales, bias;
  dk::ActivationQuant act;
};

// A layer from random float weights through quantize_weights.
Layer random_layer(Index IN, Index OUT, int act_max, int weight_max, bool dynamic, std::uint64_t seed) {
  Rng r(seed);
  Layer L{IN, OUT, {}, {}, {}, {}};
  std::vector<float> w(static_cast<std::size_t>(IN * OUT));
  for (auto& v : w) v = r.uniform(-1, 1) * (r.below(4) == 0 ? 3.0f : 0.2f);
  if (OUT > 2)
    for (Index k = 0; k < IN; ++k) w[std::size_t(k * OUT + 1)] = 0;  // an all-zero column
  L.wq.resize(w.size());
  L.scales.resize(std::size_t(OUT));
  dk::quantize_weights(L.wq.data(), OUT, L.scales.data(), w.data(), OUT, IN, OUT, weight_max);
  L.bias.resize(std::size_t(OUT));
  for (auto& b : L.bias) b = r.uniform(-0.5f, 0.5f);
  L.act = dynamic ? dk::ActivationQuant{act_max, true, 0, 0, 0} : dk::static_activation_quant(-1.5f, 2.5f, act_max);
  return L;
}

std::vector<dk::Int8Path> runnable_int8_paths() {
  std::vector<dk::Int8Path> paths;
  for (int i = 0; i < dk::kInt8PathCount; ++i)
    if (dk::int8_path_supported(dk::Int8Path(i))) paths.push_back(dk::Int8Path(i));
  return paths;
}

bool have_evex_twin() {
  const auto& f = densekit::runtime::cpu_features();
  return dk::int8_path_supported(dk::Int8Path::avx512vnni) && f.avx512vl && f.avx512vnni;
}

// A kernel to test: a supported path through the public API, or the EVEX twin through its table.
struct Runner {
  std::string name;
  dk::Int8Path pack_path;
  const dk::detail::QgemmPath* twin;  // null: qdense_forward
};

std::vector<Runner> runners() {
  std::vector<Runner> out;
  for (dk::Int8Path p : runnable_int8_paths()) out.push_back({dk::int8_path_name(p), p, nullptr});
  if (have_evex_twin() && !dk::int8_path_supported(dk::Int8Path::avxvnni))
    out.push_back({"avxvnni(evex twin)", dk::Int8Path::avx512vnni, &dk::avxvnni_evex_twin::qgemm_path});
  return out;
}

void run(const Runner& r, float* z, Index ldz, const float* x, Index ldx, const dk::PackedInt8Weights& w, Index B,
         dk::Epilogue e, const dk::Threading& t = {}) {
  if (!r.twin) {
    dk::qdense_forward(z, ldz, x, ldx, w, B, e, t);
    return;
  }
  std::vector<unsigned char> ws(std::size_t(dk::detail::qgemm_workspace_bytes(w.groups())) + 64);
  void* aligned = ws.data() + (64 - reinterpret_cast<std::uintptr_t>(ws.data()) % 64) % 64;
  const dk::detail::QgemmProblem pr{B, x, ldx, z, ldz, w.in(), w.out(), 0, w.panels(), w.data(), w.groups(),
                                    w.column_sums(), w.scales(), w.bias(), w.activation(),
                                    e == dk::Epilogue::relu, false, aligned};
  if (B > 0 && w.out() > 0) r.twin->forward(pr);
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

Index first_difference(const std::vector<float>& a, const std::vector<float>& b) {
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(float))) return Index(i);
  return -1;
}

struct Scheme {
  int act_max, weight_max;
  bool dynamic;
};
const Scheme kSchemes[] = {{255, 127, true}, {127, 127, true}, {255, 63, true}, {255, 127, false}, {127, 63, false}};

void test_against_reference(const std::vector<Runner>& rs) {
  const Index ins[] = {1, 3, 4, 5, 17, 63, 64, 65, 100, 131, 300, 784};
  const Index outs[] = {1, 5, 10, 16, 17, 33, 100, 129, 300};
  const Index batches[] = {1, 2, 3, 5, 7, 8, 13, 65, 130, 300};
  int index = 0;
  for (Index IN : ins)
    for (Index OUT : outs)
      for (Index B : batches) {
        if (double(IN) * double(OUT) * double(B) > 4e6) continue;
        ++index;
        if (index % 3 != 0 && B > 13) continue;  // keep the run short: a third of the large batches
        const Scheme& s = kSchemes[index % 5];
        const Index pad = index % 3 == 0 ? 0 : index % 7;
        const Layer L = random_layer(IN, OUT, s.act_max, s.weight_max, s.dynamic, std::uint64_t(index));
        const bool with_bias = index % 4 != 1;
        const dk::Epilogue e = index % 2 ? dk::Epilogue::relu : dk::Epilogue::identity;
        const Index ldx = IN + pad, ldz = OUT + pad;
        const std::vector<float> x = activations(B, IN, ldx, std::uint64_t(index) + 1000);
        std::vector<float> want(std::size_t(B * ldz), -5.0f);
        dk::qdense_forward_ref(want.data(), ldz, x.data(), ldx, L.wq.data(), OUT, L.scales.data(),
                               with_bias ? L.bias.data() : nullptr, B, IN, OUT, L.act, e);
        for (const Runner& r : rs) {
          dk::PackedInt8Weights w;
          w.pack(L.wq.data(), OUT, L.scales.data(), with_bias ? L.bias.data() : nullptr, IN, OUT, L.act, r.pack_path);
          std::vector<float> got(want.size(), -5.0f);
          run(r, got.data(), ldz, x.data(), ldx, w, B, e);
          const Index at = first_difference(got, want);
          CHECK(at < 0, "%s B=%ld IN=%ld OUT=%ld act_max=%d weight_max=%d dynamic=%d pad=%ld: [%ld] %.9g vs %.9g",
                r.name.c_str(), long(B), long(IN), long(OUT), s.act_max, s.weight_max, int(s.dynamic), long(pad),
                long(at), at >= 0 ? got[std::size_t(at)] : 0.0, at >= 0 ? want[std::size_t(at)] : 0.0);
        }
      }
}

void test_quantize_activations() {
  const Index ins[] = {1, 7, 16, 17, 100, 784};
  int index = 0;
  for (Index IN : ins)
    for (const Scheme& s : kSchemes) {
      ++index;
      const Index B = 40, ldq = (IN + 3) / 4 * 4 + 4;
      const std::vector<float> x = activations(B, IN, IN, std::uint64_t(index) + 50);
      const dk::ActivationQuant act =
          s.dynamic ? dk::ActivationQuant{s.act_max, true, 0, 0, 0} : dk::static_activation_quant(-0.3f, 7.0f, s.act_max);
      std::vector<std::uint8_t> qr(std::size_t(B * ldq), 9);
      std::vector<float> sr(static_cast<std::size_t>(B));
      std::vector<std::int32_t> zr(static_cast<std::size_t>(B));
      dk::quantize_activations_ref(qr.data(), ldq, sr.data(), zr.data(), x.data(), IN, B, IN, act);
      // The scheme's invariants: q within range, zero maps to zp, dequantized within half a step.
      for (Index i = 0; i < B; ++i)
        for (Index k = 0; k < IN; ++k) {
          const float v = x[std::size_t(i * IN + k)];
          const int q = qr[std::size_t(i * ldq + k)];
          CHECK(q <= s.act_max, "q=%d > act_max=%d", q, s.act_max);
          if (v == 0) CHECK(q == zr[std::size_t(i)], "zero maps to %d, zp %d", q, zr[std::size_t(i)]);
          if (s.dynamic && sr[std::size_t(i)] > 0)
            CHECK(std::fabs(sr[std::size_t(i)] * float(q - zr[std::size_t(i)]) - v) <= 0.5001f * sr[std::size_t(i)] + 1e-30f,
                  "row %ld k %ld: %g dequantizes to %g (scale %g)", long(i), long(k), v,
                  sr[std::size_t(i)] * float(q - zr[std::size_t(i)]), sr[std::size_t(i)]);
        }
      for (dk::Int8Path p : runnable_int8_paths()) {
        std::vector<std::uint8_t> q(qr.size(), 9);
        std::vector<float> sc(sr.size());
        std::vector<std::int32_t> zp(zr.size());
        dk::quantize_activations(q.data(), ldq, sc.data(), zp.data(), x.data(), IN, B, IN, act, p);
        CHECK(q == qr && std::memcmp(sc.data(), sr.data(), sc.size() * 4) == 0 && zp == zr,
              "quantize_activations on %s, IN=%ld act_max=%d dynamic=%d", dk::int8_path_name(p), long(IN), s.act_max,
              int(s.dynamic));
      }
    }
}

void test_quantize_weights() {
  Rng r(3);
  const Index IN = 37, OUT = 21;
  std::vector<double> w(static_cast<std::size_t>(IN * OUT));
  for (auto& v : w) v = r.uniform(-2, 2);
  for (Index k = 0; k < IN; ++k) w[std::size_t(k * OUT + 4)] = 0;
  for (int wmax : {127, 63}) {
    std::vector<std::int8_t> q(w.size());
    std::vector<float> sc(static_cast<std::size_t>(OUT));
    dk::quantize_weights(q.data(), OUT, sc.data(), w.data(), OUT, IN, OUT, wmax);
    for (Index j = 0; j < OUT; ++j) {
      double amax = 0;
      for (Index k = 0; k < IN; ++k) amax = std::max(amax, std::fabs(w[std::size_t(k * OUT + j)]));
      CHECK(std::fabs(double(sc[std::size_t(j)]) - amax / wmax) <= 1e-6 * amax, "scale %g vs %g", sc[std::size_t(j)],
            amax / wmax);
      int qmax = 0;
      for (Index k = 0; k < IN; ++k) {
        const int qv = q[std::size_t(k * OUT + j)];
        qmax = std::max(qmax, std::abs(qv));
        const double err = std::fabs(double(sc[std::size_t(j)]) * qv - w[std::size_t(k * OUT + j)]);
        CHECK(err <= 0.5 * sc[std::size_t(j)] * (1 + 1e-5), "weight error %g > half a step %g", err,
              0.5 * sc[std::size_t(j)]);
      }
      CHECK(qmax == (amax > 0 ? wmax : 0), "column %ld: max |q| %d, want %d", long(j), qmax, amax > 0 ? wmax : 0);
    }
  }
  std::vector<float> bad(4, 0.0f);
  bad[2] = std::nanf("");
  std::vector<std::int8_t> q(4);
  std::vector<float> sc(2);
  bool threw = false;
  try {
    dk::quantize_weights(q.data(), 2, sc.data(), bad.data(), 2, 2, 2);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  CHECK(threw, "quantize_weights accepted a NaN weight");
}

// Hand-made int8 weights at the extremes, with activations that quantize to act_max.
void test_saturation(const std::vector<Runner>& rs) {
  for (int act_max : {255, 127})
    for (int wv : {127, -128, 0}) {
      for (Index IN : {Index(64), Index(781), Index(4096)}) {
        const Index OUT = 19, B = 3;
        std::vector<std::int8_t> wq(std::size_t(IN * OUT), std::int8_t(wv));
        if (wv == 0)  // alternating extremes: pairs of opposite sign
          for (Index k = 0; k < IN; ++k)
            for (Index j = 0; j < OUT; ++j) wq[std::size_t(k * OUT + j)] = std::int8_t((k + j) % 2 ? 127 : -128);
        std::vector<float> scales(std::size_t(OUT), 1e-3f), bias(std::size_t(OUT), 0.25f);
        std::vector<float> x(std::size_t(B * IN), 1.0f);  // all equal: every q is act_max
        for (Index k = 0; k < IN; k += 3) x[std::size_t(IN + k)] = -1.0f;  // row 1: zp in the middle
        const dk::ActivationQuant act{act_max, true, 0, 0, 0};
        std::vector<float> want(static_cast<std::size_t>(B * OUT));
        dk::qdense_forward_ref(want.data(), OUT, x.data(), IN, wq.data(), OUT, scales.data(), bias.data(), B, IN, OUT,
                               act, dk::Epilogue::identity);
        for (const Runner& r : rs) {
          dk::PackedInt8Weights w;
          w.pack(wq.data(), OUT, scales.data(), bias.data(), IN, OUT, act, r.pack_path);
          std::vector<float> got(want.size());
          run(r, got.data(), OUT, x.data(), IN, w, B, dk::Epilogue::identity);
          CHECK(same_bits(got, want), "%s saturation act_max=%d w=%d IN=%ld: %.9g vs %.9g", r.name.c_str(), act_max,
                wv, long(IN), got[0], want[0]);
        }
      }
    }
  // The int32 limit: IN = 65536, q = 255, w = -128: Σ = -2139095040.
  const Index IN = dk::kInt8MaxInner, OUT = 3;
  std::vector<std::int8_t> wq(std::size_t(IN * OUT), std::int8_t(-128));
  std::vector<float> scales(std::size_t(OUT), 1.0f), x(std::size_t(IN), 3.0f);
  const dk::ActivationQuant act{255, true, 0, 0, 0};
  std::vector<float> want(static_cast<std::size_t>(OUT));
  dk::qdense_forward_ref(want.data(), OUT, x.data(), IN, wq.data(), OUT, scales.data(), nullptr, 1, IN, OUT, act,
                         dk::Epilogue::identity);
  for (const Runner& r : rs) {
    dk::PackedInt8Weights w;
    w.pack(wq.data(), OUT, scales.data(), nullptr, IN, OUT, act, r.pack_path);
    std::vector<float> got(static_cast<std::size_t>(OUT));
    run(r, got.data(), OUT, x.data(), IN, w, 1, dk::Epilogue::identity);
    CHECK(same_bits(got, want), "%s at IN=65536: %.9g vs %.9g", r.name.c_str(), got[0], want[0]);
  }
  bool threw = false;
  try {
    dk::PackedInt8Weights w;
    w.pack(wq.data(), 1, scales.data(), nullptr, IN + 1, 1, act);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  CHECK(threw, "pack accepted IN = 65537");
  threw = false;
  try {
    dk::PackedInt8Weights w;
    w.pack(wq.data(), OUT, scales.data(), nullptr, 8, OUT, dk::ActivationQuant{200, true, 0, 0, 0});
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  CHECK(threw, "pack accepted act_max = 200");
}

// Every batch size, position, permutation and thread count gives a row the same bits.
void test_batch_invariance(const std::vector<Runner>& rs) {
  struct Shape {
    Index IN, OUT;
    int step;  // batch sizes past 20: every step-th up to 300
  };
  const Shape shapes[] = {{100, 37, 1}, {784, 300, 23}, {300, 100, 7}};
  int index = 0;
  for (const Shape& sh : shapes)
    for (const Scheme& s : {kSchemes[0], kSchemes[1]}) {
      ++index;
      const Index N = 300;
      const Layer L = random_layer(sh.IN, sh.OUT, s.act_max, s.weight_max, true, std::uint64_t(100 + index));
      const std::vector<float> x = activations(N, sh.IN, sh.IN, std::uint64_t(200 + index));
      for (const Runner& r : rs) {
        dk::PackedInt8Weights w;
        w.pack(L.wq.data(), sh.OUT, L.scales.data(), L.bias.data(), sh.IN, sh.OUT, L.act, r.pack_path);
        const std::string what = r.name + " " + std::to_string(sh.IN) + "x" + std::to_string(sh.OUT);
        kernel_test::check_batch_invariance(
            what.c_str(),
            [&](float* z, const float* xs, Index B, const dk::Threading& t) {
              run(r, z, sh.OUT, xs, sh.IN, w, B, dk::Epilogue::relu, t);
            },
            x, sh.IN, sh.OUT, N, sh.step);
      }
    }
}

}  // namespace

int main() {
  const std::vector<Runner> rs = runners();
  std::printf("cpu %s; int8 paths:", densekit::runtime::cpu_model_name());
  for (const Runner& r : rs) std::printf(" %s", r.name.c_str());
  std::printf("; active %s\n", dk::int8_path_name(dk::active_int8_path()));
  test_quantize_weights();
  test_quantize_activations();
  test_against_reference(rs);
  test_saturation(rs);
  test_batch_invariance(rs);
  return kernel_test::report();
}
