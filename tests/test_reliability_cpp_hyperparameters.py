"""Hyperparameters and updates that would corrupt the weights are refused in the C++ core.

NaN, Inf and negative learning rates, momenta and betas outside [0, 1) and negative epsilons are
refused where they enter the C++ call (compile, the setters, the per-batch values a schedule or
callback hands to a train call), with a ValueError naming the value; and a batch whose gradients
are not finite (from a finite loss) stops training before its update, leaving weights and
optimizer slots as they were (issue 11, item 6).
"""

import math

import numpy as np
import pytest

import densekit as dk

L = dk.layers


def small_model(optimizer="adam", dtype="float64"):
    m = dk.Sequential([L.Input(4), L.Dense(8, activation="tanh"), L.Dense(1)], seed=0, dtype=dtype)
    m.compile(optimizer=optimizer, loss="mse")
    return m


def data(n=64):
    r = np.random.default_rng(0)
    return r.normal(size=(n, 4)), r.normal(size=(n, 1))


def snapshot(model):
    return [w.copy() for w in model.get_weights()], model.optimizer.get_state()


def assert_unchanged(model, before, assert_same_state):
    weights, opt_state = before
    for got, want in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(got, want)
    assert_same_state(model.optimizer.get_state(), opt_state)


@pytest.mark.parametrize("rate", [math.nan, math.inf, -1.0])
def test_a_scheduled_learning_rate_that_is_not_finite_or_negative_is_refused_before_the_step(
        rate, assert_same_state):
    X, Y = data()
    # Good at step 0 (Python checks the schedule's first value when it is set), bad afterwards.
    model = small_model(dk.optimizers.SGD(learning_rate=lambda step: 0.01 if step == 0 else rate,
                                          momentum=0.5))
    model.train_on_batch(X[:8], Y[:8])
    before = snapshot(model)
    with pytest.raises(ValueError, match=r"learning_rate.*got " + ("nan" if rate != rate else
                                                                   "inf" if rate > 0 else "-1")):
        model.train_on_batch(X[:8], Y[:8])
    assert_unchanged(model, before, assert_same_state)


def test_fit_with_a_schedule_turning_nan_mid_epoch_stops_with_finite_weights():
    X, Y = data(80)
    model = small_model(dk.optimizers.SGD(learning_rate=lambda step: 0.01 if step < 5 else math.nan))
    with pytest.raises(ValueError, match="learning_rate"):
        model.fit(X, Y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    assert all(np.isfinite(w).all() for w in model.get_weights())


@pytest.mark.parametrize("name,value", [("momentum", 1.0), ("momentum", -0.1), ("momentum", math.nan)])
def test_scheduled_momenta_outside_zero_one_are_refused(name, value, assert_same_state):
    # What a momentum schedule (OneCycle, a callback) hands to the C++ call, given directly.
    X, Y = data()
    model = small_model(dk.optimizers.SGD(0.01, momentum=0.5))
    net = model._net
    before = snapshot(model)
    with pytest.raises(ValueError, match=name):
        net.train(X[:8], Y[:8], None, None, 8, 8, np.array([0.01]), np.array([value]))
    assert_unchanged(model, before, assert_same_state)


@pytest.mark.parametrize("field,value", [("learning_rate", -0.5), ("learning_rate", math.inf),
                                         ("beta_1", 1.0), ("beta_2", 1.5), ("rho", -0.1),
                                         ("momentum", 1.0), ("epsilon", -1e-7),
                                         ("epsilon", math.nan), ("clipnorm", -1.0)])
def test_the_core_refuses_bad_optimizer_configurations(field, value):
    model = small_model()
    cfg = model._net.optimizer_config
    setattr(cfg, field, value)
    with pytest.raises(ValueError, match=f"{field} must be"):
        model._net.optimizer_config = cfg
    with pytest.raises(ValueError, match=f"{field} must be"):
        model._net.compile(dk._native.core.LossKind.mse, False, 1.0,
                           dk._native.core.AccuracyKind.none, cfg)


def test_the_learning_rate_and_momentum_setters_refuse_bad_values():
    net = small_model(dk.optimizers.SGD(0.01, momentum=0.5))._net
    for bad in (math.nan, -1e-3, math.inf):
        with pytest.raises(ValueError, match="learning_rate"):
            net.set_learning_rate(bad)
    for bad in (1.0, -0.5, math.nan):
        with pytest.raises(ValueError, match="momentum"):
            net.set_momentum(bad)
    assert net.optimizer_config.learning_rate == 0.01 and net.optimizer_config.momentum == 0.5


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop"])
def test_a_non_finite_gradient_from_a_finite_loss_leaves_weights_and_slots_unchanged(
        optimizer, assert_same_state):
    # Dense(1) starting at zero weights: the output is the bias, so the loss is finite, but
    # dL/dW = x·dL/dz overflows float32 for x = 3e38.
    model = dk.Sequential([L.Input(1), L.Dense(1, kernel_initializer="zeros")], seed=0,
                          dtype="float32")
    model.compile(optimizer=optimizer, loss="mse")
    x = np.array([[1.0], [2.0]], dtype=np.float32)
    model.train_on_batch(x, np.array([[1.0], [2.0]], dtype=np.float32))  # slots are not all zero
    model.set_weights([np.zeros((1, 1), np.float32), model.get_weights()[1]])
    before = snapshot(model)
    with pytest.warns(RuntimeWarning, match="gradient"):
        loss = model.train_on_batch(np.array([[3e38]], dtype=np.float32),
                                    np.array([[10.0]], dtype=np.float32))
    assert math.isfinite(loss)
    assert_unchanged(model, before, assert_same_state)
    with pytest.warns(RuntimeWarning, match="gradient"):
        model.fit(np.array([[3e38]] * 4, dtype=np.float32), np.full((4, 1), 10.0, np.float32),
                  epochs=2, verbose=0)
    assert model.diverged
    assert_unchanged(model, before, assert_same_state)
