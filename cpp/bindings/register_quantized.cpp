// Quantized inference (float32 models only): the QuantizedDense layer (int8, float16 or kept
// float32 weights), the weight quantization of the int8 scheme, static activation parameters,
// which int8 path this CPU runs, and a forward timer quantize() uses to keep float32 where int8
// is slower.
//
// Tensors go in through set_int8/set_float16/set_float32 (which repack) and come out as copies:
// a writable view would let Python change weights behind the packed form's back.
#include <pybind11/stl.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#include "bindings.hpp"
#include "densekit/model/inference_dense.hpp"

namespace densekit::bindings {

namespace {

using kernels::ActivationQuant;

template <class E>
CArray<E> vector_copy(const std::vector<E>& v, py::ssize_t rows, py::ssize_t cols) {
  CArray<E> out({rows, cols});
  if (!v.empty()) std::memcpy(out.mutable_data(), v.data(), v.size() * sizeof(E));
  return out;
}

template <class E>
const E* checked(const std::optional<CArray<E>>& a, py::ssize_t size, const char* what) {
  if (!a) return nullptr;
  if (a->size() != size)
    throw py::value_error(std::string("QuantizedDense: ") + what + " must have " +
                          std::to_string(size) + " elements, got " + std::to_string(a->size()));
  return a->data();
}

// set_float16 / set_float32: the kernel's shape checked, the core's errors as ValueError.
template <class E>
void set_kernel(InferenceDenseLayer& q, const CArray<E>& kernel, const std::optional<CArray<float>>& bias,
                const std::optional<CArray<float>>& alpha, const char* what,
                void (InferenceDenseLayer::*set)(const E*, const float*, const float*)) {
  const py::ssize_t in = q.input_dim(), out = q.output_dim();
  if (kernel.ndim() != 2 || kernel.shape(0) != in || kernel.shape(1) != out)
    throw py::value_error(std::string("QuantizedDense: the ") + what + " kernel must have shape (" +
                          std::to_string(in) + ", " + std::to_string(out) + ")");
  try {
    (q.*set)(kernel.data(), checked(bias, out, "bias"), checked(alpha, out, "alpha"));
  } catch (const std::invalid_argument& e) {
    throw py::value_error(e.what());
  }
}

WeightPrecision parse_precision(const std::string& name) {
  if (name == "int8") return WeightPrecision::int8;
  if (name == "float16") return WeightPrecision::float16;
  if (name == "float32") return WeightPrecision::float32;
  throw py::value_error("QuantizedDense: precision must be 'int8', 'float16' or 'float32', got '" +
                        name + "'");
}

// Median seconds of one inference call (Layer::infer, the prediction path) of `layer` on the
// rows of x (rows, IN), after a warm-up (which also builds its inference copies).
double median_forward_seconds(const Layer<float>& layer, const CArray<float>& x, int repeats) {
  const Index rows = x.shape(0), in = layer.input_dim(), out = layer.output_dim();
  std::vector<float> y(std::size_t(rows * out));
  const StepContext ctx;  // inference
  std::vector<double> times;
  for (int r = -2; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    layer.infer(x.data(), in, y.data(), out, rows, ctx);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (r >= 0) times.push_back(s);
  }
  std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
  return times[times.size() / 2];
}

}  // namespace

void register_quantized(py::module_& m) {
  using Q = InferenceDenseLayer;
  py::class_<Q, Layer<float>, std::shared_ptr<Q>>(m, "QuantizedDenseLayer32")
      .def(py::init([](Index in, Index out, bool use_bias, ActivationKind act, double alpha,
                       double lower, double upper, const std::string& precision, int weight_bits,
                       int activation_bits, bool dynamic, float scale, float inv_scale,
                       std::int32_t zero_point) {
             if (weight_bits != 8 && weight_bits != 7)
               throw py::value_error("QuantizedDense: weight_bits must be 8 or 7");
             if (activation_bits != 8 && activation_bits != 7)
               throw py::value_error("QuantizedDense: activation_bits must be 8 or 7");
             ActivationQuant aq;
             aq.act_max = activation_bits == 8 ? 255 : 127;
             aq.dynamic = dynamic;
             aq.scale = scale;
             aq.inv_scale = inv_scale;
             aq.zero_point = zero_point;
             try {
               return std::make_shared<Q>(in, out, use_bias, ActivationSpec{act, alpha, lower, upper},
                                          parse_precision(precision), aq, weight_bits == 8 ? 127 : 63);
             } catch (const std::invalid_argument& e) {
               throw py::value_error(e.what());
             }
           }),
           py::arg("input_dim"), py::arg("units"), py::arg("use_bias"), py::arg("activation"),
           py::arg("alpha"), py::arg("lower"), py::arg("upper"), py::arg("precision"),
           py::arg("weight_bits") = 7, py::arg("activation_bits") = 8, py::arg("dynamic") = true,
           py::arg("scale") = 0.0f, py::arg("inv_scale") = 0.0f, py::arg("zero_point") = 0)
      .def_property_readonly("precision", [](const Q& q) { return precision_name(q.precision()); })
      .def_property_readonly("weight_bits", [](const Q& q) { return q.weight_max() == 127 ? 8 : 7; })
      .def_property_readonly("activation_bits",
                             [](const Q& q) { return q.activation_quant().act_max == 255 ? 8 : 7; })
      .def_property_readonly("dynamic", [](const Q& q) { return q.activation_quant().dynamic; })
      .def_property_readonly("activation_scale", [](const Q& q) { return q.activation_quant().scale; })
      .def_property_readonly("activation_inv_scale",
                             [](const Q& q) { return q.activation_quant().inv_scale; })
      .def_property_readonly("activation_zero_point",
                             [](const Q& q) { return q.activation_quant().zero_point; })
      .def_property_readonly("ready", &Q::ready)
      .def_property_readonly("packed_bytes", &Q::packed_bytes)
      .def(
          "set_int8",
          [](Q& q, CArray<std::int8_t> kernel, CArray<float> scales, std::optional<CArray<float>> bias,
             std::optional<CArray<float>> alpha) {
            const py::ssize_t in = q.input_dim(), out = q.output_dim();
            if (kernel.ndim() != 2 || kernel.shape(0) != in || kernel.shape(1) != out)
              throw py::value_error("QuantizedDense: the int8 kernel must have shape (" +
                                    std::to_string(in) + ", " + std::to_string(out) + ")");
            const float* s = checked(std::optional<CArray<float>>(scales), out, "kernel_scale");
            const float* b = checked(bias, out, "bias");
            const float* a = checked(alpha, out, "alpha");
            try {
              q.set_int8(kernel.data(), s, b, a);
            } catch (const std::invalid_argument& e) {
              throw py::value_error(e.what());
            }
          },
          py::arg("kernel").noconvert(), py::arg("kernel_scale").noconvert(),
          py::arg("bias").noconvert() = py::none(), py::arg("alpha").noconvert() = py::none())
      .def(
          "set_float16",
          [](Q& q, CArray<std::uint16_t> kernel, std::optional<CArray<float>> bias,
             std::optional<CArray<float>> alpha) {
            set_kernel(q, kernel, bias, alpha, "float16", &Q::set_float16);
          },
          py::arg("kernel_bits").noconvert(), py::arg("bias").noconvert() = py::none(),
          py::arg("alpha").noconvert() = py::none())
      .def(
          "set_float32",
          [](Q& q, CArray<float> kernel, std::optional<CArray<float>> bias,
             std::optional<CArray<float>> alpha) {
            set_kernel(q, kernel, bias, alpha, "float32", &Q::set_float32);
          },
          py::arg("kernel").noconvert(), py::arg("bias").noconvert() = py::none(),
          py::arg("alpha").noconvert() = py::none())
      // Copies of the stored tensors: kernel (IN,OUT) as int8, uint16 (float16 bits) or float32;
      // the (1,OUT) vectors as float32 (None when the layer has none).
      .def("kernel", [](const Q& q) -> py::object {
        const py::ssize_t in = q.input_dim(), out = q.output_dim();
        switch (q.precision()) {
          case WeightPrecision::int8: return vector_copy(q.kernel_int8(), in, out);
          case WeightPrecision::float16: return vector_copy(q.kernel_float16(), in, out);
          case WeightPrecision::float32: return vector_copy(q.kernel_float32(), in, out);
        }
        return py::none();
      })
      .def("vector", [](const Q& q, const std::string& name) -> py::object {
        const std::vector<float>* v = name == "kernel_scale" ? &q.kernel_scales()
                                      : name == "bias"      ? &q.bias()
                                      : name == "alpha"     ? &q.alpha()
                                                            : nullptr;
        if (!v) throw py::key_error("QuantizedDense has no vector '" + name + "'");
        if (v->empty()) return py::none();
        return vector_copy(*v, 1, py::ssize_t(v->size()));
      }, py::arg("name"));

  m.def(
      "quantize_weights",
      [](CArray<float> w, int weight_bits) {
        if (w.ndim() != 2) throw py::value_error("quantize_weights: expected a 2-D kernel");
        if (weight_bits != 8 && weight_bits != 7)
          throw py::value_error("quantize_weights: weight_bits must be 8 or 7");
        const py::ssize_t in = w.shape(0), out = w.shape(1);
        CArray<std::int8_t> wq({in, out});
        CArray<float> scales(std::vector<py::ssize_t>{out});
        try {
          kernels::quantize_weights<float>(wq.mutable_data(), out, scales.mutable_data(), w.data(),
                                           out, in, out, weight_bits == 8 ? 127 : 63);
        } catch (const std::invalid_argument& e) {
          throw py::value_error(e.what());
        }
        return py::make_tuple(wq, scales);
      },
      py::arg("kernel").noconvert(), py::arg("weight_bits"),
      "The int8 scheme's weights: (wq int8 (in, out), per-column scales float32 (out,)).");
  m.def(
      "static_activation_quant",
      [](float lo, float hi, int activation_bits) {
        if (activation_bits != 8 && activation_bits != 7)
          throw py::value_error("static_activation_quant: activation_bits must be 8 or 7");
        const ActivationQuant a =
            kernels::static_activation_quant(lo, hi, activation_bits == 8 ? 255 : 127);
        return py::make_tuple(a.scale, a.inv_scale, a.zero_point);
      },
      py::arg("lo"), py::arg("hi"), py::arg("activation_bits"),
      "(scale, inv_scale, zero_point) of a layer input calibrated to the range [lo, hi].");
  m.def("int8_path", [] { return std::string(kernels::int8_path_name(kernels::active_int8_path())); },
        "The int8 kernel path this process runs (portable, avx2, avxvnni, avx512vnni).");
  m.def(
      "median_forward_seconds",
      [](const Layer<float>& layer, CArray<float> x, int repeats) {
        if (x.ndim() != 2 || x.shape(1) != layer.input_dim())
          throw py::value_error("median_forward_seconds: x has the wrong shape");
        if (repeats < 1) throw py::value_error("median_forward_seconds: repeats must be >= 1");
        py::gil_scoped_release release;
        return median_forward_seconds(layer, x, repeats);
      },
      py::arg("layer"), py::arg("x").noconvert(), py::arg("repeats"),
      "Median wall time of one inference call (the prediction path) of a float32 layer on x.");
}

}  // namespace densekit::bindings
