"""Weight penalties: l1 (λΣ|w|), l2 (λΣw², gradient 2λw) and l1_l2 (SPEC §3), also under
Keras 3's class names L1, L2 and L1L2.

The penalty and its gradient are computed in C++ inside the training step; the reported training
loss includes the penalty.
"""

import numpy as np

from ._checks import positive
from ._config import Configurable


class L1L2(Configurable):
    """λ1·Σ|w| + λ2·Σw²."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = positive("regularizer l1 factor", l1, allow_zero=True)
        self.l2 = positive("regularizer l2 factor", l2, allow_zero=True)

    def __call__(self, w):
        w = np.asarray(w, dtype=np.float64)
        return self.l1 * np.abs(w).sum() + self.l2 * np.square(w).sum()

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """λΣ|w| (Keras's L1; default λ = 0.01). Its config is L1L2's (both factors), so every
    penalty serializes and loads the same way."""

    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    @classmethod
    def from_config(cls, config):
        return L1L2(**config)


class L2(L1L2):
    """λΣw², gradient 2λw (Keras's L2; default λ = 0.01). Its config is L1L2's."""

    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    @classmethod
    def from_config(cls, config):
        return L1L2(**config)


def l1(l1=0.01):
    return L1(l1)


def l2(l2=0.01):
    return L2(l2)


def l1_l2(l1=0.01, l2=0.01):
    return L1L2(l1=l1, l2=l2)


_BY_NAME = {"l1": l1, "l2": l2, "l1_l2": l1_l2, "L1": L1, "L2": L2, "L1L2": L1L2}


def get(identifier):
    if identifier is None or isinstance(identifier, L1L2):
        return identifier
    if isinstance(identifier, dict):
        return L1L2.from_config(identifier.get("config", identifier))
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    raise ValueError(f"unknown regularizer {identifier!r}; use dk.regularizers.L1/L2/L1L2 (or "
                     f"l1/l2/l1_l2): densekit computes penalties in C++, so a Python function "
                     f"cannot be one")
