"""Input, Dense, Flatten and the activation layers."""

import math

import numpy as np

from .. import _native, activations, constraints, initializers, regularizers
from .._arguments import refuse
from .._checks import size
from .base import Layer, sample_shape


class Input:
    """Declares the shape of one input sample (not a layer: it has no computation), as Keras's
    `Input(shape=(784,))`; `Input(784)` also works. A sample of several dimensions, e.g.
    `Input(shape=(28, 28))`, must be followed by `Flatten()`: densekit's layers take flat feature
    vectors, and the model then flattens each (n, 28, 28) input it is given."""

    def __init__(self, shape=None, batch_size=None, dtype=None, name=None, batch_shape=None,
                 **kwargs):
        refuse("Input()", kwargs, {"sparse": "densekit takes dense NumPy arrays",
                                   "tensor": "densekit has no symbolic tensors; pass NumPy arrays "
                                             "to fit/predict"},
               ("shape", "batch_size", "dtype", "name", "batch_shape"))
        shape = sample_shape("Input()", shape, batch_input_shape=batch_shape)
        if shape is None:
            raise TypeError("Input: the shape of one sample is required, e.g. Input(shape=(784,))")
        if batch_size is not None and not (isinstance(batch_size, int) and batch_size > 0):
            raise ValueError(f"Input: batch_size must be a positive int or None, got {batch_size!r}")
        if dtype is not None and np.dtype(_native.resolve_dtype(dtype)).name not in ("float32", "float64"):
            raise ValueError(f"Input: dtype must be float32 or float64, got {dtype!r}")
        self.shape = shape
        self.dtype = None if dtype is None else np.dtype(_native.resolve_dtype(dtype)).name
        self.name = name or "input"

    @property
    def units(self):
        """The flat width of one sample (the product of its shape)."""
        return math.prod(self.shape)

    def get_config(self):
        return {"shape": self.shape[0] if len(self.shape) == 1 else list(self.shape), "name": self.name}


class Dense(Layer):
    """y = activation(x·W + b); W (in, units), b (units)."""

    _weight_names = ("kernel", "bias", "alpha")

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, name=None, trainable=True,
                 **kwargs):
        super().__init__(name, trainable, **kwargs)
        self.units = size("Dense: units", units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def output_dim(self, input_dim):
        return self.units

    def _make_core(self, input_dim, dtype):
        core = _native.core_class("DenseLayer", dtype)(input_dim, self.units, self.use_bias,
                                                  *self.activation.core_args())
        for pname, reg in (("kernel", self.kernel_regularizer), ("bias", self.bias_regularizer)):
            if reg is not None and pname in core.param_names:
                core.set_regularizer(pname, reg.l1, reg.l2)
        for pname, con in (("kernel", self.kernel_constraint), ("bias", self.bias_constraint)):
            if con is not None and pname in core.param_names:
                core.set_constraint(pname, *con.core_args())
        return core

    def _initialize(self, seed):
        initializers.fill(self.kernel_initializer, self._core.value("kernel"), seed)
        if self.use_bias:
            initializers.fill(self.bias_initializer, self._core.value("bias"), _native.derive_seed(seed, 7))

    @property
    def kernel(self):
        self._require_built("kernel")
        return self._view("kernel")

    def inference_path(self, rows=1):
        """Which product an inference call on `rows` rows runs: "sparse-grouped" or
        "sparse-batched" (a kernel of mostly exact zeros, e.g. after dk.prune), "dense-engine" (a
        sparse kernel at a batch size where the dense product is faster: same results), or
        "default" (the ordinary dense path)."""
        self._require_built("inference_path")
        if not (isinstance(rows, int) and rows >= 1):
            raise ValueError(f"inference_path: rows must be an int >= 1, got {rows!r}")
        return self._core.inference_path(rows)

    @property
    def bias(self):
        self._require_built("bias")
        return self._view("bias") if self.use_bias else None

    def get_config(self):
        a = self.activation
        cfg = super().get_config()
        cfg.update(units=self.units, activation=a.serialize(), use_bias=self.use_bias,
                   kernel_initializer=initializers.serialize(self.kernel_initializer),
                   bias_initializer=initializers.serialize(self.bias_initializer),
                   kernel_regularizer=None if self.kernel_regularizer is None else self.kernel_regularizer.get_config(),
                   bias_regularizer=None if self.bias_regularizer is None else self.bias_regularizer.get_config(),
                   kernel_constraint=constraints.serialize(self.kernel_constraint),
                   bias_constraint=constraints.serialize(self.bias_constraint))
        return cfg


class Activation(Layer):
    """y = f(x) for a named activation (see dk.activations.names()); `alpha` is LeakyReLU's
    slope or ELU's α, `lower`/`upper` bound RReLU's random slope."""

    _weight_names = ("alpha",)

    def __init__(self, activation, name=None, trainable=True, alpha=None, lower=None, upper=None,
                 **kwargs):
        super().__init__(name, trainable, **kwargs)
        params = {k: v for k, v in (("alpha", alpha), ("lower", lower), ("upper", upper))
                  if v is not None}
        self.activation = activations.get(activation, **params)

    def _make_core(self, input_dim, dtype):
        return _native.core_class("ActivationLayer", dtype)(input_dim, *self.activation.core_args())

    def get_config(self):
        cfg = super().get_config()
        a = self.activation
        cfg.update(activation=a.name)
        # Every parameter that is not the activation's default is kept, used or not, so that
        # the layer rebuilt from its config is this one (a file may set any of them).
        default = activations.get(a.name)
        if a.name in ("leaky_relu", "elu") or a.alpha != default.alpha:
            cfg["alpha"] = a.alpha
        if a.name == "rrelu" or (a.lower, a.upper) != (default.lower, default.upper):
            cfg.update(lower=a.lower, upper=a.upper)
        return cfg


class _FixedActivation(Activation):
    """An activation layer class for one activation (ReLU, SELU, ...): its config leaves the
    activation's name out (the class says it)."""

    _activation = None

    def __init__(self, name=None, trainable=True, **kwargs):
        Activation.__init__(self, self._activation, name=name, trainable=trainable, **kwargs)

    def get_config(self):
        cfg = Activation.get_config(self)
        cfg.pop("activation")
        return cfg


def _activation_layer(cls_name, act, doc):
    return type(cls_name, (_FixedActivation,), {"_activation": act, "__doc__": doc})


SELU = _activation_layer("SELU", "selu", "λ·ELU_α(x), λ≈1.0507, α≈1.6733 (self-normalizing).")
Swish = _activation_layer("Swish", "swish", "x·σ(x) (also SiLU).")
SiLU = Swish
Softplus = _activation_layer("Softplus", "softplus", "log(1 + eˣ).")
Sigmoid = _activation_layer("Sigmoid", "sigmoid", "1/(1 + e⁻ˣ).")
Tanh = _activation_layer("Tanh", "tanh", "tanh(x).")
Mish = _activation_layer("Mish", "mish", "x·tanh(softplus(x)) (Misra 2019).")
HardSigmoid = _activation_layer("HardSigmoid", "hard_sigmoid",
                                "relu6(x + 3)/6: 0 below −3, 1 above 3, linear between (Keras 3's "
                                "definition; tf.keras 2 used 0.2x + 0.5 clipped to [0, 1]).")
Softsign = _activation_layer("Softsign", "softsign", "x/(1 + |x|).")
Exponential = _activation_layer("Exponential", "exponential", "eˣ.")
ReLU6 = _activation_layer("ReLU6", "relu6", "min(max(x, 0), 6).")


class Flatten(_FixedActivation):
    """Keras's Flatten. densekit's layers take flat feature vectors, so Flatten's job is the
    model's: after `Input(shape=(28, 28))` (or as the first layer, `Flatten(input_shape=(28,
    28))`, the chapter's MNIST model) the model takes samples of that shape and flattens each one
    (a free reshape of a C-contiguous array). On flat data it is the identity."""

    _activation = "linear"

    def __init__(self, data_format=None, name=None, trainable=True, **kwargs):
        if data_format not in (None, "channels_last"):
            raise ValueError(f"Flatten: densekit flattens samples in C order (channels_last); got "
                             f"data_format={data_format!r}")
        super().__init__(name=name, trainable=trainable, **kwargs)


class ReLU(Activation):
    """max(x, 0). Keras's arguments: ReLU(max_value=6.0) is relu6, ReLU(negative_slope=a) is a
    leaky ReLU of slope a; other max_value and threshold values are not supported."""

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, name=None, trainable=True,
                 **kwargs):
        if threshold != 0.0:
            raise ValueError(f"ReLU: densekit's ReLU has threshold 0, got threshold={threshold!r}")
        if max_value is not None and float(max_value) != 6.0:
            raise ValueError(f"ReLU: max_value={max_value!r} is not supported; ReLU(max_value=6.0) "
                             f"(relu6) is, and ReLU() without a cap")
        if max_value is not None and negative_slope:
            raise ValueError("ReLU: max_value and negative_slope together are not supported")
        if negative_slope:
            super().__init__("leaky_relu", name=name, trainable=trainable, alpha=negative_slope, **kwargs)
        else:
            super().__init__("relu" if max_value is None else "relu6", name=name, trainable=trainable,
                             **kwargs)

    def get_config(self):
        cfg = Activation.get_config(self)
        act = cfg.pop("activation")
        if act == "relu6":
            cfg["max_value"] = 6.0
        elif act == "leaky_relu":
            cfg["negative_slope"] = cfg.pop("alpha")
        return cfg


class LeakyReLU(Activation):
    """x if x > 0 else α·x. The default slope is 0.01 — the chapter's, PyTorch's and SPEC's —
    where tf.keras 2 uses alpha=0.3 and Keras 3 negative_slope=0.2: LeakyReLU() ported from Keras
    leaks less; write LeakyReLU(0.2) (or negative_slope=0.2, or alpha=0.3) for Keras's curve.
    The first positional argument is the slope, as in Keras."""

    def __init__(self, negative_slope=None, name=None, trainable=True, alpha=None, **kwargs):
        if negative_slope is not None and alpha is not None:
            raise TypeError("LeakyReLU: give the slope once, as negative_slope (Keras 3) or alpha "
                            "(tf.keras 2), not both")
        slope = negative_slope if negative_slope is not None else alpha
        slope = 0.01 if slope is None else slope
        if not (isinstance(slope, (int, float, np.floating)) and not isinstance(slope, bool)
                and math.isfinite(slope) and slope >= 0):
            raise ValueError(f"LeakyReLU: the slope must be a finite number >= 0, got {slope!r}")
        super().__init__("leaky_relu", name=name, trainable=trainable, alpha=float(slope), **kwargs)

    @property
    def negative_slope(self):
        return self.activation.alpha

    def get_config(self):
        cfg = Activation.get_config(self)
        cfg.pop("activation")
        return cfg


class ELU(Activation):
    """x if x > 0 else α(eˣ − 1), α = 1 by default; the first positional argument is α, as in
    Keras."""

    def __init__(self, alpha=1.0, name=None, trainable=True, **kwargs):
        if not (isinstance(alpha, (int, float, np.floating)) and not isinstance(alpha, bool)
                and math.isfinite(alpha)):
            raise ValueError(f"ELU: alpha must be a finite number, got {alpha!r}")
        super().__init__("elu", name=name, trainable=trainable, alpha=float(alpha), **kwargs)

    def get_config(self):
        cfg = Activation.get_config(self)
        cfg.pop("activation")
        return cfg


class GELU(_FixedActivation):
    """x·Φ(x), the exact erf form (Keras's approximate=False)."""

    _activation = "gelu"

    def __init__(self, approximate=False, name=None, trainable=True, **kwargs):
        if approximate:
            raise ValueError("GELU: densekit computes the exact x·Φ(x); approximate=True (the tanh "
                             "form) is not supported")
        super().__init__(name=name, trainable=trainable, **kwargs)


class Softmax(_FixedActivation):
    """Row-wise softmax over the units (Keras's axis=-1)."""

    _activation = "softmax"

    def __init__(self, axis=-1, name=None, trainable=True, **kwargs):
        if axis not in (-1, 1):
            raise ValueError(f"Softmax: densekit normalizes over the units (axis=-1), got axis={axis!r}")
        super().__init__(name=name, trainable=trainable, **kwargs)


class PReLU(Activation):
    """x if x > 0 else α_j·x with one learnable α per unit, trained by backprop. α starts at
    0.25 (He et al. 2015, PyTorch, SPEC) where Keras's PReLU starts at alpha_initializer="zeros":
    pass alpha_initializer="zeros" for Keras's start. Keras's arguments: alpha_initializer,
    alpha_regularizer, alpha_constraint, and shared_axes=None (one α per unit; dense layers have
    no other axis to share)."""

    def __init__(self, alpha_initializer=None, alpha_regularizer=None, alpha_constraint=None,
                 shared_axes=None, name=None, trainable=True, **kwargs):
        if shared_axes not in (None, [], ()):
            raise ValueError(f"PReLU: densekit keeps one α per unit (shared_axes=None), got "
                             f"shared_axes={shared_axes!r}")
        super().__init__("prelu", name=name, trainable=trainable, **kwargs)
        self.alpha_initializer = None if alpha_initializer is None else initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)

    def _make_core(self, input_dim, dtype):
        core = super()._make_core(input_dim, dtype)
        if self.alpha_regularizer is not None:
            core.set_regularizer("alpha", self.alpha_regularizer.l1, self.alpha_regularizer.l2)
        if self.alpha_constraint is not None:
            core.set_constraint("alpha", *self.alpha_constraint.core_args())
        return core

    def _initialize(self, seed):
        if self.alpha_initializer is not None:
            initializers.fill(self.alpha_initializer, self._core.value("alpha"), seed)

    @property
    def alpha(self):
        self._require_built("alpha")
        return self._view("alpha")

    def get_config(self):
        cfg = Activation.get_config(self)
        cfg.pop("activation")
        if self.alpha_initializer is not None:
            cfg["alpha_initializer"] = initializers.serialize(self.alpha_initializer)
        if self.alpha_regularizer is not None:
            cfg["alpha_regularizer"] = self.alpha_regularizer.get_config()
        if self.alpha_constraint is not None:
            cfg["alpha_constraint"] = constraints.serialize(self.alpha_constraint)
        return cfg


class RReLU(Activation):
    """Randomized leaky ReLU: slope α ~ U(lower, upper) per element in training, (lower+upper)/2
    in inference."""

    def __init__(self, lower=1 / 8, upper=1 / 3, name=None, trainable=True, **kwargs):
        super().__init__("rrelu", name=name, trainable=trainable, lower=lower, upper=upper, **kwargs)

    def get_config(self):
        cfg = Activation.get_config(self)
        cfg.pop("activation")
        return cfg
