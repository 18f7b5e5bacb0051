"""ONNX node groups for QuantizedDense (a quantized model's Dense), registered with onnx_layers.

- int8, as QDQ: the input goes through QuantizeLinear/DequantizeLinear (uint8 with a zero point),
  the stored int8 kernel through DequantizeLinear with its per-column scales (axis 1), then MatMul,
  the bias and the activation. Static (calibrated) layers use the layer's fixed scale and zero
  point, a pattern ONNX Runtime fuses into an integer MatMul. Dynamic layers compute each row's
  parameters in the graph exactly as densekit does (lo = min(0, min x), hi = max(0, max x),
  inv = act_max/(hi − lo), zero point = round(−lo·inv), scale = (hi − lo)/act_max) and quantize
  per row (axis 0): DynamicQuantizeLinear would take one range for the whole batch, and a row's
  result must not depend on the other rows. QuantizeLinear divides by the scale where densekit
  multiplies by its inverse, so a value can land one int8 step away; with 7-bit activations the
  levels are 0..127 (the uint8 tensor clipped there).
- float16: the kernel as a float16 initializer (half the bytes) Cast to float32, then MatMul:
  the same rounded weights densekit computes with.
- float32 (a layer quantize kept in float32): Gemm, as a float Dense.
"""

import numpy as np
from onnx import TensorProto

from ..layers import QuantizedDense
from .onnx_activations import convert_activation
from .onnx_layers import register

_RANGE_FLOOR = 1e-30  # an all-zero row: any positive scale gives q = zero point, output = bias


def _finish(g, layer, z):
    """Bias, then the activation (PReLU with its slopes)."""
    if layer.use_bias:
        z = g.op("Add", [z, g.const("bias", layer.variable("bias").reshape(-1))])
    slopes = layer.variable("alpha").reshape(-1) if layer.activation.name == "prelu" else None
    return convert_activation(g, z, layer.activation, slopes)


def _row_parameters(g, x, act_max):
    """(scale (B,), zero point (B,) uint8) of each row of x, densekit's dynamic formula."""
    lo = g.op("Min", [g.op("ReduceMin", [x], keepdims=0, axes=[1]) if g.opset < 18 else
                      g.op("ReduceMin", [x, g.const("axis", np.array([1], np.int64), np.int64)],
                           keepdims=0),
                      g.scalar("zero", 0.0)])
    hi = g.op("Max", [g.op("ReduceMax", [x], keepdims=0, axes=[1]) if g.opset < 18 else
                      g.op("ReduceMax", [x, g.const("axis", np.array([1], np.int64), np.int64)],
                           keepdims=0),
                      g.scalar("zero", 0.0)])
    span = g.op("Max", [g.op("Sub", [hi, lo]), g.scalar("floor", _RANGE_FLOOR)])
    levels = g.scalar("act_max", float(act_max))
    inv = g.op("Div", [levels, span])
    zp = g.op("Clip", [g.op("Round", [g.op("Mul", [g.op("Neg", [lo]), inv])]),
                       g.scalar("zero", 0.0), levels])
    scale = g.op("Div", [span, levels])
    return scale, g.op("Cast", [zp], to=TensorProto.UINT8)


def _int8(g, layer, x):
    act_max = 255 if layer.activation_bits == 8 else 127
    aq = layer.activation_quantization
    if aq["mode"] == "static":
        scale = g.const("x_scale", np.float32(aq["scale"]))
        zp = g.const("x_zero_point", np.uint8(aq["zero_point"]), np.uint8)
        axis = {}
    else:
        scale, zp = _row_parameters(g, x, act_max)
        axis = {"axis": 0}
    xq = g.op("QuantizeLinear", [x, scale, zp], **axis)
    if act_max != 255:  # 7-bit activations: levels 0..127
        xq = g.op("Clip", [xq, g.const("q_min", np.uint8(0), np.uint8),
                           g.const("q_max", np.uint8(act_max), np.uint8)])
    xd = g.op("DequantizeLinear", [xq, scale, zp], **axis)
    wq = g.const("kernel", layer.variable("kernel"), np.int8)
    w_scale = g.const("kernel_scale", layer.variable("kernel_scale").reshape(-1), np.float32)
    w_zp = g.const("kernel_zero_point", np.zeros(layer.units, np.int8), np.int8)
    wd = g.op("DequantizeLinear", [wq, w_scale, w_zp], axis=1)
    return _finish(g, layer, g.op("MatMul", [xd, wd]))


def _float16(g, layer, x):
    w16 = g.const("kernel", layer.variable("kernel"), np.float16)
    w = g.op("Cast", [w16], to=TensorProto.FLOAT)
    return _finish(g, layer, g.op("MatMul", [x, w]))


def _float32(g, layer, x):
    return _finish(g, layer, g.op("MatMul", [x, g.const("kernel", layer.variable("kernel"))]))


@register(QuantizedDense)
def quantized_dense(g, layer, x):
    if g.float64:
        raise ValueError("export_onnx: quantized layers compute in float32")
    return {"int8": _int8, "float16": _float16, "float32": _float32}[layer.precision](g, layer, x)
