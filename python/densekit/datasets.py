"""Loaders for the real datasets densekit is measured on: MNIST and California housing.

This module reads data that is already on disk (the IDX files of MNIST, plain or gzipped, and
Géron's ``housing.csv``) and turns it into NumPy arrays, plus the exact preprocessing densekit's
accuracy benchmarks use (bench/ACCURACY.md), so tests, benchmarks and examples all see the same
numbers. It is pure Python + NumPy.

What it must not do: it never downloads anything and never writes anywhere. If a file is
missing the loaders raise FileNotFoundError saying where they looked; every malformed input
raises ValueError naming the file, what was expected and what was found, never a silently
wrong array.

The loaders take a path. Without one, :func:`find_shared_data` looks for a ``shared/data/<name>``
folder in the working directory or one of its parents (how densekit's own test and benchmark
machines keep the data); the environment variable ``DENSEKIT_DATA`` (a directory holding
``mnist/`` and ``california-housing/``) overrides that search.
"""

from __future__ import annotations

import csv
import dataclasses
import errno
import gzip
import math
import os
import struct
import zlib
from pathlib import Path
from typing import List, Optional, Tuple, Union

import numpy as np

__all__ = [
    "DEFAULT_DATA_DIR",
    "DATA_ENV_VAR",
    "find_shared_data",
    "load_idx",
    "load_mnist",
    "mnist_for_experiments",
    "HousingDataset",
    "load_california_housing",
    "prepare_housing",
]

PathLike = Union[str, "os.PathLike[str]"]

# ---------------------------------------------------------------------------------------------
# Where the data lives
# ---------------------------------------------------------------------------------------------

#: Where the data folder is looked for by default, relative to a checkout of densekit.
DEFAULT_DATA_DIR = os.path.join("..", "shared", "data")

#: Environment variable naming a directory that holds the dataset folders (``mnist/``, ...).
DATA_ENV_VAR = "DENSEKIT_DATA"


def find_shared_data(name: str) -> Path:
    """Return the directory ``shared/data/<name>`` found from here upward (see the module doc).

    Looks in this order:

    1. ``$DENSEKIT_DATA/<name>`` if the environment variable is set (and then nowhere else:
       an explicit setting that points to the wrong place is an error, not a hint);
    2. ``<d>/shared/data/<name>`` for ``d`` = the current working directory and each of its
       parents, then this file's directory and each of its parents.

    Raises FileNotFoundError listing what was tried if no such directory exists.
    """
    if not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\\" in name:
        raise ValueError(f"find_shared_data: name must be a plain directory name such as 'mnist', got {name!r}")

    env = os.environ.get(DATA_ENV_VAR)
    if env:
        candidate = Path(env).expanduser() / name
        if candidate.is_dir():
            return candidate
        raise FileNotFoundError(
            f"dataset directory {name!r} not found: {DATA_ENV_VAR}={env!r} is set, "
            f"but {str(candidate)!r} is not a directory"
        )

    starts = []
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        if start not in starts:
            starts.append(start)
    for start in starts:
        for d in (start, *start.parents):
            candidate = d / "shared" / "data" / name
            if candidate.is_dir():
                return candidate
    raise FileNotFoundError(
        f"dataset directory 'shared/data/{name}' not found: looked upward from "
        + " and from ".join(repr(str(s)) for s in starts)
        + f"; pass the data's path to the loader, or set {DATA_ENV_VAR} to the directory that "
        f"holds '{name}/'. densekit never downloads data."
    )


# ---------------------------------------------------------------------------------------------
# IDX files
# ---------------------------------------------------------------------------------------------

_GZIP_MAGIC = b"\x1f\x8b"
# IDX type code -> big-endian dtype of the payload.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_DTYPE_NAMES = ", ".join(f"0x{c:02X} {d.name}" for c, d in _IDX_DTYPES.items())
# Deflate cannot expand data by more than about 1032:1, so a header that declares more payload
# than that is truncated for sure; checking first avoids allocating for a corrupt header.
_DEFLATE_MAX_RATIO = 1032
_CHUNK = 1 << 20


def _read_exactly(f, n: int) -> bytes:
    """Read up to n bytes, looping over short reads; fewer only at end of stream."""
    parts = []
    while n > 0:
        b = f.read(n)
        if not b:
            break
        parts.append(b)
        n -= len(b)
    return b"".join(parts)


def _count_rest(f) -> int:
    n = 0
    while True:
        b = f.read(_CHUNK)
        if not b:
            return n
        n += len(b)


def _read_idx_stream(f, path: str, gz_size: Optional[int], plain_size: Optional[int]) -> np.ndarray:
    where = f"{path}{' (gzip-compressed)' if gz_size is not None else ''}"

    head = _read_exactly(f, 4)
    if len(head) < 4:
        raise ValueError(f"{where}: truncated IDX header: expected 4 magic bytes, found {len(head)} bytes")
    if head[0] != 0 or head[1] != 0:
        raise ValueError(
            f"{where}: bad IDX magic: expected the first two bytes to be 0x00 0x00 "
            f"(e.g. 0x00000803), found 0x{head.hex().upper()}"
            + (" — this looks like a gzip file compressed twice" if head[:2] == _GZIP_MAGIC else "")
        )
    code, ndim = head[2], head[3]
    if code not in _IDX_DTYPES:
        raise ValueError(f"{where}: unknown IDX data type code 0x{code:02X}: expected one of {_IDX_DTYPE_NAMES}")
    if ndim < 1:
        raise ValueError(f"{where}: bad IDX header: expected at least 1 dimension, found {ndim}")

    raw_dims = _read_exactly(f, 4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise ValueError(
            f"{where}: truncated IDX header: {ndim} dimensions need {4 * ndim} bytes of sizes, "
            f"found {len(raw_dims)} bytes"
        )
    shape = struct.unpack(f">{ndim}I", raw_dims)
    be = _IDX_DTYPES[code]
    header_len = 4 + 4 * ndim
    n_bytes = math.prod(shape) * be.itemsize  # Python ints: no overflow on absurd headers
    declared = f"header declares shape {shape} {be.name} = {n_bytes} payload bytes"

    if plain_size is not None:
        found = plain_size - header_len
        if found < n_bytes:
            raise ValueError(f"{where}: truncated IDX payload: {declared}, found {found} bytes after the {header_len}-byte header")
        if found > n_bytes:
            raise ValueError(f"{where}: {found - n_bytes} trailing bytes after the IDX payload: {declared}, found {found} bytes after the {header_len}-byte header")
    elif gz_size is not None and header_len + n_bytes > _DEFLATE_MAX_RATIO * gz_size + 1024:
        raise ValueError(
            f"{where}: truncated IDX payload: {declared}, but a {gz_size}-byte gzip file cannot "
            f"hold that much (deflate expands at most ~{_DEFLATE_MAX_RATIO}:1)"
        )

    buf = np.empty(n_bytes, dtype=np.uint8)
    view = memoryview(buf)
    pos = 0
    while pos < n_bytes:
        got = f.readinto(view[pos:pos + _CHUNK])
        if not got:
            break
        pos += got
    if pos < n_bytes:
        raise ValueError(f"{where}: truncated IDX payload: {declared}, found only {pos} bytes")
    # Reading past the payload also makes gzip verify its CRC and length trailer.
    extra = _count_rest(f)
    if extra:
        raise ValueError(f"{where}: {extra} trailing bytes after the IDX payload: {declared}, found {n_bytes + extra} bytes")

    arr = buf.view(be)
    if not be.isnative:
        arr.byteswap(inplace=True)  # in place: no second copy of a large payload
        arr = arr.view(be.newbyteorder("="))
    return arr.reshape(shape)


def load_idx(path: PathLike) -> np.ndarray:
    """Read an IDX file (plain or gzip-compressed) into a NumPy array.

    Compression is detected from the gzip magic bytes, not the file name. The header
    (two zero bytes, a type code, the number of dimensions, then one big-endian uint32 per
    dimension) is validated, and the payload must have exactly the declared size.
    Type codes: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.
    The result is in native byte order with the declared shape.

    Raises FileNotFoundError if the file does not exist and ValueError (naming the file, what
    was expected and what was found) for a bad magic, unknown type code, truncated header or
    payload, trailing bytes, or a corrupt gzip stream.
    """
    path = os.fspath(path)
    try:
        raw = open(path, "rb")
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, "IDX file not found", path) from None
    with raw:
        size = os.fstat(raw.fileno()).st_size
        is_gz = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        if not is_gz:
            return _read_idx_stream(raw, path, gz_size=None, plain_size=size)
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as f:
                return _read_idx_stream(f, path, gz_size=size, plain_size=None)
        except (gzip.BadGzipFile, EOFError, zlib.error) as e:
            raise ValueError(
                f"{path}: corrupt or truncated gzip stream: the file starts with the gzip magic "
                f"1F 8B, so a valid gzip stream was expected, but decompressing it failed: {e}"
            ) from e


# ---------------------------------------------------------------------------------------------
# MNIST
# ---------------------------------------------------------------------------------------------

_MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

ArrayPair = Tuple[np.ndarray, np.ndarray]


def _mnist_file(directory: Path, stem: str) -> Path:
    for candidate in (directory / (stem + ".gz"), directory / stem):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        errno.ENOENT,
        f"MNIST file not found: expected {stem + '.gz'!r} or {stem!r} in the directory",
        str(directory),
    )


def _check_mnist_split(split: str, X: np.ndarray, y: np.ndarray, xpath: Path, ypath: Path) -> None:
    if X.dtype != np.uint8 or X.ndim != 3 or X.shape[1:] != (28, 28):
        raise ValueError(f"{xpath}: expected uint8 images of shape (n, 28, 28), found {X.dtype} {X.shape}")
    if y.dtype != np.uint8 or y.ndim != 1:
        raise ValueError(f"{ypath}: expected uint8 labels of shape (n,), found {y.dtype} {y.shape}")
    if X.shape[0] != y.shape[0]:
        raise ValueError(
            f"MNIST {split} split: image and label counts differ: {xpath} holds {X.shape[0]} "
            f"images, {ypath} holds {y.shape[0]} labels"
        )
    if y.size and int(y.max()) > 9:
        bad = int(np.flatnonzero(y > 9)[0])
        raise ValueError(f"{ypath}: expected labels in 0..9, found {int(y[bad])} at index {bad}")


def load_mnist(path: Optional[PathLike] = None) -> Tuple[ArrayPair, ArrayPair]:
    """Load MNIST from a directory holding the four original IDX files.

    Each file may be gzipped (``train-images-idx3-ubyte.gz``) or not
    (``train-images-idx3-ubyte``); if both exist the ``.gz`` one is used. ``path=None`` means
    ``find_shared_data("mnist")``.

    Returns ``(X_train, y_train), (X_test, y_test)`` like ``keras.datasets.mnist.load_data()``:
    uint8 images of shape (n, 28, 28) and uint8 labels of shape (n,) in 0..9.
    """
    directory = find_shared_data("mnist") if path is None else Path(os.fspath(path))
    if not directory.is_dir():
        if directory.exists():
            raise ValueError(f"{directory}: expected the directory holding the four MNIST IDX files, found a file")
        raise FileNotFoundError(errno.ENOENT, "MNIST directory not found", str(directory))
    files = {key: _mnist_file(directory, stem) for key, stem in _MNIST_FILES.items()}
    out = []
    for split in ("train", "test"):
        xpath, ypath = files[f"{split}_images"], files[f"{split}_labels"]
        X, y = load_idx(xpath), load_idx(ypath)
        _check_mnist_split(split, X, y, xpath, ypath)
        out.append((X, y))
    return out[0], out[1]


def mnist_for_experiments(path: Optional[PathLike] = None) -> Tuple[ArrayPair, ArrayPair, ArrayPair]:
    """MNIST as densekit's accuracy benchmarks use it (bench/ACCURACY.md).

    Images flattened to 784 float32 values in [0, 1] (pixels / 255); the validation set is the
    last 5,000 training images, the test set the 10,000 test images; labels are int64.
    Returns ``(X_train, y_train), (X_valid, y_valid), (X_test, y_test)`` (55,000 / 5,000 /
    10,000 rows for the real data).
    """
    (X_full, y_full), (X_te, y_te) = load_mnist(path)
    n_valid = 5000
    if X_full.shape[0] <= n_valid:
        raise ValueError(
            f"mnist_for_experiments: expected more than {n_valid} training images "
            f"(the last {n_valid} become the validation set), found {X_full.shape[0]}"
        )

    def to_float(X: np.ndarray) -> np.ndarray:
        out = X.reshape(X.shape[0], -1).astype(np.float32)
        out /= np.float32(255.0)
        return out

    X_full, X_te = to_float(X_full), to_float(X_te)
    y_full, y_te = y_full.astype(np.int64), y_te.astype(np.int64)
    n_train = X_full.shape[0] - n_valid
    return (
        (X_full[:n_train], y_full[:n_train]),
        (X_full[n_train:], y_full[n_train:]),
        (X_te, y_te),
    )


# ---------------------------------------------------------------------------------------------
# California housing
# ---------------------------------------------------------------------------------------------

_HOUSING_NUMERIC = (
    "longitude",
    "latitude",
    "housing_median_age",
    "total_rooms",
    "total_bedrooms",
    "population",
    "households",
    "median_income",
)
_HOUSING_TARGET = "median_house_value"
_HOUSING_CATEGORY = "ocean_proximity"
# Fixed (sorted) order of the one-hot columns, independent of which categories a file contains.
_HOUSING_CATEGORIES = ("<1H OCEAN", "INLAND", "ISLAND", "NEAR BAY", "NEAR OCEAN")
_HOUSING_MAY_BE_EMPTY = ("total_bedrooms",)
_ONE_HOT_PREFIX = _HOUSING_CATEGORY + "_"


@dataclasses.dataclass
class HousingDataset:
    """California housing as loaded by :func:`load_california_housing`.

    ``data``: float64 (n, 13): the 8 numeric features in CSV order (``total_bedrooms`` is NaN
    where the CSV cell is empty), then one 0/1 column per ``ocean_proximity`` category in
    ``categories`` order. ``target``: float64 (n,), median_house_value in units of $100,000.
    """

    data: np.ndarray
    target: np.ndarray
    feature_names: List[str]
    target_name: str = "median_house_value / 100000"
    categories: Tuple[str, ...] = _HOUSING_CATEGORIES


def _housing_csv(path: Optional[PathLike]) -> Path:
    p = find_shared_data("california-housing") if path is None else Path(os.fspath(path))
    if p.is_dir():
        p = p / "housing.csv"
    if not p.is_file():
        raise FileNotFoundError(errno.ENOENT, "California housing CSV not found", str(p))
    return p


def load_california_housing(path: Optional[PathLike] = None) -> HousingDataset:
    """Load Géron's ``housing.csv`` (the file itself or the directory that holds it).

    ``path=None`` means ``find_shared_data("california-housing")``. Columns are found by name
    in the header; every data row must have as many fields as the header. Numeric cells must
    be finite numbers; only ``total_bedrooms`` may be empty (-> NaN). ``ocean_proximity`` must
    be one of the five known categories.
    """
    csv_path = _housing_csv(path)
    with open(csv_path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{csv_path}: expected a header row, found an empty file")
        header = [h.strip() for h in header]
        required = (*_HOUSING_NUMERIC, _HOUSING_TARGET, _HOUSING_CATEGORY)
        missing = [c for c in required if c not in header]
        if missing:
            raise ValueError(f"{csv_path}: missing column(s) {missing}: expected {list(required)}, found {header}")
        dupes = sorted({c for c in required if header.count(c) > 1})
        if dupes:
            raise ValueError(f"{csv_path}: column(s) {dupes} appear more than once in the header {header}")
        num_idx = [header.index(c) for c in _HOUSING_NUMERIC]
        tgt_idx = header.index(_HOUSING_TARGET)
        cat_idx = header.index(_HOUSING_CATEGORY)
        may_be_empty = {header.index(c) for c in _HOUSING_MAY_BE_EMPTY}
        cat_code = {c: i for i, c in enumerate(_HOUSING_CATEGORIES)}
        n_fields = len(header)

        numeric: List[List[float]] = []
        target: List[float] = []
        cats: List[int] = []
        for row in reader:
            if not row:  # blank line (e.g. at the end of the file)
                continue
            where = f"{csv_path}, line {reader.line_num}"
            if len(row) != n_fields:
                raise ValueError(f"{where}: expected {n_fields} fields, found {len(row)}: {row}")
            values = []
            for j in (*num_idx, tgt_idx):
                cell = row[j].strip()
                if not cell and j in may_be_empty:
                    values.append(math.nan)
                    continue
                try:
                    v = float(cell)
                except ValueError:
                    v = math.nan
                if not math.isfinite(v):
                    raise ValueError(f"{where}: column {header[j]!r}: expected a finite number, found {row[j]!r}")
                values.append(v)
            target.append(values.pop())
            numeric.append(values)
            cat = row[cat_idx].strip()
            if cat not in cat_code:
                raise ValueError(
                    f"{where}: column {_HOUSING_CATEGORY!r}: expected one of {list(_HOUSING_CATEGORIES)}, found {row[cat_idx]!r}"
                )
            cats.append(cat_code[cat])

    if not numeric:
        raise ValueError(f"{csv_path}: expected at least one data row, found none")
    n = len(numeric)
    data = np.zeros((n, len(_HOUSING_NUMERIC) + len(_HOUSING_CATEGORIES)), dtype=np.float64)
    data[:, : len(_HOUSING_NUMERIC)] = np.asarray(numeric, dtype=np.float64)
    data[np.arange(n), len(_HOUSING_NUMERIC) + np.asarray(cats)] = 1.0
    names = list(_HOUSING_NUMERIC) + [_ONE_HOT_PREFIX + c for c in _HOUSING_CATEGORIES]
    return HousingDataset(
        data=data,
        target=np.asarray(target, dtype=np.float64) / 100_000.0,
        feature_names=names,
    )


def prepare_housing(dataset, test_fraction: float = 0.2, seed: int = 42) -> Tuple[ArrayPair, ArrayPair]:
    """The housing preprocessing of densekit's accuracy benchmarks (bench/ACCURACY.md).

    Shuffles the rows with ``np.random.default_rng(seed)``, puts the first
    ``ceil(test_fraction * n)`` shuffled rows in the test set and the rest in the training set,
    replaces missing values (``total_bedrooms``) by the TRAINING median, and standardizes each
    numeric column with the training mean and (population) standard deviation. One-hot
    ``ocean_proximity_*`` columns stay 0/1. ``dataset`` is what :func:`load_california_housing`
    returns (anything with ``data``, ``target`` and ``feature_names``); it is not modified.

    Returns ``(X_train, y_train), (X_test, y_test)``, all float32.
    """
    data = np.asarray(dataset.data, dtype=np.float64)
    target = np.asarray(dataset.target, dtype=np.float64)
    names = list(dataset.feature_names)
    if data.ndim != 2 or data.shape[1] != len(names):
        raise ValueError(
            f"prepare_housing: expected data of shape (n, {len(names)}) to match feature_names, found {data.shape}"
        )
    if target.shape != (data.shape[0],):
        raise ValueError(f"prepare_housing: expected target of shape ({data.shape[0]},), found {target.shape}")
    if not (isinstance(test_fraction, (int, float)) and 0.0 < test_fraction < 1.0):
        raise ValueError(f"prepare_housing: test_fraction must be in (0, 1), got {test_fraction!r}")
    n = data.shape[0]
    n_test = int(math.ceil(test_fraction * n))
    if n_test < 1 or n - n_test < 2:
        raise ValueError(
            f"prepare_housing: {n} rows with test_fraction={test_fraction} leave {n_test} test and "
            f"{n - n_test} training rows; need at least 1 and 2"
        )

    perm = np.random.default_rng(seed).permutation(n)
    test_rows, train_rows = perm[:n_test], perm[n_test:]
    X_train, X_test = data[train_rows], data[test_rows]  # fancy indexing copies
    y_train, y_test = target[train_rows], target[test_rows]

    numeric = [j for j, name in enumerate(names) if not name.startswith(_ONE_HOT_PREFIX)]
    for j in numeric:
        col = X_train[:, j]
        if np.isnan(col).any() or np.isnan(X_test[:, j]).any():
            if np.isnan(col).all():
                raise ValueError(f"prepare_housing: column {names[j]!r} has no values in the training split to take a median of")
            median = np.nanmedian(col)
            col[np.isnan(col)] = median
            X_test[np.isnan(X_test[:, j]), j] = median
        mean, std = col.mean(), col.std()
        if std == 0.0:
            std = 1.0  # a constant column: centre it, don't divide by zero
        X_train[:, j] = (col - mean) / std
        X_test[:, j] = (X_test[:, j] - mean) / std

    f32 = np.float32
    return (X_train.astype(f32), y_train.astype(f32)), (X_test.astype(f32), y_test.astype(f32))
