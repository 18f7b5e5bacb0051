"""Loads the C++ extension and picks its float32/float64 classes (a leaf: imports nothing of
densekit).

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

import importlib  # noqa: E402

import numpy as np  # noqa: E402

try:  # which instruction sets this CPU has, as NumPy detected them
    from numpy._core._multiarray_umath import __cpu_features__ as _CPU_FEATURES  # noqa: E402
except ImportError:  # NumPy < 2
    from numpy.core._multiarray_umath import __cpu_features__ as _CPU_FEATURES  # noqa: E402

# Best first. Each entry: module name, the CPU features it needs (NumPy's names).
_VARIANTS = (
    ("_core_avx512", ("AVX512F", "AVX512CD", "AVX512BW", "AVX512DQ", "AVX512VL")),
    ("_core_avx2", ("AVX2", "FMA3")),
    ("_core", ()),
)




def _load_core():
    """Imports the fastest build of the C++ core this CPU runs (DENSEKIT_ISA overrides)."""
    forced = os.environ.get("DENSEKIT_ISA")
    names = {"avx512": "_core_avx512", "avx2": "_core_avx2", "portable": "_core", "native": "_core"}
    if forced:
        if forced not in names:
            raise ImportError(f"DENSEKIT_ISA must be one of {sorted(names)}, got {forced!r}")
        return importlib.import_module(f".{names[forced]}", __package__)
    features = _CPU_FEATURES
    for name, needs in _VARIANTS:
        if all(features.get(f, False) for f in needs):
            try:
                return importlib.import_module(f".{name}", __package__)
            except ImportError:
                continue  # not built (e.g. a native single-variant build)
    raise ImportError("densekit: no build of the C++ core could be imported")


core = _load_core()
# The compiler flags this build of the core was made with (e.g. "-march=x86-64-v3 ...").
ISA = getattr(core, "isa", "unknown")

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
