"""Loads the C++ extension and picks its float32/float64 classes.

The OpenMP wait policy must be chosen before libgomp starts, i.e. before `_core` is imported:
idle kernel threads spin only briefly, then sleep, so densekit never burns a core that another
process on a shared machine could use (BENCHMARKS.md, "Under contention"). Users who set
OMP_WAIT_POLICY or GOMP_SPINCOUNT themselves keep their choice.
"""

import os

if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    os.environ["GOMP_SPINCOUNT"] = "20000"

from . import _core  # noqa: E402

import numpy as np  # noqa: E402

DTYPES = {"float32": np.float32, "float64": np.float64}
_SUFFIX = {np.dtype(np.float32): "32", np.dtype(np.float64): "64"}


def resolve_dtype(dtype):
    """Returns the NumPy dtype for "float32"/"float64" (or the dtype objects), else raises."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in _SUFFIX:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return dt


def core_class(name, dtype):
    """The C++ class `name` specialised for `dtype` (e.g. Network32 for float32)."""
    return getattr(_core, name + _SUFFIX[np.dtype(dtype)])


def derive_seed(seed, stream):
    """A 64-bit seed for sub-stream `stream` of `seed` (splitmix64, as the C++ core does)."""
    mask = (1 << 64) - 1
    x = (seed * 0x9E3779B97F4A7C15 + (stream + 1) * 0xD1B54A32D192ED03) & mask
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & mask
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & mask
    return x ^ (x >> 31)
