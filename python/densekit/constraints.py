"""Weight constraints, applied in C++ after every optimizer update (SPEC §3).

MaxNorm(r, axis=0): every unit's incoming weight vector (a kernel column) with ‖w‖₂ > r is
rescaled to norm r. NonNeg: w ← max(w, 0). UnitNorm(axis=0): w ← w/‖w‖₂.
The math is cpp/include/densekit/kernels/regularization.hpp; kinds are densekit._core.ConstraintKind.
"""

from . import _native
from ._config import Configurable


class Constraint(Configurable):
    kind = None
    value = 0.0
    axis = 0

    def core_args(self):
        return _native.core.ConstraintKind[self.kind], float(self.value), int(self.axis)


def _check_axis(axis):
    if axis not in (0, 1, -1):
        raise ValueError(f"constraint axis must be 0 or 1 (or -1) for a 2-D kernel, got {axis!r}")
    return 1 if axis == -1 else axis


class MaxNorm(Constraint):
    kind = "max_norm"

    def __init__(self, max_value=2.0, axis=0):
        if not max_value > 0:
            raise ValueError(f"MaxNorm: max_value must be positive, got {max_value!r}")
        self.value, self.axis = float(max_value), _check_axis(axis)

    def get_config(self):
        return {"max_value": self.value, "axis": self.axis}


class NonNeg(Constraint):
    kind = "non_neg"


class UnitNorm(Constraint):
    kind = "unit_norm"

    def __init__(self, axis=0):
        self.axis = _check_axis(axis)

    def get_config(self):
        return {"axis": self.axis}


# Keras's lower-case aliases (keras.constraints.max_norm is MaxNorm).
max_norm, non_neg, unit_norm = MaxNorm, NonNeg, UnitNorm

_BY_NAME = {"max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm,
            "MaxNorm": MaxNorm, "NonNeg": NonNeg, "UnitNorm": UnitNorm}


def get(identifier):
    if identifier is None or isinstance(identifier, Constraint):
        return identifier
    if isinstance(identifier, dict):
        return _BY_NAME[identifier["class_name"]].from_config(identifier.get("config", {}))
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    raise ValueError(f"unknown constraint {identifier!r}; expected one of {sorted(_BY_NAME)} "
                     f"(densekit applies constraints in C++, so a Python function cannot be one)")


def serialize(c):
    return None if c is None else {"class_name": c.kind, "config": c.get_config()}
