"""The training and evaluation loops behind Sequential.fit / evaluate / train_on_batch.

Python decides what to run (epochs, shuffling, validation, callbacks); C++ runs it. Each call to
`network.train` processes a run of batches with the GIL released: one batch when a callback needs
batch-level control, otherwise as many as fit in ~0.1 s (so the progress bar stays live and
Ctrl-C stays responsive) — the per-batch cost of Python is then nil.

The model passes itself and the two things it owns that the loop drives: its C++ `network` and
its shuffling RNG. Everything else is read through the model's public attributes (optimizer,
loss, metrics_names, dtype, ...); this module imports no model class.

Data-parallel training (`strategy=`, distributed/strategy.py) runs this same loop on every rank:
the loop hands the strategy its checked arrays once (`begin_fit`, `begin_evaluate`) and gets back
a view of the network with the same `train`/`evaluate` calls, which runs this rank's share of
each global batch and returns statistics summed over the ranks, plus this rank's verbosity and
callbacks. Nothing else in the loop knows about ranks.
"""

import math
import time
import warnings

import numpy as np

from . import _data
from ._data import prepare  # noqa: F401  (training.prepare: the conversion every entry point does)
from .callbacks import CallbackList, History, as_callback
from .learning_rate_schedule import LearningRateSchedule
from .progress import ProgressBar

_TARGET_CALL_SECONDS = {True: 0.1, False: 0.5}  # by "is a progress bar showing"


def batch_hyperparameters(opt, callbacks, k):
    """Per-batch learning rates and momenta for the next k batches, or None where constant.

    Sources: a schedule passed as the optimizer's learning_rate (called with the global step), and
    any callback with a `batch_hyperparameters(iteration, k) -> (lrs, momenta)` method (per-step
    schedules such as OneCycle) — so schedules run inside one C++ call, without batch-level Python.
    """
    it = opt.iterations
    lrs = momenta = None
    if opt.schedule is not None:
        if isinstance(opt.schedule, LearningRateSchedule):  # vectorized: one NumPy call per run
            lrs = np.ascontiguousarray(opt.schedule.values(np.arange(it, it + k, dtype=np.float64)),
                                       dtype=np.float64)
        else:
            lrs = np.array([opt.schedule(it + i) for i in range(k)], dtype=np.float64)
    for cb in callbacks:
        hook = getattr(cb, "batch_hyperparameters", None)
        if hook is None:
            continue
        cb_lrs, cb_momenta = hook(it, k)
        if cb_lrs is not None:
            lrs = np.ascontiguousarray(cb_lrs, dtype=np.float64)
        if cb_momenta is not None:
            momenta = np.ascontiguousarray(cb_momenta, dtype=np.float64)
    return lrs, momenta


def steps_before_control(callbacks, iteration, k):
    """k, cut so that the run of batches stops where a callback needs control: a callback with a
    `steps_before_control(iteration) -> int | None` hook (PruningSchedule) acts before the update
    of step `iteration` and says how many updates may run before it must be asked again."""
    for cb in callbacks:
        hook = getattr(cb, "steps_before_control", None)
        if hook is None:
            continue
        n = hook(iteration)
        if n is not None:
            k = min(k, max(1, int(n)))
    return k


def metric_logs(model, stats, samples, prefix=""):
    """Keras-style logs from C++ run statistics."""
    logs = {}
    for name in model.metrics_names[1:]:
        if name in ("accuracy", "acc", "sparse_categorical_accuracy", "categorical_accuracy",
                    "binary_accuracy"):
            logs[prefix + name] = stats["correct"] / samples
        elif name in ("mse", "mean_squared_error"):
            logs[prefix + name] = stats["sq_error"] / samples
        elif name in ("mae", "mean_absolute_error"):
            logs[prefix + name] = stats["abs_error"] / samples
    return logs


def evaluate_arrays(model, network, X, Y, W, batch_size, prefix="", callbacks=None):
    """Loss and metrics on (X, Y, W) in inference mode: one C++ call, or — when a callback has
    test-batch hooks — one call per batch of `batch_size`, each between its hooks (the batch's
    logs are the running loss and metrics, as Keras's)."""
    n = X.shape[0]
    if callbacks is None or not callbacks.wants_test_batches:
        stats = network.evaluate(X, Y, W, max(batch_size, 256))
    else:
        stats = {}
        for batch, start in enumerate(range(0, n, batch_size)):
            rows = slice(start, min(start + batch_size, n))
            callbacks.on_test_batch_begin(batch)
            part = network.evaluate(X[rows], Y[rows], None if W is None else W[rows], batch_size)
            for key, value in part.items():
                stats[key] = stats.get(key, 0) + value
            seen = rows.stop
            running = {"loss": stats["loss_sum"] / seen}
            running.update(metric_logs(model, stats, seen))
            callbacks.on_test_batch_end(batch, running)
    n = stats["samples"]  # X's rows, or every rank's under a strategy
    logs = {prefix + "loss": stats["loss_sum"] / n}
    logs.update(metric_logs(model, stats, n, prefix))
    return logs


def _check_fit_args(epochs, verbose, validation_split, initial_epoch):
    if not (isinstance(epochs, (int, np.integer)) and epochs >= 0):
        raise ValueError(f"fit: epochs must be an int >= 0, got {epochs!r}")
    if verbose not in (0, 1, 2, "auto"):
        raise ValueError(f"fit: verbose must be 0, 1 or 2, got {verbose!r}")
    if not (isinstance(validation_split, (int, float)) and 0 <= validation_split < 1):
        raise ValueError(f"fit: validation_split must be in [0, 1), got {validation_split!r}")
    if not (isinstance(initial_epoch, (int, np.integer)) and 0 <= initial_epoch):
        raise ValueError(f"fit: initial_epoch must be an int >= 0, got {initial_epoch!r}")


def divergence(stats):
    """What made a train call stop before an update (its stats say "diverged")."""
    if stats.get("nonfinite_gradient"):
        return f"a gradient became NaN or Inf (the loss was {stats['last_loss']})"
    return f"the loss became {stats['last_loss']}"


def fit(model, network, shuffle_rng, x, y, batch_size=32, epochs=1, verbose=1, callbacks=None,
        validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
        sample_weight=None, initial_epoch=0, strategy=None):
    """Sequential.fit on a compiled, built model (its network and shuffling RNG passed in)."""
    where = "fit"
    _check_fit_args(epochs, verbose, validation_split, initial_epoch)
    verbose = 1 if verbose == "auto" else verbose
    batch_size = _data.check_batch_size(batch_size, where)
    X, Y, W = prepare(model, x, y, sample_weight, class_weight, where)

    val = None
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError("fit: validation_data must be (x_val, y_val) or (x_val, y_val, sample_weight)")
        vw = validation_data[2] if len(validation_data) == 3 else None
        val = prepare(model, validation_data[0], validation_data[1], vw, None, "fit (validation_data)")
    elif validation_split:
        # As Keras: the last fraction of the data, taken before any shuffling.
        split = int(X.shape[0] * (1 - validation_split))
        if split == 0 or split == X.shape[0]:
            raise ValueError(f"fit: validation_split={validation_split} leaves an empty training or "
                             f"validation set for {X.shape[0]} samples")
        # As Keras: class_weight shapes training only; validation keeps just sample_weight.
        vw = None if W is None else W[split:]
        if class_weight is not None:
            vw = None if sample_weight is None else np.ascontiguousarray(
                np.asarray(sample_weight, dtype=np.float64)[split:], dtype=model.dtype)
        val = (X[split:], Y[split:], vw)
        X, Y, W = X[:split], Y[:split], None if W is None else W[:split]

    if callbacks is None:  # presets attach theirs (early stopping, 1-cycle); callbacks=[] opts out
        callbacks = model.default_callbacks
    # A bare schedule is a value; as a callback it runs through ScheduleCallback.
    callbacks = [as_callback(c) for c in callbacks or []]
    net = network
    if strategy is not None:  # data-parallel: every rank runs this loop on its share
        net, verbose, callbacks = strategy.begin_fit(
            model, network, shuffle_rng, (X, Y, W), batch_size, verbose, callbacks,
            {"epochs": int(epochs), "initial_epoch": int(initial_epoch), "shuffle": bool(shuffle),
             "validation": val is not None})
    n = X.shape[0] if strategy is None else net.samples
    steps = math.ceil(n / batch_size)
    history = History()
    progbar = ProgressBar(verbose) if verbose else None
    cbs = CallbackList(([progbar] if progbar else []) + callbacks + [history], model,
                       {"epochs": epochs, "steps": steps, "verbose": verbose,
                        "batch_size": batch_size, "samples": n, "initial_epoch": initial_epoch},
                       where)
    model.history = history
    model.stop_training = False
    model.diverged = False  # a past divergence must not switch validation off in later fits
    opt = model.optimizer
    rng = shuffle_rng
    per_call = _TARGET_CALL_SECONDS[progbar is not None and verbose == 1]

    cbs.on_train_begin()
    chunk = 1 if cbs.wants_batches else 8
    for epoch in range(initial_epoch, epochs):
        cbs.on_epoch_begin(epoch)
        order = rng.permutation(n).astype(np.int64, copy=False) if shuffle else None
        done = 0
        # Per-batch statistics written by C++; the epoch's logs total this one array, so they do
        # not depend on how the epoch was cut into calls (which varies with timing).
        batch_stats = np.zeros((steps, 5))
        totals = {"loss_sum": 0.0, "correct": 0.0, "sq_error": 0.0, "abs_error": 0.0, "samples": 0}
        logs = {}
        while done < steps and not model.stop_training:
            k = steps_before_control(cbs.callbacks, opt.iterations, min(chunk, steps - done))
            start = done * batch_size
            count = min(k * batch_size, n - start)
            if cbs.wants_batches:
                cbs.on_train_batch_begin(done)
            lrs, momenta = batch_hyperparameters(opt, cbs.callbacks, k)
            t0 = time.perf_counter()
            out = batch_stats[done:done + k]
            # Held per C++ call, not per epoch: a save() on another thread waits for one call.
            with model.state_lock:
                if order is not None:
                    stats = net.train(X, Y, W, order[start:start + count], count, batch_size, lrs,
                                      momenta, out)
                else:
                    stats = net.train(X[start:start + count], Y[start:start + count],
                                      None if W is None else W[start:start + count], None, count,
                                      batch_size, lrs, momenta, out)
            elapsed = time.perf_counter() - t0
            for key in totals:
                totals[key] += stats[key]
            done += stats["batches"]
            seen = max(totals["samples"], 1)
            logs = {"loss": totals["loss_sum"] / seen}
            logs.update(metric_logs(model, totals, seen))
            if stats["diverged"]:
                model.stop_training = True
                model.diverged = True
                warnings.warn(f"fit: {divergence(stats)} at epoch {epoch + 1}, "
                              f"batch {done + 1}; training stopped before applying that update "
                              f"(try a lower learning rate, gradient clipping or standardized inputs)",
                              RuntimeWarning, stacklevel=3)
                break
            if cbs.wants_batches:
                cbs.on_train_batch_end(done - 1, dict(logs))
            elif stats["batches"]:
                # Size the next run of batches to take about `per_call` seconds.
                per_batch = elapsed / stats["batches"]
                chunk = max(1, min(steps, int(per_call / max(per_batch, 1e-7))))
            if progbar:
                progbar.update(done, logs)
        if totals["samples"] == 0:
            logs = {"loss": float("nan")}
        else:
            loss_sum, correct, sq_error, abs_error, samples = batch_stats[:done].sum(axis=0)
            exact = {"loss_sum": loss_sum, "correct": correct, "sq_error": sq_error,
                     "abs_error": abs_error}
            logs = {"loss": loss_sum / samples}
            logs.update(metric_logs(model, exact, samples))
        if val is not None and not model.diverged:
            cbs.on_test_begin()
            val_logs = evaluate_arrays(model, net, *val, batch_size, callbacks=cbs)
            cbs.on_test_end(dict(val_logs))  # Keras: on_test_end sees the unprefixed names
            logs.update({"val_" + k: v for k, v in val_logs.items()})
        if opt.schedule is not None:
            # The rate the epoch ended with (a schedule changes it every step), as Keras's
            # schedule callbacks log it; History also keeps it as "lr".
            logs["learning_rate"] = float(opt.learning_rate)
        cbs.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    cbs.on_train_end(logs if epochs > initial_epoch else {})
    return history


def evaluate(model, network, x, y, batch_size=32, verbose=0, sample_weight=None,
             return_dict=False, callbacks=None, strategy=None):
    """Sequential.evaluate on a compiled, built model; `callbacks` get the test hooks."""
    where = "evaluate"
    batch_size = _data.check_batch_size(batch_size, where)
    X, Y, W = prepare(model, x, y, sample_weight, None, where)
    if strategy is not None:  # the rows of every rank
        network = strategy.begin_evaluate(model, network, (X, Y, W))
    cbs = CallbackList(callbacks or [], model, {"batch_size": batch_size, "samples": X.shape[0],
                                                "verbose": verbose}, where)
    cbs.on_test_begin()
    logs = evaluate_arrays(model, network, X, Y, W, batch_size, callbacks=cbs)
    cbs.on_test_end(dict(logs))
    if verbose:
        print(" - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
    return format_results(model, logs, return_dict)


def format_results(model, logs, return_dict):
    """Keras's return convention: a dict, a scalar loss, or [loss, *metrics]."""
    if return_dict:
        return dict(logs)
    values = [logs[name] for name in model.metrics_names]
    return values[0] if len(values) == 1 else values
