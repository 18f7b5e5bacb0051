"""What GradientMonitor and dk.diagnostics report about a model's layers: the statistics of its
forward and backward pass on a sample (`layer_stats`) and the verdict on them
(`gradient_health`).

It reads the model through its public contract only — `layer_outputs`, `compute_gradients`,
`get_state`/`set_state`, each layer's `variable`/`gradient` — so it sits below the callbacks
that use it and imports no model class. Nothing here changes a model: the gradients come from a
pass without an update, and the layer state is put back afterwards.
"""

import math

import numpy as np

from . import _data


def _sample(n, batch_size, seed=0):
    if batch_size is None or batch_size >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=batch_size, replace=False))


def layer_stats(model, X, y, batch_size=256, seed=0):
    """Per-layer statistics on a sample of `batch_size` rows of (X, y) (all rows if None).

    Returns a list with one dict per layer of `model.layers`:
      "layer", "type"                          name and class of the layer
      "activation_mean", "activation_std"      of the layer's output (inference mode)
      "kernel_norm"                            ‖W‖ (Frobenius), None for layers without a kernel
      "grad_norm"                              ‖∂L/∂W‖ on the sample (training-mode forward, as a
                                               training step would see it), None without a
                                               trainable kernel
      "bias_grad_norm"                         ‖∂L/∂b‖ or None
      "update_ratio"                           lr·‖∂L/∂W‖/‖W‖ with the optimizer's current
                                               learning rate — the relative size of a plain-SGD
                                               step (≈1e-3 is healthy; adaptive optimizers
                                               rescale per weight, so read it as a trend there)
    The model must be compiled (the gradient needs its loss). Weights, optimizer state, random
    streams and layer states are left exactly as they were.
    """
    if model.optimizer is None:
        raise RuntimeError("layer_stats: compile the model first (model.compile(optimizer, loss))")
    if not model.built:
        model.build()
    X, Y, _ = _data.prepare(model, X, y, None, None, "layer_stats")
    idx = _sample(X.shape[0], batch_size, seed)
    Xs = np.ascontiguousarray(X[idx])
    Ys = np.ascontiguousarray(Y[idx])

    outs = model.layer_outputs(Xs)
    snap = model.get_state(include_optimizer=False)
    try:
        model.compute_gradients(Xs, Ys)
    finally:
        model.set_state(snap)
    lr = float(model.optimizer.learning_rate)

    rows = []
    for layer, a in zip(model.layers, outs):
        a64 = a.astype(np.float64, copy=False)
        row = {"layer": layer.name, "type": type(layer).__name__,
               "activation_mean": float(a64.mean()), "activation_std": float(a64.std()),
               "kernel_norm": None, "grad_norm": None, "bias_grad_norm": None,
               "update_ratio": None}
        names = layer.parameter_names
        if "kernel" in names:
            w_norm = float(np.linalg.norm(layer.variable("kernel")))
            row["kernel_norm"] = w_norm
            if layer.trainable:
                g_norm = float(np.linalg.norm(layer.gradient("kernel").astype(np.float64)))
                row["grad_norm"] = g_norm
                row["update_ratio"] = lr * g_norm / w_norm if w_norm > 0 else math.inf
                if "bias" in names:
                    row["bias_grad_norm"] = float(np.linalg.norm(
                        layer.gradient("bias").astype(np.float64)))
        rows.append(row)
    return rows


def gradient_health(stats, orders=3.0, explode_norm=1e4):
    """("vanishing" | "exploding" | None, explanation) for the rows of `layer_stats`.

    Compares the kernel-gradient norm of the first trainable layer with the last one's: a ratio
    below 10**-orders is vanishing, above 10**orders (or any non-finite norm, or one above
    `explode_norm`) is exploding."""
    norms = [(r["layer"], r["grad_norm"]) for r in stats if r["grad_norm"] is not None]
    if not norms:
        return None, "no trainable kernels"
    bad = [name for name, g in norms if not math.isfinite(g)]
    if bad:
        return "exploding", f"non-finite gradient norm in layer(s) {bad}"
    big = [(name, g) for name, g in norms if g > explode_norm]
    if big:
        return "exploding", (f"gradient norm above {explode_norm:g} in " +
                             ", ".join(f"{n} ({g:.3g})" for n, g in big))
    if len(norms) < 2:
        return None, "one trainable layer"
    (first, g_first), (last, g_last) = norms[0], norms[-1]
    if g_last == 0.0:
        return (None, "zero gradients") if g_first == 0.0 else \
            ("exploding", f"‖∂L/∂W‖ is 0 in {last} but {g_first:.3g} in {first}")
    ratio = g_first / g_last
    detail = f"‖∂L/∂W‖ is {g_first:.3g} in {first} (input side) vs {g_last:.3g} in {last} " \
             f"(output side), ratio {ratio:.3g}"
    if ratio < 10.0 ** -orders:
        return "vanishing", detail + " (try He/LeCun initialization, ELU/SELU, BatchNormalization)"
    if ratio > 10.0 ** orders:
        return "exploding", detail + " (try a lower learning rate, gradient clipping, " \
                                     "BatchNormalization)"
    return None, detail
