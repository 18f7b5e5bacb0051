"""ONNX Runtime's best int8 variant (Q1, Q2): the trained W1 (quant_models.py) exported by densekit
as float32 ONNX, then quantized by ONNX Runtime's own tools three ways — quantize_dynamic with
per-tensor and with per-channel weights, and quantize_static in QDQ format (per-channel weights,
uint8 activations calibrated on the same rows densekit's static variant would use) — each run by
an InferenceSession with `threads` intra-op threads and full graph optimization. Every variant is
timed briefly, the fastest is timed in full and reported (its name, and each variant's quick
figure, go into the result). Accuracy of the same variants on MNIST: bench/quantization.py.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                      quantize_dynamic, quantize_static)

from timing import latency_result, median, throughput_result, time_calls
from workloads import Workload

_THREADS = 1


def setup(threads: int) -> dict:
    global _THREADS
    _THREADS = threads
    return {"onnxruntime_version": ort.__version__}


def train(wl: Workload, x, y, epochs: int, warmup: int) -> dict:
    raise NotImplementedError("ONNX Runtime is an inference-only peer")


class _Rows(CalibrationDataReader):
    def __init__(self, rows: np.ndarray, name: str):
        self._it = iter([{name: rows[i:i + 32]} for i in range(0, len(rows), 32)])

    def get_next(self):
        return next(self._it, None)


def variants(model, directory: str) -> dict[str, str]:
    """{variant name: path of its .onnx}, from a densekit float32 model."""
    import densekit as dk
    import quant_models
    fp32 = os.path.join(directory, "fp32.onnx")
    dk.export_onnx(model, fp32)
    out = {}
    for name, per_channel in (("dynamic per-tensor", False), ("dynamic per-channel", True)):
        path = os.path.join(directory, name.replace(" ", "_") + ".onnx")
        quantize_dynamic(fp32, path, weight_type=QuantType.QInt8, per_channel=per_channel)
        out[name] = path
    path = os.path.join(directory, "static_qdq.onnx")
    quantize_static(fp32, path, _Rows(quant_models.calibration_rows(), "input"),
                    quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    out["static QDQ per-channel"] = path
    return out


def session(path: str) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = _THREADS
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def infer(wl: Workload, x, calls: int, warmup: int) -> dict:
    import quant_models
    model = quant_models.trained_w1()
    xb = x[: wl.batch].copy()
    feed = {"input": xb}
    quick = {}
    with tempfile.TemporaryDirectory() as tmp:
        sessions = {name: session(path) for name, path in variants(model, tmp).items()}
    for name, sess in sessions.items():
        quick[name] = median(time_calls(lambda: sess.run(None, feed), max(20, calls // 10),
                                        max(10, warmup // 4))) * 1e6
    best = min(quick, key=quick.get)
    sess = sessions[best]
    times = time_calls(lambda: sess.run(None, feed), calls, warmup)
    result = throughput_result(times, wl.batch) if wl.kind == "throughput" else latency_result(times)
    return {**result, "variant": best, "variants_quick_median_us": quick}
