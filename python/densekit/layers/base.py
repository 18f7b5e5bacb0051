"""Layer: the Python face of a C++ layer.

A layer is a spec (its config) until it is built for an input width and dtype; building creates
the C++ object that owns the parameters, and from then on `kernel`, `bias`, ... are zero-copy
NumPy views of them. A built layer can be placed in several models (shared, as in Keras).
"""

import itertools
import re
from collections import defaultdict

import numpy as np

_name_counters = defaultdict(itertools.count)


def _auto_name(cls):
    base = re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()
    n = next(_name_counters[base])
    return base if n == 0 else f"{base}_{n}"


class Layer:
    """Base class. Subclasses implement `_make_core(input_dim, dtype)`, `output_dim(input_dim)`,
    `_initialize(seed)` and `get_config()`; `_weight_names` gives the Keras weight order."""

    _weight_names = ()

    def __init__(self, name=None, trainable=True):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"layer name must be a str, got {type(name).__name__}")
        self.name = name or _auto_name(type(self))
        self._trainable = bool(trainable)
        self._core = None
        self.input_dim = None
        self.dtype = None

    # -- building --------------------------------------------------------------------------
    @property
    def built(self):
        return self._core is not None

    def output_dim(self, input_dim):
        return input_dim

    def build(self, input_dim, dtype="float32", seed=0):
        """Creates the C++ layer and initializes its parameters (seeded)."""
        from .. import _native
        dtype = _native.resolve_dtype(dtype)
        if self.built:
            if input_dim != self.input_dim:
                raise ValueError(f"layer {self.name!r} was built for {self.input_dim} inputs "
                                 f"and cannot take {input_dim}")
            if dtype != self.dtype:
                raise ValueError(f"layer {self.name!r} was built as {self.dtype} and cannot be "
                                 f"used in a {dtype} model")
            return
        if not (isinstance(input_dim, (int, np.integer)) and input_dim > 0):
            raise ValueError(f"layer {self.name!r}: input width must be a positive int, got {input_dim!r}")
        self.input_dim, self.dtype = int(input_dim), dtype
        self._core = self._make_core(self.input_dim, dtype)
        self._core.trainable = self._trainable
        self._core.seed = _native.derive_seed(seed, 1)
        self._initialize(_native.derive_seed(seed, 2))

    def _make_core(self, input_dim, dtype):
        raise NotImplementedError

    def _initialize(self, seed):
        pass

    # -- trainable ---------------------------------------------------------------------------
    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        if self._core is not None:
            self._core.trainable = self._trainable

    # -- weights -----------------------------------------------------------------------------
    def _view(self, name):
        """Zero-copy view of parameter `name` in its Keras shape (vectors are 1-D)."""
        v = self._core.value(name)
        return v.reshape(-1) if name != "kernel" else v

    def _require_built(self, what):
        if not self.built:
            raise RuntimeError(f"layer {self.name!r} is not built yet: {what} needs its input "
                               f"width (put it in a model with an Input, or call build())")

    @property
    def weights(self):
        """Parameters and state (e.g. BN's moving statistics) as zero-copy NumPy views, in Keras
        order."""
        if not self.built:
            return []
        present = set(self._core.param_names) | set(self._core.state_names)
        return [self._view(n) for n in self._weight_names if n in present]

    @property
    def trainable_weights(self):
        if not (self.built and self._trainable):
            return []
        return [self._view(n) for n in self._weight_names if n in self._core.param_names]

    def count_trainable_params(self):
        return sum(int(w.size) for w in self.trainable_weights)

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        views = self._check_weights(weights)
        for view, w in zip(views, weights):
            view[...] = w

    def _check_weights(self, weights):
        self._require_built("set_weights")
        views = self.weights
        weights = list(weights)
        if len(weights) != len(views):
            raise ValueError(f"layer {self.name!r} expects {len(views)} weight arrays, got {len(weights)}")
        for i, (view, w) in enumerate(zip(views, weights)):
            w = np.asarray(w)
            if w.dtype == object or np.iscomplexobj(w) or not (np.issubdtype(w.dtype, np.number) or w.dtype == bool):
                raise TypeError(f"layer {self.name!r}, weight {i}: expected real numbers, got dtype {w.dtype}")
            if w.shape != view.shape:
                raise ValueError(f"layer {self.name!r}, weight {i}: expected shape {view.shape}, "
                                 f"got {w.shape}")
            if not np.all(np.isfinite(w)):
                raise ValueError(f"layer {self.name!r}, weight {i}: contains NaN or Inf")
        return views

    def count_params(self):
        return sum(int(w.size) for w in self.weights)

    # -- config ------------------------------------------------------------------------------
    def get_config(self):
        return {"name": self.name, "trainable": self._trainable}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"
