"""Dropout and AlphaDropout layers (computation in cpp/include/densekit/kernels/dropout.hpp)."""

from .. import _native
from .base import Layer


class _DropoutBase(Layer):
    _core_name = None

    def __init__(self, rate, name=None, trainable=True, seed=None):
        super().__init__(name, trainable)
        if not (isinstance(rate, (int, float)) and 0 <= rate < 1):
            raise ValueError(f"{type(self).__name__}: rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)

    def _make_core(self, input_dim, dtype):
        return _native.core_class(self._core_name, dtype)(input_dim, self.rate)

    def get_config(self):
        cfg = super().get_config()
        cfg["rate"] = self.rate
        return cfg


class Dropout(_DropoutBase):
    """Inverted dropout (Srivastava et al. 2014): in training each unit is zeroed with probability
    `rate` and kept units are scaled by 1/(1−rate); the identity in inference."""

    _core_name = "DropoutLayer"


class AlphaDropout(_DropoutBase):
    """Dropout for SELU nets (Klambauer et al. 2017): dropped units take SELU's saturation value
    α' = −λα, then an affine map a·x + b restores mean 0 and variance 1."""

    _core_name = "AlphaDropoutLayer"
