"""Callbacks (Keras contract): hooks on_{train,epoch,train_batch,test,test_batch,predict,
predict_batch}_{begin,end}(…, logs), and on_batch_{begin,end}, Keras's aliases of the train-batch
hooks.

Every hook Keras defines is called — by fit (train, epoch, batch, and test hooks for the
validation pass), evaluate(callbacks=...) (test hooks) and predict(callbacks=...) (predict
hooks) — and a callback that defines any other `on_*` method (a misspelt hook such as
`on_epoch_ends`, or a hook of another library) is refused when it is handed to fit, evaluate or
predict: a hook is never silently skipped.

The training loop hands whole runs of batches to C++ in one call unless some callback overrides a
batch-level hook; then it goes batch by batch so that hook sees every batch (validation,
evaluate and predict likewise, for their own batch hooks). Everything here works at epoch
granularity for that reason; per-step learning-rate/momentum control goes through the
`batch_hyperparameters(iteration, k)` hook instead (ScheduleCallback, which applies a
learning_rate_schedule value), which keeps whole runs in C++.

Callbacks reach the model only through its public contract (optimizer, get_state/set_state,
save, compute_gradients...): this tier sits below the training loop and the model classes and
imports neither. It must not import matplotlib at module level (plotting is an optional extra),
nor tensorboardX (the TensorBoard callback imports it when it is created).
"""

import csv
import difflib
import math
import os
import time
import warnings

import numpy as np

from . import pruning
from ._arguments import refuse
from ._checks import is_int, is_real
from ._pyplot import pyplot
from .layer_statistics import gradient_health, layer_stats
from .learning_rate_schedule import LearningRateSchedule

# Every hook Keras defines; densekit calls each of them (see the module docstring).
HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
         "on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end",
         "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end",
         "on_predict_begin", "on_predict_end", "on_predict_batch_begin", "on_predict_batch_end")
_BATCH_HOOKS = {"train": ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin",
                          "on_batch_end"),
                "test": ("on_test_batch_begin", "on_test_batch_end"),
                "predict": ("on_predict_batch_begin", "on_predict_batch_end")}


class Callback:
    """Base class of callbacks, as Keras's: override the hooks you need. `self.model` is the
    model being trained (or evaluated, or predicting with), `self.params` fit's parameters."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    # Keras's aliases: the train-batch hooks call them unless overridden themselves.
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass
    def on_train_batch_begin(self, batch, logs=None): self.on_batch_begin(batch, logs=logs)
    def on_train_batch_end(self, batch, logs=None): self.on_batch_end(batch, logs=logs)
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass

    def _overrides(self, hooks):
        cls = type(self)
        return any(getattr(cls, h) is not getattr(Callback, h) for h in hooks)

    @property
    def wants_batches(self):
        """Whether this callback overrides a train-batch hook (on_train_batch_* or on_batch_*)."""
        return self._overrides(_BATCH_HOOKS["train"])

    @property
    def wants_test_batches(self):
        return self._overrides(_BATCH_HOOKS["test"])

    @property
    def wants_predict_batches(self):
        return self._overrides(_BATCH_HOOKS["predict"])


def check_callback(callback, where):
    """Refuses what fit/evaluate/predict could not honour: an object that is not a densekit
    Callback, or a callback with an `on_*` method that is no hook (densekit would never call it)."""
    if not isinstance(callback, Callback):
        module = type(callback).__module__.split(".")[0]
        hint = (" (a Keras callback: subclass dk.callbacks.Callback instead, with the same hooks)"
                if module in ("keras", "tensorflow", "tf_keras") else "")
        raise TypeError(f"{where}: callbacks must be dk.callbacks.Callback instances (or "
                        f"dk.schedules schedules), got {type(callback).__name__}{hint}")
    for name in dir(type(callback)):
        if name.startswith("on_") and name not in HOOKS and callable(getattr(type(callback), name)):
            # Other libraries' names (Lightning's on_train_epoch_end, on_*_start) first, then
            # the closest spelling.
            keras_name = name.replace("_start", "_begin").replace("on_train_epoch_", "on_epoch_")
            close = [keras_name] if keras_name in HOOKS else difflib.get_close_matches(name, HOOKS, n=1)
            raise TypeError(
                f"{where}: {type(callback).__name__}.{name} is not a callback hook, so it would "
                f"never be called" + (f" — did you mean {close[0]}?" if close else "")
                + f" The hooks (Keras's) are: {', '.join(HOOKS)}")


class CallbackList:
    def __init__(self, callbacks, model, params, where="fit"):
        self.callbacks = list(callbacks)
        for c in self.callbacks:
            check_callback(c, where)
        for c in self.callbacks:
            c.set_model(model)
            c.set_params(params)
        self.wants_batches = any(c.wants_batches for c in self.callbacks)
        self.wants_test_batches = any(c.wants_test_batches for c in self.callbacks)
        self.wants_predict_batches = any(c.wants_predict_batches for c in self.callbacks)

    def __getattr__(self, hook):
        if hook not in HOOKS:
            raise AttributeError(hook)

        def call(*args, **kwargs):
            for c in self.callbacks:
                getattr(c, hook)(*args, **kwargs)
        return call


class _HistoryDict(dict):
    """history.history: a dict whose missing keys say what was recorded."""

    def __missing__(self, key):
        hint = ""
        if key in ("lr", "learning_rate"):
            hint = ("; the learning rate is recorded each epoch when it can change: a schedule "
                    "as the optimizer's learning_rate, a dk.schedules callback, "
                    "ReduceLROnPlateau or LearningRateScheduler")
        elif key.startswith("val_"):
            hint = "; val_* needs validation_data or validation_split"
        raise KeyError(f"no {key!r} in the history (recorded: {sorted(self)}){hint}")


class History(Callback):
    """Records the logs of every epoch: history.history["loss"], ["val_loss"], ... When the
    learning rate is logged ("learning_rate", Keras 3's name) it is also kept as "lr" (Keras 2's)."""

    def __init__(self):
        super().__init__()
        self.history = _HistoryDict()
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        logs = dict(logs or {})
        if "learning_rate" in logs:  # Keras 2 code reads history.history["lr"]
            logs.setdefault("lr", logs["learning_rate"])
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)

    def plot(self, keys=None, ax=None, logy=False):
        """Plots the recorded curves (all keys, or `keys`) against the epoch; returns the Axes.
        A key and its `val_` twin share a colour (validation dashed). Needs matplotlib."""
        plt = pyplot()
        if ax is None:
            _, ax = plt.subplots()
        keys = list(keys) if keys is not None else list(self.history)
        epochs = [e + 1 for e in self.epoch] if self.epoch else None
        colours = {}
        for key in keys:
            values = self.history.get(key)
            if values is None:
                raise KeyError(f"History.plot: no {key!r} in the history; recorded keys: "
                               f"{sorted(self.history)}")
            base = key[4:] if key.startswith("val_") else key
            x = epochs if epochs and len(epochs) == len(values) else range(1, len(values) + 1)
            line, = ax.plot(list(x), values, "--" if key.startswith("val_") else "-", label=key,
                            color=colours.get(base))
            colours.setdefault(base, line.get_color())
        ax.set_xlabel("epoch")
        if logy:
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        ax.legend()
        return ax


# ----------------------------------------------------------------------------------------------
# monitoring a logged quantity (EarlyStopping, ReduceLROnPlateau, ModelCheckpoint)
# ----------------------------------------------------------------------------------------------
class _Monitor:
    """Which log entry to watch and which direction is better.

    mode "auto" maximizes accuracy-like quantities (names containing "acc" or "auc") and minimizes
    everything else, as Keras does. `min_delta` is absolute: an improvement must beat the best
    value by more than min_delta.
    """

    def __init__(self, monitor, mode, min_delta, owner):
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"{owner}: mode must be 'auto', 'min' or 'max', got {mode!r}")
        if not (isinstance(min_delta, (int, float)) and min_delta >= 0):
            raise ValueError(f"{owner}: min_delta must be a number >= 0, got {min_delta!r}")
        self.monitor = monitor
        if mode == "auto":
            name = monitor.lower()
            mode = "max" if ("acc" in name or "auc" in name) else "min"
        self.mode = mode
        self.min_delta = float(min_delta)
        self._owner = owner
        self._warned = False

    def worst(self):
        return math.inf if self.mode == "min" else -math.inf

    def improved(self, current, reference):
        if self.mode == "min":
            return current < reference - self.min_delta
        return current > reference + self.min_delta

    def read(self, logs):
        """The monitored value from logs, or None (with one warning per training run)."""
        value = (logs or {}).get(self.monitor)
        if value is None:
            if not self._warned:
                self._warned = True
                warnings.warn(f"{self._owner}: the logs have no {self.monitor!r} (available: "
                              f"{sorted(logs or {})}); it does nothing without it "
                              f"(val_* metrics need validation_data or validation_split)",
                              RuntimeWarning, stacklevel=3)
            return None
        return float(value)


def _set_lr(model, lr):
    model.optimizer.learning_rate = float(lr)


class EarlyStopping(Callback):
    """Stops training when `monitor` has not improved for `patience` epochs (Keras semantics).

    An epoch improves when its value beats the best so far by more than `min_delta` (in the
    direction given by `mode`). With `baseline`, the patience counter only resets once the value
    also beats the baseline. Epochs before `start_from_epoch` are not counted (warm-up). With
    `restore_best_weights=True` the model ends training (stopped early or not) with the weights of
    its best epoch — its parameters and layer states (BN statistics), through
    `model.get_state(include_optimizer=False)` / `set_state` (the optimizer keeps its state, as in
    Keras); `best_weights` holds that state, `best_epoch`, `best` and `stopped_epoch` (0 if it
    never stopped) are kept.
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self._monitor = _Monitor(monitor, mode, min_delta, "EarlyStopping")
        if not (isinstance(patience, int) and patience >= 0):
            raise ValueError(f"EarlyStopping: patience must be an int >= 0, got {patience!r}")
        if not (isinstance(start_from_epoch, int) and start_from_epoch >= 0):
            raise ValueError(f"EarlyStopping: start_from_epoch must be an int >= 0, got {start_from_epoch!r}")
        self.monitor = monitor
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = start_from_epoch

    @property
    def mode(self):
        return self._monitor.mode

    @property
    def min_delta(self):
        return self._monitor.min_delta

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = self._monitor.worst()
        self.best_weights = None
        self.best_epoch = 0
        self._monitor._warned = False

    def on_epoch_end(self, epoch, logs=None):
        current = self._monitor.read(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # So there is something to restore even if no epoch ever improves on the baseline.
            self.best_weights = self.model.get_state(include_optimizer=False)
        self.wait += 1
        if self._monitor.improved(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_state(include_optimizer=False)
            if self.baseline is None or self._monitor.improved(current, self.baseline):
                self.wait = 0
                return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_state(self.best_weights)


class ReduceLROnPlateau(Callback):
    """Performance scheduling: multiplies the learning rate by `factor` when `monitor` has not
    improved (by more than `min_delta`) for `patience` epochs, then waits `cooldown` epochs before
    counting again; never goes below `min_lr`. Adds "learning_rate" to each epoch's logs."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
        super().__init__()
        if not (isinstance(factor, (int, float)) and 0 < factor < 1):
            raise ValueError(f"ReduceLROnPlateau: factor must be in (0, 1), got {factor!r}")
        if not (isinstance(patience, int) and patience >= 0):
            raise ValueError(f"ReduceLROnPlateau: patience must be an int >= 0, got {patience!r}")
        if not (isinstance(cooldown, int) and cooldown >= 0):
            raise ValueError(f"ReduceLROnPlateau: cooldown must be an int >= 0, got {cooldown!r}")
        if not (isinstance(min_lr, (int, float)) and min_lr >= 0):
            raise ValueError(f"ReduceLROnPlateau: min_lr must be a number >= 0, got {min_lr!r}")
        self._monitor = _Monitor(monitor, mode, min_delta, "ReduceLROnPlateau")
        self.monitor = monitor
        self.factor = float(factor)
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.min_lr = float(min_lr)
        self._reset()

    def _reset(self):
        self.best = self._monitor.worst()
        self.wait = 0
        self.cooldown_counter = 0

    def on_train_begin(self, logs=None):
        self._reset()
        self._monitor._warned = False

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        lr = float(self.model.optimizer.learning_rate)
        logs["learning_rate"] = lr
        current = self._monitor.read(logs)
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._monitor.improved(current, self.best):
            self.best = current
            self.wait = 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience and lr > self.min_lr:
                new_lr = max(lr * self.factor, self.min_lr)
                _set_lr(self.model, new_lr)
                if self.verbose:
                    print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr:.4g}.")
                self.cooldown_counter = self.cooldown
                self.wait = 0

    def get_config(self):
        return {"monitor": self.monitor, "factor": self.factor, "patience": self.patience,
                "mode": self._monitor.mode, "min_delta": self._monitor.min_delta,
                "cooldown": self.cooldown, "min_lr": self.min_lr}


class ModelCheckpoint(Callback):
    """Saves the model (`model.save(path)`) after each epoch, or only when `monitor` improves with
    `save_best_only=True`. `filepath` may hold format fields: "{epoch}" (1-based, as Keras) and any
    log key, e.g. "ckpt-{epoch:02d}-{val_loss:.3f}.dk". `best` and `saved` (the paths written) are
    kept."""

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, mode="auto",
                 save_freq="epoch", initial_value_threshold=None, **kwargs):
        super().__init__()
        refuse("ModelCheckpoint()", kwargs, {
            "save_weights_only": "a densekit model file always holds the whole model (weights "
                                 "included): dk.load_model(path).get_weights() gives the weights",
            "options": "densekit writes its own model file format (no TensorFlow save options)"})
        if save_freq != "epoch":
            raise ValueError(f"ModelCheckpoint: densekit saves at the end of epochs "
                             f"(save_freq='epoch'), got save_freq={save_freq!r}")
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = bool(save_best_only)
        self._monitor = _Monitor(monitor, mode, 0.0, "ModelCheckpoint")
        # Keras's initial_value_threshold: a value the monitored quantity must beat to be saved.
        self.best = (self._monitor.worst() if initial_value_threshold is None
                     else float(initial_value_threshold))
        self.saved = []

    def on_train_begin(self, logs=None):
        if not callable(getattr(self.model, "save", None)):
            raise RuntimeError("ModelCheckpoint: this model has no save(path) method "
                               "(densekit model persistence is not available in this build)")
        self._monitor._warned = False

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.save_best_only:
            current = self._monitor.read(logs)
            if current is None or not self._monitor.improved(current, self.best):
                return
            self.best = current
        path = self.filepath.format(epoch=epoch + 1, **logs)
        self.model.save(path)
        self.saved.append(path)
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved the model to {path}")


class LearningRateScheduler(Callback):
    """Per-epoch learning rate from `schedule(epoch, lr) -> new_lr` (or `schedule(epoch)`), set
    at the start of each epoch (epoch counted from 0, as Keras). Adds "learning_rate" to logs."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler: schedule must be callable, got {schedule!r}")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        lr = float(self.model.optimizer.learning_rate)
        try:
            new_lr = self.schedule(epoch, lr)
        except TypeError:  # a one-argument schedule(epoch), as Keras accepts
            new_lr = self.schedule(epoch)
        new_lr = float(new_lr)
        if not (math.isfinite(new_lr) and new_lr >= 0):
            raise ValueError(f"LearningRateScheduler: the schedule returned {new_lr!r} for epoch "
                             f"{epoch}; a learning rate must be a finite number >= 0")
        _set_lr(self.model, new_lr)
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {new_lr:.4g}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class TerminateOnNaN(Callback):
    """Stops training at the end of an epoch whose loss (or val_loss) is NaN or infinite.

    The training loop itself already stops at the first batch whose loss is not finite (before
    applying that update); this callback also catches a diverging validation loss and records
    where it stopped (`terminated_epoch`, None if it never did)."""

    def __init__(self, monitors=("loss", "val_loss")):
        super().__init__()
        self.monitors = tuple(monitors)
        self.terminated_epoch = None

    def on_train_begin(self, logs=None):
        self.terminated_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        for key in self.monitors:
            value = (logs or {}).get(key)
            if value is not None and not math.isfinite(value):
                print(f"Epoch {epoch + 1}: invalid {key} {value}, terminating training")
                self.terminated_epoch = epoch
                self.model.stop_training = True
                return


class CSVLogger(Callback):
    """Writes one CSV row per epoch: "epoch" then the log keys (sorted, as Keras), to `filename`;
    `append=True` continues an existing file (without repeating its header)."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.separator = separator
        self.append = bool(append)
        self._file = None
        self._writer = None
        self._keys = None

    def on_train_begin(self, logs=None):
        has_rows = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
        self._header_needed = not has_rows
        self._keys = None
        if has_rows:  # continue with the existing columns
            with open(self.filename, newline="") as f:
                header = next(csv.reader(f, delimiter=self.separator), None)
            self._keys = header[1:] if header else None
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._writer = csv.writer(self._file, delimiter=self.separator)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._keys is None:
            self._keys = sorted(logs)
        if self._header_needed:
            self._writer.writerow(["epoch"] + self._keys)
            self._header_needed = False
        row = [epoch] + [_csv_value(logs.get(k, "")) for k in self._keys]
        self._writer.writerow(row)
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None


def _csv_value(v):
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    return v


class GradientMonitor(Callback):
    """Records `dk.diagnostics.layer_stats` on (x, y) before training and every `every` epochs
    into `records` (a list of {"epoch": e or None for "before training", "layers": [...]}), and
    warns when gradients vanish or explode.

    Vanishing: the weight-gradient norm of the first trainable layer is below 10**-orders times
    that of the last one (gradients collapsing by orders of magnitude toward the input).
    Exploding: that ratio exceeds 10**orders, or some gradient norm is not finite or exceeds
    `explode_norm`. Each warning kind is issued once per training run (`warnings` list keeps them).
    The statistics use a sample of `batch_size` rows; computing them does not change the model,
    its optimizer state or its random streams.
    """

    def __init__(self, x, y, batch_size=256, every=1, orders=3.0, explode_norm=1e4, at_start=True,
                 warn=True):
        super().__init__()
        if not (isinstance(every, int) and every >= 1):
            raise ValueError(f"GradientMonitor: every must be an int >= 1, got {every!r}")
        self.x, self.y = x, y
        self.batch_size = batch_size
        self.every = every
        self.orders = float(orders)
        self.explode_norm = float(explode_norm)
        self.at_start = bool(at_start)
        self.warn = bool(warn)
        self.records = []
        self.warnings = []

    def on_train_begin(self, logs=None):
        self._warned = set()
        if self.at_start:
            self._record(None)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            self._record(epoch)

    def _record(self, epoch):
        stats = layer_stats(self.model, self.x, self.y, batch_size=self.batch_size)
        self.records.append({"epoch": epoch, "layers": stats})
        kind, message = gradient_health(stats, self.orders, self.explode_norm)
        if kind is None or kind in self._warned:
            return
        self._warned.add(kind)
        when = "before training" if epoch is None else f"after epoch {epoch + 1}"
        text = f"GradientMonitor: {kind} gradients {when}: {message}"
        self.warnings.append(text)
        if self.warn:
            warnings.warn(text, RuntimeWarning, stacklevel=2)

    def grad_norms(self):
        """(epochs, norms): per record, the kernel-gradient norm of each layer (NaN where none)."""
        epochs = [r["epoch"] for r in self.records]
        norms = np.array([[np.nan if s["grad_norm"] is None else s["grad_norm"] for s in r["layers"]]
                          for r in self.records], dtype=float)
        return epochs, norms


class TensorBoard(Callback):
    """Writes TensorBoard event files during fit, as Keras's TensorBoard does: the epoch's logs
    as scalars `epoch_<name>` in `log_dir/train` and (val_* entries) in `log_dir/validation`, so
    TensorBoard overlays the training and validation curves; the learning rate when it is
    logged. Needs the `tensorboard` extra (`pip install densekit[tensorboard]`: tensorboardX,
    the writer library), imported when the callback is created.

    update_freq: "epoch" (default), "batch" or an int N — also write `batch_<name>` every N
    batches (the running epoch averages, at the global step; training then runs batch by
    batch, as it does for any batch-level callback). histogram_freq=N: every N epochs a
    histogram of every weight (`<layer>/<weight>`). write_graph: densekit has no TensorFlow graph
    to draw; the model's summary is written as text instead. write_steps_per_second: also
    `epoch_steps_per_second`. Keras's write_images, profile_batch and embeddings_freq have no
    densekit counterpart and are refused unless left at their defaults."""

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0,
                 embeddings_freq=0, embeddings_metadata=None):
        super().__init__()
        if write_images:
            raise ValueError("TensorBoard: write_images is not supported (densekit's layers are "
                             "dense: see their weights with histogram_freq=1)")
        if profile_batch not in (0, None, (0, 0)):
            raise ValueError("TensorBoard: profile_batch needs TensorFlow's profiler; densekit "
                             "has none (time fit, or use the progress bar's ms/step)")
        if embeddings_freq or embeddings_metadata is not None:
            raise ValueError("TensorBoard: embeddings are not supported (densekit has no "
                             "Embedding layer)")
        if not (isinstance(histogram_freq, int) and histogram_freq >= 0):
            raise ValueError(f"TensorBoard: histogram_freq must be an int >= 0, got {histogram_freq!r}")
        if update_freq not in ("epoch", "batch") and not (
                isinstance(update_freq, int) and not isinstance(update_freq, bool) and update_freq >= 1):
            raise ValueError(f"TensorBoard: update_freq must be 'epoch', 'batch' or an int >= 1, "
                             f"got {update_freq!r}")
        try:
            from tensorboardX import SummaryWriter
        except ImportError as e:
            raise ImportError("dk.callbacks.TensorBoard writes event files with tensorboardX: "
                              "pip install 'densekit[tensorboard]'") from e
        self._writer_class = SummaryWriter
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = bool(write_graph)
        self.write_steps_per_second = bool(write_steps_per_second)
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self._writers = {}

    @property
    def wants_batches(self):
        return self.update_freq != "epoch"

    def _writer(self, run):
        if run not in self._writers:
            self._writers[run] = self._writer_class(os.path.join(self.log_dir, run))
        return self._writers[run]

    def on_train_begin(self, logs=None):
        self._epoch_start = None
        if self.write_graph:
            lines = []
            self.model.summary(print_fn=lines.append)
            # Markdown renders the summary's table as code in TensorBoard's text tab.
            self._writer("train").add_text("model", "\n".join("    " + line for line in
                                                              "\n".join(lines).splitlines()), 0)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        step = self.model.optimizer.iterations
        if self.update_freq != "epoch" and step % self.update_freq == 0:
            for key, value in (logs or {}).items():
                self._writer("train").add_scalar(f"batch_{key}", float(value), step)

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        if self.write_steps_per_second and self._epoch_start is not None:
            logs["steps_per_second"] = self.params.get("steps", 0) / max(
                time.perf_counter() - self._epoch_start, 1e-9)
        for key, value in logs.items():
            run, name = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
            if name == "lr":  # Keras 2's alias of learning_rate: written once
                continue
            self._writer(run).add_scalar(f"epoch_{name}", float(value), epoch)
        if self.histogram_freq and (epoch + 1) % self.histogram_freq == 0:
            writer = self._writer("train")
            for layer in self.model.layers:
                for name in layer.parameter_names + layer.state_names:
                    writer.add_histogram(f"{layer.name}/{name}",
                                         np.asarray(layer.variable(name), dtype=np.float64), epoch)
        for writer in self._writers.values():
            writer.flush()

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}


class ScheduleCallback(Callback):
    """Applies a learning-rate schedule (a `dk.schedules` value) during fit; what
    `fit(callbacks=[schedule])` wraps a bare schedule in.

    update="step": t counts updates — the optimizer's global step, or the updates of this fit for
    a schedule that restarts each fit (OneCycle, sized to the fit) — and the rates (and momenta)
    of a whole run of batches reach C++ with the run (`batch_hyperparameters`), so a schedule
    never makes training go batch by batch. update="epoch": t is the epoch index (counted from
    the fit's initial_epoch for OneCycle), applied at each epoch's start. Momenta are applied
    when the schedule has them and the optimizer a momentum to drive (SGD/RMSprop whose momentum
    is > 0 when fit starts, the Adam family's β1). Adds "learning_rate" to each epoch's logs.
    """

    def __init__(self, schedule):
        super().__init__()
        if not isinstance(schedule, LearningRateSchedule):
            raise TypeError(f"ScheduleCallback: expected a dk.schedules LearningRateSchedule, got "
                            f"{type(schedule).__name__} (for schedule(epoch, lr) functions use "
                            f"LearningRateScheduler)")
        self.schedule = schedule
        self._t0 = self._epoch0 = 0
        self._drive_momentum = False

    def on_train_begin(self, logs=None):
        s, opt, p = self.schedule, self.model.optimizer, self.params or {}
        self._t0 = self._epoch0 = 0
        if s.restarts_each_fit:
            initial = int(p.get("initial_epoch", 0))
            epochs = int(p.get("epochs", 0)) - initial
            s.set_training_length(max(1, epochs * (int(p.get("steps", 1)) if s.update == "step" else 1)))
            self._t0, self._epoch0 = opt.iterations, initial
        driven = getattr(opt, "momentum_hyperparameter", None)
        self._drive_momentum = s.momenta(np.zeros(1)) is not None and (
            driven == "beta_1" or (driven == "momentum" and opt.momentum > 0))

    def batch_hyperparameters(self, iteration, k):
        if self.schedule.update != "step":
            return None, None
        t = np.arange(iteration - self._t0, iteration - self._t0 + k, dtype=np.float64)
        return self.schedule.values(t), (self.schedule.momenta(t) if self._drive_momentum else None)

    def on_epoch_begin(self, epoch, logs=None):
        if self.schedule.update != "epoch":
            return
        t = epoch - self._epoch0
        self.model.optimizer.learning_rate = self.schedule(t)
        if self._drive_momentum:
            self.model.optimizer.momentum = self.schedule.momentum(t)

    def on_epoch_end(self, epoch, logs=None):
        opt = self.model.optimizer
        if self._drive_momentum and self.schedule.update == "step":
            # The run applied per-batch momenta in C++ (which `opt.momentum` reads); store that
            # value as the optimizer's own too, which a later recompile starts from.
            opt.momentum = opt.momentum
        if logs is not None:
            logs["learning_rate"] = float(opt.learning_rate)


class LambdaCallback(Callback):
    """Keras's LambdaCallback: hooks given as functions, e.g.
    LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"])). Each argument
    is one of the hooks (on_batch_begin/on_batch_end as Keras's aliases of the train-batch
    hooks); a function takes what that hook takes (epoch or batch, then logs; logs alone for
    on_train/test/predict begin and end)."""

    def __init__(self, **hooks):
        super().__init__()
        unknown = [name for name in hooks if name not in HOOKS]
        if unknown:
            close = difflib.get_close_matches(unknown[0], HOOKS, n=1)
            raise TypeError(f"LambdaCallback: {unknown[0]!r} is not a callback hook"
                            + (f" (did you mean {close[0]}?)" if close else "")
                            + f"; the hooks are {', '.join(HOOKS)}")
        for name, fn in hooks.items():
            if fn is not None and not callable(fn):
                raise TypeError(f"LambdaCallback: {name} must be callable, got {fn!r}")
        self._hooks = {name: fn for name, fn in hooks.items() if fn is not None}

    def _call(self, name, *args, logs=None):
        fn = self._hooks.get(name)
        if fn is not None:
            fn(*args, logs)

    @property
    def wants_batches(self):
        return any(h in self._hooks for h in _BATCH_HOOKS["train"])

    @property
    def wants_test_batches(self):
        return any(h in self._hooks for h in _BATCH_HOOKS["test"])

    @property
    def wants_predict_batches(self):
        return any(h in self._hooks for h in _BATCH_HOOKS["predict"])

    def on_train_begin(self, logs=None): self._call("on_train_begin", logs=logs)
    def on_train_end(self, logs=None): self._call("on_train_end", logs=logs)
    def on_epoch_begin(self, epoch, logs=None): self._call("on_epoch_begin", epoch, logs=logs)
    def on_epoch_end(self, epoch, logs=None): self._call("on_epoch_end", epoch, logs=logs)
    def on_batch_begin(self, batch, logs=None): self._call("on_batch_begin", batch, logs=logs)
    def on_batch_end(self, batch, logs=None): self._call("on_batch_end", batch, logs=logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._call("on_train_batch_begin", batch, logs=logs)
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._call("on_train_batch_end", batch, logs=logs)
        self.on_batch_end(batch, logs)

    def on_test_begin(self, logs=None): self._call("on_test_begin", logs=logs)
    def on_test_end(self, logs=None): self._call("on_test_end", logs=logs)
    def on_test_batch_begin(self, batch, logs=None): self._call("on_test_batch_begin", batch, logs=logs)
    def on_test_batch_end(self, batch, logs=None): self._call("on_test_batch_end", batch, logs=logs)
    def on_predict_begin(self, logs=None): self._call("on_predict_begin", logs=logs)
    def on_predict_end(self, logs=None): self._call("on_predict_end", logs=logs)
    def on_predict_batch_begin(self, batch, logs=None): self._call("on_predict_batch_begin", batch, logs=logs)
    def on_predict_batch_end(self, batch, logs=None): self._call("on_predict_batch_end", batch, logs=logs)


# Keras callbacks densekit does not have, and the densekit way (module attribute lookups).
_KERAS_ONLY = {
    "BackupAndRestore": "save with dk.callbacks.ModelCheckpoint and resume with "
                        "dk.load_model(path) (the file holds the optimizer state: training "
                        "resumes bit for bit)",
    "ProgbarLogger": "fit(verbose=1) draws the progress bar",
    "RemoteMonitor": "write a dk.callbacks.Callback (or LambdaCallback) that posts the logs",
    "SwapEMAWeights": "densekit keeps no exponential moving average of the weights",
}


def __getattr__(name):
    if name in _KERAS_ONLY:
        raise AttributeError(f"densekit.callbacks has no {name}: {_KERAS_ONLY[name]}")
    raise AttributeError(f"module 'densekit.callbacks' has no attribute {name!r}")


def as_callback(item):
    """A callback for fit's list: a bare learning-rate schedule is wrapped in ScheduleCallback."""
    return ScheduleCallback(item) if isinstance(item, LearningRateSchedule) else item


# ----------------------------------------------------------------------------------------------
# gradual pruning
# ----------------------------------------------------------------------------------------------
class PruningSchedule(Callback):
    """Gradual magnitude pruning during fit: Zhu & Gupta's polynomial schedule ("To prune, or not
    to prune", 2017), the targets of densekit.pruning.schedule_sparsity:
        s_t = s_f + (s_i − s_f)·(1 − (t − begin_step)/(end_step − begin_step))^power
    (power=3 as in the paper, power=1 linear), each applied by dk.prune (magnitude pruning whose
    masks the training step enforces).

    PruningSchedule(final_sparsity, begin_step=0, end_step=1000, initial_sparsity=0.0,
                    frequency=100, power=3, scope="layer")
    prunes to s_t at steps begin_step, begin_step + frequency, ... and end_step; the masks then
    hold through the rest of training. Steps count optimizer updates (model.optimizer.iterations),
    so one schedule may span several fit calls. It takes control only at its pruning steps, through
    the training loop's `steps_before_control` hook: between them, training stays whole runs of
    batches in C++.
    """

    def __init__(self, final_sparsity, begin_step=0, end_step=1000, initial_sparsity=0.0,
                 frequency=100, power=3, scope="layer"):
        super().__init__()
        where = "PruningSchedule"
        self.final_sparsity = pruning.check_sparsity(final_sparsity, where)
        self.initial_sparsity = pruning.check_sparsity(initial_sparsity, where)
        if self.initial_sparsity > self.final_sparsity:
            raise ValueError(f"{where}: initial_sparsity {initial_sparsity} exceeds final_sparsity "
                             f"{final_sparsity}")
        for name, value in (("begin_step", begin_step), ("end_step", end_step)):
            if not is_int(value, 0):
                raise ValueError(f"{where}: {name} must be an int >= 0, got {value!r}")
        if end_step < begin_step:
            raise ValueError(f"{where}: end_step {end_step} is before begin_step {begin_step}")
        if not is_int(frequency, 1):
            raise ValueError(f"{where}: frequency must be an int >= 1, got {frequency!r}")
        if not (is_real(power) and math.isfinite(power) and power > 0):
            raise ValueError(f"{where}: power must be a number > 0, got {power!r}")
        if scope not in pruning.SCOPES:
            raise ValueError(f"{where}: scope must be 'global' or 'layer', got {scope!r}")
        self.begin_step, self.end_step = int(begin_step), int(end_step)
        self.frequency, self.power, self.scope = int(frequency), float(power), scope
        self.applied = []  # (step, target sparsity) of every pruning done

    def is_pruning_step(self, step):
        if step < self.begin_step or step > self.end_step:
            return False
        return (step - self.begin_step) % self.frequency == 0 or step == self.end_step

    def next_pruning_step(self, step):
        """The first pruning step at or after `step`, or None when the schedule is over."""
        if step > self.end_step:
            return None
        if step <= self.begin_step:
            return self.begin_step
        k = -(-(step - self.begin_step) // self.frequency)
        return min(self.begin_step + k * self.frequency, self.end_step)

    def steps_before_control(self, iteration):
        """Training-loop hook: prunes when `iteration` (the next update's step) is a pruning step,
        then returns how many updates may run before this schedule needs control again (None:
        never again)."""
        if self.is_pruning_step(iteration) and (not self.applied or self.applied[-1][0] != iteration):
            target = pruning.schedule_sparsity(iteration, self.final_sparsity, self.begin_step,
                                       self.end_step, self.initial_sparsity, self.power)
            pruning.prune(self.model, target, self.scope)
            self.applied.append((iteration, target))
        nxt = self.next_pruning_step(iteration + 1)
        return None if nxt is None else nxt - iteration

    def get_config(self):
        return {"final_sparsity": self.final_sparsity, "begin_step": self.begin_step,
                "end_step": self.end_step, "initial_sparsity": self.initial_sparsity,
                "frequency": self.frequency, "power": self.power, "scope": self.scope}
