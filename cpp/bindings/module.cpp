// The extension module densekit._core: one register_* call per area.
#include "bindings.hpp"

// The same sources build one module per instruction-set level (_core, _core_avx2, ...).
#ifndef DENSEKIT_MODULE_NAME
#define DENSEKIT_MODULE_NAME _core
#endif

PYBIND11_MODULE(DENSEKIT_MODULE_NAME, m) {
  m.doc() = "densekit's C++ core (layers, networks, optimizers, kernels)";
#ifdef DENSEKIT_ISA_NAME
  m.attr("isa") = DENSEKIT_ISA_NAME;  // which build of the core this is
#endif
  densekit::bindings::register_kinds(m);  // first: the other units' signatures use the enums
  densekit::bindings::register_kernels(m);
  densekit::bindings::register_network<float>(m, "32");
  densekit::bindings::register_network<double>(m, "64");
  densekit::bindings::register_quantized(m);  // after Layer32, its base class
}
