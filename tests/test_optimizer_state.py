"""Optimizer.get_state() / set_state(): saving and resuming an optimizer's state.

The property that matters: a run that is interrupted, has its weights and optimizer state put
back (in the same model after it trained on, or in a freshly compiled one), and continues,
retraces the uninterrupted run bit for bit. The update formulas themselves are checked in
test_optimizers.py; here only the round trip is.
"""

import numpy as np
import pytest

import densekit as dk
from densekit.layers import Dense, Input

STEPS_BEFORE = 7   # steps taken before the state is saved (moments and Nadam's Π μ non-trivial)
STEPS_AFTER = 6    # steps retraced after restoring

# id, optimizer factory — every rule, every slot layout (0, 1, 2 and 3 slots)
OPTIMIZERS = [
    ("sgd", lambda: dk.optimizers.SGD(0.05)),
    ("momentum", lambda: dk.optimizers.SGD(0.05, momentum=0.9)),
    ("nesterov", lambda: dk.optimizers.SGD(0.05, momentum=0.9, nesterov=True)),
    ("adagrad", lambda: dk.optimizers.Adagrad(0.05)),
    ("rmsprop", lambda: dk.optimizers.RMSprop(0.01)),
    ("rmsprop_mom_centered", lambda: dk.optimizers.RMSprop(0.01, momentum=0.5, centered=True)),
    ("adam", lambda: dk.optimizers.Adam(0.01)),
    ("amsgrad", lambda: dk.optimizers.Adam(0.01, amsgrad=True)),
    ("adamw", lambda: dk.optimizers.AdamW(0.01, weight_decay=0.01)),
    ("adamax", lambda: dk.optimizers.Adamax(0.01)),
    ("nadam", lambda: dk.optimizers.Nadam(0.01)),
]


def batches(seed=0, n_batches=STEPS_BEFORE + STEPS_AFTER, n=24):
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=(n, 5)), rng.integers(0, 3, size=n)) for _ in range(n_batches)]


@pytest.fixture
def make_model(make_classifier):
    """make_model(make_opt, dtype="float64", seed=1): 5 → 8 tanh → 3 softmax, compiled with a
    fresh optimizer from the factory make_opt."""
    def make(make_opt, dtype="float64", seed=1):
        return make_classifier(make_opt(), 5, 3, hidden=8, activation="tanh", seed=seed, dtype=dtype)
    return make


def run(model, data):
    """Weights after each step on data."""
    out = []
    for x, y in data:
        model.train_on_batch(x, y)
        out.append(model.get_weights())
    return out


def assert_same_trajectory(got, want):
    for step, (g, w) in enumerate(zip(got, want)):
        for i, (a, b) in enumerate(zip(g, w)):
            np.testing.assert_array_equal(a, b, err_msg=f"step {step}, weight {i}")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,make_opt", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
def test_restore_in_same_model_retraces_trajectory(name, make_opt, dtype, make_model):
    """Save after STEPS_BEFORE steps, train on (state changes), restore weights + state, retrain:
    the same weights step by step, and the optimizer's counters as saved."""
    data = batches()
    model = make_model(make_opt, dtype)
    run(model, data[:STEPS_BEFORE])
    weights, state = model.get_weights(), model.optimizer.get_state()
    want = run(model, data[STEPS_BEFORE:])

    model.set_weights(weights)
    model.optimizer.set_state(state)
    assert model.optimizer.iterations == STEPS_BEFORE
    assert_same_trajectory(run(model, data[STEPS_BEFORE:]), want)


@pytest.mark.parametrize("name,make_opt", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
def test_restore_in_fresh_model_retraces_trajectory(name, make_opt, make_model):
    """Resuming in a newly built and compiled model (another seed, so nothing is shared but what
    is restored) continues the original run exactly."""
    data = batches()
    model = make_model(make_opt)
    run(model, data[:STEPS_BEFORE])
    weights, state = model.get_weights(), model.optimizer.get_state()
    want = run(model, data[STEPS_BEFORE:])

    fresh = make_model(make_opt, seed=99)
    fresh.set_weights(weights)
    fresh.optimizer.set_state(state)
    assert_same_trajectory(run(fresh, data[STEPS_BEFORE:]), want)


@pytest.mark.parametrize("name,make_opt", [o for o in OPTIMIZERS if o[0] != "sgd"],
                         ids=[o[0] for o in OPTIMIZERS if o[0] != "sgd"])
def test_weights_alone_do_not_resume(name, make_opt, make_model):
    """The state carries information: restoring only the weights diverges from the original run
    (plain SGD is stateless and excluded)."""
    data = batches()
    model = make_model(make_opt)
    run(model, data[:STEPS_BEFORE])
    weights = model.get_weights()
    want = run(model, data[STEPS_BEFORE:])

    fresh = make_model(make_opt)
    fresh.set_weights(weights)
    got = run(fresh, data[STEPS_BEFORE:])
    assert not np.array_equal(got[-1][0], want[-1][0])


def flat_slots(state):
    """{(slot, parameter): array} of an optimizer state."""
    return {(name, key): a for name, per_param in state["slots"].items() for key, a in per_param.items()}


def test_state_contents_and_copy_semantics(make_model):
    """Slots come by name ({slot: {parameter: array in the parameter's shape}}, every parameter
    once); get_state returns a copy, unaffected by later training; Nadam's Π μ is below 1 after
    steps."""
    data = batches()
    model = make_model(lambda: dk.optimizers.Nadam(0.01))
    run(model, data[:3])
    state = model.optimizer.get_state()
    assert state["optimizer"] == "nadam"
    assert list(state["slots"]) == ["m", "v"]
    shapes = {f"layers.{i}.{n}": l.variable(n).shape for i, l in enumerate(model.layers)
              for n in l.parameter_names}
    for per_param in state["slots"].values():
        assert {k: a.shape for k, a in per_param.items()} == shapes
        assert sum(a.size for a in per_param.values()) == model.count_params()
        assert all(a.dtype == np.float64 for a in per_param.values())
    assert state["iterations"] == 3
    assert 0 < state["mu_product"] < 1
    assert state["hyperparameters"] == {"learning_rate": 0.01, "beta_1": 0.9}
    snapshot = {k: a.copy() for k, a in flat_slots(state).items()}
    run(model, data[3:5])
    for k, a in flat_slots(state).items():
        np.testing.assert_array_equal(a, snapshot[k])
    assert not all(np.array_equal(a, snapshot[k])
                   for k, a in flat_slots(model.optimizer.get_state()).items())


def test_plain_sgd_state_carries_nothing(make_model):
    """Plain SGD carries no moment: its one slot, momentum, is there (the layout does not depend
    on the momentum's value) but unused — zero, before and after steps."""
    model = make_model(lambda: dk.optimizers.SGD(0.05))
    state = model.optimizer.get_state()
    assert list(state["slots"]) == ["momentum"]
    assert (state["iterations"], state["mu_product"]) == (0, 1.0)
    run(model, batches()[:2])
    assert all(not np.any(a) for a in flat_slots(model.optimizer.get_state()).values())


def test_state_before_compile_raises():
    opt = dk.optimizers.Adam()
    with pytest.raises(RuntimeError, match="compile"):
        opt.get_state()
    with pytest.raises(RuntimeError, match="compile"):
        opt.set_state({"optimizer": "adam", "slots": np.zeros((2, 3)), "iterations": 0,
                       "mu_product": 1.0})


def _first(per_param):
    return next(iter(per_param))


# id, change applied to a valid Adam state, message
BAD_STATES = [
    ("missing_key", lambda s: s.pop("mu_product"), "lacks"),
    ("other_optimizer", lambda s: s.update(optimizer="nadam"), "nadam"),
    ("wrong_slot_count", lambda s: s["slots"].pop("v"), "slots"),
    ("wrong_param_count", lambda s: s["slots"]["m"].update(
        {_first(s["slots"]["m"]): s["slots"]["m"][_first(s["slots"]["m"])][:, :-1]}), "shape"),
    ("missing_parameter", lambda s: s["slots"]["m"].pop(_first(s["slots"]["m"])), "parameters"),
    ("nan_slot", lambda s: s["slots"]["m"][_first(s["slots"]["m"])].__setitem__((0, 0), np.nan), "NaN"),
    ("negative_iterations", lambda s: s.update(iterations=-1), "iterations"),
    ("float_iterations", lambda s: s.update(iterations=2.5), "iterations"),
    ("mu_product_above_one", lambda s: s.update(mu_product=1.5), "mu_product"),
    ("negative_learning_rate", lambda s: s["hyperparameters"].update(learning_rate=-1.0), "learning_rate"),
]


@pytest.mark.parametrize("bad_id,corrupt,match", BAD_STATES, ids=[b[0] for b in BAD_STATES])
def test_bad_state_raises_and_keeps_state(bad_id, corrupt, match, make_model):
    data = batches()
    model = make_model(lambda: dk.optimizers.Adam(0.01))
    run(model, data[:3])
    before = model.optimizer.get_state()
    bad = model.optimizer.get_state()
    for per_param in bad["slots"].values():
        for key in per_param:
            per_param[key] = per_param[key] * 2.0
    bad["hyperparameters"]["learning_rate"] = 0.5
    corrupt(bad)
    with pytest.raises(ValueError, match=match):
        model.optimizer.set_state(bad)
    after = model.optimizer.get_state()
    for key, a in flat_slots(after).items():
        np.testing.assert_array_equal(a, flat_slots(before)[key])
    assert (after["iterations"], after["mu_product"], after["hyperparameters"]) == \
        (before["iterations"], before["mu_product"], before["hyperparameters"])


def test_same_seed_models_train_bit_identically(make_model):
    """SPEC §1: the same seed gives bit-identical results. Resuming in a fresh model (above)
    relies on it. Several identically built models take one identical step; their weights must
    agree exactly, whatever address the allocator gave each model's buffers."""
    x, y = batches()[0]
    results = []
    for _ in range(4):
        model = make_model(lambda: dk.optimizers.SGD(0.05))
        model.train_on_batch(x, y)
        results.append(model.get_weights())
    for other in results[1:]:
        for i, (a, b) in enumerate(zip(other, results[0])):
            np.testing.assert_array_equal(a, b, err_msg=f"weight {i}")


def test_training_does_not_depend_on_thread_count(restore_threads):
    """Resuming bit for bit must not depend on how many threads a step happened to get: the
    thread auto-tuner picks 1 or all of them per batch by timing (so by machine load), and
    parallel.hpp promises that work is split by shape and machine only. A net large enough for
    the products to be split, two Adam steps with 1 thread and with 2: identical weights."""
    rng = np.random.default_rng(0)
    X, y = rng.random((64, 784), dtype=np.float32), rng.integers(0, 10, 64)
    results = []
    for threads in (1, 2):
        dk.set_num_threads(threads)
        model = dk.Sequential([Input(784), Dense(300, activation="relu"), Dense(10, activation="softmax")],
                              seed=0)
        model.compile(optimizer=dk.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
        model.train_on_batch(X[:32], y[:32])
        model.train_on_batch(X[32:], y[32:])
        results.append(model.get_weights())
    for i, (a, b) in enumerate(zip(*results)):
        np.testing.assert_array_equal(a, b, err_msg=f"weight {i}")
