"""Determinism and threading (SPEC section 1, "Deterministic" and "Parallelism").

The same seed gives bit-identical results on the same machine and thread count: initialization,
shuffling and RReLU slopes, whatever the model object or where its buffers happen to live.
Different seeds give different results. Changing the thread count changes results only at the
level of float rounding. predict releases the GIL and is safe to call from several Python
threads on one model.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import densekit as dk

DTYPES = ["float32", "float64"]
INSTANCES = 6   # models built per comparison: their buffers land at different addresses


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def data(n=96, features=7, classes=5, seed=0):
    r = np.random.default_rng(seed)
    return r.normal(size=(n, features)), r.integers(0, classes, size=n)


OPTIMIZERS = {
    "sgd": lambda: dk.optimizers.SGD(0.05),
    "sgd_nesterov": lambda: dk.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    "adagrad": lambda: dk.optimizers.Adagrad(0.05),
    "rmsprop": lambda: dk.optimizers.RMSprop(1e-2),
    "adam": lambda: dk.optimizers.Adam(1e-2),
    "adamw": lambda: dk.optimizers.AdamW(1e-2),
    "nadam": lambda: dk.optimizers.Nadam(1e-2),
    "adamax": lambda: dk.optimizers.Adamax(1e-2),
}


def build(seed, dtype="float32", optimizer="adam", rrelu=False, features=7, classes=5):
    """Widths that are not multiples of any SIMD width, so vector tails and peeling matter."""
    layers = [dk.layers.Input(features), dk.layers.Dense(13, activation="elu")]
    layers += [dk.layers.Dense(11), dk.layers.RReLU()] if rrelu else [dk.layers.Dense(11, activation="tanh")]
    layers.append(dk.layers.Dense(classes, activation="softmax"))
    m = dk.Sequential(layers, seed=seed, dtype=dtype)
    m.compile(OPTIMIZERS[optimizer](), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def train(m, X, y, shuffle=True, epochs=3):
    h = m.fit(X, y, epochs=epochs, batch_size=8, verbose=0, shuffle=shuffle)
    return h.history


def flat(m):
    return np.concatenate([w.ravel() for w in m.get_weights()])


# ---------------------------------------------------------------------------------------------
# same seed => bit-identical
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rrelu", [False, True], ids=["tanh", "rrelu"])
def test_same_seed_gives_bit_identical_fit(dtype, rrelu):
    X, y = data()
    models, histories = [], []
    for _ in range(INSTANCES):          # all kept alive, so no two share an address
        m = build(seed=123, dtype=dtype, rrelu=rrelu)
        histories.append(train(m, X, y, shuffle=True))
        models.append(m)
    first = models[0]
    for i, m in enumerate(models[1:], 1):
        for a, b in zip(first.get_weights(), m.get_weights()):
            np.testing.assert_array_equal(a, b, err_msg=f"model {i}")
        np.testing.assert_array_equal(first.predict(X), m.predict(X), err_msg=f"model {i}")
        assert histories[i] == histories[0], f"model {i}"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_same_seed_gives_bit_identical_fit_for_every_optimizer(dtype, optimizer):
    X, y = data()
    models = [build(seed=5, dtype=dtype, optimizer=optimizer) for _ in range(INSTANCES)]
    for m in models:
        train(m, X, y, shuffle=True, epochs=2)
    ref = flat(models[0])
    diffs = [float(np.max(np.abs(flat(m) - ref))) for m in models[1:]]
    assert diffs == [0.0] * (INSTANCES - 1)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ["softmax", "softplus", "elu", "selu", "tanh", "sigmoid",
                                        "gelu", "swish", "relu", "linear"])
def test_repeated_predict_is_bit_identical(dtype, activation):
    """One model, one input, several calls: each output array lands at a different address and
    the values must not depend on it."""
    X = np.random.default_rng(1).normal(size=(300, 64))
    m = dk.Sequential([dk.layers.Input(64), dk.layers.Dense(10, activation=activation)],
                      seed=0, dtype=dtype)
    outputs = [m.predict(X) for _ in range(8)]      # all kept alive: 8 distinct addresses
    for i, p in enumerate(outputs[1:], 1):
        np.testing.assert_array_equal(p, outputs[0], err_msg=f"call {i}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_same_seed_gives_identical_initial_weights_and_predictions(dtype):
    X, _ = data()
    a, b = build(seed=9, dtype=dtype, rrelu=True), build(seed=9, dtype=dtype, rrelu=True)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_same_seed_train_on_batch_sequence_is_bit_identical():
    X, y = data()
    runs = []
    for _ in range(INSTANCES):
        m = build(seed=77, dtype="float32", rrelu=True)
        losses = [m.train_on_batch(X[i:i + 16], y[i:i + 16]) for i in range(0, 96, 16)]
        runs.append((losses, flat(m)))
    for losses, weights in runs[1:]:
        assert losses == runs[0][0]
        np.testing.assert_array_equal(weights, runs[0][1])


# ---------------------------------------------------------------------------------------------
# different seeds => different results
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_different_seeds_give_different_models(dtype):
    X, y = data()
    a, b = build(seed=1, dtype=dtype), build(seed=2, dtype=dtype)
    assert not np.array_equal(a.get_weights()[0], b.get_weights()[0])
    train(a, X, y)
    train(b, X, y)
    assert not np.allclose(a.predict(X), b.predict(X))


def test_seed_drives_the_shuffle():
    """Same initial weights, different seeds: with shuffling the trajectories part; without it
    (and with nothing else random in the net) they coincide."""
    X, y = data()
    results = {}
    for shuffle in (True, False):
        a, b = build(seed=1, dtype="float64"), build(seed=2, dtype="float64")
        b.set_weights(a.get_weights())
        train(a, X, y, shuffle=shuffle)
        train(b, X, y, shuffle=shuffle)
        results[shuffle] = np.max(np.abs(flat(a) - flat(b)))
    assert results[True] > 1e-6
    assert results[False] < 1e-12


def test_seed_drives_the_rrelu_slopes():
    """Same initial weights, no shuffling: only the RReLU slopes differ between seeds."""
    X, y = data()
    a, b, c = (build(seed=s, dtype="float64", rrelu=True) for s in (1, 2, 1))
    b.set_weights(a.get_weights())
    for m in (a, b, c):
        train(m, X, y, shuffle=False)
    assert np.max(np.abs(flat(a) - flat(b))) > 1e-6
    # Bit-identity is checked above; here only that the slopes are the seed's.
    np.testing.assert_allclose(flat(a), flat(c), rtol=1e-12, atol=1e-15)


def test_a_model_trained_twice_continues_differently_each_epoch():
    """The shuffle stream advances: two fits of one model are not two copies of the same
    epoch, but the pair of fits is reproduced exactly by a same-seed twin."""
    X, y = data()
    a, b = build(seed=3, dtype="float64"), build(seed=3, dtype="float64")
    ha1, ha2 = train(a, X, y, epochs=1), train(a, X, y, epochs=1)
    hb = train(b, X, y, epochs=2)
    np.testing.assert_allclose([ha1["loss"][0], ha2["loss"][0]], hb["loss"], rtol=1e-12)
    np.testing.assert_allclose(flat(a), flat(b), rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------------------------------
# thread count
# ---------------------------------------------------------------------------------------------
def big_problem(seed=0):
    r = np.random.default_rng(seed)
    X = r.normal(size=(1024, 256)).astype(np.float32)
    y = r.integers(0, 10, size=1024)
    return X, y


def big_model():
    m = dk.Sequential([dk.layers.Input(256), dk.layers.Dense(512, activation="relu"),
                       dk.layers.Dense(10, activation="softmax")], seed=0)
    m.compile(dk.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    return m


def test_set_num_threads_round_trip(restore_threads):
    for n in (1, 2, 3):
        dk.set_num_threads(n)
        assert dk.get_num_threads() == n
    for bad in (0, -1, 1.5, "2"):
        with pytest.raises(ValueError, match="set_num_threads"):
            dk.set_num_threads(bad)
    assert dk.get_num_threads() == 3


def test_one_and_two_threads_give_the_same_bits(restore_threads):
    """A 256x512 layer with batch 256 is far above the threshold where products go
    multi-threaded; work is split by shape, never by thread count (parallel.hpp, the product
    engine's contract), so training and prediction give the same bits on 1 and 2 threads."""
    X, y = big_problem()
    preds, weights = {}, {}
    for n in (1, 2):
        dk.set_num_threads(n)
        m = big_model()
        m.fit(X, y, epochs=3, batch_size=256, verbose=0)
        preds[n], weights[n] = m.predict(X), flat(m)
    np.testing.assert_array_equal(weights[2], weights[1])
    np.testing.assert_array_equal(preds[2], preds[1])


def test_two_threads_twice_is_bit_identical(restore_threads):
    X, y = big_problem()
    dk.set_num_threads(2)
    a, b = big_model(), big_model()
    a.fit(X, y, epochs=2, batch_size=256, verbose=0)
    b.fit(X, y, epochs=2, batch_size=256, verbose=0)
    np.testing.assert_array_equal(flat(a), flat(b))
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


# ---------------------------------------------------------------------------------------------
# predict from several Python threads
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_concurrent_predict_equals_serial(dtype):
    r = np.random.default_rng(1)
    m = dk.Sequential([dk.layers.Input(64), dk.layers.Dense(256, activation="relu"),
                       dk.layers.Dense(128, activation="gelu"), dk.layers.Dense(10, activation="softmax")],
                      seed=0, dtype=dtype)
    inputs = [r.normal(size=(300 + 37 * i, 64)) for i in range(8)]
    serial = [m.predict(x) for x in inputs]
    barrier = threading.Barrier(4)

    def worker(t):
        barrier.wait()
        out = []
        for rep in range(5):
            for i in range(t, len(inputs), 4):
                out.append((i, m.predict(inputs[i])))
        return out

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(worker, range(4)))
    # A race would give garbage; rounding-level differences are the business of
    # test_repeated_predict_is_bit_identical.
    tol = {"float32": dict(rtol=1e-6, atol=1e-7), "float64": dict(rtol=1e-13, atol=1e-15)}[dtype]
    checked = 0
    for out in results:
        for i, p in out:
            np.testing.assert_allclose(p, serial[i], **tol)
            checked += 1
    assert checked == 5 * len(inputs)


def test_predict_releases_the_gil(restore_threads):
    """While a long predict runs in a worker thread, the main thread keeps executing Python:
    its longest pause is a small fraction of the predict's duration (a predict holding the GIL
    would freeze it for the whole call)."""
    dk.set_num_threads(1)     # one kernel thread + this Python thread fit on the 2 cores
    r = np.random.default_rng(0)
    m = dk.Sequential([dk.layers.Input(256), dk.layers.Dense(1024, activation="relu"),
                       dk.layers.Dense(1024, activation="relu"), dk.layers.Dense(10)], seed=0)
    X = r.normal(size=(4096, 256)).astype(np.float32)
    m.predict(X[:64])                        # warm up workspaces
    started, done = threading.Event(), threading.Event()
    span = {}

    def work():
        started.set()
        t0 = time.perf_counter()
        for _ in range(3):
            m.predict(X)
        span["duration"] = time.perf_counter() - t0
        done.set()

    thread = threading.Thread(target=work)
    thread.start()
    started.wait()
    last, max_gap, iterations = time.perf_counter(), 0.0, 0
    while not done.is_set():
        now = time.perf_counter()
        max_gap = max(max_gap, now - last)
        last = now
        iterations += 1
    thread.join()
    assert span["duration"] > 0.05, "predict too fast to measure; enlarge the problem"
    assert max_gap < 0.5 * span["duration"], (max_gap, span["duration"], iterations)
