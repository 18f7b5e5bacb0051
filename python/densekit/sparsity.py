"""How sparse a model's weights are: the fraction of kernel entries with |w| below a threshold.

l1 regularization (SPEC §3) pushes weights towards zero; with a subgradient step they do not land
on exactly 0.0 but oscillate within about η·λ of it, so sparsity is measured against a small
threshold rather than counted as exact zeros. Only kernels are counted (biases and PReLU slopes
are not connections). This module reads the zero-copy kernel views; it never changes the model.
"""

import math
import numbers

import numpy as np

OVERALL = "overall"


def sparsity(model, threshold=1e-3, exact=False):
    """Fraction of kernel weights with |w| < threshold (exact=True: with w == 0, whatever the
    threshold), per layer and overall.

    Returns a dict {layer name: fraction} for every layer that has a kernel (in model order),
    plus ``"overall"``: the fraction over all kernel entries of the model together (layers
    weighted by their kernel size, not averaged).
    """
    if not (isinstance(threshold, numbers.Real) and not isinstance(threshold, bool)
            and math.isfinite(threshold) and threshold >= 0):
        raise ValueError(f"sparsity: threshold must be a finite number >= 0, got {threshold!r}")
    if not model.built:
        model.build()
    out = {}
    below = total = 0
    for layer in model.layers:
        if "kernel" not in layer.parameter_names + layer.state_names:
            continue
        if layer.name == OVERALL:
            raise ValueError(f"sparsity: a layer is named {OVERALL!r}, which is the key of the total")
        w = layer.kernel
        # Compared in float64: a float32 kernel is not judged against a rounded threshold.
        n_below = int(np.count_nonzero(w == 0 if exact else np.abs(w) < np.float64(threshold)))
        out[layer.name] = n_below / w.size
        below += n_below
        total += w.size
    out[OVERALL] = below / total if total else 0.0
    return out
