"""Fixtures shared by the test files: small datasets, a model factory, state comparisons, the
thread-count guard, and the C++ build that every test of the C++ side shares.

Each is small on purpose (a few hundred rows, layers a few units wide): a test file should cost
seconds. Anything only one file needs stays in that file.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import densekit as dk


def _blobs(n=120, features=6, classes=3, seed=0):
    """Separable-ish classification data: class c centred at a random point, unit noise."""
    r = np.random.default_rng(seed)
    centers = r.normal(0.0, 2.0, size=(classes, features))
    y = r.integers(0, classes, size=n)
    return centers[y] + r.normal(0.0, 1.0, size=(n, features)), y


@pytest.fixture(scope="session")
def blobs():
    """blobs(n=120, features=6, classes=3, seed=0) -> (X, y): class ids y, X around one centre
    per class."""
    return _blobs


def _classifier(optimizer, features, classes, hidden=16, activation="tanh", seed=0,
                dtype="float64", metrics=()):
    model = dk.Sequential([dk.layers.Input(features), dk.layers.Dense(hidden, activation=activation),
                           dk.layers.Dense(classes, activation="softmax")], seed=seed, dtype=dtype)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=list(metrics))
    return model


@pytest.fixture(scope="session")
def make_classifier():
    """make_classifier(optimizer, features, classes, hidden=16, activation="tanh", seed=0,
    dtype="float64", metrics=()) -> Input → Dense(hidden) → Dense(classes, softmax), compiled
    with sparse categorical cross-entropy. Files bind their own defaults with functools.partial."""
    return _classifier


def _assert_same_weights(got, want):
    assert len(got) == len(want)
    for i, (a, b) in enumerate(zip(got, want)):
        np.testing.assert_array_equal(a, b, err_msg=f"weight {i}")


@pytest.fixture(scope="session")
def assert_same_weights():
    """assert_same_weights(got, want): two get_weights() lists are identical, bit for bit."""
    return _assert_same_weights


def _assert_same_state(got, want, path="state"):
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), f"{path}: keys differ"
        for key in want:
            _assert_same_state(got[key], want[key], f"{path}[{key!r}]")
    elif isinstance(want, np.ndarray):
        assert isinstance(got, np.ndarray) and got.dtype == want.dtype, f"{path}: dtype differs"
        np.testing.assert_array_equal(got, want, err_msg=path)
    else:
        assert got == want, f"{path}: {got!r} != {want!r}"


@pytest.fixture(scope="session")
def assert_same_state():
    """assert_same_state(got, want): two nested states (Sequential.get_state(),
    Optimizer.get_state(): dicts of arrays and numbers) are identical, bit for bit."""
    return _assert_same_state


@pytest.fixture
def restore_threads():
    """Puts densekit's thread count back after the test; yields the count before it."""
    before = dk.get_num_threads()
    yield before
    dk.set_num_threads(before)


ROOT = Path(__file__).resolve().parents[1]
CPP_BUILD_DIR = ROOT / "build" / "cpp-tests"


@pytest.fixture(scope="session")
def cpp_build():
    """The C++ library built alone (DENSEKIT_PYTHON=OFF) with its tests (tests/cpp, CTest) and the
    example programs, once per test session, in build/cpp-tests: kept between sessions, so a
    rerun rebuilds only what changed. Returns the build directory. Skips when cmake, ninja-or-make,
    a C++ compiler or Eigen's CMake package (cmeel-eigen, a test extra) is missing."""
    if shutil.which("cmake") is None or shutil.which("ctest") is None or (
            shutil.which("c++") is None and shutil.which("g++") is None):
        pytest.skip("cmake, ctest and a C++ compiler are needed to build the C++ side")
    try:
        prefix = subprocess.run([sys.executable, "-m", "cmeel", "cmake"], capture_output=True,
                                text=True, check=True).stdout.strip()
    except (subprocess.CalledProcessError, FileNotFoundError):
        pytest.skip("cmeel-eigen is not installed (pip install cmeel-eigen)")
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    if (CPP_BUILD_DIR / "CMakeCache.txt").exists():
        generator = []  # the cache knows its generator
    configure = ["cmake", "-S", str(ROOT), "-B", str(CPP_BUILD_DIR), *generator,
                 "-DCMAKE_BUILD_TYPE=Release", "-DDENSEKIT_PYTHON=OFF", "-DDENSEKIT_TESTS=ON",
                 "-DDENSEKIT_EXAMPLES=ON", f"-DCMAKE_PREFIX_PATH={prefix}",
                 f"-DPython_EXECUTABLE={sys.executable}"]
    for cmd in (configure, ["cmake", "--build", str(CPP_BUILD_DIR), "-j", "2"]):
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return CPP_BUILD_DIR
