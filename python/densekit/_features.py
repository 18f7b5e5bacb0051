"""Feature matrices at the Python edge: checked and converted once, before C++ sees them.

Every array crosses into C++ as a C-contiguous array of the model's dtype (the bindings refuse
anything else rather than copy silently). This leaf is what layers (Normalization.adapt) and the
data-conversion tier above share; it knows nothing about losses or models.
"""

import numpy as np


def first_bad(a):
    """Index of the first NaN or Inf in `a`."""
    bad = np.argwhere(~np.isfinite(a))
    return tuple(int(i) for i in bad[0])


def real_array(x, where, name):
    """np.asarray(x) if it holds real numbers (bools count), else a TypeError naming the dtype."""
    a = np.asarray(x)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise TypeError(f"{where}: {name} must be numeric, got dtype {a.dtype}")
    if np.iscomplexobj(a):
        raise TypeError(f"{where}: {name} must be real, got dtype {a.dtype}")
    return a


def as_features(x, dtype, width, where, name="x", check_finite=True):
    """(n, width) C-contiguous array of `dtype`; rejects wrong shapes, non-numbers, NaN/Inf
    (the NaN/Inf scan is skipped when the caller's C++ call does it)."""
    if x is None:
        raise ValueError(f"{where}: {name} is None; expected an array of shape (samples, {width})")
    a = real_array(x, where, name)
    if a.ndim == 1 and width is not None and width == a.shape[0] and a.shape[0] != 1:
        raise ValueError(f"{where}: {name} has shape {a.shape}; expected (samples, {width}) — "
                         f"for one sample use x.reshape(1, -1)")
    if a.ndim != 2:
        raise ValueError(f"{where}: {name} must be 2-D (samples, features), got shape {a.shape}"
                         + (" — flatten it with x.reshape(len(x), -1)" if a.ndim > 2 else ""))
    if width is not None and a.shape[1] != width:
        raise ValueError(f"{where}: {name} has {a.shape[1]} features per sample, but the model "
                         f"expects {width}")
    if a.shape[0] == 0:
        raise ValueError(f"{where}: {name} has no samples")
    with np.errstate(over="ignore"):  # values beyond the dtype become Inf, reported just below
        a = np.ascontiguousarray(a, dtype=dtype)
    if check_finite and not np.isfinite(a).all():
        raise ValueError(f"{where}: {name} contains NaN or Inf (first at index {first_bad(a)})")
    return a
