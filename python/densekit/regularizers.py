"""Weight penalties: l1 (λΣ|w|), l2 (λΣw², gradient 2λw) and l1_l2 (SPEC §3).

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


def l1(l1=0.01):
    return L1L2(l1=l1)


def l2(l2=0.01):
    return L1L2(l2=l2)


def l1_l2(l1=0.01, l2=0.01):
    return L1L2(l1=l1, l2=l2)


def get(identifier):
    if identifier is None or isinstance(identifier, L1L2):
        return identifier
    if isinstance(identifier, dict):
        return L1L2.from_config(identifier.get("config", identifier))
    if identifier in ("l1", "l2", "l1_l2"):
        return {"l1": l1, "l2": l2, "l1_l2": l1_l2}[identifier]()
    raise ValueError(f"unknown regularizer {identifier!r}; use dk.regularizers.l1/l2/l1_l2")
