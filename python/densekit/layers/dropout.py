"""Dropout and AlphaDropout layers (computation in cpp/include/densekit/kernels/dropout.hpp)."""

from .. import _native
from .base import Layer


class _DropoutBase(Layer):
    """`seed` (Keras's argument): the masks' stream comes from it instead of the model's seed."""

    _core_name = None

    def __init__(self, rate, noise_shape=None, seed=None, name=None, trainable=True, **kwargs):
        super().__init__(name, trainable, **kwargs)
        if not (isinstance(rate, (int, float)) and not isinstance(rate, bool) and 0 <= rate < 1):
            raise ValueError(f"{type(self).__name__}: rate must be in [0, 1), got {rate!r}")
        if noise_shape is not None:
            raise ValueError(f"{type(self).__name__}: densekit draws one mask value per unit and "
                             f"sample (noise_shape=None), got noise_shape={noise_shape!r}")
        if seed is not None and not (isinstance(seed, int) and not isinstance(seed, bool)
                                     and 0 <= seed < 1 << 64):
            raise ValueError(f"{type(self).__name__}: seed must be an int in [0, 2**64) or None, "
                             f"got {seed!r}")
        self.rate = float(rate)
        self.seed = seed

    def _make_core(self, input_dim, dtype):
        return _native.core_class(self._core_name, dtype)(input_dim, self.rate)

    def build(self, input_dim, dtype="float32", seed=0):
        super().build(input_dim, dtype, seed if self.seed is None else self.seed)

    def get_config(self):
        cfg = super().get_config()
        cfg["rate"] = self.rate
        if self.seed is not None:
            cfg["seed"] = self.seed
        return cfg


class Dropout(_DropoutBase):
    """Inverted dropout (Srivastava et al. 2014): in training each unit is zeroed with probability
    `rate` and kept units are scaled by 1/(1−rate); the identity in inference."""

    _core_name = "DropoutLayer"


class AlphaDropout(_DropoutBase):
    """Dropout for SELU nets (Klambauer et al. 2017): dropped units take SELU's saturation value
    α' = −λα, then an affine map a·x + b restores mean 0 and variance 1."""

    _core_name = "AlphaDropoutLayer"
