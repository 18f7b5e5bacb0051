"""Sequential: the model API (Keras names), a thin shell over a C++ Network.

Building links the layers' C++ objects into a Network; compile attaches the loss and the
optimizer; fit/evaluate/predict convert inputs once and hand the work to C++ (training.py holds
the loops). `get_state()` / `set_state()` is the one contract through which the training state
(parameters, layer states, optimizer slots by name and counters, the step counter, the shuffling
RNG) leaves and enters a model: saving, EarlyStopping, the lr_finder's undo and diagnostics all
use it. The tiers below (training, saving, folding) never import this class: the model passes
itself, and saving builds models through the class registered here.
"""

import copy
import threading
import warnings

import numpy as np

import math

from . import (_data, _native, folding, losses, optimizers, pickling, quantization, saving,
               training, utils)
from ._arguments import refuse
from ._checks import is_int, text
from .callbacks import CallbackList
from .layers.base import CALL_REFUSED, Layer
from .layers.core import Flatten, Input
from .sparsity import sparsity as _sparsity

_STATE_KEYS = ("variables", "optimizer", "step", "shuffle_rng")

# Accuracy metrics: "accuracy" takes the kind the loss implies (as Keras does); Keras's explicit
# names must match it (their label formats differ).
_ACCURACY_NAMES = ("accuracy", "acc")
_ACCURACY_FOR_NAME = {"sparse_categorical_accuracy": losses.SPARSE_CCE,
                      "categorical_accuracy": losses.CCE, "binary_accuracy": losses.BCE}
_METRIC_NAMES = (_ACCURACY_NAMES + tuple(_ACCURACY_FOR_NAME)
                 + ("mse", "mae", "mean_squared_error", "mean_absolute_error"))

# Keras arguments of compile / fit / evaluate / predict densekit does not take: the densekit way.
_COMPILED = "densekit always runs compiled C++ code: there is nothing to switch"
_KERAS_ONLY = {
    "loss_weights": "a densekit model has one output and one loss",
    "weighted_metrics": "pass sample_weight to fit/evaluate; the loss is weighted by it",
    "run_eagerly": _COMPILED,
    "jit_compile": _COMPILED,
    "steps_per_execution": "fit already hands whole runs of batches to one C++ call",
    "auto_scale_loss": "densekit trains in float32/float64 and needs no loss scaling",
    "steps_per_epoch": "densekit fits on arrays: an epoch is ceil(n / batch_size) steps",
    "steps": "densekit works on arrays: the number of steps is ceil(n / batch_size)",
    "validation_steps": "validation runs on the whole validation_data",
    "validation_freq": "densekit validates after every epoch (one C++ call)",
    "validation_batch_size": "validation runs in one C++ call; its batching does not change the result",
    "max_queue_size": "densekit fits on in-memory arrays (no generators or queues)",
    "workers": "densekit fits on in-memory arrays (no generators or workers); threads: "
               "dk.set_num_threads(n)",
    "use_multiprocessing": "densekit fits on in-memory arrays (no generators or workers)",
    "training": "model(X, training=True) is one stochastic pass; predict is inference",
    "mask": "densekit models take dense feature vectors (no masks)",
}


@saving.register_model_class
class Sequential:
    """A linear stack of layers.

    Sequential([Input(784), Dense(300, activation="relu"), Dense(10, activation="softmax")],
               seed=42, dtype="float32")
    """

    def __init__(self, layers=None, seed=None, dtype="float32", name=None):
        self.dtype = _native.resolve_dtype(dtype)
        if seed is None:
            seed = utils.next_default_seed()  # dk.utils.set_random_seed makes it reproducible
        if not (is_int(seed, 0, 1 << 63) or (isinstance(seed, np.integer) and 0 <= seed < 1 << 63)):
            raise ValueError(f"Sequential: seed must be an int in [0, 2**63) or None, got {seed!r}")
        self.seed = int(seed)
        if name is not None:
            text("Sequential: name", name)  # a str UTF-8 can encode: model files hold it
        self.name = name or "sequential"
        # Serializes training calls into C++ with copies of the state (get_state, save), so a
        # save from another thread sees the model between two calls, never inside one.
        self.state_lock = threading.RLock()
        self.layers = []
        self.input_dim = None
        self.input_shape = None  # the shape of one input sample, e.g. (784,) or (28, 28)
        self._net = None
        self.optimizer = None
        self.loss = None
        self.metrics_names = ["loss"]
        self.history = None
        self.stop_training = False
        self.diverged = False
        self.default_callbacks = None  # fit's callbacks when none are given (presets set them)
        self._feature_names = None
        self._target_name = None
        self._shuffle_rng = np.random.default_rng(_native.derive_seed(self.seed, 1_000_003))
        for layer in layers or []:
            self.add(layer)
        if self.input_dim is not None and self.layers:
            self.build()

    # -- column names (kept in the model file) ----------------------------------------------
    @property
    def feature_names(self):
        """The names of the input columns, one per input (None when unknown). `densekit train`
        and the scikit-learn estimators set them from the training data; saved in the model
        file, so predictions can match data columns by name."""
        return None if self._feature_names is None else list(self._feature_names)

    @feature_names.setter
    def feature_names(self, names):
        if names is not None:
            names = list(names) if isinstance(names, (list, tuple, np.ndarray)) else names
            if not (isinstance(names, list) and all(isinstance(c, str) and c for c in names)):
                raise TypeError(f"feature_names must be a list of non-empty str (or None), got {names!r}")
            if self.input_dim is not None and len(names) != self.input_dim:
                raise ValueError(f"feature_names: the model takes {self.input_dim} inputs, got "
                                 f"{len(names)} names")
        self._feature_names = names

    @property
    def target_name(self):
        """The name of the column the model predicts (None when unknown); saved in the file."""
        return self._target_name

    @target_name.setter
    def target_name(self, name):
        if name is not None and not (isinstance(name, str) and name):
            raise TypeError(f"target_name must be a non-empty str or None, got {name!r}")
        self._target_name = name

    # -- structure -------------------------------------------------------------------------
    def add(self, layer):
        if isinstance(layer, Input):
            if self.layers or self.input_dim is not None:
                raise ValueError("Sequential: Input must come first, once")
            if layer.dtype is not None and layer.dtype != np.dtype(self.dtype).name:
                raise ValueError(f"Sequential: Input(dtype={layer.dtype!r}) in a "
                                 f"{np.dtype(self.dtype).name} model; a densekit model has one "
                                 f"dtype: Sequential(..., dtype={layer.dtype!r})")
            self._set_input_shape(layer.shape)
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential: expected a densekit layer, got {type(layer).__name__}")
        if callable(getattr(layer, "call", None)):  # a call() attached after the class was made
            raise TypeError(CALL_REFUSED.format(cls=type(layer).__name__))
        if self.input_dim is None and not self.layers:
            if layer.declared_input_shape is not None:  # Keras's Dense(..., input_shape=(784,))
                self._set_input_shape(layer.declared_input_shape)
            elif layer.built:
                self._set_input_shape((layer.input_dim,))  # a reused, built layer fixes the width
        self.layers.append(layer)
        self._net = None

    def _set_input_shape(self, shape):
        self.input_shape = tuple(int(d) for d in shape)
        self.input_dim = math.prod(self.input_shape)

    def _check_layer_shapes(self):
        """Refuses what Keras would compute differently: a multi-dimensional input without a
        Flatten first, and a layer's declared input_shape that is not what it receives."""
        if self.input_shape is not None and len(self.input_shape) > 1 and not isinstance(
                self.layers[0], Flatten):
            raise ValueError(f"Sequential: the input samples have shape {self.input_shape}; "
                             f"densekit's layers take flat feature vectors, so the first layer "
                             f"must be dk.layers.Flatten() (as Keras's Dense would otherwise act "
                             f"on the last axis only)")
        width = self.input_dim
        for i, layer in enumerate(self.layers):
            declared = layer.declared_input_shape
            if declared is not None and (i == 0 and declared != self.input_shape
                                         or i > 0 and layer.declared_input_width != width):
                got = self.input_shape if i == 0 else (width,)
                raise ValueError(f"Sequential: layer {i} ({layer.name!r}) declares "
                                 f"input_shape={declared}, but it receives samples of shape {got}")
            width = layer.output_dim(width)

    def build(self, input_dim=None):
        """Builds every layer (seeded from the model's seed) and links them in C++."""
        if isinstance(input_dim, (tuple, list)):  # Keras's build(input_shape=(None, 784))
            shape = tuple(input_dim[1:]) if len(input_dim) > 1 and input_dim[0] is None else tuple(input_dim)
            if not all(isinstance(d, (int, np.integer)) and d > 0 for d in shape) or not shape:
                raise ValueError(f"build: expected the input width or Keras's (None, *shape), got {input_dim!r}")
            if self.input_shape is not None and shape != self.input_shape:
                raise ValueError(f"build: the model takes samples of shape {self.input_shape}, not {shape}")
            self._set_input_shape(shape)
        elif input_dim is not None:
            if self.input_dim is not None and input_dim != self.input_dim:
                raise ValueError(f"build: the model takes {self.input_dim} inputs, not {input_dim}")
            self._set_input_shape((int(input_dim),))
        if self.input_dim is None:
            raise ValueError("build: the input width is unknown; start the model with "
                             "dk.layers.Input(n_features) or call build(n_features)")
        if not self.layers:
            raise ValueError("build: the model has no layers")
        self._check_layer_shapes()
        if self._feature_names is not None and len(self._feature_names) != self.input_dim:
            raise ValueError(f"build: feature_names has {len(self._feature_names)} names for "
                             f"{self.input_dim} inputs")
        width = self.input_dim
        for i, layer in enumerate(self.layers):
            layer.build(width, self.dtype, _native.derive_seed(self.seed, i))
            width = layer.output_dim(width)
        self._net = _native.core_class("Network", self.dtype)([l.native for l in self.layers])
        if self.optimizer is not None:
            self._compile_core()

    @property
    def built(self):
        return self._net is not None

    @property
    def output_dim(self):
        return self._net.output_dim if self._net is not None else None

    def _require_built(self, where):
        if self._net is None:
            self.build()

    # -- compile ---------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, **kwargs):
        refuse("compile()", kwargs, _KERAS_ONLY, ("optimizer", "loss", "metrics"))
        if loss is None:
            raise ValueError("compile: a loss is required, e.g. loss='sparse_categorical_crossentropy'")
        new_optimizer = optimizers.get(optimizer)
        new_loss = losses.get(loss)
        if isinstance(metrics, str):
            metrics = [metrics]
        metrics = list(metrics or [])
        for m in metrics:
            if not isinstance(m, str) or m not in _METRIC_NAMES:
                raise ValueError(f"compile: unknown metric {m!r}; densekit computes the metrics "
                                 f"named {list(_METRIC_NAMES)} (pass their names)")
            if m in _ACCURACY_NAMES and new_loss.code not in losses.ACCURACY_FOR:
                raise ValueError(f"compile: 'accuracy' needs a classification loss, not {new_loss.name}")
            if m in _ACCURACY_FOR_NAME and new_loss.code != _ACCURACY_FOR_NAME[m]:
                raise ValueError(f"compile: {m!r} reads the labels of the "
                                 f"{_ACCURACY_FOR_NAME[m].name} loss, not {new_loss.name}'s; "
                                 f"metrics=['accuracy'] picks the accuracy that fits the loss")
        self.optimizer, self.loss = new_optimizer, new_loss
        self.metrics_names = ["loss"] + metrics
        if self.input_dim is not None:
            self._require_built("compile")
            self._compile_core()

    def _compile_core(self):
        accuracy = losses.ACCURACY_FOR.get(self.loss.code, losses.NO_ACCURACY)
        self._net.compile(self.loss.code, self.loss.from_logits, self.loss.delta, accuracy,
                          self.optimizer.core_config())
        # The network updates every parameter once, layers in order (a layer appears once).
        self.optimizer.bind(self._net, [(self.variable_key(layer, name), layer.variable(name).shape)
                                        for layer in self.layers for name in layer.parameter_names])

    def _require_trainable(self, where):
        frozen = [layer.name for layer in self.layers if layer.inference_only]
        if frozen:
            raise RuntimeError(f"{where}: this model is quantized and runs inference only (layers "
                               f"{frozen[:3]}{' ...' if len(frozen) > 3 else ''} hold int8/float16 "
                               f"weights, which have no gradients); train the float model it was "
                               f"quantized from, then quantize it again")

    def _require_compiled(self, where):
        if self.optimizer is None:
            raise RuntimeError(f"{where}: compile the model first (model.compile(optimizer, loss))")
        if self._net is None:
            self._require_built(where)

    # -- training & inference --------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=32, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, strategy=None, **kwargs):
        """Trains for `epochs` epochs; returns a History (history.history[...] per epoch).
        strategy: dk.distributed.MPIStrategy() for data-parallel training over MPI ranks."""
        refuse("fit()", kwargs, _KERAS_ONLY)
        if self.input_dim is None and x is not None:
            shape = np.shape(x)  # Keras infers the sample shape from the data
            self.build((None,) + tuple(shape[1:]) if len(shape) >= 2 else None)
        self._require_trainable("fit")
        self._require_compiled("fit")

        def run():
            return training.fit(self, self._net, self._shuffle_rng, x, y, batch_size, epochs,
                                verbose, callbacks, validation_split, validation_data, shuffle,
                                class_weight, sample_weight, initial_epoch, strategy)
        return run() if strategy is None else strategy.run("fit", self, run)

    def evaluate(self, x=None, y=None, batch_size=32, verbose=0, sample_weight=None,
                 return_dict=False, callbacks=None, strategy=None, **kwargs):
        """Loss (with penalties) and metrics in inference mode (over every rank's rows with a
        strategy); `callbacks` get the test hooks (on_test_begin/end, and
        on_test_batch_begin/end per batch of batch_size)."""
        refuse("evaluate()", kwargs, _KERAS_ONLY)
        self._require_compiled("evaluate")

        def run():
            return training.evaluate(self, self._net, x, y, batch_size, verbose, sample_weight,
                                     return_dict, callbacks, strategy)
        return run() if strategy is None else strategy.run("evaluate", self, run)

    def predict(self, x, batch_size=None, verbose=0, callbacks=None, **kwargs):
        """Outputs for x (n, features) in inference mode, as an (n, outputs) array. `callbacks`
        get the predict hooks: on_predict_begin/end, and — when one overrides them —
        on_predict_batch_begin/end per batch of batch_size (32 by default then, as Keras), with
        logs {"outputs": that batch's outputs}. Outputs do not depend on the batching."""
        refuse("predict()", kwargs, _KERAS_ONLY)
        if self._net is None:
            self._require_built("predict")
        if not (type(x) is np.ndarray and x.dtype == self.dtype and x.ndim == 2
                and x.shape[1] == self.input_dim and x.shape[0] and x.flags.c_contiguous):
            # Anything but the model's own layout is checked and converted once; the NaN/Inf scan
            # happens in the C++ call for every input (it is cheaper there at batch size 1).
            x = _data.as_features(_data.flat_samples(self, x, "predict"), self.dtype,
                                  self.input_dim, "predict", check_finite=False)
        out = np.empty((x.shape[0], self._net.output_dim), dtype=self.dtype)
        bs = None if batch_size is None else _data.check_batch_size(batch_size, "predict")
        if callbacks is None:
            self._net.predict(x, out, 1024 if bs is None else bs)
            return out
        cbs = CallbackList(callbacks, self, {"batch_size": bs, "samples": x.shape[0],
                                             "verbose": verbose}, "predict")
        cbs.on_predict_begin()
        if not cbs.wants_predict_batches:
            self._net.predict(x, out, 1024 if bs is None else bs)
        else:
            bs = bs or 32
            for batch, start in enumerate(range(0, x.shape[0], bs)):
                rows = slice(start, min(start + bs, x.shape[0]))
                cbs.on_predict_batch_begin(batch)
                self._net.predict(x[rows], out[rows], bs)
                cbs.on_predict_batch_end(batch, {"outputs": out[rows]})
        cbs.on_predict_end()
        return out

    def __call__(self, x, training=False, **kwargs):
        """model(X): predict(X) in inference mode. model(X, training=True): one stochastic
        forward pass with the Dropout and AlphaDropout layers dropping — an MC Dropout sample
        (predict_mc(X, samples=1)'s pass) — and BatchNormalization in inference mode, using its
        moving statistics. (Keras's training=True also switches BN to batch statistics and
        updates its moving averages; densekit changes nothing in the model.)"""
        refuse("model()", kwargs, _KERAS_ONLY, ("x", "training"))
        if not isinstance(training, (bool, np.bool_)):
            raise TypeError(f"model(x, training=...): training must be a bool, got {training!r}")
        if not training:
            return self.predict(x)
        mean, _ = self._mc(x, 1, None, None, "model(x, training=True)")
        return mean

    def predict_mc(self, x, samples=100, batch_size=None, seed=None, return_samples=False):
        """MC Dropout (Gal & Ghahramani 2016): `samples` forward passes with the Dropout and
        AlphaDropout layers dropping (BatchNormalization stays in inference mode), all in one C++
        call. Returns (mean, std) of the outputs over the samples, each (n, outputs).

        return_samples=True returns (mean, std, outputs) with outputs (samples, n, outputs) the
        passes themselves, drawn one C++ call each; mean and std are then those of the returned
        passes (their masks differ from the one-call path's, so for the same seed the mean
        differs from return_samples=False's by Monte Carlo noise).

        Masks are seeded from the model's seed and a per-model call counter (or from `seed`), so
        a rebuilt model with the same seed reproduces the same sequence of calls exactly."""
        if not isinstance(return_samples, (bool, np.bool_)):
            raise TypeError(f"predict_mc: return_samples must be a bool, got {return_samples!r}")
        if not return_samples:
            return self._mc(x, samples, batch_size, seed, "predict_mc")
        if not (isinstance(samples, (int, np.integer)) and samples >= 1):
            raise ValueError(f"predict_mc: samples must be an int >= 1, got {samples!r}")
        key = self._mc_key(seed)
        outputs = np.stack([self._mc(x, 1, batch_size, None, "predict_mc",
                                     key=_native.derive_seed(key, s))[0] for s in range(samples)])
        # As the one-call path: deviations from the first pass, in float64.
        first = outputs[0].astype(np.float64)
        dev = outputs.astype(np.float64) - first
        mean_dev = dev.mean(axis=0)
        mean = (first + mean_dev).astype(self.dtype)
        std = np.sqrt(np.maximum((dev * dev).mean(axis=0) - mean_dev * mean_dev, 0.0)).astype(self.dtype)
        return mean, std, outputs

    def _mc_key(self, seed):
        if seed is None:
            self._mc_calls = getattr(self, "_mc_calls", 0) + 1
            return _native.derive_seed(self.seed, 2_000_003 + self._mc_calls)
        if not (isinstance(seed, (int, np.integer)) and 0 <= seed < 1 << 64):
            raise ValueError(f"predict_mc: seed must be an int in [0, 2**64) or None, got {seed!r}")
        return _native.derive_seed(int(seed), 2_000_003)

    def _mc(self, x, samples, batch_size, seed, where, key=None):
        self._require_built(where)
        if not (isinstance(samples, (int, np.integer)) and samples >= 1):
            raise ValueError(f"{where}: samples must be an int >= 1, got {samples!r}")
        X = _data.as_features(_data.flat_samples(self, x, where), self.dtype, self.input_dim, where)
        mean = np.empty((X.shape[0], self._net.output_dim), dtype=self.dtype)
        std = np.empty_like(mean)
        bs = 1024 if batch_size is None else _data.check_batch_size(batch_size, where)
        self._net.predict_mc(X, int(samples), mean, std, bs, self._mc_key(seed) if key is None else key)
        return mean, std

    def get_layer(self, name=None, index=None):
        """The layer called `name`, or at position `index` (Keras's get_layer)."""
        if (name is None) == (index is None):
            raise ValueError("get_layer: give a layer name or an index (one of them)")
        if index is not None:
            if not isinstance(index, (int, np.integer)) or not -len(self.layers) <= index < len(self.layers):
                raise ValueError(f"get_layer: index {index!r} is out of range for {len(self.layers)} layers")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"get_layer: no layer named {name!r}; the layers are "
                         f"{[layer.name for layer in self.layers]}")

    def fold_batchnorm(self):
        """An inference copy of this model in which every BatchNormalization that directly follows
        a linear Dense is folded into it (W' = W·γ/√(var+ε) per output, b' = (b−mean)·γ/√(var+ε)+β),
        an activation layer right after is merged into the new Dense, and dropout layers (the
        identity in inference) are dropped. Same outputs (to float rounding), fewer layers."""
        self._require_built("fold_batchnorm")
        return folding.fold_batchnorm(self, Sequential)

    def quantize(self, mode="int8", calibration=None, *, error_data=None,
                 max_error=quantization.MAX_ERROR, speed_check=True, weight_bits=7,
                 activation_bits=8):
        """An inference-only copy of this model with int8 or float16 Dense weights (this model is
        not changed). BatchNormalization is folded first; dropout layers stay (predict_mc works).

        mode="int8": per-output-channel symmetric int8 weights (7-bit by default: exact and fast
        on every CPU path; weight_bits=8 for 8-bit), activations quantized per row at run time
        (dynamic) or, with `calibration=X`, with fixed scales from the range each layer's input
        takes on X (static); int32 sums and one float32 epilogue (bias, ReLU; other activations
        run after it in float32). A Dense layer stays float32 when it has more than 65,536
        inputs, when int8 changes its output by more than `max_error` (relative error, measured
        on `error_data`, else the calibration data, else a standard-normal probe), or, with
        speed_check, when int8 is slower on this CPU at batch 1 and at 256 rows.
        mode="float16": float16 weights (half the file), computed in float32.

        The result predicts, evaluates, saves and loads (in Python and C++) and exports to ONNX;
        fit raises. Its `quantization_report` (printed by summary()) says per layer what was kept
        or quantized, why, and the output error. It computes in float32 whatever this model's
        dtype."""
        self._require_built("quantize")
        return quantization.quantize(self, mode, Sequential, calibration, error_data, max_error,
                                     speed_check, weight_bits, activation_bits)

    @property
    def quantization_report(self):
        """Per quantized Dense layer, what quantize() decided: {"layer", "precision" ("int8",
        "float16" or "float32" when kept), "reason", "output_error", ...}; [] for a float model."""
        return [{"layer": layer.name, **layer.quantization} for layer in self.layers
                if layer.inference_only]

    def train_on_batch(self, x, y, sample_weight=None, class_weight=None, return_dict=False):
        """One training step on (x, y). Returns the loss of that step's forward pass (before its
        update), with the metrics as Keras does when any are compiled."""
        self._require_trainable("train_on_batch")
        self._require_compiled("train_on_batch")
        X, Y, W = training.prepare(self, x, y, sample_weight, class_weight, "train_on_batch")
        opt = self.optimizer
        lrs = None
        if opt.schedule is not None:
            lrs = np.array([opt.schedule(opt.iterations)], dtype=np.float64)
        with self.state_lock:
            stats = self._net.train(X, Y, W, None, X.shape[0], X.shape[0], lrs)
        n = X.shape[0]
        logs = {"loss": stats["last_loss"]}
        logs.update(training.metric_logs(self, stats, n) if stats["samples"] else {})
        if stats["diverged"]:
            warnings.warn(f"train_on_batch: {training.divergence(stats)}; the update was not "
                          f"applied", RuntimeWarning, stacklevel=2)
            for name in self.metrics_names[1:]:
                logs.setdefault(name, float("nan"))
        return training.format_results(self, logs, return_dict)

    def test_on_batch(self, x, y, sample_weight=None, return_dict=False):
        """Loss and metrics on one batch in inference mode."""
        self._require_compiled("test_on_batch")
        X, Y, W = training.prepare(self, x, y, sample_weight, None, "test_on_batch")
        return training.format_results(
            self, training.evaluate_arrays(self, self._net, X, Y, W, X.shape[0]), return_dict)

    def compute_gradients(self, x, y, sample_weight=None):
        """One training-mode forward and backward pass on (x, y) without an update: returns its
        loss (penalties included) and leaves ∂L/∂θ in every trainable parameter's gradient
        (`layer.gradient(name)`). The forward draws the masks the next training step would draw;
        nothing in the model changes. For gradient checks and diagnostics."""
        self._require_trainable("compute_gradients")
        self._require_compiled("compute_gradients")
        X, Y, W = training.prepare(self, x, y, sample_weight, None, "compute_gradients")
        return float(self._net.gradients(X, Y, W))

    def penalty(self):
        """The regularization penalty Σ λ1·|w| + λ2·w² over every regularized parameter: what the
        training loss adds to the data loss."""
        self._require_built("penalty")
        return float(self._net.penalty())

    def layer_outputs(self, x, batch_size=None):
        """The output of every layer on x (inference mode), as a list of arrays. Each layer runs
        in a one-layer network sharing its parameters: one forward pass in total, no new weights."""
        self._require_built("layer_outputs")
        a = _data.as_features(_data.flat_samples(self, x, "layer_outputs"), self.dtype,
                              self.input_dim, "layer_outputs")
        outs = []
        for layer in self.layers:
            a = Sequential([layer], seed=self.seed, dtype=self.dtype).predict(a, batch_size=batch_size)
            outs.append(a)
        return outs

    # -- weights ---------------------------------------------------------------------------
    def get_weights(self):
        self._require_built("get_weights")
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights):
        self._require_built("set_weights")
        weights = list(weights)
        expected = sum(len(layer.weights) for layer in self.layers)
        if len(weights) != expected:
            raise ValueError(f"set_weights: the model has {expected} weight arrays, got {len(weights)}")
        i, chunks = 0, []
        for layer in self.layers:
            k = len(layer.weights)
            layer.check_weights(weights[i:i + k])
            chunks.append(weights[i:i + k])
            i += k
        for layer, chunk in zip(self.layers, chunks):
            layer.set_weights(chunk)

    # -- the training state -----------------------------------------------------------------
    def variable_key(self, layer, name):
        """The key of `layer`'s tensor `name` in get_state()["variables"] and among the
        optimizer's parameters: "layers.{i}.{name}", i the layer's position in the model."""
        for i, candidate in enumerate(self.layers):
            if candidate is layer:
                return f"layers.{i}.{name}"
        raise ValueError(f"variable_key: layer {getattr(layer, 'name', layer)!r} is not in this model")

    def get_state(self, include_optimizer=True):
        """A copy of the model's state, the one contract saving, EarlyStopping, lr_finder and
        diagnostics use:
            {"variables": {"layers.{i}.{name}": array}   every parameter and layer state (BN
                                                          statistics), in the core's 2-D shapes,
             "optimizer": Optimizer.get_state() or None  slots by name, counters, live rate,
             "step": int                                  the step counter keying dropout/RReLU masks,
             "shuffle_rng": dict}                         the shuffling generator's state.
        include_optimizer=False gives the variables alone (the optimizer, step and RNG are then
        left alone by set_state). set_state of it later resumes training exactly where it was."""
        self._require_built("get_state")
        with self.state_lock:
            return self._copy_state(include_optimizer)

    def _copy_state(self, include_optimizer):
        variables = {}
        for layer in self.layers:
            for name, value in layer.get_state().items():
                variables[self.variable_key(layer, name)] = value
        state = {"variables": variables}
        if include_optimizer:
            state["optimizer"] = self.optimizer.get_state() if self.optimizer is not None else None
            state["step"] = int(self._net.step)
            state["shuffle_rng"] = copy.deepcopy(self._shuffle_rng.bit_generator.state)
        return state

    def set_state(self, state):
        """Restores a state from get_state() (entries left out, or an optimizer of None, are left
        as they are). Everything is checked before anything is written: a bad state raises and
        leaves the model untouched."""
        self._require_built("set_state")
        if not isinstance(state, dict):
            raise TypeError(f"set_state: expected the dict of get_state(), got {type(state).__name__}")
        unknown = set(state) - set(_STATE_KEYS)
        if unknown:
            raise ValueError(f"set_state: unknown entries {sorted(unknown)}; a state holds {list(_STATE_KEYS)}")
        per_layer = self._check_variables(state["variables"]) if "variables" in state else []
        if "step" in state:
            step = state["step"]
            if not (isinstance(step, (int, np.integer)) and not isinstance(step, bool)
                    and 0 <= step < 1 << 64):
                raise ValueError(f"set_state: step must be a uint64, got {step!r}")
        if "shuffle_rng" in state:
            self._check_rng_state(state["shuffle_rng"])
        if state.get("optimizer") is not None:
            if self.optimizer is None:
                raise ValueError("set_state: the state holds an optimizer state but the model is "
                                 "not compiled")
            self.optimizer.set_state(state["optimizer"])  # checks everything before writing
        for layer, layer_state in per_layer:
            layer.set_state(layer_state)
        if "step" in state:
            self._net.step = int(state["step"])
        if "shuffle_rng" in state:
            self._shuffle_rng.bit_generator.state = state["shuffle_rng"]

    def _check_variables(self, variables):
        """[(layer, {name: array})] from a "variables" dict, every key and array checked."""
        if not isinstance(variables, dict):
            raise TypeError(f"set_state: variables must be a dict, got {type(variables).__name__}")
        per_layer, expected = [], set()
        for layer in self.layers:
            keys = {name: self.variable_key(layer, name)
                    for name in layer.parameter_names + layer.state_names}
            expected.update(keys.values())
            if all(k in variables for k in keys.values()):
                layer_state = {name: variables[key] for name, key in keys.items()}
                layer.check_state(layer_state)
                per_layer.append((layer, layer_state))
        if set(variables) != expected:
            missing, extra = sorted(expected - set(variables)), sorted(set(variables) - expected)
            raise ValueError(f"set_state: variables must hold exactly this model's tensors"
                             + (f"; missing {missing[:5]}" if missing else "")
                             + (f"; unknown {extra[:5]}" if extra else ""))
        return per_layer

    def _check_rng_state(self, rng_state):
        bitgen = self._shuffle_rng.bit_generator
        kind = type(bitgen).__name__
        if not (isinstance(rng_state, dict) and rng_state.get("bit_generator") == kind):
            raise ValueError(f"set_state: the shuffling RNG state is not a {kind} state")
        try:
            type(bitgen)().state = rng_state
        except Exception as e:
            raise ValueError(f"set_state: invalid shuffling RNG state ({type(e).__name__}: {e})") from e

    def save(self, path, include_optimizer=True):
        """Writes the model to one file, atomically: architecture, weights, BN statistics and (by
        default) the optimizer state and counters, so training resumes bit for bit after
        dk.load_model(path). The C++ library reads the same file (densekit::Model::load)."""
        saving.save_model(self, path, include_optimizer=include_optimizer)

    def sparsity(self, threshold=1e-3, exact=False):
        """Fraction of |w| below `threshold` per layer's kernel (and overall): how sparse l1 made
        the model. With exact=True, the fraction of weights that are exactly zero (what dk.prune
        sets and the sparse inference kernels skip)."""
        return _sparsity(self, threshold, exact=exact)

    def count_params(self):
        self._require_built("count_params")
        return sum(layer.count_params() for layer in self.layers)

    # -- description -----------------------------------------------------------------------
    def summary(self, print_fn=print):
        self._require_built("summary")
        rows = [("Layer (type)", "Output Shape", "Param #")]
        width = self.input_dim
        for layer in self.layers:
            width = layer.output_dim(width)
            rows.append((f"{layer.name} ({type(layer).__name__})", f"(None, {width})",
                         f"{layer.count_params():,}"))
        w0 = max(len(r[0]) for r in rows) + 2
        w1 = max(len(r[1]) for r in rows) + 2
        w2 = max(len(r[2]) for r in rows)
        line = "─" * (w0 + w1 + w2)
        total = self.count_params()
        trainable = sum(l.count_trainable_params() for l in self.layers)
        out = [f'Model: "{self.name}"', line]
        out += [f"{a:<{w0}}{b:<{w1}}{c:>{w2}}" for a, b, c in rows[:1]]
        out.append(line)
        out += [f"{a:<{w0}}{b:<{w1}}{c:>{w2}}" for a, b, c in rows[1:]]
        out.append(line)
        out += [f" Total params: {total:,}", f" Trainable params: {trainable:,}",
                f" Non-trainable params: {total - trainable:,}"]
        report = quantization.report_lines(self)
        if report:
            out += [line, " Quantization (inference only):"] + report
        print_fn("\n".join(out))

    # -- pickling (pickle, joblib, copy.deepcopy): through the model file, see pickling.py ----
    def __getstate__(self):
        return pickling.model_state(self, mc_calls=getattr(self, "_mc_calls", 0))

    def __setstate__(self, state):
        self.__dict__.update(pickling.model_from_state(type(self), state).__dict__)
        if state.get("mc_calls"):
            self._mc_calls = state["mc_calls"]

    def get_config(self):
        cfg = {"name": self.name, "seed": self.seed, "dtype": np.dtype(self.dtype).name,
               "input_dim": self.input_dim,
               "layers": [{"class_name": type(l).__name__, "config": l.get_config()}
                          for l in self.layers]}
        if self.input_shape is not None and len(self.input_shape) > 1:
            cfg["input_shape"] = list(self.input_shape)  # samples flattened by a first Flatten
        return cfg


# ---------------------------------------------------------------------------------------------
# Keras's module-level functions of keras.models: load_model, save_model, clone_model
# ---------------------------------------------------------------------------------------------
load_model = saving.load_model


def save_model(model, filepath, include_optimizer=True):
    """model.save(filepath) (Keras's keras.models.save_model)."""
    saving.save_model(model, filepath, include_optimizer=include_optimizer)


# clone_model: a new model with the same architecture and its own, freshly initialized weights.
# As in Keras, cloning copies the configuration, not the weights: `clone.set_weights(
# model.get_weights())` copies those. The clone shares nothing with the original (its layers own
# new C++ parameters), so training one never changes the other — unlike building a model from
# `base.layers`, which shares the layer objects (see SPEC §3, "Transfer learning").
def clone_layer(layer):
    """A new, unbuilt layer with `layer`'s configuration (same name, same trainable flag)."""
    return type(layer).from_config(layer.get_config())


def clone_model(model, clone_function=None, seed=None):
    """Returns an uncompiled copy of a Sequential with new layers and fresh weights.

    clone_function(layer) -> new layer replaces the default (`from_config(get_config())`), as in
    Keras (return the layer itself to share it). seed: the clone's seed; None draws a new one
    (so the fresh weights differ from the original's initial weights, as Keras's would); pass
    model.seed to reproduce the original's initial weights. A layer used at several positions is
    cloned once and reused at each, keeping the structure.
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"clone_model: expected a dk.Sequential, got {type(model).__name__}")
    fn = clone_function or clone_layer
    clones = {}
    layers = []
    for layer in model.layers:
        if id(layer) not in clones:
            new = fn(layer)
            if not isinstance(new, Layer):
                raise TypeError(f"clone_model: clone_function returned {type(new).__name__}, "
                                f"not a densekit layer")
            clones[id(layer)] = new
        layers.append(clones[id(layer)])
    head = [Input(model.input_shape)] if model.input_shape is not None else []
    return Sequential(head + layers, seed=seed, dtype=np.dtype(model.dtype).name, name=model.name)
