"""Input, Dense and the activation layers."""

from .. import _native, activations, constraints, initializers, regularizers
from .._checks import size
from .base import Layer


class Input:
    """Declares the input width of a Sequential model (not a layer: it has no computation)."""

    def __init__(self, shape, name=None):
        if isinstance(shape, (tuple, list)):
            if len(shape) != 1:
                raise ValueError(f"Input: densekit models take flat feature vectors; got shape "
                                 f"{tuple(shape)} (reshape your data to (samples, features))")
            shape = shape[0]
        self.shape = (size("Input: the number of features", shape),)
        self.name = name or "input"

    @property
    def units(self):
        return self.shape[0]

    def get_config(self):
        return {"shape": self.shape[0], "name": self.name}


class Dense(Layer):
    """y = activation(x·W + b); W (in, units), b (units)."""

    _weight_names = ("kernel", "bias", "alpha")

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, name=None, trainable=True):
        super().__init__(name, trainable)
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
    """y = f(x) for a named activation (see dk.activations.names())."""

    _weight_names = ("alpha",)

    def __init__(self, activation, name=None, trainable=True, **params):
        super().__init__(name, trainable)
        self.activation = activations.get(activation, **params)

    def _make_core(self, input_dim, dtype):
        return _native.core_class("ActivationLayer", dtype)(input_dim, *self.activation.core_args())

    def get_config(self):
        cfg = super().get_config()
        a = self.activation
        cfg.update(activation=a.name)
        if a.name in ("leaky_relu", "elu"):
            cfg["alpha"] = a.alpha
        if a.name == "rrelu":
            cfg.update(lower=a.lower, upper=a.upper)
        return cfg


def _activation_layer(cls_name, act, doc, **fixed):
    def __init__(self, name=None, trainable=True, **params):
        Activation.__init__(self, act, name=name, trainable=trainable, **{**fixed, **params})

    def get_config(self):
        cfg = Activation.get_config(self)
        cfg.pop("activation")
        return cfg

    return type(cls_name, (Activation,), {"__init__": __init__, "get_config": get_config,
                                          "__doc__": doc})


ReLU = _activation_layer("ReLU", "relu", "max(x, 0).")
LeakyReLU = _activation_layer("LeakyReLU", "leaky_relu", "x if x > 0 else αx (α=0.01).")
ELU = _activation_layer("ELU", "elu", "x if x > 0 else α(eˣ − 1) (α=1).")
SELU = _activation_layer("SELU", "selu", "λ·ELU_α(x), λ≈1.0507, α≈1.6733 (self-normalizing).")
GELU = _activation_layer("GELU", "gelu", "x·Φ(x) (exact erf form).")
Swish = _activation_layer("Swish", "swish", "x·σ(x) (also SiLU).")
SiLU = Swish
Softplus = _activation_layer("Softplus", "softplus", "log(1 + eˣ).")
Softmax = _activation_layer("Softmax", "softmax", "Row-wise softmax.")
Sigmoid = _activation_layer("Sigmoid", "sigmoid", "1/(1 + e⁻ˣ).")
Tanh = _activation_layer("Tanh", "tanh", "tanh(x).")


class PReLU(Activation):
    """x if x > 0 else α_j·x with one learnable α per unit (init 0.25), trained by backprop."""

    def __init__(self, name=None, trainable=True):
        super().__init__("prelu", name=name, trainable=trainable)

    @property
    def alpha(self):
        self._require_built("alpha")
        return self._view("alpha")

    def get_config(self):
        cfg = Activation.get_config(self)
        cfg.pop("activation")
        return cfg


class RReLU(Activation):
    """Randomized leaky ReLU: slope α ~ U(lower, upper) per element in training, (lower+upper)/2
    in inference."""

    def __init__(self, lower=1 / 8, upper=1 / 3, name=None, trainable=True):
        super().__init__("rrelu", name=name, trainable=trainable, lower=lower, upper=upper)

    def get_config(self):
        cfg = Activation.get_config(self)
        cfg.pop("activation")
        return cfg
