"""The learning-rate finder (SPEC §3 "Schedules"): an exponential sweep of the learning rate
over one pass of training steps, the loss it gives, and a suggested rate — then the model put
back exactly as it was.

A tool on top of the model API: each step is `model.train_on_batch` at a rate set by hand, and
the undo is `model.get_state()` / `set_state()` (weights, layer states, optimizer slots,
counters and live hyperparameters, step counter, shuffling RNG). No private state of the model
is touched. matplotlib only when plotting.
"""

import math
import warnings

import numpy as np

from . import _data
from ._pyplot import pyplot
from ._checks import positive

__all__ = ["lr_finder", "plot_lr_finder"]


def lr_finder(model, X, y, min_lr=1e-6, max_lr=10.0, steps=None, batch_size=32, plot=False,
              stop_factor=4.0, smoothing=0.9, seed=0):
    """Exponential learning-rate sweep: trains one batch per step with η growing geometrically
    from `min_lr` to `max_lr` over `steps` steps (default: one epoch, at most 300 and at least
    50 steps; the data are reshuffled and reused if an epoch is shorter), recording each batch's
    loss (computed before its update). The sweep stops early once the smoothed loss exceeds
    `stop_factor` × its minimum, or the loss is not finite.

    Returns (lrs, losses, suggested_lr): the rates tried, the raw losses, and the rate at the
    minimum of the smoothed loss (exponential moving average, factor `smoothing`, bias-corrected)
    divided by 10 — "about 10 times lower than the turning point", as Géron advises; use it as a
    constant rate or as OneCycle's max_lr after checking the curve (plot=True, or an Axes).

    The model is left bit-for-bit as it was: weights, layer states, optimizer slots and counters,
    hyperparameters and random streams are restored (the model's shuffling stream is not used).
    """
    if model.optimizer is None:
        raise RuntimeError("lr_finder: compile the model first (model.compile(optimizer, loss))")
    if not model.built:
        model.build()
    min_lr = positive("lr_finder: min_lr", min_lr)
    max_lr = positive("lr_finder: max_lr", max_lr)
    if max_lr <= min_lr:
        raise ValueError(f"lr_finder: max_lr ({max_lr}) must exceed min_lr ({min_lr})")
    batch_size = _data.check_batch_size(batch_size, "lr_finder")
    Xc, Yc, _ = _data.prepare(model, X, y, None, None, "lr_finder")
    n = Xc.shape[0]
    if steps is None:
        steps = min(300, max(50, math.ceil(n / batch_size)))
    if not (isinstance(steps, (int, np.integer)) and steps >= 2):
        raise ValueError(f"lr_finder: steps must be an int >= 2, got {steps!r}")
    lrs_all = min_lr * (max_lr / min_lr) ** (np.arange(steps) / (steps - 1))

    rng = np.random.default_rng(seed)
    per_epoch = max(1, n // batch_size) if n >= batch_size else 1
    bs = min(batch_size, n)
    order = rng.permutation(n).astype(np.int64)
    opt = model.optimizer
    snap, schedule = model.get_state(), opt.schedule
    lrs, losses = [], []
    avg, best = 0.0, math.inf
    try:
        for i in range(steps):
            j = i % per_epoch
            if i and j == 0:
                order = rng.permutation(n).astype(np.int64)
            idx = order[j * bs:(j + 1) * bs]
            opt.learning_rate = float(lrs_all[i])  # a plain rate (a schedule is put back below)
            with warnings.catch_warnings():  # a sweep is meant to end in a diverging loss
                warnings.simplefilter("ignore", RuntimeWarning)
                logs = model.train_on_batch(Xc[idx], Yc[idx], return_dict=True)
            loss = float(logs["loss"])
            lrs.append(float(lrs_all[i]))
            losses.append(loss)
            if not math.isfinite(loss):
                break
            avg = smoothing * avg + (1 - smoothing) * loss
            smoothed = avg / (1 - smoothing ** (i + 1))
            best = min(best, smoothed)
            if i >= 10 and smoothed > stop_factor * best:
                break
    finally:
        opt.schedule = schedule
        model.set_state(snap)

    lrs = np.asarray(lrs)
    losses = np.asarray(losses)
    smooth = _smoothed(losses, smoothing)
    finite = np.isfinite(smooth)
    suggested = float(lrs[finite][np.argmin(smooth[finite])] / 10.0) if finite.any() else min_lr
    suggested = max(suggested, min_lr)
    if plot:
        plot_lr_finder(lrs, losses, suggested, ax=None if plot is True else plot,
                       smoothing=smoothing)
    return lrs, losses, suggested


def _smoothed(losses, smoothing):
    out = np.empty_like(losses, dtype=np.float64)
    avg = 0.0
    for i, loss in enumerate(losses):
        avg = smoothing * avg + (1 - smoothing) * loss
        out[i] = avg / (1 - smoothing ** (i + 1))
    return out


def plot_lr_finder(lrs, losses, suggested=None, ax=None, smoothing=0.9):
    """Loss vs learning rate (log x), raw and smoothed, with the suggestion marked."""
    plt = pyplot()
    if ax is None:
        _, ax = plt.subplots()
    lrs = np.asarray(lrs)
    losses = np.asarray(losses, dtype=np.float64)
    ax.plot(lrs, losses, alpha=0.35, label="loss")
    smooth = _smoothed(losses, smoothing)
    ax.plot(lrs, smooth, label="smoothed loss")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    finite = smooth[np.isfinite(smooth)]
    if finite.size:
        ax.set_ylim(top=min(float(np.max(finite)), 4 * float(np.min(finite)) + 1e-12) * 1.05 +
                    0.05 * abs(float(np.min(finite))))
    if suggested is not None:
        ax.axvline(suggested, color="k", ls=":", label=f"suggested {suggested:.3g}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return ax
