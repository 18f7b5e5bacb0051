"""densekit: fast training and deployment of deep dense neural networks on CPUs.

The C++ core (cpp/) owns every network's state and runs whole training steps; this package is the
Keras-like face of it. This file is the public namespace only: it imports the modules (each of
which imports only the tiers below it, see docs/design.md) and names what users reach as dk.X.
The command line (densekit.cli) is not imported here: `densekit` and `python -m densekit.cli`
load it on their own.
"""

import importlib

from . import (activations, callbacks, cloning, constraints, datasets, diagnostics,
               distributed, initializers, layers, losses, models, optimizers, presets, pretrain,
               pruning, regularizers, saving, schedules, utils)
from ._native import core as _core
from ._native import get_num_threads, set_num_threads
from ._version import __version__
from .learning_rate_finder import lr_finder
from .layers import Input  # keras.Input
from .models import Sequential, clone_model
from .pruning import prune
from .saving import ModelFileError, load_model


def __getattr__(name):
    # Tools with optional dependencies (scikit-learn, threadpoolctl, Ray, Optuna, onnx) and the
    # command line load on first use, so `import densekit` stays fast and imports none of them.
    if name in ("sklearn", "threadpool", "integrations", "export", "cli"):
        return importlib.import_module(f".{name}", __name__)
    if name == "export_onnx":
        return importlib.import_module(".export", __name__).export_onnx
    raise AttributeError(f"module 'densekit' has no attribute {name!r}")

__all__ = ["Sequential", "Input", "layers", "optimizers", "losses", "activations", "initializers",
           "regularizers", "constraints", "callbacks", "set_num_threads", "get_num_threads",
           "datasets", "schedules", "diagnostics", "presets", "lr_finder", "clone_model",
           "load_model", "ModelFileError", "pretrain", "saving", "export_onnx", "models", "utils",
           "distributed", "prune", "pruning"]
