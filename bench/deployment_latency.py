"""Batch-1 latency of one model served five ways, and the size of the static serving binaries
(bench/DEPLOYMENT.md).

    python bench/deployment_latency.py [--build-dir build/cpp-static] [--calls 20000]

The model is a 784-300-100-10 float32 MLP (ReLU, softmax), saved with model.save and exported
with dk.export_onnx. One row (seeded, standard normal) is predicted `--calls` times by:
- Python: `model.predict(x)` (the public path: checks, output allocation, one C++ call);
- Python through the C interface: dk_model_predict via ctypes on libdensekit_c.so;
- ONNX Runtime's Python InferenceSession (its C API runs the same engine; the Python call adds
  its binding's overhead, as model.predict does), default options and intra_op_num_threads=1,
  and with input and output bound once (run_with_iobinding: ONNX Runtime's Run, which its C API
  calls, plus one Python-to-C++ call);
- the C example (examples/c/predict.c, the C interface) and the C++ example
  (examples/cpp/predict.cpp, densekit::Model), each timing its own calls with --repeat.
Each figure is the median (p10, p90) of per-call wall times after warm-up calls. The build
directory must hold densekit_predict, densekit_predict_c and libdensekit_c.so; DEPLOYMENT.md
gives the command that builds it (OpenMP off, static runtime).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import densekit as dk  # noqa: E402
from machine import cpu_model  # noqa: E402
from timing import latency_result, time_calls  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
F32P = ctypes.POINTER(ctypes.c_float)


def mlp():
    model = dk.Sequential([
        dk.layers.Input(784),
        dk.layers.Dense(300, activation="relu", kernel_initializer="he_normal"),
        dk.layers.Dense(100, activation="relu", kernel_initializer="he_normal"),
        dk.layers.Dense(10, activation="softmax"),
    ], seed=42, dtype="float32")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def c_interface_from_python(lib_path: Path, model_path: Path, x: np.ndarray):
    lib = ctypes.CDLL(str(lib_path))
    lib.dk_model_load.restype = ctypes.c_void_p
    lib.dk_model_load.argtypes = [ctypes.c_char_p]
    lib.dk_model_predict.argtypes = [ctypes.c_void_p, F32P, ctypes.c_size_t, F32P]
    handle = lib.dk_model_load(str(model_path).encode())
    out = np.empty((1, 10), dtype=np.float32)
    xp, op = x.ctypes.data_as(F32P), out.ctypes.data_as(F32P)
    predict = lib.dk_model_predict
    return lambda: predict(handle, xp, 1, op)


def onnxruntime_session(onnx_path: Path, threads: int | None):
    import onnxruntime as ort
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])


def onnxruntime_bound_call(session, x: np.ndarray):
    """run_with_iobinding on input and output bound once: no NumPy conversion per call, so what is
    left is ONNX Runtime's own Run (what its C API calls) plus one Python-to-C++ call."""
    import onnxruntime as ort
    binding = session.io_binding()
    binding.bind_ortvalue_input("input", ort.OrtValue.ortvalue_from_numpy(x))
    binding.bind_ortvalue_output("output", ort.OrtValue.ortvalue_from_shape_and_type([1, 10], np.float32))
    run = session.run_with_iobinding
    return lambda: run(binding)


def binary_latency(cmd: list[str], stdin: str | None) -> dict:
    """Runs an example with --repeat and parses the line it prints on stderr."""
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, check=True)
    m = re.search(r"over (\d+) calls: median ([\d.]+) us \(p10 ([\d.]+), p90 ([\d.]+)\)", proc.stderr)
    if not m:
        raise RuntimeError(f"{cmd[0]} printed no timing: {proc.stderr}")
    return {"value": float(m[2]), "p10_us": float(m[3]), "p90_us": float(m[4]), "calls": int(m[1])}


def stripped_size(binary: Path, tmp: Path) -> int:
    out = tmp / (binary.name + ".stripped")
    subprocess.run(["strip", "-o", str(out), str(binary)], check=True)
    return out.stat().st_size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build-dir", type=Path, default=ROOT / "build" / "cpp-static")
    ap.add_argument("--calls", type=int, default=20000)
    args = ap.parse_args()
    build = args.build_dir
    binaries = {"C": build / "densekit_predict_c", "C++": build / "densekit_predict"}
    for path in [*binaries.values(), build / "libdensekit_c.so"]:
        if not path.exists():
            sys.exit(f"{path} is missing: build it first (see bench/DEPLOYMENT.md)")

    load_before = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="dk_deploy_"))
    model = mlp()
    model_path, onnx_path = tmp / "mlp.dk", tmp / "mlp.onnx"
    model.save(model_path)
    dk.export_onnx(model, onnx_path)
    x = np.random.default_rng(0).standard_normal((1, 784), dtype=np.float32)
    (tmp / "x.txt").write_text(" ".join(repr(float(v)) for v in x[0]) + "\n")

    warmup = max(100, args.calls // 20)
    rows = {}
    rows["Python `model.predict`"] = latency_result(time_calls(lambda: model.predict(x), args.calls, warmup))
    rows["Python → C interface (ctypes)"] = latency_result(
        time_calls(c_interface_from_python(build / "libdensekit_c.so", model_path, x), args.calls, warmup))
    for threads in (None, 1):
        session = onnxruntime_session(onnx_path, threads)
        label = "ONNX Runtime (Python `run`, " + ("default threads)" if threads is None else "1 thread)")
        rows[label] = latency_result(time_calls(lambda: session.run(None, {"input": x}), args.calls, warmup))
    rows["ONNX Runtime (I/O bound once, `run_with_iobinding`, 1 thread)"] = latency_result(
        time_calls(onnxruntime_bound_call(session, x), args.calls, warmup))
    rows["C example (`dk_model_predict`)"] = binary_latency(
        [str(binaries["C"]), "--repeat", str(args.calls), str(model_path), str(tmp / "x.txt")], None)
    rows["C++ example (`Model::predict`)"] = binary_latency(
        [str(binaries["C++"]), "--repeat", str(args.calls), str(model_path)], (tmp / "x.txt").read_text())

    import onnxruntime as ort
    info = subprocess.run([sys.executable, "-m", "densekit", "info"], capture_output=True, text=True).stdout
    kernels = next((line for line in info.splitlines() if line.startswith("kernels:")), "kernels: ?")
    print(f"CPU: {cpu_model()}; densekit {dk.__version__} ({kernels}), onnxruntime {ort.__version__}; "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print(f"machine load (1-min average): {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
    print(f"model: 784-300-100-10 float32 MLP, batch 1, {args.calls} calls each after {warmup} warm-up\n")
    print("| path | median (µs) | p10 | p90 |")
    print("|---|---:|---:|---:|")
    for label, r in rows.items():
        print(f"| {label} | {r['value']:.1f} | {r['p10_us']:.1f} | {r['p90_us']:.1f} |")
    print("\n| binary | size (bytes) | stripped (bytes) | dynamic dependencies |")
    print("|---|---:|---:|---|")
    for label, path in binaries.items():
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]",
                            subprocess.run(["readelf", "-d", str(path)], capture_output=True,
                                           text=True, check=True).stdout)
        print(f"| {path.name} ({label}) | {path.stat().st_size} | {stripped_size(path, tmp)} | "
              f"{', '.join(needed)} |")


if __name__ == "__main__":
    main()
