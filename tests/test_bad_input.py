"""Bad input (SPEC section 3, "Bad input"): every mistake raises a clear Python exception.

Each case is one row: the call, the exception type, and a regex the message must match (naming
the argument or what was expected). After a rejected call the model must be exactly as before:
same weights, no optimizer step, and training then goes on bit-for-bit as for a twin model that
never saw the bad call. Nothing here may crash the process.
"""

import numpy as np
import pytest

import densekit as dk
import reference as ref

FEATURES, CLASSES, N = 4, 3, 30
SPARSE, CCE, BCE, MSE = ("sparse_categorical_crossentropy", "categorical_crossentropy",
                         "binary_crossentropy", "mse")


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def make(loss=SPARSE, dtype="float32", seed=0, metrics=("accuracy",)):
    out, act = {SPARSE: (CLASSES, "softmax"), CCE: (CLASSES, "softmax"),
                BCE: (1, "sigmoid"), MSE: (2, None)}[loss]
    m = dk.Sequential([dk.layers.Input(FEATURES), dk.layers.Dense(6, activation="relu"),
                       dk.layers.Dense(out, activation=act)], seed=seed, dtype=dtype)
    m.compile(dk.optimizers.Adam(1e-2), loss, metrics=list(metrics) if loss != MSE else ["mae"])
    return m


def good_data(loss=SPARSE, seed=0):
    r = np.random.default_rng(seed)
    X = r.normal(size=(N, FEATURES))
    ids = r.integers(0, CLASSES, size=N)
    Y = {SPARSE: ids, CCE: ref.sparse_to_onehot(ids, CLASSES),
         BCE: (ids > 0).astype(float).reshape(N, 1), MSE: r.normal(size=(N, 2))}[loss]
    return X, Y


def with_value(a, index, value):
    a = np.array(a, dtype=np.float64)
    a[index] = value
    return a


def shifted(m):
    """The model's weights plus one: valid arrays that differ from the current ones, so that a
    set_weights applying some arrays before rejecting a later one shows up."""
    return [w + 1 for w in m.get_weights()]




# Twin comparison after training: rounding-level only (bit-identity across model instances is
# test_determinism.py's business; a corrupted state shows up far above this).
HEALTHY_TOL = {"float32": dict(rtol=1e-5, atol=1e-6), "float64": dict(rtol=1e-12, atol=1e-13)}


@pytest.fixture
def assert_healthy(assert_same_weights):
    """assert_healthy(m, loss, dtype="float32", seed=0): m trains and predicts as an untouched
    twin built the same way."""
    def check(m, loss, dtype="float32", seed=0):
        tol = HEALTHY_TOL[dtype]
        twin = make(loss, dtype=dtype, seed=seed)
        X, Y = good_data(loss)
        assert_same_weights(m.get_weights(), twin.get_weights())
        hm = m.fit(X, Y, epochs=2, batch_size=8, verbose=0)
        ht = twin.fit(X, Y, epochs=2, batch_size=8, verbose=0)
        assert hm.history.keys() == ht.history.keys()
        for key in hm.history:
            np.testing.assert_allclose(hm.history[key], ht.history[key], **tol, err_msg=key)
        for a, b in zip(m.get_weights(), twin.get_weights()):
            np.testing.assert_allclose(a, b, **tol)
        p = m.predict(X)
        assert np.isfinite(p).all()
        np.testing.assert_allclose(p, twin.predict(X), **tol)
        np.testing.assert_allclose(m.evaluate(X, Y), twin.evaluate(X, Y), **tol)
    return check


# ---------------------------------------------------------------------------------------------
# calls on a compiled model: (id, loss, call(m, X, Y), exception, message regex)
# ---------------------------------------------------------------------------------------------
def _cols(X, k):
    return np.hstack([X, np.ones((len(X), k))])[:, :FEATURES + k] if k > 0 else X[:, :FEATURES + k]


CALLS = [
    # wrong feature count
    ("fit_5_features", SPARSE, lambda m, X, Y: m.fit(_cols(X, 1), Y, verbose=0), ValueError, "features"),
    ("fit_3_features", SPARSE, lambda m, X, Y: m.fit(_cols(X, -1), Y, verbose=0), ValueError, "features"),
    ("predict_5_features", SPARSE, lambda m, X, Y: m.predict(_cols(X, 1)), ValueError, "features"),
    ("evaluate_3_features", SPARSE, lambda m, X, Y: m.evaluate(_cols(X, -1), Y), ValueError, "features"),
    ("train_on_batch_5_features", SPARSE, lambda m, X, Y: m.train_on_batch(_cols(X, 1), Y), ValueError, "features"),
    ("val_data_5_features", SPARSE,
     lambda m, X, Y: m.fit(X, Y, verbose=0, validation_data=(_cols(X, 1), Y)), ValueError, "features"),
    # wrong number of dimensions
    ("predict_1d_one_sample", SPARSE, lambda m, X, Y: m.predict(X[0]), ValueError, r"reshape\(1, -1\)"),
    ("predict_1d", SPARSE, lambda m, X, Y: m.predict(X[:, 0]), ValueError, "2-D"),
    ("fit_1d", SPARSE, lambda m, X, Y: m.fit(X[:, 0], Y, verbose=0), ValueError, "2-D"),
    ("predict_3d", SPARSE, lambda m, X, Y: m.predict(X.reshape(N, 2, 2)), ValueError, "2-D"),
    ("fit_3d", SPARSE, lambda m, X, Y: m.fit(X.reshape(N, 2, 2), Y, verbose=0), ValueError, "2-D"),
    ("predict_scalar", SPARSE, lambda m, X, Y: m.predict(3.0), ValueError, "2-D"),
    # sample counts
    ("fit_y_short", SPARSE, lambda m, X, Y: m.fit(X, Y[:-1], verbose=0), ValueError, "samples"),
    ("fit_y_long", MSE, lambda m, X, Y: m.fit(X, np.vstack([Y, Y[:1]]), verbose=0), ValueError, "samples"),
    ("evaluate_y_short", SPARSE, lambda m, X, Y: m.evaluate(X, Y[:-3]), ValueError, "samples"),
    ("train_on_batch_y_short", SPARSE, lambda m, X, Y: m.train_on_batch(X, Y[:-1]), ValueError, "samples"),
    ("predict_no_samples", SPARSE, lambda m, X, Y: m.predict(X[:0]), ValueError, "samples"),
    ("x_none", SPARSE, lambda m, X, Y: m.fit(None, Y, verbose=0), ValueError, "x is None"),
    ("y_none", SPARSE, lambda m, X, Y: m.fit(X, None, verbose=0), ValueError, "y is None"),
    # NaN / Inf
    ("fit_x_nan", SPARSE, lambda m, X, Y: m.fit(with_value(X, (3, 1), np.nan), Y, verbose=0), ValueError, "NaN"),
    ("fit_x_inf", SPARSE, lambda m, X, Y: m.fit(with_value(X, (0, 0), np.inf), Y, verbose=0), ValueError, "Inf"),
    ("fit_x_neg_inf", SPARSE, lambda m, X, Y: m.fit(with_value(X, (5, 2), -np.inf), Y, verbose=0), ValueError, "Inf"),
    ("predict_x_nan", SPARSE, lambda m, X, Y: m.predict(with_value(X, (3, 1), np.nan)), ValueError, "NaN"),
    ("evaluate_x_inf", SPARSE, lambda m, X, Y: m.evaluate(with_value(X, (3, 1), np.inf), Y), ValueError, "Inf"),
    ("x_overflows_float32", SPARSE, lambda m, X, Y: m.predict(with_value(X, (1, 1), 1e300)), ValueError, "Inf"),
    ("train_on_batch_x_nan", SPARSE,
     lambda m, X, Y: m.train_on_batch(with_value(X, (0, 0), np.nan), Y), ValueError, "NaN"),
    ("fit_sparse_y_nan", SPARSE, lambda m, X, Y: m.fit(X, with_value(Y, 4, np.nan), verbose=0), ValueError, "NaN"),
    ("fit_sparse_y_inf", SPARSE, lambda m, X, Y: m.fit(X, with_value(Y, 4, np.inf), verbose=0), ValueError, "Inf"),
    ("fit_mse_y_nan", MSE, lambda m, X, Y: m.fit(X, with_value(Y, (2, 1), np.nan), verbose=0), ValueError, "NaN"),
    ("fit_mse_y_inf", MSE, lambda m, X, Y: m.fit(X, with_value(Y, (2, 1), np.inf), verbose=0), ValueError, "Inf"),
    ("fit_cce_y_nan", CCE, lambda m, X, Y: m.fit(X, with_value(Y, (2, 1), np.nan), verbose=0), ValueError, "NaN"),
    ("evaluate_bce_y_nan", BCE, lambda m, X, Y: m.evaluate(X, with_value(Y, (2, 0), np.nan)), ValueError, "NaN"),
    ("val_data_y_nan", MSE,
     lambda m, X, Y: m.fit(X, Y, verbose=0, validation_data=(X, with_value(Y, (0, 0), np.nan))), ValueError, "NaN"),
    # class ids
    ("sparse_label_negative", SPARSE, lambda m, X, Y: m.fit(X, with_value(Y, 7, -1), verbose=0), ValueError, "class id"),
    ("sparse_label_too_big", SPARSE, lambda m, X, Y: m.fit(X, with_value(Y, 7, CLASSES), verbose=0), ValueError, "class id"),
    ("sparse_label_int_too_big", SPARSE,
     lambda m, X, Y: m.fit(X, np.where(np.arange(N) == 2, 99, Y), verbose=0), ValueError, r"\[0, 3\)"),
    ("sparse_label_non_integer", SPARSE, lambda m, X, Y: m.fit(X, with_value(Y, 7, 1.5), verbose=0), ValueError, "integer"),
    ("evaluate_label_too_big", SPARSE, lambda m, X, Y: m.evaluate(X, with_value(Y, 0, 10)), ValueError, "class id"),
    ("val_data_label_too_big", SPARSE,
     lambda m, X, Y: m.fit(X, Y, verbose=0, validation_data=(X, with_value(Y, 0, 5))), ValueError, "class id"),
    ("sparse_given_one_hot", SPARSE,
     lambda m, X, Y: m.fit(X, ref.sparse_to_onehot(Y, CLASSES), verbose=0), ValueError, "categorical_crossentropy"),
    # target shapes and ranges
    ("cce_one_hot_too_narrow", CCE, lambda m, X, Y: m.fit(X, Y[:, :2], verbose=0), ValueError, r"shape"),
    ("cce_one_hot_too_wide", CCE, lambda m, X, Y: m.fit(X, np.hstack([Y, 0 * Y[:, :1]]), verbose=0), ValueError, r"\(30, 3\)"),
    ("cce_given_class_ids", CCE, lambda m, X, Y: m.fit(X, Y.argmax(axis=1), verbose=0), ValueError, "shape"),
    ("cce_target_above_1", CCE, lambda m, X, Y: m.fit(X, Y * 2, verbose=0), ValueError, r"\[0, 1\]"),
    ("bce_target_above_1", BCE, lambda m, X, Y: m.fit(X, with_value(Y, (0, 0), 1.5), verbose=0), ValueError, r"\[0, 1\]"),
    ("bce_target_negative", BCE, lambda m, X, Y: m.fit(X, with_value(Y, (0, 0), -0.5), verbose=0), ValueError, r"\[0, 1\]"),
    ("bce_evaluate_target_2", BCE, lambda m, X, Y: m.evaluate(X, Y + 1), ValueError, r"\[0, 1\]"),
    ("mse_wrong_width", MSE, lambda m, X, Y: m.fit(X, Y[:, :1], verbose=0), ValueError, "shape"),
    # dtypes
    ("x_object", SPARSE, lambda m, X, Y: m.predict(X.astype(object)), TypeError, "numeric"),
    ("x_complex", SPARSE, lambda m, X, Y: m.fit(X.astype(complex), Y, verbose=0), TypeError, "real|complex"),
    ("x_string", SPARSE, lambda m, X, Y: m.predict(X.astype(str)), TypeError, "numeric"),
    ("x_mixed_list", SPARSE, lambda m, X, Y: m.predict([[1.0, 2.0, 3.0, "x"]]), TypeError, "numeric"),
    ("y_string", SPARSE, lambda m, X, Y: m.fit(X, Y.astype(str), verbose=0), TypeError, "numeric"),
    ("y_object", MSE, lambda m, X, Y: m.fit(X, Y.astype(object), verbose=0), TypeError, "numeric"),
    ("y_complex", MSE, lambda m, X, Y: m.fit(X, Y.astype(complex), verbose=0), TypeError, "real|complex"),
    ("sparse_y_complex", SPARSE, lambda m, X, Y: m.fit(X, Y.astype(complex), verbose=0), TypeError, "real|complex"),
    ("sample_weight_complex", SPARSE,
     lambda m, X, Y: m.fit(X, Y, verbose=0, sample_weight=np.ones(N, complex)), TypeError, "sample_weight"),
    ("sample_weight_string", SPARSE,
     lambda m, X, Y: m.fit(X, Y, verbose=0, sample_weight=np.ones(N).astype(str)), TypeError, "sample_weight"),
    # hyperparameters of fit / evaluate / predict
    ("batch_size_0", SPARSE, lambda m, X, Y: m.fit(X, Y, batch_size=0, verbose=0), ValueError, "batch_size"),
    ("batch_size_negative", SPARSE, lambda m, X, Y: m.fit(X, Y, batch_size=-8, verbose=0), ValueError, "batch_size"),
    ("batch_size_float", SPARSE, lambda m, X, Y: m.fit(X, Y, batch_size=8.5, verbose=0), ValueError, "batch_size"),
    ("evaluate_batch_size_0", SPARSE, lambda m, X, Y: m.evaluate(X, Y, batch_size=0), ValueError, "batch_size"),
    ("predict_batch_size_negative", SPARSE, lambda m, X, Y: m.predict(X, batch_size=-1), ValueError, "batch_size"),
    ("epochs_negative", SPARSE, lambda m, X, Y: m.fit(X, Y, epochs=-1, verbose=0), ValueError, "epochs"),
    ("epochs_float", SPARSE, lambda m, X, Y: m.fit(X, Y, epochs=2.5, verbose=0), ValueError, "epochs"),
    ("validation_split_1", SPARSE, lambda m, X, Y: m.fit(X, Y, validation_split=1.0, verbose=0), ValueError, "validation_split"),
    ("validation_split_negative", SPARSE,
     lambda m, X, Y: m.fit(X, Y, validation_split=-0.1, verbose=0), ValueError, "validation_split"),
    ("validation_split_empty_train", SPARSE,
     lambda m, X, Y: m.fit(X[:2], Y[:2], validation_split=0.6, verbose=0), ValueError, "validation_split"),
    ("validation_data_not_a_pair", SPARSE,
     lambda m, X, Y: m.fit(X, Y, validation_data=X, verbose=0), ValueError, "validation_data"),
    ("verbose_5", SPARSE, lambda m, X, Y: m.fit(X, Y, verbose=5), ValueError, "verbose"),
    # sample and class weights
    ("sample_weight_short", SPARSE, lambda m, X, Y: m.fit(X, Y, sample_weight=np.ones(N - 1), verbose=0), ValueError, "sample_weight"),
    ("sample_weight_2d", SPARSE, lambda m, X, Y: m.fit(X, Y, sample_weight=np.ones((N, 2)), verbose=0), ValueError, "sample_weight"),
    ("sample_weight_negative", SPARSE,
     lambda m, X, Y: m.fit(X, Y, sample_weight=with_value(np.ones(N), 3, -1.0), verbose=0), ValueError, "sample_weight"),
    ("sample_weight_nan", SPARSE,
     lambda m, X, Y: m.fit(X, Y, sample_weight=with_value(np.ones(N), 3, np.nan), verbose=0), ValueError, "sample_weight"),
    ("evaluate_sample_weight_short", SPARSE,
     lambda m, X, Y: m.evaluate(X, Y, sample_weight=np.ones(2)), ValueError, "sample_weight"),
    ("train_on_batch_sample_weight_negative", SPARSE,
     lambda m, X, Y: m.train_on_batch(X, Y, sample_weight=-np.ones(N)), ValueError, "sample_weight"),
    ("class_weight_negative", SPARSE, lambda m, X, Y: m.fit(X, Y, class_weight={0: -1.0}, verbose=0), ValueError, "class_weight"),
    ("class_weight_not_a_dict", SPARSE, lambda m, X, Y: m.fit(X, Y, class_weight=[1.0, 2.0], verbose=0), TypeError, "class_weight"),
    ("class_weight_for_regression", MSE, lambda m, X, Y: m.fit(X, Y, class_weight={0: 2.0}, verbose=0), ValueError, "class_weight"),
    # weights
    ("set_weights_too_few", SPARSE, lambda m, X, Y: m.set_weights(m.get_weights()[:-1]), ValueError, "4 weight arrays, got 3"),
    ("set_weights_too_many", SPARSE, lambda m, X, Y: m.set_weights(m.get_weights() * 2), ValueError, "got 8"),
    ("set_weights_kernel_transposed", SPARSE,
     lambda m, X, Y: m.set_weights([w.T if w.ndim == 2 else w for w in m.get_weights()]), ValueError, r"shape \(4, 6\)"),
    ("set_weights_bias_wrong_shape", SPARSE,
     lambda m, X, Y: m.set_weights(shifted(m)[:3] + [np.zeros(4)]), ValueError, r"expected shape \(3,\)"),
    ("set_weights_nan", SPARSE,
     lambda m, X, Y: m.set_weights(shifted(m)[:3] + [np.array([0.0, np.nan, 0.0])]), ValueError, "NaN"),
    ("set_weights_string", SPARSE,
     lambda m, X, Y: m.set_weights([w.astype(str) for w in m.get_weights()]), TypeError, "weight"),
    ("set_weights_complex", SPARSE,
     lambda m, X, Y: m.set_weights([w.astype(complex) for w in m.get_weights()]), TypeError, "weight"),
    ("layer_set_weights_wrong_count", SPARSE,
     lambda m, X, Y: m.layers[0].set_weights(m.layers[0].get_weights()[:1]), ValueError, "expects 2 weight arrays"),
    ("layer_set_weights_wrong_shape", SPARSE,
     lambda m, X, Y: m.layers[1].set_weights([np.zeros((6, 4)), np.zeros(3)]), ValueError, r"\(6, 3\)"),
    # compile again with bad arguments: the previous compile must stay in force
    ("compile_unknown_optimizer", SPARSE,
     lambda m, X, Y: m.compile("adamm", SPARSE, metrics=["accuracy"]), ValueError, "optimizer"),
    ("compile_unknown_loss", SPARSE,
     lambda m, X, Y: m.compile(dk.optimizers.SGD(0.5), "crossentropyy", metrics=["accuracy"]), ValueError, "loss"),
    ("compile_unknown_metric", SPARSE,
     lambda m, X, Y: m.compile(dk.optimizers.SGD(0.5), MSE, metrics=["f1"]), ValueError, "metric"),
    ("compile_accuracy_for_regression", SPARSE,
     lambda m, X, Y: m.compile(dk.optimizers.SGD(0.5), MSE, metrics=["accuracy"]), ValueError, "accuracy"),
    ("compile_no_loss", SPARSE, lambda m, X, Y: m.compile(dk.optimizers.SGD(0.5)), ValueError, "loss"),
]


@pytest.mark.parametrize("loss, call, exc, match", [c[1:] for c in CALLS], ids=[c[0] for c in CALLS])
def test_bad_call_raises_and_leaves_the_model_intact(loss, call, exc, match, assert_same_weights, assert_healthy):
    m = make(loss)
    X, Y = good_data(loss)
    before = m.get_weights()
    optimizer, loss_object, metrics = m.optimizer, m.loss, list(m.metrics_names)
    with pytest.raises(exc, match=match):
        call(m, X, Y)
    assert_same_weights(m.get_weights(), before)
    # A rejected compile keeps the previous one in force, on the Python side too.
    assert m.optimizer is optimizer and m.loss is loss_object and m.metrics_names == metrics
    assert m.optimizer.iterations == 0
    assert_healthy(m, loss)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_many_bad_calls_in_a_row_leave_the_model_intact(dtype, assert_healthy):
    """Every rejected call on one model, then training as a fresh twin."""
    m = make(SPARSE, dtype=dtype)
    X, Y = good_data(SPARSE)
    not_rejected = []
    for name, loss, call, exc, _ in CALLS:
        if loss == SPARSE and not (dtype == "float64" and name.endswith("float32")):
            try:
                call(m, X, Y)
                not_rejected.append(name)
            except exc:
                pass
    assert not_rejected == []        # each also fails on its own above
    assert m.optimizer.iterations == 0
    assert_healthy(m, SPARSE, dtype=dtype)


# ---------------------------------------------------------------------------------------------
# construction-time errors: (id, call, exception, message regex)
# ---------------------------------------------------------------------------------------------
def _net(*layers, **kw):
    return dk.Sequential([dk.layers.Input(FEATURES), *layers], **kw)


BUILD = [
    ("unknown_activation", lambda: dk.layers.Dense(3, activation="relux"), ValueError, "activation 'relux'"),
    ("unknown_activation_layer", lambda: dk.layers.Activation("softmaxx"), ValueError, "activation"),
    ("activation_not_a_name", lambda: dk.layers.Dense(3, activation=3), TypeError, "activation"),
    ("unknown_initializer", lambda: dk.layers.Dense(3, kernel_initializer="glorot_foo"), ValueError, "initializer"),
    ("unknown_bias_initializer", lambda: dk.layers.Dense(3, bias_initializer="nope"), ValueError, "initializer"),
    ("unknown_regularizer", lambda: dk.layers.Dense(3, kernel_regularizer="l3"), ValueError, "regularizer"),
    ("units_0", lambda: dk.layers.Dense(0), ValueError, "units"),
    ("units_negative", lambda: dk.layers.Dense(-3), ValueError, "units"),
    ("units_float", lambda: dk.layers.Dense(2.5), ValueError, "units"),
    ("units_string", lambda: dk.layers.Dense("8"), ValueError, "units"),
    ("input_0", lambda: dk.layers.Input(0), ValueError, "features"),
    ("input_negative", lambda: dk.layers.Input(-4), ValueError, "features"),
    # Input((28, 28)) is Keras's; without a Flatten after it the model refuses it.
    ("input_2d_shape", lambda: dk.Sequential([dk.layers.Input((28, 28)), dk.layers.Dense(2)]),
     ValueError, "flat"),
    ("input_float", lambda: dk.layers.Input(4.0), ValueError, "features"),
    ("dtype_int32", lambda: _net(dk.layers.Dense(2), dtype="int32"), ValueError, "dtype"),
    ("dtype_float16", lambda: _net(dk.layers.Dense(2), dtype="float16"), ValueError, "dtype"),
    ("dtype_nonsense", lambda: _net(dk.layers.Dense(2), dtype="floaty"), ValueError, "dtype"),
    ("seed_negative", lambda: _net(dk.layers.Dense(2), seed=-1), ValueError, "seed"),
    ("not_a_layer", lambda: _net("dense"), TypeError, "layer"),
    ("input_not_first", lambda: dk.Sequential([dk.layers.Dense(2), dk.layers.Input(3)]), ValueError, "Input"),
    ("rrelu_lower_above_upper", lambda: dk.layers.RReLU(lower=0.5, upper=0.1), ValueError, "lower"),
    ("unknown_loss", lambda: _net(dk.layers.Dense(2)).compile("adam", "crossentropy"), ValueError, "loss"),
    ("unknown_optimizer", lambda: _net(dk.layers.Dense(2)).compile("adamm", "mse"), ValueError, "optimizer"),
    ("unknown_metric", lambda: _net(dk.layers.Dense(2)).compile("adam", "mse", metrics=["f1"]), ValueError, "metric"),
    ("negative_learning_rate", lambda: dk.optimizers.SGD(learning_rate=-0.1), ValueError, "learning_rate"),
    ("nan_learning_rate", lambda: dk.optimizers.Adam(learning_rate=float("nan")), ValueError, "learning_rate"),
    ("beta_1_above_1", lambda: dk.optimizers.Adam(beta_1=1.5), ValueError, "beta_1"),
    ("two_clipping_options", lambda: dk.optimizers.SGD(clipnorm=1.0, clipvalue=1.0), ValueError, "clip"),
    ("huber_delta_0", lambda: dk.losses.Huber(delta=0.0), ValueError, "delta"),
    ("predict_unbuilt", lambda: dk.Sequential([dk.layers.Dense(2)]).predict(np.ones((1, 3))), ValueError, "Input"),
    ("build_other_width", lambda: _net(dk.layers.Dense(2)).build(5), ValueError, "4 inputs"),
]


@pytest.mark.parametrize("call, exc, match", [c[1:] for c in BUILD], ids=[c[0] for c in BUILD])
def test_bad_construction_raises(call, exc, match, assert_healthy):
    with pytest.raises(exc, match=match):
        call()
    m = make(SPARSE)               # the library is still usable afterwards
    assert_healthy(m, SPARSE)


# ---------------------------------------------------------------------------------------------
# calls that need a particular model state
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["fit", "evaluate", "train_on_batch", "test_on_batch"])
def test_training_calls_before_compile_raise_runtime_error(method, assert_healthy):
    X, Y = good_data(SPARSE)
    m = dk.Sequential([dk.layers.Input(FEATURES), dk.layers.Dense(6, activation="relu"),
                       dk.layers.Dense(CLASSES, activation="softmax")], seed=0)
    kwargs = {"verbose": 0} if method == "fit" else {}
    with pytest.raises(RuntimeError, match="compile"):
        getattr(m, method)(X, Y, **kwargs)
    assert m.predict(X).shape == (N, CLASSES)     # predict needs no compile
    m.compile(dk.optimizers.Adam(1e-2), SPARSE, metrics=["accuracy"])
    assert_healthy(m, SPARSE)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_layer_built_for_4_inputs_cannot_join_a_5_input_model(dtype, assert_healthy):
    X, Y = good_data(SPARSE)
    m = make(SPARSE, dtype=dtype)
    first = m.layers[0]
    kernel = first.get_weights()[0]
    with pytest.raises(ValueError, match="built for 4 inputs"):
        dk.Sequential([dk.layers.Input(5), first, dk.layers.Dense(2)], dtype=dtype)
    with pytest.raises(ValueError, match="built for 4 inputs"):
        dk.Sequential([dk.layers.Input(4), dk.layers.Dense(5), first], dtype=dtype)
    other = "float64" if dtype == "float32" else "float32"
    with pytest.raises(ValueError, match=f"built as {dtype}"):
        dk.Sequential([dk.layers.Input(4), first], dtype=other)
    np.testing.assert_array_equal(first.kernel, kernel)
    assert_healthy(m, SPARSE, dtype=dtype)


def test_set_weights_on_an_unbuilt_layer_raises():
    layer = dk.layers.Dense(3)
    with pytest.raises(RuntimeError, match="not built"):
        layer.set_weights([np.zeros((4, 3)), np.zeros(3)])
    with pytest.raises(RuntimeError, match="not built"):
        layer.kernel


def test_core_train_rejects_targets_of_the_wrong_width():
    """The binding checks Y against the loss before touching its buffers (a wider Y once
    overflowed the gathered-target buffer)."""
    m = dk.Sequential([dk.layers.Input(3), dk.layers.Dense(1)], seed=0)
    m.compile(optimizer="sgd", loss="mse")
    X = np.ones((4, 3), np.float32)
    idx = np.arange(4, dtype=np.int64)
    for Y in (np.ones((4, 8), np.float32), np.ones((4, 0), np.float32)):
        with pytest.raises(ValueError, match="Y must have shape"):
            m._net.train(X, Y, None, idx, 4, 4)
    with pytest.raises(ValueError, match="sample_weight"):
        m._net.train(X, np.ones((4, 1), np.float32), np.ones((4, 1), np.float32), idx, 4, 4)


def test_optimizer_config_refuses_structural_changes():
    m = dk.Sequential([dk.layers.Input(3), dk.layers.Dense(1)], seed=0)
    m.compile(optimizer=dk.optimizers.Adam(), loss="mse")
    cfg = m._net.optimizer_config
    cfg.amsgrad = True  # would need a third slot the arena does not have
    with pytest.raises(ValueError, match="recompile"):
        m._net.optimizer_config = cfg


def test_slot_view_survives_a_recompile():
    m = dk.Sequential([dk.layers.Input(3), dk.layers.Dense(2)], seed=0)
    m.compile(optimizer=dk.optimizers.Adam(), loss="mse")
    m.train_on_batch(np.ones((2, 3)), np.ones((2, 2)))
    view = m._net.optimizer_slots()
    before = view.copy()
    m.compile(optimizer=dk.optimizers.SGD(), loss="mse")  # replaces the optimizer
    np.testing.assert_array_equal(view, before)  # still the old optimizer's memory, alive
