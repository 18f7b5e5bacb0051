"""ONNX node groups for densekit's layers: one converter per layer class, in a registry.

A converter is `fn(g, layer, x) -> y`: it appends the layer's inference-mode computation to the
GraphBuilder `g` (inside the layer's name scope) and returns the output value. It reads the layer
through its public API only (config attributes, `get_weights()`). The registry is keyed by the
exact class: a subclass of a densekit layer may compute something else, so it is refused unless
a converter is registered for it (`register`). New layer kinds (e.g. an int8 Dense as a
QuantizeLinear/DequantizeLinear/MatMul group) are added the same way, without touching the others.
"""

import numpy as np

from .. import layers as L
from .onnx_activations import convert_activation

CONVERTERS = {}


def register(*layer_classes):
    """Decorator: `fn` converts layers of exactly these classes."""
    def add(fn):
        for cls in layer_classes:
            CONVERTERS[cls] = fn
        return fn
    return add


def converter_for(layer):
    return CONVERTERS.get(type(layer))


@register(L.Dense)
def dense(g, layer, x):
    """y = activation(x·W + b) as Gemm (W stored (in, out), so no transpose) + activation."""
    weights = layer.get_weights()
    kernel = g.const("kernel", weights[0])
    inputs = [x, kernel] + ([g.const("bias", weights[1])] if layer.use_bias else [])
    z = g.op("Gemm", inputs)
    slopes = weights[-1] if layer.activation.name == "prelu" else None
    return convert_activation(g, z, layer.activation, slopes)


@register(L.Activation, L.ReLU, L.LeakyReLU, L.PReLU, L.RReLU, L.ELU, L.SELU, L.GELU, L.Swish,
          L.Softplus, L.Softmax, L.Sigmoid, L.Tanh, L.Mish, L.HardSigmoid, L.Softsign,
          L.Exponential, L.ReLU6)
def activation(g, layer, x):
    slopes = layer.get_weights()[0] if layer.activation.name == "prelu" else None
    return convert_activation(g, x, layer.activation, slopes)


@register(L.Flatten)
def flatten(g, layer, x):
    """ONNX's Flatten (axis 1): samples of several dimensions become rows; flat rows pass."""
    return g.op("Flatten", [x], axis=1)


@register(L.BatchNormalization)
def batch_normalization(g, layer, x):
    """Inference-mode BN as one BatchNormalization node on the moving statistics."""
    gamma, beta, mean, variance = _batchnorm_parameters(layer)
    epsilon = float(np.float32(layer.epsilon))  # ONNX attributes are float32
    if g.float64:
        # Keep ε at full precision: the attribute holds it rounded to float32, so the variance
        # initializer carries the difference (var + ε computed as (var + δ) + ε_f32).
        variance = variance + (layer.epsilon - epsilon)
    inputs = [g.const(n, v) for n, v in (("gamma", gamma), ("beta", beta),
                                         ("moving_mean", mean), ("moving_variance", variance))]
    return g.op("BatchNormalization", [x] + inputs, epsilon=epsilon)


def _batchnorm_parameters(layer):
    """γ, β, moving mean, moving variance (float64), with γ = 1 / β = 0 when scale / center is
    off."""
    weights = [w.astype(np.float64) for w in layer.get_weights()]
    units = weights[-1].shape[0]
    gamma = weights.pop(0) if layer.scale else np.ones(units)
    beta = weights.pop(0) if layer.center else np.zeros(units)
    return gamma, beta, weights[0], weights[1]


@register(L.Normalization)
def normalization(g, layer, x):
    """(x − mean) / max(√variance, 1e-7), as the C++ layer computes it (in the model's dtype)."""
    mean, variance = (w.astype(g.dtype) for w in layer.get_weights())
    std = np.maximum(np.sqrt(variance), g.dtype.type(1e-7))
    return g.op("Div", [g.op("Sub", [x, g.const("mean", mean)]), g.const("std", std)])


@register(L.Dropout, L.AlphaDropout)
def dropout(g, layer, x):
    """The identity in inference: no node at all."""
    return x
