// float16 weights computed in float32: IEEE binary16 conversions and the Dense forward on
// fp16-stored, pre-packed weights.
//
// Conversions round to nearest, ties to even (f32 → f16), overflow to ±inf past 65520, keep
// subnormals, and turn a NaN into a quiet NaN with the payload's top bits (as F16C's vcvtps2ph
// and NumPy's astype(float16), which differ only in the NaN's quiet bit). f16 → f32 is exact.
// The bulk functions use F16C where the active path has it, the scalar ones everywhere; both
// give the same bits.
//
// f16_gemm computes, bit for bit, what the product engine's gemm_packed computes on the same
// path with the weights converted to float32 (the engine's arithmetic contract: one chain per
// output over the inner dimension in order, fused on AVX2/AVX-512): the fp16 model predicts
// exactly what its float32 twin with rounded weights predicts, batch-invariant like it. Small
// batches convert each weight vector in registers as they stream it (half the bytes of fp32
// weights); larger ones convert one panel at a time into the thread's workspace and run the
// engine's own micro-kernel on it (the conversion is paid once per panel per call).
#pragma once

#include <cstddef>
#include <cstdint>

#include "aligned_buffer.hpp"
#include "dispatch.hpp"
#include "gemm_engine.hpp"

namespace densekit {
namespace kernels {

std::uint16_t f32_to_f16(float value);
float f16_to_f32(std::uint16_t half);
// n values; dst and src may not overlap.
void f32_to_f16(std::uint16_t* dst, const float* src, Index n);
void f16_to_f32(float* dst, const std::uint16_t* src, Index n);

// w (IN,OUT) in fp16, in the panel layout of the fp32 engine's path (panels of IN rows ×
// panel_width() columns, zero-padded), one 64-byte-aligned buffer.
class PackedF16Weights {
 public:
  // w16 (IN,OUT) fp16 bits with leading dimension ldw; for the active path or `isa`.
  void pack(const std::uint16_t* w16, Index ldw, Index in, Index out);
  void pack(const std::uint16_t* w16, Index ldw, Index in, Index out, Isa isa);

  Index in() const { return in_; }
  Index out() const { return out_; }
  Isa isa() const { return isa_; }
  Index panel_width() const { return nr_; }
  Index panels() const { return nr_ ? (out_ + nr_ - 1) / nr_ : 0; }
  const std::uint16_t* data() const { return reinterpret_cast<const std::uint16_t*>(storage_.data()); }
  std::size_t bytes() const { return std::size_t(panels()) * std::size_t(in_ * nr_) * 2; }

 private:
  AlignedBuffer storage_;
  Index in_ = 0, out_ = 0, nr_ = 0;
  Isa isa_ = Isa::portable;
};

// Rows per call up to which f16_gemm converts in registers (measured: bench/QUANT_KERNELS.md).
constexpr Index kF16DirectMaxRows = 32;

// z (B,OUT) = x (B,IN)·f32(w) + bias (OUT, or null) on w's path.
void f16_gemm(float* z, Index ldz, const float* x, Index ldx, const PackedF16Weights& w,
              const float* bias, Index B, const Threading& threading = {});

// The two strategies, for tests and benchmarks (f16_gemm picks by B).
enum class F16Strategy { direct, convert_panels };
void f16_gemm(float* z, Index ldz, const float* x, Index ldx, const PackedF16Weights& w,
              const float* bias, Index B, F16Strategy strategy, const Threading& threading = {});

}  // namespace kernels
}  // namespace densekit
