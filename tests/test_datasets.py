"""Tests for python/densekit/datasets.py: IDX parsing (valid and malformed), the real MNIST and
California housing files described in the SOURCE.md beside each dataset, and the BENCHMARKS.md
preprocessing. The module is loaded by file path so these tests run before the package is built.
Tests on real data skip when the shared data directory is absent."""

import gzip
import importlib.util
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

_MODULE_PATH = Path(__file__).resolve().parent.parent / "python" / "densekit" / "datasets.py"
_spec = importlib.util.spec_from_file_location("_densekit_datasets_under_test", _MODULE_PATH)
ds = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = ds  # dataclasses look the module up while the class is created
_spec.loader.exec_module(ds)


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------

_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}


def idx_bytes(arr: np.ndarray) -> bytes:
    code = _CODES[arr.dtype.type]
    header = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def raises_value_error(path: Path, *fragments: str):
    with pytest.raises(ValueError) as info:
        ds.load_idx(path)
    msg = str(info.value)
    assert str(path) in msg, msg
    for frag in fragments:
        assert frag in msg, msg
    return msg


def shared_dir(name: str) -> Path:
    try:
        return ds.find_shared_data(name)
    except FileNotFoundError:
        pytest.skip(f"shared data directory for {name!r} not present")


# ---------------------------------------------------------------------------------------------
# IDX round trips
# ---------------------------------------------------------------------------------------------

_rng = np.random.default_rng(0)
_ROUND_TRIP = {
    "uint8-3d": _rng.integers(0, 256, size=(4, 5, 3)).astype(np.uint8),
    "int8-1d": np.array([-128, -1, 0, 1, 127], dtype=np.int8),
    "int16-2d": np.array([[-32768, 0, 32767], [1, -2, 300]], dtype=np.int16),
    "int32-2d": np.array([[-(2**31), 2**31 - 1, 0], [123456789, -5, 7]], dtype=np.int32),
    "float32-2d": _rng.standard_normal((3, 7)).astype(np.float32),
    "float64-1d": np.array([np.pi, -0.0, 1e300, -1e-300]),
    "empty-dim": np.zeros((0, 28, 28), dtype=np.uint8),
}


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize("name", list(_ROUND_TRIP))
def test_idx_round_trip(tmp_path, name, compressed):
    arr = _ROUND_TRIP[name]
    data = idx_bytes(arr)
    path = write(tmp_path / "a.idx", gzip.compress(data) if compressed else data)
    out = ds.load_idx(path)
    assert out.dtype == arr.dtype and out.dtype.isnative
    assert out.shape == arr.shape
    np.testing.assert_array_equal(out, arr)
    assert ds.load_idx(str(path)).shape == arr.shape  # str and Path both accepted


def test_idx_compression_detected_by_content_not_name(tmp_path):
    arr = np.arange(12, dtype=np.int32).reshape(3, 4)
    gz_named_plain = write(tmp_path / "x-idx2-int.gz", idx_bytes(arr))
    plain_named_gz = write(tmp_path / "x-idx2-int", gzip.compress(idx_bytes(arr)))
    np.testing.assert_array_equal(ds.load_idx(gz_named_plain), arr)
    np.testing.assert_array_equal(ds.load_idx(plain_named_gz), arr)


def test_idx_multi_member_gzip(tmp_path):
    arr = np.arange(100, dtype=np.uint8)
    data = idx_bytes(arr)
    path = write(tmp_path / "m.gz", gzip.compress(data[:30]) + gzip.compress(data[30:]))
    np.testing.assert_array_equal(ds.load_idx(path), arr)


# ---------------------------------------------------------------------------------------------
# IDX malformed input
# ---------------------------------------------------------------------------------------------

_GOOD = idx_bytes(np.arange(24, dtype=np.int32).reshape(2, 3, 4))


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gz"])
def test_idx_truncated_payload(tmp_path, compressed):
    data = _GOOD[:-5]
    path = write(tmp_path / "t", gzip.compress(data) if compressed else data)
    raises_value_error(path, "truncated", "(2, 3, 4)", "96")


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gz"])
def test_idx_trailing_bytes(tmp_path, compressed):
    data = _GOOD + b"\x00\x01\x02"
    path = write(tmp_path / "t", gzip.compress(data) if compressed else data)
    raises_value_error(path, "3 trailing bytes", "(2, 3, 4)")


@pytest.mark.parametrize(
    "data, fragments",
    [
        (b"", ("truncated", "header", "found 0")),
        (b"\x00\x00", ("truncated", "header")),
        (b"\x00\x00\x08\x03\x00\x00\x00\x02", ("truncated", "header", "12 bytes")),
        (b"\x01\x00\x08\x01\x00\x00\x00\x01\x07", ("magic", "0x01000801")),
        (b"PK\x03\x04" + b"\x00" * 20, ("magic", "0x504B0304")),
        (b"\x00\x00\x0a\x01\x00\x00\x00\x01\x07", ("data type code 0x0A", "0x08 uint8")),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x07", ("data type code 0x07",)),
        (b"\x00\x00\x08\x00\x07", ("at least 1 dimension", "found 0")),
        (b"\x00\x00\x08\x02\xff\xff\xff\xff\xff\xff\xff\xff", ("truncated", "18446744065119617025")),
    ],
    ids=["empty", "short-magic", "short-dims", "bad-magic", "zip-magic", "dtype-0x0A", "dtype-0x07",
         "ndim-0", "huge-dims"],
)
def test_idx_bad_header(tmp_path, data, fragments):
    raises_value_error(write(tmp_path / "bad.idx", data), *fragments)
    # the same content gzipped must fail the same way
    raises_value_error(write(tmp_path / "bad.idx.gz", gzip.compress(data)), *fragments)


def test_idx_huge_header_in_small_gzip_is_rejected_before_allocating(tmp_path):
    data = b"\x00\x00\x0e\x03" + struct.pack(">3I", 100000, 100000, 100000)
    raises_value_error(write(tmp_path / "huge.gz", gzip.compress(data)), "truncated", "cannot hold")


def test_idx_corrupt_gzip_garbage_deflate(tmp_path):
    # valid gzip header (magic, deflate, no flags, mtime, xfl, os), then bytes that are not deflate
    data = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\xff" * 40
    raises_value_error(write(tmp_path / "garbage.gz", data), "gzip")


def test_idx_corrupt_gzip_bad_crc(tmp_path):
    gz = bytearray(gzip.compress(_GOOD))
    gz[-8] ^= 0xFF  # the CRC32 in the gzip trailer
    raises_value_error(write(tmp_path / "crc.gz", bytes(gz)), "gzip", "CRC")


def test_idx_corrupt_gzip_cut_short(tmp_path):
    gz = gzip.compress(_GOOD)
    raises_value_error(write(tmp_path / "cut.gz", gz[: len(gz) // 2]), "gzip")


def test_idx_corrupt_gzip_bad_header_flags(tmp_path):
    gz = bytearray(gzip.compress(_GOOD))
    gz[2] = 0x07  # compression method other than deflate
    raises_value_error(write(tmp_path / "method.gz", bytes(gz)), "gzip")


def test_idx_gzip_with_trailing_garbage(tmp_path):
    raises_value_error(write(tmp_path / "tail.gz", gzip.compress(_GOOD) + b"garbage!"), "gzip")


def test_idx_missing_file(tmp_path):
    missing = tmp_path / "nope-idx1-ubyte.gz"
    with pytest.raises(FileNotFoundError) as info:
        ds.load_idx(missing)
    assert str(missing) in str(info.value)


# ---------------------------------------------------------------------------------------------
# MNIST on small synthetic files
# ---------------------------------------------------------------------------------------------

def _write_mnist(directory: Path, n_train=6, n_test=4, compress=False, labels=None):
    rng = np.random.default_rng(1)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)).astype(np.uint8),
        "train-labels-idx1-ubyte": (np.arange(n_train) % 10).astype(np.uint8) if labels is None else labels,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)).astype(np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(n_test) % 10).astype(np.uint8),
    }
    directory.mkdir(exist_ok=True)
    for name, arr in arrays.items():
        data = idx_bytes(arr)
        if compress:
            write(directory / (name + ".gz"), gzip.compress(data))
        else:
            write(directory / name, data)
    return arrays


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gz"])
def test_load_mnist_synthetic(tmp_path, compress):
    arrays = _write_mnist(tmp_path / "m", compress=compress)
    (X, y), (Xt, yt) = ds.load_mnist(tmp_path / "m")
    np.testing.assert_array_equal(X, arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(y, arrays["train-labels-idx1-ubyte"])
    np.testing.assert_array_equal(Xt, arrays["t10k-images-idx3-ubyte"])
    np.testing.assert_array_equal(yt, arrays["t10k-labels-idx1-ubyte"])
    assert X.dtype == y.dtype == np.uint8


def test_load_mnist_count_mismatch(tmp_path):
    _write_mnist(tmp_path / "m", labels=np.zeros(5, dtype=np.uint8))
    with pytest.raises(ValueError, match=r"counts differ.*6 images.*5 labels"):
        ds.load_mnist(tmp_path / "m")


def test_load_mnist_label_out_of_range(tmp_path):
    _write_mnist(tmp_path / "m", labels=np.array([0, 1, 2, 10, 4, 5], dtype=np.uint8))
    with pytest.raises(ValueError, match=r"0\.\.9.*found 10 at index 3"):
        ds.load_mnist(tmp_path / "m")


def test_load_mnist_wrong_image_shape(tmp_path):
    _write_mnist(tmp_path / "m")
    write(tmp_path / "m" / "t10k-images-idx3-ubyte", idx_bytes(np.zeros((4, 28, 27), dtype=np.uint8)))
    with pytest.raises(ValueError, match=r"\(n, 28, 28\).*\(4, 28, 27\)"):
        ds.load_mnist(tmp_path / "m")


def test_load_mnist_missing_file(tmp_path):
    _write_mnist(tmp_path / "m")
    (tmp_path / "m" / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        ds.load_mnist(tmp_path / "m")
    with pytest.raises(FileNotFoundError):
        ds.load_mnist(tmp_path / "does-not-exist")


def test_mnist_for_experiments_needs_more_than_5000_images(tmp_path):
    _write_mnist(tmp_path / "m")
    with pytest.raises(ValueError, match="5000"):
        ds.mnist_for_experiments(tmp_path / "m")


# ---------------------------------------------------------------------------------------------
# MNIST on the real shared data (numbers from the SOURCE.md in the mnist data folder)
# ---------------------------------------------------------------------------------------------

_TRAIN_HIST = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
_TEST_HIST = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def mnist():
    return ds.load_mnist(shared_dir("mnist"))


def test_real_mnist_matches_source_md(mnist):
    (X, y), (Xt, yt) = mnist
    assert X.shape == (60000, 28, 28) and X.dtype == np.uint8
    assert y.shape == (60000,) and y.dtype == np.uint8
    assert Xt.shape == (10000, 28, 28) and Xt.dtype == np.uint8
    assert yt.shape == (10000,) and yt.dtype == np.uint8
    assert np.bincount(y, minlength=10).tolist() == _TRAIN_HIST
    assert np.bincount(yt, minlength=10).tolist() == _TEST_HIST
    train = X.astype(np.float64) / 255.0
    test = Xt.astype(np.float64) / 255.0
    assert round(train.mean(), 4) == 0.1307 and round(train.std(), 4) == 0.3081
    assert round(test.mean(), 4) == 0.1325 and round(test.std(), 4) == 0.3105


def test_real_mnist_for_experiments(mnist):
    (X, y), (Xv, yv), (Xt, yt) = ds.mnist_for_experiments(shared_dir("mnist"))
    (X_raw, y_raw), (Xt_raw, yt_raw) = mnist
    assert X.shape == (55000, 784) and Xv.shape == (5000, 784) and Xt.shape == (10000, 784)
    for a in (X, Xv, Xt):
        assert a.dtype == np.float32 and a.min() == 0.0 and a.max() == 1.0
    for a in (y, yv, yt):
        assert a.dtype == np.int64
    # validation = the LAST 5,000 training images, in order
    np.testing.assert_array_equal(yv, y_raw[55000:])
    np.testing.assert_array_equal(y, y_raw[:55000])
    np.testing.assert_array_equal(yt, yt_raw)
    np.testing.assert_array_equal(Xv[17], X_raw[55017].reshape(784).astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(Xt[-1] * 255, Xt_raw[-1].reshape(784).astype(np.float32))


# ---------------------------------------------------------------------------------------------
# California housing (numbers from the SOURCE.md in the california-housing data folder)
# ---------------------------------------------------------------------------------------------

_NUMERIC = ["longitude", "latitude", "housing_median_age", "total_rooms", "total_bedrooms",
            "population", "households", "median_income"]
_OCEAN = {"<1H OCEAN": 9136, "INLAND": 6551, "NEAR OCEAN": 2658, "NEAR BAY": 2290, "ISLAND": 5}


@pytest.fixture(scope="module")
def housing():
    return ds.load_california_housing(shared_dir("california-housing"))


def test_real_housing_matches_source_md(housing):
    assert housing.data.shape == (20640, 13) and housing.data.dtype == np.float64
    assert housing.target.shape == (20640,) and housing.target.dtype == np.float64
    names = housing.feature_names
    assert names[:8] == _NUMERIC
    assert names[8:] == ["ocean_proximity_" + c for c in sorted(_OCEAN)]
    nan_per_col = np.isnan(housing.data).sum(axis=0)
    assert nan_per_col[names.index("total_bedrooms")] == 207 and nan_per_col.sum() == 207
    one_hot = housing.data[:, 8:]
    assert set(np.unique(one_hot).tolist()) == {0.0, 1.0}
    assert (one_hot.sum(axis=1) == 1).all()
    counts = dict(zip((n[len("ocean_proximity_"):] for n in names[8:]), one_hot.sum(axis=0).astype(int).tolist()))
    assert counts == _OCEAN
    # first data row of housing.csv; target capped at 500,001
    np.testing.assert_array_equal(housing.data[0, :8], [-122.23, 37.88, 41.0, 880.0, 129.0, 322.0, 126.0, 8.3252])
    assert housing.target[0] == pytest.approx(4.526)
    assert housing.target.max() == pytest.approx(5.00001)


def test_housing_accepts_file_or_directory(housing):
    d = shared_dir("california-housing")
    again = ds.load_california_housing(d / "housing.csv")
    np.testing.assert_array_equal(again.data, housing.data)


def test_real_prepare_housing(housing):
    data_before = housing.data.copy()
    (X, y), (Xt, yt) = ds.prepare_housing(housing)
    np.testing.assert_array_equal(housing.data, data_before)  # input not modified
    assert X.shape == (16512, 13) and Xt.shape == (4128, 13)
    assert y.shape == (16512,) and yt.shape == (4128,)
    for a in (X, y, Xt, yt):
        assert a.dtype == np.float32 and np.isfinite(a).all()
    np.testing.assert_allclose(X[:, :8].mean(axis=0, dtype=np.float64), 0.0, atol=1e-5)
    np.testing.assert_allclose(X[:, :8].std(axis=0, dtype=np.float64), 1.0, atol=1e-4)
    assert set(np.unique(X[:, 8:]).tolist()) == {0.0, 1.0}
    assert set(np.unique(Xt[:, 8:]).tolist()) <= {0.0, 1.0}
    # test numerics use the train statistics: close to, but not exactly, 0 / 1
    assert np.abs(Xt[:, :8].mean(axis=0)).max() < 0.1
    # the split is a permutation of all rows: targets are preserved as a multiset
    np.testing.assert_allclose(np.sort(np.concatenate([y, yt])), np.sort(housing.target).astype(np.float32))
    # deterministic in the seed, different across seeds
    (X2, _), _ = ds.prepare_housing(housing, seed=42)
    np.testing.assert_array_equal(X, X2)
    (X3, _), _ = ds.prepare_housing(housing, seed=7)
    assert not np.array_equal(X, X3)


def test_prepare_housing_imputes_with_train_median():
    names = ["a", "total_bedrooms", "ocean_proximity_X", "ocean_proximity_Y"]
    n = 50
    data = np.zeros((n, 4))
    data[:, 0] = np.arange(n)
    data[:, 1] = np.arange(n) * 2.0
    data[::7, 1] = np.nan
    data[::2, 2] = 1.0
    data[1::2, 3] = 1.0
    fake = ds.HousingDataset(data=data, target=np.arange(n, dtype=float), feature_names=names)
    (X, y), (Xt, yt) = ds.prepare_housing(fake, test_fraction=0.2, seed=3)
    assert X.shape == (40, 4) and Xt.shape == (10, 4)
    # reconstruct the train split and check the imputed value is the train median, standardized
    perm = np.random.default_rng(3).permutation(n)
    train = data[perm[10:]]
    col = train[:, 1]
    med = np.nanmedian(col)
    filled = np.where(np.isnan(col), med, col)
    expected = (filled - filled.mean()) / filled.std()
    np.testing.assert_allclose(X[:, 1], expected.astype(np.float32), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(X[:, 2:], train[:, 2:].astype(np.float32))


@pytest.mark.parametrize("frac", [0.0, 1.0, -0.1, 1.5])
def test_prepare_housing_rejects_bad_fraction(housing, frac):
    with pytest.raises(ValueError, match="test_fraction"):
        ds.prepare_housing(housing, test_fraction=frac)


_HEADER = ("longitude,latitude,housing_median_age,total_rooms,total_bedrooms,population,households,"
           "median_income,median_house_value,ocean_proximity\n")
_ROW = "-122.23,37.88,41.0,880.0,129.0,322.0,126.0,8.3252,452600.0,NEAR BAY\n"


def test_housing_small_csv(tmp_path):
    text = _HEADER + _ROW + "-121.0,38.0,10.0,100.0,,50.0,20.0,2.5,100000.0,ISLAND\n\n"
    p = write(tmp_path / "housing.csv", text.encode())
    h = ds.load_california_housing(tmp_path)
    assert h.data.shape == (2, 13)
    assert np.isnan(h.data[1, 4]) and np.isnan(h.data).sum() == 1
    np.testing.assert_array_equal(h.target, [4.526, 1.0])
    assert h.data[0, 8 + 3] == 1.0 and h.data[1, 8 + 2] == 1.0  # NEAR BAY, ISLAND
    assert ds.load_california_housing(p).data.shape == (2, 13)


@pytest.mark.parametrize(
    "text, pattern",
    [
        (_HEADER.replace("median_income,", "") + _ROW, r"missing column.*median_income"),
        (_HEADER + _ROW.replace(",NEAR BAY", ""), r"line 2: expected 10 fields, found 9"),
        (_HEADER + _ROW + _ROW.replace("322.0", "abc"), r"line 3: column 'population': expected a finite number, found 'abc'"),
        (_HEADER + _ROW.replace("41.0", ""), r"line 2: column 'housing_median_age'"),
        (_HEADER + _ROW.replace("452600.0", "nan"), r"column 'median_house_value'"),
        (_HEADER + _ROW.replace("NEAR BAY", "ON THE MOON"), r"ocean_proximity.*ON THE MOON"),
        (_HEADER, r"at least one data row"),
        ("", r"header"),
    ],
    ids=["missing-column", "short-row", "non-numeric", "empty-cell", "nan-target", "unknown-category",
         "no-rows", "empty-file"],
)
def test_housing_malformed_csv(tmp_path, text, pattern):
    p = write(tmp_path / "housing.csv", text.encode())
    with pytest.raises(ValueError, match=pattern) as info:
        ds.load_california_housing(p)
    assert str(p) in str(info.value)


def test_housing_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="housing.csv"):
        ds.load_california_housing(tmp_path)


# ---------------------------------------------------------------------------------------------
# find_shared_data
# ---------------------------------------------------------------------------------------------

def test_find_shared_data_env_var(tmp_path, monkeypatch):
    (tmp_path / "mnist").mkdir()
    monkeypatch.setenv("DENSEKIT_DATA", str(tmp_path))
    assert ds.find_shared_data("mnist") == tmp_path / "mnist"
    with pytest.raises(FileNotFoundError, match="DENSEKIT_DATA"):
        ds.find_shared_data("no-such-dataset")


def test_find_shared_data_walks_up_from_cwd(tmp_path, monkeypatch):
    monkeypatch.delenv("DENSEKIT_DATA", raising=False)
    (tmp_path / "shared" / "data" / "toy-set").mkdir(parents=True)
    (tmp_path / "repo" / "sub").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "repo" / "sub")
    assert ds.find_shared_data("toy-set") == tmp_path / "shared" / "data" / "toy-set"
    with pytest.raises(FileNotFoundError, match=r"shared/data/definitely-absent-\w+.*DENSEKIT_DATA"):
        ds.find_shared_data("definitely-absent-xyz")
    with pytest.raises(ValueError):
        ds.find_shared_data("../etc")
