"""Sequential through pickle, joblib and copy.deepcopy: unbuilt, built, compiled or not, trained
or not — bit-identical predictions, and training that continues exactly as the original's."""

import copy
import io
import pickle
import warnings

import numpy as np
import pytest

import densekit as dk


def _pickle(obj):
    return pickle.loads(pickle.dumps(obj))


def _joblib(obj):
    joblib = pytest.importorskip("joblib")
    buf = io.BytesIO()
    joblib.dump(obj, buf)
    buf.seek(0)
    return joblib.load(buf)


ROUND_TRIPS = pytest.mark.parametrize("round_trip", [_pickle, copy.deepcopy, _joblib],
                                      ids=["pickle", "deepcopy", "joblib"])


def _data(n=96, d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    return X, (X[:, 0] + X[:, 1] > 0).astype(np.int64)


def _layers(with_input=True):
    # Dropout and BN: the copy must carry the step counter (dropout masks) and BN statistics.
    head = [dk.layers.Input(6)] if with_input else []
    return head + [dk.layers.Dense(16, use_bias=False), dk.layers.BatchNormalization(),
                   dk.layers.Activation("elu"), dk.layers.Dropout(0.2),
                   dk.layers.Dense(2, activation="softmax")]


def _compile(model):
    model.compile(optimizer=dk.optimizers.Nadam(learning_rate=1e-2),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _weights_equal(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))


@ROUND_TRIPS
def test_trained_model_round_trips_and_resumes(round_trip):
    X, y = _data()
    model = _compile(dk.Sequential(_layers(), seed=7))
    model.fit(X, y, epochs=2, batch_size=16, verbose=0)
    clone = round_trip(model)
    assert clone is not model and clone.layers[0] is not model.layers[0]
    np.testing.assert_array_equal(clone.predict(X), model.predict(X))
    assert clone.history.history == model.history.history
    # One more epoch each (shuffling, dropout masks, Nadam's state): the same weights, bit for bit.
    model.fit(X, y, epochs=1, batch_size=16, verbose=0)
    clone.fit(X, y, epochs=1, batch_size=16, verbose=0)
    assert _weights_equal(model, clone)
    mean_a, _ = model.predict_mc(X, samples=3)
    mean_b, _ = clone.predict_mc(X, samples=3)
    np.testing.assert_array_equal(mean_a, mean_b)


@ROUND_TRIPS
def test_built_uncompiled_model_round_trips(round_trip):
    X, _ = _data()
    model = dk.Sequential(_layers(), seed=1, dtype="float64")
    clone = round_trip(model)
    assert clone.built and clone.optimizer is None and clone.dtype == np.float64
    np.testing.assert_array_equal(clone.predict(X), model.predict(X))


@ROUND_TRIPS
@pytest.mark.parametrize("compiled", [False, True])
def test_unbuilt_model_round_trips_through_its_config(round_trip, compiled):
    X, y = _data()
    model = dk.Sequential(_layers(with_input=False), seed=5, name="unbuilt")
    if compiled:
        _compile(model)
    clone = round_trip(model)
    assert not clone.built and clone.name == "unbuilt" and clone.seed == 5
    assert [type(l) for l in clone.layers] == [type(l) for l in model.layers]
    assert (clone.optimizer is None) == (not compiled)
    if compiled:  # both build on first fit, from the same seed: identical training
        model.fit(X, y, epochs=1, verbose=0)
        clone.fit(X, y, epochs=1, verbose=0)
        assert _weights_equal(model, clone)


def test_compiled_untrained_model_round_trips():
    X, y = _data()
    model = _compile(dk.Sequential(_layers(), seed=2))
    clone = _pickle(model)
    model.fit(X, y, epochs=1, verbose=0)
    clone.fit(X, y, epochs=1, verbose=0)
    assert _weights_equal(model, clone)


@pytest.mark.parametrize("round_trip", [_pickle, copy.deepcopy], ids=["pickle", "deepcopy"])
def test_layers_shared_between_models_come_back_as_copies_with_a_warning(round_trip):
    """Documented: each pickled model carries its own layers (as two saved files would); the
    values are equal, the sharing is not kept — and unpickling says so."""
    base = dk.Sequential([dk.layers.Input(6), dk.layers.Dense(4, activation="relu")], seed=0,
                         name="base")
    head = dk.Sequential(base.layers + [dk.layers.Dense(1)], seed=1, name="head")
    with pytest.warns(UserWarning, match="shared with model 'base'"):
        base2, head2 = round_trip([base, head])
    assert head2.layers[0] is not base2.layers[0]
    np.testing.assert_array_equal(head2.layers[0].kernel, base2.layers[0].kernel)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one model at a time: nothing to warn about
        _pickle(base)
        _pickle(head)


def test_unpicklable_state_fails_clearly():
    bad = {"densekit_pickle": 999}
    model = dk.Sequential(seed=0)
    with pytest.raises(ValueError, match="pickled state"):
        model.__setstate__(bad)
