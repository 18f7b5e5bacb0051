"""densekit under test, driven only through its public Keras-like API (SPEC.md §2).

Each timed training epoch is a separate `model.fit(X, y, epochs=1, ...)` call, so the figure
includes everything a user pays per epoch (argument checks, shuffling, batching, the C++ steps).
Inference calls `model.predict(x)` on a batch of 1 (I1) or 256 (I2); Q1–Q3 on W1 quantized to int8
or pruned to 90 % (quant_models.py), and with precision="float32" on the float32 model they came
from (the ratio's denominator, measured in the same run). This file must not reach
into densekit internals: if the public API cannot express a workload, that is a finding.
"""

from __future__ import annotations

import inspect

import densekit as dk

from timing import latency_result, throughput_result, time_calls, time_epochs, train_result
from workloads import Activation, AlphaDropout, BatchNorm, Dense, Optimizer, Workload


def _layer(layer):
    if isinstance(layer, Dense):
        kwargs = {"kernel_initializer": layer.init}
        if layer.activation is not None:
            kwargs["activation"] = layer.activation
        if not layer.use_bias:
            kwargs["use_bias"] = False
        return dk.layers.Dense(layer.units, **kwargs)
    if isinstance(layer, BatchNorm):
        return dk.layers.BatchNormalization(momentum=layer.momentum, epsilon=layer.epsilon)
    if isinstance(layer, Activation):
        return dk.layers.Activation(layer.name)
    if isinstance(layer, AlphaDropout):
        return dk.layers.AlphaDropout(layer.rate)
    raise NotImplementedError(f"layer {layer!r}")


def _optimizer(spec: Optimizer):
    if spec.name == "adam":
        return dk.optimizers.Adam(learning_rate=spec.learning_rate)
    if spec.name == "nadam":
        return dk.optimizers.Nadam(learning_rate=spec.learning_rate)
    if spec.name == "sgd":
        return dk.optimizers.SGD(learning_rate=spec.learning_rate, momentum=spec.momentum,
                                 nesterov=spec.nesterov)
    raise NotImplementedError(f"optimizer {spec.name!r}")


def build(wl: Workload):
    model = dk.Sequential([dk.layers.Input(wl.n_in)] + [_layer(l) for l in wl.layers], seed=0)
    model.compile(optimizer=_optimizer(wl.optimizer or Optimizer("adam", 1e-3)),
                  loss="sparse_categorical_crossentropy")
    return model


def setup(threads: int) -> dict:
    dk.set_num_threads(threads)
    info = {"densekit_version": getattr(dk, "__version__", None)}
    if hasattr(dk, "get_num_threads"):
        info["densekit_num_threads"] = dk.get_num_threads()
    return info


def train(wl: Workload, x, y, epochs: int, warmup: int) -> dict:
    model = build(wl)

    def epoch():
        hist = model.fit(x, y, epochs=1, batch_size=wl.batch, verbose=0, shuffle=True)
        losses = getattr(hist, "history", {}).get("loss") or [None]
        return losses[-1]

    times, losses = time_epochs(epoch, epochs, warmup)
    return train_result(times, len(x), losses)


def _quantized_model(wl: Workload, precision: str):
    """Q1/Q2: W1 quantized to int8 (float32: the same trained model unquantized); Q3: W1 pruned
    to 90 % (float32: the dense model it was pruned from)."""
    import quant_models
    if wl.name == "Q3":
        return quant_models.trained_w1() if precision == "float32" else quant_models.pruned_w1(0.9)
    model = quant_models.trained_w1()
    return model if precision == "float32" else model.quantize("int8")


def infer(wl: Workload, x, calls: int, warmup: int, precision: str = "default") -> dict:
    info = {}
    if wl.name.startswith("Q"):
        model = _quantized_model(wl, precision)
        info["quantization_report"] = model.quantization_report
        info["int8_path"] = dk._native.core.int8_path()
    else:
        model = build(wl)
    if any(isinstance(l, BatchNorm) for l in wl.layers):
        model = model.fold_batchnorm()
    xb = x[: wl.batch].copy()
    # Keras-style predict may default to batch_size=32 and a progress bar; ask for one batch and
    # silence, when the signature offers those knobs.
    params = inspect.signature(model.predict).parameters
    kwargs = {}
    if "batch_size" in params:
        kwargs["batch_size"] = wl.batch
    if "verbose" in params:
        kwargs["verbose"] = 0
    times = time_calls(lambda: model.predict(xb, **kwargs), calls, warmup)
    if wl.kind == "throughput":
        return {**throughput_result(times, wl.batch), **info}
    return {**latency_result(times), **info}
