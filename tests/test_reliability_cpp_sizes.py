"""Sizes and counters at the edge of 64-bit integers give clear errors from the C++ side.

Shapes are multiplied with overflow checks (Dense(2**62) is a ValueError, not a wrapped-around
allocation), size arguments that do not fit a 64-bit index are ValueErrors naming the argument
(not pybind11 TypeErrors), and the optimizer's step counter refuses values it cannot count on
from (issue 11, item 9).
"""

import numpy as np
import pytest

import densekit as dk

L = dk.layers


def core_dense(input_dim, units):
    """The C++ layer itself (the Python Dense refuses units above 2**31 - 1 before it)."""
    return dk._native.core_class("DenseLayer", "float32")(
        input_dim, units, True, dk._native.core.ActivationKind.linear, 0.0, 0.125, 1 / 3)


def test_a_layer_whose_size_overflows_is_a_clear_error():
    with pytest.raises(ValueError, match="do not fit a 64-bit size"):
        core_dense(8, 2**62)
    with pytest.raises(ValueError, match="do not fit a 64-bit size"):
        core_dense(2**40, 2**40)
    with pytest.raises(ValueError, match="units"):  # the public path: refused in Python or C++
        dk.Sequential([L.Input(8), L.Dense(2**62)])


@pytest.mark.parametrize("units", [2**63, 2**64 + 1])
def test_units_beyond_64_bits_are_a_value_error_naming_the_argument(units):
    with pytest.raises(ValueError, match=r"units must be an integer in \[1, 2\*\*63\)"):
        core_dense(8, units)
    with pytest.raises(ValueError, match="units"):
        dk.Sequential([L.Input(8), L.Dense(units)])


def test_batch_sizes_beyond_64_bits_are_value_errors():
    model = dk.Sequential([L.Input(3), L.Dense(2)], seed=0)
    model.compile("sgd", "mse")
    X, Y = np.ones((4, 3), np.float32), np.ones((4, 2), np.float32)
    for call in (lambda: model.predict(X, batch_size=2**63),
                 lambda: model.evaluate(X, Y, batch_size=2**63),
                 lambda: model.fit(X, Y, batch_size=2**63, verbose=0)):
        with pytest.raises(ValueError, match="batch_size"):
            call()
    # In the core, a huge but representable batch size is just "the whole input", and one that
    # does not fit 64 bits is a ValueError there too.
    out = np.empty((4, 2), np.float32)
    model._net.predict(X, out, 2**62)
    np.testing.assert_array_equal(out, model.predict(X))
    with pytest.raises(ValueError, match=r"batch_size must be an integer in \[1, 2\*\*63\)"):
        model._net.predict(X, out, 2**63)


@pytest.mark.parametrize("iterations", [2**63 - 1, 2**53 + 1, -1])
def test_an_optimizer_step_count_it_cannot_continue_from_is_refused_on_restore(iterations):
    model = dk.Sequential([L.Input(3), L.Dense(2)], seed=0)
    model.compile("adam", "mse")
    state = model.optimizer.get_state()
    state["iterations"] = iterations
    with pytest.raises(ValueError, match="iterations"):
        model.optimizer.set_state(state)


def test_the_last_countable_step_is_refused_without_touching_the_model():
    model = dk.Sequential([L.Input(3), L.Dense(2)], seed=0, dtype="float64")
    model.compile("adam", "mse")
    state = model.optimizer.get_state()
    state["iterations"] = 2**53
    model.optimizer.set_state(state)
    before = model.get_weights()
    with pytest.raises(OverflowError, match="step counter"):
        model.train_on_batch(np.ones((2, 3)), np.ones((2, 2)))
    for got, want in zip(model.get_weights(), before):
        np.testing.assert_array_equal(got, want)
    assert model.optimizer.get_state()["iterations"] == 2**53
