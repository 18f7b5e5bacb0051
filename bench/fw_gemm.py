"""The limit: only the GEMMs a workload does, timed alone with NumPy's BLAS (float32, out= arrays).

Training epoch, per batch of b rows and per Dense layer (in -> out):
  forward   Z = A @ W          A (b,in), W (in,out) -> Z (b,out)
  backward  dW = A.T @ dZ      A (b,in), dZ (b,out) -> dW (in,out)
            dA = dZ @ W.T      dZ (b,out), W (in,out) -> dA (b,in)   (not for the first layer)
The first layer reads the real data, row slice by row slice; every other buffer is preallocated
and reused, and dA of layer l is written where layer l-1 reads its dZ, as a real backward does.
Activations, loss, optimizer updates and bias terms are left out on purpose: this is the floor no
framework can beat at these shapes. Inference = the forward GEMMs only.
"""

from __future__ import annotations

import numpy as np

from timing import (latency_result, median, throughput_result, time_calls, time_epochs,
                    train_result)
from workloads import Workload

_LIMITS = None  # threadpoolctl limit on BLAS threads, held for the worker's lifetime


def setup(threads: int) -> dict:
    info = {"numpy_version": np.__version__}
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        return info
    global _LIMITS
    _LIMITS = threadpool_limits(threads, user_api="blas")
    info["blas"] = [
        {k: p.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
        for p in threadpool_info() if p.get("user_api") == "blas"
    ]
    return info


def _buffers(wl: Workload, rows: int):
    rng = np.random.default_rng(1)
    shapes = wl.dense_shapes
    # Scaled so values stay O(1) through the chain: no overflow, no denormals.
    ws = [(rng.standard_normal((i, o), dtype=np.float32) / np.sqrt(i)).astype(np.float32)
          for i, o in shapes]
    zs = [np.empty((rows, o), np.float32) for _, o in shapes]
    dzs = [rng.standard_normal((rows, o), dtype=np.float32) for _, o in shapes]
    dws = [np.empty((i, o), np.float32) for i, o in shapes]
    return ws, zs, dzs, dws


def epoch_flops(wl: Workload, samples: int) -> float:
    """FLOPs of one training epoch (Workload.train_flops_per_sample per sample)."""
    return wl.train_flops_per_sample * samples


def train(wl: Workload, x, y, epochs: int, warmup: int) -> dict:
    n, B = len(x), wl.batch
    ws, zs, dzs, dws = _buffers(wl, B)
    L = len(ws)
    matmul = np.matmul

    def epoch():
        for s in range(0, n, B):
            b = min(B, n - s)
            a = x[s:s + b]
            for l in range(L):
                matmul(a, ws[l], out=zs[l][:b])
                a = zs[l][:b]
            for l in reversed(range(L)):
                a_in = x[s:s + b] if l == 0 else zs[l - 1][:b]
                matmul(a_in.T, dzs[l][:b], out=dws[l])
                if l > 0:
                    matmul(dzs[l][:b], ws[l].T, out=dzs[l - 1][:b])
        return None

    times, losses = time_epochs(epoch, epochs, warmup)
    result = train_result(times, n, losses)
    flops = epoch_flops(wl, n)
    result["flops_per_epoch"] = flops
    result["gflops"] = flops / result["value"] / 1e9
    return result


def infer(wl: Workload, x, calls: int, warmup: int) -> dict:
    B = wl.batch
    ws, zs, _, _ = _buffers(wl, B)
    xb = x[:B].copy()
    matmul = np.matmul

    def forward():
        a = xb
        for w, z in zip(ws, zs):
            matmul(a, w, out=z)
            a = z

    times = time_calls(forward, calls, warmup)
    result = throughput_result(times, B) if wl.kind == "throughput" else latency_result(times)
    flops = sum(2.0 * B * i * o for i, o in wl.dense_shapes)
    result["gflops"] = flops / median(times) / 1e9
    return result
