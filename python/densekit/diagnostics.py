"""Diagnostics for vanishing and exploding gradients (SPEC §3 "Diagnostics").

- `layer_stats(model, X, y)`: per layer, mean/std of its activations, the norm of its weight
  gradient and the update/weight ratio, on a sample — a snapshot of how the signal flows forward
  and how the gradient flows back.
- `gradient_health(stats)`: the verdict GradientMonitor (callbacks.py) acts on.
- `signal_propagation(...)`: the Glorot/He argument reproduced numerically — activation and
  gradient variance through depth at initialization, for each initializer × activation pair.

The first two live in layer_statistics.py (below the callbacks, which GradientMonitor needs);
this module, in the tools tier, gathers them with the rest. Nothing here changes a model: the
gradients come from `Sequential.compute_gradients` (no update) and the layer state is put back.
No C++ of its own; matplotlib only when plotting.
"""

import math

import numpy as np

from . import _native
from . import activations as _activations
from . import initializers as _initializers
from ._pyplot import pyplot
from .layer_statistics import gradient_health, layer_stats

__all__ = ["layer_outputs", "layer_stats", "gradient_health", "signal_propagation",
           "format_signal_table", "plot_signal_propagation"]


# ----------------------------------------------------------------------------------------------
# activations and gradients of a model (computed in layer_statistics.py, which GradientMonitor
# shares from the callbacks tier)
# ----------------------------------------------------------------------------------------------
def layer_outputs(model, X, batch_size=1024):
    """The output of every layer of `model` on X (inference mode), as a list of arrays
    (Sequential.layer_outputs: one forward pass in total, no new weights)."""
    return model.layer_outputs(X, batch_size=batch_size)


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
                a = _native.core.activation_forward(*spec.core_args(), z, False, layer)
                zs.append(z)
                outs.append(a)
            g = g_top
            back = [0.0] * depth
            for layer in reversed(range(depth)):
                dz, _ = _native.core.activation_backward(*spec.core_args(), zs[layer], outs[layer],
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
    plt = pyplot()
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
