"""The column record `densekit train` keeps beside a model trained on a CSV.

`MODEL.columns.json` ({"format": "densekit-columns", "version": 1, "features": [...],
"target": "..."}) lets `predict` and `evaluate` match a CSV by column name (any order, extra
columns ignored) and name the prediction column after the target. The model file itself has no
field for column names (its format is versioned and strict), hence this small JSON file; without
it a CSV is matched by position. It is written atomically, and removed when a model trained on
other data replaces the model, so that it never describes another model.
"""

import json
import os

from .._files import atomic_write
from .errors import DataError

FORMAT, VERSION = "densekit-columns", 1


def path_for(model_path):
    return os.fspath(model_path) + ".columns.json"


def write(model_path, features, target):
    doc = {"format": FORMAT, "version": VERSION, "features": list(features), "target": target}
    atomic_write(path_for(model_path), (json.dumps(doc, indent=1) + "\n").encode(),
                 "densekit train")


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
