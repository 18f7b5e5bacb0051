"""The training-state contract (docs/design.md, "The state contract").

- Sequential.get_state() / set_state(): a state taken mid-run and put back (into the same model
  after it trained on, or into a freshly built one) retraces the run bit for bit — parameters,
  BN statistics, optimizer slots and counters, the step counter that keys dropout and RReLU
  masks, the shuffling RNG;
- set_state checks everything before writing anything: each corruption below raises and leaves
  the model's whole state as it was, even when the valid parts of the bad state differ;
- optimizer slots are laid out by name, independent of hyperparameter values (the C++ table in
  optimizers.hpp, seen through Network.optimizer_slot_names): SGD and RMSprop keep a momentum slot
  whatever the momentum, use it only while it is non-zero — a step at momentum 0 is the plain
  rule bit for bit — and momentum may be switched on after compile (checked against
  tests/reference.py).
"""

import numpy as np
import pytest

import densekit as dk
import reference as ref
from densekit.layers import Dense, Input

L = dk.layers


def model_with_every_kind_of_state(seed=5, optimizer=None):
    """BN statistics, PReLU α, dropout and RReLU masks (keyed by the step counter), Nadam's Π μ."""
    m = dk.Sequential([Input(6), Dense(12, use_bias=False), L.BatchNormalization(), L.PReLU(),
                       L.Dropout(0.2), Dense(8), L.RReLU(), Dense(3, activation="softmax")],
                      seed=seed, dtype="float64")
    m.compile(optimizer=optimizer or dk.optimizers.Nadam(1e-2),
              loss="sparse_categorical_crossentropy")
    return m


def test_state_names_every_part(blobs):
    X, y = blobs(n=64)
    m = model_with_every_kind_of_state()
    m.fit(X, y, epochs=1, batch_size=16, verbose=0)
    state = m.get_state()
    assert set(state) == {"variables", "optimizer", "step", "shuffle_rng"}
    assert set(state["variables"]) == {"layers.0.kernel", "layers.1.gamma", "layers.1.beta",
                                       "layers.1.moving_mean", "layers.1.moving_variance",
                                       "layers.2.alpha", "layers.4.kernel", "layers.4.bias",
                                       "layers.6.kernel", "layers.6.bias"}
    assert state["variables"]["layers.1.moving_mean"].shape == (1, 12)
    assert list(state["optimizer"]["slots"]) == ["m", "v"]
    assert state["optimizer"]["iterations"] == state["step"] == 4
    assert state["shuffle_rng"]["bit_generator"] == "PCG64"
    assert set(m.get_state(include_optimizer=False)) == {"variables"}


@pytest.mark.parametrize("where", ["same_model", "fresh_model"])
def test_state_round_trip_retraces_training(where, blobs, assert_same_state):
    X, y = blobs(n=64)
    m = model_with_every_kind_of_state()
    m.fit(X, y, epochs=2, batch_size=16, verbose=0)           # shuffled: the RNG has moved
    state = m.get_state()
    m.fit(X, y, epochs=2, batch_size=16, verbose=0)
    want = m.get_state()

    target = m if where == "same_model" else model_with_every_kind_of_state()  # same seed: same
    target.set_state(state)                                                    # rng keys
    assert_same_state(target.get_state(), state)
    target.fit(X, y, epochs=2, batch_size=16, verbose=0)
    assert_same_state(target.get_state(), want)


def test_get_state_is_a_copy(blobs):
    X, y = blobs(n=32)
    m = model_with_every_kind_of_state()
    m.fit(X, y, epochs=1, batch_size=16, verbose=0)
    state = m.get_state()
    before = state["variables"]["layers.0.kernel"].copy()
    m.fit(X, y, epochs=1, batch_size=16, verbose=0)
    np.testing.assert_array_equal(state["variables"]["layers.0.kernel"], before)


def _first_slot(s):
    return s["optimizer"]["slots"]["m"]["layers.0.kernel"]


# id, corruption of a valid state (whose variables were doubled first), exception, message
BAD_STATES = [
    ("not_a_dict", lambda s: ["variables"], TypeError, "dict"),
    ("unknown_entry", lambda s: s.update(weights={}), ValueError, "unknown"),
    ("missing_variable", lambda s: s["variables"].pop("layers.2.alpha"), ValueError, "missing"),
    ("extra_variable", lambda s: s["variables"].update({"layers.9.kernel": np.zeros((1, 1))}),
     ValueError, "unknown"),
    ("wrong_shape", lambda s: s["variables"].update({"layers.0.kernel": np.zeros((6, 11))}),
     ValueError, "shape"),
    ("nan_variable", lambda s: s["variables"]["layers.1.moving_variance"].__setitem__((0, 3), np.nan),
     ValueError, "NaN"),
    ("text_variable", lambda s: s["variables"].update({"layers.2.alpha": np.array([["a"] * 12])}),
     TypeError, "real"),
    ("negative_step", lambda s: s.update(step=-1), ValueError, "step"),
    ("float_step", lambda s: s.update(step=2.0), ValueError, "step"),
    ("rng_of_another_kind", lambda s: s["shuffle_rng"].update(bit_generator="MT19937"), ValueError, "RNG"),
    ("rng_garbage", lambda s: s["shuffle_rng"].update(state="x"), ValueError, "RNG"),
    ("slot_missing", lambda s: s["optimizer"]["slots"].pop("v"), ValueError, "slots"),
    ("slot_nan", lambda s: _first_slot(s).__setitem__((0, 0), np.inf), ValueError, "NaN"),
    ("slot_shape", lambda s: s["optimizer"]["slots"]["m"].update({"layers.0.kernel": np.zeros(3)}),
     ValueError, "shape"),
    ("other_optimizer", lambda s: s["optimizer"].update(optimizer="adam"), ValueError, "adam"),
    ("bad_mu_product", lambda s: s["optimizer"].update(mu_product=-0.5), ValueError, "mu_product"),
    ("bad_beta_1", lambda s: s["optimizer"]["hyperparameters"].update(beta_1=1.5), ValueError, "beta_1"),
]


@pytest.mark.parametrize("bad_id,corrupt,exc,match", BAD_STATES, ids=[b[0] for b in BAD_STATES])
def test_bad_state_raises_and_changes_nothing(bad_id, corrupt, exc, match, blobs,
                                               assert_same_state):
    X, y = blobs(n=32)
    m = model_with_every_kind_of_state()
    m.fit(X, y, epochs=1, batch_size=16, verbose=0)
    before = m.get_state()
    bad = m.get_state()
    for key in bad["variables"]:  # valid, and different: a partial write would show
        bad["variables"][key] = bad["variables"][key] * 2.0
    bad["step"] += 7
    bad["optimizer"]["iterations"] += 7
    replaced = corrupt(bad)
    with pytest.raises(exc, match=match):
        m.set_state(replaced if isinstance(replaced, list) else bad)
    assert_same_state(m.get_state(), before)


def test_optimizer_state_on_an_uncompiled_model_is_refused(blobs, assert_same_state):
    X, y = blobs(n=32)
    m = model_with_every_kind_of_state()
    m.fit(X, y, epochs=1, batch_size=16, verbose=0)
    plain = dk.Sequential([Input(6), Dense(12, use_bias=False), L.BatchNormalization(), L.PReLU(),
                           L.Dropout(0.2), Dense(8), L.RReLU(), Dense(3, activation="softmax")],
                          seed=5, dtype="float64")
    before = plain.get_state()
    with pytest.raises(ValueError, match="not compiled"):
        plain.set_state(m.get_state())
    assert_same_state(plain.get_state(), before)
    plain.set_state(m.get_state(include_optimizer=False))  # the variables alone are fine
    np.testing.assert_array_equal(plain.predict(X), m.predict(X))


# ---------------------------------------------------------------------------------------------
# slots by name
# ---------------------------------------------------------------------------------------------
SLOT_NAMES = [
    (lambda: dk.optimizers.SGD(0.1), ("momentum",)),
    (lambda: dk.optimizers.SGD(0.1, momentum=0.9, nesterov=True), ("momentum",)),
    (lambda: dk.optimizers.Adagrad(0.1), ("accumulator",)),
    (lambda: dk.optimizers.RMSprop(0.1), ("rms", "momentum")),
    (lambda: dk.optimizers.RMSprop(0.1, momentum=0.5), ("rms", "momentum")),
    (lambda: dk.optimizers.RMSprop(0.1, centered=True), ("rms", "momentum", "mean_grad")),
    (lambda: dk.optimizers.Adam(0.1), ("m", "v")),
    (lambda: dk.optimizers.Adam(0.1, amsgrad=True), ("m", "v", "vhat")),
    (lambda: dk.optimizers.AdamW(0.1, amsgrad=True), ("m", "v", "vhat")),
    (lambda: dk.optimizers.Adamax(0.1), ("m", "u")),
    (lambda: dk.optimizers.Nadam(0.1), ("m", "v")),
]


@pytest.mark.parametrize("make_opt,names", SLOT_NAMES,
                         ids=["sgd", "nesterov", "adagrad", "rmsprop", "rmsprop_momentum",
                              "rmsprop_centered", "adam", "amsgrad", "adamw_amsgrad", "adamax",
                              "nadam"])
def test_each_rule_declares_its_slots_by_name(make_opt, names):
    m = dk.Sequential([Input(3), Dense(2)], seed=0)
    m.compile(optimizer=make_opt(), loss="mse")
    assert m.optimizer.slot_names == names
    assert m.optimizer.parameter_names == ("layers.0.kernel", "layers.0.bias")
    assert m.optimizer.slot(names[-1], "layers.0.kernel").shape == (3, 2)


def batches(n_batches, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=(16, 5)), rng.normal(size=(16, 3))) for _ in range(n_batches)]


def regression_model(optimizer, dtype):
    m = dk.Sequential([Input(5), Dense(7, activation="tanh"), Dense(3)], seed=2, dtype=dtype)
    m.compile(optimizer=optimizer, loss="mse")
    return m


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,make_opt", [
    ("sgd", lambda momentum: dk.optimizers.SGD(0.05, momentum=momentum)),
    ("nesterov", lambda momentum: dk.optimizers.SGD(0.05, momentum=momentum, nesterov=True)),
    ("rmsprop", lambda momentum: dk.optimizers.RMSprop(0.01, momentum=momentum)),
    ("rmsprop_centered", lambda momentum: dk.optimizers.RMSprop(0.01, momentum=momentum, centered=True)),
])
def test_a_step_at_momentum_zero_is_the_plain_rule(name, make_opt, dtype):
    """Compiled with momentum 0.9, then set to 0: bit-identical to the optimizer compiled without
    momentum (the slot is neither read nor written while momentum is 0)."""
    a = regression_model(make_opt(0.9), dtype)
    a.optimizer.momentum = 0.0
    b = regression_model(make_opt(0.0), dtype)
    for x, y in batches(6):
        a.train_on_batch(x, y)
        b.train_on_batch(x, y)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert not any(np.any(s) for s in a.optimizer.get_state()["slots"]["momentum"].values())


@pytest.mark.parametrize("name,make_dk,make_ref", [
    ("sgd", lambda: dk.optimizers.SGD(0.05), lambda: ref.SGD(0.05)),
    ("rmsprop_centered", lambda: dk.optimizers.RMSprop(0.01, centered=True),
     lambda: ref.RMSprop(0.01, centered=True)),
])
def test_momentum_switched_on_after_compile_follows_the_reference(name, make_dk, make_ref):
    """Compiled without momentum, switched to 0.9 after three steps, back to 0 after six: the
    reference optimizer driven the same way (its momentum buffer starts at zero) agrees."""
    m = regression_model(make_dk(), "float64")
    ref_opt = make_ref()
    params = [p.astype(np.float64) for p in m.get_weights()]
    X_all = batches(9, seed=3)
    for step, (x, y) in enumerate(X_all):
        momentum = 0.9 if 3 <= step < 6 else 0.0
        m.optimizer.momentum = momentum
        ref_opt.momentum = momentum
        h = np.tanh(x @ params[0] + params[1])
        out = h @ params[2] + params[3]
        d_out = 2.0 * (out - y) / out.size
        d_h = d_out @ params[2].T * (1.0 - h ** 2)
        grads = [x.T @ d_h, d_h.sum(axis=0), h.T @ d_out, d_out.sum(axis=0)]
        ref_opt.step(params, grads)
        m.train_on_batch(x, y)
        for got, want in zip(m.get_weights(), params):
            np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-13, err_msg=f"step {step}")
