"""Weight initializers (SPEC §3): the families of Glorot, He and LeCun, constants, orthogonal
and identity, and Keras's RandomNormal, RandomUniform and TruncatedNormal. Random draws happen in
C++ (counter-based, seeded), so a seed gives the same weights on every machine and thread count.

Every random initializer takes Keras's `seed=`: by default a layer's weights are drawn from the
model's seed (each layer its own stream); an initializer given a seed draws from that seed
instead, so it gives the same values wherever it is used (as a seeded Keras initializer does).
"""

import math

import numpy as np

from . import _native
from ._checks import finite, positive
from ._config import Configurable

# Every accepted name (aliases included) -> the core's kind, from densekit._core's tables.
_MODES = dict(_native.core.FanMode.__members__)
_DISTRIBUTIONS = dict(_native.core.Distribution.__members__)

# The stddev of a unit normal truncated to ±2: the C++ truncated draw divides by it.
_TRUNCATED_STD = 0.87962566103423978


def _check_seed(seed, owner):
    if seed is not None and not (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)
                                 and 0 <= seed < 1 << 64):
        raise ValueError(f"{owner}: seed must be an int in [0, 2**64) or None, got {seed!r}")
    return None if seed is None else int(seed)


class Initializer(Configurable):
    """Fills a (fan_in, fan_out) array in place: `init(array, seed)`. `seed` (Keras's argument)
    overrides the seed the layer passes."""

    seed = None

    def __call__(self, array, seed):
        raise NotImplementedError

    def _with_seed(self, cfg):
        if self.seed is not None:
            cfg["seed"] = self.seed
        return cfg


class VarianceScaling(Initializer):
    """σ² = scale / n, n = fan_in, fan_out or fan_avg = (fan_in + fan_out)/2.

    truncated_normal: stddev √σ²/0.87962566103423978, redrawn beyond ±2 stddev (variance σ²);
    normal: stddev √σ²; uniform: limit √(3σ²).
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        self.seed = _check_seed(seed, "VarianceScaling")
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
        return self._with_seed({"scale": self.scale, "mode": self.mode,
                                "distribution": self.distribution})


def _named(name, scale, mode, distribution):
    cls = type(name, (VarianceScaling,), {
        "__init__": lambda self, seed=None: VarianceScaling.__init__(self, scale, mode,
                                                                    distribution, seed),
        "get_config": lambda self: self._with_seed({}),
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

    def __init__(self, gain=1.0, seed=None):
        self.gain = finite("Orthogonal: gain", gain)
        self.seed = _check_seed(seed, "Orthogonal")

    def __call__(self, array, seed):
        _native.core.orthogonal(array, self.gain, seed)

    def get_config(self):
        return self._with_seed({"gain": self.gain})


class Identity(Initializer):
    """gain × the identity matrix (rectangular kernels: ones on the main diagonal), as Keras's
    Identity."""

    def __init__(self, gain=1.0):
        if not (isinstance(gain, (int, float, np.floating)) and math.isfinite(gain)):
            raise ValueError(f"Identity: gain must be a finite number, got {gain!r}")
        self.gain = float(gain)

    def __call__(self, array, seed):
        array[...] = self.gain * np.eye(*array.shape)

    def get_config(self):
        return {"gain": self.gain}


def _scaled_draw(array, seed, stddev, distribution):
    """A float64 draw with unit-free `stddev` through the C++ VarianceScaling kernel: with
    mode fan_in, scale = stddev² · fan_in gives exactly that standard deviation."""
    out = np.empty(array.shape, dtype=np.float64)
    if stddev == 0.0:
        out[...] = 0.0
        return out
    fan_in = max(1, array.shape[0])
    _native.core.variance_scaling(out, stddev * stddev * fan_in, _MODES["fan_in"],
                                   _DISTRIBUTIONS[distribution], seed)
    return out


def _finite(owner, **values):
    for name, v in values.items():
        if not (isinstance(v, (int, float, np.floating)) and not isinstance(v, bool) and math.isfinite(v)):
            raise ValueError(f"{owner}: {name} must be a finite number, got {v!r}")
    return [float(v) for v in values.values()]


class _MeanStddev(Initializer):
    """A draw set by its mean and standard deviation (Keras's defaults: 0, 0.05)."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        owner = type(self).__name__
        self.mean, self.stddev = _finite(owner, mean=mean, stddev=stddev)
        if self.stddev < 0:
            raise ValueError(f"{owner}: stddev must be >= 0, got {stddev!r}")
        self.seed = _check_seed(seed, owner)

    def get_config(self):
        return self._with_seed({"mean": self.mean, "stddev": self.stddev})


class RandomNormal(_MeanStddev):
    """Normal draws with mean `mean` and standard deviation `stddev`."""

    def __call__(self, array, seed):
        array[...] = self.mean + _scaled_draw(array, seed, self.stddev, "normal")


class TruncatedNormal(_MeanStddev):
    """Keras's TruncatedNormal: draws from a normal of mean `mean` and standard deviation
    `stddev`, redrawing values more than two standard deviations from the mean (so the values'
    own standard deviation is ≈0.88·stddev, unlike the *_normal VarianceScaling names, which
    correct for it)."""

    def __call__(self, array, seed):
        # The C++ truncated draw divides its σ by the truncated unit normal's stddev.
        draw = _scaled_draw(array, seed, self.stddev * _TRUNCATED_STD, "truncated_normal")
        array[...] = self.mean + draw


class RandomUniform(Initializer):
    """Uniform draws in [minval, maxval) (Keras's defaults: −0.05, 0.05)."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval = _finite("RandomUniform", minval=minval, maxval=maxval)
        if self.maxval < self.minval:
            raise ValueError(f"RandomUniform: needs minval <= maxval, got {minval!r}, {maxval!r}")
        self.seed = _check_seed(seed, "RandomUniform")

    def __call__(self, array, seed):
        half = (self.maxval - self.minval) / 2.0
        # A uniform draw on [−L, L] has standard deviation L/√3.
        draw = _scaled_draw(array, seed, half / math.sqrt(3.0), "uniform")
        array[...] = np.clip((self.minval + half) + draw, self.minval, self.maxval)

    def get_config(self):
        return self._with_seed({"minval": self.minval, "maxval": self.maxval})


_BY_NAME = {
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_normal": HeNormal, "he_uniform": HeUniform,
    "lecun_normal": LecunNormal, "lecun_uniform": LecunUniform,
    "zeros": Zeros, "ones": Ones, "constant": Constant, "orthogonal": Orthogonal,
    "variance_scaling": VarianceScaling, "identity": Identity, "random_normal": RandomNormal,
    "random_uniform": RandomUniform, "truncated_normal": TruncatedNormal,
}
# Keras also accepts the class names as strings ("GlorotUniform", "RandomNormal", ...).
_BY_NAME.update({cls.__name__: cls for cls in list(_BY_NAME.values())})


def get(identifier):
    """An Initializer from a name, an instance, or a {"class_name", "config"} dict."""
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, dict):
        return _BY_NAME[identifier["class_name"]].from_config(identifier.get("config", {}))
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    raise ValueError(f"unknown initializer {identifier!r}; expected one of "
                     f"{sorted(k for k in _BY_NAME if k.islower())} (or their Keras class names) "
                     f"or an Initializer instance (densekit draws weights in C++, so a Python "
                     f"function cannot be one)")


def serialize(init):
    for name, cls in _BY_NAME.items():
        if type(init) is cls:
            return {"class_name": name, "config": init.get_config()}
    raise ValueError(f"cannot serialize initializer {init!r}")


def fill(init, array, seed):
    """Applies `init` to a C-contiguous array (a parameter view) with a 64-bit seed (the
    initializer's own seed, when it has one)."""
    assert isinstance(array, np.ndarray) and array.flags.c_contiguous
    if init.seed is not None:
        seed = _native.derive_seed(init.seed, 0)
    init(array, int(seed) & ((1 << 64) - 1))
