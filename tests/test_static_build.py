"""The small static build (SPEC §3: a static build of the library plus a small serving example
has no Python or BLAS dependency): the examples built with DENSEKIT_OPENMP=OFF and
DENSEKIT_STATIC_RUNTIME=ON depend on the C library alone (no libstdc++, libgcc_s, libgomp or
libpython), weigh at most 2 MB stripped, and reproduce model.predict.

Marked slow: it compiles the core a second time (without OpenMP), in build/cpp-static, which takes
minutes on 2 cores the first time (later runs rebuild only what changed).
bench/deployment_latency.py measures the same binaries (bench/DEPLOYMENT.md).
"""

import subprocess
from pathlib import Path

import numpy as np
import pytest

import densekit as dk

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ("densekit_predict", "densekit_predict_c")


@pytest.fixture(scope="module")
def static_build(cmake_build):
    return cmake_build(ROOT / "build" / "cpp-static",
                       ["-DDENSEKIT_OPENMP=OFF", "-DDENSEKIT_STATIC_RUNTIME=ON", "-DDENSEKIT_EXAMPLES=ON"],
                       targets=EXAMPLES)


@pytest.mark.parametrize("example", EXAMPLES)
def test_static_example_is_small_and_self_contained(static_build, example, tmp_path):
    binary = static_build / example
    dynamic = subprocess.run(["readelf", "-d", str(binary)], capture_output=True, text=True,
                             check=True).stdout
    needed = [line.split("[")[1].rstrip("]") for line in dynamic.splitlines() if "(NEEDED)" in line]
    assert needed, dynamic  # dynamically linked against the C library, as intended
    for lib in needed:
        assert lib.startswith(("libc.so", "libm.so", "ld-linux")), needed
    stripped = tmp_path / example
    subprocess.run(["strip", "-o", str(stripped), str(binary)], check=True)
    assert stripped.stat().st_size <= 2 * 2**20, stripped.stat().st_size


@pytest.mark.parametrize("example", EXAMPLES)
def test_static_example_reproduces_python(static_build, example, tmp_path):
    rng = np.random.default_rng(0)
    model = dk.Sequential([dk.layers.Input(20), dk.layers.Dense(64, activation="relu"),
                           dk.layers.BatchNormalization(), dk.layers.Dense(4, activation="softmax")],
                          seed=1, dtype="float32")
    X = rng.normal(size=(300, 20)).astype(np.float32)
    path = tmp_path / "m.dk"
    model.save(path)
    text = "\n".join(" ".join(repr(float(v)) for v in row) for row in X) + "\n"
    out = subprocess.run([str(static_build / example), str(path)], input=text, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    got = np.array([[float(v) for v in line.split()] for line in out.stdout.splitlines()])
    np.testing.assert_allclose(got, model.predict(X), rtol=1e-6, atol=1e-7)


def test_the_core_without_openmp_gives_the_same_bits(static_build, cpp_build, tmp_path):
    """The single-threaded core splits work exactly as the OpenMP one (runtime/parallel.cpp): on a
    batch large enough to be split, both C++ examples print the same digits."""
    rng = np.random.default_rng(2)
    model = dk.Sequential([dk.layers.Input(64), dk.layers.Dense(512, activation="relu"),
                           dk.layers.Dense(256, activation="tanh"),
                           dk.layers.Dense(8, activation="softmax")], seed=3, dtype="float32")
    X = rng.normal(size=(600, 64)).astype(np.float32)
    path = tmp_path / "m.dk"
    model.save(path)
    text = "\n".join(" ".join(repr(float(v)) for v in row) for row in X) + "\n"
    outputs = []
    for build in (static_build, cpp_build):
        out = subprocess.run([str(build / "densekit_predict"), str(path)], input=text,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        outputs.append(out.stdout)
    assert outputs[0] == outputs[1]
