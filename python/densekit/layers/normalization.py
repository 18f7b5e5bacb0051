"""BatchNormalization and Normalization layers (computation in cpp/include/densekit/kernels/batchnorm.hpp)."""

import numpy as np

from .. import _native
from .._features import as_features
from .base import Layer


def _check_unit(name, value, closed_top=False):
    if not (isinstance(value, (int, float, np.floating)) and 0 <= value and
            (value <= 1 if closed_top else value < 1)):
        raise ValueError(f"{name} must be in [0, 1{']' if closed_top else ')'}, got {value!r}")
    return float(value)


class BatchNormalization(Layer):
    """Batch normalization (Ioffe & Szegedy 2015), Keras conventions: momentum 0.99, epsilon 1e-3,
    biased batch variance. Training uses batch statistics and updates the moving averages
    (moving ← moving·momentum + batch·(1−momentum)); inference — and a frozen layer — uses the
    moving statistics. Weights: gamma, beta, moving_mean, moving_variance."""

    _weight_names = ("gamma", "beta", "moving_mean", "moving_variance")

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, name=None,
                 trainable=True, **kwargs):
        super().__init__(name, trainable, **kwargs)
        if axis not in (-1, 1):
            raise ValueError(f"BatchNormalization: densekit normalizes features (axis=-1), got axis={axis!r}")
        self.momentum = _check_unit("BatchNormalization momentum", momentum, closed_top=True)
        if not (isinstance(epsilon, (int, float)) and epsilon > 0):
            raise ValueError(f"BatchNormalization: epsilon must be > 0, got {epsilon!r}")
        self.epsilon, self.center, self.scale = float(epsilon), bool(center), bool(scale)

    def _make_core(self, input_dim, dtype):
        return _native.core_class("BatchNormLayer", dtype)(input_dim, self.momentum, self.epsilon,
                                                       self.center, self.scale)

    @property
    def gamma(self):
        return self._view("gamma") if self.scale and self.built else None

    @property
    def beta(self):
        return self._view("beta") if self.center and self.built else None

    @property
    def moving_mean(self):
        self._require_built("moving_mean")
        return self._view("moving_mean")

    @property
    def moving_variance(self):
        self._require_built("moving_variance")
        return self._view("moving_variance")

    def get_config(self):
        cfg = super().get_config()
        cfg.update(axis=-1, momentum=self.momentum, epsilon=self.epsilon, center=self.center,
                   scale=self.scale)
        return cfg


class Normalization(Layer):
    """Standardizes inputs: (x − mean)/√variance with statistics set by adapt(X) (as Keras's
    Normalization). Put it first in a model, e.g. for self-normalizing SELU nets."""

    _weight_names = ("mean", "variance")

    def __init__(self, mean=None, variance=None, axis=-1, name=None, trainable=True, **kwargs):
        super().__init__(name, trainable, **kwargs)
        if axis not in (-1, 1):
            raise ValueError(f"Normalization: densekit standardizes each feature (axis=-1), got "
                             f"axis={axis!r}")
        self._pending = None
        if (mean is None) != (variance is None):
            raise ValueError("Normalization: give both mean and variance, or neither (then adapt(X))")
        if mean is not None:
            self._pending = (np.asarray(mean, np.float64).reshape(-1), np.asarray(variance, np.float64).reshape(-1))

    def _make_core(self, input_dim, dtype):
        return _native.core_class("NormalizationLayer", dtype)(input_dim)

    def _initialize(self, seed):
        if self._pending is not None:
            self._set_stats(*self._pending)

    def _set_stats(self, mean, var):
        if mean.shape != (self.input_dim,) or var.shape != (self.input_dim,):
            raise ValueError(f"Normalization: statistics must have shape ({self.input_dim},), got "
                             f"{mean.shape} and {var.shape}")
        if not (np.isfinite(mean).all() and np.isfinite(var).all()) or (var < 0).any():
            raise ValueError("Normalization: mean must be finite and variance finite and >= 0")
        self._view("mean")[...] = mean
        self._view("variance")[...] = var

    def adapt(self, data):
        """Sets mean and (biased) variance per feature from data (n, features)."""
        X = as_features(data, np.float64, self.input_dim, "Normalization.adapt", "data")
        mean, var = X.mean(axis=0), X.var(axis=0)
        if not self.built:
            self.build(X.shape[1], "float32" if self.dtype is None else self.dtype)
        self._set_stats(mean, var)
        self._adapted = (mean, var)  # full precision, in case a float64 model rebuilds the layer
        return self

    def build(self, input_dim, dtype="float32", seed=0):
        if self.built and self.input_dim == input_dim and np.dtype(dtype) != self.dtype:
            # adapt() built it before the model's dtype was known: rebuild, keeping the statistics
            # (at the precision adapt computed them, unless they were changed since).
            stats = (self._view("mean", False).astype(np.float64),
                     self._view("variance", False).astype(np.float64))
            adapted = getattr(self, "_adapted", None)
            if adapted is not None and all(np.array_equal(a.astype(self.dtype), b.astype(self.dtype))
                                           for a, b in zip(adapted, stats)):
                stats = adapted
            self._core = None
            self._pending = stats
        super().build(input_dim, dtype, seed)

    def get_config(self):
        return super().get_config()
