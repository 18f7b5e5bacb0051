"""ONNX Runtime peer, inference only (I1-I3): the PyTorch model exported to ONNX and run by an
InferenceSession with `threads` intra-op threads and full graph optimization.

Used only when `onnxruntime` is importable; nothing is installed. If the export fails, the worker
reports the reason and the column shows n/a.
"""

from __future__ import annotations

import os
import tempfile

import onnxruntime as ort
import torch

import fw_torch
from timing import latency_result, throughput_result, time_calls
from workloads import Workload

_THREADS = 1


def setup(threads: int) -> dict:
    global _THREADS
    _THREADS = threads
    torch.set_num_threads(threads)
    return {"onnxruntime_version": ort.__version__}


def _export(model: torch.nn.Module, example: torch.Tensor, path: str) -> None:
    kwargs = dict(input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "batch"}})
    try:  # the TorchScript-based exporter needs no extra packages
        torch.onnx.export(model, (example,), path, dynamo=False, **kwargs)
    except Exception:
        torch.onnx.export(model, (example,), path, **kwargs)


def train(wl: Workload, x, y, epochs: int, warmup: int) -> dict:
    raise NotImplementedError("ONNX Runtime is an inference-only peer")


def infer(wl: Workload, x, calls: int, warmup: int) -> dict:
    model = fw_torch.build(wl, inference=True).eval()
    xb = x[: wl.batch].copy()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.onnx")
        _export(model, torch.from_numpy(xb), path)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = _THREADS
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    feed = {"x": xb}
    times = time_calls(lambda: sess.run(None, feed), calls, warmup)
    if wl.kind == "throughput":
        return throughput_result(times, wl.batch)
    return latency_result(times)
