"""densekit: fast training and deployment of deep dense neural networks on CPUs.

The C++ core (cpp/) owns every network's state and runs whole training steps; this package is the
Keras-like face of it.
"""

from . import (activations, callbacks, constraints, initializers, layers, losses, optimizers,
               regularizers)
from ._native import _core
from .models import Sequential
from . import diagnostics, presets, schedules  # noqa: E402
from .schedules import lr_finder  # noqa: E402
from . import cloning, pretrain, saving  # noqa: E402 (issue 6)
from .cloning import clone_model  # noqa: E402
from .saving import ModelFileError, load_model  # noqa: E402

__version__ = "0.1.0"


def set_num_threads(n):
    """Threads used by densekit's kernels (default: OMP_NUM_THREADS, else the core count)."""
    if not (isinstance(n, int) and n >= 1):
        raise ValueError(f"set_num_threads: n must be an int >= 1, got {n!r}")
    _core.set_num_threads(n)


def get_num_threads():
    return _core.get_num_threads()


def __getattr__(name):
    # Modules with optional or heavier dependencies load on first use, keeping import fast.
    import importlib
    if name in ("datasets", "cli", "export"):
        return importlib.import_module(f".{name}", __name__)
    if name == "export_onnx":
        return importlib.import_module(".export", __name__).export_onnx
    raise AttributeError(f"module 'densekit' has no attribute {name!r}")


__all__ = ["Sequential", "layers", "optimizers", "losses", "activations", "initializers",
           "regularizers", "constraints", "callbacks", "set_num_threads", "get_num_threads",
           "datasets"]
__all__ += ["schedules", "diagnostics", "presets", "lr_finder"]
__all__ += ["clone_model", "load_model", "ModelFileError", "pretrain", "saving"]  # issue 6
__all__ += ["export_onnx"]  # issue 15 (lazy: see __getattr__)
