"""Diagnostics for vanishing/exploding gradients (dk.diagnostics, GradientMonitor).

layer_stats is checked against the NumPy oracle (tests/reference.py: forward, mse, dense and
activation backward, l2); it must leave the model untouched. signal_propagation must reproduce
the Glorot/He argument: SELU with LeCun init keeps the activation variance near 1 through 20
layers, sigmoid with Glorot-uniform init makes the gradient variance collapse by orders of
magnitude toward the input, ReLU needs He rather than Glorot. GradientMonitor warns on a net built
to vanish, stays quiet on a healthy one, and does not change training.
"""

import warnings

import numpy as np
import pytest

import densekit as dk
import reference as ref
from densekit.callbacks import GradientMonitor
from densekit.diagnostics import gradient_health, layer_stats, signal_propagation
from densekit.layers import Activation, Dense, Input

STATS_RTOL = 1e-10  # float64 model vs float64 oracle


def data(n=40, features=5, outputs=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, features))
    Y = np.tanh(X[:, :outputs]) + 0.1 * rng.normal(size=(n, outputs))
    return X, Y


def oracle_model(lr=0.05):
    m = dk.Sequential([Input(5),
                       Dense(7, kernel_regularizer=dk.regularizers.l2(0.01)),
                       Activation("elu"),
                       Dense(4, activation="sigmoid", name="frozen"),
                       Dense(2)], seed=4, dtype="float64")
    m.layers[2].trainable = False
    m.compile(optimizer=dk.optimizers.SGD(lr, momentum=0.9), loss="mse")
    return m


def oracle_stats(model, X, Y):
    """Activations and kernel/bias gradients of `oracle_model` from reference.py."""
    W0, b0, W2, b2, W3, b3 = [w.astype(np.float64) for w in model.get_weights()]
    z0 = ref.dense_forward(X, W0, b0)
    a1 = ref.activation_forward("elu", z0)
    z2 = ref.dense_forward(a1, W2, b2)
    a2 = ref.activation_forward("sigmoid", z2)
    out = ref.dense_forward(a2, W3, b3)
    _, d_out = ref.mse(Y, out)
    da2, dW3, db3 = ref.dense_backward(a2, W3, d_out)
    dz2 = ref.activation_backward("sigmoid", z2, da2)
    da1, _, _ = ref.dense_backward(a1, W2, dz2)
    dz0 = ref.activation_backward("elu", z0, da1)
    _, dW0, db0 = ref.dense_backward(X, W0, dz0)
    dW0 = dW0 + ref.l1_l2_grad(W0, 0.0, 0.01)
    acts = [z0, a1, a2, out]
    grads = {0: (dW0, db0, W0), 3: (dW3, db3, W3)}
    return acts, grads


def test_layer_stats_match_oracle():
    X, Y = data()
    model = oracle_model(lr=0.05)
    model.fit(X, Y, epochs=2, batch_size=8, verbose=0)  # not at initialization
    stats = layer_stats(model, X, Y, batch_size=None)
    acts, grads = oracle_stats(model, X, Y)
    assert [s["layer"] for s in stats] == [l.name for l in model.layers]
    assert [s["type"] for s in stats] == ["Dense", "Activation", "Dense", "Dense"]
    for i, (s, a) in enumerate(zip(stats, acts)):
        assert s["activation_mean"] == pytest.approx(a.mean(), rel=STATS_RTOL, abs=1e-14), i
        assert s["activation_std"] == pytest.approx(a.std(), rel=STATS_RTOL), i
    for i, (dW, db, W) in grads.items():
        g = np.linalg.norm(dW)
        assert stats[i]["grad_norm"] == pytest.approx(g, rel=STATS_RTOL)
        assert stats[i]["bias_grad_norm"] == pytest.approx(np.linalg.norm(db), rel=STATS_RTOL)
        assert stats[i]["kernel_norm"] == pytest.approx(np.linalg.norm(W), rel=STATS_RTOL)
        assert stats[i]["update_ratio"] == pytest.approx(0.05 * g / np.linalg.norm(W), rel=STATS_RTOL)
    # no kernel (Activation) and frozen (no gradient computed): kernel norm only where it exists
    assert stats[1]["kernel_norm"] is None and stats[1]["grad_norm"] is None
    assert stats[2]["kernel_norm"] is not None and stats[2]["grad_norm"] is None
    assert stats[2]["update_ratio"] is None


def test_layer_stats_sample_is_deterministic_and_sized():
    X, Y = data(n=300)
    model = oracle_model()
    a = layer_stats(model, X, Y, batch_size=64)
    b = layer_stats(model, X, Y, batch_size=64)
    assert a == b
    full = layer_stats(model, X, Y, batch_size=None)
    assert a != full


def test_layer_stats_leaves_model_untouched(assert_same_state):
    """Weights, layer states, optimizer slots and counters, step counter and shuffling RNG."""
    X, Y = data()
    model = oracle_model()
    model.fit(X, Y, epochs=1, batch_size=8, verbose=0)
    before = model.get_state()
    layer_stats(model, X, Y)
    assert_same_state(model.get_state(), before)


@pytest.mark.skipif(not hasattr(dk.layers, "BatchNormalization"),
                    reason="dk.layers.BatchNormalization is not available yet")
def test_layer_stats_keeps_batchnorm_statistics(assert_same_state):
    """The training-mode forward pass behind the gradients must not move BN's moving averages."""
    X, Y = data()
    model = dk.Sequential([Input(5), Dense(8, use_bias=False), dk.layers.BatchNormalization(),
                           Activation("elu"), Dense(2)], seed=0, dtype="float64")
    model.compile(optimizer="sgd", loss="mse")
    model.fit(X, Y, epochs=1, batch_size=8, verbose=0)
    before = model.get_state()
    stats = layer_stats(model, X + 3.0, Y)
    assert_same_state(model.get_state(), before)
    assert len(stats) == 4 and stats[1]["type"] == "BatchNormalization"


# ---------------------------------------------------------------------------------------------
# signal propagation (Glorot & He)
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def propagation():
    rows = signal_propagation(initializers=["glorot_uniform", "he_normal", "lecun_normal"],
                              activations=["sigmoid", "relu", "selu"], depth=20, width=100,
                              samples=400, seed=0)
    return {(r["initializer"], r["activation"]): r for r in rows}


def test_signal_propagation_table_shape(propagation):
    assert len(propagation) == 9
    for row in propagation.values():
        assert len(row["forward_variance"]) == len(row["backward_variance"]) == 20
        assert row["forward_ratio"] == pytest.approx(row["forward_variance"][-1], rel=0.1)


def test_selu_lecun_self_normalizes(propagation):
    fwd = np.array(propagation[("lecun_normal", "selu")]["forward_variance"])
    assert np.all((fwd > 0.8) & (fwd < 1.25)), fwd


def test_sigmoid_glorot_gradient_vanishes(propagation):
    row = propagation[("glorot_uniform", "sigmoid")]
    back = np.array(row["backward_variance"])
    assert row["backward_ratio"] < 1e-10
    assert np.all(np.diff(np.log(back)) > 0)          # shrinks at every layer toward the input
    assert max(row["forward_variance"]) < 0.1           # and the outputs are squashed


@pytest.mark.parametrize("init,collapses", [("glorot_uniform", True), ("he_normal", False)])
def test_relu_needs_he(propagation, init, collapses):
    fwd = propagation[(init, "relu")]["forward_variance"][-1]
    assert (fwd < 1e-4) if collapses else (fwd > 0.05), fwd


def test_signal_propagation_rejects_softmax():
    with pytest.raises(ValueError, match="softmax"):
        signal_propagation(activations=["softmax"], depth=2, width=4, samples=8)


def test_signal_table_and_plot():
    rows = signal_propagation(initializers=["he_normal"], activations=["relu", "elu"], depth=6,
                              width=16, samples=64)
    table = dk.diagnostics.format_signal_table(rows, layers=(1, 6))
    assert table.count("\n") == 3 and "| he_normal | relu |" in table
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ax_f, ax_b = dk.diagnostics.plot_signal_propagation(rows)
    assert len(ax_f.lines) == len(ax_b.lines) == 2 and ax_f.get_yscale() == "log"
    plt.close("all")


# ---------------------------------------------------------------------------------------------
# gradient health and GradientMonitor
# ---------------------------------------------------------------------------------------------
def rows(*norms):
    return [{"layer": f"d{i}", "grad_norm": g} for i, g in enumerate(norms)]


@pytest.mark.parametrize("norms,kind", [
    ((1e-5, 1e-3, 1.0), "vanishing"),
    ((1e-2, 1e-1, 1.0), None),
    ((1e4 - 1, 1.0, 1.0), "exploding"),
    ((5e4, 10.0), "exploding"),
    ((float("nan"), 1.0), "exploding"),
    ((1.0, None, 2.0), None),
    ((0.0, 0.0), None),
    ((1.0,), None),
])
def test_gradient_health(norms, kind):
    assert gradient_health(rows(*norms), orders=3, explode_norm=1e4)[0] == kind


def vanishing_model(seed=0):
    layers = [Input(10)] + [Dense(32, activation="sigmoid") for _ in range(20)] + \
             [Dense(3, activation="softmax")]
    m = dk.Sequential(layers, seed=seed)
    m.compile(optimizer=dk.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy")
    return m


def healthy_model(seed=0):
    m = dk.Sequential([Input(10), Dense(32, activation="relu", kernel_initializer="he_normal"),
                       Dense(32, activation="relu", kernel_initializer="he_normal"),
                       Dense(3, activation="softmax")], seed=seed)
    m.compile(optimizer=dk.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy")
    return m


def clf_data(n=256, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 10))
    return X, (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)


def test_gradient_monitor_warns_on_vanishing_net():
    X, y = clf_data()
    mon = GradientMonitor(X, y, batch_size=128)
    with pytest.warns(RuntimeWarning, match="vanishing gradients before training"):
        vanishing_model().fit(X, y, epochs=2, verbose=0, callbacks=[mon])
    assert [r["epoch"] for r in mon.records] == [None, 0, 1]
    epochs, norms = mon.grad_norms()
    assert norms.shape == (3, 21) and norms[0, 0] < 1e-3 * norms[0, -1]
    assert len(mon.warnings) == 1   # once per run, not once per epoch


def test_gradient_monitor_quiet_on_healthy_net_and_changes_nothing():
    X, y = clf_data()
    a, b = healthy_model(), healthy_model()
    mon = GradientMonitor(X, y, every=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a.fit(X, y, epochs=4, verbose=0, callbacks=[mon])
    b.fit(X, y, epochs=4, verbose=0)
    assert [r["epoch"] for r in mon.records] == [None, 1, 3] and mon.warnings == []
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
