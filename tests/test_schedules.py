"""Learning-rate schedules (dk.schedules) and the learning-rate finder.

Checked here: each schedule's value at chosen steps against SPEC's formula (written out in the
tables); OneCycle's learning-rate and momentum curves at their key points; that a schedule used
as `learning_rate=`, as a per-step callback, or applied by hand with train_on_batch drives the
same trajectory (to the last bits); that per-step schedules keep training in long C++ runs (few
calls — their time cost is measured in test_callbacks.py); per-epoch mode; config round trips;
and that lr_finder leaves the model exactly as it found it.
"""

import functools
import math

import numpy as np
import pytest

import densekit as dk
from densekit.layers import Dense, Input
from densekit.schedules import ExponentialDecay, OneCycle, PiecewiseConstant, PowerDecay

RTOL = 1e-12  # schedule values are plain float64 arithmetic


# ---------------------------------------------------------------------------------------------
# values vs SPEC's formulas
# ---------------------------------------------------------------------------------------------
# id, schedule, [(t, expected)] — expected written from SPEC: PowerDecay η0/(1+t/s)^c,
# ExponentialDecay η0·0.1^(t/s), PiecewiseConstant values[i] on [boundaries[i-1], boundaries[i]).
FORMULA_CASES = [
    ("power_c1", PowerDecay(0.1, 100),
     [(0, 0.1), (50, 0.1 / 1.5), (100, 0.05), (300, 0.025), (1e6, 0.1 / (1 + 1e4))]),
    ("power_c2", PowerDecay(0.1, 100, power=2),
     [(0, 0.1), (100, 0.025), (50, 0.1 / 1.5 ** 2)]),
    ("power_c0.5", PowerDecay(1.0, 10, power=0.5), [(30, 0.5), (0, 1.0)]),
    ("exp", ExponentialDecay(0.1, 100),
     [(0, 0.1), (100, 0.01), (200, 0.001), (250, 0.1 * 0.1 ** 2.5), (37, 0.1 * 0.1 ** 0.37)]),
    ("exp_rate0.5", ExponentialDecay(2.0, 10, decay_rate=0.5), [(10, 1.0), (30, 0.25), (5, 2 * 0.5 ** 0.5)]),
    ("piecewise", PiecewiseConstant([5, 10], [1.0, 0.5, 0.1]),
     [(0, 1.0), (4, 1.0), (4.999, 1.0), (5, 0.5), (9, 0.5), (10, 0.1), (1000, 0.1)]),
]


@pytest.mark.parametrize("name,schedule,points", FORMULA_CASES, ids=[c[0] for c in FORMULA_CASES])
def test_schedule_values_match_formula(name, schedule, points):
    for t, want in points:
        assert schedule(t) == pytest.approx(want, rel=RTOL), f"{name} at t={t}"
    ts = np.array([t for t, _ in points], dtype=float)
    np.testing.assert_allclose(schedule.values(ts), [w for _, w in points], rtol=RTOL)


# OneCycle(max_lr=1, total_steps=100): last phase L = 10 steps, h = 45, 2h = 90, ends at T-1 = 99.
# start = max/10 = 0.1, final = max/1e4 = 1e-4.
ONE_CYCLE_LR = [
    (0, 0.1), (22.5, 0.55), (45, 1.0), (67.5, 0.55), (90, 0.1),
    (94.5, 0.1 + (1e-4 - 0.1) * 4.5 / 9), (99, 1e-4), (100, 1e-4), (500, 1e-4),
]
ONE_CYCLE_MOMENTUM = [
    (0, 0.95), (22.5, 0.90), (45, 0.85), (67.5, 0.90), (90, 0.95), (95, 0.95), (1000, 0.95),
]


@pytest.mark.parametrize("t,want", ONE_CYCLE_LR)
def test_one_cycle_learning_rate(t, want):
    assert OneCycle(1.0, total_steps=100)(t) == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("t,want", ONE_CYCLE_MOMENTUM)
def test_one_cycle_momentum(t, want):
    assert OneCycle(1.0, total_steps=100).momentum(t) == pytest.approx(want, rel=1e-12)


def test_one_cycle_shape():
    """Rises monotonically to max_lr, falls back, then drops by 4 orders of magnitude (with the
    defaults), momentum mirroring the first two phases."""
    s = OneCycle(0.3, total_steps=1000)
    t = np.arange(1000.0)
    lr, m = s.values(t), s.momenta(t)
    peak = int(np.argmax(lr))
    assert lr[peak] == pytest.approx(0.3) and 440 <= peak <= 460
    assert np.all(np.diff(lr[:peak + 1]) > 0) and np.all(np.diff(lr[peak:]) < 0)
    assert lr[0] == pytest.approx(0.03) and lr[-1] == pytest.approx(0.3 / 1e4)
    assert int(np.argmin(m)) == peak and m.min() == pytest.approx(0.85, abs=1e-3)
    assert np.all(m[900:] == 0.95)


def test_one_cycle_options():
    s = OneCycle(2.0, total_steps=20, start_div=4, final_div=100, last_fraction=0.5,
                 max_momentum=0.9, min_momentum=0.8)
    # L = 10, h = 5, 2h = 10, last update t = 19
    assert [s(0), s(5), s(10), s(19)] == pytest.approx([0.5, 2.0, 0.5, 0.02])
    assert [s.momentum(0), s.momentum(5), s.momentum(10)] == pytest.approx([0.9, 0.8, 0.9])
    assert OneCycle(1.0, total_steps=10, cycle_momentum=False).momentum(3) is None


def test_one_cycle_without_total_steps_explains():
    with pytest.raises(ValueError, match="total_steps"):
        OneCycle(0.1)(5)
    with pytest.raises(ValueError, match="total_steps"):
        dk.optimizers.SGD(learning_rate=OneCycle(0.1))


@pytest.mark.parametrize("make,match", [
    (lambda: PowerDecay(-0.1, 10), "initial_learning_rate"),
    (lambda: PowerDecay(0.1, 0), "decay_steps"),
    (lambda: ExponentialDecay(0.1, 10, decay_rate=0), "decay_rate"),
    (lambda: PiecewiseConstant([5], [0.1]), "len\\(values\\)"),
    (lambda: PiecewiseConstant([5, 5], [0.1, 0.2, 0.3]), "increase"),
    (lambda: OneCycle(0.0), "max_lr"),
    (lambda: OneCycle(0.1, total_steps=0), "total_steps"),
    (lambda: OneCycle(0.1, min_momentum=0.99), "momentum"),
    (lambda: ExponentialDecay(0.1, 10, update="batch"), "update"),
])
def test_bad_schedule_arguments_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("schedule", [
    PowerDecay(0.1, 100, power=2, update="epoch"), ExponentialDecay(0.1, 7),
    PiecewiseConstant([3, 8], [0.3, 0.2, 0.1]),
    OneCycle(0.5, total_steps=50, start_div=5, last_fraction=0.2)],
    ids=lambda s: type(s).__name__)
def test_config_round_trip(schedule):
    again = type(schedule).from_config(schedule.get_config())
    assert again.get_config() == schedule.get_config()
    t = np.arange(60.0)
    np.testing.assert_array_equal(again.values(t), schedule.values(t))
    back = dk.schedules.deserialize(dk.schedules.serialize(schedule))
    np.testing.assert_array_equal(back.values(t), schedule.values(t))


# ---------------------------------------------------------------------------------------------
# schedules inside training
# ---------------------------------------------------------------------------------------------
N, FEATURES, CLASSES, BATCH = 192, 6, 3, 16     # 12 steps per epoch


def data(seed=0, n=N):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, FEATURES))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)
    return X, y


@pytest.fixture
def make_model(make_classifier):
    """make_model(optimizer, seed=3, dtype="float64"): a tanh classifier with accuracy."""
    return functools.partial(make_classifier, features=FEATURES, classes=CLASSES, hidden=16,
                             activation="tanh", seed=3, metrics=["accuracy"])


def manual_run(model, X, y, epochs, lr_at, momentum_at=None):
    """The reference trajectory: train_on_batch on consecutive batches (shuffle=False), setting
    the learning rate (and momentum) of each step by hand first."""
    t = 0
    for _ in range(epochs):
        for start in range(0, len(X), BATCH):
            model.optimizer.learning_rate = lr_at(t)
            if momentum_at is not None:
                model.optimizer.momentum = momentum_at(t)
            model.train_on_batch(X[start:start + BATCH], y[start:start + BATCH])
            t += 1
    return model.get_weights()


def test_fit_is_bit_identical_across_fresh_models(make_model):
    """SPEC §1: the same seed gives bit-identical results on the same machine and thread count —
    what the trajectory comparisons below rely on. (Adam's updates once depended on the heap
    address of the parameter and slot arenas, so consecutive fresh models differed in the last
    bits.)"""
    X, y = data()
    runs = []
    for _ in range(6):
        m = make_model(dk.optimizers.Adam(0.01))
        m.fit(X, y, batch_size=BATCH, epochs=3, shuffle=False, verbose=0)
        runs.append(m.get_weights())
    for r, weights in enumerate(runs[1:], 1):
        for i, (a, b) in enumerate(zip(weights, runs[0])):
            np.testing.assert_array_equal(a, b, err_msg=f"run {r}, weight {i}")


SCHEDULES = [
    ("power", lambda: PowerDecay(0.2, 10, power=1.5)),
    ("exp", lambda: ExponentialDecay(0.2, 15)),
    ("piecewise", lambda: PiecewiseConstant([7, 20], [0.2, 0.05, 0.01])),
]


@pytest.mark.parametrize("name,make", SCHEDULES, ids=[s[0] for s in SCHEDULES])
def test_learning_rate_arg_callback_and_manual_agree(name, make, make_model, assert_same_weights):
    """learning_rate=schedule, callbacks=[schedule] and a hand-driven loop: same weights, bit for
    bit (each step t uses schedule(t), t = updates so far)."""
    X, y = data()
    epochs = 3
    a = make_model(dk.optimizers.SGD(learning_rate=make(), momentum=0.5))
    a.fit(X, y, batch_size=BATCH, epochs=epochs, shuffle=False, verbose=0)
    b = make_model(dk.optimizers.SGD(0.123, momentum=0.5))
    b.fit(X, y, batch_size=BATCH, epochs=epochs, shuffle=False, verbose=0, callbacks=[make()])
    c = make_model(dk.optimizers.SGD(0.123, momentum=0.5))
    want = manual_run(c, X, y, epochs, make())
    assert_same_weights(a.get_weights(), want)
    assert_same_weights(b.get_weights(), want)
    steps = epochs * math.ceil(N / BATCH)
    assert a.optimizer.iterations == b.optimizer.iterations == steps
    # the last update's rate is what the optimizer reports afterwards
    assert b.optimizer.learning_rate == pytest.approx(make()(steps - 1), rel=1e-15)


@pytest.mark.parametrize("opt_name,make_opt", [
    ("sgd_momentum", lambda: dk.optimizers.SGD(0.01, momentum=0.9)),
    ("nadam", lambda: dk.optimizers.Nadam(0.01)),
    ("rmsprop_momentum", lambda: dk.optimizers.RMSprop(0.01, momentum=0.5)),
])
def test_one_cycle_callback_drives_lr_and_momentum(opt_name, make_opt, make_model, assert_same_weights):
    """OneCycle as a callback takes total_steps from fit (epochs × steps) and sets both the rate
    and the momentum (β1 for Nadam) of every step, as a hand-driven loop does."""
    X, y = data()
    epochs = 4
    steps = epochs * math.ceil(N / BATCH)
    a = make_model(make_opt())
    cycle = OneCycle(0.05)
    h = a.fit(X, y, batch_size=BATCH, epochs=epochs, shuffle=False, verbose=0, callbacks=[cycle])
    ref = OneCycle(0.05, total_steps=steps)
    b = make_model(make_opt())
    want = manual_run(b, X, y, epochs, ref, ref.momentum)
    assert_same_weights(a.get_weights(), want)
    assert cycle.phases() == ref.phases()
    # logs carry the learning rate at each epoch's end; the optimizer's momentum is in step with C++
    per_epoch = steps // epochs
    assert h.history["learning_rate"] == pytest.approx(
        [ref((e + 1) * per_epoch - 1) for e in range(epochs)], rel=1e-15)
    assert a.optimizer.momentum == pytest.approx(ref.momentum(steps - 1))


@pytest.mark.parametrize("make_opt", [lambda: dk.optimizers.SGD(0.01),
                                      lambda: dk.optimizers.Adagrad(0.01)], ids=["sgd", "adagrad"])
def test_one_cycle_skips_momentum_when_optimizer_has_none(make_opt, make_model):
    """Plain SGD (no momentum slot) and Adagrad have no momentum to cycle: only the rate moves."""
    X, y = data()
    m = make_model(make_opt())
    before = m.optimizer.get_config()  # the live hyperparameters
    m.fit(X, y, batch_size=BATCH, epochs=2, verbose=0, callbacks=[OneCycle(0.05)])
    after = m.optimizer.get_config()
    assert m.optimizer.iterations == 2 * math.ceil(N / BATCH)
    assert after.pop("learning_rate") == pytest.approx(0.05 / 1e4)
    before.pop("learning_rate")
    assert after == before   # momentum (or anything else) untouched


def test_one_cycle_restarts_each_fit_and_honours_initial_epoch(make_model):
    X, y = data()
    m = make_model(dk.optimizers.SGD(0.01, momentum=0.9))
    cycle = OneCycle(0.05)
    m.fit(X, y, batch_size=BATCH, epochs=2, verbose=0, callbacks=[cycle])
    first = cycle.phases()
    h = m.fit(X, y, batch_size=BATCH, epochs=5, initial_epoch=2, verbose=0, callbacks=[cycle])
    assert cycle.phases() == (16.0, 32.0, 36.0)   # 3 epochs × 12 steps: L = 4, h = (36 − 4)/2
    assert first == (11.0, 22.0, 24.0)            # 2 epochs × 12 steps: L = 2, h = 11
    assert h.history["learning_rate"][-1] == pytest.approx(0.05 / 1e4)


def test_per_epoch_update(make_model, assert_same_weights):
    """update="epoch": t is the epoch index; the rate is set at each epoch's start."""
    X, y = data()
    s = ExponentialDecay(0.1, 2, update="epoch")
    a = make_model(dk.optimizers.SGD(0.5))
    h = a.fit(X, y, batch_size=BATCH, epochs=4, verbose=0, shuffle=False, callbacks=[s])
    assert h.history["learning_rate"] == pytest.approx([0.1 * 0.1 ** (e / 2) for e in range(4)],
                                                      rel=1e-15)
    b = make_model(dk.optimizers.SGD(0.5))
    per_epoch = math.ceil(N / BATCH)
    want = manual_run(b, X, y, 4, lambda t: s(t // per_epoch))
    assert_same_weights(a.get_weights(), want)


def test_one_cycle_per_epoch(make_model):
    X, y = data()
    cycle = OneCycle(0.1, update="epoch", last_fraction=0.2)
    m = make_model(dk.optimizers.SGD(0.01, momentum=0.9))
    h = m.fit(X, y, batch_size=BATCH, epochs=10, verbose=0, callbacks=[cycle])
    # T = 10 epochs: L = 2, h = 4, 2h = 8, last epoch (9) at max_lr/1e4
    ref = OneCycle(0.1, total_steps=10, last_fraction=0.2)
    assert h.history["learning_rate"] == pytest.approx([ref(e) for e in range(10)], rel=1e-15)
    assert h.history["learning_rate"][4] == pytest.approx(0.1)


class CountingNet:
    """Proxy for model._net that counts the C++ training calls and the batches they ran."""

    def __init__(self, net):
        self._net = net
        self.calls = 0

    def train(self, *args, **kwargs):
        self.calls += 1
        return self._net.train(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._net, name)


@pytest.mark.parametrize("callbacks", [
    lambda: [],
    lambda: [OneCycle(0.05)],
    lambda: [ExponentialDecay(0.05, 100)],
    lambda: [dk.callbacks.EarlyStopping(monitor="loss", patience=100)],
], ids=["none", "one_cycle", "exp_decay", "early_stopping"])
def test_per_step_schedules_keep_long_cpp_runs(callbacks, make_model):
    """Per-step schedules hand their rates to C++ with each run of batches: an epoch of 256 steps
    takes a handful of calls, not one per batch."""
    X, y = data(n=4096)
    m = make_model(dk.optimizers.SGD(0.01, momentum=0.9), dtype="float32")
    m._net = CountingNet(m._net)
    epochs, steps = 3, 4096 // BATCH
    m.fit(X, y, batch_size=BATCH, epochs=epochs, verbose=0, callbacks=callbacks())
    assert m.optimizer.iterations == epochs * steps
    assert m._net.calls <= 4 * epochs, f"{m._net.calls} C++ calls for {epochs * steps} steps"


# ---------------------------------------------------------------------------------------------
# lr_finder
# ---------------------------------------------------------------------------------------------
def full_state(model):
    """Weights and layer states, optimizer slots, counters and live hyperparameters, the step
    counter (random streams) and the shuffling RNG."""
    return {"state": model.get_state(), "config": model.optimizer.get_config()}


@pytest.mark.parametrize("make_opt", [
    lambda: dk.optimizers.Nadam(1e-3), lambda: dk.optimizers.SGD(0.01, momentum=0.9),
    lambda: dk.optimizers.Adam(1e-3, amsgrad=True)], ids=["nadam", "momentum", "amsgrad"])
def test_lr_finder_restores_everything(make_opt, assert_same_state, make_model, assert_same_weights):
    """After a sweep the weights, optimizer slots, counters, hyperparameters and random streams are
    bit-identical, so training afterwards retraces the run that never swept."""
    X, y = data(n=512)
    m = make_model(make_opt())
    twin = make_model(make_opt())
    for model in (m, twin):
        model.fit(X, y, batch_size=BATCH, epochs=1, verbose=0)   # non-trivial optimizer state
    before = full_state(m)
    lrs, losses, suggested = dk.lr_finder(m, X, y, min_lr=1e-5, max_lr=10, steps=80, batch_size=32)
    assert_same_state(full_state(m), before)
    m.fit(X, y, batch_size=BATCH, epochs=1, verbose=0)
    twin.fit(X, y, batch_size=BATCH, epochs=1, verbose=0)
    assert_same_weights(m.get_weights(), twin.get_weights())
    assert 1 <= len(lrs) == len(losses) <= 80


@pytest.mark.skipif(not (hasattr(dk.layers, "BatchNormalization") and hasattr(dk.layers, "Dropout")),
                    reason="dk.layers.BatchNormalization / Dropout are not available yet")
def test_lr_finder_restores_batchnorm_statistics_and_random_streams(assert_same_state, assert_same_weights):
    X, y = data(n=512)

    def build():
        m = dk.Sequential([Input(FEATURES), Dense(16, use_bias=False), dk.layers.BatchNormalization(),
                           dk.layers.Activation("elu"), dk.layers.Dropout(0.3),
                           Dense(CLASSES, activation="softmax")], seed=5, dtype="float64")
        m.compile(optimizer=dk.optimizers.Nadam(1e-3), loss="sparse_categorical_crossentropy")
        return m

    m, twin = build(), build()
    before = full_state(m)
    dk.lr_finder(m, X, y, steps=60)
    assert_same_state(full_state(m), before)   # the variables include BN's moving statistics
    m.fit(X, y, batch_size=BATCH, epochs=1, verbose=0)
    twin.fit(X, y, batch_size=BATCH, epochs=1, verbose=0)
    assert_same_weights(m.get_weights(), twin.get_weights())


def test_lr_finder_sweep_and_suggestion(make_model):
    X, y = data(n=1024)
    m = make_model(dk.optimizers.SGD(0.01), dtype="float32")
    lrs, losses, suggested = dk.lr_finder(m, X, y, min_lr=1e-4, max_lr=100, steps=120,
                                          batch_size=32)
    # exponential: constant ratio between consecutive rates, starting at min_lr
    assert lrs[0] == pytest.approx(1e-4)
    np.testing.assert_allclose(lrs[1:] / lrs[:-1], (100 / 1e-4) ** (1 / 119), rtol=1e-9)
    # the loss first falls, then blows up, which stops the sweep before max_lr
    assert min(losses) < losses[0]
    assert len(lrs) < 120
    assert 1e-4 <= suggested < lrs[-1]
    # the suggestion trains: a few epochs at that rate beat the starting loss clearly
    m.optimizer.learning_rate = suggested
    start = m.evaluate(X, y)[0]
    m.fit(X, y, epochs=3, verbose=0)
    assert m.evaluate(X, y)[0] < 0.8 * start


def test_lr_finder_bad_arguments(make_model):
    X, y = data(n=64)
    m = make_model(dk.optimizers.SGD(0.01))
    with pytest.raises(ValueError, match="max_lr"):
        dk.lr_finder(m, X, y, min_lr=1.0, max_lr=0.5)
    with pytest.raises(ValueError, match="steps"):
        dk.lr_finder(m, X, y, steps=1)
    with pytest.raises(RuntimeError, match="compile"):
        dk.lr_finder(dk.Sequential([Input(FEATURES), Dense(2)]), X, y)


# ---------------------------------------------------------------------------------------------
# plots (optional extra)
# ---------------------------------------------------------------------------------------------
def test_plots(make_model):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ax = OneCycle(0.1, total_steps=100).plot(momentum=True)
    assert len(ax.lines) == 1 and ax.get_xlabel() == "step"
    ax = ExponentialDecay(0.1, 10).plot(steps=50, logy=True)
    assert len(ax.lines[0].get_xdata()) == 50
    with pytest.raises(ValueError, match="steps"):
        PowerDecay(0.1, 10).plot()
    X, y = data(n=256)
    m = make_model(dk.optimizers.SGD(0.01))
    _, _, _ = dk.lr_finder(m, X, y, steps=40, plot=True)
    assert plt.gca().get_xscale() == "log"
    plt.close("all")
