"""QuantizedDense: the Dense layer of a model returned by `model.quantize(...)` (inference only).

y = activation(x·W + b) with W stored in one precision and computed in float32 by the C++ layer
(cpp/include/densekit/model/inference_dense.hpp):
- "int8": per-output-channel symmetric weights (`kernel` int8, (in, units)) with their scales
  (`kernel_scale`, float32), activations quantized per row at run time (dynamic) or with fixed
  scales from calibration data (static), int32 sums, one float32 epilogue;
- "float16": `kernel` as IEEE binary16, converted to float32 on the fly;
- "float32": a layer `quantize` kept in float32 (int8 was slower or too lossy there), on the
  product engine's pre-packed weights.

Its tensors follow the layer state contract (`state_names`, `get_state`/`set_state`, which model
files use) but are read-only copies: the C++ layer keeps a packed form built from them, rebuilt by
`set_state`. It has no trainable parameters and refuses training; it computes in float32 only.
`quantization` holds what quantize() decided for it and why (the per-layer report).
"""

import math
import numbers

import numpy as np

from .. import _native, activations
from .base import Layer

PRECISIONS = ("int8", "float16", "float32")
_VECTORS = ("kernel_scale", "bias", "alpha")


def _check_bits(value, what):
    if value not in (7, 8) or isinstance(value, bool):
        raise ValueError(f"QuantizedDense: {what} must be 8 or 7, got {value!r}")
    return int(value)


def _activation_quantization(cfg):
    """The activation scheme of an int8 layer: {"mode": "dynamic"} or {"mode": "static", "scale",
    "inv_scale", "zero_point"} (float32 values, as the kernel uses them)."""
    if cfg is None:
        return {"mode": "dynamic"}
    if not isinstance(cfg, dict) or cfg.get("mode") not in ("dynamic", "static"):
        raise ValueError(f"QuantizedDense: activation_quantization must be {{'mode': 'dynamic'}} or "
                         f"{{'mode': 'static', 'scale', 'inv_scale', 'zero_point'}}, got {cfg!r}")
    if cfg["mode"] == "dynamic":
        if set(cfg) != {"mode"}:
            raise ValueError(f"QuantizedDense: dynamic activation quantization takes no parameters, "
                             f"got {sorted(set(cfg) - {'mode'})}")
        return {"mode": "dynamic"}
    if set(cfg) != {"mode", "scale", "inv_scale", "zero_point"}:
        raise ValueError(f"QuantizedDense: static activation quantization needs exactly scale, "
                         f"inv_scale and zero_point, got {sorted(cfg)}")
    out = {"mode": "static"}
    for key in ("scale", "inv_scale"):
        v = cfg[key]
        if not (isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) and v >= 0):
            raise ValueError(f"QuantizedDense: static {key} must be a finite number >= 0, got {v!r}")
        out[key] = float(np.float32(v))
    zp = cfg["zero_point"]
    if not (isinstance(zp, numbers.Integral) and not isinstance(zp, bool) and 0 <= zp <= 255):
        raise ValueError(f"QuantizedDense: zero_point must be an int in [0, 255], got {zp!r}")
    out["zero_point"] = int(zp)
    return out


class QuantizedDense(Layer):
    """An inference-only Dense with int8, float16 or float32 weights (see the module docstring).
    Built by `Sequential.quantize`; model files restore it."""

    inference_only = True

    def __init__(self, units, activation=None, use_bias=True, precision="int8", weight_bits=7,
                 activation_bits=8, activation_quantization=None, quantization=None, name=None,
                 trainable=False):
        super().__init__(name, trainable=False)
        if not (isinstance(units, numbers.Integral) and not isinstance(units, bool) and units > 0):
            raise ValueError(f"QuantizedDense: units must be a positive int, got {units!r}")
        if precision not in PRECISIONS:
            raise ValueError(f"QuantizedDense: precision must be one of {PRECISIONS}, got {precision!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.precision = precision
        self.weight_bits = _check_bits(weight_bits, "weight_bits")
        self.activation_bits = _check_bits(activation_bits, "activation_bits")
        self.activation_quantization = _activation_quantization(activation_quantization)
        if precision != "int8" and self.activation_quantization["mode"] != "dynamic":
            raise ValueError("QuantizedDense: activation quantization is for int8 layers only")
        if quantization is not None and not isinstance(quantization, dict):
            raise ValueError(f"QuantizedDense: quantization must be a dict (the report), got "
                             f"{type(quantization).__name__}")
        self.quantization = dict(quantization or {})

    def output_dim(self, input_dim):
        return self.units

    def _make_core(self, input_dim, dtype):
        if np.dtype(dtype) != np.float32:
            raise ValueError(f"QuantizedDense {self.name!r}: quantized layers compute in float32; "
                             f"the model is {np.dtype(dtype).name}")
        aq = self.activation_quantization
        static = aq["mode"] == "static"
        return _native.core.QuantizedDenseLayer32(
            input_dim, self.units, self.use_bias, *self.activation.core_args(), self.precision,
            self.weight_bits, self.activation_bits, not static, aq.get("scale", 0.0),
            aq.get("inv_scale", 0.0), aq.get("zero_point", 0))

    @property
    def trainable(self):
        return False

    @trainable.setter
    def trainable(self, value):
        if value:
            raise ValueError(f"QuantizedDense {self.name!r} is inference-only and cannot be trained")

    # -- tensors (the layer state contract, as read-only copies) -----------------------------
    @property
    def parameter_names(self):
        return ()

    @property
    def state_names(self):
        if not self.built:
            return ()
        names = ["kernel"]
        if self.precision == "int8":
            names.append("kernel_scale")
        if self.use_bias:
            names.append("bias")
        if self.activation.name == "prelu":
            names.append("alpha")
        return tuple(names)

    def _dtype_of(self, name):
        if name != "kernel":
            return np.dtype(np.float32)
        return np.dtype({"int8": np.int8, "float16": np.float16, "float32": np.float32}[self.precision])

    def _shape_of(self, name):
        return (self.input_dim, self.units) if name == "kernel" else (1, self.units)

    def variable(self, name):
        """A read-only copy of tensor `name` (kernel (in, units) in the layer's precision, the
        others (1, units) float32)."""
        self._check_name(name, "variable")
        if not self._core.ready:  # built, weights not set yet: zeros of the right shape and dtype
            value = np.zeros(self._shape_of(name), self._dtype_of(name))
        elif name == "kernel":
            raw = self._core.kernel()
            value = raw.view(np.float16) if self.precision == "float16" else raw
        else:
            value = self._core.vector(name)
        value.flags.writeable = False
        return value

    def gradient(self, name):
        raise KeyError(f"layer {self.name!r} is inference-only: it has no gradients")

    def get_state(self):
        self._require_built("get_state")
        return {name: np.array(self.variable(name), copy=True) for name in self.state_names}

    def check_state(self, state):
        self._require_built("set_state")
        names = self.state_names
        if not isinstance(state, dict) or set(state) != set(names):
            raise ValueError(f"layer {self.name!r}: set_state needs the tensors {list(names)}, got "
                             f"{sorted(state) if isinstance(state, dict) else type(state).__name__}")
        return {name: self._checked(name, state[name]) for name in names}

    def _checked(self, name, value):
        a = np.asarray(value)
        want = self._shape_of(name)
        if a.shape != want:
            raise ValueError(f"layer {self.name!r}, tensor {name!r}: expected shape {want}, got {a.shape}")
        dtype = self._dtype_of(name)
        if dtype == np.int8:
            if not np.issubdtype(a.dtype, np.integer):
                raise TypeError(f"layer {self.name!r}, tensor 'kernel': an int8 kernel must hold "
                                f"integers, got dtype {a.dtype}")
            limit = 127 if self.weight_bits == 8 else 63
            if a.size and (a.min() < -limit or a.max() > limit):
                raise ValueError(f"layer {self.name!r}, tensor 'kernel': int8 weights must lie in "
                                 f"[-{limit}, {limit}] for {self.weight_bits}-bit weights")
            return np.ascontiguousarray(a, dtype=np.int8)
        if dtype == np.float16 and a.dtype != np.float16:
            raise TypeError(f"layer {self.name!r}, tensor 'kernel': a float16 kernel must be float16, "
                            f"got dtype {a.dtype}")
        if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
            raise TypeError(f"layer {self.name!r}, tensor {name!r}: expected real numbers, got "
                            f"dtype {a.dtype}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"layer {self.name!r}, tensor {name!r}: contains NaN or Inf")
        return np.ascontiguousarray(a, dtype=dtype)

    def set_state(self, state):
        """Writes every tensor (checked first, nothing written on error) and repacks the weights."""
        t = self.check_state(state)
        vec = {name: t[name].reshape(-1) if name in t else None for name in _VECTORS}
        if self.precision == "int8":
            self._core.set_int8(t["kernel"], vec["kernel_scale"], vec["bias"], vec["alpha"])
        elif self.precision == "float16":
            self._core.set_float16(t["kernel"].view(np.uint16), vec["bias"], vec["alpha"])
        else:
            self._core.set_float32(t["kernel"], vec["bias"], vec["alpha"])

    def _weight_views(self, writable):
        """Copies of the stored tensors in Keras order (kernel, kernel_scale, bias, alpha as
        present; vectors 1-D), whatever `writable` says: the C++ layer keeps its own copies (its
        packed forms are built from them), so there is no view to write through."""
        if not self.built:
            return []
        return [v.reshape(-1) if n != "kernel" else v
                for n, v in ((n, self.variable(n)) for n in self.state_names)]

    @property
    def trainable_weights(self):
        return []

    def check_weights(self, weights):
        self._require_built("set_weights")
        weights = list(weights)
        names = self.state_names
        if len(weights) != len(names):
            raise ValueError(f"layer {self.name!r} expects {len(names)} weight arrays, got {len(weights)}")
        return self.check_state({n: (w if n == "kernel" else np.reshape(w, (1, -1)))
                                 for n, w in zip(names, weights)})

    def set_weights(self, weights):
        t = self.check_weights(weights)
        self.set_state(t)

    @property
    def kernel(self):
        """The stored kernel (a read-only copy, in the layer's precision)."""
        self._require_built("kernel")
        return self.variable("kernel")

    @property
    def bias(self):
        self._require_built("bias")
        return self.variable("bias").reshape(-1) if self.use_bias else None

    def dequantized_kernel(self):
        """The float32 kernel the product computes with: kernel · kernel_scale per column (int8),
        the float16 values (float16), or the kernel itself (float32)."""
        self._require_built("dequantized_kernel")
        k = self.variable("kernel").astype(np.float32)
        if self.precision == "int8":
            k = k * self.variable("kernel_scale")
        return k

    @property
    def packed_bytes(self):
        """Bytes of the packed weights the forward pass reads."""
        self._require_built("packed_bytes")
        return int(self._core.packed_bytes)

    def get_config(self):
        cfg = super().get_config()
        cfg.update(units=self.units, activation=self.activation.serialize(), use_bias=self.use_bias,
                   precision=self.precision, weight_bits=self.weight_bits,
                   activation_bits=self.activation_bits,
                   activation_quantization=dict(self.activation_quantization),
                   quantization=dict(self.quantization))
        return cfg
