// float16 weights: the scalar conversions, packing, and the forward's two strategies (convert
// in registers; convert a panel at a time and run the fp32 engine's micro-kernel), split
// between threads. Baseline code only; the vector kernels live in compressed_<isa>.cpp.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>

#include "compressed_isa.hpp"
#include "densekit/kernels/f16.hpp"
#include "densekit/runtime/cpu_features.hpp"
#include "gemm_isa.hpp"
#include "kernel_support.hpp"

namespace densekit {
namespace kernels {

namespace detail {

std::uint16_t f32_to_f16_scalar(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, 4);
  const std::uint32_t sign = (bits >> 16) & 0x8000u;
  const std::uint32_t mag = bits & 0x7fffffffu;
  if (mag > 0x7f800000u) return std::uint16_t(sign | 0x7e00u | ((mag >> 13) & 0x3ffu));  // quiet NaN
  if (mag >= 0x477ff000u) return std::uint16_t(sign | 0x7c00u);  // ≥ 65520 (incl. inf): ±inf
  if (mag >= 0x38800000u) {  // a normal half: rebias the exponent, round the 13 dropped bits
    const std::uint32_t kept = (mag - 0x38000000u) >> 13, dropped = mag & 0x1fffu;
    const std::uint32_t up = dropped > 0x1000u || (dropped == 0x1000u && (kept & 1u));
    return std::uint16_t(sign | (kept + up));  // a carry moves into the exponent, as it should
  }
  if (mag < 0x33000000u) return std::uint16_t(sign);  // < 2^-25: rounds to ±0
  // A subnormal half: value = m·2^(e-150), in units of 2^-24 that is m >> (126 - e).
  const std::uint32_t e = mag >> 23, m = (mag & 0x7fffffu) | 0x800000u, shift = 126 - e;
  const std::uint32_t kept = m >> shift, dropped = m & ((1u << shift) - 1u), half = 1u << (shift - 1);
  const std::uint32_t up = dropped > half || (dropped == half && (kept & 1u));
  return std::uint16_t(sign | (kept + up));
}

const CompressedPath& compressed_path_for(Isa isa) {
  switch (isa) {
#if defined(__x86_64__) || defined(__i386__)
    case Isa::avx512: return kernels::avx512::compressed_path;
    case Isa::avx2: return kernels::avx2::compressed_path;
#endif
    default: return kernels::portable::compressed_path;
  }
}

float f16_to_f32_scalar(std::uint16_t half) {
  const std::uint32_t sign = std::uint32_t(half & 0x8000u) << 16;
  const std::uint32_t exponent = (half >> 10) & 0x1fu, mantissa = half & 0x3ffu;
  std::uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13) | (mantissa ? 0x00400000u : 0u);  // NaNs become quiet
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else {  // zero or subnormal: mantissa·2^-24, exact in float
    float v = float(mantissa) * 0x1p-24f;
    std::memcpy(&bits, &v, 4);
    bits |= sign;
  }
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

}  // namespace detail

namespace {

// Rows per part boundary when a large product is split by rows.
constexpr Index kRowUnit = 8;

struct F16Split {
  const PackedF16Weights* w;
  const float* x;
  Index ldx;
  const float* bias;
  float* z;
  Index ldz;
  Index m;
  F16Strategy strategy;
  bool by_rows;
  char* workspaces = nullptr;  // convert_panels: detail::part_workspaces, reserved before the parts run
  Index workspace_bytes = 0;   // per part: the engine's workspace, then one converted panel
};

// Rows [r0, r0+m) × panels [p0, p1) with one strategy, as part `part` of the product.
void f16_block(const F16Split& s, int part, Index r0, Index m, Index p0, Index p1) {
  const PackedF16Weights& w = *s.w;
  const Index nr = w.panel_width(), k = w.in(), j0 = p0 * nr;
  const Index n = std::min(w.out(), p1 * nr) - j0;
  if (m <= 0 || n <= 0) return;
  const float* x = s.x + r0 * s.ldx;
  float* z = s.z + r0 * s.ldz + j0;
  const float* bias = s.bias ? s.bias + j0 : nullptr;
  const std::uint16_t* panels = w.data() + p0 * k * nr;
  if (s.strategy == F16Strategy::direct) {
    detail::compressed_path_for(w.isa()).f16_direct(detail::F16Problem{m, n, k, x, s.ldx, panels, nr, bias, z, s.ldz});
    return;
  }
  // One panel at a time into this thread's workspace, then the engine's kernel on it.
  const detail::GemmPath& engine = detail::gemm_path_for(w.isa());
  const Index panel_floats = k * nr;
  const Index engine_bytes = (engine.workspace_bytes + 63) / 64 * 64;
  char* space = static_cast<char*>(detail::part_workspace(s.workspaces, part, s.workspace_bytes));
  float* converted = reinterpret_cast<float*>(space + engine_bytes);
  for (Index p = p0; p < p1; ++p) {
    const Index jp = p * nr, cols = std::min(nr, w.out() - jp);
    if (cols <= 0) break;
    const detail::CompressedPath& path = detail::compressed_path_for(w.isa());
    if (cols <= nr / 2) {  // the engine reads a last panel at most half full as NR/2 wide
      for (Index r = 0; r < k; ++r) path.f16_to_f32(converted + r * (nr / 2), w.data() + p * panel_floats + r * nr, nr / 2);
    } else {
      path.f16_to_f32(converted, w.data() + p * panel_floats, panel_floats);
    }
    const detail::GemmProblem<float> pr{m,       cols,  k,    x,
                                        s.ldx,   1,     converted, nr,
                                        false,   true,  s.bias ? s.bias + jp : nullptr,
                                        s.z + r0 * s.ldz + jp, s.ldz, false,
                                        reinterpret_cast<float*>(space)};
    engine.gemm_f32(pr);
  }
}

void f16_part(int part, int parts, void* ctx) {
  const F16Split& s = *static_cast<const F16Split*>(ctx);
  const Index panels = s.w->panels();
  if (s.by_rows) {
    const detail::Range r = detail::part_range(s.m, kRowUnit, part, parts);
    f16_block(s, part, r.begin, r.end - r.begin, 0, panels);
  } else {
    const detail::Range r = detail::part_range(panels, 1, part, parts);
    f16_block(s, part, 0, s.m, r.begin, r.end);
  }
}

}  // namespace

std::uint16_t f32_to_f16(float value) { return detail::f32_to_f16_scalar(value); }
float f16_to_f32(std::uint16_t half) { return detail::f16_to_f32_scalar(half); }
void f32_to_f16(std::uint16_t* dst, const float* src, Index n) { detail::compressed_path_for(active_isa()).f32_to_f16(dst, src, n); }
void f16_to_f32(float* dst, const std::uint16_t* src, Index n) { detail::compressed_path_for(active_isa()).f16_to_f32(dst, src, n); }

// ---- PackedF16Weights ----

void PackedF16Weights::pack(const std::uint16_t* w16, Index ldw, Index in, Index out) {
  pack(w16, ldw, in, out, active_isa());
}

void PackedF16Weights::pack(const std::uint16_t* w16, Index ldw, Index in, Index out, Isa isa) {
  if (in < 0 || out < 0 || ldw < out)
    throw std::invalid_argument("PackedF16Weights::pack: need in >= 0, out >= 0 and ldw >= out");
  if (!isa_supported(isa))
    throw std::invalid_argument(std::string("PackedF16Weights::pack: this CPU cannot run the ") + isa_name(isa) +
                                " path");
  const Index nr = gemm_tile<float>(isa).cols;
  const Index panels = (out + nr - 1) / nr;
  auto* data = reinterpret_cast<std::uint16_t*>(
      storage_.reserve(std::size_t(panels) * std::size_t(in) * std::size_t(nr) * sizeof(std::uint16_t)));
  in_ = in, out_ = out, nr_ = nr, isa_ = isa;
  for (Index q = 0; q < panels; ++q) {
    const Index j0 = q * nr, cols = std::min(nr, out - j0);
    std::uint16_t* panel = data + std::size_t(q) * std::size_t(in * nr);
    for (Index p = 0; p < in; ++p) {
      std::memcpy(panel + p * nr, w16 + p * ldw + j0, std::size_t(cols) * 2);
      std::fill(panel + p * nr + cols, panel + (p + 1) * nr, std::uint16_t(0));
    }
  }
}

// ---- forward ----

void f16_gemm(float* z, Index ldz, const float* x, Index ldx, const PackedF16Weights& w, const float* bias, Index B,
              F16Strategy strategy, const Threading& threading) {
  if (B <= 0 || w.out() <= 0) return;
  if (w.in() == 0) {  // nothing to multiply: the engine's init
    for (Index i = 0; i < B; ++i)
      for (Index j = 0; j < w.out(); ++j) z[i * ldz + j] = bias ? 0.0f + bias[j] : 0.0f;
    return;
  }
  F16Split split{&w, x, ldx, bias, z, ldz, B, strategy, B >= 8 * kRowUnit};
  const double flops = 2.0 * double(B) * double(w.in()) * double(w.out());
  const int parts = detail::part_count(flops, kParallelGemmFlops,
                                       split.by_rows ? (B + kRowUnit - 1) / kRowUnit : w.panels(), threading);
  if (strategy == F16Strategy::convert_panels) {
    split.workspace_bytes = (detail::gemm_path_for(w.isa()).workspace_bytes + 63) / 64 * 64 +
                            w.in() * w.panel_width() * Index(sizeof(float));
    split.workspaces = detail::part_workspaces(parts, split.workspace_bytes);
  }
  detail::run_parts(parts, &f16_part, &split, threading);
}

void f16_gemm(float* z, Index ldz, const float* x, Index ldx, const PackedF16Weights& w, const float* bias, Index B,
              const Threading& threading) {
  f16_gemm(z, ldz, x, ldx, w, bias, B, B <= kF16DirectMaxRows ? F16Strategy::direct : F16Strategy::convert_panels,
           threading);
}

}  // namespace kernels
}  // namespace densekit
