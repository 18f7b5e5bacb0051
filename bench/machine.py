"""Describe the machine and software a benchmark run used (goes into results.json and RESULTS.md).

Reads /proc and package metadata only: no framework is imported here, so the parent process
stays light while the workers measure.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from importlib import metadata


def _cpuinfo() -> dict:
    model, flags = None, set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, val = line.partition(":")
                key = key.strip()
                if key == "model name" and model is None:
                    model = val.strip()
                elif key == "flags" and not flags:
                    flags = set(val.split())
    except OSError:
        pass
    wanted = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "amx_tile")
    return {"cpu_model": model or platform.processor() or "unknown",
            "cpu_flags": [f for f in wanted if f in flags]}


def cpu_model() -> str:
    """The CPU's model name (what the experiment scripts print in their reports)."""
    return _cpuinfo()["cpu_model"]


def _mem_total_gib() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _git(repo: str) -> str | None:
    try:
        head = subprocess.run(["git", "-C", repo, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", repo, "status", "--porcelain"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return head.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def cpu_busy_seconds() -> float | None:
    """CPU-seconds all CPUs have spent busy since boot (steal included: time we could not run)."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    idle = v[3] + v[4]  # idle + iowait
    return (sum(v) - idle) / os.sysconf("SC_CLK_TCK")


def describe(threads: int, repo: str) -> dict:
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        **_cpuinfo(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "mem_total_gib": _mem_total_gib(),
        "load_avg_at_start": [round(v, 2) for v in os.getloadavg()],
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "numpy": _version("numpy"),
        "torch": _version("torch"),
        "onnxruntime": _version("onnxruntime"),
        "densekit": _version("densekit"),
        "git": _git(repo),
        "threads": (f"{threads} everywhere: OMP_NUM_THREADS/OPENBLAS_NUM_THREADS/MKL_NUM_THREADS="
                    f"{threads}, torch.set_num_threads({threads}), "
                    f"densekit.set_num_threads({threads}), NumPy BLAS via threadpoolctl, "
                    f"ONNX Runtime intra_op_num_threads={threads}"),
    }
