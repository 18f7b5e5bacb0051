"""Diagnostics for vanishing and exploding gradients (SPEC §3 "Diagnostics").

- `layer_stats(model, X, y)`: per layer, mean/std of its activations, the norm of its weight
  gradient and the update/weight ratio, on a sample — a snapshot of how the signal flows forward
  and how the gradient flows back.
- `gradient_health(stats)`: the verdict GradientMonitor (callbacks.py) acts on.
- `signal_propagation(...)`: the Glorot/He argument reproduced numerically — activation and
  gradient variance through depth at initialization, for each initializer × activation pair.

Nothing here changes a model: the gradients come from `Network.gradients` (no update) and any
layer state it could touch is put back. No C++ of its own; matplotlib only when plotting.
"""

import math

import numpy as np

from . import _native, training
from . import activations as _activations
from . import initializers as _initializers


# ----------------------------------------------------------------------------------------------
# activations and gradients of a model
# ----------------------------------------------------------------------------------------------
def layer_outputs(model, X, batch_size=1024):
    """The output of every layer of `model` on X (inference mode), as a list of arrays.

    Each layer runs in a one-layer network sharing that layer's parameters, so this costs one
    forward pass in total and builds no new weights."""
    from .models import Sequential
    model._require_built("layer_outputs")
    a = _as_features(model, X, "layer_outputs")
    outs = []
    for layer in model.layers:
        step = Sequential([layer], seed=model.seed, dtype=model.dtype)
        a = step.predict(a, batch_size=batch_size)
        outs.append(a)
    return outs


def _as_features(model, X, where):
    from . import _data
    return _data.as_features(X, model.dtype, model.input_dim, where)


def _snapshot_states(model):
    """Copies of every layer's state tensors (e.g. BN moving statistics)."""
    snap = []
    for layer in model.layers:
        core = getattr(layer, "_core", None)
        for name in getattr(core, "state_names", []) if core is not None else []:
            snap.append((core.value(name), core.value(name).copy()))
    return snap


def _restore_states(snap):
    for view, saved in snap:
        view[...] = saved


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
    model._require_compiled("layer_stats")
    X, Y, _ = training.prepare(model, X, y, None, None, "layer_stats")
    idx = _sample(X.shape[0], batch_size, seed)
    Xs = np.ascontiguousarray(X[idx])
    Ys = np.ascontiguousarray(Y[idx])

    outs = layer_outputs(model, Xs)
    snap = _snapshot_states(model)
    try:
        model._net.gradients(Xs, Ys, None)
    finally:
        _restore_states(snap)
    lr = float(model.optimizer.learning_rate)

    rows = []
    for layer, a in zip(model.layers, outs):
        a64 = a.astype(np.float64, copy=False)
        row = {"layer": layer.name, "type": type(layer).__name__,
               "activation_mean": float(a64.mean()), "activation_std": float(a64.std()),
               "kernel_norm": None, "grad_norm": None, "bias_grad_norm": None,
               "update_ratio": None}
        names = layer._core.param_names if getattr(layer, "_core", None) is not None else []
        if "kernel" in names:
            w_norm = float(np.linalg.norm(layer._core.value("kernel")))
            row["kernel_norm"] = w_norm
            if layer.trainable:
                g_norm = float(np.linalg.norm(layer._core.grad("kernel").astype(np.float64)))
                row["grad_norm"] = g_norm
                row["update_ratio"] = lr * g_norm / w_norm if w_norm > 0 else math.inf
                if "bias" in names:
                    row["bias_grad_norm"] = float(np.linalg.norm(
                        layer._core.grad("bias").astype(np.float64)))
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


# ----------------------------------------------------------------------------------------------
# the Glorot/He argument
# ----------------------------------------------------------------------------------------------
_DEFAULT_INITIALIZERS = ("glorot_uniform", "he_normal", "lecun_normal")
_DEFAULT_ACTIVATIONS = ("sigmoid", "tanh", "relu", "elu", "selu")


def signal_propagation(initializers=_DEFAULT_INITIALIZERS, activations=_DEFAULT_ACTIVATIONS,
                       depth=20, width=100, samples=1000, seed=0, plot=False):
    """Activation and gradient variance through `depth` Dense layers of `width` units at
    initialization, for every initializer × activation pair (biases zero).

    Inputs are standard normal (variance 1). Forward: the variance of each layer's output
    activations. Backward: a standard normal gradient enters at the top (∂L/∂a of the last layer)
    and the variance of ∂L/∂z is recorded at each layer on the way down — what the weight
    gradients of that layer are made of. Glorot and He's argument is that both should stay near
    constant; with the wrong pair one of them collapses or explodes geometrically with depth.

    Returns a list of dicts, one per pair:
      "initializer", "activation",
      "forward_variance": [depth values, layer 1 → depth],
      "backward_variance": [depth values, layer 1 → depth] (gradient arrives at layer `depth`),
      "forward_ratio": last layer's activation variance / input variance (1),
      "backward_ratio": backward variance at layer 1 / at layer `depth`.
    `plot=True` (or a pair of matplotlib Axes) draws both curves per pair on log scales.
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((samples, width))
    g_top = rng.standard_normal((samples, width))
    rows = []
    for p, init_name in enumerate(initializers):
        init = _initializers.get(init_name)
        for q, act_name in enumerate(activations):
            spec = _activations_get(act_name)
            kernels = []
            for layer in range(depth):
                W = np.empty((width, width), dtype=np.float64)
                _initializers.fill(init, W, _native.derive_seed(seed, 1000 * layer + 37 * p + q))
                kernels.append(W)
            a = x
            zs, outs = [], []
            for layer, W in enumerate(kernels):
                z = np.ascontiguousarray(a @ W)
                a = _native._core.activation_forward(*spec.core_args(), z, False, layer)
                zs.append(z)
                outs.append(a)
            g = g_top
            back = [0.0] * depth
            for layer in reversed(range(depth)):
                dz, _ = _native._core.activation_backward(*spec.core_args(), zs[layer], outs[layer],
                                                          np.ascontiguousarray(g), layer)
                back[layer] = float(np.var(dz))
                g = dz @ kernels[layer].T
            fwd = [float(np.var(o)) for o in outs]
            rows.append({"initializer": _name_of(init_name), "activation": spec.name,
                         "forward_variance": fwd, "backward_variance": back,
                         "forward_ratio": fwd[-1] / float(np.var(x)),
                         "backward_ratio": back[0] / back[-1] if back[-1] > 0 else math.nan})
    if plot:
        plot_signal_propagation(rows, axes=None if plot is True else plot)
    return rows


def _activations_get(name):
    spec = _activations.get(name)
    if spec.name in ("softmax", "prelu"):
        raise ValueError(f"signal_propagation: {spec.name!r} is not an element-wise hidden-layer "
                         f"activation; choose e.g. sigmoid, tanh, relu, elu, selu")
    return spec


def _name_of(init):
    return init if isinstance(init, str) else type(init).__name__


def format_signal_table(rows, layers=(1, 5, 10, 20)):
    """A Markdown table of `signal_propagation` rows: variances at the chosen layers."""
    depth = len(rows[0]["forward_variance"]) if rows else 0
    layers = [l for l in layers if 1 <= l <= depth]
    head = ["initializer", "activation"] + [f"Var(a) L{l}" for l in layers] + \
           [f"Var(∂z) L{l}" for l in layers]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["initializer"], r["activation"]]
        cells += [f"{r['forward_variance'][l - 1]:.3g}" for l in layers]
        cells += [f"{r['backward_variance'][l - 1]:.3g}" for l in layers]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_signal_propagation(rows, axes=None):
    """Two panels (forward activation variance, backward gradient variance) vs layer, one line per
    initializer × activation pair; returns the Axes pair."""
    from .callbacks import _pyplot
    plt = _pyplot()
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    ax_f, ax_b = axes
    for r in rows:
        label = f"{r['activation']} / {r['initializer']}"
        depth = len(r["forward_variance"])
        x = np.arange(1, depth + 1)
        line, = ax_f.plot(x, np.maximum(r["forward_variance"], 1e-300), label=label)
        ax_b.plot(x, np.maximum(r["backward_variance"], 1e-300), color=line.get_color(), label=label)
    for ax, title in ((ax_f, "activation variance (forward)"),
                      (ax_b, "gradient variance ∂L/∂z (backward, enters at the top)")):
        ax.set_yscale("log")
        ax.set_xlabel("layer")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
    ax_b.legend(fontsize=7, ncol=2)
    return axes
