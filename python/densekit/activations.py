"""Activation names, their C++ kinds and default hyperparameters.

The kernels live in cpp/include/densekit/kernels/activations.hpp; this module only resolves what
a user writes (`activation="elu"`) into what the core needs. Names and aliases come from the
core's table (densekit._core.ActivationKind), the one place they are written.
"""

from dataclasses import dataclass

from . import _native
from ._checks import finite

_KINDS = {kind.name: kind for kind in _native.core.ActivationKind}  # canonical names
_ALIASES = {None: "linear", **{alias: kind.name for alias, kind in
                               _native.core.ActivationKind.__members__.items() if alias != kind.name}}
_DEFAULT_ALPHA = {"leaky_relu": 0.01, "elu": 1.0}

SELU_LAMBDA = 1.0507009873554805
SELU_ALPHA = 1.6732632423543772


@dataclass(frozen=True)
class ActivationSpec:
    """A resolved activation: its canonical name and hyperparameters."""

    name: str
    alpha: float = 0.0
    lower: float = 1.0 / 8.0
    upper: float = 1.0 / 3.0

    @property
    def code(self):
        """The core's ActivationKind."""
        return _KINDS[self.name]

    def core_args(self):
        return self.code, float(self.alpha), float(self.lower), float(self.upper)

    def serialize(self):
        """The name alone when every hyperparameter is the default, else a dict."""
        if self == get(self.name):
            return self.name
        return {"name": self.name, "alpha": self.alpha, "lower": self.lower, "upper": self.upper}


def names():
    """Every accepted activation name."""
    return sorted(list(_KINDS) + [a for a in _ALIASES if a])


def get(identifier, **params):
    """Resolves a name (or an ActivationSpec) into an ActivationSpec; raises on unknown names."""
    if isinstance(identifier, ActivationSpec):
        return identifier
    if isinstance(identifier, dict):  # a serialized spec: {"name": ..., "alpha": ..., ...}
        cfg = dict(identifier)
        if "name" not in cfg:
            raise ValueError(f"activation config {identifier!r} has no 'name'")
        return get(cfg.pop("name"), **cfg, **params)
    if identifier is not None and not isinstance(identifier, str):
        what = getattr(identifier, "__name__", type(identifier).__name__)
        raise TypeError(f"activation must be a name (str) such as 'relu', or an activation of "
                        f"dk.activations; got {what!r} ({type(identifier).__name__}). densekit runs "
                        f"activations in C++, so Python functions (tf.nn.relu, a lambda) cannot be "
                        f"used: pick one of {names()}")
    name = _ALIASES.get(identifier, identifier)
    if name not in _KINDS:
        raise ValueError(f"unknown activation {identifier!r}; expected one of {names()}")
    alpha = params.pop("alpha", _DEFAULT_ALPHA.get(name, 0.0))
    spec = ActivationSpec(name, finite(f"activation {name!r}: alpha", alpha),
                          **{k: finite(f"activation {name!r}: {k}", v) for k, v in params.items()})
    if name == "rrelu" and not 0.0 <= spec.lower <= spec.upper:
        raise ValueError(f"RReLU needs 0 <= lower <= upper, got lower={spec.lower}, upper={spec.upper}")
    return spec


# Keras's activations as module attributes, so `activation=dk.activations.relu` works as
# `activation=keras.activations.relu` does (each is the resolved spec of its name, defaults
# included).
for _name in _KINDS:
    globals()[_name] = get(_name)
silu = get("silu")
del _name
