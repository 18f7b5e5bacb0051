"""Checks of scalar arguments shared by every tier (a leaf): each raises ValueError naming what
was given and what was expected, or returns the value as a Python number."""

import math
import numbers


def is_real(value):
    """A real number (int, float, NumPy scalar), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def is_int(value, lo=None, hi=None):
    """A Python int (not a bool) in [lo, hi)."""
    ok = isinstance(value, int) and not isinstance(value, bool)
    return ok and (lo is None or value >= lo) and (hi is None or value < hi)


def positive(what, value, allow_zero=False):
    """`value` as a float if it is finite and > 0 (>= 0 with allow_zero)."""
    ok = is_real(value) and math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        raise ValueError(f"{what} must be a finite number {'>= 0' if allow_zero else '> 0'}, "
                         f"got {value!r}")
    return float(value)


def unit(what, value, closed=False):
    """`value` as a float if it lies in [0, 1) ([0, 1] with closed)."""
    if not (is_real(value) and (0 <= value <= 1 if closed else 0 <= value < 1)):
        raise ValueError(f"{what} must be in [0, 1{']' if closed else ')'}, got {value!r}")
    return float(value)
