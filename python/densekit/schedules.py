"""Learning-rate schedules (SPEC §3 "Schedules") and the learning-rate finder.

A schedule is Keras's contract: `schedule(t) -> float`, the learning rate of the update that
follows t earlier updates. Every schedule here can be used two ways:

- as the optimizer's `learning_rate=`: `SGD(learning_rate=ExponentialDecay(0.1, 1000))` — the
  training loop evaluates it at the optimizer's global step (`optimizer.iterations`);
- as a callback, `fit(..., callbacks=[ExponentialDecay(0.1, 1000)])`, with `update="step"` (the
  default; the same trajectory as above) or `update="epoch"` (t is the epoch index, the rate is set
  at the start of each epoch).

Per-step schedules never make training go batch by batch: the loop asks each callback for the
rates (and momenta) of the next k batches through `batch_hyperparameters(iteration, k)` and hands
them to C++ with the run, so a schedule costs one vectorized NumPy call per run of batches.
OneCycle also drives momentum (SGD/RMSprop momentum, the Adam family's β1) — as a callback only:
as `learning_rate=`, a schedule sets the learning rate alone.

This module must not import matplotlib at module level (plotting is an optional extra).
"""

import math

import numpy as np

from . import training
from .callbacks import Callback, ReduceLROnPlateau, _pyplot  # noqa: F401 (ReduceLROnPlateau re-exported)

__all__ = ["LearningRateSchedule", "PowerDecay", "ExponentialDecay", "PiecewiseConstant",
           "OneCycle", "ReduceLROnPlateau", "lr_finder", "serialize", "deserialize"]


def _positive(owner, name, value, allow_zero=False):
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) \
        and math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        raise ValueError(f"{owner}: {name} must be a finite number {'>= 0' if allow_zero else '> 0'}, "
                         f"got {value!r}")
    return float(value)


class LearningRateSchedule(Callback):
    """Base class: subclasses implement `values(t)` (vectorized over a float array of steps) and
    `get_config()`; `momenta(t)` may return momentum values (None: momentum untouched)."""

    def __init__(self, update="step"):
        super().__init__()
        if update not in ("step", "epoch"):
            raise ValueError(f"{type(self).__name__}: update must be 'step' or 'epoch', got {update!r}")
        self.update = update
        self._drive_momentum = False

    # -- the schedule ----------------------------------------------------------------------
    def values(self, t):
        raise NotImplementedError

    def momenta(self, t):
        return None

    # Scalars go through a 1-element array on purpose: NumPy's array loops (SIMD pow/exp) and
    # its scalar math can differ in the last bit, and schedule(t) must equal values(...)[i].
    def __call__(self, step):
        return float(self.values(np.array([step], dtype=np.float64))[0])

    def momentum(self, step):
        """The momentum at step t, or None if this schedule leaves momentum alone."""
        m = self.momenta(np.array([step], dtype=np.float64))
        return None if m is None else float(m[0])

    # -- as a callback ---------------------------------------------------------------------
    def _origin(self):
        """The t of the first update of this fit, in callback use (step mode)."""
        return 0

    def on_train_begin(self, logs=None):
        self._drive_momentum = self.momenta(np.zeros(1)) is not None and \
            _has_momentum(self.model.optimizer)

    def batch_hyperparameters(self, iteration, k):
        if self.update != "step":
            return None, None
        t = np.arange(iteration - self._origin(), iteration - self._origin() + k, dtype=np.float64)
        return self.values(t), (self.momenta(t) if self._drive_momentum else None)

    def _epoch_t(self, epoch):
        return epoch

    def on_epoch_begin(self, epoch, logs=None):
        if self.update != "epoch":
            return
        t = self._epoch_t(epoch)
        self.model.optimizer.learning_rate = self(t)
        if self._drive_momentum:
            self.model.optimizer.momentum = self.momentum(t)

    def on_epoch_end(self, epoch, logs=None):
        opt = self.model.optimizer
        if self._drive_momentum and self.update == "step":
            # The run applied per-batch momenta in C++; keep the Python-side value in step with it.
            opt.momentum = float(opt._network.optimizer_config.momentum if _is_sgd_like(opt)
                                 else opt._network.optimizer_config.beta_1)
        if logs is not None:
            logs["learning_rate"] = float(opt.learning_rate)

    # -- config and plotting ---------------------------------------------------------------
    def get_config(self):
        raise NotImplementedError

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    def plot(self, steps=None, ax=None, momentum=False, logy=False):
        """Plots the schedule over `steps` steps (default: its own length where it has one);
        with momentum=True also the momentum, on a twin axis. Returns the Axes. Needs matplotlib."""
        steps = self._default_plot_steps() if steps is None else int(steps)
        plt = _pyplot()
        if ax is None:
            _, ax = plt.subplots()
        t = np.arange(steps, dtype=np.float64)
        ax.plot(t, self.values(t), label="learning rate")
        ax.set_xlabel("step" if self.update == "step" else "epoch")
        ax.set_ylabel("learning rate")
        if logy:
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        m = self.momenta(t)
        if momentum and m is not None:
            ax2 = ax.twinx()
            ax2.plot(t, m, color="tab:orange", label="momentum")
            ax2.set_ylabel("momentum")
        ax.set_title(type(self).__name__)
        return ax

    def _default_plot_steps(self):
        raise ValueError(f"{type(self).__name__}.plot: give the number of steps to plot")


def _is_sgd_like(opt):
    return getattr(opt, "kind", None) in ("sgd", "rmsprop")


def _has_momentum(opt):
    """Whether the optimizer has a momentum a schedule can drive: SGD/RMSprop compiled with
    momentum > 0 (the momentum slot is laid out at compile), or any Adam-family β1."""
    if _is_sgd_like(opt):
        return bool(getattr(opt, "_has_momentum_slot", opt.momentum > 0))
    return getattr(opt, "kind", None) in ("adam", "adamw", "adamax", "nadam")


class PowerDecay(LearningRateSchedule):
    """Power scheduling: η(t) = η0 / (1 + t/s)^c (c = 1 is Keras's InverseTimeDecay)."""

    def __init__(self, initial_learning_rate, decay_steps, power=1.0, update="step"):
        super().__init__(update)
        self.initial_learning_rate = _positive("PowerDecay", "initial_learning_rate",
                                               initial_learning_rate, True)
        self.decay_steps = _positive("PowerDecay", "decay_steps", decay_steps)
        self.power = _positive("PowerDecay", "power", power, True)

    def values(self, t):
        return self.initial_learning_rate / (1.0 + t / self.decay_steps) ** self.power

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "power": self.power, "update": self.update}


class ExponentialDecay(LearningRateSchedule):
    """Exponential scheduling: η(t) = η0 · r^(t/s), r = 0.1 by default (÷10 every s steps)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate=0.1, update="step"):
        super().__init__(update)
        self.initial_learning_rate = _positive("ExponentialDecay", "initial_learning_rate",
                                               initial_learning_rate, True)
        self.decay_steps = _positive("ExponentialDecay", "decay_steps", decay_steps)
        self.decay_rate = _positive("ExponentialDecay", "decay_rate", decay_rate)

    def values(self, t):
        return self.initial_learning_rate * self.decay_rate ** (t / self.decay_steps)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "update": self.update}


class PiecewiseConstant(LearningRateSchedule):
    """η(t) = values[i] for boundaries[i-1] <= t < boundaries[i] (len(values) = len(boundaries)+1).

    A boundary is the first step (or epoch) of the next value: PiecewiseConstant([5], [0.1, 0.001],
    update="epoch") trains 5 epochs at 0.1, then 0.001. (Keras's PiecewiseConstantDecay switches
    one step later: t <= boundary keeps the old value.)"""

    def __init__(self, boundaries, values, update="step"):
        super().__init__(update)
        boundaries = [float(b) for b in boundaries]
        values = [_positive("PiecewiseConstant", "each value", v, True) for v in values]
        if len(values) != len(boundaries) + 1:
            raise ValueError(f"PiecewiseConstant: needs len(values) == len(boundaries) + 1, got "
                             f"{len(values)} values and {len(boundaries)} boundaries")
        if any(b2 <= b1 for b1, b2 in zip(boundaries, boundaries[1:])):
            raise ValueError(f"PiecewiseConstant: boundaries must increase strictly, got {boundaries}")
        self.boundaries = boundaries
        self.lr_values = values

    def values(self, t):
        idx = np.searchsorted(np.asarray(self.boundaries), t, side="right")
        return np.asarray(self.lr_values, dtype=np.float64)[idx]

    def get_config(self):
        return {"boundaries": list(self.boundaries), "values": list(self.lr_values),
                "update": self.update}


class OneCycle(LearningRateSchedule):
    """1-cycle scheduling (Smith 2018, as in Géron's chapter 11).

    Over `total_steps` steps T with a last phase of L = max(1, round(last_fraction·T)) steps and
    h = (T − L)/2:
      t in [0, h]:    η rises linearly from max_lr/start_div to max_lr;
                      momentum falls linearly from max_momentum (0.95) to min_momentum (0.85);
      t in [h, 2h]:   η falls linearly back to max_lr/start_div; momentum rises back to 0.95;
      t in [2h, T−1]: η falls linearly from max_lr/start_div to max_lr/final_div (orders of
                      magnitude lower), which the last update (t = T−1) uses; momentum stays
                      at 0.95;
      t >= T−1:       η = max_lr/final_div.
    As a callback, total_steps defaults to what fit will run (epochs × steps per epoch, or epochs
    with update="epoch") and t counts from the start of each fit (each fit is one cycle). As
    `learning_rate=`, total_steps is required and t is the optimizer's global step.
    Momentum is driven when the optimizer has one (SGD/RMSprop compiled with momentum > 0, β1 of
    the Adam family) and cycle_momentum is True.
    """

    def __init__(self, max_lr, total_steps=None, start_div=10.0, final_div=1e4, last_fraction=0.1,
                 max_momentum=0.95, min_momentum=0.85, cycle_momentum=True, update="step"):
        super().__init__(update)
        self.max_lr = _positive("OneCycle", "max_lr", max_lr)
        if total_steps is not None and not (isinstance(total_steps, (int, np.integer)) and total_steps >= 1):
            raise ValueError(f"OneCycle: total_steps must be an int >= 1 or None, got {total_steps!r}")
        self.total_steps = None if total_steps is None else int(total_steps)
        self.start_div = _positive("OneCycle", "start_div", start_div)
        self.final_div = _positive("OneCycle", "final_div", final_div)
        if not (isinstance(last_fraction, (int, float)) and 0 <= last_fraction < 1):
            raise ValueError(f"OneCycle: last_fraction must be in [0, 1), got {last_fraction!r}")
        self.last_fraction = float(last_fraction)
        if not 0 <= min_momentum <= max_momentum < 1:
            raise ValueError(f"OneCycle: needs 0 <= min_momentum <= max_momentum < 1, got "
                             f"{min_momentum!r}, {max_momentum!r}")
        self.max_momentum = float(max_momentum)
        self.min_momentum = float(min_momentum)
        self.cycle_momentum = bool(cycle_momentum)
        self._fit_total = None
        self._t0 = 0
        self._epoch0 = 0

    @property
    def start_lr(self):
        return self.max_lr / self.start_div

    @property
    def final_lr(self):
        return self.max_lr / self.final_div

    def _total(self):
        total = self.total_steps if self.total_steps is not None else self._fit_total
        if total is None:
            raise ValueError("OneCycle: total_steps is unknown; pass total_steps=..., or pass the "
                             "schedule to fit(callbacks=[...]), which supplies epochs × steps")
        return total

    def phases(self):
        """(h, 2h, T): the ends of the rise and of the fall, and the cycle's length, in steps."""
        T = self._total()
        last = max(1, int(round(self.last_fraction * T))) if self.last_fraction > 0 else 0
        last = min(last, T)
        h = (T - last) / 2.0
        return h, 2.0 * h, float(T)

    @staticmethod
    def _knots(points):
        """Breakpoints for np.interp; a zero-length phase keeps only its end value."""
        xs, ys = [], []
        for x, y in points:
            if xs and x <= xs[-1]:
                ys[-1] = y
            else:
                xs.append(x)
                ys.append(y)
        return xs, ys

    # Piecewise-linear curves, evaluated with np.interp (one pass over the steps; constant
    # beyond the last knot).
    def values(self, t):
        h, h2, T = self.phases()
        xs, ys = self._knots([(0.0, self.start_lr), (h, self.max_lr), (h2, self.start_lr),
                              (T - 1.0, self.final_lr)])
        return np.interp(np.asarray(t, dtype=np.float64), xs, ys)

    def momenta(self, t):
        if not self.cycle_momentum:
            return None
        t = np.asarray(t, dtype=np.float64)
        if self.total_steps is None and self._fit_total is None:
            return np.full_like(t, self.max_momentum)  # only asked whether momentum is driven
        h, h2, _ = self.phases()
        xs, ys = self._knots([(0.0, self.max_momentum), (h, self.min_momentum),
                              (h2, self.max_momentum)])
        return np.interp(t, xs, ys)

    def _origin(self):
        return self._t0

    def _epoch_t(self, epoch):
        return epoch - self._epoch0

    def on_train_begin(self, logs=None):
        p = self.params or {}
        epochs = int(p.get("epochs", 0)) - int(p.get("initial_epoch", 0))
        self._epoch0 = int(p.get("initial_epoch", 0))
        self._fit_total = max(1, epochs * (int(p.get("steps", 1)) if self.update == "step" else 1))
        self._t0 = self.model.optimizer.iterations
        super().on_train_begin(logs)

    def _default_plot_steps(self):
        return int(self._total()) + 1

    def get_config(self):
        return {"max_lr": self.max_lr, "total_steps": self.total_steps, "start_div": self.start_div,
                "final_div": self.final_div, "last_fraction": self.last_fraction,
                "max_momentum": self.max_momentum, "min_momentum": self.min_momentum,
                "cycle_momentum": self.cycle_momentum, "update": self.update}


_BY_NAME = {c.__name__: c for c in (PowerDecay, ExponentialDecay, PiecewiseConstant, OneCycle)}


def serialize(schedule):
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config):
    name = config.get("class_name")
    if name not in _BY_NAME:
        raise ValueError(f"unknown schedule {name!r}; expected one of {sorted(_BY_NAME)}")
    return _BY_NAME[name].from_config(config.get("config", {}))


# ----------------------------------------------------------------------------------------------
# learning-rate finder
# ----------------------------------------------------------------------------------------------
def _snapshot(model):
    """Everything a training step changes: parameters and layer states (views into C++, copied),
    optimizer slots, step counters and hyperparameters, and the network's step (random streams)."""
    net = model._net
    tensors = []
    for layer in model.layers:
        core = getattr(layer, "_core", None)
        if core is None:
            continue
        for name in list(core.param_names) + list(core.state_names):
            view = core.value(name)
            tensors.append((view, view.copy()))
    slots = net.optimizer_slots()
    return {"tensors": tensors, "slots": (slots, slots.copy()),
            "iterations": net.optimizer_iterations, "mu_product": net.optimizer_mu_product,
            "step": net.step, "config": net.optimizer_config}


def _restore(model, snap):
    net = model._net
    for view, saved in snap["tensors"]:
        view[...] = saved
    slots, saved = snap["slots"]
    slots[...] = saved
    net.optimizer_iterations = snap["iterations"]
    net.optimizer_mu_product = snap["mu_product"]
    net.step = snap["step"]
    net.optimizer_config = snap["config"]


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
    model._require_compiled("lr_finder")
    min_lr = _positive("lr_finder", "min_lr", min_lr)
    max_lr = _positive("lr_finder", "max_lr", max_lr)
    if max_lr <= min_lr:
        raise ValueError(f"lr_finder: max_lr ({max_lr}) must exceed min_lr ({min_lr})")
    from . import _data
    batch_size = _data.check_batch_size(batch_size, "lr_finder")
    Xc, Yc, _ = training.prepare(model, X, y, None, None, "lr_finder")
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
    snap = _snapshot(model)
    net = model._net
    lrs, losses = [], []
    avg, best = 0.0, math.inf
    try:
        for i in range(steps):
            j = i % per_epoch
            if i and j == 0:
                order = rng.permutation(n).astype(np.int64)
            idx = np.ascontiguousarray(order[j * bs:(j + 1) * bs])
            lr = np.array([lrs_all[i]], dtype=np.float64)
            stats = net.train(Xc, Yc, None, idx, bs, bs, lr, None)
            loss = float(stats["last_loss"])
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
        _restore(model, snap)

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
    plt = _pyplot()
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
