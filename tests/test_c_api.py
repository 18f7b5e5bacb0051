"""The C interface (densekit/densekit_c.h, SPEC §3 "Persistence and deployment").

Two ways in, both on the session's C++ build (`cpp_build`, built once):
- ctypes on libdensekit_c.so: load from a path and from memory, predict against model.predict
  (float32 and float64 models), sizes, version, every error path (NULL arguments, rows 0 or
  overflowing, NaN input, missing / truncated / corrupted files) with its status and message, the
  thread-local last error, and 8 Python threads predicting at once (ctypes releases the GIL)
  with the single-threaded bits;
- a C program (examples/c/predict.c) built by a separate CMake project against the installed
  package (`find_package(densekit)`, `densekit::c`), run on a model saved from Python.
"""

import ctypes
import json
import struct
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

import densekit as dk

ROOT = Path(__file__).resolve().parents[1]
DK_OK, DK_ERR_ARGUMENT, DK_ERR_FILE = 0, -1, -2
F32P = ctypes.POINTER(ctypes.c_float)


@pytest.fixture(scope="module")
def lib(cpp_build):
    lib = ctypes.CDLL(str(cpp_build / "libdensekit_c.so"))
    lib.dk_model_load.restype = ctypes.c_void_p
    lib.dk_model_load.argtypes = [ctypes.c_char_p]
    lib.dk_model_load_memory.restype = ctypes.c_void_p
    lib.dk_model_load_memory.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    lib.dk_model_predict.restype = ctypes.c_int
    lib.dk_model_predict.argtypes = [ctypes.c_void_p, F32P, ctypes.c_size_t, F32P]
    for name in ("dk_model_inputs", "dk_model_outputs"):
        getattr(lib, name).restype = ctypes.c_size_t
        getattr(lib, name).argtypes = [ctypes.c_void_p]
    lib.dk_model_free.restype = None
    lib.dk_model_free.argtypes = [ctypes.c_void_p]
    lib.dk_last_error.restype = ctypes.c_char_p
    lib.dk_last_status.restype = ctypes.c_int
    lib.dk_version.restype = ctypes.c_char_p
    return lib


def small_model(dtype, features=7, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(200, features))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
    norm = dk.layers.Normalization()
    norm.adapt(X)
    model = dk.Sequential([
        dk.layers.Input(features), norm, dk.layers.Dense(24, use_bias=False),
        dk.layers.BatchNormalization(), dk.layers.Activation("elu"), dk.layers.Dropout(0.2),
        dk.layers.Dense(16, activation="gelu"), dk.layers.Dense(3, activation="softmax"),
    ], seed=seed, dtype=dtype)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(X, y, epochs=2, verbose=0)
    return model, X.astype(np.float32)


@pytest.fixture(scope="module", params=["float32", "float64"])
def saved(request, tmp_path_factory):
    model, X = small_model(request.param)
    path = tmp_path_factory.mktemp("c_api") / f"{request.param}.dk"
    model.save(path)
    return model, X, path


def predict(lib, handle, X, rows=None):
    X = np.ascontiguousarray(X, dtype=np.float32)
    out = np.full((X.shape[0], lib.dk_model_outputs(handle)), np.nan, dtype=np.float32)
    status = lib.dk_model_predict(handle, X.ctypes.data_as(F32P),
                                  X.shape[0] if rows is None else rows, out.ctypes.data_as(F32P))
    return status, out


def last_error(lib):
    return lib.dk_last_error().decode()


def expected(model, X):
    """What the C interface must give: float32 inputs, the model's own arithmetic, float32 out."""
    return model.predict(X.astype(model.dtype)).astype(np.float32)


def test_load_and_predict_match_python(lib, saved):
    model, X, path = saved
    handle = lib.dk_model_load(str(path).encode())
    assert handle, last_error(lib)
    try:
        assert lib.dk_model_inputs(handle) == 7 and lib.dk_model_outputs(handle) == 3
        status, out = predict(lib, handle, X[:50])
        assert status == DK_OK, last_error(lib)
        np.testing.assert_allclose(out, expected(model, X[:50]), rtol=1e-6, atol=1e-7)
    finally:
        lib.dk_model_free(handle)


@pytest.mark.parametrize("mode", ["int8", "float16"])
def test_quantized_models_serve_through_the_c_interface(lib, tmp_path, mode):
    """An int8 or float16 copy of a float32 model (model.quantize) predicts through the C
    interface with the bits Python's predict gives."""
    model, X = small_model("float32", seed=2)
    quantized = model.quantize(mode, speed_check=False)
    path = tmp_path / f"{mode}.dk"
    quantized.save(path)
    handle = lib.dk_model_load(str(path).encode())
    assert handle, last_error(lib)
    try:
        status, out = predict(lib, handle, X[:30])
        assert status == DK_OK, last_error(lib)
        np.testing.assert_array_equal(out, quantized.predict(X[:30]))
    finally:
        lib.dk_model_free(handle)


def test_load_from_memory_gives_the_same_bits(lib, saved):
    model, X, path = saved
    blob = path.read_bytes()
    from_file = lib.dk_model_load(str(path).encode())
    buffer = ctypes.create_string_buffer(blob, len(blob))
    from_memory = lib.dk_model_load_memory(buffer, len(blob))
    del buffer  # the library copied the bytes
    assert from_file and from_memory, last_error(lib)
    try:
        a, b = predict(lib, from_file, X[:20]), predict(lib, from_memory, X[:20])
        assert a[0] == b[0] == DK_OK
        np.testing.assert_array_equal(a[1], b[1])
    finally:
        lib.dk_model_free(from_file)
        lib.dk_model_free(from_memory)


def test_version_and_null_handles(lib):
    assert lib.dk_version().decode() == dk.__version__
    assert lib.dk_model_inputs(None) == 0 and lib.dk_model_outputs(None) == 0
    lib.dk_model_free(None)  # a no-op


def test_bad_arguments_are_refused_with_a_message(lib, saved):
    model, X, path = saved
    handle = lib.dk_model_load(str(path).encode())
    assert handle, last_error(lib)
    x = np.ascontiguousarray(X[:2])
    out = np.empty((2, 3), dtype=np.float32)
    xp, op = x.ctypes.data_as(F32P), out.ctypes.data_as(F32P)
    try:
        cases = [
            ((None, xp, 2, op), "dk_model_predict: the model is NULL"),
            ((handle, None, 2, op), "dk_model_predict: x is NULL"),
            ((handle, xp, 2, None), "dk_model_predict: out is NULL"),
            ((handle, xp, 0, op), "dk_model_predict: rows is 0"),
            ((handle, xp, 2**62, op), "rows = 4611686018427387904 is too large"),
            ((handle, xp, 2**64 - 1, op), "is too large"),
        ]
        for args, message in cases:
            assert lib.dk_model_predict(*args) == DK_ERR_ARGUMENT, message
            assert message in last_error(lib) and lib.dk_last_status() == DK_ERR_ARGUMENT
        bad = x.copy()
        bad[1, 4] = np.nan
        assert predict(lib, handle, bad)[0] == DK_ERR_ARGUMENT
        assert "NaN or Inf (first at row 1, column 4)" in last_error(lib)
    finally:
        lib.dk_model_free(handle)
    assert lib.dk_model_load(None) is None
    assert last_error(lib) == "dk_model_load: path is NULL"
    assert lib.dk_last_status() == DK_ERR_ARGUMENT
    assert lib.dk_model_load_memory(None, 10) is None
    assert last_error(lib) == "dk_model_load_memory: data is NULL"
    assert lib.dk_model_load_memory(b"x", 0) is None
    assert "size is 0" in last_error(lib)


def test_bad_files_are_refused_with_the_reason(lib, saved, tmp_path):
    model, X, path = saved
    missing = tmp_path / "missing.dk"
    assert lib.dk_model_load(str(missing).encode()) is None
    assert last_error(lib) == f"dk_model_load: {missing}: cannot open the file"
    assert lib.dk_last_status() == DK_ERR_FILE

    blob = path.read_bytes()
    for cut in (0, 5, 100, len(blob) // 2, len(blob) - 1):
        truncated = tmp_path / f"cut{cut}.dk"
        truncated.write_bytes(blob[:cut])
        assert lib.dk_model_load(str(truncated).encode()) is None, cut
        assert last_error(lib).startswith(f"dk_model_load: {truncated}: "), last_error(lib)
        assert lib.dk_model_load_memory(blob[:cut] or b"\0", max(cut, 1)) is None
        assert last_error(lib).startswith("dk_model_load_memory: <memory>: "), last_error(lib)

    # One bit of one weight flipped, the checksum left as Python wrote it.
    (n,) = struct.unpack("<Q", blob[:8])
    begin, end = json.loads(blob[8:8 + n])["layers.5.kernel"]["data_offsets"]
    flipped = bytearray(blob)
    flipped[8 + n + (begin + end) // 2] ^= 0x04
    assert lib.dk_model_load_memory(bytes(flipped), len(flipped)) is None
    assert "checksum mismatch" in last_error(lib) and lib.dk_last_status() == DK_ERR_FILE
    bad = tmp_path / "flipped.dk"
    bad.write_bytes(bytes(flipped))
    assert lib.dk_model_load(str(bad).encode()) is None
    assert "checksum mismatch" in last_error(lib) and str(bad) in last_error(lib)


def test_the_last_error_belongs_to_each_thread(lib):
    assert lib.dk_model_load(None) is None
    seen = {}

    def other():
        seen["before"] = last_error(lib), lib.dk_last_status()
        lib.dk_model_load_memory(None, 1)
        seen["after"] = last_error(lib), lib.dk_last_status()

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert seen == {"before": ("", DK_OK), "after": ("dk_model_load_memory: data is NULL", DK_ERR_ARGUMENT)}
    assert last_error(lib) == "dk_model_load: path is NULL"  # untouched by the other thread


OUT_OF_MEMORY = """
import ctypes, resource, sys
lib = ctypes.CDLL(sys.argv[1])
lib.dk_model_load_memory.restype = ctypes.c_void_p
lib.dk_model_load_memory.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
lib.dk_last_error.restype = ctypes.c_char_p
size = 64 << 20
data = ctypes.create_string_buffer(size)  # zeros: the copy is what runs out of memory
with open("/proc/self/statm") as f:
    pages = int(f.read().split()[0])
resource.setrlimit(resource.RLIMIT_AS, (pages * resource.getpagesize() + (16 << 20),) * 2)
print(lib.dk_model_load_memory(data, size), lib.dk_last_status(), lib.dk_last_error().decode())
"""


def test_running_out_of_memory_is_a_status_not_a_crash(cpp_build):
    """std::bad_alloc inside the library (here: copying 64 MB under a 16 MB address-space margin)
    comes back as NULL, DK_ERR_MEMORY and a message."""
    import sys
    out = subprocess.run([sys.executable, "-c", OUT_OF_MEMORY, str(cpp_build / "libdensekit_c.so")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split(None, 2) == ["None", "-3", "dk_model_load_memory: out of memory\n"]


def test_many_threads_on_one_model_give_the_single_threaded_bits(lib, saved):
    """8 threads × 300 calls of mixed batch sizes at random offsets on one handle: every row equals
    that row predicted alone on one thread, bit for bit (thread safety and batch invariance)."""
    model, X, path = saved
    handle = lib.dk_model_load(str(path).encode())
    assert handle, last_error(lib)
    try:
        reference = np.concatenate([predict(lib, handle, X[i:i + 1])[1] for i in range(len(X))])
        failures = []

        def worker(seed):
            rng = np.random.default_rng(seed)
            for _ in range(300):
                rows = int(rng.choice([1, 2, 3, 7, 16, 33, 64]))
                start = int(rng.integers(0, len(X) - rows + 1))
                status, out = predict(lib, handle, X[start:start + rows])
                if status != DK_OK or not np.array_equal(out, reference[start:start + rows]):
                    failures.append((seed, start, rows, status))

        threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == []
    finally:
        lib.dk_model_free(handle)


def test_a_c_program_builds_against_the_installed_package(cpp_build, cmake_prefix_path, tmp_path):
    """`cmake --install` the session's build, then a separate C project finds the package, links
    examples/c/predict.c to densekit::c (and to densekit::c_shared), and both programs reproduce
    model.predict."""
    prefix = tmp_path / "prefix"
    proc = subprocess.run(["cmake", "--install", str(cpp_build), "--prefix", str(prefix)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (prefix / "include" / "densekit" / "densekit_c.h").exists()
    project = tmp_path / "consumer"
    project.mkdir()
    source = ROOT / "examples" / "c" / "predict.c"
    (project / "CMakeLists.txt").write_text(  # a C project: the package brings what C++ it needs
        "cmake_minimum_required(VERSION 3.21)\n"
        "project(consumer LANGUAGES C)\n"
        "find_package(densekit REQUIRED)\n"
        f'add_executable(consumer "{source}")\n'
        "target_link_libraries(consumer PRIVATE densekit::c)\n"
        f'add_executable(consumer_shared "{source}")\n'
        "target_link_libraries(consumer_shared PRIVATE densekit::c_shared)\n"
        "set_target_properties(consumer consumer_shared PROPERTIES C_STANDARD 99 C_EXTENSIONS OFF)\n")
    build = tmp_path / "consumer-build"
    prefixes = f"{prefix};{cmake_prefix_path}"
    for cmd in (["cmake", "-S", str(project), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                 f"-DCMAKE_PREFIX_PATH={prefixes}"],
                ["cmake", "--build", str(build)]):
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]

    model, X = small_model("float32", seed=1)
    path = tmp_path / "m.dk"
    model.save(path)
    csv = tmp_path / "x.csv"
    csv.write_text(",".join(f"f{i}" for i in range(7)) + "\n" +
                   "\n".join(",".join(repr(float(v)) for v in row) for row in X[:40]) + "\n")
    for program in ("consumer", "consumer_shared"):
        out = subprocess.run([str(build / program), str(path), str(csv)], capture_output=True,
                             text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        got = np.array([[float(v) for v in line.split()] for line in out.stdout.splitlines()])
        np.testing.assert_allclose(got, model.predict(X[:40]), rtol=1e-6, atol=1e-7)

    # Errors: one line naming the program and the reason, exit code 1.
    bad = subprocess.run([str(build / "consumer"), str(tmp_path / "nope.dk")], input="",
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "cannot open the file" in bad.stderr, bad.stderr
    csv.write_text("1,2,3\n")
    bad = subprocess.run([str(build / "consumer"), str(path), str(csv)], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 1 and "line 1: expected 7 numbers" in bad.stderr, bad.stderr
