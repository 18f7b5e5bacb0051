"""dk.sklearn.MLPClassifier / MLPRegressor: scikit-learn's semantics, checked against
scikit-learn's own MLPs, plus partial_fit, warm_start, labels, weights, dtypes, pandas, pickling
and the model-selection tools. Small data and few epochs: the file runs in seconds."""

import copy
import io
import pickle
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
import joblib  # noqa: E402  (a scikit-learn dependency)
from sklearn import neural_network as sknn  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.class_weight import compute_sample_weight  # noqa: E402

from densekit.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data(n=60, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y_reg = X[:, 0] - X[:, 1] ** 2 + 0.1 * rng.normal(size=n)
    y_cls = np.digitize(X[:, 0] + 0.3 * X[:, 2], [-0.5, 0.5])  # 3 classes
    return X, y_reg, y_cls


def _same_weights(a, b):
    wa, wb = a.model_.get_weights(), b.model_.get_weights()
    return len(wa) == len(wb) and all(np.array_equal(x, y) for x, y in zip(wa, wb))


# -- scikit-learn's objective, step for step ---------------------------------------------------
@pytest.mark.parametrize("kind", ["regressor", "classifier"])
@pytest.mark.parametrize("weighted", [False, True])
def test_full_batch_sgd_follows_sklearns_trajectory(kind, weighted):
    """From the same weights, full-batch SGD on densekit's estimator and on scikit-learn's MLP
    (plain SGD, constant rate) give the same loss curve and weights: same loss (log-loss; half
    squared error), same alpha scaling, same sample_weight normalisation."""
    X, y_reg, y_cls = _data(n=40)
    y = y_reg if kind == "regressor" else y_cls
    w = np.random.default_rng(1).integers(1, 4, size=40).astype(float) if weighted else None
    Sk, Dk = (sknn.MLPRegressor, MLPRegressor) if kind == "regressor" else (sknn.MLPClassifier, MLPClassifier)
    common = dict(hidden_layer_sizes=(8,), activation="tanh", alpha=0.3, learning_rate_init=0.05,
                  shuffle=False, tol=0.0, n_iter_no_change=1000, random_state=0)
    sk = Sk(solver="sgd", momentum=0.0, nesterovs_momentum=False, learning_rate="constant",
            batch_size=40, max_iter=1, **common).fit(X, y, sample_weight=w)
    start = [a.copy() for pair in zip(sk.coefs_, sk.intercepts_) for a in pair]
    sk.set_params(warm_start=True, max_iter=10).fit(X, y, sample_weight=w)

    est = Dk(solver="sgd", batch_size="full", max_iter=1, **common).fit(X, y, sample_weight=w)
    est.model_.set_weights(start)
    est.set_params(warm_start=True, max_iter=10).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(est.loss_curve_[1:], sk.loss_curve_[1:], rtol=1e-12)
    for a, b in zip(est.coefs_ + est.intercepts_, sk.coefs_ + sk.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


def test_tol_stopping_matches_sklearn():
    """tol / n_iter_no_change: training stops once the loss fails to improve by tol for more
    than n_iter_no_change epochs — after the same number of epochs as scikit-learn's MLP."""
    X, y, _ = _data()
    for n_change in (1, 3):
        params = dict(hidden_layer_sizes=(8,), tol=10.0, n_iter_no_change=n_change, random_state=0)
        ours = MLPRegressor(**params).fit(X, y)
        theirs = sknn.MLPRegressor(**params).fit(X, y)
        assert ours.n_iter_ == theirs.n_iter_ == n_change + 2
        assert len(ours.loss_curve_) == ours.n_iter_
        assert ours.best_loss_ == min(ours.loss_curve_)
        assert ours.validation_scores_ is None


def test_max_iter_without_convergence_warns():
    X, y, _ = _data()
    with pytest.warns(ConvergenceWarning, match="maximum iterations"):
        MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y)


def test_early_stopping_keeps_the_best_epoch():
    """With early_stopping the weights at the end are those of the best validation score: a
    run stopped right after the best epoch ends with the very same weights."""
    X, _, y = _data(n=200)
    params = dict(hidden_layer_sizes=(16,), early_stopping=True, validation_fraction=0.2,
                  n_iter_no_change=3, learning_rate_init=0.05, max_iter=100, random_state=0)
    est = MLPClassifier(**params).fit(X, y)
    assert est.best_loss_ is None
    assert len(est.validation_scores_) == est.n_iter_ < 100
    best_epoch = int(np.argmax(est.validation_scores_)) + 1
    assert est.best_validation_score_ == max(est.validation_scores_)
    # Stopped by the rule: at most n_iter_no_change + 1 epochs without an improvement of tol.
    assert best_epoch < est.n_iter_ <= best_epoch + 3 + 1
    short = MLPClassifier(**{**params, "max_iter": best_epoch}).fit(X, y)
    assert _same_weights(est, short)


# -- partial_fit and warm_start ----------------------------------------------------------------
@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("shuffle", [False, True])
def test_partial_fit_n_times_equals_fit_n_epochs(Est, shuffle):
    """partial_fit keeps the optimizer state (Adam moments, step count) and the shuffling RNG:
    n calls on the same data give fit(max_iter=n)'s weights, bit for bit."""
    X, y_reg, y_cls = _data()
    y = y_cls if Est is MLPClassifier else y_reg
    params = dict(hidden_layer_sizes=(8, 4), batch_size=16, shuffle=shuffle, random_state=3,
                  n_iter_no_change=100, max_iter=5)
    full = Est(**params).fit(X, y)
    inc = Est(**params)
    for _ in range(5):
        if Est is MLPClassifier:
            inc.partial_fit(X, y, classes=np.unique(y))
        else:
            inc.partial_fit(X, y)
    assert _same_weights(full, inc)
    assert inc.loss_curve_ == full.loss_curve_
    assert inc.n_iter_ == full.n_iter_ == 5 and inc.t_ == full.t_ == 5 * len(X)


def test_warm_start_continues_network_and_optimizer():
    X, _, y = _data()
    params = dict(hidden_layer_sizes=(8,), batch_size=16, random_state=0, n_iter_no_change=100)
    once = MLPClassifier(max_iter=6, **params).fit(X, y)
    twice = MLPClassifier(max_iter=3, warm_start=True, **params).fit(X, y).fit(X, y)
    assert _same_weights(once, twice)
    assert twice.loss_curve_ == once.loss_curve_
    # A new learning rate applies to the next fit; a new architecture is refused.
    twice.set_params(learning_rate_init=0.05).fit(X, y)
    assert twice.model_.optimizer.learning_rate == pytest.approx(0.05)
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        twice.set_params(hidden_layer_sizes=(9,)).fit(X, y)
    # Without warm_start, fit starts over: the same as a fresh estimator.
    again = MLPClassifier(max_iter=6, **params).fit(X, y).fit(X, y)
    assert _same_weights(once, again)


def test_partial_fit_needs_classes_and_known_labels():
    X, _, y = _data()
    est = MLPClassifier(hidden_layer_sizes=(4,))
    with pytest.raises(ValueError, match="classes must be passed"):
        est.partial_fit(X, y)
    est.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])  # a batch need not hold every class
    assert list(est.classes_) == [0, 1, 2]
    with pytest.raises(ValueError, match=r"not in classes_"):
        est.partial_fit(X, np.where(y == 2, 7, y))
    with pytest.raises(ValueError, match="early_stopping"):
        MLPClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])


# -- labels, weights, outputs, dtypes --------------------------------------------------------
def test_string_and_non_contiguous_labels():
    X, _, y = _data(n=120)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    codes = np.array([-5, 10, 42])[y]
    params = dict(hidden_layer_sizes=(8,), learning_rate_init=0.05, max_iter=60, random_state=0)
    a = MLPClassifier(**params).fit(X, names)
    b = MLPClassifier(**params).fit(X, codes)
    assert list(a.classes_) == ["setosa", "versicolor", "virginica"]
    assert list(b.classes_) == [-5, 10, 42]
    assert set(a.predict(X)) <= set(names) and set(b.predict(X)) <= {-5, 10, 42}
    proba = a.predict_proba(X)
    assert proba.shape == (120, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    # Same ids underneath: same network, and predict is the argmax over classes_ order.
    assert _same_weights(a, b)
    np.testing.assert_array_equal(a.predict(X), a.classes_[np.argmax(proba, axis=1)])
    assert a.score(X, names) > 0.8


def test_binary_and_class_weight_balanced_is_sklearns_formula():
    X, _, y = _data(n=90)
    y = (y == 2).astype(int)  # imbalanced binary
    params = dict(hidden_layer_sizes=(8,), random_state=0, max_iter=20)
    balanced = MLPClassifier(class_weight="balanced", **params).fit(X, y)
    by_hand = MLPClassifier(**params).fit(X, y, sample_weight=compute_sample_weight("balanced", y))
    assert _same_weights(balanced, by_hand)
    assert balanced.predict_proba(X).shape == (90, 2)
    heavy = MLPClassifier(class_weight={0: 1.0, 1: 3.0}, **params).fit(X, y)
    by_hand = MLPClassifier(**params).fit(X, y, sample_weight=np.where(y == 1, 3.0, 1.0))
    assert _same_weights(heavy, by_hand)


def test_sample_weight_scale_and_zero_weights():
    """The loss is the weighted mean, so only relative weights matter — except through alpha,
    whose penalty is relative to the total weight, as in scikit-learn (weight 4 acts as four
    copies of a sample: more data, relatively less penalty)."""
    X, y, _ = _data()
    w = np.random.default_rng(0).uniform(0.5, 2.0, size=len(X))
    params = dict(hidden_layer_sizes=(8,), random_state=0, max_iter=5, batch_size="full", alpha=0.0)
    a = MLPRegressor(**params).fit(X, y, sample_weight=w)
    b = MLPRegressor(**params).fit(X, y, sample_weight=4 * w)
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-10)
    with pytest.raises(ValueError, match="weights are zero"):
        MLPRegressor(**params).fit(X, y, sample_weight=np.zeros(len(X)))


def test_multi_output_regression():
    X, y, _ = _data(n=100)
    Y = np.c_[y, 2 * X[:, 3], -X[:, 4]]
    est = MLPRegressor(hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=300,
                       random_state=0).fit(X, Y)
    assert est.n_outputs_ == 3 and est.predict(X).shape == (100, 3)
    assert est.score(X, Y) > 0.9
    single = MLPRegressor(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, y)
    assert single.predict(X).shape == (100,)


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_dtype_follows_input_like_sklearn(Est):
    X, y_reg, y_cls = _data()
    y = y_cls if Est is MLPClassifier else y_reg
    out = "predict_proba" if Est is MLPClassifier else "predict"
    params = dict(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    e32 = Est(**params).fit(X.astype(np.float32), y)
    assert e32.model_.dtype == np.float32 and getattr(e32, out)(X).dtype == np.float32
    e64 = Est(**params).fit(X, y)
    assert e64.model_.dtype == np.float64 and getattr(e64, out)(X).dtype == np.float64
    assert Est(**params).fit(np.round(X * 10).astype(np.int32), y).model_.dtype == np.float64
    # dtype="float32": densekit's fast path whatever the input, converted once.
    forced = Est(dtype="float32", **params).fit(X, y)
    assert forced.model_.dtype == np.float32
    np.testing.assert_array_equal(getattr(forced, out)(X), getattr(e32, out)(X))
    with pytest.raises(ValueError, match="dtype"):  # a warm start keeps the network's dtype
        e64.set_params(warm_start=True, dtype="float32").fit(X, y)


def test_pandas_input_and_feature_names():
    pd = pytest.importorskip("pandas")
    X, _, y = _data()
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    labels = pd.Series(np.array(["a", "b", "c"])[y], name="label")
    est = MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(df, labels)
    assert list(est.feature_names_in_) == list(df.columns)
    assert est.n_features_in_ == 5
    with pytest.warns(UserWarning, match="feature names"):  # scikit-learn's warning
        from_array = est.predict(X)
    np.testing.assert_array_equal(est.predict(df), from_array)
    with pytest.raises(ValueError, match="feature names"):
        est.predict(df[df.columns[::-1]])
    reg = MLPRegressor(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(df, df["f0"] * 2)
    assert list(reg.feature_names_in_) == list(df.columns)


def test_bad_parameters_raise_clearly_at_fit():
    X, y, _ = _data()
    est = MLPRegressor(solver="lbfgs")  # constructing never validates (scikit-learn's rule)
    with pytest.raises(ValueError, match="batch_size='full'"):
        est.fit(X, y)
    for bad, match in (({"solver": "adamm"}, "solver"), ({"hidden_layer_sizes": (3, 0)}, "hidden"),
                       ({"activation": "relux"}, "activation"), ({"batch_size": 0}, "batch_size"),
                       ({"dropout": 1.0}, "dropout"), ({"validation_fraction": 1.0}, "validation"),
                       ({"dtype": "float16"}, "dtype"), ({"max_iter": 0}, "max_iter")):
        with pytest.raises(ValueError, match=match):
            MLPRegressor(**bad).fit(X, y)


def test_densekit_options_build_the_network():
    X, _, y = _data()
    est = MLPClassifier(hidden_layer_sizes=(8, 8), batch_norm=True, dropout=0.2,
                        kernel_initializer="he_normal", solver="nadam", max_iter=3,
                        random_state=0).fit(X, y)
    kinds = [type(l).__name__ for l in est.model_.layers]
    assert kinds == ["Dense", "BatchNormalization", "Activation", "Dropout"] * 2 + ["Dense"]
    assert type(est.model_.optimizer).__name__ == "Nadam"
    assert len(est.coefs_) == 3 and est.coefs_[0].shape == (5, 8)


def test_verbose_prints_sklearns_lines(capsys):
    X, y, _ = _data()
    MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, verbose=True, random_state=0).fit(X, y)
    assert "Iteration 2, loss = " in capsys.readouterr().out


# -- pickling and cloning ------------------------------------------------------------------------
def _joblib_round_trip(obj):
    buf = io.BytesIO()
    joblib.dump(obj, buf)
    buf.seek(0)
    return joblib.load(buf)


@pytest.mark.parametrize("round_trip", [lambda o: pickle.loads(pickle.dumps(o)), copy.deepcopy,
                                        _joblib_round_trip], ids=["pickle", "deepcopy", "joblib"])
def test_estimators_pickle_bit_for_bit_and_resume(round_trip):
    X, y_reg, y_cls = _data()
    for est, y in ((MLPClassifier(hidden_layer_sizes=(8,), dropout=0.1, max_iter=3,
                                  random_state=0), np.array(["x", "y", "z"])[y_cls]),
                   (MLPRegressor(hidden_layer_sizes=(8,), batch_norm=True, max_iter=3,
                                 random_state=0), y_reg)):
        est.fit(X, y)
        copy_ = round_trip(est)
        out = "predict_proba" if hasattr(est, "predict_proba") else "predict"
        np.testing.assert_array_equal(getattr(est, out)(X), getattr(copy_, out)(X))
        assert copy_.loss_curve_ == est.loss_curve_
        est.partial_fit(X, y)  # training resumes exactly (optimizer, step counter, shuffle RNG)
        copy_.partial_fit(X, y)
        assert _same_weights(est, copy_)
        unfitted = round_trip(clone(est))
        assert not hasattr(unfitted, "model_") and unfitted.get_params() == est.get_params()


def test_clone_is_unfitted_with_the_same_parameters():
    X, _, y = _data()
    est = MLPClassifier(hidden_layer_sizes=(5,), class_weight="balanced", max_iter=2).fit(X, y)
    c = clone(est)
    assert c.get_params() == est.get_params()
    assert not hasattr(c, "model_") and not hasattr(c, "classes_")


# -- model selection ---------------------------------------------------------------------------
def test_pipeline_grid_search_and_cross_val_score():
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    X, y = X[:400], y[:400]
    pipe = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(32,), max_iter=30,
                                                         learning_rate_init=1e-2, random_state=0))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.85
    grid = GridSearchCV(pipe, {"mlpclassifier__learning_rate_init": [3e-3, 1e-2],
                               "mlpclassifier__alpha": [1e-4, 1e-1]}, cv=3)
    grid.fit(X, y)
    assert grid.best_score_ > 0.85
    assert grid.best_estimator_.predict(X[:5]).shape == (5,)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a fitted pipeline predicts without warnings
        grid.predict(X[:5])


def test_import_densekit_stays_free_of_sklearn():
    """dk.sklearn, dk.threadpool and dk.integrations load on first use only (attribute access,
    as this file's `import densekit.sklearn` shows works)."""
    import subprocess
    import sys
    code = ("import sys, densekit as dk; heavy = [m for m in ('sklearn', 'threadpoolctl', "
            "'optuna', 'ray', 'densekit.sklearn') if m in sys.modules]; assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    import densekit as dk
    assert dk.sklearn.MLPClassifier is MLPClassifier
