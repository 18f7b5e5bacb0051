"""Models that share a layer (transfer learning, Keras-style reuse), used from two threads.

A shared layer's caches and gradients belong to the layer, so the C++ core serializes every
call that writes them or reads parameters across all the networks holding the layer (a lock
per layer, taken in one global order). Two threads training or evaluating two models that share
a layer must give exactly what the same calls give one after the other (issue 11, item 2).
"""

import threading

import numpy as np

import densekit as dk

L = dk.layers
STEPS = 60


def data(seed, n=64 * STEPS):
    r = np.random.default_rng(seed)
    return r.normal(size=(n, 32)).astype(np.float32), r.integers(0, 3, size=n)


def twin_models(shared_trainable):
    """Two models on one shared hidden layer (the second reuses the first's layer object)."""
    shared = L.Dense(256, activation="relu")
    a = dk.Sequential([L.Input(32), shared, L.Dense(3, activation="softmax")], seed=1)
    b = dk.Sequential([shared, L.Dense(64, activation="tanh"), L.Dense(3, activation="softmax")],
                      seed=2)
    shared.trainable = shared_trainable
    for m in (a, b):
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return a, b


def in_two_threads(*jobs):
    errors = []

    def guarded(job):
        try:
            job()
        except BaseException as e:  # reported on the main thread
            errors.append(e)

    threads = [threading.Thread(target=guarded, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def steps(model, X, y, losses):
    def run():
        for i in range(STEPS):
            losses.append(model.train_on_batch(X[64 * i:64 * (i + 1)], y[64 * i:64 * (i + 1)]))
    return run


def test_two_threads_training_heads_on_a_frozen_shared_layer_match_a_serialized_run():
    (Xa, ya), (Xb, yb) = data(0), data(1)
    a, b = twin_models(shared_trainable=False)
    a_ref, b_ref = twin_models(shared_trainable=False)
    concurrent = {"a": [], "b": []}
    serial = {"a": [], "b": []}
    in_two_threads(steps(a, Xa, ya, concurrent["a"]), steps(b, Xb, yb, concurrent["b"]))
    steps(a_ref, Xa, ya, serial["a"])()
    steps(b_ref, Xb, yb, serial["b"])()
    assert concurrent == serial
    for m, ref in ((a, a_ref), (b, b_ref)):
        for got, want in zip(m.get_weights(), ref.get_weights()):
            np.testing.assert_array_equal(got, want)


def test_evaluate_and_predict_from_two_threads_on_shared_layers_match_serial_calls():
    (Xa, ya), (Xb, yb) = data(2, 4096), data(3, 4096)
    a, b = twin_models(shared_trainable=True)
    want = [a.evaluate(Xa, ya, batch_size=64), b.evaluate(Xb, yb, batch_size=64),
            a.predict(Xa), b.predict(Xb)]
    got = {}

    def job(name, fn):
        def run():
            for i in range(10):
                got.setdefault(name, []).append(fn())
        return run

    in_two_threads(job("ea", lambda: a.evaluate(Xa, ya, batch_size=64)),
                   job("eb", lambda: b.evaluate(Xb, yb, batch_size=64)))
    in_two_threads(job("pa", lambda: a.predict(Xa)), job("eb2", lambda: b.evaluate(Xb, yb, batch_size=64)))
    assert got["ea"] == [want[0]] * 10 and got["eb"] == [want[1]] * 10 and got["eb2"] == [want[1]] * 10
    for p in got["pa"]:
        np.testing.assert_array_equal(p, want[2])


def test_evaluating_while_another_model_trains_the_shared_layer_sees_whole_steps_only():
    # Thread 1 trains model a (the shared layer learns); thread 2 evaluates model b on fixed data
    # over and over. Every evaluation must equal b's loss at one of the states between a's steps
    # (computed beforehand by replaying a's steps serially), never a half-updated layer or a
    # cache another thread overwrote.
    (Xa, ya), (Xb, yb) = data(4), data(5, 512)
    a_ref, b_ref = twin_models(shared_trainable=True)
    reachable = {b_ref.evaluate(Xb, yb, batch_size=128)}
    for i in range(STEPS):
        a_ref.train_on_batch(Xa[64 * i:64 * (i + 1)], ya[64 * i:64 * (i + 1)])
        reachable.add(b_ref.evaluate(Xb, yb, batch_size=128))

    a, b = twin_models(shared_trainable=True)
    seen = []
    done = threading.Event()

    def evaluate_until_done():
        while not done.is_set() or not seen:
            seen.append(b.evaluate(Xb, yb, batch_size=128))

    def train():
        steps(a, Xa, ya, [])()
        done.set()

    in_two_threads(train, evaluate_until_done)
    assert set(seen) <= reachable, sorted(set(seen) - reachable)[:5]
    for got, want in zip(a.get_weights(), a_ref.get_weights()):
        np.testing.assert_array_equal(got, want)
