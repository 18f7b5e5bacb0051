"""The Keras-like contract of dk.Sequential (SPEC section 2 and "Training loop" in section 3).

Structure (Input, layers, count_params, summary), weights (Keras order and shapes, zero-copy
views), predict/evaluate/train_on_batch/test_on_batch against the NumPy oracle in reference.py,
fit's History, validation, sample/class weights, verbosity, divergence, layer sharing, and one
end-to-end accuracy check on scikit-learn's digits. Numerics of single kernels, losses and
optimizers are tested elsewhere; this file checks that the model API wires them up as promised.
"""

import gc
import time

import numpy as np
import pytest

import densekit as dk
import reference as ref

# Tolerances for comparing the library against the float64 NumPy oracle, by model dtype.
TOL = {"float32": dict(rtol=1e-5, atol=1e-6), "float64": dict(rtol=1e-12, atol=1e-13)}
DTYPES = ["float32", "float64"]


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def mlp(features=6, hidden=(16,), out=3, activation="relu", out_activation="softmax", seed=0,
        dtype="float32", with_input=True):
    layers = [dk.layers.Input(features)] if with_input else []
    layers += [dk.layers.Dense(h, activation=activation) for h in hidden]
    layers.append(dk.layers.Dense(out, activation=out_activation))
    return dk.Sequential(layers, seed=seed, dtype=dtype)


def numpy_forward(model, X):
    """Inference-mode forward pass with the model's own weights, in float64 NumPy."""
    a = np.asarray(X, dtype=np.float64)
    for layer in model.layers:
        if isinstance(layer, dk.layers.Dense):
            a = ref.dense_forward(a, layer.kernel, layer.bias)
        act = layer.activation
        params = {}
        if act.name in ("leaky_relu", "elu"):
            params["alpha"] = act.alpha
        elif act.name == "rrelu":
            params.update(lower=act.lower, upper=act.upper)
        elif act.name == "prelu":
            params["alpha"] = layer.alpha
        a = ref.activation_forward(act.name, a, **params)
    return a


# ---------------------------------------------------------------------------------------------
# structure
# ---------------------------------------------------------------------------------------------
def test_sequential_with_input_is_built_and_layers_exclude_input():
    m = mlp(features=5, hidden=(7,), out=2)
    assert m.built
    assert len(m.layers) == 2
    assert all(not isinstance(l, dk.layers.Input) for l in m.layers)
    assert [l.units for l in m.layers] == [7, 2]


def test_sequential_without_input_builds_on_fit_like_with_input(blobs):
    X, y = blobs(n=40, features=6)
    with_input = mlp(seed=3, with_input=True)
    without = mlp(seed=3, with_input=False)
    assert not without.built
    assert len(without.layers) == 2
    # Same seed, same layer positions: the same initial weights once built.
    without.build(6)
    for a, b in zip(with_input.get_weights(), without.get_weights()):
        np.testing.assert_array_equal(a, b)
    lazy = mlp(seed=3, with_input=False)
    lazy.compile(dk.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    lazy.fit(X, y, epochs=1, verbose=0)
    assert lazy.built and lazy.predict(X).shape == (40, 3)


@pytest.mark.parametrize("sizes, use_bias, expected", [
    ((784, 300, 100, 10), True, 266_610),
    ((784, 300, 100, 10), False, 784 * 300 + 300 * 100 + 100 * 10),
    ((4, 1), True, 5),
    ((3, 8, 8, 2), True, 3 * 8 + 8 + 8 * 8 + 8 + 8 * 2 + 2),
])
def test_count_params(sizes, use_bias, expected):
    layers = [dk.layers.Input(sizes[0])]
    layers += [dk.layers.Dense(n, use_bias=use_bias) for n in sizes[1:]]
    assert dk.Sequential(layers, seed=0).count_params() == expected


def test_count_params_counts_prelu_alphas():
    m = dk.Sequential([dk.layers.Input(4), dk.layers.Dense(8), dk.layers.PReLU(),
                       dk.layers.Dense(2)], seed=0)
    assert m.count_params() == (4 * 8 + 8) + 8 + (8 * 2 + 2)


def test_summary_lists_names_shapes_and_totals():
    m = dk.Sequential([dk.layers.Input(784), dk.layers.Dense(300, activation="relu", name="hidden1"),
                       dk.layers.Dense(100, activation="relu", name="hidden2"),
                       dk.layers.Dense(10, activation="softmax", name="out")], seed=0)
    lines = []
    m.summary(print_fn=lines.append)
    text = "\n".join(lines)
    for name, shape, params in [("hidden1", "(None, 300)", "235,500"),
                                ("hidden2", "(None, 100)", "30,100"),
                                ("out", "(None, 10)", "1,010")]:
        row = [ln for ln in text.splitlines() if name in ln]
        assert len(row) == 1, text
        assert shape in row[0] and params in row[0], row[0]
    assert "266,610" in text
    assert "Total params" in text and "Trainable params" in text


def test_summary_reports_frozen_layers_as_non_trainable():
    m = dk.Sequential([dk.layers.Input(4), dk.layers.Dense(8, name="frozen"),
                       dk.layers.Dense(2, name="head")], seed=0)
    m.layers[0].trainable = False
    lines = []
    m.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Non-trainable params: 40" in text
    assert "Trainable params: 18" in text


# ---------------------------------------------------------------------------------------------
# weights
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_get_weights_keras_order_and_shapes(dtype):
    m = dk.Sequential([dk.layers.Input(5), dk.layers.Dense(7), dk.layers.PReLU(),
                       dk.layers.Dense(3, use_bias=False), dk.layers.Dense(2)], seed=0, dtype=dtype)
    shapes = [w.shape for w in m.get_weights()]
    assert shapes == [(5, 7), (7,), (7,), (7, 3), (3, 2), (2,)]
    assert all(w.dtype == np.dtype(dtype) for w in m.get_weights())
    np.testing.assert_array_equal(m.get_weights()[2], np.full(7, ref.PRELU_ALPHA_INIT))


@pytest.mark.parametrize("dtype", DTYPES)
def test_set_weights_round_trip_and_same_predictions(dtype, blobs):
    X, _ = blobs(n=20)
    a = mlp(seed=1, dtype=dtype, hidden=(9, 5))
    b = mlp(seed=2, dtype=dtype, hidden=(9, 5))
    assert not np.array_equal(a.predict(X), b.predict(X))
    weights = a.get_weights()
    b.set_weights(weights)
    for w, v in zip(weights, b.get_weights()):
        np.testing.assert_array_equal(w, v)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    # get_weights returns copies: editing them does not change the model.
    weights[0][...] = 0.0
    assert not np.all(a.get_weights()[0] == 0.0)


def test_layer_get_set_weights_round_trip():
    m = mlp(seed=0)
    layer = m.layers[0]
    kernel, bias = layer.get_weights()
    assert kernel.shape == (6, 16) and bias.shape == (16,)
    layer.set_weights([kernel * 2.0, bias + 1.0])
    np.testing.assert_allclose(layer.kernel, kernel * 2.0, rtol=1e-7)
    np.testing.assert_allclose(layer.bias, bias + 1.0, rtol=1e-7)


@pytest.mark.parametrize("dtype", DTYPES)
def test_kernel_is_a_zero_copy_view(dtype, blobs):
    X, _ = blobs(n=10)
    m = mlp(seed=0, dtype=dtype, hidden=(8,))
    dense = m.layers[-1]
    k = dense.kernel
    assert k.shape == (8, 3) and k.dtype == np.dtype(dtype)
    assert np.shares_memory(k, dense.kernel)
    before = m.predict(X)
    k[...] = 0.0                  # output layer then only sees its bias
    dense.bias[...] = np.array([0.0, np.log(2.0), np.log(5.0)])
    after = m.predict(X)
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, np.tile([1 / 8, 2 / 8, 5 / 8], (10, 1)), **TOL[dtype])
    np.testing.assert_allclose(after, numpy_forward(m, X), **TOL[dtype])


def test_kernel_view_outlives_the_model(blobs):
    X, _ = blobs(n=10)
    m = mlp(seed=0, hidden=(8,))
    layer = m.layers[0]
    k = layer.kernel
    expected = k.copy()
    del m
    gc.collect()
    np.testing.assert_array_equal(k, expected)
    k *= 2.0                      # still the layer's memory: a new model with the layer sees it
    np.testing.assert_array_equal(layer.kernel, expected * 2.0)
    again = dk.Sequential([layer, dk.layers.Dense(3, activation="softmax")], seed=5)
    assert again.layers[0] is layer
    np.testing.assert_allclose(again.predict(X), numpy_forward(again, X), **TOL["float32"])


def test_kernel_view_outlives_the_layer():
    m = mlp(seed=0, hidden=(8,))
    k = m.layers[0].kernel
    expected = k.copy()
    del m
    gc.collect()
    np.testing.assert_array_equal(k, expected)  # the view keeps the C++ parameters alive


# ---------------------------------------------------------------------------------------------
# predict
# ---------------------------------------------------------------------------------------------
def _input_variants():
    base = np.random.default_rng(7).normal(size=(13, 12))
    return {
        "float32": base.astype(np.float32),
        "float64": base,
        "int64": np.round(base * 3).astype(np.int64),
        "int32": np.round(base * 3).astype(np.int32),
        "uint8": (np.abs(base) * 10).astype(np.uint8),
        "bool": base > 0,
        "fortran": np.asfortranarray(base),
        "column_slice": base[:, ::2],          # non-contiguous, 6 columns
        "row_slice": base[::2, :6],            # non-contiguous rows
        "transposed": np.ascontiguousarray(base[:, :6].T).T,  # Fortran-ordered view
        "list": base[:4, :6].tolist(),
    }


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("variant", sorted(_input_variants()))
def test_predict_any_input_dtype_and_order(dtype, variant):
    x = _input_variants()[variant]
    x = x if np.shape(x)[1] == 6 else np.asarray(x)[:, :6]
    m = mlp(features=6, hidden=(10, 7), activation="tanh", seed=4, dtype=dtype)
    out = m.predict(x)
    n = np.shape(x)[0]
    assert out.shape == (n, 3)
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_allclose(out, numpy_forward(m, np.asarray(x, dtype=np.float64)), **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ["relu", "elu", "selu", "gelu", "swish", "softplus",
                                        "sigmoid", "leaky_relu", "rrelu", "linear"])
def test_predict_matches_numpy_forward(dtype, activation, blobs):
    X, _ = blobs(n=37, features=6, seed=2)
    m = mlp(features=6, hidden=(11, 9), activation=activation, seed=8, dtype=dtype)
    np.testing.assert_allclose(m.predict(X), numpy_forward(m, X), **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_predict_with_activation_layers_matches_numpy_forward(dtype, blobs):
    X, _ = blobs(n=37, features=6, seed=2)
    m = dk.Sequential([dk.layers.Input(6), dk.layers.Dense(10), dk.layers.PReLU(),
                       dk.layers.Dense(10), dk.layers.LeakyReLU(alpha=0.2),
                       dk.layers.Dense(10), dk.layers.RReLU(lower=0.1, upper=0.3),
                       dk.layers.Dense(10), dk.layers.Activation("elu"),
                       dk.layers.Dense(4), dk.layers.Activation("softmax")], seed=1, dtype=dtype)
    m.layers[1].alpha[...] = np.linspace(-0.5, 0.5, 10)  # PReLU slopes per unit
    np.testing.assert_allclose(m.predict(X), numpy_forward(m, X), **TOL[dtype])


@pytest.mark.parametrize("batch_size", [1, 5, 37, 1000])
def test_predict_batch_size_does_not_change_results(batch_size, blobs):
    X, _ = blobs(n=37)
    m = mlp(seed=0, dtype="float64")
    np.testing.assert_allclose(m.predict(X, batch_size=batch_size), m.predict(X), rtol=1e-13)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_outputs_sum_to_one(dtype):
    X = np.random.default_rng(3).normal(0, 10, size=(50, 6))
    p = mlp(seed=0, dtype=dtype).predict(X)
    assert np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=0, atol={"float32": 1e-6, "float64": 1e-14}[dtype])


# ---------------------------------------------------------------------------------------------
# evaluate, train_on_batch, test_on_batch
# ---------------------------------------------------------------------------------------------
def _compiled(dtype="float64", metrics=None, seed=0, optimizer=None, **kw):
    m = mlp(seed=seed, dtype=dtype, **kw)
    m.compile(optimizer or dk.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=metrics)
    return m


@pytest.mark.parametrize("dtype", DTYPES)
def test_evaluate_scalar_without_metrics(dtype, blobs):
    X, y = blobs(n=50)
    m = _compiled(dtype)
    loss = m.evaluate(X, y)
    assert np.isscalar(loss) and isinstance(float(loss), float)
    expected, _ = ref.sparse_categorical_crossentropy(y, m.predict(X))
    np.testing.assert_allclose(loss, expected, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch_size", [7, 32, 50])
def test_evaluate_loss_and_accuracy_with_metrics(dtype, batch_size, blobs):
    X, y = blobs(n=50)
    m = _compiled(dtype, metrics=["accuracy"])
    m.fit(X, y, epochs=2, verbose=0)
    res = m.evaluate(X, y, batch_size=batch_size)
    assert isinstance(res, list) and len(res) == 2
    p = m.predict(X)
    expected_loss, _ = ref.sparse_categorical_crossentropy(y, p)
    np.testing.assert_allclose(res[0], expected_loss, **TOL[dtype])
    assert res[1] == pytest.approx(ref.sparse_categorical_accuracy(y, p), abs=1e-12)
    assert m.evaluate(X, y, return_dict=True).keys() == {"loss", "accuracy"}


@pytest.mark.parametrize("dtype", DTYPES)
def test_evaluate_includes_regularization_penalty(dtype, blobs):
    X, y = blobs(n=30)
    m = dk.Sequential([dk.layers.Input(6),
                       dk.layers.Dense(5, activation="relu", kernel_regularizer=dk.regularizers.l2(0.1)),
                       dk.layers.Dense(3, activation="softmax")], seed=0, dtype=dtype)
    m.compile("sgd", "sparse_categorical_crossentropy")
    ce, _ = ref.sparse_categorical_crossentropy(y, m.predict(X))
    expected = ce + ref.l2_penalty(m.layers[0].kernel, 0.1)
    np.testing.assert_allclose(m.evaluate(X, y), expected, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_train_on_batch_returns_the_pre_update_loss(dtype, blobs):
    X, y = blobs(n=24)
    m = _compiled(dtype, metrics=["accuracy"])
    before_w = m.get_weights()
    before_loss, before_acc = m.evaluate(X, y)
    loss, acc = m.train_on_batch(X, y)
    np.testing.assert_allclose(loss, before_loss, **TOL[dtype])
    assert acc == pytest.approx(before_acc, abs=1e-12)
    assert not np.array_equal(before_w[0], m.get_weights()[0])
    assert m.evaluate(X, y)[0] < before_loss
    assert m.optimizer.iterations == 1


def test_train_on_batch_scalar_without_metrics(blobs):
    X, y = blobs(n=24)
    m = _compiled()
    first = m.train_on_batch(X, y)
    second = m.train_on_batch(X, y)
    assert np.isscalar(first) and second < first


@pytest.mark.parametrize("dtype", DTYPES)
def test_test_on_batch_equals_evaluate_and_does_not_train(dtype, blobs):
    X, y = blobs(n=24)
    m = _compiled(dtype, metrics=["accuracy"])
    w = m.get_weights()
    res = m.test_on_batch(X, y)
    for a, b in zip(res, m.evaluate(X, y)):
        np.testing.assert_allclose(a, b, **TOL[dtype])
    for a, b in zip(w, m.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert m.optimizer.iterations == 0


# ---------------------------------------------------------------------------------------------
# fit: History, validation, weights
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["validation_data", "validation_split"])
def test_history_has_per_epoch_metrics(how, blobs):
    X, y = blobs(n=100)
    m = _compiled("float32", metrics=["accuracy"])
    kwargs = ({"validation_data": blobs(n=30, seed=1)} if how == "validation_data"
              else {"validation_split": 0.2})
    h = m.fit(X, y, epochs=4, batch_size=16, verbose=0, **kwargs)
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    for key, values in h.history.items():
        assert len(values) == 4, key
        assert all(np.isfinite(values)), key
    assert all(0 <= a <= 1 for a in h.history["accuracy"] + h.history["val_accuracy"])
    assert h.history["loss"][-1] < h.history["loss"][0]


def test_history_without_validation_has_no_val_keys(blobs):
    X, y = blobs(n=40)
    m = _compiled("float32", metrics=["accuracy"])
    h = m.fit(X, y, epochs=2, verbose=0)
    assert set(h.history) == {"loss", "accuracy"}
    assert m.history is h


def test_validation_data_metrics_equal_evaluate_after_last_epoch(blobs):
    X, y = blobs(n=60)
    Xv, yv = blobs(n=25, seed=9)
    m = _compiled("float64", metrics=["accuracy"])
    h = m.fit(X, y, epochs=2, batch_size=8, verbose=0, validation_data=(Xv, yv))
    loss, acc = m.evaluate(Xv, yv)
    assert h.history["val_loss"][-1] == pytest.approx(loss, rel=1e-12)
    assert h.history["val_accuracy"][-1] == pytest.approx(acc, abs=1e-12)


def test_validation_split_takes_the_tail_before_shuffling():
    r = np.random.default_rng(4)
    n, n_val = 80, 20
    X = r.normal(size=(n, 3))
    y = np.zeros((n, 1))
    y[-n_val:] = 100.0            # the tail is unmistakable: fitting it would give a huge loss
    m = dk.Sequential([dk.layers.Input(3), dk.layers.Dense(4, activation="tanh"), dk.layers.Dense(1)],
                      seed=0, dtype="float64")
    m.compile(dk.optimizers.SGD(0.01), "mse")
    h = m.fit(X, y, epochs=3, batch_size=10, verbose=0, validation_split=n_val / n, shuffle=True)
    assert max(h.history["loss"]) < 10.0          # the training part never saw a target of 100
    assert min(h.history["val_loss"]) > 5000.0    # the validation part is exactly the tail
    assert h.history["val_loss"][-1] == pytest.approx(m.evaluate(X[-n_val:], y[-n_val:]), rel=1e-12)


@pytest.mark.parametrize("batch", [4, 8, 40])
def test_zero_sample_weight_equals_training_on_the_rest(batch, blobs):
    """Weights 2 on even samples and 0 on odd ones, batch 2b, no shuffling == training on the
    even samples alone with batch b (the loss divides by the batch size, as in Keras)."""
    X, y = blobs(n=80, seed=5)
    w = np.tile([2.0, 0.0], 40)
    weighted = _compiled("float64", seed=11, metrics=["accuracy"])
    subset = _compiled("float64", seed=11, metrics=["accuracy"])
    hw = weighted.fit(X, y, epochs=3, batch_size=batch, verbose=0, shuffle=False, sample_weight=w)
    hs = subset.fit(X[::2], y[::2], epochs=3, batch_size=batch // 2, verbose=0, shuffle=False)
    for a, b in zip(weighted.get_weights(), subset.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(hw.history["loss"], hs.history["loss"], rtol=1e-9)


def test_sample_weight_changes_training(blobs):
    X, y = blobs(n=40)
    a = _compiled("float64", seed=1)
    b = _compiled("float64", seed=1)
    a.fit(X, y, epochs=1, verbose=0, shuffle=False)
    b.fit(X, y, epochs=1, verbose=0, shuffle=False, sample_weight=np.linspace(0.1, 2, 40))
    assert not np.allclose(a.get_weights()[0], b.get_weights()[0])


@pytest.mark.parametrize("shuffle", [False, True])
def test_class_weight_equals_equivalent_sample_weight(shuffle, blobs):
    X, y = blobs(n=60, seed=6)
    class_weight = {0: 1.0, 1: 3.0, 2: 0.5}
    table = np.array([1.0, 3.0, 0.5])
    a = _compiled("float64", seed=2, metrics=["accuracy"])
    b = _compiled("float64", seed=2, metrics=["accuracy"])
    ha = a.fit(X, y, epochs=3, batch_size=8, verbose=0, shuffle=shuffle, class_weight=class_weight)
    hb = b.fit(X, y, epochs=3, batch_size=8, verbose=0, shuffle=shuffle, sample_weight=table[y])
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-12, atol=0)
    np.testing.assert_allclose(ha.history["loss"], hb.history["loss"], rtol=1e-12)


def test_class_weight_with_one_hot_targets(blobs):
    X, y = blobs(n=60, seed=6)
    onehot = ref.sparse_to_onehot(y, 3)
    models = []
    for kw in ({"class_weight": {1: 4.0}}, {"sample_weight": np.where(y == 1, 4.0, 1.0)}):
        m = mlp(seed=2, dtype="float64")
        m.compile(dk.optimizers.Adam(1e-2), "categorical_crossentropy")
        m.fit(X, onehot, epochs=2, batch_size=8, verbose=0, **kw)
        models.append(m)
    for wa, wb in zip(models[0].get_weights(), models[1].get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-12, atol=0)


# ---------------------------------------------------------------------------------------------
# verbosity
# ---------------------------------------------------------------------------------------------
def test_verbose_0_prints_nothing(capsys, blobs):
    X, y = blobs(n=40)
    m = _compiled("float32", metrics=["accuracy"])
    m.fit(X, y, epochs=3, verbose=0, validation_split=0.25)
    m.evaluate(X, y)
    m.predict(X)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_verbose_2_prints_one_line_per_epoch(capsys, blobs):
    X, y = blobs(n=40)
    m = _compiled("float32", metrics=["accuracy"])
    m.fit(X, y, epochs=3, batch_size=8, verbose=2, validation_split=0.25)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.strip()]
    assert len(lines) == 3, lines
    assert all("loss" in ln and "val_loss" in ln for ln in lines), lines


def test_verbose_1_ends_each_epoch_with_a_loss_line(capsys, blobs):
    X, y = blobs(n=40)
    m = _compiled("float32", metrics=["accuracy"])
    m.fit(X, y, epochs=3, batch_size=8, verbose=1)
    text = capsys.readouterr().out
    # Each epoch's output ends with a newline-terminated line (after any \r redraws) with "loss".
    finals = [ln.split("\r")[-1] for ln in text.split("\n") if ln.strip()]
    loss_lines = [ln for ln in finals if "loss" in ln]
    assert len(loss_lines) == 3, text
    assert text.endswith("\n")
    assert "loss" in finals[-1]


# ---------------------------------------------------------------------------------------------
# divergence
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("learning_rate", [1e4, 1.0])
def test_fit_stops_with_a_warning_when_the_loss_goes_nan(dtype, learning_rate):
    """A huge learning rate on mse with targets ~1e6 blows up within a few steps. fit must stop
    with a RuntimeWarning, quickly, leaving finite weights (the bad update is never applied)."""
    r = np.random.default_rng(0)
    X = r.normal(size=(64, 4)) * 100
    y = r.normal(size=(64, 1)) * 1e6
    m = dk.Sequential([dk.layers.Input(4), dk.layers.Dense(8, activation="relu"), dk.layers.Dense(1)],
                      seed=0, dtype=dtype)
    m.compile(dk.optimizers.SGD(learning_rate), "mse")
    t0 = time.perf_counter()
    with pytest.warns(RuntimeWarning, match="loss"):
        h = m.fit(X, y, epochs=50, batch_size=8, verbose=0)
    assert time.perf_counter() - t0 < 10.0
    assert len(h.history["loss"]) < 50                 # stopped early
    assert all(np.isfinite(w).all() for w in m.get_weights())


@pytest.mark.parametrize("dtype", DTYPES)
def test_train_on_batch_warns_on_nan_loss_and_keeps_weights(dtype):
    """Minimal divergence: y = 1e30 with SGD(1e10). The first step's loss (1e60) fits a double
    but not a float32; whatever the dtype, the weights must never become Inf/NaN."""
    x, y = np.ones((1, 1)), np.full((1, 1), 1e30)
    m = dk.Sequential([dk.layers.Input(1), dk.layers.Dense(1)], seed=0, dtype=dtype)
    m.compile(dk.optimizers.SGD(1e10), "mse")
    with pytest.warns(RuntimeWarning, match="loss"):
        for _ in range(40):
            m.train_on_batch(x, y)
            assert all(np.isfinite(w).all() for w in m.get_weights()), m.get_weights()


# ---------------------------------------------------------------------------------------------
# layer sharing (transfer learning)
# ---------------------------------------------------------------------------------------------
def test_reused_layers_are_shared_with_the_base_model(blobs):
    X, y = blobs(n=60)
    base = mlp(seed=0, hidden=(12, 8))
    base.compile(dk.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    base.fit(X, y, epochs=2, verbose=0)
    new = dk.Sequential(base.layers[:-1] + [dk.layers.Dense(2, activation="softmax")], seed=1)
    assert new.layers[0] is base.layers[0] and new.layers[1] is base.layers[1]
    assert np.shares_memory(new.layers[0].kernel, base.layers[0].kernel)
    assert new.count_params() == 6 * 12 + 12 + 12 * 8 + 8 + 8 * 2 + 2
    before = base.predict(X)
    new.compile(dk.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    new.fit(X, y % 2, epochs=1, verbose=0)
    after = base.predict(X)
    assert not np.allclose(before, after)              # the shared layers were trained
    np.testing.assert_allclose(after, numpy_forward(base, X), **TOL["float32"])


def test_frozen_shared_layers_leave_the_base_unchanged(blobs):
    X, y = blobs(n=60)
    base = mlp(seed=0, hidden=(12, 8))
    new = dk.Sequential(base.layers[:-1] + [dk.layers.Dense(2, activation="softmax")], seed=1)
    for layer in new.layers[:-1]:
        layer.trainable = False
    before = base.predict(X)
    head = new.layers[-1].kernel.copy()
    new.compile(dk.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    new.fit(X, y % 2, epochs=1, verbose=0)
    np.testing.assert_array_equal(base.predict(X), before)
    assert not np.array_equal(new.layers[-1].kernel, head)


# ---------------------------------------------------------------------------------------------
# end to end
# ---------------------------------------------------------------------------------------------
def test_digits_mlp_reaches_97_percent():
    datasets = pytest.importorskip("sklearn.datasets")
    model_selection = pytest.importorskip("sklearn.model_selection")
    digits = datasets.load_digits()
    Xtr, Xte, ytr, yte = model_selection.train_test_split(
        digits.data, digits.target, test_size=0.2, random_state=42, stratify=digits.target)
    mean, std = Xtr.mean(axis=0), Xtr.std(axis=0) + 1e-8   # standardize with training statistics
    Xtr, Xte = (Xtr - mean) / std, (Xte - mean) / std
    m = dk.Sequential([dk.layers.Input(64), dk.layers.Dense(128, activation="relu"),
                       dk.layers.Dense(64, activation="relu"),
                       dk.layers.Dense(10, activation="softmax")], seed=0)
    m.compile(dk.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    t0 = time.perf_counter()
    h = m.fit(Xtr, ytr, epochs=30, batch_size=32, verbose=0)
    elapsed = time.perf_counter() - t0
    loss, acc = m.evaluate(Xte, yte)
    assert acc >= 0.97, (acc, h.history["loss"][-1])
    # ~0.1 s on an idle 2-core machine; the bound is loose because CI machines are shared.
    assert elapsed < 20.0, elapsed
    assert acc == pytest.approx(np.mean(np.argmax(m.predict(Xte), axis=1) == yte), abs=1e-12)


def test_validation_split_does_not_class_weight_the_validation_loss():
    """As Keras: class_weight shapes training only; val_loss is the plain loss on the tail."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 4))
    y = (X[:, 0] > 0).astype(int)
    m = dk.Sequential([dk.layers.Input(4), dk.layers.Dense(2, activation="softmax")], seed=0,
                      dtype="float64")
    m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    h = m.fit(X, y, epochs=1, verbose=0, shuffle=False, validation_split=0.2,
              class_weight={0: 5.0, 1: 0.5})
    assert h.history["val_loss"][0] == pytest.approx(m.evaluate(X[80:], y[80:]), rel=1e-12)
