"""Checks of scalar arguments shared by every tier (a leaf): each raises ValueError naming what
was given and what was expected, or returns the value as a Python number."""

import math
import numbers

import numpy as np

# The largest layer width, input width and batch size densekit takes (docs/reliability.md):
# the core indexes rows and columns with 64-bit integers, but widths this size already mean
# 16 GiB of weights per input in float64; the bound keeps every product of two of them (a
# kernel's size, a batch's activations) far from overflowing 64 bits.
MAX_SIZE = 2**31 - 1


def size(what, value):
    """`value` as an int if it is an int (Python or NumPy) in [1, MAX_SIZE], else a ValueError."""
    ok = (isinstance(value, int) and not isinstance(value, bool)) or isinstance(value, np.integer)
    if not (ok and 1 <= value <= MAX_SIZE):
        raise ValueError(f"{what} must be a positive int <= {MAX_SIZE} (2**31 - 1), got {value!r}")
    return int(value)


def finite(what, value):
    """`value` as a float if it is a finite real number."""
    if not (is_real(value) and math.isfinite(value)):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return float(value)


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


def is_text(value):
    """A str that UTF-8 can encode: no lone surrogates (which Python strings may hold, e.g. from
    "\\ud800" in JSON or os.fsdecode, but model files and the C++ loader cannot)."""
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def text(what, value):
    """`value` if it is a str without lone surrogates; else a ValueError (TypeError for a
    non-str) naming `what`."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, got {type(value).__name__}")
    if not is_text(value):
        raise ValueError(f"{what} must be valid Unicode text, got {value!r} (it holds a lone "
                         f"surrogate, which UTF-8 cannot encode)")
    return value
