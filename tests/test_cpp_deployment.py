"""A model trained in Python runs from C++ without Python (SPEC §3, "Persistence and deployment").

Uses the C++ library built alone (DENSEKIT_PYTHON=OFF, the session's `cpp_build`) and
examples/cpp/predict.cpp: the binary reproduces model.predict for saved models of every layer
type, in float32 and float64; corrupted files make it exit with an error message — never crash —
and it verifies the checksum Python wrote. A loaded model serves 8 threads at once with the
single-threaded results, bit for bit (tests/cpp/test_model_threads.cpp on these models).
"""

import os
import subprocess

import numpy as np
import pytest

import densekit as dk


@pytest.fixture(scope="module")
def predict_binary(cpp_build):
    return cpp_build / "densekit_predict"


def run(binary, model_path, X):
    text = "\n".join(" ".join(repr(float(v)) for v in row) for row in X)
    return subprocess.run([str(binary), str(model_path)], input=text, capture_output=True,
                          text=True, errors="replace", timeout=60)


def every_layer_model(dtype):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(256, 12))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
    norm = dk.layers.Normalization()
    norm.adapt(X)
    shared = dk.layers.Dense(16, activation="tanh")
    m = dk.Sequential([
        dk.layers.Input(12), norm,
        dk.layers.Dense(16, use_bias=False, kernel_initializer="he_normal"),
        dk.layers.BatchNormalization(), dk.layers.Activation("elu"), dk.layers.Dropout(0.1),
        dk.layers.Dense(16, activation="selu", kernel_initializer="lecun_normal"),
        dk.layers.AlphaDropout(0.1), dk.layers.PReLU(), dk.layers.LeakyReLU(alpha=0.2),
        dk.layers.RReLU(), shared, dk.layers.GELU(), dk.layers.Dense(16, activation="swish"),
        dk.layers.Activation("softplus"), dk.layers.Dense(3, activation="softmax"),
    ], seed=3, dtype=dtype)
    m.compile(optimizer="nadam", loss="sparse_categorical_crossentropy")
    m.fit(X, y, epochs=2, verbose=0)
    return m, X


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cpp_reproduces_python_predictions(predict_binary, tmp_path, dtype):
    model, X = every_layer_model(dtype)
    path = tmp_path / "m.dk"
    model.save(path)
    out = run(predict_binary, path, X[:50])
    assert out.returncode == 0, out.stderr
    got = np.array([[float(v) for v in line.split()] for line in out.stdout.splitlines()])
    want = model.predict(X[:50])
    tol = 1e-6 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def test_cpp_rejects_corrupted_files_without_crashing(predict_binary, tmp_path):
    model, X = every_layer_model("float32")
    good = tmp_path / "good.dk"
    model.save(good)
    blob = good.read_bytes()
    rng = np.random.default_rng(1)
    cases = [blob[:k] for k in (0, 7, 8, 100, len(blob) // 2, len(blob) - 1)]
    cases += [bytes(rng.integers(0, 256, size=400, dtype=np.uint8))]
    for _ in range(60):
        b = bytearray(blob)
        for pos in rng.integers(0, min(len(b), 8 + 4096), size=rng.integers(1, 4)):
            b[pos] = int(rng.integers(0, 256))
        cases.append(bytes(b))
    bad = tmp_path / "bad.dk"
    for case in cases:
        bad.write_bytes(case)
        out = run(predict_binary, bad, X[:2])
        # Either a clean failure with a message, or (a flip in an unused byte) a successful run;
        # never a signal.
        assert out.returncode in (0, 1), (out.returncode, out.stderr)
        if out.returncode == 1:
            assert "densekit_predict:" in out.stderr
            assert out.stderr.isascii(), out.stderr  # file text is escaped in messages


def test_cpp_refuses_a_file_that_asks_for_huge_layers(predict_binary, tmp_path):
    """A small file claiming a 1e9 x 1e9 Dense must fail cleanly before allocating anything."""
    import json
    import struct
    model, X = every_layer_model("float32")
    good = tmp_path / "good.dk"
    model.save(good)
    blob = good.read_bytes()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    doc = json.loads(header["__metadata__"]["densekit"])
    doc["model"]["config"]["input_dim"] = 10**9
    doc["model"]["config"]["layers"] = [{"class_name": "Dense",
                                         "config": {"units": 10**9, "activation": "linear"}}]
    doc["layer_seeds"] = [-1]
    header["__metadata__"]["densekit"] = json.dumps(doc)
    text = json.dumps(header).encode()
    bad = tmp_path / "huge.dk"
    bad.write_bytes(struct.pack("<Q", len(text)) + text + blob[8 + n:])
    out = run(predict_binary, bad, X[:1])
    assert out.returncode == 1, out.stderr
    assert "would need" in out.stderr or "out of range" in out.stderr


def test_cpp_verifies_the_checksum_python_wrote(predict_binary, tmp_path):
    """One flipped bit in one weight, the checksum left as Python wrote it: the C++ loader must
    refuse the file and say why (as load_model does), not serve a silently different model."""
    import json
    import struct
    model, X = every_layer_model("float64")
    good = tmp_path / "good.dk"
    model.save(good)
    blob = bytearray(good.read_bytes())
    (n,) = struct.unpack("<Q", blob[:8])
    begin, end = json.loads(blob[8:8 + n])["layers.5.kernel"]["data_offsets"]
    blob[8 + n + begin + (end - begin) // 2] ^= 0x10  # one mantissa bit of one Dense weight
    bad = tmp_path / "flipped.dk"
    bad.write_bytes(bytes(blob))
    with pytest.raises(dk.saving.ModelFileError, match="checksum"):
        dk.load_model(bad)
    out = run(predict_binary, bad, X[:2])
    assert out.returncode == 1, out.stdout
    assert "checksum mismatch" in out.stderr and str(bad) in out.stderr, out.stderr
    assert run(predict_binary, good, X[:2]).returncode == 0  # the untouched file still loads


def test_cpp_serves_python_models_from_many_threads(cpp_build, tmp_path):
    """8 threads × 10,000 predictions with mixed batch sizes on one loaded model, float32 and
    float64 models trained here: every row equals the single-threaded, one-row-at-a-time result
    bit for bit (the program also checks batch invariance on shifted windows)."""
    paths = []
    for dtype in ("float32", "float64"):
        model, _ = every_layer_model(dtype)
        paths.append(tmp_path / f"{dtype}.dk")
        model.save(paths[-1])
    env = dict(os.environ, DENSEKIT_MODEL_THREADS_FILE=":".join(str(p) for p in paths))
    out = subprocess.run([str(cpp_build / "test_model_threads")], env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert out.stdout.count("0 mismatched") == 3, out.stdout  # float32; float64 with both I/O types


# -- quantized and pruned models (format version 3) -------------------------------------------
def logits_model(seed=5):
    """ReLU layers and linear outputs: every operation is one of the dispatched kernels (int8,
    float16, sparse, the engine) or exact, so the C++ library alone — built for another ISA level
    than the Python module — must give the same bits."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(300, 20)).astype(np.float32)
    y = (X[:, :3] + 0.5 * X[:, 3:6]).argmax(1)
    m = dk.Sequential([dk.layers.Input(20), dk.layers.Dense(48, activation="relu"),
                       dk.layers.Dense(24, activation="relu"), dk.layers.Dense(3)], seed=seed)
    m.compile(optimizer="adam", loss="mse")
    m.fit(X, np.eye(3, dtype=np.float32)[y], epochs=3, verbose=0)
    return m, X


def cpp_predictions(binary, path, X):
    out = run(binary, path, X)
    assert out.returncode == 0, out.stderr
    return np.array([[float(v) for v in line.split()] for line in out.stdout.splitlines()],
                    dtype=np.float64)


@pytest.mark.parametrize("variant", ["int8", "int8-static", "int8-7bit-act", "int8-s8", "float16",
                                     "kept-float32", "pruned"])
def test_cpp_predicts_quantized_and_pruned_models_bit_for_bit(predict_binary, tmp_path, variant):
    model, X = logits_model()
    if variant == "pruned":
        dk.prune(model, 0.9, scope="layer")
        model.fit(X, model.predict(X), epochs=1, verbose=0)
        q = model
    elif variant == "float16":
        q = model.quantize("float16")
    else:
        kwargs = {"int8": {}, "int8-static": {"calibration": X[:100]},
                  "int8-7bit-act": {"activation_bits": 7}, "int8-s8": {"weight_bits": 8},
                  "kept-float32": {"max_error": 1e-12}}[variant]
        q = model.quantize("int8", speed_check=False, **kwargs)
    path = tmp_path / "q.dk"
    q.save(path)
    got = cpp_predictions(predict_binary, path, X[:60])
    want = q.predict(X[:60])
    np.testing.assert_array_equal(got.astype(np.float32), want)
    np.testing.assert_array_equal(dk.load_model(path).predict(X[:60]), want)


def test_cpp_quantized_softmax_model(predict_binary, tmp_path):
    """Softmax outputs: exp is the core's own vectorized code, built per ISA level (last bits)."""
    model, X = every_layer_model("float32")
    q = model.quantize("int8", speed_check=False)
    path = tmp_path / "q.dk"
    q.save(path)
    np.testing.assert_allclose(cpp_predictions(predict_binary, path, X[:50]), q.predict(X[:50]),
                               rtol=1e-6, atol=1e-6)


def test_cpp_refuses_a_corrupted_int8_kernel(predict_binary, tmp_path):
    """An int8 weight outside the layer's 7-bit range (checksum recomputed, so only the content is
    wrong) is refused by both loaders, never served."""
    import json
    import struct
    from densekit import model_file
    model, X = logits_model()
    q = model.quantize("int8", speed_check=False)
    metadata, tensors = model_file.read_container(dk.saving.serialize_model(q))
    tensors = {k: np.array(v) for k, v in tensors.items()}
    tensors["layers.0.kernel"][0, 0] = 100
    metadata = {k: v for k, v in metadata.items() if k != "checksum"}
    bad = tmp_path / "bad.dk"
    bad.write_bytes(model_file.write_container(tensors, metadata))
    with pytest.raises(dk.saving.ModelFileError, match=r"\[-63, 63\]"):
        dk.load_model(bad)
    out = run(predict_binary, bad, X[:2])
    assert out.returncode == 1 and "outside [-63, 63]" in out.stderr, out.stderr


V3_QUANTIZED = ["v3_int8_relu_logits_f32", "v3_int8_static_relu_logits_f32",
                "v3_float16_tanh_softmax_f32", "v3_pruned_adam_f32"]


@pytest.mark.parametrize("name", V3_QUANTIZED)
def test_cpp_predicts_the_committed_v3_files(predict_binary, name):
    """The committed version-3 files (tests/fixtures/make_v3_fixtures.py) predict in C++ what the
    code that wrote them predicted: the int8 ones bit for bit (exact on every CPU), the others
    within float32 rounding."""
    fixtures = os.path.join(os.path.dirname(__file__), "fixtures")
    with np.load(os.path.join(fixtures, name + ".npz")) as f:
        x, want = f["x"], f["predict"]
    got = cpp_predictions(predict_binary, os.path.join(fixtures, name + ".dk"), x)
    if "int8" in name:
        np.testing.assert_array_equal(got.astype(np.float32), want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6 * float(np.abs(want).max()))


def test_cpp_serves_quantized_and_pruned_models_from_many_threads(cpp_build, tmp_path):
    """int8, float16 and pruned (sparse-kernel) models on the const predict path: 8 threads ×
    10,000 mixed-batch predictions equal the single-threaded row-by-row results bit for bit."""
    model, X = logits_model()
    paths = []
    for label, q in (("int8", model.quantize("int8", speed_check=False)),
                     ("int8-static", model.quantize("int8", calibration=X[:100], speed_check=False)),
                     ("float16", model.quantize("float16"))):
        paths.append(tmp_path / f"{label}.dk")
        q.save(paths[-1])
    dk.prune(model, 0.9, scope="layer")
    paths.append(tmp_path / "pruned.dk")
    model.save(paths[-1])
    env = dict(os.environ, DENSEKIT_MODEL_THREADS_FILE=":".join(str(p) for p in paths))
    out = subprocess.run([str(cpp_build / "test_model_threads")], env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert out.stdout.count("0 mismatched") == len(paths), out.stdout
