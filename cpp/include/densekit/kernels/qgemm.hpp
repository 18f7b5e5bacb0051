// The int8 Dense-layer kernel: z (B,OUT) = act(dequant(q(x) · Wq) + bias), for inference.
//
// Scheme (the numbers stage B stores with a quantized layer):
// - Weights: per-output-channel symmetric int8. scale_w[j] = max_k |w[k,j]| / weight_max and
//   wq[k,j] = round_half_even(w[k,j] / scale_w[j]) in [-weight_max, weight_max], weight_max 127
//   (8-bit) or 63 (7-bit). A column of zeros gets scale 0.
// - Activations: unsigned with a zero point, per row. lo = min(0, min x), hi = max(0, max x)
//   (dynamic: of the row itself; static: from calibration, the same for every row);
//   scale = (hi - lo) / act_max, inv = act_max / (hi - lo), zp = round_half_even(-lo·inv)
//   clamped to [0, act_max]; q = round_half_even(clamp(x·inv, -zp, act_max - zp)) + zp, with
//   act_max 255 (8-bit) or 127 (7-bit). A ReLU output has lo = 0, hence zp = 0.
// - Accumulation in int32: acc[i,j] = Σ_k q[i,k]·wq[k,j], exact (|acc| < 2^31 for IN ≤ 65536).
// - One fp32 epilogue, no fused multiply-add: d = acc - zp_i·colsum[j] (colsum[j] = Σ_k wq[k,j],
//   precomputed), z = float(d) · (scale_i · scale_w[j]) + bias[j], then ReLU if asked.
//
// Every step is exact integer arithmetic or one IEEE-rounded float operation in a fixed order,
// so every path (portable, AVX2, AVX-VNNI, AVX512-VNNI) computes the same bits as
// qdense_forward_ref, on every CPU; and a row's output depends on that row alone (batch size,
// position and threads do not matter). AVX2 has no exact 8-bit×8-bit dot product
// (vpmaddubsw saturates its 16-bit pair sums), so its fast kernel needs
// 2·act_max·max|wq| ≤ 32767, i.e. 7-bit activations or 7-bit weights; with 8-bit × 8-bit it
// takes a slower exact kernel on 16-bit widened values. The scheme is the model's, not the CPU's.
//
// Packed format (derived at load from wq, never stored): ceil(OUT/16) panels of 16 columns; a
// panel holds ceil(IN/4) groups of 64 bytes, group g = for each of its 16 columns the 4 weights
// of rows 4g..4g+3 (zero past IN and OUT) — the operand layout of vpdpbusd; every path reads it.
// Nothing here allocates except pack() and a thread's first use of a larger workspace.
#pragma once

#include <cstddef>
#include <cstdint>

#include "aligned_buffer.hpp"
#include "dispatch.hpp"
#include "gemm_engine.hpp"

namespace densekit {
namespace kernels {

// The int8 kernel paths, most portable first. No AMX (tdpbusd) path yet: it could not be run
// where this was written (no AMX CPU, no emulator), and an untested path does not ship.
enum class Int8Path {
  portable = 0,    // baseline vectors
  avx2 = 1,        // vpmaddubsw (7-bit schemes) or vpmaddwd on widened values (8×8-bit)
  avxvnni = 2,     // VEX vpdpbusd on 256 bits (Alder Lake, Sierra Forest, Zen 5)
  avx512vnni = 3,  // EVEX vpdpbusd on 512 bits (Cascade Lake and later Xeons, Zen 4/5)
};
constexpr int kInt8PathCount = 4;

const char* int8_path_name(Int8Path path);
bool int8_path_supported(Int8Path path);
// The best supported path within the active fp32 path (DENSEKIT_ISA=avx2 keeps the int8
// kernels off AVX-512 too, =portable makes them portable).
Int8Path active_int8_path();

// Largest inner dimension the int32 accumulators hold exactly.
constexpr Index kInt8MaxInner = 65536;
constexpr int kInt8PanelCols = 16;

enum class Epilogue { identity, relu };

// How a layer's input is quantized: act_max 255 or 127; dynamic per row, or static from
// calibration (scale, inv_scale, zero_point from static_activation_quant()).
struct ActivationQuant {
  int act_max = 255;
  bool dynamic = true;
  float scale = 0, inv_scale = 0;
  std::int32_t zero_point = 0;
};

// One row's (or a calibration range's) quantization parameters from its range, per the scheme.
struct RowQuant {
  float scale, inv_scale;
  std::int32_t zero_point;
};
RowQuant activation_params(float lo, float hi, int act_max);
// Static quantization of a layer's input from the calibration range [lo, hi] of its values.
ActivationQuant static_activation_quant(float lo, float hi, int act_max);

// wq (IN,OUT) and scales (OUT) from w (IN,OUT) per the scheme; weight_max 127 or 63.
template <class T>
void quantize_weights(std::int8_t* wq, Index ldq, float* scales, const T* w, Index ldw, Index IN,
                      Index OUT, int weight_max = 127);

// A quantized layer's weights, packed for the kernels, with what the epilogue needs.
class PackedInt8Weights {
 public:
  // wq (IN,OUT) int8, scales (OUT), bias (OUT, or null), the layer's input quantization, and the
  // path to run (active_int8_path() by default; must be supported). Throws std::invalid_argument
  // on bad sizes (IN > kInt8MaxInner) or an unsupported act_max/path.
  void pack(const std::int8_t* wq, Index ldq, const float* scales, const float* bias, Index in,
            Index out, const ActivationQuant& act);
  void pack(const std::int8_t* wq, Index ldq, const float* scales, const float* bias, Index in,
            Index out, const ActivationQuant& act, Int8Path path);

  Index in() const { return in_; }
  Index out() const { return out_; }
  Index groups() const { return (in_ + 3) / 4; }   // k4 groups per panel
  Index panels() const { return (out_ + kInt8PanelCols - 1) / kInt8PanelCols; }
  Int8Path path() const { return path_; }
  const ActivationQuant& activation() const { return act_; }
  int max_abs_weight() const { return max_abs_weight_; }
  // Whether the path's kernel is the exact widened one (AVX2 with an 8-bit × 8-bit scheme).
  bool widened() const;
  // One block: the panels, then column sums, scales and bias (panels()·16 each, zero-padded).
  const std::int8_t* data() const { return reinterpret_cast<const std::int8_t*>(storage_.data()); }
  const std::int32_t* column_sums() const {
    return reinterpret_cast<const std::int32_t*>(storage_.data() + panels() * groups() * 64);
  }
  const float* scales() const { return reinterpret_cast<const float*>(column_sums() + panels() * kInt8PanelCols); }
  const float* bias() const { return scales() + panels() * kInt8PanelCols; }
  std::size_t bytes() const;

 private:
  AlignedBuffer storage_;
  Index in_ = 0, out_ = 0;
  ActivationQuant act_{};
  int max_abs_weight_ = 0;
  Int8Path path_ = Int8Path::portable;
};

// z (B,OUT) = epilogue(dequant(q(x)·wq) + bias) with x (B,IN) float; the layer's path.
void qdense_forward(float* z, Index ldz, const float* x, Index ldx, const PackedInt8Weights& w,
                    Index B, Epilogue epilogue, const Threading& threading = {});

// The activation quantization alone (as qdense_forward does it): q (B, ldq ≥ IN) u8 with zeros
// past IN up to ldq rounded down to a multiple of 4, scale (B), zero_point (B).
void quantize_activations(std::uint8_t* q, Index ldq, float* scale, std::int32_t* zero_point,
                          const float* x, Index ldx, Index B, Index IN, const ActivationQuant& act,
                          Int8Path path);

// ---- scalar references (test oracles): the scheme above, one element at a time ------------
void quantize_activations_ref(std::uint8_t* q, Index ldq, float* scale, std::int32_t* zero_point,
                              const float* x, Index ldx, Index B, Index IN,
                              const ActivationQuant& act);
// From unpacked wq (IN,OUT), scales (OUT), bias (OUT or null); int64 accumulation.
void qdense_forward_ref(float* z, Index ldz, const float* x, Index ldx, const std::int8_t* wq,
                        Index ldq, const float* scales, const float* bias, Index B, Index IN,
                        Index OUT, const ActivationQuant& act, Epilogue epilogue);

}  // namespace kernels
}  // namespace densekit
