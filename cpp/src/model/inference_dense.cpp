// InferenceDenseLayer: storing, packing and running a quantized Dense layer (see the header).
#include "densekit/model/inference_dense.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "densekit/kernels/dense.hpp"

namespace densekit {

namespace {

void check_finite(const float* p, Index n, const char* what) {
  for (Index i = 0; i < n; ++i)
    if (!std::isfinite(p[i]))
      throw std::invalid_argument(std::string("QuantizedDense: ") + what + " holds NaN or Inf (at " +
                                  std::to_string(i) + ")");
}

}  // namespace

const char* precision_name(WeightPrecision p) {
  switch (p) {
    case WeightPrecision::float32: return "float32";
    case WeightPrecision::float16: return "float16";
    case WeightPrecision::int8: return "int8";
  }
  return "?";
}

InferenceDenseLayer::InferenceDenseLayer(Index in, Index out, bool use_bias, ActivationSpec activation,
                                         WeightPrecision precision, kernels::ActivationQuant act_quant,
                                         int weight_max)
    : Layer<float>(in, out), use_bias_(use_bias), precision_(precision), act_quant_(act_quant),
      weight_max_(weight_max) {
  if (in < 1 || out < 1) throw std::invalid_argument("QuantizedDense: widths must be positive");
  if (precision == WeightPrecision::int8) {
    if (weight_max != 127 && weight_max != 63)
      throw std::invalid_argument("QuantizedDense: weight_max must be 127 (8-bit) or 63 (7-bit)");
    if (act_quant.act_max != 255 && act_quant.act_max != 127)
      throw std::invalid_argument("QuantizedDense: act_max must be 255 (8-bit) or 127 (7-bit)");
    if (in > kernels::kInt8MaxInner)
      throw std::invalid_argument("QuantizedDense: int8 layers take at most " +
                                  std::to_string(kernels::kInt8MaxInner) + " inputs, not " +
                                  std::to_string(in));
    if (!act_quant.dynamic &&
        !(std::isfinite(act_quant.scale) && std::isfinite(act_quant.inv_scale) &&
          act_quant.scale >= 0 && act_quant.inv_scale >= 0 && act_quant.zero_point >= 0 &&
          act_quant.zero_point <= act_quant.act_max))
      throw std::invalid_argument("QuantizedDense: invalid static activation quantization");
  }
  act_.spec = activation;
  trainable = false;
}

void InferenceDenseLayer::set_vectors(const float* bias, const float* alpha) {
  const Index out = output_dim_;
  if (use_bias_ != (bias != nullptr))
    throw std::invalid_argument(use_bias_ ? "QuantizedDense: the layer needs a bias"
                                          : "QuantizedDense: the layer has no bias");
  const bool prelu = act_.spec.kind == ActivationKind::prelu;
  if (prelu != (alpha != nullptr))
    throw std::invalid_argument(prelu ? "QuantizedDense: a PReLU activation needs its alpha"
                                      : "QuantizedDense: alpha is for a PReLU activation only");
  if (bias) check_finite(bias, out, "bias");
  if (alpha) check_finite(alpha, out, "alpha");
  bias_ = bias ? std::vector<float>(bias, bias + out) : std::vector<float>();
  alpha_ = alpha ? std::vector<float>(alpha, alpha + out) : std::vector<float>();
}

void InferenceDenseLayer::set_int8(const std::int8_t* kernel, const float* scales, const float* bias,
                                   const float* alpha) {
  if (precision_ != WeightPrecision::int8)
    throw std::invalid_argument(std::string("QuantizedDense: set_int8 on a ") +
                                precision_name(precision_) + " layer");
  const Index in = input_dim_, out = output_dim_;
  for (Index i = 0; i < in * out; ++i)
    if (kernel[i] < -weight_max_ || kernel[i] > weight_max_)
      throw std::invalid_argument("QuantizedDense: an int8 weight is outside [-" +
                                  std::to_string(weight_max_) + ", " + std::to_string(weight_max_) +
                                  "] (the layer's weight bits)");
  check_finite(scales, out, "kernel_scale");
  for (Index j = 0; j < out; ++j)
    if (scales[j] < 0) throw std::invalid_argument("QuantizedDense: a kernel scale is negative");
  set_vectors(bias, alpha);
  kernel_i8_.assign(kernel, kernel + in * out);
  scales_.assign(scales, scales + out);
  stored();
}

void InferenceDenseLayer::set_float16(const std::uint16_t* kernel, const float* bias, const float* alpha) {
  if (precision_ != WeightPrecision::float16)
    throw std::invalid_argument(std::string("QuantizedDense: set_float16 on a ") +
                                precision_name(precision_) + " layer");
  const Index in = input_dim_, out = output_dim_;
  for (Index i = 0; i < in * out; ++i)
    if ((kernel[i] & 0x7C00u) == 0x7C00u)  // exponent all ones: Inf or NaN
      throw std::invalid_argument("QuantizedDense: a float16 weight is NaN or Inf");
  set_vectors(bias, alpha);
  kernel_f16_.assign(kernel, kernel + in * out);
  stored();
}

void InferenceDenseLayer::set_float32(const float* kernel, const float* bias, const float* alpha) {
  if (precision_ != WeightPrecision::float32)
    throw std::invalid_argument(std::string("QuantizedDense: set_float32 on a ") +
                                precision_name(precision_) + " layer");
  const Index in = input_dim_, out = output_dim_;
  check_finite(kernel, in * out, "kernel");
  set_vectors(bias, alpha);
  kernel_f32_.assign(kernel, kernel + in * out);
  stored();
}

void InferenceDenseLayer::stored() {
  ready_ = true;
  parameters_changed();
  prepare_inference();
}

void InferenceDenseLayer::rebuild_inference() const {
  if (!ready_) return;
  const Index in = input_dim_, out = output_dim_;
  switch (precision_) {
    case WeightPrecision::int8:
      int8_.pack(kernel_i8_.data(), out, scales_.data(), use_bias_ ? bias_.data() : nullptr, in,
                 out, act_quant_);
      break;
    case WeightPrecision::float16: f16_.pack(kernel_f16_.data(), out, in, out); break;
    case WeightPrecision::float32: f32_.pack(kernel_f32_.data(), out, in, out); break;
  }
}

std::size_t InferenceDenseLayer::packed_bytes() const {
  prepare_inference();
  switch (precision_) {
    case WeightPrecision::int8: return int8_.bytes();
    case WeightPrecision::float16: return f16_.bytes();
    case WeightPrecision::float32: return f32_.bytes();
  }
  return 0;
}

void InferenceDenseLayer::product(float* z, Index ldz, const float* x, Index ldx, Index rows,
                                  bool relu) const {
  if (!ready_) throw std::logic_error("QuantizedDense: the layer has no weights yet");
  const float* bias = use_bias_ ? bias_.data() : nullptr;
  const kernels::Threading threads = inference_threads();
  switch (precision_) {
    case WeightPrecision::int8:
      kernels::qdense_forward(z, ldz, x, ldx, int8_, rows,
                              relu ? kernels::Epilogue::relu : kernels::Epilogue::identity, threads);
      break;
    case WeightPrecision::float16: kernels::f16_gemm(z, ldz, x, ldx, f16_, bias, rows, threads); break;
    case WeightPrecision::float32: kernels::gemm_packed(z, ldz, x, ldx, f32_, bias, rows, threads); break;
  }
}

// The packs are current whatever `prepared` says: the layer has no parameters a view could open.
void InferenceDenseLayer::infer_rows(const float* x, Index ldx, float* y, Index ldy, Index rows,
                                     const StepContext&, bool) const {
  // ReLU runs inside the int8 epilogue.
  const bool fused_relu = precision_ == WeightPrecision::int8 && act_.spec.kind == ActivationKind::relu;
  product(y, ldy, x, ldx, rows, fused_relu);
  if (!fused_relu)
    act_.infer(y, ldy, y, ldy, rows, output_dim_, alpha_.empty() ? nullptr : alpha_.data());
}

void InferenceDenseLayer::forward(ConstMatrixMap<float> x, MatrixMap<float> y, const StepContext& ctx) {
  if (ctx.training)
    throw std::logic_error("QuantizedDense is inference-only: train the float model, then quantize");
  prepare_inference();
  // ReLU runs inside the int8 epilogue unless the pre-activation is wanted (a fused loss).
  const bool fused_relu = precision_ == WeightPrecision::int8 &&
                          act_.spec.kind == ActivationKind::relu && !ctx.keep_preactivation;
  float* z = fused_relu ? y.data() : act_.z_target(y, ctx);
  product(z, output_dim_, x.data(), input_dim_, x.rows(), fused_relu);
  if (!fused_relu) act_.forward(z, y, ctx, seed, alpha_.empty() ? nullptr : alpha_.data());
}

void InferenceDenseLayer::backward(ConstMatrixMap<float>, ConstMatrixMap<float>, MatrixMap<float>,
                                   float*, bool, const StepContext&) {
  throw std::logic_error("QuantizedDense is inference-only: it has no backward pass");
}

}  // namespace densekit
