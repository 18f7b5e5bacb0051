"""PyTorch's dynamic int8 `Linear` (Q1, Q2): the trained W1 (quant_models.py) loaded into an
nn.Sequential of Linear/ReLU/Softmax, then `torch.ao.quantization.quantize_dynamic` (int8 weights,
activations quantized per call), run under torch.inference_mode() with `threads` threads. PyTorch
warns that this API will be removed; it is measured while it ships.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn

from timing import latency_result, throughput_result, time_calls
from workloads import Workload


def setup(threads: int) -> dict:
    torch.set_num_threads(threads)
    return {"torch_version": torch.__version__,
            "quantized_engine": torch.backends.quantized.engine}


def train(wl: Workload, x, y, epochs: int, warmup: int) -> dict:
    raise NotImplementedError("the int8 peer runs inference only")


def float_model(weights) -> nn.Sequential:
    """Linear layers holding densekit's (kernel (in, out), bias) pairs, ReLU between, softmax."""
    mods: list[nn.Module] = []
    for i, (kernel, bias) in enumerate(weights):
        lin = nn.Linear(kernel.shape[0], kernel.shape[1])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel.T)))
            lin.bias.copy_(torch.from_numpy(bias))
        mods.append(lin)
        mods.append(nn.ReLU() if i + 1 < len(weights) else nn.Softmax(dim=1))
    return nn.Sequential(*mods).eval()


def int8_model(weights) -> nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(float_model(weights), {nn.Linear},
                                                      dtype=torch.qint8)


def infer(wl: Workload, x, calls: int, warmup: int) -> dict:
    import quant_models
    model = int8_model(quant_models.weights(quant_models.trained_w1()))
    xb = torch.from_numpy(x[: wl.batch].copy())

    def call():
        with torch.inference_mode():
            return model(xb)

    times = time_calls(call, calls, warmup)
    return throughput_result(times, wl.batch) if wl.kind == "throughput" else latency_result(times)
