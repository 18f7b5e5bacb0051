"""Dropout, AlphaDropout and MC Dropout (SPEC section 3, "Regularization"; issue 4).

What is checked:
  * Dropout (inverted): identity in predict; in training (read through the probe of
    test_batchnorm.py: a linear Dense(1) head + MAE far below the outputs turns the head's kernel
    gradient into the probed layer's training-mode output) and in MC Dropout every output element
    is 0 or x/(1-p), the dropped fraction is p, the mean is preserved;
  * AlphaDropout: outputs take only the values a*x + b (kept) and a*alpha' + b (dropped), with a, b,
    alpha' from ``reference.alpha_dropout_constants``; N(0, 1) inputs keep mean 0 / std 1;
  * ``predict_mc``: std > 0 with dropout, std == 0 and mean == predict without; its mean converges
    to the deterministic prediction (exactly in expectation when dropout feeds a linear output
    layer, approximately for a trained classifier); the same seed gives the same result;
  * invalid rates raise;
  * finite-difference gradients through both layers (``m.compute_gradients`` draws the same masks
    until a training step advances the step counter).

Statistical tolerances are 5 standard errors of the estimate being tested (stated per test), so
a correct implementation fails with probability < 1e-6 per assertion; all draws are seeded anyway.
"""

import math

import numpy as np
import pytest

import densekit as dk
import reference as ref
from test_batchnorm import FAR_BELOW, onehot_targets, probe_model, training_output
from test_gradients import check_gradients

L = dk.layers
DTYPES = ["float32", "float64"]
ULP = {"float32": 2e-7, "float64": 1e-15}  # relative rounding of one multiply in the model dtype
Z = 5.0                                    # statistical tolerance, in standard errors

ALPHA_P = -ref.SELU_LAMBDA * ref.SELU_ALPHA


def dropout_model(layer, n_in, dtype="float32", seed=0):
    m = dk.Sequential([L.Input(n_in), layer], seed=seed, dtype=dtype)
    m.compile(optimizer="sgd", loss="mse")
    return m


def one_pass(m, X, seed):
    """One MC Dropout pass (samples=1): the mean is that pass's output."""
    return m.predict_mc(X, samples=1, seed=seed)[0].astype(np.float64)


def positive_data(dtype, n=400, f=250, seed=0):
    return np.random.default_rng(seed).uniform(0.5, 2.0, size=(n, f)).astype(dtype)


# ---------------------------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cls", [L.Dropout, L.AlphaDropout])
def test_identity_in_inference(dtype, cls):
    X = np.random.default_rng(1).normal(size=(50, 7)).astype(dtype)
    m = dropout_model(cls(0.5), 7, dtype)
    np.testing.assert_array_equal(m.predict(X), X)
    m.fit(X, X, epochs=1, verbose=0)  # training does not change that
    np.testing.assert_array_equal(m.predict(X), X)
    assert m.evaluate(X, X) == 0.0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_dropout_mask_structure_and_fraction(dtype, rate):
    """MC pass: each element 0 or x/(1-p); dropped fraction p within 5 standard errors
    (n = 100,000 elements: sqrt(p(1-p)/n) <= 0.0016)."""
    X = positive_data(dtype)
    m = dropout_model(L.Dropout(rate), X.shape[1], dtype)
    for seed in (0, 1):
        out = one_pass(m, X, seed)
        dropped = out == 0.0
        kept = X.astype(np.float64) / (1.0 - rate)
        np.testing.assert_allclose(out[~dropped], kept[~dropped], rtol=2 * ULP[dtype])
        n = X.size
        assert abs(dropped.mean() - rate) <= Z * math.sqrt(rate * (1 - rate) / n)
    # different seeds, different masks; dropped positions do not repeat by row or column
    a, b = one_pass(m, X, 0) == 0, one_pass(m, X, 1) == 0
    assert (a != b).mean() == pytest.approx(2 * rate * (1 - rate), abs=0.01)
    assert not (a[0] == a[1]).all() and not (a[:, 0] == a[:, 1]).all()


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_dropout_preserves_mean_mc(rate):
    """Over S = 400 MC passes each element's mean estimates x (standard error
    x*sqrt(p/(1-p)/S)); averaged over all 10,000 elements the ratio mean/x is 1 within 5 standard
    errors, and the population std over the passes is x*sqrt(p/(1-p)) (to 3 %)."""
    X = positive_data("float64", n=100, f=100)
    S = 400
    m = dropout_model(L.Dropout(rate), 100, "float64")
    mean, std = m.predict_mc(X, samples=S, seed=3)
    spread = math.sqrt(rate / (1 - rate))
    assert abs((mean / X).mean() - 1.0) <= Z * spread / math.sqrt(S * X.size)
    assert (std / X).mean() == pytest.approx(spread, rel=0.03)
    assert (std > 0).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_dropout_in_training_mode(dtype, rate):
    """The training forward (what fit uses), read through the probe: each element 0 or
    x/(1-p); over a 2,000-row batch the column means match the inputs' (5 standard errors)."""
    rng = np.random.default_rng(4)
    m = probe_model([L.Dropout(rate)], 40, dtype)
    X = rng.uniform(0.5, 2.0, size=(30, 40)).astype(dtype)
    out = training_output(m, X)
    dropped = out == 0.0
    np.testing.assert_allclose(out[~dropped], X[~dropped] / (1.0 - rate), rtol=1e-6 if dtype == "float32" else 1e-14)
    assert 0 < dropped.sum() < out.size
    # column means over a large batch: one gradients call with unit weights gives sum_i D_i / B
    Xb = rng.uniform(0.5, 2.0, size=(2000, 40)).astype(dtype)
    m.compute_gradients(Xb, np.full((2000, 1), FAR_BELOW, dtype=dtype), None)
    col_mean = m.layers[-1].gradient("kernel")[:, 0].astype(np.float64)
    x_mean = Xb.astype(np.float64).mean(axis=0)
    rms = np.sqrt((Xb.astype(np.float64) ** 2).mean(axis=0))
    se = rms * math.sqrt(rate / (1 - rate) / 2000)
    assert (np.abs(col_mean - x_mean) <= Z * se).all()


def test_training_masks_change_every_step_and_only_then():
    """gradients() repeats the mask of the current step; a training step (even with a zero
    learning rate, so the weights stay) moves to a fresh mask."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(32, 10))
    y = rng.integers(0, 3, 32)
    m = dk.Sequential([L.Input(10), L.Dense(16, activation="relu"), L.Dropout(0.5),
                       L.Dense(3, activation="softmax")], seed=0, dtype="float64")
    m.compile(optimizer=dk.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy")
    Y = onehot_targets(y, "float64")
    first = m.compute_gradients(X, Y, None)
    assert m.compute_gradients(X, Y, None) == first
    weights = m.get_weights()
    m.train_on_batch(X, y)
    for a, b in zip(m.get_weights(), weights):
        np.testing.assert_array_equal(a, b)
    second = m.compute_gradients(X, Y, None)
    assert second != first
    inference = m.evaluate(X, y, batch_size=32)
    assert first != inference and second != inference


def test_rate_zero_is_identity_in_training():
    m = probe_model([L.Dropout(0.0)], 6)
    X = np.random.default_rng(6).normal(size=(5, 6))
    np.testing.assert_allclose(training_output(m, X), X, rtol=1e-15)  # probe read-back: x/5*5
    # (MC Dropout with rate 0: test_mc_without_dropout_is_deterministic[rate0-...])


# ---------------------------------------------------------------------------------------------
# AlphaDropout
# ---------------------------------------------------------------------------------------------
def alpha_values(X, rate):
    a, b, alpha_p = ref.alpha_dropout_constants(rate)
    return a * np.asarray(X, dtype=np.float64) + b, a * alpha_p + b


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rate", [0.05, 0.1, 0.2, 0.5])
def test_alpha_dropout_values_and_moments(dtype, rate):
    """N(0, 1) inputs, one MC pass over 200,000 elements: each output is a*x + b or a*alpha' + b;
    the dropped fraction is p; mean 0 and std 1 within 5 standard errors (of the mean: 1/sqrt(n);
    of the std: ~sqrt((kurtosis-1)/4n), taken as 2/sqrt(n))."""
    X = np.random.default_rng(7).normal(size=(2000, 100)).astype(dtype)
    m = dropout_model(L.AlphaDropout(rate), 100, dtype)
    out = one_pass(m, X, seed=8)
    kept_value, dropped_value = alpha_values(X, rate)
    tol = 4 * ULP[dtype]
    is_kept = np.isclose(out, kept_value, rtol=tol, atol=tol)
    is_dropped = np.isclose(out, dropped_value, rtol=tol, atol=tol)
    assert (is_kept | is_dropped).all()
    n = out.size
    dropped = ~is_kept
    assert abs(dropped.mean() - rate) <= Z * math.sqrt(rate * (1 - rate) / n)
    assert abs(out.mean()) <= Z / math.sqrt(n)
    assert abs(out.std() - 1.0) <= Z * 2 / math.sqrt(n)


def test_alpha_dropout_mc_mean():
    """Averaged over S passes the output estimates a((1-p)x + p*alpha') + b."""
    rate, S = 0.2, 400
    X = np.random.default_rng(9).normal(size=(50, 40))
    m = dropout_model(L.AlphaDropout(rate), 40, "float64")
    mean, std = m.predict_mc(X, samples=S, seed=1)
    a, b, alpha_p = ref.alpha_dropout_constants(rate)
    want = a * ((1 - rate) * X + rate * alpha_p) + b
    spread = a * np.abs(X - alpha_p) * math.sqrt(rate * (1 - rate))  # per-element std of one pass
    assert (np.abs(mean - want) <= Z * spread / math.sqrt(S) + 1e-12).all()
    np.testing.assert_allclose(std.mean(), spread.mean(), rtol=0.03)


def test_alpha_dropout_in_training_mode():
    rate = 0.3
    m = probe_model([L.AlphaDropout(rate)], 20)
    X = np.random.default_rng(10).normal(size=(25, 20))
    out = training_output(m, X)
    kept_value, dropped_value = alpha_values(X, rate)
    is_kept = np.isclose(out, kept_value, rtol=1e-13, atol=1e-13)
    assert (is_kept | np.isclose(out, dropped_value, rtol=1e-13, atol=1e-13)).all()
    assert 0 < (~is_kept).sum() < out.size


# ---------------------------------------------------------------------------------------------
# MC Dropout
# ---------------------------------------------------------------------------------------------
def classification_data(n=600, seed=11):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int) + (X[:, 3] > 1)
    return X.astype(np.float32), y


def trained_dropout_classifier(seed=0):
    X, y = classification_data()
    m = dk.Sequential([L.Input(8), L.Dense(32, activation="relu"), L.Dropout(0.2),
                       L.Dense(32, activation="relu"), L.Dropout(0.2),
                       L.Dense(3, activation="softmax")], seed=seed)
    m.compile(optimizer=dk.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
    m.fit(X, y, epochs=15, batch_size=32, verbose=0)
    return m, X, y


@pytest.mark.parametrize("dtype", DTYPES)
def test_mc_mean_converges_exactly_when_dropout_feeds_a_linear_output(dtype):
    """Dense(relu) -> Dropout -> Dense(linear): E[output] over masks is exactly the inference
    output, so the MC error falls like 1/sqrt(S): from S = 16 to S = 4096 it must shrink >= 8x
    (expected 16x)."""
    rng = np.random.default_rng(12)
    X = rng.normal(size=(100, 6)).astype(dtype)
    m = dk.Sequential([L.Input(6), L.Dense(20, activation="relu"), L.Dropout(0.3), L.Dense(4)],
                      seed=0, dtype=dtype)
    want = m.predict(X).astype(np.float64)
    err = {}
    for S in (16, 256, 4096):
        mean, std = m.predict_mc(X, samples=S, seed=S)
        assert (std > 0).any()
        err[S] = np.sqrt(((mean - want) ** 2).mean())
    assert err[256] < err[16] and err[4096] <= err[16] / 8, err


def test_mc_dropout_on_a_trained_classifier():
    """The MC mean approximates the deterministic prediction (weight-scaling rule): the class
    agrees on >= 95 % of samples, probabilities differ by <= 0.05 on average; more samples move
    the estimate less (distance to a 2,000-pass reference shrinks)."""
    m, X, y = trained_dropout_classifier()
    assert m.evaluate(X, y)[1] >= 0.85
    p = m.predict(X).astype(np.float64)
    mean, std = m.predict_mc(X, samples=200, seed=0)
    assert (std > 0).mean() > 0.9
    assert (mean.argmax(1) == p.argmax(1)).mean() >= 0.95
    assert np.abs(mean - p).mean() <= 0.05
    np.testing.assert_allclose(mean.sum(axis=1), 1.0, rtol=1e-5)
    reference_mean, _ = m.predict_mc(X, samples=2000, seed=99)
    d = {S: np.abs(m.predict_mc(X, samples=S, seed=5)[0] - reference_mean).mean() for S in (5, 50, 500)}
    assert d[500] < d[50] < d[5], d


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("samples", [1, 100])
@pytest.mark.parametrize("name", ["dense", "batchnorm", "normalization", "rate0"])
def test_mc_without_dropout_is_deterministic(dtype, samples, name):
    """Nothing random in the model: every pass gives predict's output, so std is exactly 0 and
    the mean is predict's output."""
    rng = np.random.default_rng(13)
    X = rng.normal(1.0, 2.0, size=(64, 5)).astype(dtype)
    body = {"dense": [L.Dense(8, activation="elu")],
            "batchnorm": [L.Dense(8, use_bias=False), L.BatchNormalization(), L.ELU()],
            "normalization": [L.Normalization(mean=np.ones(5), variance=np.full(5, 4.0)),
                              L.Dense(8, activation="tanh")],
            "rate0": [L.Dense(8, activation="relu"), L.Dropout(0.0)]}[name]
    m = dk.Sequential([L.Input(5), *body, L.Dense(3, activation="softmax")], seed=0, dtype=dtype)
    for l in m.layers:
        if isinstance(l, L.BatchNormalization):
            l.moving_mean[...] = rng.normal(size=8)
            l.moving_variance[...] = rng.uniform(0.5, 2.0, 8)
    mean, std = m.predict_mc(X, samples=samples, seed=0)
    np.testing.assert_array_equal(std, 0.0)
    np.testing.assert_array_equal(mean, m.predict(X))


def test_mc_batchnorm_stays_in_inference_mode():
    """Dropout + BN: the MC passes must use BN's moving statistics (not the MC batch's), so a
    single row gives the same MC result as inside a batch (same masks: batch_size=1 both times)."""
    rng = np.random.default_rng(14)
    m = dk.Sequential([L.Input(4), L.Dense(8, use_bias=False), L.BatchNormalization(), L.ELU(),
                       L.Dropout(0.3), L.Dense(2)], seed=0, dtype="float64")
    bn = m.layers[1]
    bn.moving_mean[...] = rng.normal(size=8)
    bn.moving_variance[...] = rng.uniform(0.5, 2.0, 8)
    X = rng.normal(3.0, 2.0, size=(10, 4))
    before = bn.get_weights()
    full, _ = m.predict_mc(X, samples=20, batch_size=1, seed=0)
    first, _ = m.predict_mc(X[:1], samples=20, batch_size=1, seed=0)
    np.testing.assert_array_equal(full[:1], first)
    for a, b in zip(bn.get_weights(), before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_mc_determinism(dtype):
    X = np.random.default_rng(15).normal(size=(70, 8)).astype(dtype)
    build = lambda: dk.Sequential([L.Input(8), L.Dense(16, activation="selu"), L.AlphaDropout(0.2),
                                   L.Dense(16, activation="relu"), L.Dropout(0.3), L.Dense(3)],
                                  seed=4, dtype=dtype)
    m = build()
    a = m.predict_mc(X, samples=30, seed=7)
    b = m.predict_mc(X, samples=30, seed=7)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    c = m.predict_mc(X, samples=30, seed=8)
    assert not np.array_equal(a[0], c[0])
    # seed=None: successive calls differ, and a model rebuilt with the same seed repeats them
    first, second = m.predict_mc(X, samples=10)[0], m.predict_mc(X, samples=10)[0]
    assert not np.array_equal(first, second)
    m2 = build()
    np.testing.assert_array_equal(m2.predict_mc(X, samples=10)[0], first)
    np.testing.assert_array_equal(m2.predict_mc(X, samples=10)[0], second)


def test_mc_calls_do_not_perturb_training():
    """predict_mc draws from its own stream: training after MC calls is bit-identical to
    training without them."""
    X, y = classification_data(n=128)
    weights = []
    for mc in (False, True):
        m = dk.Sequential([L.Input(8), L.Dense(16, activation="relu"), L.Dropout(0.3),
                           L.Dense(3, activation="softmax")], seed=2)
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        if mc:
            m.predict_mc(X, samples=5)
            m.predict_mc(X, samples=5, seed=1)
        m.fit(X, y, epochs=2, verbose=0)
        weights.append(m.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


def test_mc_shapes_and_dtype():
    m, X, _ = trained_dropout_classifier()
    mean, std = m.predict_mc(X[:7], samples=4, batch_size=3)
    assert mean.shape == std.shape == (7, 3)
    assert mean.dtype == std.dtype == np.float32


# ---------------------------------------------------------------------------------------------
# invalid arguments
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [L.Dropout, L.AlphaDropout])
@pytest.mark.parametrize("rate", [1.0, 1.5, -0.1, -1e-9, float("nan"), float("inf"), "0.5", None])
def test_invalid_rate_raises(cls, rate):
    with pytest.raises(ValueError):
        cls(rate)


@pytest.mark.parametrize("samples", [0, -1, 2.5, "10"])
def test_invalid_samples_raise(samples):
    m = dropout_model(L.Dropout(0.5), 3)
    with pytest.raises(ValueError):
        m.predict_mc(np.ones((2, 3), np.float32), samples=samples)


# ---------------------------------------------------------------------------------------------
# gradients through the dropout layers (float64, finite differences)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("layers", [
    lambda: [L.Dense(6, activation="tanh"), L.Dropout(0.4), L.Dense(3, activation="softmax")],
    lambda: [L.Dense(6, activation="selu"), L.AlphaDropout(0.3), L.Dense(3, activation="softmax")],
    lambda: [L.Dense(6, activation="elu"), L.Dropout(0.5), L.Dense(5, activation="selu"),
             L.AlphaDropout(0.2), L.Dense(3, activation="softmax")],
], ids=["dropout", "alpha_dropout", "both"])
def test_gradients_through_dropout(layers):
    rng = np.random.default_rng(16)
    m = dk.Sequential([L.Input(4), *layers()], seed=0, dtype="float64")
    m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    for l in m.layers:
        if isinstance(l, L.Dense):
            l.kernel[...] = rng.normal(0.0, 0.6, l.kernel.shape)
            l.bias[...] = rng.normal(0.0, 0.3, l.bias.shape)
    X = rng.normal(size=(9, 4))
    y = rng.integers(0, 3, 9)
    loss, checked = check_gradients(m, X, onehot_targets(y, "float64"))
    assert len(checked) == 2 * sum(isinstance(l, L.Dense) for l in m.layers)
    # the masks were really applied: the training loss is not the inference loss
    assert loss != pytest.approx(m.evaluate(X, y, batch_size=9), rel=1e-9)
