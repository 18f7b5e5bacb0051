"""ONNX node groups for densekit's activations, one function per activation name.

Each converter takes (g, x, spec, slopes) — the GraphBuilder, the input value, the resolved
`dk.activations.ActivationSpec`, and PReLU's per-unit slopes (None for the others) — and returns
the output value. Every formula is the inference-mode one of the C++ kernels
(cpp/include/densekit/activations.hpp): RReLU uses its mean slope (lower+upper)/2, GELU the exact
erf form.

float32 graphs use ONNX's single operators where one exists (LeakyRelu, PRelu, Elu, Selu,
Softplus, Gelu from opset 20). float64 graphs write the same functions with elementary
operators instead, because ONNX Runtime's CPU provider has no float64 kernels for Elu, Selu,
Softplus, Erf and Gelu, and none for LeakyRelu and PRelu at most opsets: a float64 model exported
with them would be valid ONNX that ONNX Runtime refuses to load. Its float64 Erf is the exception
that cannot be written exactly with elementary operators, so float64 GELU evaluates erf in
float32 (absolute error below 1e-7 on Φ(x)); everything else stays float64 end to end.
"""

import math

from onnx import TensorProto

from ..activations import SELU_ALPHA, SELU_LAMBDA


def _linear(g, x, spec, slopes):
    return x


def _relu(g, x, spec, slopes):
    return g.op("Relu", [x])


def _positive_part_plus(g, x, negative_term):
    """max(x, 0) + negative_term, the shape every piecewise activation below shares."""
    return g.op("Add", [g.op("Max", [x, g.scalar("zero", 0.0)]), negative_term])


def _negative_part(g, x):
    return g.op("Min", [x, g.scalar("zero", 0.0)])


def _leaky(g, x, alpha):
    if g.float64:
        return _positive_part_plus(g, x, g.op("Mul", [g.scalar("alpha", alpha), _negative_part(g, x)]))
    return g.op("LeakyRelu", [x], alpha=float(alpha))


def _leaky_relu(g, x, spec, slopes):
    return _leaky(g, x, spec.alpha)


def _rrelu(g, x, spec, slopes):
    # Inference uses the mean of the training-time slope distribution U(lower, upper).
    return _leaky(g, x, (spec.lower + spec.upper) / 2)


def _prelu(g, x, spec, slopes):
    alpha = g.const("alpha", slopes)
    if g.float64:
        return _positive_part_plus(g, x, g.op("Mul", [alpha, _negative_part(g, x)]))
    return g.op("PRelu", [x, alpha])


def _exp_minus_one_of_negative_part(g, x):
    return g.op("Sub", [g.op("Exp", [_negative_part(g, x)]), g.scalar("one", 1.0)])


def _elu(g, x, spec, slopes):
    if g.float64:
        scaled = g.op("Mul", [g.scalar("alpha", spec.alpha), _exp_minus_one_of_negative_part(g, x)])
        return _positive_part_plus(g, x, scaled)
    return g.op("Elu", [x], alpha=float(spec.alpha))


def _selu(g, x, spec, slopes):
    if g.float64:
        scaled = g.op("Mul", [g.scalar("alpha", SELU_ALPHA), _exp_minus_one_of_negative_part(g, x)])
        return g.op("Mul", [g.scalar("lambda", SELU_LAMBDA), _positive_part_plus(g, x, scaled)])
    return g.op("Selu", [x], alpha=SELU_ALPHA, gamma=SELU_LAMBDA)


def _tanh(g, x, spec, slopes):
    return g.op("Tanh", [x])


def _sigmoid(g, x, spec, slopes):
    return g.op("Sigmoid", [x])


def _softmax(g, x, spec, slopes):
    return g.op("Softmax", [x], axis=-1)


def _gelu(g, x, spec, slopes):
    if g.opset >= 20 and not g.float64:
        return g.op("Gelu", [x], approximate="none")
    # x·Φ(x) = x · ½(1 + erf(x/√2))
    scaled = g.op("Mul", [x, g.scalar("inv_sqrt2", 1 / math.sqrt(2))])
    if g.float64:
        erf = g.op("Cast", [g.op("Erf", [g.op("Cast", [scaled], to=TensorProto.FLOAT)])],
                   to=g.elem_type)
    else:
        erf = g.op("Erf", [scaled])
    phi = g.op("Mul", [g.op("Add", [erf, g.scalar("one", 1.0)]), g.scalar("half", 0.5)])
    return g.op("Mul", [x, phi])


def _swish(g, x, spec, slopes):
    return g.op("Mul", [x, g.op("Sigmoid", [x])])


def _softplus(g, x, spec, slopes):
    if g.float64:
        # max(x, 0) + log(1 + exp(−|x|)): no overflow for large |x|.
        tail = g.op("Exp", [g.op("Neg", [g.op("Abs", [x])])])
        return _positive_part_plus(g, x, g.op("Log", [g.op("Add", [tail, g.scalar("one", 1.0)])]))
    return g.op("Softplus", [x])


def _mish(g, x, spec, slopes):
    # x·tanh(softplus(x)); ONNX's Mish operator needs opset 18, this form works at every opset.
    return g.op("Mul", [x, g.op("Tanh", [_softplus(g, x, spec, slopes)])])


def _clip(g, x, low, high):
    """min(max(x, low), high) with elementary operators (Clip's float64 kernel needs opset 12+
    and its bounds as inputs; Max/Min are as exact and read more plainly)."""
    return g.op("Min", [g.op("Max", [x, g.scalar("low", low)]), g.scalar("high", high)])


def _hard_sigmoid(g, x, spec, slopes):
    # Keras 3's relu6(x + 3)/6. ONNX's HardSigmoid(α=1/6, β=1/2) is the same function, but its
    # α is a float32 attribute: written out, the graph computes what the C++ kernel does.
    shifted = g.op("Add", [x, g.scalar("three", 3.0)])
    return g.op("Mul", [_clip(g, shifted, 0.0, 6.0), g.scalar("sixth", 1.0 / 6.0)])


def _softsign(g, x, spec, slopes):
    return g.op("Div", [x, g.op("Add", [g.op("Abs", [x]), g.scalar("one", 1.0)])])


def _exponential(g, x, spec, slopes):
    return g.op("Exp", [x])


def _relu6(g, x, spec, slopes):
    return _clip(g, x, 0.0, 6.0)


ACTIVATIONS = {
    "linear": _linear, "relu": _relu, "leaky_relu": _leaky_relu, "rrelu": _rrelu,
    "prelu": _prelu, "elu": _elu, "selu": _selu, "tanh": _tanh, "sigmoid": _sigmoid,
    "softmax": _softmax, "gelu": _gelu, "swish": _swish, "softplus": _softplus,
    "mish": _mish, "hard_sigmoid": _hard_sigmoid, "softsign": _softsign,
    "exponential": _exponential, "relu6": _relu6,
}


def convert_activation(g, x, spec, slopes=None):
    """The node group for activation `spec` applied to value `x`; returns the output value."""
    try:
        converter = ACTIVATIONS[spec.name]
    except KeyError:
        raise NotImplementedError(f"export_onnx: activation {spec.name!r} has no ONNX "
                                  f"conversion") from None
    return converter(g, x, spec, slopes)
