"""sparsity(model, threshold): the fraction of kernel weights with |w| < threshold, per layer and
overall — and the reason it exists: l1 regularization drives most weights to (almost) zero.

The counting is checked on kernels written directly through the zero-copy views; the l1 effect
on a regression where only 3 of 20 features matter, against the same training without penalty.
"""

import numpy as np
import pytest

import densekit as dk
from densekit.layers import Activation, Dense, Input, PReLU
from densekit.sparsity import sparsity


def model_with(kernels, extra_layers=()):
    """Input(3) -> Dense(4) -> [extra layers] -> Dense(2), kernels set to the given arrays."""
    model = dk.Sequential([Input(3), Dense(4, name="a"), *extra_layers, Dense(2, name="b")], seed=0)
    dense = [l for l in model.layers if isinstance(l, Dense)]
    for layer, k in zip(dense, kernels):
        layer.kernel[...] = k
    return model


# Dyadic values: exact in float32, so the threshold boundary is tested without rounding.
E = 2.0 ** -10                                       # ≈ 9.8e-4
KA = np.array([[0.0, E / 16, -2 * E, 5.0],
               [-E, E, 0.5, -E / 2],
               [1.0, -1.0, 3 * E, 0.0]])
KB = np.array([[0.0, 2.0], [3.0, 4.0], [-E / 64, 8 * E], [5.0, 6.0]])

# id, threshold, expected {a, b, overall}
CASES = [
    ("at_E", E, {"a": 4 / 12, "b": 2 / 8, "overall": 6 / 20}),          # ±E are not below E
    ("just_above_E", np.nextafter(E, 1.0), {"a": 6 / 12, "b": 2 / 8, "overall": 8 / 20}),
    ("default_1e-3", 1e-3, {"a": 6 / 12, "b": 2 / 8, "overall": 8 / 20}),
    ("zero_counts_nothing", 0.0, {"a": 0.0, "b": 0.0, "overall": 0.0}),
    ("large", 10.0, {"a": 1.0, "b": 1.0, "overall": 1.0}),
    ("mid", 0.75, {"a": 9 / 12, "b": 3 / 8, "overall": 12 / 20}),
]


@pytest.mark.parametrize("case,threshold,want", CASES, ids=[c[0] for c in CASES])
def test_counts_per_layer_and_overall(case, threshold, want):
    """Exact fractions; "overall" pools the entries (weighted by kernel size, not a mean of
    layer fractions); biases never count (they are left at zero, below any threshold)."""
    got = sparsity(model_with([KA, KB]), threshold)
    assert list(got) == ["a", "b", "overall"]
    for key, value in want.items():
        assert got[key] == pytest.approx(value, abs=1e-15), key


def test_layers_without_kernel_are_skipped_and_default_threshold():
    model = model_with([KA, KB], extra_layers=[Activation("relu", name="act"), PReLU(name="pr")])
    got = sparsity(model)
    assert list(got) == ["a", "b", "overall"]
    assert got["overall"] == pytest.approx(8 / 20, abs=1e-15)


def test_float64_model_and_reads_only():
    model = dk.Sequential([Input(3), Dense(4, name="a"), Dense(2, name="b")], seed=0,
                          dtype="float64")
    model.layers[0].kernel[...] = KA
    model.layers[1].kernel[...] = KB
    before = model.get_weights()
    assert sparsity(model)["overall"] == pytest.approx(8 / 20, abs=1e-15)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("threshold", [-1e-3, float("nan"), float("inf"), "0.1", None, True])
def test_bad_threshold_raises(threshold):
    with pytest.raises(ValueError, match="threshold"):
        sparsity(model_with([KA, KB]), threshold)


def test_unbuildable_model_raises():
    model = dk.Sequential([Dense(4)])  # no Input: the width is unknown
    with pytest.raises(ValueError, match="input width"):
        sparsity(model)


# ---------------------------------------------------------------------------------------------
# l1 makes models sparse
# ---------------------------------------------------------------------------------------------
N, D, RELEVANT = 256, 20, 3
LR, L1, EPOCHS = 0.05, 0.01, 300   # SGD step η·λ = 5e-4: l1 weights end within ~1e-2 of 0


def regression():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, D)).astype(np.float32)
    w = np.zeros(D)
    w[:RELEVANT] = [1.5, -2.0, 1.0]
    y = (X @ w + 0.1 * rng.normal(size=N)).astype(np.float32)
    return X, y


def train(l1):
    reg = None if l1 is None else dk.regularizers.l1(l1)
    model = dk.Sequential([Input(D),
                           Dense(16, activation="relu", kernel_initializer="he_normal",
                                 kernel_regularizer=reg, name="hidden"),
                           Dense(1, kernel_regularizer=reg, name="out")], seed=0)
    model.compile(optimizer=dk.optimizers.SGD(LR), loss="mse")
    X, y = regression()
    model.fit(X, y, epochs=EPOCHS, batch_size=32, verbose=0)
    return model, model.evaluate(X, y)


@pytest.fixture(scope="module")
def trained():
    return {"none": train(None), "l1": train(L1)}


# id, threshold, minimum overall sparsity with l1, maximum without
SPARSE_CASES = [("1e-3", 1e-3, 0.70, 0.02), ("1e-2", 1e-2, 0.90, 0.10)]


@pytest.mark.parametrize("case,threshold,min_l1,max_plain", SPARSE_CASES,
                         ids=[c[0] for c in SPARSE_CASES])
def test_l1_drives_most_weights_to_zero(trained, case, threshold, min_l1, max_plain):
    plain, l1 = sparsity(trained["none"][0], threshold), sparsity(trained["l1"][0], threshold)
    assert l1["overall"] >= min_l1, l1
    assert plain["overall"] <= max_plain, plain
    assert l1["hidden"] > plain["hidden"] + 0.5


def test_l1_zeroes_irrelevant_inputs_and_keeps_the_fit(trained):
    """The hidden kernel's rows for the 17 irrelevant features collapse (all |w| < 2e-2) while
    the rows of the 3 features that matter keep large weights; the penalized model still fits
    (mse well below var(y) ≈ 7), only less tightly than the unpenalized one."""
    model, mse_l1 = trained["l1"]
    kernel = np.abs(model.layers[0].kernel)
    assert kernel[RELEVANT:].max() < 2e-2
    assert kernel[:RELEVANT].max(axis=1).min() > 0.3
    plain_kernel = np.abs(trained["none"][0].layers[0].kernel)
    assert plain_kernel[RELEVANT:].max(axis=1).min() > 0.3
    _, mse_plain = trained["none"]
    assert mse_plain < mse_l1 < 0.25
