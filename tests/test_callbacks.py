"""Callbacks (dk.callbacks) inside real `fit` runs, and what they cost.

EarlyStopping: Keras's rules as a table of monitored sequences, then real runs — it stops after
`patience` epochs without improvement and restores the weights of the best epoch (captured per
epoch by a recording callback). ReduceLROnPlateau divides the rate after `patience` flat epochs
(with cooldown and min_lr). LearningRateScheduler, TerminateOnNaN, CSVLogger, ModelCheckpoint,
batch-level hooks (once per batch, right indices), History.plot, and the overhead: callbacks that
do not need batch-level control add < 5% to a fit at batch size 32.
"""

import csv
import math
import os
import time

import numpy as np
import pytest

import densekit as dk
from densekit.callbacks import (Callback, CSVLogger, EarlyStopping, LearningRateScheduler,
                                ModelCheckpoint, ReduceLROnPlateau, TerminateOnNaN)
from densekit.layers import Dense, Input

FEATURES, CLASSES = 8, 3


def data(n=240, seed=0, noise=0.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, FEATURES))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)
    if noise:
        flip = rng.random(n) < noise
        y[flip] = rng.integers(0, CLASSES, flip.sum())
    return X, y


@pytest.fixture
def make_model(make_classifier):
    """make_model(optimizer=SGD(0.05), hidden=32, seed=0, dtype="float64"): a ReLU classifier."""
    def make(optimizer=None, hidden=32, seed=0, dtype="float64"):
        return make_classifier(optimizer or dk.optimizers.SGD(0.05), FEATURES, CLASSES,
                               hidden=hidden, activation="relu", seed=seed, dtype=dtype,
                               metrics=["accuracy"])
    return make


class Recorder(Callback):
    """Keeps every epoch's weights and logs (a copy, as the later callbacks may add keys)."""

    def __init__(self):
        super().__init__()
        self.weights, self.logs = [], []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())
        self.logs.append(dict(logs))


# ---------------------------------------------------------------------------------------------
# EarlyStopping
# ---------------------------------------------------------------------------------------------
class StubModel:
    """Just what EarlyStopping touches: get_state/set_state of the variables (the epoch number)
    and stop_training."""

    def __init__(self):
        self.stop_training = False
        self.epoch = None
        self.restored = None

    def get_state(self, include_optimizer=True):
        assert not include_optimizer  # restoring the best epoch leaves the optimizer alone
        return {"variables": {"epoch": np.array(self.epoch)}}

    def set_state(self, state):
        self.restored = int(state["variables"]["epoch"])


# id, kwargs, monitored values per epoch, expected (stopped_epoch or None, best_epoch)
EARLY_STOPPING_CASES = [
    ("patience2", dict(patience=2), [1.0, 0.9, 0.95, 0.93, 0.8], (3, 1)),
    ("never", dict(patience=2), [1.0, 0.9, 0.8, 0.7], (None, 3)),
    ("patience0", dict(patience=0), [1.0, 2.0, 0.5], (1, 0)),
    ("min_delta", dict(patience=1, min_delta=0.1), [1.0, 0.95, 0.8], (1, 0)),
    ("min_delta_ok", dict(patience=1, min_delta=0.1), [1.0, 0.85, 0.7], (None, 2)),
    ("equal_is_no_gain", dict(patience=1), [1.0, 1.0], (1, 0)),
    ("max_mode_auto", dict(monitor="val_accuracy", patience=2), [0.5, 0.6, 0.6, 0.59], (3, 1)),
    ("max_mode_explicit", dict(monitor="val_loss", mode="max", patience=1), [1.0, 0.5], (1, 0)),
    ("baseline", dict(patience=2, baseline=0.5), [0.9, 0.8, 0.7, 0.6], (1, 1)),
    ("baseline_met", dict(patience=2, baseline=0.5), [0.9, 0.4, 0.45, 0.3], (None, 3)),
    ("start_from_epoch", dict(patience=1, start_from_epoch=2), [1, 2, 3, 4], (3, 2)),
]


@pytest.mark.parametrize("kwargs,values,expected", [c[1:] for c in EARLY_STOPPING_CASES],
                         ids=[c[0] for c in EARLY_STOPPING_CASES])
def test_early_stopping_rules(kwargs, values, expected):
    cb = EarlyStopping(restore_best_weights=True, **kwargs)
    model = StubModel()
    cb.set_model(model)
    cb.on_train_begin()
    stopped = None
    for epoch, v in enumerate(values):
        model.epoch = epoch
        cb.on_epoch_end(epoch, {cb.monitor: v})
        if model.stop_training:
            stopped = epoch
            break
    cb.on_train_end()
    assert (stopped, cb.best_epoch) == expected
    assert cb.stopped_epoch == (stopped or 0)
    assert model.restored == expected[1]


def test_early_stopping_in_fit_restores_best_epoch(make_model):
    """Noisy labels and a big learning rate make val_loss turn up quickly: training stops
    `patience` epochs after the best one, and the model ends with that epoch's weights."""
    X, y = data(n=300, noise=0.4)
    Xv, yv = data(n=200, seed=1, noise=0.4)
    model = make_model(dk.optimizers.Adam(0.05), hidden=64)
    rec = Recorder()
    es = EarlyStopping(patience=3, restore_best_weights=True)
    h = model.fit(X, y, epochs=60, batch_size=16, validation_data=(Xv, yv), verbose=0,
                  callbacks=[rec, es])
    val = h.history["val_loss"]
    best = int(np.argmin(val))
    assert len(val) < 60, "the run should have stopped early"
    assert len(val) == best + 3 + 1 and es.stopped_epoch == best + 3
    assert es.best_epoch == best and es.best == val[best]
    for got, want in zip(model.get_weights(), rec.weights[best]):
        np.testing.assert_array_equal(got, want)
    assert model.evaluate(Xv, yv)[0] == pytest.approx(val[best], rel=1e-12)


def test_early_stopping_without_restore_keeps_last_weights(make_model):
    X, y = data(n=300, noise=0.4)
    Xv, yv = data(n=200, seed=1, noise=0.4)
    model = make_model(dk.optimizers.Adam(0.05), hidden=64)
    rec = Recorder()
    model.fit(X, y, epochs=60, batch_size=16, validation_data=(Xv, yv), verbose=0,
              callbacks=[rec, EarlyStopping(patience=3)])
    for got, want in zip(model.get_weights(), rec.weights[-1]):
        np.testing.assert_array_equal(got, want)


def test_early_stopping_warns_without_monitored_value(make_model):
    X, y = data()
    with pytest.warns(RuntimeWarning, match="val_loss"):
        h = make_model().fit(X, y, epochs=3, verbose=0, callbacks=[EarlyStopping(patience=0)])
    assert len(h.history["loss"]) == 3


# ---------------------------------------------------------------------------------------------
# ReduceLROnPlateau
# ---------------------------------------------------------------------------------------------
def test_reduce_lr_on_plateau_in_fit(make_model):
    """With a learning rate too small to move val_loss by min_delta, every epoch after the first
    is a plateau epoch: the rate halves every `patience` epochs, down to min_lr."""
    X, y = data()
    model = make_model(dk.optimizers.SGD(1e-9))
    cb = ReduceLROnPlateau(factor=0.5, patience=2, min_delta=1e-4, min_lr=2e-10)
    h = model.fit(X, y, epochs=8, validation_split=0.25, verbose=0, callbacks=[cb])
    # logged at each epoch's end, before that epoch's reduction (as Keras)
    assert h.history["learning_rate"] == pytest.approx(
        [1e-9, 1e-9, 1e-9, 5e-10, 5e-10, 2.5e-10, 2.5e-10, 2e-10], rel=1e-12)
    assert model.optimizer.learning_rate == pytest.approx(2e-10)


def test_reduce_lr_on_plateau_cooldown(make_model):
    X, y = data()
    model = make_model(dk.optimizers.SGD(1e-9))
    cb = ReduceLROnPlateau(factor=0.1, patience=1, cooldown=2, min_delta=1e-4)
    h = model.fit(X, y, epochs=7, validation_split=0.25, verbose=0, callbacks=[cb])
    # Keras's counting: epoch 1 reduces and sets the counter to 2; epoch 2 cools down (2 → 1);
    # epoch 3 takes the counter to 0 and, no longer in cooldown, counts and reduces again; ...
    assert h.history["learning_rate"] == pytest.approx(
        [1e-9, 1e-9, 1e-10, 1e-10, 1e-11, 1e-11, 1e-12], rel=1e-12)


def test_reduce_lr_on_plateau_leaves_improving_runs_alone(make_model):
    X, y = data()
    model = make_model(dk.optimizers.SGD(0.05))
    h = model.fit(X, y, epochs=5, validation_split=0.25, verbose=0,
                  callbacks=[ReduceLROnPlateau(patience=2)])
    assert h.history["learning_rate"] == [0.05] * 5
    assert dk.schedules.ReduceLROnPlateau is ReduceLROnPlateau


# ---------------------------------------------------------------------------------------------
# LearningRateScheduler, TerminateOnNaN, CSVLogger, ModelCheckpoint
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("schedule,expected", [
    (lambda epoch, lr: lr * 0.5, [0.05, 0.025, 0.0125]),
    (lambda epoch: 0.1 / (epoch + 1), [0.1, 0.05, 0.1 / 3]),
], ids=["two_args", "one_arg"])
def test_learning_rate_scheduler(schedule, expected, make_model):
    X, y = data()
    a = make_model(dk.optimizers.SGD(0.1))
    h = a.fit(X, y, epochs=3, verbose=0, callbacks=[LearningRateScheduler(schedule)])
    assert h.history["learning_rate"] == pytest.approx(expected, rel=1e-15)
    # the same as setting each epoch's rate by hand (same shuffling stream)
    b = make_model(dk.optimizers.SGD(0.1))
    for lr in expected:
        b.optimizer.learning_rate = lr
        b.fit(X, y, epochs=1, verbose=0)
    for got, want in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(got, want)


def test_learning_rate_scheduler_rejects_bad_rates(make_model):
    X, y = data()
    with pytest.raises(ValueError, match="learning rate"):
        make_model().fit(X, y, epochs=2, verbose=0,
                         callbacks=[LearningRateScheduler(lambda e, lr: float("nan"))])


def regression_model(lr, dtype="float32"):
    m = dk.Sequential([Input(FEATURES), Dense(16, activation="relu"), Dense(2)], seed=0, dtype=dtype)
    m.compile(optimizer=dk.optimizers.SGD(lr), loss="mse")
    return m


def test_terminate_on_nan_stops_on_infinite_val_loss():
    """Huge (finite) validation inputs make the squared error overflow to inf: TerminateOnNaN
    stops after that epoch."""
    X, _ = data()
    Y = X[:, :2] * 2.0
    Xv = np.full((20, FEATURES), 1e200)
    Yv = np.zeros((20, 2))
    model = regression_model(0.01, dtype="float64")
    cb = TerminateOnNaN()
    h = model.fit(X, Y, epochs=4, verbose=0, validation_data=(Xv, Yv), callbacks=[cb])
    assert not math.isfinite(h.history["val_loss"][0]) and math.isfinite(h.history["loss"][0])
    assert len(h.history["loss"]) == 1 and cb.terminated_epoch == 0
    h = model.fit(X, Y, epochs=3, verbose=0, validation_data=(Xv, Yv))
    assert len(h.history["loss"]) == 3  # without the callback, training carries on


def test_training_loss_nan_stops_fit_with_a_message():
    """SPEC: a loss going NaN stops fit with a clear message, never silently."""
    X, _ = data()
    Y = X[:, :2] * 2.0
    model = regression_model(1e3)
    with pytest.warns(RuntimeWarning, match="loss became"):
        h = model.fit(X, Y, epochs=5, verbose=0, callbacks=[TerminateOnNaN()])
    assert len(h.history["loss"]) == 1


def test_fit_after_a_diverged_fit_validates_again():
    """A diverged fit must not leave later fits without val_loss (EarlyStopping and
    ReduceLROnPlateau would silently do nothing)."""
    X, _ = data()
    Y = X[:, :2] * 2.0
    model = regression_model(1e3)
    with pytest.warns(RuntimeWarning, match="loss became"):
        model.fit(X, Y, epochs=2, verbose=0)
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    model.optimizer.learning_rate = 0.01
    h = model.fit(X, Y, epochs=2, verbose=0, validation_split=0.25)
    assert len(h.history["val_loss"]) == 2 and not model.diverged


def test_csv_logger(tmp_path, make_model):
    X, y = data()
    path = tmp_path / "log.csv"
    model = make_model()
    h = model.fit(X, y, epochs=3, verbose=0, validation_split=0.25, callbacks=[CSVLogger(path)])
    rows = list(csv.reader(open(path)))
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [int(r[0]) for r in rows[1:]] == [0, 1, 2]
    for i, key in enumerate(rows[0][1:], 1):
        assert [float(r[i]) for r in rows[1:]] == h.history[key]   # exact: floats via repr
    model.fit(X, y, epochs=2, verbose=0, validation_split=0.25, callbacks=[CSVLogger(path, append=True)])
    rows = list(csv.reader(open(path)))
    assert len(rows) == 1 + 3 + 2 and rows[0][0] == "epoch" and rows[4][0] == "0"
    model.fit(X, y, epochs=1, verbose=0, callbacks=[CSVLogger(path, separator=";")])
    assert open(path).read().splitlines()[0] == "epoch;accuracy;loss"


def test_model_checkpoint_logic(tmp_path, make_model):
    """save_best_only saves exactly at the improving epochs, with formatted paths (the model's
    save is recorded; real files are tested below when persistence exists)."""
    X, y = data(n=300, noise=0.4)
    Xv, yv = data(n=200, seed=1, noise=0.4)
    model = make_model(dk.optimizers.Adam(0.05), hidden=64)
    saved = []
    model.save = saved.append
    cb = ModelCheckpoint(str(tmp_path / "m-{epoch:02d}-{val_loss:.4f}.dk"), save_best_only=True)
    h = model.fit(X, y, epochs=8, batch_size=16, validation_data=(Xv, yv), verbose=0, callbacks=[cb])
    val = h.history["val_loss"]
    improving = [e for e in range(len(val)) if val[e] < min(val[:e], default=math.inf)]
    assert saved == [str(tmp_path / f"m-{e + 1:02d}-{val[e]:.4f}.dk") for e in improving]
    assert cb.best == min(val)
    every = ModelCheckpoint(str(tmp_path / "every.dk"))
    saved.clear()
    model.fit(X, y, epochs=3, verbose=0, callbacks=[every])
    assert saved == [str(tmp_path / "every.dk")] * 3


@pytest.mark.skipif(not hasattr(dk.Sequential, "save"), reason="model.save is not implemented yet")
def test_model_checkpoint_writes_loadable_best_model(tmp_path, make_model):
    X, y = data(n=300, noise=0.4)
    Xv, yv = data(n=200, seed=1, noise=0.4)
    model = make_model(dk.optimizers.Adam(0.05), hidden=64)
    path = tmp_path / "best.dk"
    rec = Recorder()
    h = model.fit(X, y, epochs=8, batch_size=16, validation_data=(Xv, yv), verbose=0,
                  callbacks=[rec, ModelCheckpoint(path, save_best_only=True)])
    best = int(np.argmin(h.history["val_loss"]))
    loaded = dk.load_model(str(path))
    for got, want in zip(loaded.get_weights(), rec.weights[best]):
        np.testing.assert_array_equal(got, want)


def test_model_checkpoint_without_save_explains(make_model):
    X, y = data()
    model = make_model()
    model.save = None
    with pytest.raises(RuntimeError, match="save"):
        model.fit(X, y, epochs=1, verbose=0, callbacks=[ModelCheckpoint("x.dk")])


# ---------------------------------------------------------------------------------------------
# hooks
# ---------------------------------------------------------------------------------------------
class HookLog(Callback):
    def __init__(self, batch_level):
        super().__init__()
        self.calls = []
        if batch_level:
            self.on_train_batch_begin = lambda batch, logs=None: self.calls.append(("bb", batch))
            self.on_train_batch_end = lambda batch, logs=None: self.calls.append(
                ("be", batch, sorted(logs)))

    def on_train_begin(self, logs=None):
        self.calls.append(("tb",))

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(("eb", epoch))

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("ee", epoch, sorted(logs)))

    def on_train_end(self, logs=None):
        self.calls.append(("te",))

    def on_test_begin(self, logs=None):
        self.calls.append(("vb",))

    def on_test_end(self, logs=None):
        self.calls.append(("ve", sorted(logs)))


class BatchHookLog(HookLog):
    def __init__(self):
        super().__init__(batch_level=False)

    def on_train_batch_begin(self, batch, logs=None):
        self.calls.append(("bb", batch))

    def on_train_batch_end(self, batch, logs=None):
        self.calls.append(("be", batch, sorted(logs)))


def test_batch_hooks_once_per_batch_with_indices(make_model):
    X, y = data(n=100)
    model = make_model()
    cb = BatchHookLog()
    assert cb.wants_batches
    model.fit(X, y, epochs=2, batch_size=32, verbose=0, validation_split=0.2, callbacks=[cb])
    steps = math.ceil(80 / 32)
    want = [("tb",)]
    for e in range(2):
        want.append(("eb", e))
        for b in range(steps):
            want += [("bb", b), ("be", b, ["accuracy", "loss"])]
        want += [("vb",), ("ve", ["accuracy", "loss"]),
                 ("ee", e, ["accuracy", "loss", "val_accuracy", "val_loss"])]
    want.append(("te",))
    assert cb.calls == want


def test_epoch_hooks_only_do_not_ask_for_batches(make_model):
    X, y = data(n=100)
    cb = HookLog(batch_level=False)
    assert not cb.wants_batches
    make_model().fit(X, y, epochs=2, batch_size=32, verbose=0, callbacks=[cb])
    assert cb.calls == [("tb",), ("eb", 0), ("ee", 0, ["accuracy", "loss"]), ("eb", 1),
                        ("ee", 1, ["accuracy", "loss"]), ("te",)]


# ---------------------------------------------------------------------------------------------
# overhead
# ---------------------------------------------------------------------------------------------
class TimedNet:
    """Proxy for model._net that accumulates the time spent inside C++ training calls."""

    def __init__(self, net):
        self._net = net
        self.inside = 0.0
        self.calls = 0

    def train(self, *args, **kwargs):
        t0 = time.perf_counter()
        out = self._net.train(*args, **kwargs)
        self.inside += time.perf_counter() - t0
        self.calls += 1
        return out

    def __getattr__(self, name):
        return getattr(self._net, name)


class Noop(Callback):
    pass


OVERHEAD_VARIANTS = {
    "empty_list": lambda: [],
    "noop_callback": lambda: [Noop()],
    "early_stopping+terminate_on_nan": lambda: [EarlyStopping(monitor="loss", patience=50),
                                   TerminateOnNaN()],
    "one_cycle": lambda: [dk.schedules.OneCycle(0.05)],
    "exponential_decay": lambda: [dk.schedules.ExponentialDecay(0.05, 500)],
}


def test_callback_overhead_is_under_5_percent():
    """Fits at batch size 32: the Python time outside the C++ training calls with callbacks, minus
    the same without any, is < 5% of the C++ time (minimum over interleaved repeats — the two
    cores are shared, so wall-clock ratios of whole fits are too noisy to test at 5%)."""
    # A 5 % bound on sub-millisecond Python time needs the CPUs: with more runnable processes
    # than CPUs (other builds, parallel jobs) preemption alone exceeds it, so the test only
    # judges an otherwise idle machine, as bench/run.py's --wait-quiet does.
    load, cpus = os.getloadavg()[0], os.cpu_count() or 1
    if load > cpus + 0.5:
        pytest.skip(f"machine busy (load average {load:.1f} on {cpus} CPUs): timing not judged")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8192, 32)).astype(np.float32)
    y = rng.integers(0, 10, 8192)

    def once(make_callbacks):
        m = dk.Sequential([Input(32), Dense(64, activation="relu"), Dense(64, activation="relu"),
                           Dense(10, activation="softmax")], seed=0)
        m.compile(optimizer=dk.optimizers.SGD(0.01, momentum=0.9),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        m._net = TimedNet(m._net)
        t0 = time.perf_counter()
        m.fit(X, y, batch_size=32, epochs=3, verbose=0, callbacks=make_callbacks())
        total = time.perf_counter() - t0
        return total - m._net.inside, m._net.inside, m._net.calls

    variants = {"none": lambda: None, **OVERHEAD_VARIANTS}
    outside = {k: [] for k in variants}
    inside = []
    # Minimum over 9 interleaved repeats: preemption on a busy 2-core machine only ever adds
    # time, so more repeats steady the minimum without loosening the 5 % bound.
    for _ in range(9):
        for name, make in variants.items():
            out, ins, calls = once(make)
            outside[name].append(out)
            inside.append(ins)
            assert calls <= 12, f"{name}: {calls} C++ calls for 768 steps"
    cpp = min(inside)
    base = min(outside["none"])
    for name in OVERHEAD_VARIANTS:
        extra = min(outside[name]) - base
        assert extra < 0.05 * cpp, (f"{name}: {extra * 1e3:.2f} ms of Python overhead per fit "
                                    f"vs {cpp * 1e3:.1f} ms in C++")
    assert base < 0.05 * cpp, f"the loop itself: {base * 1e3:.2f} ms vs {cpp * 1e3:.1f} ms in C++"


# ---------------------------------------------------------------------------------------------
# History.plot
# ---------------------------------------------------------------------------------------------
def test_history_plot(make_model):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    X, y = data()
    h = make_model().fit(X, y, epochs=3, verbose=0, validation_split=0.25)
    ax = h.plot()
    assert len(ax.lines) == 4
    loss, val_loss = [l for l in ax.lines if l.get_label() in ("loss", "val_loss")]
    assert loss.get_color() == val_loss.get_color() and list(loss.get_xdata()) == [1, 2, 3]
    ax = h.plot(keys=["loss"], logy=True)
    assert ax.get_yscale() == "log"
    with pytest.raises(KeyError, match="nope"):
        h.plot(keys=["nope"])
    plt.close("all")
