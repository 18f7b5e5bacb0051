// The extension module densekit._core: one register_* call per area.
#include "bindings.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "densekit's C++ core (layers, networks, optimizers, kernels)";
  densekit::bindings::register_kinds(m);  // first: the other units' signatures use the enums
  densekit::bindings::register_kernels(m);
  densekit::bindings::register_distributed(m);  // before the networks: train() takes a Communicator
  densekit::bindings::register_network<float>(m, "32");
  densekit::bindings::register_network<double>(m, "64");
  densekit::bindings::register_quantized(m);  // after Layer32, its base class
}
