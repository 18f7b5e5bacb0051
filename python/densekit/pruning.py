"""Magnitude pruning (SPEC §3, "Low-latency inference"): dk.prune and the PruningSchedule callback.

`prune(model, sparsity, scope)` zeroes the given fraction of a model's Dense kernel weights — the
smallest in magnitude, over all kernels together ("global") or within each kernel ("layer") — and
attaches a mask to each kernel, which the C++ training step enforces: a pruned weight gets no
gradient and is re-zeroed after every update, so fine-tuning keeps it exactly zero whatever the
optimizer. Pruning is monotone: a weight pruned once stays pruned (masks only lose entries).
Inference on the pruned layers takes the sparse kernels where they are faster
(cpp/include/densekit/model/sparse_inference.hpp).

`schedule_sparsity` is the target of gradual pruning during fit (the PruningSchedule callback in
callbacks.py applies it), Zhu & Gupta's polynomial schedule ("To prune, or
not to prune", 2017): at step t in [begin_step, end_step], every `frequency` steps and at
end_step, the target sparsity is
    s_t = s_f + (s_i − s_f)·(1 − (t − begin_step)/(end_step − begin_step))^power
(power=3 as in the paper; power=1 is linear).

This module works through the public layer contract (parameter views, weight masks) and imports
no model class.
"""

import math

import numpy as np

from ._checks import is_real

SCOPES = ("global", "layer")


def check_sparsity(value, where):
    if not (is_real(value) and math.isfinite(value) and 0 <= value < 1):
        raise ValueError(f"{where}: sparsity must be a number in [0, 1), got {value!r}")
    return float(value)


def prunable_layers(model):
    """The model's layers with a trained Dense kernel, in order."""
    if not model.built:
        model.build()
    if any(layer.inference_only for layer in model.layers):
        raise ValueError("prune: the model is quantized (inference only); prune the float model, "
                         "fine-tune it, then quantize")
    layers, seen = [], set()
    for layer in model.layers:
        if "kernel" in layer.parameter_names and id(layer) not in seen:
            seen.add(id(layer))
            layers.append(layer)
    if not layers:
        raise ValueError("prune: the model has no layer with a kernel to prune")
    return layers


def _count(sparsity, n):
    """How many of n weights a sparsity prunes (rounded to the nearest)."""
    return min(n, int(math.floor(sparsity * n + 0.5)))


def _smallest(magnitudes, k, already):
    """Boolean mask of the k smallest magnitudes (ties broken by position), always including the
    entries of `already` (pruned before)."""
    pruned = already.copy()
    k = max(k, int(already.sum()))
    if k > 0:
        key = np.where(already, -1.0, magnitudes)  # the old mask first, then by magnitude
        order = np.argsort(key, kind="stable")
        pruned[order[:k]] = True
    return pruned


def prune(model, sparsity, scope="global"):
    """Sets the `sparsity` fraction of the model's Dense kernel weights with the smallest
    magnitudes to exactly zero and keeps them there through further training (fine-tuning).

    scope="global": one magnitude threshold over all kernels together (layers end up with
    different sparsities; Han et al. 2015); scope="layer": each kernel pruned to `sparsity`.
    Weights pruned before stay pruned (a mask only grows), and count towards the fraction.
    Returns the exact fraction of zero kernel weights per layer and overall, as
    model.sparsity(exact=True) reports it."""
    where = "prune"
    sparsity = check_sparsity(sparsity, where)
    if scope not in SCOPES:
        raise ValueError(f"{where}: scope must be 'global' or 'layer', got {scope!r}")
    layers = prunable_layers(model)
    kernels = [np.asarray(layer.variable("kernel"), dtype=np.float64) for layer in layers]
    old = []
    for layer, k in zip(layers, kernels):
        m = layer.weight_mask("kernel")
        old.append(np.zeros(k.shape, dtype=bool) if m is None else ~m)
    if scope == "layer":
        pruned = [_smallest(np.abs(k).ravel(), _count(sparsity, k.size), o.ravel()).reshape(k.shape)
                  for k, o in zip(kernels, old)]
    else:
        flat = np.concatenate([np.abs(k).ravel() for k in kernels])
        flat_old = np.concatenate([o.ravel() for o in old])
        chosen = _smallest(flat, _count(sparsity, flat.size), flat_old)
        pruned, pos = [], 0
        for k in kernels:
            pruned.append(chosen[pos:pos + k.size].reshape(k.shape))
            pos += k.size
    for layer, p in zip(layers, pruned):
        layer.set_weight_mask("kernel", ~p)
    return model.sparsity(exact=True)


def schedule_sparsity(step, final_sparsity, begin_step, end_step, initial_sparsity=0.0, power=3):
    """Zhu & Gupta's target sparsity at `step` (clamped to [begin_step, end_step])."""
    if end_step <= begin_step:
        return final_sparsity if step >= begin_step else initial_sparsity
    t = min(max(step, begin_step), end_step)
    progress = (t - begin_step) / (end_step - begin_step)
    return final_sparsity + (initial_sparsity - final_sparsity) * (1.0 - progress) ** power
