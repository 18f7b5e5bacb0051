"""dk.utils: Keras's utilities that densekit models need (a leaf: imports nothing of densekit).

`set_random_seed(s)` is Keras's global seed: it seeds Python's `random` and NumPy's global
generator (as Keras does, for the user's own shuffles and draws) and makes `s` the default seed
of every densekit model built after it — `Sequential(seed=None)` then takes the next seed of a
stream derived from `s`, so a script that calls it once gets the same models, initial weights,
shuffles and dropout masks on every run, and two models built one after the other still differ
(as two Keras models built after one `set_random_seed` do). A model given `seed=` keeps it.
`to_categorical` is Keras's one-hot encoder.
"""

import random

import numpy as np

_MASK63 = (1 << 63) - 1
_state = {"generator": None}


def set_random_seed(seed):
    """Seeds Python's `random`, NumPy's global generator and densekit's default model seed."""
    if not (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and 0 <= seed < 1 << 64):
        raise ValueError(f"set_random_seed: seed must be an int in [0, 2**64), got {seed!r}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % (1 << 32))
    _state["generator"] = np.random.default_rng(seed)


def next_default_seed():
    """The seed of a model built without one: the next draw of the stream set_random_seed
    started, or fresh entropy when it was never called."""
    generator = _state["generator"]
    if generator is None:
        return int(np.random.SeedSequence().entropy) & _MASK63
    return int(generator.integers(0, _MASK63, dtype=np.int64, endpoint=True))


def to_categorical(y, num_classes=None, dtype="float32"):
    """One-hot rows for integer class ids y (n,) or (n, 1): (n, num_classes), as Keras's."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or not (np.issubdtype(y.dtype, np.integer)
                           or (np.issubdtype(y.dtype, np.floating) and np.all(np.mod(y, 1) == 0))):
        raise ValueError(f"to_categorical: expected integer class ids of shape (n,), got dtype "
                         f"{y.dtype} and shape {y.shape}")
    y = y.astype(np.int64)
    if y.size and y.min() < 0:
        raise ValueError(f"to_categorical: class ids must be >= 0, got {int(y.min())}")
    n = int(y.max()) + 1 if num_classes is None and y.size else num_classes
    if not (isinstance(n, (int, np.integer)) and n >= 1) or (y.size and y.max() >= n):
        raise ValueError(f"to_categorical: num_classes={num_classes!r} does not cover the class ids "
                         f"(largest {int(y.max()) if y.size else None})")
    out = np.zeros((y.size, int(n)), dtype=dtype)
    out[np.arange(y.size), y] = 1
    return out
