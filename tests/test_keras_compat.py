"""Keras code ports by changing the import (SPEC §3 "Keras compatibility", issue 12).

One test (or one parametrized table) per idiom: each Keras spelling either works — and computes
what Keras computes, checked against an independent value — or raises an error naming the
densekit way. The silent-wrong cases come first: each is now correct or a clear error.
"""

import math

import numpy as np
import pytest

import densekit as dk
import reference as ref

L = dk.layers


def blobs(n=64, features=5, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 2.0, (classes, features))
    y = rng.integers(0, classes, n)
    return (centers[y] + rng.normal(size=(n, features))).astype(np.float32), y


def small_model(seed=0, dropout=0.0, **compile_kwargs):
    layers = [L.Input(shape=(5,)), L.Dense(8, activation="relu")]
    if dropout:
        layers.append(L.Dropout(dropout))
    model = dk.Sequential(layers + [L.Dense(3, activation="softmax")], seed=seed)
    model.compile(optimizer=compile_kwargs.pop("optimizer", "sgd"),
                  loss="sparse_categorical_crossentropy", **compile_kwargs)
    return model


# =============================================================================================
# Silent wrong results, now correct or refused
# =============================================================================================
class PerBatchDecay(dk.callbacks.Callback):
    """A per-batch learning-rate decay written the Keras way, with on_batch_end."""

    def __init__(self, factor):
        super().__init__()
        self.factor, self.begins, self.ends = factor, [], []

    def on_batch_begin(self, batch, logs=None):
        self.begins.append(batch)

    def on_batch_end(self, batch, logs=None):
        self.ends.append((batch, dict(logs)))
        self.model.optimizer.learning_rate = self.model.optimizer.learning_rate * self.factor


def test_on_batch_hooks_are_the_train_batch_hooks():
    X, y = blobs(64)
    model = small_model(optimizer=dk.optimizers.SGD(0.1))
    cb = PerBatchDecay(0.5)
    model.fit(X, y, batch_size=16, epochs=2, verbose=0, callbacks=[cb])
    assert cb.begins == [0, 1, 2, 3] * 2
    assert [b for b, _ in cb.ends] == [0, 1, 2, 3] * 2
    assert all("loss" in logs for _, logs in cb.ends)
    # 8 batches, each halving the rate after its step: the decay really reached the optimizer.
    assert model.optimizer.learning_rate == pytest.approx(0.1 * 0.5 ** 8)


def test_on_batch_decay_changes_the_trajectory_as_written():
    """The decaying callback's run equals a run whose rates are set by hand between steps."""
    X, y = blobs(32)
    decayed = small_model(optimizer=dk.optimizers.SGD(0.2))
    decayed.fit(X, y, batch_size=16, epochs=1, shuffle=False, verbose=0, callbacks=[PerBatchDecay(0.5)])
    manual = small_model(optimizer=dk.optimizers.SGD(0.2))
    for start, lr in ((0, 0.2), (16, 0.1)):
        manual.optimizer.learning_rate = lr
        manual.train_on_batch(X[start:start + 16], y[start:start + 16])
    for a, b in zip(decayed.get_weights(), manual.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("hook,suggestion", [("on_epoch_ends", "on_epoch_end"),
                                             ("on_train_epoch_end", "on_epoch_end"),
                                             ("on_batch_start", "on_batch_begin"),
                                             ("on_step_end", None)])
def test_a_hook_densekit_never_calls_is_refused(hook, suggestion):
    cls = type("Misspelt", (dk.callbacks.Callback,), {hook: lambda self, *a, **k: None})
    X, y = blobs()
    model = small_model()
    with pytest.raises(TypeError, match=rf"Misspelt\.{hook} is not a callback hook") as e:
        model.fit(X, y, epochs=1, verbose=0, callbacks=[cls()])
    if suggestion:
        assert f"did you mean {suggestion}" in str(e.value)
    with pytest.raises(TypeError, match="not a callback hook"):
        model.evaluate(X, y, callbacks=[cls()])
    with pytest.raises(TypeError, match="not a callback hook"):
        model.predict(X, callbacks=[cls()])


def test_an_object_that_is_not_a_callback_is_refused():
    class KerasLike:
        def on_epoch_end(self, epoch, logs=None):
            pass

    X, y = blobs()
    with pytest.raises(TypeError, match="dk.callbacks.Callback instances"):
        small_model().fit(X, y, epochs=1, verbose=0, callbacks=[KerasLike()])


class Recorder(dk.callbacks.Callback):
    """Records every hook call with its first argument."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def _rec(name):
        def hook(self, *args, logs=None):
            self.calls.append((name,) + args + ((dict(logs),) if logs else ()))
        return hook

    for _name in dk.callbacks.HOOKS:
        if _name not in ("on_batch_begin", "on_batch_end"):
            locals()[_name] = _rec(_name)
    del _name


def test_every_keras_hook_is_called_by_fit_evaluate_and_predict():
    X, y = blobs(40)
    model = small_model(metrics=["accuracy"])
    rec = Recorder()
    model.fit(X, y, batch_size=16, epochs=1, verbose=0, validation_data=(X[:20], y[:20]),
              callbacks=[rec])
    names = [c[0] for c in rec.calls]
    assert names == ["on_train_begin", "on_epoch_begin",
                     "on_train_batch_begin", "on_train_batch_end",
                     "on_train_batch_begin", "on_train_batch_end",
                     "on_train_batch_begin", "on_train_batch_end",
                     "on_test_begin", "on_test_batch_begin", "on_test_batch_end",
                     "on_test_batch_begin", "on_test_batch_end", "on_test_end",
                     "on_epoch_end", "on_train_end"]
    rec.calls.clear()
    results = model.evaluate(X, y, batch_size=16, callbacks=[rec], return_dict=True)
    assert [c[0] for c in rec.calls] == (["on_test_begin"]
                                         + ["on_test_batch_begin", "on_test_batch_end"] * 3
                                         + ["on_test_end"])
    last_batch_logs = rec.calls[-2][2]
    # The running logs of the last batch are the whole evaluation's.
    assert last_batch_logs["loss"] == pytest.approx(results["loss"], rel=1e-6)
    assert results == pytest.approx(model.evaluate(X, y, return_dict=True), rel=1e-6)
    rec.calls.clear()
    out = model.predict(X, batch_size=16, callbacks=[rec])
    assert [c[0] for c in rec.calls] == (["on_predict_begin"]
                                         + ["on_predict_batch_begin", "on_predict_batch_end"] * 3
                                         + ["on_predict_end"])
    np.testing.assert_array_equal(np.vstack([c[2]["outputs"] for c in rec.calls
                                             if c[0] == "on_predict_batch_end"]), out)
    # Batched as the hooks need: the same outputs up to float32 rounding (the core's float32
    # inference is not yet bit-identical across batch sizes; float64 is).
    np.testing.assert_allclose(out, model.predict(X), rtol=1e-6, atol=1e-7)


def test_call_override_is_refused_with_the_densekit_way():
    with pytest.raises(TypeError, match=r"MCDropout\.call\(\).*predict_mc.*training=True"):
        class MCDropout(L.Dropout):  # the chapter's recipe
            def call(self, inputs):
                return super().call(inputs, training=True)


def test_call_attached_to_an_instance_is_refused_by_the_model():
    layer = L.Dropout(0.5)
    layer.call = lambda x: x
    with pytest.raises(TypeError, match=r"call\(\).*predict_mc"):
        dk.Sequential([L.Input(3), layer])


def test_layer_is_not_callable_functional_api():
    with pytest.raises(TypeError, match="functional API"):
        L.Dense(3)(np.zeros((1, 2)))


@pytest.mark.parametrize("make,slope", [
    (lambda: L.LeakyReLU(), 0.01),                      # densekit's default (PyTorch, chapter)
    (lambda: L.LeakyReLU(0.2), 0.2),                    # positional: the slope, as in Keras
    (lambda: L.LeakyReLU(negative_slope=0.2), 0.2),     # Keras 3
    (lambda: L.LeakyReLU(alpha=0.3), 0.3),              # tf.keras 2
    (lambda: L.ReLU(negative_slope=0.1), 0.1),          # Keras's ReLU argument
])
def test_leaky_relu_slope(make, slope):
    model = dk.Sequential([L.Input(1), make()], dtype="float64")
    z = np.array([[-2.0], [3.0]])
    np.testing.assert_allclose(model.predict(z), ref.activation_forward("leaky_relu", z, alpha=slope))


def test_leaky_relu_refuses_two_slopes_and_bad_values():
    with pytest.raises(TypeError, match="not both"):
        L.LeakyReLU(0.2, alpha=0.3)
    with pytest.raises(ValueError, match="slope"):
        L.LeakyReLU(-1.0)
    with pytest.raises(TypeError, match="name must be a str"):
        L.Dense(3, name=0.2)


def test_leaky_relu_default_is_documented_against_keras():
    doc = L.LeakyReLU.__doc__
    assert "0.01" in doc and "0.3" in doc and "0.2" in doc


def test_elu_and_prelu_keras_arguments():
    z = np.array([[-1.5, 2.0]])
    elu = dk.Sequential([L.Input(2), L.ELU(0.5)], dtype="float64")   # positional α
    np.testing.assert_allclose(elu.predict(z), ref.activation_forward("elu", z, alpha=0.5))
    keras_start = dk.Sequential([L.Input(2), L.PReLU("zeros")])       # Keras's alpha_initializer
    np.testing.assert_array_equal(keras_start.layers[0].alpha, 0.0)
    assert np.all(dk.Sequential([L.Input(2), L.PReLU()]).layers[0].alpha == np.float32(0.25))
    constrained = dk.Sequential([L.Input(2), L.PReLU(alpha_initializer=dk.initializers.Constant(5.0),
                                                     alpha_constraint=dk.constraints.MaxNorm(1.0))])
    constrained.compile("sgd", "mse")
    constrained.train_on_batch(z.astype(np.float32), np.zeros((1, 2), np.float32))
    # MaxNorm on a (1, units) α: each unit's α alone is a column, so |α_j| <= 1.
    assert np.abs(constrained.layers[0].alpha).max() <= 1.0 + 1e-6
    with pytest.raises(ValueError, match="shared_axes"):
        L.PReLU(shared_axes=[1])
    with pytest.raises(ValueError, match="relu6"):
        L.ReLU(max_value=4.0)


def test_relu_max_value_6_is_relu6_and_survives_saving(tmp_path):
    model = dk.Sequential([L.Input(1), L.ReLU(max_value=6.0)], dtype="float64")
    z = np.array([[-1.0], [3.0], [9.0]])
    np.testing.assert_array_equal(model.predict(z), [[0.0], [3.0], [6.0]])
    model.save(tmp_path / "m.dk")
    np.testing.assert_array_equal(dk.load_model(tmp_path / "m.dk").predict(z), [[0.0], [3.0], [6.0]])


# =============================================================================================
# Keras idioms that work
# =============================================================================================
def test_chapter_mnist_model_with_flatten_input_shape(tmp_path):
    """keras.layers.Flatten(input_shape=[28, 28]) then Dense layers, fit on (n, 28, 28) images."""
    rng = np.random.default_rng(0)
    X = rng.random((48, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, 48)
    model = dk.models.Sequential([
        L.Flatten(input_shape=[28, 28]),
        L.Dense(30, activation="relu"),
        L.Dense(10, activation="softmax"),
    ], seed=1)
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    model.fit(X, y, epochs=1, verbose=0, validation_data=(X[:8], y[:8]))
    assert model.input_shape == (28, 28) and model.input_dim == 784
    flat = X.reshape(48, 784)
    np.testing.assert_array_equal(model.predict(X), model.predict(flat))
    np.testing.assert_array_equal(model.evaluate(X, y), model.evaluate(flat, y))
    with pytest.raises(ValueError, match=r"samples of shape \(28, 28\)"):
        model.predict(X[:, :27, :])
    model.save(tmp_path / "m.dk")
    loaded = dk.models.load_model(tmp_path / "m.dk")
    assert loaded.input_shape == (28, 28)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    clone = dk.models.clone_model(model)
    assert clone.input_shape == (28, 28)


def test_input_shape_then_flatten_and_a_missing_flatten():
    model = dk.Sequential([L.Input(shape=(4, 3)), L.Flatten(), L.Dense(2)])
    assert model.predict(np.ones((5, 4, 3), np.float32)).shape == (5, 2)
    with pytest.raises(ValueError, match="must be dk.layers.Flatten"):
        dk.Sequential([L.Input(shape=(4, 3)), L.Dense(2)])


@pytest.mark.parametrize("first", [
    lambda: [L.Input(shape=(5,))],
    lambda: [L.Input(shape=[5])],
    lambda: [L.Input(5)],
    lambda: [L.Input(batch_shape=(None, 5))],
    lambda: [L.InputLayer(shape=(5,))],
    lambda: [dk.Input(shape=(5,))],
], ids=["tuple", "list", "int", "batch_shape", "InputLayer", "keras.Input"])
def test_input_spellings(first):
    model = dk.Sequential(first() + [L.Dense(3)])
    assert model.input_dim == 5 and model.built


@pytest.mark.parametrize("kwargs", [{"input_shape": (5,)}, {"input_shape": [5]}, {"input_dim": 5},
                                    {"batch_input_shape": (None, 5)}])
def test_dense_input_shape(kwargs):
    model = dk.Sequential([L.Dense(4, activation="relu", **kwargs), L.Dense(2)])
    assert model.input_dim == 5 and model.built


def test_declared_input_shape_that_does_not_fit_is_refused():
    with pytest.raises(ValueError, match=r"declares input_shape=\(7,\)"):
        dk.Sequential([L.Input(5), L.Dense(4), L.Dense(2, input_shape=(7,))])


def test_models_namespace(tmp_path):
    model = dk.models.Sequential([L.Input(5), L.Dense(3)], seed=3)
    dk.models.save_model(model, tmp_path / "m.dk")
    loaded = dk.models.load_model(tmp_path / "m.dk")
    np.testing.assert_array_equal(loaded.get_weights()[0], model.get_weights()[0])
    clone = dk.models.clone_model(model)
    assert clone.get_config()["layers"] == model.get_config()["layers"]
    assert dk.clone_model is dk.models.clone_model and dk.cloning.clone_model is dk.models.clone_model


# -- schedules ---------------------------------------------------------------------------------
S = dk.optimizers.schedules
T = np.arange(0, 40, dtype=np.float64)


@pytest.mark.parametrize("schedule,expected", [
    (S.ExponentialDecay(0.1, 10, 0.5), 0.1 * 0.5 ** (T / 10)),
    (S.ExponentialDecay(0.1, 10, 0.5, True), 0.1 * 0.5 ** np.floor(T / 10)),
    (S.ExponentialDecay(0.1, 10, 0.5, staircase=True), 0.1 * 0.5 ** np.floor(T / 10)),
    (S.InverseTimeDecay(0.1, 10, 0.5), 0.1 / (1 + 0.5 * T / 10)),
    (S.InverseTimeDecay(0.1, 10, 0.5, staircase=True), 0.1 / (1 + 0.5 * np.floor(T / 10))),
    (S.PolynomialDecay(0.1, 20, 0.01, power=2.0),
     (0.1 - 0.01) * (1 - np.minimum(T, 20) / 20) ** 2 + 0.01),
    (S.PolynomialDecay(0.1, 20, 0.01, cycle=True),
     (0.1 - 0.01) * (1 - T / (20 * np.maximum(1, np.ceil(T / 20)))) + 0.01),
    (S.CosineDecay(0.1, 20, alpha=0.1),
     0.1 * (0.9 * 0.5 * (1 + np.cos(np.pi * np.minimum(T, 20) / 20)) + 0.1)),
    (S.CosineDecay(0.0, 20, warmup_target=0.1, warmup_steps=10),
     np.where(T < 10, 0.1 * T / 10, 0.1 * 0.5 * (1 + np.cos(np.pi * np.minimum(T - 10, 20) / 20)))),
], ids=["exp", "exp-staircase-positional", "exp-staircase", "inverse-time",
        "inverse-time-staircase", "polynomial", "polynomial-cycle", "cosine", "cosine-warmup"])
def test_keras_schedules(schedule, expected):
    np.testing.assert_allclose(schedule.values(T), expected, rtol=1e-14, atol=1e-17)
    assert [schedule(t) for t in (0, 7, 25)] == pytest.approx(expected[[0, 7, 25]], rel=1e-14)


def test_piecewise_constant_boundaries_keras_and_densekit():
    keras_rule = S.PiecewiseConstantDecay([5, 10], [1.0, 0.5, 0.1])
    densekit_rule = dk.schedules.PiecewiseConstant([5, 10], [1.0, 0.5, 0.1])
    t = np.array([0, 4, 5, 6, 10, 11], dtype=np.float64)
    # Keras: t <= boundary keeps the old value; densekit's: a boundary starts the new one.
    np.testing.assert_array_equal(keras_rule.values(t), [1.0, 1.0, 1.0, 0.5, 0.5, 0.1])
    np.testing.assert_array_equal(densekit_rule.values(t), [1.0, 1.0, 0.5, 0.5, 0.1, 0.1])


def test_keras_schedule_drives_training_and_is_logged():
    X, y = blobs(64)
    schedule = S.ExponentialDecay(0.1, decay_steps=4, decay_rate=0.5, staircase=True)
    model = small_model(optimizer=dk.optimizers.SGD(learning_rate=schedule))
    h = model.fit(X, y, batch_size=16, epochs=3, verbose=0)
    # 4 steps per epoch: the last step of epoch e is t = 4e + 3, rate 0.1·0.5^e.
    assert h.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.025])
    assert h.history["lr"] == h.history["learning_rate"]


def test_keras_style_schedule_subclass_with_only_call():
    class Halving(dk.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            return 0.1 / 2 ** (step // 4)

        def get_config(self):
            return {}

    X, y = blobs(64)
    model = small_model(optimizer=dk.optimizers.SGD(learning_rate=Halving()))
    h = model.fit(X, y, batch_size=16, epochs=2, verbose=0)
    assert h.history["learning_rate"] == pytest.approx([0.1, 0.05])


def test_history_without_a_changing_rate_explains_missing_lr():
    X, y = blobs()
    h = small_model().fit(X, y, epochs=1, verbose=0)
    with pytest.raises(KeyError, match="learning rate is recorded"):
        h.history["lr"]


def test_reduce_lr_on_plateau_logs_lr_and_learning_rate():
    """As Keras: each epoch logs the rate it trained with, then the callback may cut it."""
    X, y = blobs()
    model = small_model()
    h = model.fit(X, y, epochs=3, verbose=0, validation_data=(X, y),
                  callbacks=[dk.callbacks.ReduceLROnPlateau(patience=0, min_delta=10.0)])
    assert h.history["lr"] == h.history["learning_rate"] == pytest.approx([0.01, 0.01, 0.001])
    assert model.optimizer.learning_rate == pytest.approx(1e-4)


# -- regularizers, constraints, initializers ----------------------------------------------------
def test_constraints_and_regularizers_keras_names():
    assert dk.constraints.max_norm is dk.constraints.MaxNorm
    assert isinstance(dk.constraints.get("max_norm"), dk.constraints.MaxNorm)
    w = np.array([[1.0, -2.0], [0.5, 3.0]])
    R = dk.regularizers
    assert R.L1(0.1)(w) == pytest.approx(0.1 * np.abs(w).sum())
    assert R.L2(0.1)(w) == pytest.approx(0.1 * (w ** 2).sum())
    assert R.L1L2(l1=0.1, l2=0.2)(w) == pytest.approx(0.1 * np.abs(w).sum() + 0.2 * (w ** 2).sum())
    assert R.L2().l2 == 0.01 and R.L1L2().l1 == 0.0
    model = dk.Sequential([L.Input(2), L.Dense(2, kernel_regularizer=R.L2(0.1),
                                               kernel_constraint=dk.constraints.max_norm(2.0))])
    assert model.penalty() == pytest.approx(0.1 * float((model.layers[0].kernel.astype(np.float64) ** 2).sum()), rel=1e-6)


@pytest.mark.parametrize("init,mean,std", [
    (dk.initializers.RandomNormal(mean=0.5, stddev=0.2), 0.5, 0.2),
    (dk.initializers.RandomUniform(minval=-0.3, maxval=0.1), -0.1, 0.4 / math.sqrt(12)),
    # Keras's TruncatedNormal cuts at 2 stddev without rescaling: the values' std is 0.87962…·σ.
    (dk.initializers.TruncatedNormal(mean=1.0, stddev=0.1), 1.0, 0.1 * 0.87962566103423978),
])
def test_keras_random_initializers(init, mean, std):
    w = np.empty((400, 500))
    dk.initializers.fill(init, w, 7)
    assert w.mean() == pytest.approx(mean, abs=4 * std / math.sqrt(w.size))
    assert w.std() == pytest.approx(std, rel=0.01)
    if isinstance(init, dk.initializers.RandomUniform):
        assert w.min() >= -0.3 and w.max() <= 0.1
    if isinstance(init, dk.initializers.TruncatedNormal):
        assert np.abs(w - 1.0).max() <= 0.2


def test_identity_orthogonal_and_seeded_initializers():
    model = dk.Sequential([L.Input(3), L.Dense(4, kernel_initializer=dk.initializers.Identity(2.0)),
                           L.Dense(4, kernel_initializer="orthogonal")], dtype="float64")
    np.testing.assert_array_equal(model.layers[0].kernel, 2.0 * np.eye(3, 4))
    q = model.layers[1].kernel
    np.testing.assert_allclose(q.T @ q, np.eye(4), atol=1e-12)
    seeded = lambda: dk.Sequential([L.Input(3), L.Dense(4, kernel_initializer=dk.initializers.GlorotUniform(seed=5))],
                                   seed=None)
    np.testing.assert_array_equal(seeded().layers[0].kernel, seeded().layers[0].kernel)
    assert isinstance(dk.initializers.get("RandomNormal"), dk.initializers.RandomNormal)


# -- seeds -------------------------------------------------------------------------------------
def test_set_random_seed_is_the_default_model_seed():
    def script():
        dk.utils.set_random_seed(42)
        first = dk.Sequential([L.Input(3), L.Dense(4), L.Dropout(0.5), L.Dense(2)])
        second = dk.Sequential([L.Input(3), L.Dense(4), L.Dropout(0.5), L.Dense(2)])
        return first, second, np.random.rand(), __import__("random").random()

    a1, a2, np_a, py_a = script()
    b1, b2, np_b, py_b = script()
    np.testing.assert_array_equal(a1.get_weights()[0], b1.get_weights()[0])
    np.testing.assert_array_equal(a2.get_weights()[0], b2.get_weights()[0])
    assert not np.array_equal(a1.get_weights()[0], a2.get_weights()[0])
    assert a1.seed == b1.seed and (np_a, py_a) == (np_b, py_b)
    x = np.ones((4, 3), np.float32)
    np.testing.assert_array_equal(a1(x, training=True), b1(x, training=True))
    assert dk.Sequential([L.Input(3)], seed=7).seed == 7  # an explicit seed wins


def test_dropout_seed_argument_keys_the_masks():
    """Dropout(seed=3) draws its training masks from its own seed, whatever the model's seed."""
    x = np.ones((8, 6), np.float32)
    grads = []
    for model_seed in (1, 2):
        model = dk.Sequential([L.Input(6), L.Dropout(0.5, seed=3),
                               L.Dense(1, kernel_initializer="ones")], seed=model_seed)
        model.compile("sgd", "mse")
        model.compute_gradients(x, np.zeros((8, 1), np.float32))
        grads.append(model.layers[1].gradient("kernel").copy())
    np.testing.assert_array_equal(grads[0], grads[1])
    assert len(set(grads[0].ravel().tolist())) > 1      # the masks did drop units
    with pytest.raises(ValueError, match="noise_shape"):
        L.Dropout(0.5, noise_shape=(1, 6))


# -- the model's Keras methods -------------------------------------------------------------------
def test_optimizer_learning_rate_is_readable_and_assignable():
    X, y = blobs(16)
    model = small_model(optimizer=dk.optimizers.SGD(0.1))
    assert model.optimizer.learning_rate == pytest.approx(0.1)
    model.optimizer.learning_rate = 0.0
    before = model.get_weights()
    model.train_on_batch(X, y)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)  # the assigned rate is the one the step used
    with pytest.raises(AttributeError, match="learning_rate"):
        model.optimizer.lr = 0.1
    with pytest.raises(AttributeError, match="learning_rate"):
        model.optimizer.lr


def test_model_call_training_true_is_one_dropout_pass():
    x = np.ones((200, 5), np.float32)
    model = dk.Sequential([L.Input(5), L.Dense(50, activation="relu"), L.Dropout(0.5),
                           L.Dense(2)], seed=0)
    plain = model.predict(x)
    np.testing.assert_array_equal(model(x), plain)
    np.testing.assert_array_equal(model(x, training=False), plain)
    sample = model(x, training=True)
    assert sample.shape == plain.shape and not np.allclose(sample, plain)
    # Averaged, the stochastic passes approach the inference output (inverted dropout).
    mean, _ = model.predict_mc(x, samples=400)
    assert np.abs(mean - plain).max() < 0.1 * np.abs(plain).max()
    with pytest.raises(TypeError, match="bool"):
        model(x, training="yes")


def test_model_call_training_true_keeps_batchnorm_in_inference_mode():
    x = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
    model = dk.Sequential([L.Input(4), L.Dense(4), L.BatchNormalization(), L.Dense(2)], seed=0)
    model.layers[1].moving_mean[...] = 3.0   # far from the batch statistics
    np.testing.assert_array_equal(model(x, training=True), model.predict(x))


def test_predict_mc_return_samples():
    x = np.ones((6, 5), np.float32)
    model = dk.Sequential([L.Input(5), L.Dense(20, activation="relu"), L.Dropout(0.3), L.Dense(2)],
                          seed=0)
    mean, std, samples = model.predict_mc(x, samples=30, return_samples=True, seed=4)
    assert samples.shape == (30, 6, 2) and samples.dtype == np.float32
    np.testing.assert_allclose(mean, samples.astype(np.float64).mean(axis=0), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(std, samples.astype(np.float64).std(axis=0), rtol=1e-5, atol=1e-6)
    again = model.predict_mc(x, samples=30, return_samples=True, seed=4)
    np.testing.assert_array_equal(again[2], samples)
    assert len({s.tobytes() for s in samples}) == 30


def test_get_layer_and_layer_names():
    model = dk.Sequential([L.Input(3), L.Dense(4, name="hidden"), L.Dense(2, name="out")])
    assert model.get_layer("hidden") is model.layers[0]
    assert model.get_layer(index=1) is model.layers[1]
    with pytest.raises(ValueError, match="no layer named 'nope'.*hidden"):
        model.get_layer("nope")
    assert L.LeakyReLU().name.startswith("leaky_re_lu")  # Keras's automatic names


@pytest.mark.parametrize("metric,loss,targets", [
    ("sparse_categorical_accuracy", "sparse_categorical_crossentropy", "ids"),
    ("categorical_accuracy", "categorical_crossentropy", "onehot"),
    ("binary_accuracy", "binary_crossentropy", "binary"),
])
def test_keras_accuracy_metric_names(metric, loss, targets):
    X, y = blobs(40)
    Y = {"ids": y, "onehot": dk.utils.to_categorical(y, 3),
         "binary": (y == 0).astype(np.float32).reshape(-1, 1)}[targets]
    units, act = (1, "sigmoid") if targets == "binary" else (3, "softmax")
    model = dk.Sequential([L.Input(5), L.Dense(units, activation=act)], seed=0)
    model.compile("adam", loss, metrics=[metric])
    h = model.fit(X, Y, epochs=1, verbose=0, validation_data=(X, Y))
    assert set(h.history) == {"loss", metric, "val_loss", "val_" + metric}
    result = model.evaluate(X, Y, return_dict=True)
    model.compile("adam", loss, metrics=["accuracy"])
    assert result[metric] == model.evaluate(X, Y, return_dict=True)["accuracy"]
    other = "categorical_accuracy" if metric != "categorical_accuracy" else "binary_accuracy"
    with pytest.raises(ValueError, match="labels of the"):
        model.compile("adam", loss, metrics=[other])


def test_activations_as_module_attributes_and_functions_refused():
    model = dk.Sequential([L.Input(2), L.Dense(3, activation=dk.activations.selu)])
    assert model.layers[0].activation.name == "selu"
    with pytest.raises(TypeError, match="Python functions"):
        L.Dense(3, activation=lambda x: x)


# =============================================================================================
# Unknown keyword arguments: TypeError at construction, naming the argument and the way
# =============================================================================================
@pytest.mark.parametrize("make,argument,way", [
    (lambda: dk.optimizers.SGD(lr=0.1), "lr", "learning_rate="),
    (lambda: dk.optimizers.Adam(lr=0.1), "lr", "learning_rate="),
    (lambda: dk.optimizers.SGD(decay=1e-4), "decay", "InverseTimeDecay"),
    (lambda: dk.optimizers.Adam(weight_decay=1e-4), "weight_decay", "AdamW"),
    (lambda: dk.optimizers.Nadam(amsgrad=True), "amsgrad", "only Adam and AdamW"),
    (lambda: dk.optimizers.RMSprop(foo=1), "foo", "clipnorm"),
    (lambda: L.Dense(3, activity_regularizer="l2"), "activity_regularizer", "kernel_regularizer="),
    (lambda: L.Dense(3, dtype="float64"), "dtype", "Sequential(..., dtype="),
    (lambda: L.BatchNormalization(renorm=True), "renorm", "name"),
    (lambda: L.Input(shape=(3,), sparse=True), "sparse", "dense NumPy arrays"),
    (lambda: small_model().fit(*blobs(), steps_per_epoch=3, verbose=0), "steps_per_epoch", "ceil"),
    (lambda: small_model().fit(*blobs(), workers=4, verbose=0), "workers", "set_num_threads"),
    (lambda: small_model(run_eagerly=True), "run_eagerly", "compiled C++"),
    (lambda: small_model().evaluate(*blobs(), steps=2), "steps", "ceil"),
    (lambda: small_model().predict(blobs()[0], steps=2), "steps", "ceil"),
    (lambda: dk.callbacks.ModelCheckpoint("m.dk", save_weights_only=True), "save_weights_only",
     "get_weights"),
])
def test_unknown_keyword_arguments_name_the_densekit_way(make, argument, way):
    with pytest.raises(TypeError, match=rf"unexpected keyword argument '{argument}'") as e:
        make()
    assert way in str(e.value)


def test_optimizer_typo_fails_at_construction_not_at_compile():
    """Before: SGD(lr=...) was accepted and failed at compile with an AttributeError from the
    compiled module."""
    with pytest.raises(TypeError):
        dk.optimizers.SGD(lr=0.1)


# =============================================================================================
# TensorBoard: real event files, read back with a real reader
# =============================================================================================
def _read_scalars(run_dir):
    """{tag: [(step, value)]} of a run directory's event files, read by TensorBoard's own
    EventAccumulator when it is installed, else with tensorboardX's protobuf definitions."""
    try:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ImportError:
        EventAccumulator = None
    if EventAccumulator is not None:
        acc = EventAccumulator(str(run_dir))
        acc.Reload()
        return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}
    from tensorboardX.proto import event_pb2
    out = {}
    for path in sorted(run_dir.glob("events.out.tfevents.*")):
        data = path.read_bytes()
        pos = 0
        while pos < len(data):  # TFRecord framing: u64 length, u32 crc, payload, u32 crc
            n = int.from_bytes(data[pos:pos + 8], "little")
            event = event_pb2.Event.FromString(data[pos + 12:pos + 12 + n])
            pos += 16 + n
            for v in event.summary.value:
                out.setdefault(v.tag, []).append((event.step, v.simple_value))
    return out


def test_tensorboard_writes_event_files_tensorboard_reads(tmp_path):
    pytest.importorskip("tensorboardX")
    X, y = blobs(64)
    model = small_model(metrics=["accuracy"], optimizer=dk.optimizers.SGD(
        learning_rate=S.ExponentialDecay(0.1, 4, 0.5)))
    h = model.fit(X, y, batch_size=16, epochs=3, verbose=0, validation_data=(X, y),
                  callbacks=[dk.callbacks.TensorBoard(tmp_path / "logs", histogram_freq=1,
                                                      update_freq="batch")])
    train = _read_scalars(tmp_path / "logs" / "train")
    val = _read_scalars(tmp_path / "logs" / "validation")
    assert [s for s, _ in train["epoch_loss"]] == [0, 1, 2]
    np.testing.assert_allclose([v for _, v in train["epoch_loss"]], h.history["loss"], rtol=1e-6)
    np.testing.assert_allclose([v for _, v in val["epoch_accuracy"]], h.history["val_accuracy"], rtol=1e-6)
    np.testing.assert_allclose([v for _, v in train["epoch_learning_rate"]], h.history["learning_rate"],
                               rtol=1e-6)
    assert "epoch_lr" not in train
    assert [s for s, _ in train["batch_loss"]] == list(range(1, 13))


def test_tensorboard_refuses_what_it_cannot_do(tmp_path):
    pytest.importorskip("tensorboardX")
    with pytest.raises(ValueError, match="profiler"):
        dk.callbacks.TensorBoard(tmp_path, profile_batch=2)
    with pytest.raises(ValueError, match="write_images"):
        dk.callbacks.TensorBoard(tmp_path, write_images=True)


def test_flatten_model_exports_to_onnx_with_its_sample_shape(tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    model = dk.Sequential([L.Input(shape=(2, 3)), L.Flatten(), L.Dense(4, activation="mish"),
                           L.Dense(2)], seed=0)
    dk.export_onnx(model, tmp_path / "m.onnx")
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape[1:] == [2, 3]
    x = np.random.default_rng(0).normal(size=(5, 2, 3)).astype(np.float32)
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, model.predict(x), rtol=1e-5, atol=1e-6)


def test_lambda_callback():
    X, y = blobs(32)
    seen = []
    cb = dk.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append((epoch, logs["loss"])),
                                     on_batch_end=lambda batch, logs: seen.append(("batch", batch)))
    small_model().fit(X, y, batch_size=16, epochs=2, verbose=0, callbacks=[cb])
    assert [s[0] for s in seen] == ["batch", "batch", 0, "batch", "batch", 1]
    with pytest.raises(TypeError, match="did you mean on_epoch_end"):
        dk.callbacks.LambdaCallback(on_epoch_ends=print)


@pytest.mark.parametrize("module,name,way", [
    (dk.layers, "Conv2D", "dense"), (dk.layers, "Lambda", "C++"),
    (dk.optimizers, "Adafactor", "Nadam"), (dk.callbacks, "BackupAndRestore", "ModelCheckpoint"),
])
def test_keras_names_densekit_lacks_say_what_to_use(module, name, way):
    with pytest.raises(AttributeError, match=way):
        getattr(module, name)
