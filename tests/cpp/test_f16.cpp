// Tests of the float16 conversions and the forward on fp16 weights (kernels/f16.hpp).
//
// - f16 → f32: every one of the 65536 halves against a formula (sign·2^(e-15)·(1 + m/1024),
//   subnormals m·2^-24, inf, quiet NaN), on the scalar converter and every path's bulk one.
// - f32 → f16: every finite half's value, the midpoints to its neighbours and one float either
//   side of them, the overflow threshold, subnormal boundaries and random bit patterns, against
//   the nearest half chosen in double (ties to the even mantissa), on every path (F16C where
//   present). `test_f16 --dump FILE` writes these cases for check_f16_against_numpy.py.
// - f16_gemm, both strategies, equals gemm_packed on the converted float32 weights bit for bit,
//   and is batch-invariant (batch sizes 1…300, positions, thread count).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "densekit/kernels/f16.hpp"
#include "densekit/runtime/cpu_features.hpp"
#include "kernel_test_support.hpp"

namespace dk = densekit::kernels;
using dk::Index;

namespace {

using kernel_test::omp_run;
using kernel_test::random_floats;
using kernel_test::runnable_paths;

std::uint32_t bits_of(float f) {
  std::uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}
float float_of(std::uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

// The value of a half by the IEEE formula, in double.
double half_value(std::uint16_t h) {
  const int sign = h >> 15 ? -1 : 1, e = (h >> 10) & 31, m = h & 1023;
  if (e == 0) return sign * std::ldexp(double(m), -24);
  if (e == 31) return m ? NAN : sign * INFINITY;
  return sign * std::ldexp(1.0 + m / 1024.0, e - 15);
}

void test_f16_to_f32(const std::vector<dk::Isa>& paths) {
  std::vector<std::uint16_t> all(65536);
  for (std::uint32_t h = 0; h < 65536; ++h) all[h] = std::uint16_t(h);
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const float got = dk::f16_to_f32(std::uint16_t(h));
    const double want = half_value(std::uint16_t(h));
    if (std::isnan(want))
      CHECK(std::isnan(got) && (bits_of(got) & 0x00400000u) && ((bits_of(got) >> 13) & 0x1ffu) == (h & 0x1ffu) &&
                (bits_of(got) >> 31) == (h >> 15),
            "half %04x -> %08x (quiet NaN with the payload expected)", h, bits_of(got));
    else
      CHECK(double(got) == want && std::signbit(got) == bool(h >> 15), "half %04x -> %.9g, want %.9g", h, got, want);
  }
  for (dk::Isa isa : paths) {
    dk::set_active_isa(isa);
    std::vector<float> bulk(all.size());
    dk::f16_to_f32(bulk.data(), all.data(), Index(all.size()));
    int bad = 0;
    for (std::uint32_t h = 0; h < 65536; ++h) bad += bits_of(bulk[h]) != bits_of(dk::f16_to_f32(std::uint16_t(h)));
    CHECK(bad == 0, "bulk f16->f32 on %s: %d of 65536 halves differ from the scalar converter", dk::isa_name(isa), bad);
  }
}

// The nearest half to x (ties to the even mantissa), found in double among all 63488 finite
// halves of x's sign by bisection on the monotone half values; ±inf past 65520.
std::uint16_t nearest_half(float x) {
  if (std::isnan(x)) return std::uint16_t(((bits_of(x) >> 16) & 0x8000u) | 0x7e00u | ((bits_of(x) >> 13) & 0x3ffu));
  const std::uint16_t sign = std::signbit(x) ? 0x8000 : 0;
  const double a = std::fabs(double(x));
  if (a >= 65520.0) return std::uint16_t(sign | 0x7c00);
  std::uint32_t lo = 0, hi = 0x7bff;  // largest half with value <= a
  while (lo < hi) {
    const std::uint32_t mid = (lo + hi + 1) / 2;
    if (half_value(std::uint16_t(mid)) <= a) lo = mid;
    else hi = mid - 1;
  }
  std::uint32_t best = lo;
  if (lo < 0x7bff || a > half_value(0x7bff)) {
    const double below = a - half_value(std::uint16_t(lo)), above = half_value(std::uint16_t(lo + 1)) - a;
    if (above < below || (above == below && (lo & 1))) best = lo + 1;
  }
  return std::uint16_t(sign | best);
}

std::vector<float> rounding_cases() {
  std::vector<float> cases;
  for (std::uint32_t h = 0; h < 0x7c00; ++h)
    for (std::uint16_t s : {std::uint16_t(0), std::uint16_t(0x8000)}) {
      const float v = float(half_value(std::uint16_t(h | s)));
      cases.push_back(v);
      const float next = float(half_value(std::uint16_t((h + 1) | s)));  // 0x7c00: inf
      const float mid = h + 1 < 0x7c00 ? float((double(v) + double(next)) / 2) : (s ? -65520.0f : 65520.0f);
      cases.push_back(mid);
      cases.push_back(std::nextafter(mid, 0.0f));
      cases.push_back(std::nextafter(mid, s ? -INFINITY : INFINITY));
      cases.push_back(std::nextafter(v, s ? -INFINITY : INFINITY));
    }
  for (float f : {0.0f, -0.0f, INFINITY, -INFINITY, 1e30f, -1e30f, 3.4e38f, 1e-45f, -1e-45f, 1e-40f, 5.9604645e-8f,
                  2.9802322e-8f, 2.9802326e-8f, 6.1035156e-5f, 6.1035152e-5f, 65504.0f, 65519.996f, 65520.0f})
    cases.push_back(f);
  std::uint64_t s = 12345;
  for (int i = 0; i < 200000; ++i) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    cases.push_back(float_of(std::uint32_t(s >> 32)));  // any bit pattern, NaNs included
  }
  return cases;
}

void test_f32_to_f16(const std::vector<dk::Isa>& paths, const std::vector<float>& cases) {
  int bad = 0;
  for (float x : cases) {
    const std::uint16_t got = dk::f32_to_f16(x), want = nearest_half(x);
    if (got != want && ++bad <= 5) std::printf("  f32 %08x (%.9g) -> %04x, want %04x\n", bits_of(x), x, got, want);
  }
  CHECK(bad == 0, "scalar f32->f16: %d of %zu cases wrong", bad, cases.size());
  for (dk::Isa isa : paths) {
    dk::set_active_isa(isa);
    std::vector<std::uint16_t> bulk(cases.size());
    dk::f32_to_f16(bulk.data(), cases.data(), Index(cases.size()));
    bad = 0;
    for (std::size_t i = 0; i < cases.size(); ++i) bad += bulk[i] != dk::f32_to_f16(cases[i]);
    CHECK(bad == 0, "bulk f32->f16 on %s: %d of %zu cases differ from the scalar converter", dk::isa_name(isa), bad,
          cases.size());
  }
}

void test_gemm(const std::vector<dk::Isa>& paths) {
  const Index ins[] = {1, 5, 17, 100, 300, 784};
  const Index outs[] = {1, 7, 16, 31, 33, 100, 300};
  const Index batches[] = {1, 2, 3, 5, 8, 9, 64, 257};
  int index = 0;
  for (Index IN : ins)
    for (Index OUT : outs)
      for (Index B : batches) {
        if (double(IN) * OUT * B > 3e6) continue;
        ++index;
        const Index pad = index % 3, ldx = IN + pad, ldz = OUT + pad;
        const std::vector<float> w32 = random_floats(std::size_t(IN * OUT), std::uint64_t(index), 2.0f);
        std::vector<std::uint16_t> w16(w32.size());
        for (std::size_t i = 0; i < w32.size(); ++i) w16[i] = dk::f32_to_f16(w32[i]);
        std::vector<float> wr(w32.size());  // the weights the fp16 model computes with
        for (std::size_t i = 0; i < w16.size(); ++i) wr[i] = dk::f16_to_f32(w16[i]);
        const std::vector<float> x = random_floats(std::size_t(B * ldx), std::uint64_t(index) + 99, 1.0f);
        const std::vector<float> bias = random_floats(std::size_t(OUT), std::uint64_t(index) + 7, 0.5f);
        const float* b = index % 4 ? bias.data() : nullptr;
        for (dk::Isa isa : paths) {
          dk::PackedWeights<float> p32;
          p32.pack(wr.data(), OUT, IN, OUT, isa);
          std::vector<float> want(std::size_t(B * ldz), -3.0f);
          dk::gemm_packed(want.data(), ldz, x.data(), ldx, p32, b, B);
          dk::PackedF16Weights p16;
          p16.pack(w16.data(), OUT, IN, OUT, isa);
          for (dk::F16Strategy st : {dk::F16Strategy::direct, dk::F16Strategy::convert_panels}) {
            std::vector<float> got(want.size(), -3.0f);
            dk::f16_gemm(got.data(), ldz, x.data(), ldx, p16, b, B, st);
            CHECK(std::memcmp(got.data(), want.data(), got.size() * 4) == 0,
                  "f16_gemm %s strategy %d B=%ld IN=%ld OUT=%ld differs from gemm_packed on the converted weights",
                  dk::isa_name(isa), int(st), long(B), long(IN), long(OUT));
          }
        }
      }
}

void test_batch_invariance(const std::vector<dk::Isa>& paths) {
  const Index IN = 300, OUT = 100, N = 300;
  const std::vector<float> w32 = random_floats(std::size_t(IN * OUT), 5, 1.0f);
  std::vector<std::uint16_t> w16(w32.size());
  dk::f32_to_f16(w16.data(), w32.data(), Index(w32.size()));
  const std::vector<float> x = random_floats(std::size_t(N * IN), 6, 1.0f);
  const std::vector<float> bias = random_floats(std::size_t(OUT), 8, 0.5f);
  for (dk::Isa isa : paths) {
    dk::PackedF16Weights p16;
    p16.pack(w16.data(), OUT, IN, OUT, isa);
    const std::string what = std::string("f16_gemm on ") + dk::isa_name(isa);
    kernel_test::check_batch_invariance(
        what.c_str(),
        [&](float* z, const float* xs, Index B, const dk::Threading& t) {
          dk::f16_gemm(z, OUT, xs, IN, p16, bias.data(), B, t);
        },
        x, IN, OUT, N, 13);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<float> cases = rounding_cases();
  if (argc == 3 && !std::strcmp(argv[1], "--dump")) {
    // Lines "f32bits f16bits" (hex) for check_f16_against_numpy.py, then every half's "f16bits f32bits".
    std::FILE* out = std::fopen(argv[2], "w");
    if (!out) return 2;
    for (float x : cases) std::fprintf(out, "f %08x %04x\n", bits_of(x), dk::f32_to_f16(x));
    for (std::uint32_t h = 0; h < 65536; ++h) std::fprintf(out, "h %04x %08x\n", h, bits_of(dk::f16_to_f32(std::uint16_t(h))));
    return std::fclose(out) == 0 ? 0 : 2;
  }
  const std::vector<dk::Isa> paths = runnable_paths();
  std::printf("cpu %s; f16c %d\n", densekit::runtime::cpu_model_name(), int(densekit::runtime::cpu_features().f16c));
  test_f16_to_f32(paths);
  test_f32_to_f16(paths, cases);
  test_gemm(paths);
  test_batch_invariance(paths);
  return kernel_test::report();
}
