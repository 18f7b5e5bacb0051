// InferenceDenseLayer: a Dense layer of a quantized model (model.quantize("int8" | "float16")),
// for inference only.
//
// It holds y = f(x·W + b) with W in one of three stored precisions and computes in float32:
// - int8: per-output-channel symmetric weights and their scales, activations quantized per row
//   (dynamic) or with fixed calibration scales (static), int32 sums and one fp32 epilogue
//   (kernels/qgemm.hpp); a ReLU runs inside the epilogue, any other activation after it;
// - float16: binary16 weights converted in registers or per panel (kernels/f16.hpp);
// - float32: a layer quantize() kept in float32 (int8 was slower or too lossy there), on the
//   product engine's pre-packed weights (kernels/gemm_engine.hpp).
// Every path is batch-invariant and gives the same bits on every run of the same build; the int8
// path gives the same bits on every CPU. The stored tensors are what model files keep; the packed
// forms are the layer's inference copies (model/layers.hpp): set_*() stores the tensors and
// announces the change, the packs are rebuilt from them under the layer's lock (at once by set_*(),
// again if the kernels' ISA path changes) and read by the const infer() from any number of
// threads. They never leave the layer.
//
// It has no trainable parameters (nothing for an optimizer to bind) and its backward pass throws:
// a quantized model is trained as the float model it came from, then quantized again.
#pragma once

#include <cstdint>
#include <vector>

#include "densekit/kernels/f16.hpp"
#include "densekit/kernels/gemm_engine.hpp"
#include "densekit/kernels/qgemm.hpp"
#include "densekit/model/layers.hpp"

namespace densekit {

enum class WeightPrecision { float32 = 0, float16 = 1, int8 = 2 };

const char* precision_name(WeightPrecision p);

class InferenceDenseLayer : public Layer<float> {
 public:
  // An empty layer of the given shape; one of the set_*() calls below gives it its weights.
  // act_quant is used by int8 layers only (act_max 255 or 127; dynamic, or static scales).
  InferenceDenseLayer(Index in, Index out, bool use_bias, ActivationSpec activation,
                      WeightPrecision precision, kernels::ActivationQuant act_quant = {},
                      int weight_max = 63);

  const char* kind() const override { return "QuantizedDense"; }
  WeightPrecision precision() const { return precision_; }
  bool use_bias() const { return use_bias_; }
  const ActivationSpec& activation() const { return act_.spec; }
  const kernels::ActivationQuant& activation_quant() const { return act_quant_; }
  int weight_max() const { return weight_max_; }

  // The stored tensors, then the packed form built from them. kernel (IN,OUT) row-major; scales,
  // bias and alpha (OUT) each; bias null when the layer has none, alpha null unless the
  // activation is PReLU. Throws std::invalid_argument on a precision mismatch, an int8 weight
  // outside ±weight_max, or non-finite floats.
  void set_int8(const std::int8_t* kernel, const float* scales, const float* bias, const float* alpha);
  void set_float16(const std::uint16_t* kernel, const float* bias, const float* alpha);
  void set_float32(const float* kernel, const float* bias, const float* alpha);

  // Copies of the stored tensors, in the shapes above (empty when not stored).
  const std::vector<std::int8_t>& kernel_int8() const { return kernel_i8_; }
  const std::vector<std::uint16_t>& kernel_float16() const { return kernel_f16_; }
  const std::vector<float>& kernel_float32() const { return kernel_f32_; }
  const std::vector<float>& kernel_scales() const { return scales_; }
  const std::vector<float>& bias() const { return bias_; }
  const std::vector<float>& alpha() const { return alpha_; }
  bool ready() const { return ready_; }
  // Bytes of the packed weights the forward pass reads.
  std::size_t packed_bytes() const;

  void reserve(Index batch) override { act_.reserve(batch, output_dim_); }
  // Evaluation (Network::evaluate): the inference product, keeping z when the loss wants it.
  void forward(ConstMatrixMap<float> x, MatrixMap<float> y, const StepContext& ctx) override;
  void backward(ConstMatrixMap<float> x, ConstMatrixMap<float> y, MatrixMap<float> g, float* dx,
                bool g_is_preactivation, const StepContext& ctx) override;

  ActivationKind output_activation() const override { return act_.spec.kind; }
  const float* preactivation() const override { return act_.z(); }
  bool infers_in_place() const override { return false; }  // a product reads all of x first

 protected:
  void infer_rows(const float* x, Index ldx, float* y, Index ldy, Index rows, const StepContext& ctx,
                  bool prepared) const override;
  void rebuild_inference() const override;

 private:
  void set_vectors(const float* bias, const float* alpha);
  // The stored tensors changed: the packs are rebuilt now, so serving threads never have to.
  void stored();
  // z (rows, OUT) ldz apart = x·W + b on the packed weights, with ReLU fused when `relu`
  // (int8 only).
  void product(float* z, Index ldz, const float* x, Index ldx, Index rows, bool relu) const;

  bool use_bias_;
  WeightPrecision precision_;
  kernels::ActivationQuant act_quant_;
  int weight_max_;
  bool ready_ = false;
  std::vector<std::int8_t> kernel_i8_;
  std::vector<std::uint16_t> kernel_f16_;
  std::vector<float> kernel_f32_, scales_, bias_, alpha_;
  mutable kernels::PackedInt8Weights int8_;  // the inference copies, one per precision
  mutable kernels::PackedF16Weights f16_;
  mutable kernels::PackedWeights<float> f32_;
  ActivationStage<float> act_;
};

}  // namespace densekit
