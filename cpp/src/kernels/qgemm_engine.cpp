// The int8 kernel's front: path selection, the scheme's scalar parts (weight quantization,
// activation parameters), packing, partitioning between threads, and the scalar references.
// Baseline code only; the arithmetic of the hot loops lives in qgemm_<path>.cpp.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "densekit/kernels/qgemm.hpp"
#include "densekit/runtime/cpu_features.hpp"
#include "qgemm_isa.hpp"
#include "kernel_support.hpp"

namespace densekit {
namespace kernels {

namespace {

const detail::QgemmPath& path_for(Int8Path path) {
  switch (path) {
#if defined(__x86_64__) || defined(__i386__)
    case Int8Path::avx512vnni: return avx512vnni::qgemm_path;
    case Int8Path::avxvnni: return avxvnni::qgemm_path;
    case Int8Path::avx2: return avx2::qgemm_path;
#endif
    default: return portable::qgemm_path;
  }
}

// Products below this many int8 operations stay whole: a parallel region costs microseconds,
// and an int8 operation costs about a quarter of a float one.
constexpr double kParallelInt8Ops = 4 * kParallelGemmFlops;

struct Split {
  const detail::QgemmProblem* problem;
  const detail::QgemmPath* path;
  bool by_rows;
  Index unit;  // rows per part boundary (a row tile); panels are split one by one
  char* workspaces = nullptr;  // detail::part_workspaces, reserved before the parts run
  Index workspace_bytes = 0;   // per part
};

void run_part(int part, int parts, void* ctx) {
  const Split& s = *static_cast<const Split*>(ctx);
  const detail::QgemmProblem& whole = *s.problem;
  detail::QgemmProblem sub = whole;
  sub.workspace = detail::part_workspace(s.workspaces, part, s.workspace_bytes);
  if (s.by_rows) {
    const detail::Range r = detail::part_range(whole.m, s.unit, part, parts);
    if (r.begin >= r.end) return;
    sub.m = r.end - r.begin;
    sub.x += r.begin * whole.ldx;
    sub.z += r.begin * whole.ldz;
  } else {
    const detail::Range r = detail::part_range(whole.panel_end - whole.panel_begin, 1, part, parts);
    if (r.begin >= r.end) return;
    sub.panel_begin = whole.panel_begin + r.begin;
    sub.panel_end = whole.panel_begin + r.end;
  }
  s.path->forward(sub);
}

#include "qgemm_params.inc"

void check_activation(const ActivationQuant& act, const char* where) {
  if (act.act_max != 255 && act.act_max != 127)
    throw std::invalid_argument(std::string(where) + ": act_max must be 255 (8-bit) or 127 (7-bit), got " +
                                std::to_string(act.act_max));
  if (!act.dynamic && !(std::isfinite(act.scale) && act.scale >= 0 && std::isfinite(act.inv_scale) &&
                        act.inv_scale >= 0 && act.zero_point >= 0 && act.zero_point <= act.act_max))
    throw std::invalid_argument(std::string(where) +
                                ": static activation parameters must be finite, non-negative, "
                                "with 0 <= zero_point <= act_max (use static_activation_quant)");
}

}  // namespace

// ---- paths ----

const char* int8_path_name(Int8Path path) {
  switch (path) {
    case Int8Path::portable: return "portable";
    case Int8Path::avx2: return "avx2";
    case Int8Path::avxvnni: return "avxvnni";
    case Int8Path::avx512vnni: return "avx512vnni";
  }
  return "unknown";
}

bool int8_path_supported(Int8Path path) {
  const runtime::CpuFeatures& f = runtime::cpu_features();
  switch (path) {
    case Int8Path::portable: return true;
    case Int8Path::avx2: return isa_supported(Isa::avx2);
    case Int8Path::avxvnni: return isa_supported(Isa::avx2) && f.avxvnni;
    case Int8Path::avx512vnni: return isa_supported(Isa::avx512) && f.avx512vnni;
  }
  return false;
}

Int8Path active_int8_path() {
  const Isa isa = active_isa();
  for (int i = kInt8PathCount - 1; i > 0; --i) {
    const Int8Path path = Int8Path(i);
    const Isa needs = path == Int8Path::avx512vnni ? Isa::avx512 : Isa::avx2;
    if (int(needs) <= int(isa) && int8_path_supported(path)) return path;
  }
  return Int8Path::portable;
}

// ---- the scheme's scalar parts ----

RowQuant activation_params(float lo, float hi, int act_max) { return row_params(lo, hi, act_max); }

ActivationQuant static_activation_quant(float lo, float hi, int act_max) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || lo > hi)
    throw std::invalid_argument("static_activation_quant: need finite lo <= hi");
  ActivationQuant act;
  act.act_max = act_max;
  check_activation(act, "static_activation_quant");
  const RowQuant rq = activation_params(lo, hi, act_max);
  act.dynamic = false;
  act.scale = rq.scale;
  act.inv_scale = rq.inv_scale;
  act.zero_point = rq.zero_point;
  return act;
}

template <class T>
void quantize_weights(std::int8_t* wq, Index ldq, float* scales, const T* w, Index ldw, Index IN,
                      Index OUT, int weight_max) {
  if (IN < 0 || OUT < 0 || ldq < OUT || ldw < OUT)
    throw std::invalid_argument("quantize_weights: need IN, OUT >= 0 and ldq, ldw >= OUT");
  if (weight_max != 127 && weight_max != 63)
    throw std::invalid_argument("quantize_weights: weight_max must be 127 (8-bit) or 63 (7-bit), got " +
                                std::to_string(weight_max));
  for (Index j = 0; j < OUT; ++j) {
    float amax = 0;
    for (Index k = 0; k < IN; ++k) {
      const float v = float(w[k * ldw + j]);
      if (!std::isfinite(v))
        throw std::invalid_argument("quantize_weights: non-finite weight at (" + std::to_string(k) + ", " +
                                    std::to_string(j) + ")");
      amax = std::max(amax, std::fabs(v));
    }
    const float scale = amax / float(weight_max);
    scales[j] = scale;
    for (Index k = 0; k < IN; ++k) {
      float q = scale > 0 ? std::nearbyint(float(w[k * ldw + j]) / scale) : 0.0f;
      q = std::min(std::max(q, -float(weight_max)), float(weight_max));
      wq[k * ldq + j] = std::int8_t(q);
    }
  }
}
template void quantize_weights<float>(std::int8_t*, Index, float*, const float*, Index, Index, Index, int);
template void quantize_weights<double>(std::int8_t*, Index, float*, const double*, Index, Index, Index, int);

// ---- PackedInt8Weights ----

bool PackedInt8Weights::widened() const {
  return path_ == Int8Path::avx2 && 2 * act_.act_max * max_abs_weight_ > 32767;
}

std::size_t PackedInt8Weights::bytes() const {
  return std::size_t(panels()) * std::size_t(groups() * 64 + kInt8PanelCols * 12);
}

void PackedInt8Weights::pack(const std::int8_t* wq, Index ldq, const float* scales, const float* bias,
                             Index in, Index out, const ActivationQuant& act) {
  pack(wq, ldq, scales, bias, in, out, act, active_int8_path());
}

void PackedInt8Weights::pack(const std::int8_t* wq, Index ldq, const float* scales, const float* bias,
                             Index in, Index out, const ActivationQuant& act, Int8Path path) {
  if (in < 0 || out < 0 || ldq < out)
    throw std::invalid_argument("PackedInt8Weights::pack: need in >= 0, out >= 0 and ldq >= out");
  if (in > kInt8MaxInner)
    throw std::invalid_argument("PackedInt8Weights::pack: in = " + std::to_string(in) + " exceeds " +
                                std::to_string(kInt8MaxInner) + " (int32 accumulators would overflow)");
  check_activation(act, "PackedInt8Weights::pack");
  if (!int8_path_supported(path))
    throw std::invalid_argument(std::string("PackedInt8Weights::pack: this CPU cannot run the ") +
                                int8_path_name(path) + " int8 path");
  const Index groups = (in + 3) / 4, panels = (out + kInt8PanelCols - 1) / kInt8PanelCols;
  const std::size_t weight_bytes = std::size_t(panels) * std::size_t(groups) * 64;
  const std::size_t lanes = std::size_t(panels) * kInt8PanelCols;
  char* block = storage_.reserve(weight_bytes + lanes * 12);
  auto* data = reinterpret_cast<std::int8_t*>(block);
  auto* colsum = reinterpret_cast<std::int32_t*>(block + weight_bytes);
  auto* scale = reinterpret_cast<float*>(colsum + lanes);
  float* bias_out = scale + lanes;
  in_ = in;
  out_ = out;
  act_ = act;
  path_ = path;
  max_abs_weight_ = 0;
  for (Index p = 0; p < panels; ++p)
    for (Index c = 0; c < kInt8PanelCols; ++c) {
      const Index j = p * kInt8PanelCols + c;
      std::int32_t sum = 0;
      for (Index g = 0; g < groups; ++g)
        for (Index t = 0; t < 4; ++t) {
          const Index k = 4 * g + t;
          const std::int8_t v = k < in && j < out ? wq[k * ldq + j] : std::int8_t(0);
          data[(p * groups + g) * 64 + c * 4 + t] = v;
          sum += v;
          max_abs_weight_ = std::max(max_abs_weight_, std::abs(int(v)));
        }
      colsum[j] = sum;
      scale[j] = j < out ? scales[j] : 0.0f;
      bias_out[j] = j < out && bias ? bias[j] : 0.0f;
    }
}

// ---- forward ----

void qdense_forward(float* z, Index ldz, const float* x, Index ldx, const PackedInt8Weights& w, Index B,
                    Epilogue epilogue, const Threading& threading) {
  if (B <= 0 || w.out() <= 0) return;
  const detail::QgemmPath& path = path_for(w.path());
  const detail::QgemmProblem problem{B, x, ldx, z, ldz, w.in(), w.out(), 0, w.panels(), w.data(), w.groups(),
                                     w.column_sums(), w.scales(), w.bias(), w.activation(),
                                     epilogue == Epilogue::relu, w.widened(), nullptr};
  const Index unit = path.row_tile;
  Split split{&problem, &path, B >= 4 * unit, unit};
  const double ops = 2.0 * double(B) * double(w.in()) * double(w.out());
  const int parts =
      detail::part_count(ops, kParallelInt8Ops, split.by_rows ? (B + unit - 1) / unit : w.panels(), threading);
  split.workspace_bytes = detail::qgemm_workspace_bytes(problem.groups);
  split.workspaces = detail::part_workspaces(parts, split.workspace_bytes);
  detail::run_parts(parts, &run_part, &split, threading);
}

void quantize_activations(std::uint8_t* q, Index ldq, float* scale, std::int32_t* zero_point, const float* x,
                          Index ldx, Index B, Index IN, const ActivationQuant& act, Int8Path path) {
  check_activation(act, "quantize_activations");
  if (!int8_path_supported(path))
    throw std::invalid_argument(std::string("quantize_activations: this CPU cannot run the ") +
                                int8_path_name(path) + " int8 path");
  path_for(path).quantize(q, ldq, scale, zero_point, x, ldx, B, IN, act);
}

// ---- references ----

void quantize_activations_ref(std::uint8_t* q, Index ldq, float* scale, std::int32_t* zero_point, const float* x,
                              Index ldx, Index B, Index IN, const ActivationQuant& act) {
  for (Index i = 0; i < B; ++i) {
    const float* row = x + i * ldx;
    RowQuant rq{act.scale, act.inv_scale, act.zero_point};
    if (act.dynamic) {
      float lo = 0, hi = 0;
      for (Index k = 0; k < IN; ++k) {
        lo = row[k] < lo ? row[k] : lo;
        hi = row[k] > hi ? row[k] : hi;
      }
      rq = activation_params(lo, hi, act.act_max);
    }
    scale[i] = rq.scale;
    zero_point[i] = rq.zero_point;
    const float low = float(-rq.zero_point), high = float(act.act_max - rq.zero_point);
    for (Index k = 0; k < IN; ++k) {
      float t = row[k] * rq.inv_scale;
      t = t > low ? t : low;
      t = t < high ? t : high;
      q[i * ldq + k] = std::uint8_t(std::int32_t(std::nearbyint(t)) + rq.zero_point);
    }
    for (Index k = IN; k < ldq / 4 * 4; ++k) q[i * ldq + k] = 0;
  }
}

void qdense_forward_ref(float* z, Index ldz, const float* x, Index ldx, const std::int8_t* wq, Index ldq,
                        const float* scales, const float* bias, Index B, Index IN, Index OUT,
                        const ActivationQuant& act, Epilogue epilogue) {
  std::vector<std::uint8_t> q(std::size_t(std::max<Index>(IN, 1)));
  for (Index i = 0; i < B; ++i) {
    float sx;
    std::int32_t zp;
    quantize_activations_ref(q.data(), IN, &sx, &zp, x + i * ldx, ldx, 1, IN, act);
    for (Index j = 0; j < OUT; ++j) {
      long long acc = 0, colsum = 0;
      for (Index k = 0; k < IN; ++k) {
        acc += (long long)q[std::size_t(k)] * wq[k * ldq + j];
        colsum += wq[k * ldq + j];
      }
      const long long d = acc - (long long)zp * colsum;
      if (d > std::numeric_limits<std::int32_t>::max() || d < std::numeric_limits<std::int32_t>::min())
        throw std::logic_error("qdense_forward_ref: int32 range exceeded");
      float v = float(std::int32_t(d)) * (sx * scales[j]);
      v = v + (bias ? bias[j] : 0.0f);
      if (epilogue == Epilogue::relu) v = v > 0 ? v : 0.0f;
      z[i * ldz + j] = v;
    }
  }
}

}  // namespace kernels
}  // namespace densekit
