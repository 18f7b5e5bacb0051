// Pruning masks in the training step (dk.prune, dk.callbacks.PruningSchedule).
//
// A pruned parameter carries a mask (Param::mask, one byte per element, 0 = pruned). The step
// applies it twice, like a constraint: the gradient of a pruned weight is zeroed before the
// optimizer sees it — so clipping norms and optimizer slots reflect the pruned network only, as
// when the forward pass multiplies the weights by the mask — and the weight itself is set to
// exactly zero after the update, whatever momentum or decay the rule applies. A pruned weight
// therefore stays 0.0 through any number of steps of any optimizer.
#pragma once

#include "densekit/model/layers.hpp"

namespace densekit {

// dL/dθ of every pruned element of p set to 0 (nothing when p has no mask).
template <class T>
void mask_gradient(Param<T>& p) {
  if (p.mask.empty()) return;
  const std::uint8_t* m = p.mask.data();
  for (Index i = 0, n = p.size(); i < n; ++i)
    if (!m[i]) p.grad[i] = T(0);
}

// Every pruned element of p set to exactly +0 (nothing when p has no mask).
template <class T>
void mask_value(Param<T>& p) {
  if (p.mask.empty()) return;
  const std::uint8_t* m = p.mask.data();
  for (Index i = 0, n = p.size(); i < n; ++i)
    if (!m[i]) p.value[i] = T(0);
}

}  // namespace densekit
