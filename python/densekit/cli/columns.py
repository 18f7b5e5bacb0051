"""The training columns of a model trained on a CSV: which input column is which, and the target.

`densekit train` keeps them in the model file (format version 2: `model.feature_names` and
`model.target_name`), so `predict` and `evaluate` can match a CSV by column name (any order,
extra columns ignored) and name the prediction column after the target. Models trained before
version 2 kept them in a sidecar, `MODEL.columns.json` ({"format": "densekit-columns",
"version": 1, "features": [...], "target": "..."}), which is still read when the model file has
no names; train removes a sidecar beside the model it writes, so that one never describes
another model. Without either, a CSV is matched by position.
"""

import json
import os

from .errors import DataError

FORMAT, VERSION = "densekit-columns", 1


def path_for(model_path):
    return os.fspath(model_path) + ".columns.json"


def record(model, model_path):
    """{"features", "target"} for the model at `model_path`: from the model file, else from an
    old sidecar (None when neither names the columns)."""
    if model.feature_names is not None:
        return {"features": model.feature_names, "target": model.target_name}
    return read(model_path, model.input_dim)


def remove(model_path):
    try:
        os.unlink(path_for(model_path))
    except FileNotFoundError:
        pass


def read(model_path, n_inputs):
    """The record for the model at `model_path` (None if there is none), checked against the
    model's input width."""
    path = path_for(model_path)
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: unreadable column record ({e}); delete it to match CSV "
                        "columns by position") from None
    ok = (isinstance(doc, dict) and doc.get("format") == FORMAT and doc.get("version") == VERSION
          and isinstance(doc.get("features"), list)
          and all(isinstance(c, str) for c in doc["features"])
          and isinstance(doc.get("target"), str))
    if not ok:
        raise DataError(f"{path}: not a densekit column record (format {FORMAT!r} version "
                        f"{VERSION}); delete it to match CSV columns by position")
    if len(doc["features"]) != n_inputs:
        raise DataError(f"{path} lists {len(doc['features'])} feature columns, but the model "
                        f"takes {n_inputs}: it belongs to another model; delete it")
    return doc
