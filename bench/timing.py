"""Shared measurement helpers for the framework adapters: synthetic data, timers, memory.

Every adapter times the same way through these functions, so the numbers are comparable: a
training figure is the median of per-epoch wall times after warm-up epochs; a latency is the
median of per-call wall times after warm-up calls. Nothing framework-specific belongs here.
"""

from __future__ import annotations

import resource
import statistics
import time
from typing import Callable

import numpy as np


def synthetic_data(n_samples: int, n_in: int, n_classes: int = 10):
    """Seeded float32 inputs (C-contiguous, standard normal) and int64 labels in [0, n_classes)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n_samples, n_in), dtype=np.float32)
    y = rng.integers(0, n_classes, size=n_samples, dtype=np.int64)
    return x, y


def time_epochs(run_epoch: Callable[[], object], epochs: int, warmup: int) -> tuple[list, list]:
    """Run `warmup` untimed then `epochs` timed epochs; returns (seconds per epoch, what each
    timed run_epoch returned, e.g. its last loss)."""
    for _ in range(warmup):
        run_epoch()
    times, outs = [], []
    for _ in range(epochs):
        t0 = time.perf_counter()
        out = run_epoch()
        times.append(time.perf_counter() - t0)
        outs.append(out)
    return times, outs


def time_calls(call: Callable[[], object], calls: int, warmup: int) -> list[float]:
    """Seconds of each of `calls` individual calls, after `warmup` untimed ones."""
    for _ in range(warmup):
        call()
    clock = time.perf_counter_ns
    times = [0.0] * calls
    for i in range(calls):
        t0 = clock()
        call()
        times[i] = (clock() - t0) * 1e-9
    return times


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def train_result(times: list[float], samples: int, losses: list) -> dict:
    out = {"value": median(times), "epoch_times_s": times, "samples_per_epoch": samples}
    if any(v is not None for v in losses):  # the last batch's loss: a sanity check, not timed
        out["last_loss"] = [None if v is None else float(v) for v in losses]
    return out


def latency_result(times: list[float]) -> dict:
    """I1-style result: median latency in µs, plus spread."""
    us = sorted(t * 1e6 for t in times)
    return {
        "value": median(us),
        "p10_us": us[len(us) // 10],
        "p90_us": us[(len(us) * 9) // 10],
        "calls": len(us),
    }


def throughput_result(times: list[float], batch: int) -> dict:
    """I2-style result: samples/s from the median per-call time."""
    t = median(times)
    return {"value": batch / t, "median_call_us": t * 1e6, "calls": len(times)}
