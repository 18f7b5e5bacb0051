"""Data files for the CLI: CSV with a header, NPZ (arrays X and y), NPY (features only) and IDX
(an images file, with its labels file), read into float64 feature matrices and targets.

What it is for: one place that knows the formats, which columns are features and which is the
target, and how to say precisely what is wrong with a file (file, line, column, value). IDX goes
through `densekit.datasets.load_idx`; CSV cells are parsed by NumPy's loader, and the file is
re-scanned with the `csv` module only to describe an error. It must not guess silently: a missing
column, a non-numeric cell or a wrong number of columns is a `DataError`; a column named on the
command line that the file lacks is a `UsageError`.
"""

import csv
import os
import re
import warnings
from dataclasses import dataclass
from typing import List, Optional

import numpy as np

from ..datasets import load_idx
from .errors import DataError, UsageError

FORMATS = "a CSV file with a header (.csv), an NPZ file with arrays X and y (.npz), an NPY " \
          "file of features (.npy) or an IDX file (e.g. train-images-idx3-ubyte[.gz])"


@dataclass
class Dataset:
    """Features X (n, features) float64, targets y (n,) or (n, k) float64 or None, and, for a CSV,
    the feature and target column names."""

    X: np.ndarray
    y: Optional[np.ndarray]
    features: Optional[List[str]] = None
    target: Optional[str] = None
    from_idx: bool = False


# ---------------------------------------------------------------------------------------------
# format detection
# ---------------------------------------------------------------------------------------------
def _format(path):
    if not os.path.exists(path):
        raise DataError(f"{path}: no such file")
    if os.path.isdir(path):
        raise DataError(f"{path}: is a directory; expected {FORMATS}")
    lower = path.lower()
    for ext in ("csv", "npz", "npy"):
        if lower.endswith("." + ext):
            return ext
    with open(path, "rb") as f:
        head = f.read(4)
    if head[:2] == b"\x00\x00" or (head[:2] == b"\x1f\x8b" and "idx" in os.path.basename(lower)):
        return "idx"
    raise DataError(f"{path}: unknown data format; expected {FORMATS}")


# ---------------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------------
def csv_header(path):
    with open(path, newline="", encoding="utf-8-sig") as f:
        header = next(csv.reader(f), None)
    if not header or not any(h.strip() for h in header):
        raise DataError(f"{path}: expected a header row naming the columns, found an empty file")
    header = [h.strip() for h in header]
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise DataError(f"{path}: column name(s) {dupes} appear more than once in the header")
    if any(h == "" for h in header):
        raise DataError(f"{path}: the header has an empty column name (column {header.index('') + 1})")
    return header


def _describe_csv_problem(path, header, columns):
    """The first cell or row that NumPy's loader rejected, as a sentence."""
    wanted = set(columns)
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        next(reader, None)
        for row in reader:
            if not row:
                continue
            where = f"{path}, line {reader.line_num}"
            if len(row) != len(header):
                return f"{where}: expected {len(header)} fields (as the header), found {len(row)}"
            for j in sorted(wanted):
                cell = row[j].strip()
                try:
                    float(cell)
                except ValueError:
                    what = "an empty cell" if not cell else f"{row[j]!r}"
                    return (f"{where}: column {header[j]!r} must be numeric, found {what} (the CLI "
                            "reads numeric columns only)")
    return None


def read_csv_columns(path, header, columns):
    """The named columns (indices into header) of a CSV as a float64 (rows, len(columns)) array."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)   # "input contained no data": said below
            table = np.loadtxt(path, delimiter=",", skiprows=1, usecols=columns, ndmin=2,
                               dtype=np.float64, encoding="utf-8-sig", quotechar='"', comments=None)
    except ValueError as e:
        raise DataError(_describe_csv_problem(path, header, columns) or f"{path}: {e}") from None
    if table.shape[0] == 0:
        raise DataError(f"{path}: expected data rows after the header, found none")
    bad = ~np.isfinite(table)
    if bad.any():
        r, c = (int(i) for i in np.argwhere(bad)[0])
        raise DataError(f"{path}: column {header[columns[c]]!r}, data row {r + 1}: expected a "
                        f"finite number, found {table[r, c]}")
    return table


def _column_index(path, header, name):
    if name in header:
        return header.index(name)
    raise UsageError(f"{path} has no column {name!r}; its columns are {header}")


# ---------------------------------------------------------------------------------------------
# NPZ / NPY / IDX
# ---------------------------------------------------------------------------------------------
def _as_matrix(a, path, what):
    a = np.asarray(a)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise DataError(f"{path}: {what} must be numeric, found dtype {a.dtype}")
    if a.ndim < 1 or a.shape[0] == 0:
        raise DataError(f"{path}: {what} has no samples (shape {a.shape})")
    if a.ndim == 1:
        raise DataError(f"{path}: {what} is 1-D (shape {a.shape}); expected (samples, features)")
    X = a.reshape(a.shape[0], -1).astype(np.float64)   # images (n, h, w) become (n, h*w)
    if not np.isfinite(X).all():
        raise DataError(f"{path}: {what} contains NaN or Inf")
    return X


def _as_targets(y, n, path, what):
    y = np.asarray(y)
    if y.dtype == object or not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
        raise DataError(f"{path}: {what} must be numeric, found dtype {y.dtype}")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim not in (1, 2) or y.shape[0] != n:
        raise DataError(f"{path}: {what} has shape {y.shape}; expected ({n},) to match the "
                        f"{n} samples of the features")
    y = y.astype(np.float64)
    if not np.isfinite(y).all():
        raise DataError(f"{path}: {what} contains NaN or Inf")
    return y


def _read_npz(path, need_targets):
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (ValueError, OSError) as e:
        raise DataError(f"{path}: not a readable NPZ file ({e})") from None
    if "X" not in arrays or (need_targets and "y" not in arrays):
        need = "arrays 'X' and 'y'" if need_targets else "an array 'X'"
        raise DataError(f"{path}: expected {need}, found {sorted(arrays)}")
    X = _as_matrix(arrays["X"], path, "X")
    y = _as_targets(arrays["y"], X.shape[0], path, "y") if "y" in arrays else None
    return Dataset(X, y)


def _read_npy(path):
    try:
        a = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as e:
        raise DataError(f"{path}: not a readable NPY file ({e})") from None
    return Dataset(_as_matrix(a, path, "the array"), None)


def matching_labels_file(images_path):
    """The labels file beside an IDX images file (MNIST naming: ...-images-idx3-ubyte ->
    ...-labels-idx1-ubyte, with or without .gz), or None."""
    directory, name = os.path.split(images_path)
    stem = name[:-3] if name.endswith(".gz") else name
    labels = re.sub(r"idx\d", "idx1", stem.replace("images", "labels"))
    if labels == stem:
        return None
    for candidate in (labels + ".gz", labels):
        full = os.path.join(directory, candidate)
        if os.path.isfile(full):
            return full
    return None


def _read_idx(path, need_targets, labels_path):
    X = _as_matrix(load_idx(path), path, "the IDX array")
    if labels_path is None and need_targets:
        labels_path = matching_labels_file(path)
        if labels_path is None:
            raise UsageError(f"no labels file found for {path} (looked for the matching "
                             "'...-labels-idx1-ubyte[.gz]' beside it); pass --labels FILE")
    y = None
    if labels_path is not None:
        y = _as_targets(load_idx(labels_path), X.shape[0], labels_path, "the labels")
    return Dataset(X, y, from_idx=True)


# ---------------------------------------------------------------------------------------------
# what the commands read
# ---------------------------------------------------------------------------------------------
def read_training_data(path, target=None, labels=None):
    """Features and targets for `train`: a CSV's target is `target` (default: the last column)."""
    fmt = _format(path)
    _check_options(fmt, path, target, labels)
    if fmt == "csv":
        header = csv_header(path)
        if len(header) < 2:
            raise DataError(f"{path}: expected at least two columns (features and a target), "
                            f"found {header}")
        t = _column_index(path, header, target) if target is not None else len(header) - 1
        features = [j for j in range(len(header)) if j != t]
        table = read_csv_columns(path, header, features + [t])
        return Dataset(table[:, :-1].copy(), table[:, -1].copy(), [header[j] for j in features],
                       header[t])
    if fmt == "npz":
        return _read_npz(path, need_targets=True)
    if fmt == "idx":
        return _read_idx(path, True, labels)
    raise DataError(f"{path}: an NPY file holds features only; training needs targets too "
                    "(use an NPZ file with arrays X and y, or a CSV)")


def read_model_inputs(path, n_inputs, columns=None, target=None, labels=None, need_targets=False):
    """Features (and with need_targets, targets) for `predict` / `evaluate` on a model that takes
    `n_inputs` features. `columns` is what training recorded ({"features", "target"}) for a
    model trained on a CSV: a CSV is then matched by column name, in any order."""
    fmt = _format(path)
    _check_options(fmt, path, target, labels)
    if fmt == "csv":
        data = _read_csv_for_model(path, n_inputs, columns, target, need_targets)
    elif fmt == "npz":
        data = _read_npz(path, need_targets)
    elif fmt == "idx":
        data = _read_idx(path, need_targets, labels)
    else:
        if need_targets:
            raise DataError(f"{path}: an NPY file holds features only; evaluating needs targets "
                            "too (use an NPZ file with arrays X and y, or a CSV)")
        data = _read_npy(path)
    if data.X.shape[1] != n_inputs:
        raise DataError(f"{path}: the samples have {data.X.shape[1]} features, but the model "
                        f"takes {n_inputs}")
    return data


def _read_csv_for_model(path, n_inputs, columns, target, need_targets):
    header = csv_header(path)
    if columns is not None:
        # Trained on a CSV: take the training features by name, ignore any other column.
        target = target if target is not None else columns["target"]
        missing = [c for c in columns["features"] if c not in header]
        if missing:
            raise DataError(f"{path} lacks the column(s) {missing} the model was trained on "
                            f"(it has {header})")
        features = [header.index(c) for c in columns["features"]]
    else:
        if target is None and need_targets:
            target = header[-1]
        features = [j for j, h in enumerate(header) if h != target]
        if len(features) != n_inputs:
            hint = "" if target is not None else " (pass --target COL to leave out a target column)"
            raise DataError(f"{path} has {len(features)} feature column(s), but the model takes "
                            f"{n_inputs}{hint}")
    t = None
    if need_targets:
        if columns is not None and target == columns["target"] and target not in header:
            raise DataError(f"{path} lacks the target column {target!r} the model was trained "
                            f"on (it has {header}); pass --target COL to use another")
        t = _column_index(path, header, target)
    table = read_csv_columns(path, header, features + ([t] if t is not None else []))
    if t is None:
        return Dataset(table, None, [header[j] for j in features])
    return Dataset(table[:, :-1].copy(), table[:, -1].copy(), [header[j] for j in features],
                   header[t])


def _check_options(fmt, path, target, labels):
    if target is not None and fmt != "csv":
        raise UsageError(f"--target names a CSV column, but {path} is not a CSV file")
    if labels is not None and fmt != "idx":
        raise UsageError(f"--labels goes with an IDX images file, but {path} is not one")
