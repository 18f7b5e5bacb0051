"""Prediction on pre-packed weights (SPEC §3, "Low-latency inference"): batch invariance, the
invalidation of the packed copies, threads, and the kernel path.

- Batch invariance: for every layer kind and every activation the core knows, float32 and
  float64, a row's output is bit-identical whether it is predicted alone, in a batch of any size
  1…300, at any position, or in a permuted batch; batches from 8 rows up also split their products
  between threads, and large batches are split into one block of rows per thread (int8, float16
  and pruned models too). MC Dropout's mean equals predict on a deterministic model (test_dropout.py).
- Invalidation: whatever changes the weights — fit, set_weights, set_state, load_model, a write
  through a zero-copy view (`layer.kernel[...] = ...`, BN's moving statistics, Normalization's
  adapt), with the view dropped or still alive — shows in the next predict, which then equals a
  freshly built model with the same weights bit for bit. Reading weights (get_weights,
  get_state, count_params) leaves the model as it was.
- Several Python threads predicting on one model get the single-threaded results.
- DENSEKIT_ISA forces a kernel path (reported as densekit._native.ISA and by `densekit info`).
"""

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import densekit as dk
from densekit import _native

L = dk.layers
N = 300
# Every activation the core knows (new kinds are covered without editing this file); softmax
# is tested as the output layer.
ACTIVATIONS = [k.name for k in _native.core.ActivationKind if k.name != "softmax"]


def rows_alone(model, X):
    return np.vstack([model.predict(X[i:i + 1]) for i in range(len(X))])


def assert_batch_invariant(model, X):
    """Every row as predicted alone equals the same row in batches of 1…N rows, windows at moving
    offsets, the full batch with any batch_size, and a permuted batch: bit for bit."""
    alone = rows_alone(model, X)
    assert np.all(np.isfinite(alone))
    for b in range(1, N + 1):  # every batch size, the batch starting at row 0
        np.testing.assert_array_equal(model.predict(X[:b]), alone[:b], err_msg=f"batch of {b}")
    for b in (2, 7, 16, 33, 100):  # windows: the same row at other positions
        for start in range(0, N - b + 1, 37):
            np.testing.assert_array_equal(model.predict(X[start:start + b]), alone[start:start + b],
                                          err_msg=f"batch of {b} at {start}")
    for bs in (1, 3, 64, 257):
        np.testing.assert_array_equal(model.predict(X, batch_size=bs), alone, err_msg=f"batch_size {bs}")
    perm = np.random.default_rng(1).permutation(N)
    np.testing.assert_array_equal(model.predict(X[perm]), alone[perm], err_msg="permuted")


def run_on_threads(worker, count=4):
    """worker(k) for k in 0..count-1, on that many Python threads at once."""
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def data(features, seed=0):
    return np.random.default_rng(seed).normal(0.0, 1.5, size=(N, features))


def with_statistics(model, seed=3):
    """Gives every BatchNormalization non-trivial moving statistics (inference uses them)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            layer.moving_mean[...] = rng.normal(size=layer.moving_mean.shape)
            layer.moving_variance[...] = rng.uniform(0.5, 2.0, size=layer.moving_variance.shape)
    return model


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_with_each_activation_is_batch_invariant(activation, dtype):
    # 37 inputs, 45 units: vector tails everywhere.
    model = dk.Sequential([L.Input(37), L.Dense(45, activation=activation), L.Dense(3, activation="softmax")],
                          seed=1, dtype=dtype)
    assert_batch_invariant(model, data(37))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_layer_kind_is_batch_invariant(dtype):
    X = data(19)
    norm = L.Normalization()
    norm.adapt(X)
    model = with_statistics(dk.Sequential([
        L.Input(19), norm,
        L.Dense(40, use_bias=False), L.BatchNormalization(), L.Activation("elu"), L.Dropout(0.3),
        L.Dense(33, activation="selu"), L.AlphaDropout(0.1), L.PReLU(), L.LeakyReLU(alpha=0.2),
        L.RReLU(), L.GELU(), L.Swish(), L.Softplus(), L.Dense(24), L.Activation("tanh"),
        L.Dense(5), L.Softmax(),
    ], seed=2, dtype=dtype))
    assert_batch_invariant(model, X)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_wide_layers_split_between_threads_are_batch_invariant(dtype, restore_threads):
    """784→300→100→10 (W1's model): from 8 rows up each product is split between threads, from
    32 rows up the batch is split into one block of rows per thread."""
    dk.set_num_threads(2)
    model = w1_model(dtype)
    assert_batch_invariant(model, data(784))


def w1_model(dtype="float32", seed=3):
    return dk.Sequential([L.Input(784), L.Dense(300, activation="relu"), L.Dense(100, activation="relu"),
                          L.Dense(10, activation="softmax")], seed=seed, dtype=dtype)


def stored_precisions(model):
    """W1 in every stored form predict() splits into row blocks: float32, int8 (dynamic and
    static), float16, and pruned to 90 % (the sparse kernels)."""
    X = data(784)
    pruned = w1_model(seed=4)
    dk.prune(pruned, 0.9, scope="layer")
    return {"float32": model,
            "int8": model.quantize("int8", speed_check=False),
            "int8-static": model.quantize("int8", calibration=X, speed_check=False),
            "float16": model.quantize("float16"),
            "pruned": pruned}


def test_row_blocks_on_two_threads_give_the_single_thread_bits(restore_threads):
    """From 32 rows up (W1's model) predict() splits a batch into one block of rows per thread,
    each taken through every layer in one parallel region. Every stored form gives the bits of
    one thread predicting each row alone, for batch sizes on both sides of the split, blocks of
    uneven length, batch_size chunks and a permutation."""
    X = data(784).astype(np.float32)
    for name, model in stored_precisions(w1_model()).items():
        dk.set_num_threads(1)
        alone = rows_alone(model, X)
        dk.set_num_threads(2)
        for b in (*range(1, 70), 127, 128, 129, 255, 256, 299, 300):
            np.testing.assert_array_equal(model.predict(X[:b]), alone[:b], err_msg=f"{name}, batch {b}")
        for bs in (48, 100, 257):
            np.testing.assert_array_equal(model.predict(X, batch_size=bs), alone,
                                          err_msg=f"{name}, batch_size {bs}")
        perm = np.random.default_rng(1).permutation(N)
        np.testing.assert_array_equal(model.predict(X[perm]), alone[perm], err_msg=f"{name}, permuted")


def test_python_threads_sharing_the_row_block_path_get_the_serial_results(restore_threads):
    """Four Python threads, each predict() running its own two-thread region."""
    X = data(784).astype(np.float32)
    models = stored_precisions(w1_model())
    dk.set_num_threads(1)
    alone = {name: m.predict(X) for name, m in models.items()}
    dk.set_num_threads(2)
    errors = []

    def worker(seed):
        rng = np.random.default_rng(seed)
        for _ in range(40):
            name = list(models)[int(rng.integers(len(models)))]
            b = int(rng.integers(1, 200))
            s = int(rng.integers(0, N - b))
            if not np.array_equal(models[name].predict(X[s:s + b]), alone[name][s:s + b]):
                errors.append((seed, name, s, b))

    run_on_threads(worker)
    assert not errors


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_batch_invariance_after_folding_batchnorm(dtype):
    model = with_statistics(dk.Sequential([L.Input(30), L.Dense(50, use_bias=False), L.BatchNormalization(),
                                           L.Activation("elu"), L.Dense(4, activation="softmax")],
                                          seed=4, dtype=dtype))
    folded = model.fold_batchnorm()
    assert_batch_invariant(folded, data(30))
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(folded.predict(data(30)), model.predict(data(30)), rtol=tol, atol=tol)


# -- invalidation of the packed copies --------------------------------------------------------


def small_model(dtype="float32", seed=0):
    norm = L.Normalization(mean=np.full(12, 0.5), variance=np.full(12, 2.0))
    model = dk.Sequential([L.Input(12), norm, L.Dense(20, activation="tanh"), L.BatchNormalization(),
                           L.PReLU(), L.Dense(3, activation="softmax")], seed=seed, dtype=dtype)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def fresh_prediction(model, X):
    """What a newly built model with `model`'s weights predicts (its packed copies are new)."""
    twin = small_model(np.dtype(model.dtype).name, seed=99)
    twin.set_weights(model.get_weights())
    return twin.predict(X)


@pytest.fixture
def xy():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(64, 12))
    return X, (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)


def changed(model, X, before):
    after = model.predict(X)
    assert not np.array_equal(after, before), "the change did not show in predict"
    np.testing.assert_array_equal(after, fresh_prediction(model, X))
    return after


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fit_shows_in_the_next_predict(xy, dtype):
    X, y = xy
    model = small_model(dtype)
    before = model.predict(X)  # packs
    model.fit(X, y, epochs=1, batch_size=16, verbose=0)
    before = changed(model, X, before)
    model.train_on_batch(X[:16], y[:16])
    changed(model, X, before)


def test_set_weights_and_set_state_show_in_the_next_predict(xy):
    X, y = xy
    model = small_model()
    before = model.predict(X)
    other = small_model(seed=7)
    model.set_weights(other.get_weights())
    before = changed(model, X, before)
    np.testing.assert_array_equal(before, other.predict(X))
    state = small_model(seed=8).get_state(include_optimizer=False)
    model.set_state(state)
    changed(model, X, before)


def test_a_loaded_model_predicts_what_was_saved(xy, tmp_path):
    X, y = xy
    model = small_model()
    model.fit(X, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.dk")
    loaded = dk.load_model(tmp_path / "m.dk")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_writes_through_views_show_in_the_next_predict(xy):
    X, _ = xy
    model = small_model()
    dense, bn, prelu, norm = model.layers[1], model.layers[2], model.layers[3], model.layers[0]
    before = model.predict(X)
    dense.kernel[0, :] += 0.5                      # the view is dropped right after
    before = changed(model, X, before)
    bias = dense.bias                              # ... or kept alive across predicts
    bias[...] = 0.25
    before = changed(model, X, before)
    bias[1] = -1.0
    before = changed(model, X, before)
    del bias
    np.testing.assert_array_equal(model.predict(X), before)  # nothing changed when it closed
    bn.moving_mean[...] = 0.3
    before = changed(model, X, before)
    bn.moving_variance[::2] = 3.0
    before = changed(model, X, before)
    prelu.alpha[...] = 0.05
    before = changed(model, X, before)
    norm.adapt(X * 2 + 1)
    before = changed(model, X, before)
    weights = model.layers[-1].weights             # Keras's `weights` are views too
    weights[0][...] *= -1
    changed(model, X, before)


def test_reading_weights_changes_nothing(xy):
    X, _ = xy
    model = small_model()
    before = model.predict(X)
    model.get_weights(), model.get_state(), model.count_params(), model.summary(print_fn=lambda s: None)
    for w in model.layers[1].get_weights():
        w[...] = 0  # copies: the model is untouched
    np.testing.assert_array_equal(model.predict(X), before)


def test_layers_shared_between_models_see_each_others_training(xy):
    X, y = xy
    a = small_model()
    b = dk.Sequential([L.Input(12)] + a.layers, seed=1)
    before = b.predict(X)
    a.fit(X, y, epochs=1, verbose=0)
    changed(b, X, before)
    np.testing.assert_array_equal(b.predict(X), a.predict(X))


# -- threads ----------------------------------------------------------------------------------


def test_python_threads_predicting_on_one_model_get_the_serial_results(restore_threads):
    model = dk.Sequential([L.Input(64), L.Dense(128, activation="elu"), L.BatchNormalization(),
                           L.Dense(10, activation="softmax")], seed=5)
    X = data(64)
    alone = rows_alone(model, X)
    errors = []

    def worker(seed):
        rng = np.random.default_rng(seed)
        for _ in range(200):
            b = int(rng.integers(1, 40))
            s = int(rng.integers(0, N - b))
            if not np.array_equal(model.predict(X[s:s + b]), alone[s:s + b]):
                errors.append((seed, s, b))

    run_on_threads(worker)
    assert not errors


# -- the kernel path --------------------------------------------------------------------------


def run_python(code, isa):
    env = dict(os.environ, DENSEKIT_ISA=isa)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120)


def test_densekit_isa_forces_a_path():
    code = ("import numpy as np, densekit as dk; from densekit import _native;"
            "m = dk.Sequential([dk.layers.Input(9), dk.layers.Dense(7, activation='elu')], seed=0);"
            "print(_native.ISA); print(repr(m.predict(np.linspace(-2, 2, 18).reshape(2, 9)).tolist()))")
    best = run_python(code, "")
    assert best.returncode == 0, best.stderr
    isa, want = best.stdout.splitlines()
    assert isa == _native.ISA
    for path in ("portable", "avx2", "avx512"):
        out = run_python(code, path)
        assert out.returncode == 0, out.stderr
        got_isa, got = out.stdout.splitlines()
        if f"not supported by this CPU" in out.stderr:
            assert got_isa == isa  # refused with a message: the best path instead
        else:
            assert got_isa == path
        np.testing.assert_allclose(eval(got), eval(want), rtol=1e-5, atol=1e-6)
    bad = run_python("import densekit", "sse9")
    assert bad.returncode != 0 and "DENSEKIT_ISA must be one of" in bad.stderr
