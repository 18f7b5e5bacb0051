"""BatchNormalization folding for low-latency inference (Sequential.fold_batchnorm).

Builds a new, independent model: Dense(linear) → BatchNormalization [→ Activation] becomes one
Dense whose kernel and bias absorb the normalization (and whose activation is the merged one);
Dropout/AlphaDropout, the identity in inference, are left out (or kept, for a model that will
still run MC Dropout: quantize keeps them); every other layer is copied.
The model passes itself and the class to build the copy with: this module imports no model.
"""

import numpy as np

from . import layers as L
from . import optimizers


def _copy_layer(layer):
    clone = type(layer).from_config(layer.get_config())
    return clone, layer.get_weights()


def _folded(dense, bn, activation):
    """A new Dense equal to dense → bn → activation in inference mode, and its weights."""
    W = dense.kernel.astype(np.float64)
    b = dense.bias.astype(np.float64) if dense.use_bias else np.zeros(dense.units)
    gamma = bn.gamma.astype(np.float64) if bn.scale else np.ones(dense.units)
    beta = bn.beta.astype(np.float64) if bn.center else np.zeros(dense.units)
    s = gamma / np.sqrt(bn.moving_variance.astype(np.float64) + bn.epsilon)
    new = L.Dense(dense.units, activation=activation, use_bias=True, name=dense.name)
    return new, [W * s, (b - bn.moving_mean) * s + beta]


def fold_batchnorm(model, model_class, keep_dropout=False):
    """The folded copy of a built `model`, a `model_class` (compiled like `model` if it is);
    with keep_dropout its Dropout and AlphaDropout layers are copied instead of dropped."""
    src = model.layers
    out, weights = [], []
    i = 0
    while i < len(src):
        layer = src[i]
        if isinstance(layer, (L.Dropout, L.AlphaDropout)) and not keep_dropout:
            i += 1
            continue
        nxt = src[i + 1] if i + 1 < len(src) else None
        if (isinstance(layer, L.Dense) and layer.activation.name == "linear"
                and isinstance(nxt, L.BatchNormalization)):
            j = i + 2
            activation = None
            after = src[j] if j < len(src) else None
            if isinstance(after, L.Activation) and after.activation.name != "prelu":
                activation = after.activation
                j += 1
            new, w = _folded(layer, nxt, activation)
            out.append(new)
            weights.append(w)
            i = j
            continue
        new, w = _copy_layer(layer)
        out.append(new)
        weights.append(w)
        i += 1
    folded = model_class([L.Input(model.input_shape or model.input_dim)] + out, seed=model.seed,
                         dtype=model.dtype, name=model.name + "_folded")
    for layer, w in zip(folded.layers, weights):
        # A quantized layer's tensors keep their own dtypes (int8, float16).
        layer.set_weights(w if layer.inference_only else [np.asarray(a, dtype=folded.dtype) for a in w])
    if model.optimizer is not None:
        folded.compile(optimizer=optimizers.deserialize(optimizers.serialize(model.optimizer)),
                       loss=model.loss, metrics=model.metrics_names[1:])
    return folded
