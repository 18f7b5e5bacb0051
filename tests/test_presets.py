"""Presets (dk.presets): the chapter's default-configuration table as model factories.

Checked: the architecture each factory builds (initializer, activation, BN only when deep,
AlphaDropout only when asked, an adapted Normalization first when x is given), the compile
(loss/metrics per task, optimizer), and that fit uses the attached early stopping + 1-cycle
unless told otherwise — and that the result actually learns.
"""

import numpy as np
import pytest

import densekit as dk
from densekit.callbacks import EarlyStopping
from densekit.schedules import OneCycle

pytestmark = pytest.mark.skipif(
    not all(hasattr(dk.layers, n) for n in ("BatchNormalization", "AlphaDropout", "Normalization")),
    reason="the presets need dk.layers.BatchNormalization, AlphaDropout and Normalization")


def data(n=600, features=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, features)) * np.arange(1, features + 1) + 3.0   # not standardized
    z = X[:, 0] / 1.0 - (X[:, 1] - 3.0) / 2.0
    y = (z > 3.0).astype(int) + (z > 4.5)
    return X, y


def kinds(model):
    return [type(l).__name__ for l in model.layers]


def init_name(layer):
    return layer.get_config()["kernel_initializer"]["class_name"]


def test_default_dnn_shallow():
    m = dk.presets.default_dnn(6, 3, hidden=(30, 20), seed=0)
    assert kinds(m) == ["Dense", "Dense", "Dense"]
    for layer in m.layers[:-1]:
        assert layer.activation.name == "elu" and init_name(layer) == "he_normal"
        assert layer.kernel_regularizer.l2 == 1e-4
    assert m.layers[-1].activation.name == "softmax"
    assert m.loss.name == "sparse_categorical_crossentropy" and m.metrics_names == ["loss", "accuracy"]
    assert isinstance(m.optimizer, dk.optimizers.Nadam)
    es, cycle = m.default_callbacks
    assert isinstance(es, EarlyStopping) and es.restore_best_weights and es.monitor == "val_loss"
    assert isinstance(cycle, OneCycle) and cycle.max_lr == 3e-3


def test_default_dnn_deep_uses_batchnorm():
    m = dk.presets.default_dnn(6, 3, hidden=(16,) * 5, deep_threshold=5, seed=0)
    assert kinds(m) == ["Dense", "BatchNormalization", "Activation"] * 5 + ["Dense"]
    assert not m.layers[0].use_bias and m.layers[2].activation.name == "elu"
    assert kinds(dk.presets.default_dnn(6, 3, hidden=(16,) * 4, deep_threshold=5)).count(
        "BatchNormalization") == 0


@pytest.mark.parametrize("task,out,loss,act,metric", [
    ("classification", 3, "sparse_categorical_crossentropy", "softmax", "accuracy"),
    ("classification", 1, "binary_crossentropy", "sigmoid", "accuracy"),
    ("regression", 2, "mse", "linear", "mae"),
])
def test_tasks(task, out, loss, act, metric):
    for factory in (dk.presets.default_dnn, dk.presets.self_normalizing):
        m = factory(4, out, hidden=(8, 8), task=task)
        assert m.loss.name == loss and m.layers[-1].activation.name == act
        assert m.metrics_names == ["loss", metric] and m.output_dim == out


def test_sgd_option_and_max_lr():
    m = dk.presets.default_dnn(4, 2, hidden=(8,), optimizer="sgd")
    assert isinstance(m.optimizer, dk.optimizers.SGD)
    assert m.optimizer.momentum == 0.9 and m.optimizer.get_config()["nesterov"]
    assert m.default_callbacks[1].max_lr == 3e-2
    m = dk.presets.default_dnn(4, 2, hidden=(8,), max_lr=0.5, one_cycle=False)
    assert len(m.default_callbacks) == 1


def test_self_normalizing_architecture():
    X, _ = data()
    m = dk.presets.self_normalizing(6, 3, hidden=(16,) * 4, x=X, dropout=0.1, dropout_layers=2)
    assert kinds(m) == ["Normalization", "Dense", "Dense", "Dense", "AlphaDropout", "Dense",
                        "AlphaDropout", "Dense"]
    hidden = [l for l in m.layers[:-1] if isinstance(l, dk.layers.Dense)]
    assert len(hidden) == 4
    for layer in hidden:
        assert layer.activation.name == "selu" and init_name(layer) == "lecun_normal"
    mean, var = m.layers[0].get_weights()
    np.testing.assert_allclose(mean, X.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(var, X.var(axis=0), rtol=1e-5)
    assert "AlphaDropout" not in kinds(dk.presets.self_normalizing(6, 3, hidden=(16,) * 4))
    assert "BatchNormalization" not in kinds(m)


@pytest.mark.parametrize("bad,match", [
    (dict(hidden=()), "hidden"), (dict(task="ranking"), "task"), (dict(optimizer="adagrad"), "optimizer"),
])
def test_bad_arguments(bad, match):
    kwargs = dict(input_dim=4, output_dim=2, **bad)
    with pytest.raises(ValueError, match=match):
        dk.presets.default_dnn(**kwargs)


@pytest.mark.parametrize("factory", [dk.presets.default_dnn, dk.presets.self_normalizing],
                         ids=["default_dnn", "self_normalizing"])
def test_fit_uses_default_callbacks_and_learns(factory):
    X, y = data()
    Xv, yv = data(n=300, seed=1)
    m = factory(6, 3, hidden=(32, 32), x=X, seed=0)
    h = m.fit(X, y, epochs=12, batch_size=32, validation_data=(Xv, yv), verbose=0)
    lr = h.history["learning_rate"]                      # OneCycle logs its rate
    assert max(lr) > lr[0] and lr[-1] == pytest.approx(m.default_callbacks[1].max_lr / 1e4)
    assert m.evaluate(Xv, yv)[1] > 0.85
    # callbacks=[] turns them off
    h = m.fit(X, y, epochs=1, verbose=0, callbacks=[])
    assert "learning_rate" not in h.history
