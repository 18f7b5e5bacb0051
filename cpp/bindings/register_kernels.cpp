// Free functions: threading, initializers, and the raw kernels (exposed for tests and for
// gradient checks against NumPy/PyTorch).
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "densekit/kernels/activations.hpp"
#include "densekit/kernels/elementwise.hpp"
#include "densekit/kernels/initializers.hpp"
#include "densekit/kernels/losses.hpp"
#include "densekit/optim/optimizers.hpp"
#include "densekit/runtime/cpu_features.hpp"
#include "densekit/runtime/parallel.hpp"

namespace densekit::bindings {

namespace {

template <class T>
void def_typed_kernels(py::module_& m) {
  m.def(
      "variance_scaling",
      [](CArray<T> w, double scale, FanMode mode, Distribution dist, std::uint64_t seed) {
        if (w.ndim() != 2) throw py::value_error("variance_scaling: expected a 2-D array");
        auto* p = w.mutable_data();
        const Index fan_in = w.shape(0), fan_out = w.shape(1);
        py::gil_scoped_release release;
        variance_scaling<T>(p, fan_in, fan_out, scale, mode, dist, seed);
      },
      py::arg("w").noconvert(), py::arg("scale"), py::arg("mode"), py::arg("distribution"),
      py::arg("seed"));
  m.def(
      "orthogonal",
      [](CArray<T> w, double gain, std::uint64_t seed) {
        if (w.ndim() != 2) throw py::value_error("orthogonal: expected a 2-D array");
        orthogonal<T>(w.mutable_data(), w.shape(0), w.shape(1), gain, seed);
      },
      py::arg("w").noconvert(), py::arg("gain"), py::arg("seed"));
  // a = f(z) for a (B,N) array; prelu_alpha (N) for PReLU; key seeds RReLU's training slopes.
  m.def(
      "activation_forward",
      [](ActivationKind kind, double alpha, double lower, double upper, CArray<T> z, bool training,
         std::uint64_t key, std::optional<CArray<T>> prelu_alpha) {
        const ActivationSpec s{kind, alpha, lower, upper};
        CArray<T> a({z.shape(0), z.shape(1)});
        kernels::elementwise<T>().activation_forward(a.mutable_data(), z.data(), prelu_alpha ? prelu_alpha->data() : nullptr,
                              z.shape(0), z.shape(1), s, training, key, 0);
        return a;
      },
      py::arg("kind"), py::arg("alpha"), py::arg("lower"), py::arg("upper"),
      py::arg("z").noconvert(), py::arg("training"), py::arg("key"),
      py::arg("prelu_alpha").noconvert() = py::none());
  // Returns (dz, dalpha) for incoming gradient g = dL/da.
  m.def(
      "activation_backward",
      [](ActivationKind kind, double alpha, double lower, double upper, CArray<T> z, CArray<T> a,
         CArray<T> g, std::uint64_t key, std::optional<CArray<T>> prelu_alpha) {
        const ActivationSpec s{kind, alpha, lower, upper};
        CArray<T> dz({g.shape(0), g.shape(1)});
        std::copy(g.data(), g.data() + g.size(), dz.mutable_data());
        CArray<T> dalpha(std::vector<py::ssize_t>{z.shape(1)});
        kernels::elementwise<T>().activation_backward(dz.mutable_data(), prelu_alpha ? dalpha.mutable_data() : nullptr,
                               z.data(), a.data(), prelu_alpha ? prelu_alpha->data() : nullptr,
                               z.shape(0), z.shape(1), s, key, 0);
        return py::make_tuple(dz, dalpha);
      },
      py::arg("kind"), py::arg("alpha"), py::arg("lower"), py::arg("upper"),
      py::arg("z").noconvert(), py::arg("a").noconvert(), py::arg("g").noconvert(),
      py::arg("key"), py::arg("prelu_alpha").noconvert() = py::none());
}

}  // namespace

void register_kernels(py::module_& m) {
  m.def("set_num_threads", &set_num_threads, py::arg("n"),
        "Threads used by densekit's kernels (default: OMP_NUM_THREADS or the core count).");
  m.def("get_num_threads", &num_threads);
  m.def("kernel_isa", [] { return std::string(kernels::isa_name(kernels::active_isa())); },
        "The instruction-set path the kernels run (portable, avx2, avx512): the best this CPU "
        "supports, or DENSEKIT_ISA's when it does.");
  m.def("cpu_model", [] { return std::string(runtime::cpu_model_name()); },
        "The CPU's model name as the operating system reports it ('' where unknown).");
  py::class_<OptimizerConfig>(m, "OptimizerConfig")
      .def(py::init<>())
      .def_readwrite("kind", &OptimizerConfig::kind)
      .def_readwrite("learning_rate", &OptimizerConfig::learning_rate)
      .def_readwrite("momentum", &OptimizerConfig::momentum)
      .def_readwrite("nesterov", &OptimizerConfig::nesterov)
      .def_readwrite("rho", &OptimizerConfig::rho)
      .def_readwrite("centered", &OptimizerConfig::centered)
      .def_readwrite("initial_accumulator_value", &OptimizerConfig::initial_accumulator_value)
      .def_readwrite("beta_1", &OptimizerConfig::beta_1)
      .def_readwrite("beta_2", &OptimizerConfig::beta_2)
      .def_readwrite("epsilon", &OptimizerConfig::epsilon)
      .def_readwrite("epsilon_inside_root", &OptimizerConfig::epsilon_inside_root)
      .def_readwrite("amsgrad", &OptimizerConfig::amsgrad)
      .def_readwrite("momentum_decay", &OptimizerConfig::momentum_decay)
      .def_readwrite("weight_decay", &OptimizerConfig::weight_decay)
      .def_readwrite("clipvalue", &OptimizerConfig::clipvalue)
      .def_readwrite("clipnorm", &OptimizerConfig::clipnorm)
      .def_readwrite("global_clipnorm", &OptimizerConfig::global_clipnorm);
  def_typed_kernels<float>(m);
  def_typed_kernels<double>(m);
}

}  // namespace densekit::bindings
