"""The C++ side's own tests (tests/cpp, registered with CTest), run from the Python suite.

They run on the C++ library built alone, once per session (the `cpp_build` fixture in
conftest.py): the product engine on every ISA path this CPU can run against its references, the
element-wise kernels of every path against the portable ones, the DENSEKIT_ISA override, the
symbols of the per-ISA objects, tiled optimizer updates, SHA-256, the safetensors container, the
model-file reader, and a loaded model's const predict from 8 threads (test_model_threads; the
same program also serves Python-trained models in test_cpp_deployment.py).
"""

import subprocess


def test_every_ctest_passes(cpp_build):
    out = subprocess.run(["ctest", "--output-on-failure"], cwd=cpp_build, capture_output=True,
                         text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
    assert "100% tests passed" in out.stdout
