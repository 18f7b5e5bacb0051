"""Writes the seed corpus of the model-file fuzzers: small valid model files, one per layer kind
and dtype, into tests/fuzz/corpus (or the directory given).

The corpus is shared by both loaders' fuzzers (the C++ harness tests/cpp/fuzz_model_file.cpp and
the Python one): each file is a starting point that mutations turn into hostile input. Rerun it
after a change to the file format (and commit the result) so the seeds stay valid; every file it
writes is loaded back here as a check.

    python tests/fuzz/make_corpus.py [directory]
"""

import sys
from pathlib import Path

import numpy as np

import densekit as dk

L = dk.layers


def models():
    """(file name, model) pairs: every layer kind, both dtypes, with and without optimizer
    state; a few units wide so that files stay a few kilobytes."""
    X = np.random.default_rng(0).normal(size=(16, 4))
    y = np.arange(16) % 3

    def trained(model, optimizer, loss, target):
        model.compile(optimizer=optimizer, loss=loss)
        model.fit(X.astype(model.dtype), target, epochs=1, batch_size=8, verbose=0)
        return model

    yield "dense_relu_f32.dk", dk.Sequential([L.Input(4), L.Dense(5, activation="relu"), L.Dense(3)],
                                             seed=1)
    yield "dense_softmax_f64_adam.dk", trained(
        dk.Sequential([L.Input(4), L.Dense(6, activation="tanh"), L.Dense(3, activation="softmax")],
                      seed=2, dtype="float64"),
        "adam", "sparse_categorical_crossentropy", y)
    yield "batchnorm_dropout_f32_sgd.dk", trained(
        dk.Sequential([L.Input(4), L.Dense(6, use_bias=False), L.BatchNormalization(),
                       L.Activation("elu"), L.Dropout(0.2), L.Dense(1)], seed=3),
        dk.optimizers.SGD(0.01, momentum=0.9), "mse", X[:, :1])
    yield "prelu_alphadropout_f32_rmsprop.dk", trained(
        dk.Sequential([L.Input(4), L.Dense(5, activation="selu", kernel_initializer="lecun_normal"),
                       L.AlphaDropout(0.1), L.PReLU(), L.Dense(2, activation="sigmoid")], seed=4),
        "rmsprop", "binary_crossentropy", (X[:, :2] > 0).astype(np.float32))
    yield "normalization_leaky_f64.dk", dk.Sequential(
        [L.Input(4), L.Normalization(mean=np.zeros(4), variance=np.ones(4)),
         L.Dense(3), L.LeakyReLU(alpha=0.2), L.Dense(2, activation="gelu")], seed=5, dtype="float64")
    yield "single_dense_f32.dk", dk.Sequential([L.Input(1), L.Dense(1)], seed=6)


def main(directory):
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    for name, model in models():
        if not model.built:
            model.build()
        path = out / name
        model.save(path)
        dk.load_model(path)  # the seed must itself be valid
        print(f"{path}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent / "corpus")
