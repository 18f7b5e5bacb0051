// The core's enums as Python enum.IntEnum classes (densekit._core.ActivationKind, ...).
//
// Members and values come from the name tables in densekit/kinds.hpp, the one place they are
// written; aliases there become Python enum aliases (ActivationKind["silu"] is
// ActivationKind.swish). Bound functions take these enum types, so Python cannot pass an
// out-of-range code: a plain int is refused, and ActivationKind(99) raises ValueError.
#include <pybind11/native_enum.h>

#include <string>

#include "bindings.hpp"
#include "densekit/kinds.hpp"

namespace densekit::bindings {

namespace {

template <class E>
void def_enum(py::module_& m, const char* doc) {
  const std::string type(Names<E>::type);
  py::native_enum<E> e(m, type.c_str(), "enum.IntEnum", doc);
  for (const auto& entry : Names<E>::entries) e.value(std::string(entry.name).c_str(), entry.value);
  for (const auto& alias : Aliases<E>::entries) e.value(std::string(alias.name).c_str(), alias.value);
  e.finalize();
}

}  // namespace

void register_kinds(py::module_& m) {
  def_enum<ActivationKind>(m, "Activation functions (densekit.activations resolves names to these).");
  def_enum<LossKind>(m, "Loss functions (densekit.losses).");
  def_enum<AccuracyKind>(m, "Which accuracy a loss reports (none for regression losses).");
  def_enum<OptimizerKind>(m, "Optimizer update rules (densekit.optimizers).");
  def_enum<ConstraintKind>(m, "Weight constraints (densekit.constraints).");
  def_enum<FanMode>(m, "VarianceScaling's fan: fan_in, fan_out or their mean.");
  def_enum<Distribution>(m, "VarianceScaling's distribution.");
}

}  // namespace densekit::bindings
