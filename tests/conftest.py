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


def _cmake_prefix_path():
    """CMAKE_PREFIX_PATH for building the C++ side (Eigen's CMake package from cmeel-eigen); skips
    the test when cmake, ctest, a C++ compiler or cmeel-eigen (a test extra) is missing."""
    if shutil.which("cmake") is None or shutil.which("ctest") is None or (
            shutil.which("c++") is None and shutil.which("g++") is None):
        pytest.skip("cmake, ctest and a C++ compiler are needed to build the C++ side")
    try:
        return subprocess.run([sys.executable, "-m", "cmeel", "cmake"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (subprocess.CalledProcessError, FileNotFoundError):
        pytest.skip("cmeel-eigen is not installed (pip install cmeel-eigen)")


def _cmake_build(build_dir, options, targets=()):
    """Configures ROOT into `build_dir` (kept between sessions, so a rerun rebuilds only what
    changed) with the C++ library alone (DENSEKIT_PYTHON=OFF, Release) and `options` (-D...),
    then builds `targets` (all if none) with 2 jobs. Returns build_dir."""
    prefix = _cmake_prefix_path()
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    if (build_dir / "CMakeCache.txt").exists():
        generator = []  # the cache knows its generator
    configure = ["cmake", "-S", str(ROOT), "-B", str(build_dir), *generator,
                 "-DCMAKE_BUILD_TYPE=Release", "-DDENSEKIT_PYTHON=OFF", *options,
                 f"-DCMAKE_PREFIX_PATH={prefix}", f"-DPython_EXECUTABLE={sys.executable}"]
    build = ["cmake", "--build", str(build_dir), "-j", "2"]
    if targets:
        build += ["--target", *targets]
    for cmd in (configure, build):
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return build_dir


@pytest.fixture(scope="session")
def cpp_build():
    """The C++ library built alone (DENSEKIT_PYTHON=OFF) with its tests (tests/cpp, CTest), the C
    interface (libdensekit_c.so) and the example programs, once per test session, in
    build/cpp-tests. Returns the build directory. Skips when cmake, ninja-or-make, a C++ compiler
    or Eigen's CMake package (cmeel-eigen, a test extra) is missing."""
    return _cmake_build(CPP_BUILD_DIR, ["-DDENSEKIT_TESTS=ON", "-DDENSEKIT_EXAMPLES=ON"])


@pytest.fixture(scope="session")
def cmake_prefix_path():
    """The CMAKE_PREFIX_PATH the C++ side builds with (Eigen's package), for projects that
    consume the installed library."""
    return _cmake_prefix_path()


@pytest.fixture(scope="session")
def cmake_build():
    """cmake_build(build_dir, options, targets=()) -> build_dir: ROOT configured into build_dir
    (C++ alone, Release, plus `options`) and `targets` built, as cpp_build does for its own
    directory. For other configurations (the static build in test_static_build.py)."""
    return _cmake_build
