"""Counts heap allocations inside densekit's C++ calls; run by tests/test_steady_state_allocation.py
under LD_PRELOAD=<malloc_counter.so>. Prints one JSON line: {case: [allocs for a short call,
allocs for a long call]}.

A call's fixed costs (the result dict, first-use buffers) are the same whatever its length, so a
steady state without allocation shows as equal counts for a call of 4 batches and of 40.
"""
import ctypes
import json
import sys

import numpy as np

import densekit as dk
from densekit.training import prepare

counter = ctypes.CDLL(sys.argv[1])
counter.malloc_counter_stop.restype = ctypes.c_long
L = dk.layers
BATCH = 32


def counted(fn):
    counter.malloc_counter_start()
    fn()
    return counter.malloc_counter_stop()


def models():
    """(name, model, loss) covering every layer kind, activation family, optimizer and option."""
    def deep_bn():
        layers = [L.Input(64), L.Normalization(mean=np.zeros(64), variance=np.ones(64))]
        for _ in range(3):
            layers += [L.Dense(48, use_bias=False), L.BatchNormalization(), L.Activation("elu")]
        return layers + [L.Dense(10, activation="softmax")]

    def selu():
        return ([L.Input(64)] + [L.Dense(48, activation="selu", kernel_initializer="lecun_normal")
                                 for _ in range(3)] + [L.AlphaDropout(0.1), L.Dense(10, activation="softmax")])

    def mixed():
        return [L.Input(64), L.Dense(300, activation="relu", kernel_regularizer=dk.regularizers.l1_l2(1e-5, 1e-4),
                                     kernel_constraint=dk.constraints.MaxNorm(2.0)),
                L.Dropout(0.2), L.Dense(40, activation="prelu"), L.Dense(40, activation="rrelu"),
                L.Dense(40, activation="leaky_relu"), L.Dense(40, activation="gelu"), L.Dense(40, activation="swish"),
                L.Dense(40, activation="tanh"), L.Dense(40, activation="softplus"),
                L.Dense(10, activation="softmax")]

    def regression():
        return [L.Input(64), L.Dense(64, activation="sigmoid"), L.Dense(1)]

    def wide():  # products big enough to be split between threads and blocked by Eigen
        return [L.Input(64), L.Dense(2048, activation="relu"), L.Dense(1024, activation="relu"),
                L.Dense(10, activation="softmax")]

    return [
        ("deep_bn/nadam", deep_bn(), dk.optimizers.Nadam(clipnorm=1.0), "sparse_categorical_crossentropy"),
        ("selu/adam", selu(), dk.optimizers.Adam(amsgrad=True, global_clipnorm=1.0), "sparse_categorical_crossentropy"),
        ("mixed/rmsprop", mixed(), dk.optimizers.RMSprop(momentum=0.9, centered=True, clipvalue=0.5),
         "sparse_categorical_crossentropy"),
        ("mixed/sgd", mixed(), dk.optimizers.SGD(momentum=0.9, nesterov=True), "sparse_categorical_crossentropy"),
        ("regression/adamax", regression(), dk.optimizers.Adamax(), "huber"),
        ("wide/adagrad", wide(), dk.optimizers.Adagrad(), "sparse_categorical_crossentropy"),
    ]


def main():
    rng = np.random.default_rng(0)
    n = 40 * BATCH
    X = rng.standard_normal((n, 64))
    results = {}
    for dtype in ("float32", "float64"):
        for name, layers, opt, loss in models():
            model = dk.Sequential(layers, dtype=dtype, seed=0)
            model.compile(optimizer=opt, loss=loss, metrics=["accuracy"] if "crossentropy" in loss else None)
            y = rng.integers(0, 10, n) if "crossentropy" in loss else rng.standard_normal((n, 1))
            Xp, Yp, _ = prepare(model, X, y, None, None, "probe")
            W = np.ones(n, dtype=Xp.dtype)
            order = rng.permutation(n).astype(np.int64)
            net = model._net
            model.fit(X, y, batch_size=BATCH, epochs=1, verbose=0)  # warm-up: buffers, threads

            def train(batches, weights=None):
                lrs = np.full(batches, 1e-3)
                stats = np.zeros((batches, 5))
                return lambda: net.train(Xp, Yp, weights, order, batches * BATCH, BATCH, lrs, None, stats)

            out = np.empty((n, net.output_dim), dtype=Xp.dtype)
            std = np.empty_like(out)
            key = f"{dtype}/{name}"
            for label, short, long in [
                ("train", train(4), train(40)),
                ("train+weights", train(4, W), train(40, W)),
                ("predict", lambda: net.predict(Xp[:4 * BATCH], out[:4 * BATCH], BATCH),
                 lambda: net.predict(Xp, out, BATCH)),
                ("predict_mc", lambda: net.predict_mc(Xp[:4 * BATCH], 3, out[:4 * BATCH], std[:4 * BATCH], BATCH, 7),
                 lambda: net.predict_mc(Xp, 3, out, std, BATCH, 7)),
                ("evaluate", lambda: net.evaluate(Xp[:4 * BATCH], Yp[:4 * BATCH], None, BATCH),
                 lambda: net.evaluate(Xp, Yp, None, BATCH)),
            ]:
                # First uses size the buffers: of each entry point, and of each arm of predict's
                # thread tuner (one thread, then all threads: its first six calls try both).
                for _ in range(4):
                    short(), long()
                results[f"{key}/{label}"] = [counted(short), counted(long)]
    print(json.dumps(results))


if __name__ == "__main__":
    main()
