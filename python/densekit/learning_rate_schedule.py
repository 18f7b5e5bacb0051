"""Learning-rate schedules as values (SPEC §3 "Schedules"): Keras's contract, `schedule(t) ->
float`, the learning rate of the update that follows t earlier updates (or of epoch t).

A schedule is a pure function of t with a vectorized twin, `values(t_array)`, and optionally
momenta (`momenta(t_array)`; None: the schedule leaves momentum alone). It is used two ways:

- as the optimizer's `learning_rate=`: `SGD(learning_rate=ExponentialDecay(0.1, 1000))` — the
  training loop evaluates it at the optimizer's global step (`optimizer.iterations`);
- as a callback, `fit(..., callbacks=[ExponentialDecay(0.1, 1000)])`: fit wraps it in
  `dk.callbacks.ScheduleCallback`, which applies it per step (`update="step"`, the default; the
  same trajectory as above, momenta included) or per epoch (`update="epoch"`: t is the epoch).

Keras's schedules are here under their Keras names and signatures (`dk.optimizers.schedules`
is this module, as `keras.optimizers.schedules`): ExponentialDecay(initial_learning_rate,
decay_steps, decay_rate, staircase), PiecewiseConstantDecay, InverseTimeDecay, PolynomialDecay,
CosineDecay. A schedule written the Keras way — a LearningRateSchedule subclass with only
`__call__(step)` — works too (called once per step).

This module holds values only: it imports no callback, model or training code, and no
matplotlib at module level (plotting is an optional extra).
"""

import math

import numpy as np

from ._checks import positive
from ._config import Configurable
from ._pyplot import pyplot

__all__ = ["LearningRateSchedule", "PowerDecay", "ExponentialDecay", "PiecewiseConstant",
           "OneCycle", "PiecewiseConstantDecay", "InverseTimeDecay", "PolynomialDecay",
           "CosineDecay", "serialize", "deserialize"]


class LearningRateSchedule(Configurable):
    """Base class: subclasses implement `values(t)` (vectorized over a float array of steps) and
    `get_config()`; `momenta(t)` may return momentum values (None: momentum untouched).

    `update` says what t counts when the schedule runs as a callback: "step" (updates) or
    "epoch". A schedule whose `restarts_each_fit` is True (OneCycle) runs from t = 0 in every fit
    it is a callback of, sized to that fit through `set_training_length`.
    """

    restarts_each_fit = False

    def __init__(self, update="step", name=None):
        if update not in ("step", "epoch"):
            raise ValueError(f"{type(self).__name__}: update must be 'step' or 'epoch', got {update!r}")
        self.update = update
        self.name = name

    # -- the schedule ----------------------------------------------------------------------
    def values(self, t):
        """The rates at steps t (a float array). A Keras-style subclass that defines only
        __call__(step) gets it called per element."""
        if type(self).__call__ is LearningRateSchedule.__call__:
            raise NotImplementedError(f"{type(self).__name__}: a schedule defines values(t) "
                                      f"(vectorized) or __call__(step)")
        return np.array([float(self(float(ti))) for ti in np.asarray(t, dtype=np.float64)],
                        dtype=np.float64)

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

    def set_training_length(self, length):
        """Told by the callback adapter, at the start of each fit, how many steps (or epochs,
        with update="epoch") the fit runs. Schedules sized by their training run use it."""

    # -- config and plotting ---------------------------------------------------------------
    def get_config(self):
        raise NotImplementedError

    def plot(self, steps=None, ax=None, momentum=False, logy=False):
        """Plots the schedule over `steps` steps (default: its own length where it has one);
        with momentum=True also the momentum, on a twin axis. Returns the Axes. Needs matplotlib."""
        steps = self._default_plot_steps() if steps is None else int(steps)
        plt = pyplot()
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


class PowerDecay(LearningRateSchedule):
    """Power scheduling: η(t) = η0 / (1 + t/s)^c (c = 1 is Keras's InverseTimeDecay)."""

    def __init__(self, initial_learning_rate, decay_steps, power=1.0, update="step", name=None):
        super().__init__(update, name)
        self.initial_learning_rate = positive("PowerDecay: initial_learning_rate",
                                              initial_learning_rate, True)
        self.decay_steps = positive("PowerDecay: decay_steps", decay_steps)
        self.power = positive("PowerDecay: power", power, True)

    def values(self, t):
        return self.initial_learning_rate / (1.0 + t / self.decay_steps) ** self.power

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "power": self.power, "update": self.update}


class ExponentialDecay(LearningRateSchedule):
    """Exponential scheduling: η(t) = η0 · r^(t/s), r = 0.1 by default (÷10 every s steps; the
    chapter's). Keras's signature: ExponentialDecay(initial_learning_rate, decay_steps,
    decay_rate, staircase=False); staircase=True uses ⌊t/s⌋ (a step down every s steps)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate=0.1, staircase=False,
                 update="step", name=None):
        super().__init__(update, name)
        self.initial_learning_rate = positive("ExponentialDecay: initial_learning_rate",
                                              initial_learning_rate, True)
        self.decay_steps = positive("ExponentialDecay: decay_steps", decay_steps)
        self.decay_rate = positive("ExponentialDecay: decay_rate", decay_rate)
        self.staircase = _flag("ExponentialDecay: staircase", staircase)

    def values(self, t):
        p = np.asarray(t, dtype=np.float64) / self.decay_steps
        return self.initial_learning_rate * self.decay_rate ** (np.floor(p) if self.staircase else p)

    def get_config(self):
        cfg = {"initial_learning_rate": self.initial_learning_rate,
               "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
               "update": self.update}
        if self.staircase:
            cfg["staircase"] = True
        return cfg


class PiecewiseConstant(LearningRateSchedule):
    """η(t) = values[i] for boundaries[i-1] <= t < boundaries[i] (len(values) = len(boundaries)+1).

    A boundary is the first step (or epoch) of the next value: PiecewiseConstant([5], [0.1, 0.001],
    update="epoch") trains 5 epochs at 0.1, then 0.001. (Keras's PiecewiseConstantDecay switches
    one step later: t <= boundary keeps the old value; densekit has it too, under that name.)"""

    # np.searchsorted's side: "right" puts t == boundary in the next piece.
    _side = "right"

    def __init__(self, boundaries, values, update="step", name=None):
        super().__init__(update, name)
        where = type(self).__name__
        boundaries = [float(b) for b in boundaries]
        values = [positive(f"{where}: each value", v, True) for v in values]
        if len(values) != len(boundaries) + 1:
            raise ValueError(f"{where}: needs len(values) == len(boundaries) + 1, got "
                             f"{len(values)} values and {len(boundaries)} boundaries")
        if any(b2 <= b1 for b1, b2 in zip(boundaries, boundaries[1:])):
            raise ValueError(f"{where}: boundaries must increase strictly, got {boundaries}")
        self.boundaries = boundaries
        self.lr_values = values

    def values(self, t):
        idx = np.searchsorted(np.asarray(self.boundaries), t, side=self._side)
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
    with update="epoch"; kept in `fit_length`) and t counts from the start of each fit (each fit
    is one cycle). As `learning_rate=`, total_steps is required and t is the optimizer's global
    step.
    Momentum is driven when the optimizer has one (SGD/RMSprop whose momentum is > 0 when fit
    starts, β1 of the Adam family) and cycle_momentum is True.
    """

    restarts_each_fit = True

    def __init__(self, max_lr, total_steps=None, start_div=10.0, final_div=1e4, last_fraction=0.1,
                 max_momentum=0.95, min_momentum=0.85, cycle_momentum=True, update="step"):
        super().__init__(update)
        self.max_lr = positive("OneCycle: max_lr", max_lr)
        if total_steps is not None and not (isinstance(total_steps, (int, np.integer)) and total_steps >= 1):
            raise ValueError(f"OneCycle: total_steps must be an int >= 1 or None, got {total_steps!r}")
        self.total_steps = None if total_steps is None else int(total_steps)
        self.start_div = positive("OneCycle: start_div", start_div)
        self.final_div = positive("OneCycle: final_div", final_div)
        if not (isinstance(last_fraction, (int, float)) and 0 <= last_fraction < 1):
            raise ValueError(f"OneCycle: last_fraction must be in [0, 1), got {last_fraction!r}")
        self.last_fraction = float(last_fraction)
        if not 0 <= min_momentum <= max_momentum < 1:
            raise ValueError(f"OneCycle: needs 0 <= min_momentum <= max_momentum < 1, got "
                             f"{min_momentum!r}, {max_momentum!r}")
        self.max_momentum = float(max_momentum)
        self.min_momentum = float(min_momentum)
        self.cycle_momentum = bool(cycle_momentum)
        self.fit_length = None  # the length of the last fit it was a callback of

    @property
    def start_lr(self):
        return self.max_lr / self.start_div

    @property
    def final_lr(self):
        return self.max_lr / self.final_div

    def _total(self):
        total = self.total_steps if self.total_steps is not None else self.fit_length
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
        if self.total_steps is None and self.fit_length is None:
            return np.full_like(t, self.max_momentum)  # only asked whether momentum is driven
        h, h2, _ = self.phases()
        xs, ys = self._knots([(0.0, self.max_momentum), (h, self.min_momentum),
                              (h2, self.max_momentum)])
        return np.interp(t, xs, ys)

    def set_training_length(self, length):
        self.fit_length = int(length)

    def _default_plot_steps(self):
        return int(self._total()) + 1

    def get_config(self):
        return {"max_lr": self.max_lr, "total_steps": self.total_steps, "start_div": self.start_div,
                "final_div": self.final_div, "last_fraction": self.last_fraction,
                "max_momentum": self.max_momentum, "min_momentum": self.min_momentum,
                "cycle_momentum": self.cycle_momentum, "update": self.update}


class PiecewiseConstantDecay(PiecewiseConstant):
    """Keras's PiecewiseConstantDecay(boundaries, values): η(t) = values[0] for t <= b[0],
    values[i] for b[i-1] < t <= b[i], values[-1] for t > b[-1] — a boundary is the LAST step of
    its value. densekit's own PiecewiseConstant switches one step earlier (a boundary is the first
    step of the next value); both are exact to their definitions."""

    _side = "left"


class InverseTimeDecay(LearningRateSchedule):
    """Keras's InverseTimeDecay: η(t) = η0 / (1 + r·t/s) (staircase: ⌊t/s⌋). Keras 2's optimizer
    argument decay=d is InverseTimeDecay(lr, decay_steps=1, decay_rate=d)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 update="step", name=None):
        super().__init__(update, name)
        self.initial_learning_rate = positive("InverseTimeDecay: initial_learning_rate",
                                              initial_learning_rate, True)
        self.decay_steps = positive("InverseTimeDecay: decay_steps", decay_steps)
        self.decay_rate = positive("InverseTimeDecay: decay_rate", decay_rate, True)
        self.staircase = _flag("InverseTimeDecay: staircase", staircase)

    def values(self, t):
        p = np.asarray(t, dtype=np.float64) / self.decay_steps
        return self.initial_learning_rate / (1.0 + self.decay_rate * (np.floor(p) if self.staircase else p))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "update": self.update}


class PolynomialDecay(LearningRateSchedule):
    """Keras's PolynomialDecay: η(t) = (η0 − η_end)·(1 − t'/s)^power + η_end with t' = min(t, s);
    with cycle=True, s grows to the next multiple of decay_steps above t instead."""

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0,
                 cycle=False, update="step", name=None):
        super().__init__(update, name)
        self.initial_learning_rate = positive("PolynomialDecay: initial_learning_rate",
                                              initial_learning_rate, True)
        self.decay_steps = positive("PolynomialDecay: decay_steps", decay_steps)
        self.end_learning_rate = positive("PolynomialDecay: end_learning_rate", end_learning_rate, True)
        self.power = positive("PolynomialDecay: power", power, True)
        self.cycle = _flag("PolynomialDecay: cycle", cycle)

    def values(self, t):
        t = np.asarray(t, dtype=np.float64)
        if self.cycle:
            steps = self.decay_steps * np.where(t == 0, 1.0, np.ceil(t / self.decay_steps))
        else:
            steps = self.decay_steps
            t = np.minimum(t, self.decay_steps)
        return ((self.initial_learning_rate - self.end_learning_rate) * (1.0 - t / steps) ** self.power
                + self.end_learning_rate)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "update": self.update}


class CosineDecay(LearningRateSchedule):
    """Keras 3's CosineDecay (Loshchilov & Hutter 2017), with its optional linear warmup: over
    `warmup_steps` steps η rises linearly from initial_learning_rate to `warmup_target`, then
    decays as η_top·((1 − α)·½(1 + cos(π·min(t', s)/s)) + α), t' counted from the warmup's end
    and η_top the warmup target (or initial_learning_rate without a warmup)."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name=None, warmup_target=None,
                 warmup_steps=0, update="step"):
        super().__init__(update, name)
        self.initial_learning_rate = positive("CosineDecay: initial_learning_rate",
                                              initial_learning_rate, True)
        self.decay_steps = positive("CosineDecay: decay_steps", decay_steps)
        self.alpha = positive("CosineDecay: alpha", alpha, True)
        self.warmup_target = (None if warmup_target is None
                              else positive("CosineDecay: warmup_target", warmup_target, True))
        self.warmup_steps = positive("CosineDecay: warmup_steps", warmup_steps, True)

    def values(self, t):
        t = np.asarray(t, dtype=np.float64)

        def decay(step, top):
            fraction = np.minimum(step, self.decay_steps) / self.decay_steps
            return top * ((1.0 - self.alpha) * 0.5 * (1.0 + np.cos(math.pi * fraction)) + self.alpha)

        if self.warmup_target is None:
            return decay(t, self.initial_learning_rate)
        t = np.minimum(t, self.decay_steps + self.warmup_steps)
        warm = (self.initial_learning_rate + (self.warmup_target - self.initial_learning_rate)
                * t / max(self.warmup_steps, 1e-300))
        return np.where(t < self.warmup_steps, warm,
                        decay(t - self.warmup_steps, self.warmup_target))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps,
                "update": self.update}


def _flag(what, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{what} must be a bool, got {value!r}")
    return bool(value)


_BY_NAME = {c.__name__: c for c in (PowerDecay, ExponentialDecay, PiecewiseConstant, OneCycle,
                                    PiecewiseConstantDecay, InverseTimeDecay, PolynomialDecay,
                                    CosineDecay)}


def serialize(schedule):
    """{"class_name", "config"} of one of densekit's schedules; ValueError for any other."""
    if _BY_NAME.get(type(schedule).__name__) is not type(schedule):
        raise ValueError(f"serialize: {schedule!r} is not one of densekit's schedules "
                         f"{sorted(_BY_NAME)}")
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config):
    name = config.get("class_name")
    if name not in _BY_NAME:
        raise ValueError(f"unknown schedule {name!r}; expected one of {sorted(_BY_NAME)}")
    return _BY_NAME[name].from_config(config.get("config", {}))
