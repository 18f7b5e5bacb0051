"""`densekit info [MODEL]`: what a model file holds, or (without MODEL) the build and the machine.

For a model: the file's format version, checksum and size on disk, which densekit wrote it, the
dtype, parameter counts and bytes, the compile configuration, whether the optimizer state (for
resuming training) is saved, and the layer summary. The file is first loaded with
`dk.load_model`, which verifies it (checksum included); the format facts are then read from its
metadata, which the model file format documents (a safetensors header; see densekit.saving).
"""

import json
import os
import platform

import numpy as np
import safetensors

from .. import _native
from .._version import __version__
from ..saving import load_model
from .errors import DataError


def add_commands(sub):
    p = sub.add_parser("info", help="describe a model file (or, without one, the build)",
                       description="Describe MODEL: summary, sizes, dtype, checksum, format "
                       "version, optimizer state. Without MODEL: the densekit build and machine.")
    p.add_argument("model", metavar="MODEL", nargs="?")
    p.set_defaults(func=run)


def run(args):
    if args.model is None:
        return _describe_build()
    return _describe_model(args.model)


def _describe_build():
    print(f"densekit {__version__}  (core: {_native.core.__file__})")
    forced = os.environ.get("DENSEKIT_ISA")
    print(f"kernels: {_native.ISA} path on {_native.core.cpu_model() or 'this CPU'}"
          + (f" (DENSEKIT_ISA={forced})" if forced else " (the best this CPU runs)"))
    print(f"python {platform.python_version()}, numpy {np.__version__}")
    print(f"threads: {_native.get_num_threads()} (OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS', 'unset')}), cores: {os.cpu_count()}")
    return 0


def _file_metadata(path):
    with safetensors.safe_open(path, "numpy") as f:
        meta = f.metadata() or {}
    return meta, json.loads(meta.get("densekit", "{}"))


def _describe_model(path):
    if not os.path.exists(path):
        raise DataError(f"{path}: no such model file")
    model = load_model(path)          # verifies the whole file first
    meta, doc = _file_metadata(path)
    total = model.count_params()
    trainable = sum(layer.count_trainable_params() for layer in model.layers)
    itemsize = np.dtype(model.dtype).itemsize
    opt_state = doc.get("optimizer_state")
    compiled = doc.get("compile")

    print(f"{path}: densekit model file, format version {meta.get('format_version')} "
          f"(written by densekit {doc.get('densekit_version', '?')})")
    print(f"checksum: {meta.get('checksum')}")
    print(f"size on disk: {os.path.getsize(path):,} bytes")
    print(f"dtype: {np.dtype(model.dtype).name}")
    print(f"inputs: {model.input_dim}, outputs: {model.output_dim}")
    print(f"parameters: {total:,} ({trainable:,} trainable), {total * itemsize:,} bytes")
    if model.loss is not None:
        metrics = ", ".join(model.metrics_names[1:]) or "none"
        print(f"compiled: loss {model.loss.name}, metrics {metrics}, optimizer "
              f"{type(model.optimizer).__name__}")
    else:
        print("compiled: no (saved without a loss and optimizer)")
    if opt_state:
        print(f"optimizer state: saved (after {opt_state.get('iterations', 0):,} iterations: "
              "dk.load_model resumes training where it stopped)")
    else:
        print("optimizer state: not saved" + (" (weights only)" if compiled else ""))
    model.summary()
    return 0
