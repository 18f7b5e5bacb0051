"""The machine's float32 peak, as BENCHMARKS.md defines it: the best rate of one large product
(4096 × 4096 × 4096, float32, `threads` threads) among the libraries present — MKL through
torch, OpenBLAS through NumPy, and densekit's own engine (through its public API: a 4096-wide
Dense layer without bias predicting a 4096-row batch, which is one product on pre-packed
weights). Each library is measured in its own worker process (run.py); a library that is not
installed is left out. Training workloads' GFLOP/s are reported as a fraction of the best.
"""

from __future__ import annotations

import time

import numpy as np

N = 4096
FLOPS = 2.0 * N * N * N


def _best_rate(call, repeats: int = 5) -> dict:
    call()  # warm-up: thread pools, packing buffers, page faults
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    best = min(times)  # the peak is the best the machine sustains, not a typical call
    return {"status": "ok", "value": FLOPS / best / 1e9, "unit": "GFLOP/s", "seconds": times,
            "shape": [N, N, N]}


def _operands():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((N, N), dtype=np.float32)
    b = (rng.standard_normal((N, N), dtype=np.float32) / np.float32(np.sqrt(N))).astype(np.float32)
    return a, b


def numpy_peak() -> dict:
    a, b = _operands()
    out = np.empty((N, N), np.float32)
    return _best_rate(lambda: np.matmul(a, b, out=out))


def torch_peak() -> dict:
    import torch

    a, b = (torch.from_numpy(m) for m in _operands())
    out = torch.empty((N, N), dtype=torch.float32)
    return _best_rate(lambda: torch.mm(a, b, out=out))


def densekit_peak() -> dict:
    import densekit as dk

    a, b = _operands()
    model = dk.Sequential([dk.layers.Input(N), dk.layers.Dense(N, use_bias=False)], seed=0)
    model.layers[0].set_weights([b])
    return _best_rate(lambda: model.predict(a, batch_size=N))
