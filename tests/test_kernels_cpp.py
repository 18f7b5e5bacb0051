"""The C++ kernel layer's own tests (tests/cpp, registered with CTest) run from the Python suite.

Builds the kernel library and its test programs alone (DENSEKIT_PYTHON=OFF, no Python module
involved) and runs them through CTest: the product engine on every ISA path this CPU can run
against its references, batch invariance of packed inference, thread independence, the
DENSEKIT_ISA override, the int8, float16 and sparse inference kernels against their references,
and the absence of weak symbols in the per-ISA kernel objects.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ["test_gemm_engine", "test_kernel_dispatch", "test_qgemm", "test_f16", "test_sparse_gemm"]


@pytest.fixture(scope="module")
def kernel_build(tmp_path_factory):
    if shutil.which("cmake") is None or shutil.which("ctest") is None or (
            shutil.which("c++") is None and shutil.which("g++") is None):
        pytest.skip("cmake, ctest and a C++ compiler are needed to build the kernel tests")
    try:
        prefix = subprocess.run([sys.executable, "-m", "cmeel", "cmake"], capture_output=True,
                                text=True, check=True).stdout.strip()
    except (subprocess.CalledProcessError, FileNotFoundError):
        pytest.skip("cmeel-eigen is not installed (pip install cmeel-eigen)")
    build = tmp_path_factory.mktemp("kernels")
    gen = ["-G", "Ninja"] if shutil.which("ninja") else []
    subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build), *gen, "-DCMAKE_BUILD_TYPE=Release",
                    "-DDENSEKIT_PYTHON=OFF", "-DDENSEKIT_CPP_TESTS=ON",
                    f"-DCMAKE_PREFIX_PATH={prefix}"], check=True, capture_output=True)
    subprocess.run(["cmake", "--build", str(build), "--target", *TARGETS, "-j", "2"], check=True,
                   capture_output=True)
    return build


def test_kernel_ctests_pass(kernel_build):
    out = subprocess.run(["ctest", "--output-on-failure"], cwd=kernel_build, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "100% tests passed" in out.stdout
