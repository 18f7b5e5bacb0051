"""Weight initializers (SPEC §3): the families of Glorot, He and LeCun, plus constants and
orthogonal. Random draws happen in C++ (counter-based, seeded), so a seed gives the same weights
on every machine and thread count.
"""

import numpy as np

from . import _native
from ._checks import finite, positive
from ._config import Configurable

# Every accepted name (aliases included) -> the core's kind, from densekit._core's tables.
_MODES = dict(_native.core.FanMode.__members__)
_DISTRIBUTIONS = dict(_native.core.Distribution.__members__)


class Initializer(Configurable):
    """Fills a (fan_in, fan_out) array in place: `init(array, seed)`."""

    def __call__(self, array, seed):
        raise NotImplementedError


class VarianceScaling(Initializer):
    """σ² = scale / n, n = fan_in, fan_out or fan_avg = (fan_in + fan_out)/2.

    truncated_normal: stddev √σ²/0.87962566103423978, redrawn beyond ±2 stddev (variance σ²);
    normal: stddev √σ²; uniform: limit √(3σ²).
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal"):
        scale = positive("VarianceScaling: scale", scale)
        if mode not in _MODES:
            raise ValueError(f"VarianceScaling: mode must be one of {sorted(_MODES)}, got {mode!r}")
        if distribution not in _DISTRIBUTIONS:
            raise ValueError(f"VarianceScaling: distribution must be one of "
                             f"{sorted(_DISTRIBUTIONS)}, got {distribution!r}")
        self.scale, self.mode, self.distribution = float(scale), mode, distribution

    def __call__(self, array, seed):
        _native.core.variance_scaling(array, self.scale, _MODES[self.mode],
                                       _DISTRIBUTIONS[self.distribution], seed)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution}


def _named(name, scale, mode, distribution):
    cls = type(name, (VarianceScaling,), {
        "__init__": lambda self: VarianceScaling.__init__(self, scale, mode, distribution),
        "get_config": lambda self: {},
        "__doc__": f"VarianceScaling(scale={scale}, mode={mode!r}, distribution={distribution!r}).",
    })
    return cls


GlorotUniform = _named("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _named("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeNormal = _named("HeNormal", 2.0, "fan_in", "truncated_normal")
HeUniform = _named("HeUniform", 2.0, "fan_in", "uniform")
LecunNormal = _named("LecunNormal", 1.0, "fan_in", "truncated_normal")
LecunUniform = _named("LecunUniform", 1.0, "fan_in", "uniform")


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = finite("Constant: value", value)

    def __call__(self, array, seed):
        array[...] = self.value

    def get_config(self):
        return {"value": self.value}


class Zeros(Constant):
    def __init__(self):
        super().__init__(0.0)

    def get_config(self):
        return {}


class Ones(Constant):
    def __init__(self):
        super().__init__(1.0)

    def get_config(self):
        return {}


class Orthogonal(Initializer):
    """Orthonormal columns (or rows), times gain (Saxe et al. 2014), as Keras builds it."""

    def __init__(self, gain=1.0):
        self.gain = finite("Orthogonal: gain", gain)

    def __call__(self, array, seed):
        _native.core.orthogonal(array, self.gain, seed)

    def get_config(self):
        return {"gain": self.gain}


_BY_NAME = {
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_normal": HeNormal, "he_uniform": HeUniform,
    "lecun_normal": LecunNormal, "lecun_uniform": LecunUniform,
    "zeros": Zeros, "ones": Ones, "constant": Constant, "orthogonal": Orthogonal,
    "variance_scaling": VarianceScaling,
}


def get(identifier):
    """An Initializer from a name, an instance, or a {"class_name", "config"} dict."""
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, dict):
        return _BY_NAME[identifier["class_name"]].from_config(identifier.get("config", {}))
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    raise ValueError(f"unknown initializer {identifier!r}; expected one of {sorted(_BY_NAME)} "
                     f"or an Initializer instance")


def serialize(init):
    for name, cls in _BY_NAME.items():
        if type(init) is cls:
            return {"class_name": name, "config": init.get_config()}
    raise ValueError(f"cannot serialize initializer {init!r}")


def fill(init, array, seed):
    """Applies `init` to a C-contiguous array (a parameter view) with a 64-bit seed."""
    assert isinstance(array, np.ndarray) and array.flags.c_contiguous
    init(array, int(seed) & ((1 << 64) - 1))
