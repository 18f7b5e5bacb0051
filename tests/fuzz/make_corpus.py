"""Writes the seed corpus of the model-file fuzzers into tests/fuzz/corpus/: a few small, valid
model files covering what a file can hold (both dtypes, every layer kind, every optimizer's slot
layout, with and without optimizer state, uncompiled, shared layers, a schedule, int8 and
float16 quantized kernels, a pruning mask).

The fuzzers (tests/fuzz/fuzz_load_model.py for Python, the C++ loader's harness) start from these
files and mutate them. The output is deterministic (fixed seeds, fixed data), so re-running the
script on the same code rewrites the same content (the safetensors library may order the header's
keys differently); the files are committed so that the fuzzers do
not depend on running it. Re-run it when the format version changes:

    python tests/fuzz/make_corpus.py
"""

import os

import numpy as np

import densekit as dk

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
L = dk.layers
O = dk.optimizers


def _data(features, classes, n=48, seed=0):
    r = np.random.default_rng(seed)
    return r.normal(size=(n, features)), r.integers(0, classes, n)


def _trained(model, optimizer, loss="sparse_categorical_crossentropy", classes=3, epochs=1):
    model.compile(optimizer=optimizer, loss=loss)
    X, y = _data(model.input_dim, classes)
    if loss == "mse":
        y = np.eye(classes)[y]
    model.fit(X, y, batch_size=16, epochs=epochs, verbose=0)
    return model


def models():
    """{file name: (model, include_optimizer)}."""
    out = {}
    out["dense_adam_f32"] = (_trained(dk.Sequential(
        [L.Input(4), L.Dense(5, activation="relu"), L.Dense(3, activation="softmax")],
        seed=1), O.Adam(1e-2)), True)
    out["bn_prelu_dropout_nadam_f32"] = (_trained(dk.Sequential(
        [L.Input(4), L.Dense(6, use_bias=False, kernel_regularizer=dk.regularizers.l2(1e-3)),
         L.BatchNormalization(), L.PReLU(), L.Dropout(0.2), L.RReLU(), L.Dense(3, activation="softmax")],
        seed=2), O.Nadam(1e-2, clipnorm=1.0)), True)
    out["rmsprop_centered_momentum_f64"] = (_trained(dk.Sequential(
        [L.Input(3), L.Dense(4, activation="elu"), L.AlphaDropout(0.1), L.Dense(2)],
        seed=3, dtype="float64"), O.RMSprop(1e-2, momentum=0.5, centered=True), loss="mse",
        classes=2), True)
    out["sgd_nesterov_schedule_f64"] = (_trained(dk.Sequential(
        [L.Input(3), L.Normalization(mean=[0.0, 1.0, 2.0], variance=[1.0, 2.0, 3.0]),
         L.Dense(4, activation="tanh"), L.Dense(2, activation="softmax")],
        seed=4, dtype="float64"),
        O.SGD(dk.schedules.ExponentialDecay(0.1, 10, 0.5), momentum=0.9, nesterov=True),
        classes=2), True)
    base = dk.Sequential([L.Input(4), L.Dense(4, activation="selu")], seed=5)
    shared = dk.Sequential(base.layers + [L.Dense(3, activation="softmax")], seed=6)
    out["adamw_amsgrad_weights_only_f32"] = (_trained(shared, O.AdamW(1e-2, amsgrad=True)), False)
    out["uncompiled_f32"] = (dk.Sequential([L.Input(2), L.Dense(2, activation="leaky_relu"),
                                            L.Activation("sigmoid"), L.Dense(1)], seed=7), True)
    out["adagrad_adamax_slots_f32"] = (_trained(dk.Sequential(
        [L.Input(3), L.Dense(3, activation="swish"), L.Dense(3, activation="softmax")], seed=8),
        O.Adamax(1e-2)), True)
    # Format version 3: int8 and float16 kernels, a pruning mask.
    dense = out["dense_adam_f32"][0]
    X, _ = _data(4, 3)
    out["quantized_int8_f32"] = (dense.quantize("int8", calibration=X, speed_check=False), True)
    out["quantized_float16_f32"] = (dense.quantize("float16", speed_check=False), True)
    pruned = _trained(dk.Sequential([L.Input(4), L.Dense(8, activation="relu"), L.Dense(3)],
                                    seed=9), O.SGD(0.05), loss="mse")
    dk.pruning.prune(pruned, 0.5)
    out["pruned_sgd_f32"] = (pruned, True)
    return out


def main():
    os.makedirs(CORPUS, exist_ok=True)
    for name, (model, include_optimizer) in models().items():
        model.save(os.path.join(CORPUS, name + ".dk"), include_optimizer=include_optimizer)
    print(f"wrote {len(os.listdir(CORPUS))} files to {CORPUS}")


if __name__ == "__main__":
    main()
