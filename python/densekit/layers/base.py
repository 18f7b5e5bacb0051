"""Layer: the Python face of a C++ layer.

A layer is a spec (its config) until it is built for an input width and dtype; building creates
the C++ object that owns the parameters, and from then on `kernel`, `bias`, ... are zero-copy
NumPy views of them. A built layer can be placed in several models (shared, as in Keras).

Its state contract: `parameter_names` (trained) and `state_names` (kept, e.g. BN's moving
statistics) name its tensors; `variable(name)` / `gradient(name)` are zero-copy views in the
core's 2-D shapes (what model files store); `get_state()` / `set_state()` copy them in and out;
`rng_key` keys its random streams (dropout masks, RReLU slopes). Other modules use these, never
the C++ object's internals.
"""

import itertools
import math
import re
from collections import defaultdict

import numpy as np

from .. import _native
from .._arguments import refuse
from .._checks import MAX_SIZE, size, text
from .._config import Configurable

_name_counters = defaultdict(itertools.count)

# Keras layer arguments densekit does not take, and the densekit way.
KERAS_ONLY = {
    "activity_regularizer": "densekit has no activity regularizers; penalize the weights with "
                            "kernel_regularizer= / bias_regularizer= (dk.regularizers.l1, l2, "
                            "l1_l2)",
    "dtype": "a densekit model has one dtype for all its layers: Sequential(..., dtype='float64')",
    "autocast": "densekit computes in the model's dtype (float32 or float64), no mixed precision",
    "weights": "build the model, then layer.set_weights([...]) (Keras order: kernel, bias, ...)",
    "lora_rank": "densekit has no LoRA; freeze layers with trainable=False and fine-tune others",
    "noise_shape": "densekit's dropout draws one mask value per unit and sample (noise_shape=None)",
    "input_length": "densekit layers take flat feature vectors: Input(shape=(n_features,))",
}

CALL_REFUSED = (
    "{cls}.call(): densekit layers run in C++ — a whole training step is one C++ call with the "
    "GIL released — so a call() written in Python would never run (and densekit will not "
    "silently run the parent's kernel instead). For MC Dropout (the chapter's "
    "`class MCDropout(Dropout): def call(self, x): return super().call(x, training=True)`) use "
    "the plain Dropout/AlphaDropout layers and model.predict_mc(X, samples=100) (mean and std of "
    "100 passes with dropout on) or model(X, training=True) (one such pass). Other custom "
    "computations: compose densekit's layers (dk.layers).")


def sample_shape(where, input_shape, input_dim=None, batch_input_shape=None):
    """The input shape (a tuple) a layer declares through Keras's input_shape / input_dim /
    batch_input_shape arguments, or None."""
    given = [k for k, v in (("input_shape", input_shape), ("input_dim", input_dim),
                            ("batch_input_shape", batch_input_shape)) if v is not None]
    if len(given) > 1:
        raise TypeError(f"{where}: give one of input_shape, input_dim, batch_input_shape, not {given}")
    if input_dim is not None:
        input_shape = (input_dim,)
    if batch_input_shape is not None:
        if not isinstance(batch_input_shape, (tuple, list)) or len(batch_input_shape) < 2:
            raise ValueError(f"{where}: batch_input_shape must be (batch, features...), got "
                             f"{batch_input_shape!r}")
        input_shape = tuple(batch_input_shape[1:])
    if input_shape is None:
        return None
    if isinstance(input_shape, (int, np.integer)):
        input_shape = (input_shape,)
    if not (isinstance(input_shape, (tuple, list)) and input_shape
            and all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0
                    for d in input_shape)):
        raise ValueError(f"{where}: the shape of one sample (its number of features) must be "
                         f"positive ints, e.g. (784,) or (28, 28); got {input_shape!r}")
    input_shape = tuple(int(d) for d in input_shape)
    if math.prod(input_shape) > MAX_SIZE:
        raise ValueError(f"{where}: the number of features must be a positive int <= {MAX_SIZE} "
                         f"(2**31 - 1), got {math.prod(input_shape)} (shape {input_shape})")
    return input_shape


def _auto_name(cls):
    # Keras's snake case: LeakyReLU -> leaky_re_lu, BatchNormalization -> batch_normalization.
    base = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", cls.__name__)
    base = re.sub(r"([a-z])([A-Z])", r"\1_\2", base).lower()
    n = next(_name_counters[base])
    return base if n == 0 else f"{base}_{n}"


class Layer(Configurable):
    """Base class. Subclasses implement `_make_core(input_dim, dtype)`, `output_dim(input_dim)`,
    `_initialize(seed)` and `get_config()`; `_weight_names` gives the Keras weight order.

    Every layer takes Keras's `name=`, `trainable=` and — on the first layer of a model, in
    place of an Input — `input_shape=` / `input_dim=` / `batch_input_shape=`. A subclass may
    not define call(): densekit layers compute in C++ (see CALL_REFUSED)."""

    _weight_names = ()
    # True for layers that only run inference (a quantized model's Dense): a model holding one
    # refuses fit and train_on_batch.
    inference_only = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "call" in cls.__dict__:
            raise TypeError(CALL_REFUSED.format(cls=cls.__name__))

    def __init__(self, name=None, trainable=True, input_shape=None, input_dim=None,
                 batch_input_shape=None, **kwargs):
        where = f"{type(self).__name__}()"
        refuse(where, kwargs, KERAS_ONLY, ("name", "trainable", "input_shape", "input_dim"))
        if name is not None:
            text(f"{where}: layer name", name)  # a str UTF-8 can encode: model files hold it
        self.name = name or _auto_name(type(self))
        self._trainable = bool(trainable)
        self._core = None
        self.input_dim = None
        self.dtype = None
        # The shape of one input sample the layer declares (Keras's input_shape), or None.
        self.declared_input_shape = sample_shape(where, input_shape, input_dim, batch_input_shape)

    def __call__(self, *args, **kwargs):
        raise TypeError(f"{type(self).__name__} is not callable: densekit builds Sequential models "
                        f"(no functional API, layer(tensor)); put the layers in "
                        f"dk.Sequential([...]) and call the model: model.predict(X), or "
                        f"model(X, training=True) for one pass with dropout on")

    @property
    def declared_input_width(self):
        """The flat input width the layer declares (product of declared_input_shape), or None."""
        s = self.declared_input_shape
        return None if s is None else math.prod(s)

    # -- building --------------------------------------------------------------------------
    @property
    def built(self):
        return self._core is not None

    def output_dim(self, input_dim):
        return input_dim

    def build(self, input_dim, dtype="float32", seed=0):
        """Creates the C++ layer and initializes its parameters (seeded)."""
        dtype = _native.resolve_dtype(dtype)
        if self.built:
            if input_dim != self.input_dim:
                raise ValueError(f"layer {self.name!r} was built for {self.input_dim} inputs "
                                 f"and cannot take {input_dim}")
            if dtype != self.dtype:
                raise ValueError(f"layer {self.name!r} was built as {self.dtype} and cannot be "
                                 f"used in a {dtype} model")
            return
        self.input_dim, self.dtype = size(f"layer {self.name!r}: input width", input_dim), dtype
        self._core = self._make_core(self.input_dim, dtype)
        self._core.trainable = self._trainable
        self._core.seed = _native.derive_seed(seed, 1)
        self._initialize(_native.derive_seed(seed, 2))

    def _make_core(self, input_dim, dtype):
        raise NotImplementedError

    @property
    def native(self):
        """The C++ layer this layer wraps (None until built): what a Network links."""
        return self._core

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

    # -- tensors by name (the state contract) -------------------------------------------------
    @property
    def parameter_names(self):
        """Names of the trained tensors, in the order the optimizer updates them (() unbuilt)."""
        return tuple(self._core.param_names) if self.built else ()

    @property
    def state_names(self):
        """Names of the kept, untrained tensors (BN's moving statistics; () if none or unbuilt)."""
        return tuple(self._core.state_names) if self.built else ()

    def _check_name(self, name, where):
        self._require_built(where)
        if name not in self.parameter_names + self.state_names:
            raise KeyError(f"layer {self.name!r} has no tensor {name!r}; it has "
                           f"{list(self.parameter_names + self.state_names)}")

    def variable(self, name):
        """Zero-copy view of tensor `name` in the core's 2-D shape (kernel (in, out); vectors
        (1, units)): writing it changes the layer."""
        self._check_name(name, "variable")
        return self._core.value(name)

    def gradient(self, name):
        """Zero-copy view of ∂L/∂`name` left by the last training step or compute_gradients
        (same shape as variable(name)); only parameters have one."""
        self._check_name(name, "gradient")
        if name not in self.parameter_names:
            raise KeyError(f"layer {self.name!r}: {name!r} is state, not a trained parameter")
        return self._core.grad(name)

    def weight_mask(self, name="kernel"):
        """The pruning mask of parameter `name` (a bool copy: False where the weight is held at
        exactly zero through training), or None when the parameter is not pruned."""
        self._check_name(name, "weight_mask")
        mask = self._core.mask(name) if name in self.parameter_names else None
        return None if mask is None else mask.astype(bool)

    def set_weight_mask(self, name, mask):
        """Prunes parameter `name` with `mask` (same shape, False = pruned): the masked weights
        are set to zero now and the training step keeps them exactly zero (their gradient is
        dropped before the optimizer and the weight re-zeroed after it). None removes the mask."""
        self._check_name(name, "set_weight_mask")
        if name not in self.parameter_names:
            raise KeyError(f"layer {self.name!r}: {name!r} is state, not a trained parameter")
        if mask is None:
            self._core.set_mask(name, None)
            return
        m = np.asarray(mask)
        view = self._core.value(name)
        if m.shape != view.shape or not (m.dtype == bool or np.issubdtype(m.dtype, np.integer)):
            raise ValueError(f"layer {self.name!r}: the mask of {name!r} must be a bool array of "
                             f"shape {view.shape}, got {m.dtype} {m.shape}")
        keep = m.astype(bool)
        view[~keep] = 0
        self._core.set_mask(name, np.ascontiguousarray(keep, dtype=np.uint8))

    @property
    def rng_key(self):
        """The key of this layer's random streams (dropout masks, RReLU slopes), derived from
        the model's seed when built; model files keep it."""
        self._require_built("rng_key")
        return int(self._core.seed)

    @rng_key.setter
    def rng_key(self, value):
        self._require_built("rng_key")
        if not (isinstance(value, (int, np.integer)) and 0 <= value < 1 << 64):
            raise ValueError(f"layer {self.name!r}: rng_key must be a uint64, got {value!r}")
        self._core.seed = int(value)

    def get_state(self):
        """Copies of every tensor, by name ({name: array in the core's shape})."""
        self._require_built("get_state")
        return {name: np.array(self._core.value(name, writable=False), copy=True)
                for name in self.parameter_names + self.state_names}

    def set_state(self, state):
        """Writes tensors from get_state() (every name, nothing else); all are checked before any
        is written."""
        self.check_state(state)
        for name in self.parameter_names + self.state_names:
            self._core.value(name)[...] = state[name]

    def check_state(self, state):
        """Raises what set_state(state) would raise, writing nothing."""
        self._require_built("set_state")
        names = self.parameter_names + self.state_names
        if not isinstance(state, dict) or set(state) != set(names):
            raise ValueError(f"layer {self.name!r}: set_state needs the tensors {list(names)}, got "
                             f"{sorted(state) if isinstance(state, dict) else type(state).__name__}")
        self._check_arrays([state[n] for n in names],
                           [self._core.value(n, writable=False) for n in names], names)

    # -- weights (Keras order and shapes) ----------------------------------------------------
    def _view(self, name, writable=True):
        """Zero-copy view of parameter `name` in its Keras shape (vectors are 1-D). A writable
        view makes predictions read the parameters themselves while it lives (writes through it
        show at once); read-only ones leave the layer's packed inference copies in use."""
        v = self._core.value(name, writable=writable)
        return v.reshape(-1) if name != "kernel" else v

    def _require_built(self, what):
        if not self.built:
            raise RuntimeError(f"layer {self.name!r} is not built yet: {what} needs its input "
                               f"width (put it in a model with an Input, or call build())")

    @property
    def weights(self):
        """Parameters and state (e.g. BN's moving statistics) as zero-copy NumPy views, in Keras
        order."""
        return self._weight_views(writable=True)

    def _weight_views(self, writable):
        if not self.built:
            return []
        present = set(self._core.param_names) | set(self._core.state_names)
        return [self._view(n, writable) for n in self._weight_names if n in present]

    @property
    def trainable_weights(self):
        if not (self.built and self._trainable):
            return []
        return [self._view(n) for n in self._weight_names if n in self._core.param_names]

    def count_trainable_params(self):
        if not (self.built and self._trainable):
            return 0
        return sum(int(self._core.value(n, writable=False).size) for n in self._core.param_names)

    def get_weights(self):
        return [w.copy() for w in self._weight_views(writable=False)]

    def set_weights(self, weights):
        views = self.check_weights(weights)
        for view, w in zip(views, weights):
            view[...] = w

    def check_weights(self, weights):
        """Raises what set_weights(weights) would raise, writing nothing; returns the views."""
        self._require_built("set_weights")
        views = self.weights
        weights = list(weights)
        if len(weights) != len(views):
            raise ValueError(f"layer {self.name!r} expects {len(views)} weight arrays, got {len(weights)}")
        self._check_arrays(weights, views, range(len(views)))
        return views

    def _check_arrays(self, arrays, views, labels):
        for label, view, w in zip(labels, views, arrays):
            what = f"weight {label}" if isinstance(label, int) else f"tensor {label!r}"
            w = np.asarray(w)
            if w.dtype == object or np.iscomplexobj(w) or not (np.issubdtype(w.dtype, np.number) or w.dtype == bool):
                raise TypeError(f"layer {self.name!r}, {what}: expected real numbers, got dtype {w.dtype}")
            if w.shape != view.shape:
                raise ValueError(f"layer {self.name!r}, {what}: expected shape {view.shape}, "
                                 f"got {w.shape}")
            if not np.all(np.isfinite(w)):
                raise ValueError(f"layer {self.name!r}, {what}: contains NaN or Inf")

    def count_params(self):
        return sum(int(w.size) for w in self._weight_views(writable=False))

    # -- config ------------------------------------------------------------------------------
    def get_config(self):
        # The declared input shape is the model's (Sequential.get_config keeps it), not the layer's.
        return {"name": self.name, "trainable": self._trainable}

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"
