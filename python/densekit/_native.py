"""Loads the C++ extension and picks its float32/float64 classes (a leaf: imports nothing of
densekit).

One build of the core serves every x86-64 CPU: its kernels are chosen at run time for the CPU
(`ISA` says which path: "avx512", "avx2" or "portable"); DENSEKIT_ISA=portable|avx2|avx512 in the
environment forces a path the CPU supports (tests and benchmarks use it).

The OpenMP wait policy must be chosen before libgomp starts, i.e. before `_core` is imported.
Threads spin only briefly (GOMP_SPINCOUNT) before sleeping: on a quiet 2-core machine that
keeps the two halves of each product in step (W1 runs ~1.7x faster on 2 threads than on 1),
while every network's thread tuner (thread_tuner.hpp) drops to one thread — no parallel regions,
hence no spinning — when a busy neighbour makes the second thread a loss. Users who set
OMP_WAIT_POLICY or GOMP_SPINCOUNT keep their choice.
"""

import os

if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    os.environ["GOMP_SPINCOUNT"] = "20000"

_PATHS = ("portable", "avx2", "avx512")
if os.environ.get("DENSEKIT_ISA", "") not in ("", *_PATHS):
    raise ImportError(f"DENSEKIT_ISA must be one of {list(_PATHS)}, got {os.environ['DENSEKIT_ISA']!r}")

import importlib  # noqa: E402

import numpy as np  # noqa: E402

core = importlib.import_module("._core", __package__)  # the extension module (cpp/bindings)

# The kernels' instruction-set path on this machine: "avx512", "avx2" or "portable" (a path
# DENSEKIT_ISA names and the CPU lacks is refused on stderr, and the best one taken).
ISA = core.kernel_isa()

DTYPES = {"float32": np.float32, "float64": np.float64}
_SUFFIX = {np.dtype(np.float32): "32", np.dtype(np.float64): "64"}


def resolve_dtype(dtype):
    """Returns the NumPy dtype for "float32"/"float64" (or the dtype objects), else raises."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in _SUFFIX:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return dt


def core_class(name, dtype):
    """The C++ class `name` specialised for `dtype` (e.g. Network32 for float32)."""
    return getattr(core, name + _SUFFIX[np.dtype(dtype)])


def derive_seed(seed, stream):
    """A 64-bit seed for sub-stream `stream` of `seed` (splitmix64, as the C++ core does)."""
    mask = (1 << 64) - 1
    x = (seed * 0x9E3779B97F4A7C15 + (stream + 1) * 0xD1B54A32D192ED03) & mask
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & mask
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & mask
    return x ^ (x >> 31)


def set_num_threads(n):
    """Threads used by densekit's kernels (default: OMP_NUM_THREADS, else the core count)."""
    if not (isinstance(n, int) and n >= 1):
        raise ValueError(f"set_num_threads: n must be an int >= 1, got {n!r}")
    core.set_num_threads(n)


def get_num_threads():
    return core.get_num_threads()
