"""The `densekit` command line (SPEC "Ecosystem"): each command end to end in a subprocess on small
data, and every kind of bad input giving one line on stderr and exit code 2 (usage) or 1
(runtime), never a traceback."""

import json
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

import densekit as dk
from densekit.cli import main
from densekit.cli.errors import UsageError
from densekit.cli.train import detect_task

N = 120


def densekit(*args, cwd):
    return subprocess.run([sys.executable, "-m", "densekit", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def ok(result):
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def write_csv(path, header, columns):
    rows = np.column_stack(columns)
    with open(path, "w") as f:
        f.write(",".join(header) + "\n")
        for row in rows:
            f.write(",".join(repr(float(v)) for v in row) + "\n")


def write_idx(path, array):
    codes = {np.dtype(np.uint8): 0x08}
    with open(path, "wb") as f:
        f.write(struct.pack(">BBBB", 0, 0, codes[array.dtype], array.ndim))
        f.write(struct.pack(f">{array.ndim}I", *array.shape))
        f.write(array.tobytes())


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A directory of small data files: classification and regression CSVs, an NPZ, an IDX pair."""
    d = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, 4))
    label = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.8)
    write_csv(d / "cls.csv", ["a", "b", "c", "d", "label"], [X, label])
    # the same rows, columns reordered and an extra id column: matched by name
    write_csv(d / "cls_reordered.csv", ["id", "d", "label", "c", "a", "b"],
              [np.arange(N), X[:, 3], label, X[:, 2], X[:, 0], X[:, 1]])
    price = X @ [1.0, -2.0, 0.5, 3.0] + 0.25
    write_csv(d / "reg.csv", ["price", "a", "b", "c", "d"], [price, X])
    np.savez(d / "cls.npz", X=X, y=label)
    np.save(d / "features.npy", X)
    images = rng.integers(0, 256, size=(60, 3, 3), dtype=np.uint8)
    write_idx(d / "train-images-idx3-ubyte", images)
    write_idx(d / "train-labels-idx1-ubyte", (images[:, 0, 0] > 127).astype(np.uint8))
    write_idx(d / "other-labels", (images[:, 1, 1] > 127).astype(np.uint8))
    return d


@pytest.fixture(scope="module")
def classifier(work):
    """`densekit train` on the classification CSV (shared by the commands that need a model)."""
    out = ok(densekit("train", "cls.csv", "--epochs", 2, "--layers", "16,8", "--out", "cls.dk",
                      cwd=work))
    return work / "cls.dk", out


def csv_output(text):
    lines = text.strip().splitlines()
    return lines[0].split(","), np.array([[float(v) for v in line.split(",")] for line in lines[1:]])


# -- the commands, end to end -------------------------------------------------------------------
def test_train_csv_classification(classifier, work):
    path, out = classifier
    assert "task classification (3 classes, detected)" in out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "━" in out   # the progress bar
    assert f"saved cls.dk after 2 epoch(s)" in out
    model = dk.load_model(path)
    assert (model.input_dim, model.output_dim) == (4, 3)
    assert model.loss.name == "sparse_categorical_crossentropy"
    assert [layer.units for layer in model.layers if isinstance(layer, dk.layers.Dense)] == [16, 8, 3]
    # The training columns travel in the model file (format version 2), no longer in a sidecar.
    assert model.feature_names == ["a", "b", "c", "d"] and model.target_name == "label"
    assert not (work / "cls.dk.columns.json").exists()


def test_an_old_sidecar_is_still_read(classifier, work):
    """Models trained before format version 2 kept their columns in MODEL.columns.json: a model
    without names in its file is matched by that record, as before."""
    path, _ = classifier
    model = dk.load_model(path)
    model.feature_names = model.target_name = None
    model.save(work / "old.dk")
    (work / "old.dk.columns.json").write_text(json.dumps(
        {"format": "densekit-columns", "version": 1, "features": ["a", "b", "c", "d"],
         "target": "label"}))
    (work / "shuffled.csv").write_text("label,d,x,c,b,a\n0,4,9,3,2,1\n")
    header, values = csv_output(ok(densekit("predict", "old.dk", "shuffled.csv", cwd=work)))
    want = model.predict(np.array([[1.0, 2.0, 3.0, 4.0]]))
    np.testing.assert_allclose(values, want, rtol=1e-6)


def test_predict_matches_the_model_and_matches_columns_by_name(classifier, work):
    path, _ = classifier
    model = dk.load_model(path)
    X = np.loadtxt(work / "cls.csv", delimiter=",", skiprows=1)[:, :4]
    expected = model.predict(X.astype(np.float32))

    header, got = csv_output(ok(densekit("predict", "cls.dk", "cls.csv", cwd=work)))
    assert header == ["p_0", "p_1", "p_2"]
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)

    _, reordered = csv_output(ok(densekit("predict", "cls.dk", "cls_reordered.csv", cwd=work)))
    np.testing.assert_array_equal(reordered, got)

    out = ok(densekit("predict", "cls.dk", "cls.csv", "--out", "p.npy", cwd=work))
    assert "wrote 120 predictions" in out
    np.testing.assert_array_equal(np.load(work / "p.npy"), expected)

    ok(densekit("predict", "cls.dk", "cls.csv", "--classes", "--out", "c.csv", cwd=work))
    header, classes = csv_output((work / "c.csv").read_text())
    assert header == ["class"]
    np.testing.assert_array_equal(classes[:, 0], expected.argmax(axis=1))


def test_evaluate_prints_loss_and_metrics(classifier, work):
    path, _ = classifier
    model = dk.load_model(path)
    table = np.loadtxt(work / "cls.csv", delimiter=",", skiprows=1)
    expected = model.evaluate(table[:, :4], table[:, 4], return_dict=True)
    out = ok(densekit("evaluate", "cls.dk", "cls.csv", cwd=work))
    values = dict(line.split(": ") for line in out.splitlines()[1:])
    assert set(values) == {"loss", "accuracy"}
    for name in values:
        assert float(values[name]) == pytest.approx(expected[name], rel=1e-5)


def test_info_describes_the_file(classifier, work):
    import safetensors
    path, _ = classifier
    out = ok(densekit("info", "cls.dk", cwd=work))
    with safetensors.safe_open(path, "numpy") as f:
        checksum = f.metadata()["checksum"]
    model = dk.load_model(path)
    assert f"format version {dk.saving.FORMAT_VERSION}" in out
    assert f"checksum: {checksum}" in out
    assert f"size on disk: {os.path.getsize(path):,} bytes" in out
    assert "dtype: float32" in out
    assert f"parameters: {model.count_params():,}" in out
    assert "optimizer state: saved" in out
    assert "Total params" in out   # the summary
    build = ok(densekit("info", cwd=work))   # no MODEL: the build and the kernel path chosen
    assert f"kernels: {dk._native.ISA} path" in build


def test_train_regression_with_target_and_predict_names_the_column(work):
    out = ok(densekit("train", "reg.csv", "--target", "price", "--layers", "8", "--epochs", 2,
                      "--validation-split", 0, "--quiet", "--out", "reg.dk", cwd=work))
    assert "task regression (1 output(s), detected)" in out and "Epoch" not in out
    assert "val_loss" not in out
    header, values = csv_output(ok(densekit("predict", "reg.dk", "reg.csv", cwd=work)))
    assert header == ["price"] and values.shape == (N, 1)
    out = ok(densekit("evaluate", "reg.dk", "reg.csv", cwd=work))
    assert "loss:" in out and "mae:" in out


def test_train_npz_self_normalizing_float64(work):
    ok(densekit("train", "cls.npz", "--preset", "self_normalizing", "--layers", "8,8",
                "--epochs", 1, "--dtype", "float64", "--quiet", "--out", "npz.dk", cwd=work))
    model = dk.load_model(work / "npz.dk")
    assert np.dtype(model.dtype) == np.float64
    assert any(layer.activation.name == "selu" for layer in model.layers
               if isinstance(layer, dk.layers.Dense))
    assert not (work / "npz.dk.columns.json").exists()
    assert "accuracy:" in ok(densekit("evaluate", "npz.dk", "cls.npz", cwd=work))
    _, values = csv_output(ok(densekit("predict", "npz.dk", "features.npy", cwd=work)))
    assert values.shape == (N, 3)


def test_train_idx_with_matching_or_given_labels(work):
    out = ok(densekit("train", "train-images-idx3-ubyte", "--epochs", 1, "--layers", "8",
                      "--quiet", "--out", "idx.dk", cwd=work))
    assert "60 samples x 9 features" in out and "2 classes" in out
    ok(densekit("train", "train-images-idx3-ubyte", "--labels", "other-labels", "--epochs", 1,
                "--layers", "8", "--quiet", "--out", "idx2.dk", cwd=work))
    assert "accuracy:" in ok(densekit("evaluate", "idx.dk", "train-images-idx3-ubyte", cwd=work))
    header, classes = csv_output(ok(densekit("predict", "idx.dk", "train-images-idx3-ubyte",
                                             "--classes", cwd=work)))
    assert header == ["class"] and set(np.unique(classes)) <= {0, 1}


def test_export_onnx_runs_in_onnx_runtime(classifier, work):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    path, _ = classifier
    out = ok(densekit("export", "cls.dk", "--onnx", "cls.onnx", "--opset", 20, cwd=work))
    assert "wrote cls.onnx: ONNX opset 20" in out
    X = np.random.default_rng(3).normal(size=(7, 4)).astype(np.float32)
    session = ort.InferenceSession(str(work / "cls.onnx"), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"input": X})[0], dk.load_model(path).predict(X),
                               rtol=1e-5, atol=1e-5)


def test_demo_still_runs(work):
    pytest.importorskip("sklearn")
    out = ok(densekit("demo", "--epochs", 1, cwd=work))
    assert "test accuracy" in out


# -- bad files and arguments: one line, exit code 2 (usage) or 1 (runtime) -----------------------
BAD = [
    (["train"], 2, "the following arguments are required: DATA"),
    (["bogus"], 2, "invalid choice: 'bogus'"),
    (["train", "cls.csv", "--preset", "fancy"], 2, "invalid choice: 'fancy'"),
    (["train", "cls.csv", "--layers", "30,x"], 2, "positive layer sizes"),
    (["train", "cls.csv", "--epochs", "0"], 2, "expected a positive integer"),
    (["train", "cls.csv", "--validation-split", "1.5"], 2, "a number in [0, 1)"),
    (["train", "cls.csv", "--target", "nope"], 2, "cls.csv has no column 'nope'"),
    (["train", "cls.csv", "--labels", "x"], 2, "--labels goes with an IDX images file"),
    (["train", "cls.npz", "--target", "y"], 2, "--target names a CSV column"),
    (["train", "cls.csv", "--out", "missing_dir/m.dk"], 2, "does not exist"),
    (["train", "ints.csv"], 2, "pass --task classification or --task regression"),
    (["train", "missing.csv"], 1, "missing.csv: no such file"),
    (["train", "text.csv"], 1, "text.csv, line 3: column 'b' must be numeric, found 'abc'"),
    (["train", "ragged.csv"], 1, "ragged.csv, line 3: expected 3 fields (as the header), found 2"),
    (["train", "header_only.csv"], 1, "expected data rows after the header"),
    (["train", "features.npy"], 1, "holds features only"),
    (["train", "notes.txt"], 1, "unknown data format"),
    (["train", "reg.csv", "--task", "classification", "--target", "price"], 1, "integer class id"),
    (["predict", "corrupt.dk", "cls.csv"], 1, "corrupt.dk: "),
    (["predict", "truncated.dk", "cls.csv"], 1, "truncated"),
    (["predict", "missing.dk", "cls.csv"], 1, "missing.dk: no such model file"),
    (["predict", "cls.dk", "narrow.csv"], 1, "lacks the column(s) ['c', 'd']"),
    (["predict", "npz.dk", "narrow.csv"], 1, "narrow.csv has 2 feature column(s), but the model takes 4"),
    (["predict", "cls.dk", "cls.csv", "--out", "p.txt"], 2, "expected a .csv or .npy file name"),
    (["predict", "reg.dk", "reg.csv", "--classes"], 2, "--classes needs a classifier"),
    (["evaluate", "cls.dk", "features.npy"], 1, "evaluating needs targets"),
    (["evaluate", "cls.dk", "no_target.csv"], 1, "lacks the target column 'label'"),
    (["evaluate", "uncompiled.dk", "cls.npz"], 1, "saved without a loss"),
    (["evaluate", "idx.dk", "cls.npz"], 1, "the samples have 4 features, but the model takes 9"),
    (["info", "corrupt.dk"], 1, "corrupt.dk: "),
    (["export", "cls.dk"], 2, "the following arguments are required: --onnx"),
    (["export", "cls.dk", "--onnx", "m.onnx", "--opset", "12"], 2, "invalid choice: 12"),
]


@pytest.fixture(scope="module")
def bad_files(work, classifier):
    """Broken inputs beside the good ones (the models of the tests above are reused)."""
    (work / "text.csv").write_text("a,b,y\n1,2,0\n3,abc,1\n")
    (work / "ragged.csv").write_text("a,b,y\n1,2,0\n3,1\n")
    (work / "header_only.csv").write_text("a,b,y\n")
    (work / "ints.csv").write_text("a,y\n" + "".join(f"{i},{i % 7 + 10}\n" for i in range(30)))
    (work / "narrow.csv").write_text("a,b\n1,2\n")
    (work / "no_target.csv").write_text("a,b,c,d\n1,2,3,4\n")
    (work / "notes.txt").write_text("hello\n")
    (work / "corrupt.dk").write_bytes(b"this is not a model file")
    blob = (work / "cls.dk").read_bytes()
    (work / "truncated.dk").write_bytes(blob[: len(blob) // 2])
    model = dk.Sequential([dk.layers.Input(4), dk.layers.Dense(2)])
    model.save(work / "uncompiled.dk")
    for name in ("reg.dk", "npz.dk", "idx.dk"):   # made by the tests above when run alone
        if not (work / name).exists():
            m = dk.Sequential([dk.layers.Input(9 if name == "idx.dk" else 4), dk.layers.Dense(1)])
            m.compile(loss="mse")
            m.save(work / name)
    return work


@pytest.mark.parametrize("argv, code, message", BAD, ids=[" ".join(b[0]) for b in BAD])
def test_bad_input_gives_one_line_and_exit_code(argv, code, message, bad_files, capsys,
                                                monkeypatch):
    monkeypatch.chdir(bad_files)
    assert main(argv) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("densekit") and ": error: " in err
    assert message in err, err


def test_errors_in_a_subprocess_have_no_traceback(bad_files):
    for argv, code in ((["predict", "corrupt.dk", "cls.csv"], 1), (["train", "--epochs"], 2)):
        result = densekit(*argv, cwd=bad_files)
        assert result.returncode == code
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    result = densekit("--debug", "predict", "corrupt.dk", "cls.csv", cwd=bad_files)
    assert result.returncode == 1 and "Traceback" in result.stderr   # --debug shows it


def test_a_failed_train_keeps_the_previous_model(bad_files, monkeypatch):
    before = (bad_files / "cls.dk").read_bytes()
    monkeypatch.chdir(bad_files)
    assert main(["train", "text.csv", "--out", "cls.dk"]) == 1
    assert (bad_files / "cls.dk").read_bytes() == before


# -- task detection ------------------------------------------------------------------------------
@pytest.mark.parametrize("y, requested, expected", [
    (np.array([0, 1, 2, 1, 0.0]), None, ("classification", 3)),
    (np.array([0.5, 1.25, 2.0]), None, ("regression", 1)),
    (np.arange(500.0), None, ("regression", 1)),            # too many values to be classes
    (np.ones((4, 2)), None, ("regression", 2)),            # several targets
    (np.array([0, 1, 2.0]), "regression", ("regression", 1)),
    (np.array([0, 3, 3.0]), "classification", ("classification", 4)),
])
def test_detect_task(y, requested, expected):
    assert detect_task(y, requested, "y") == expected


@pytest.mark.parametrize("y", [np.array([1, 2, 3.0]), np.array([-1, 1, 1.0]), np.array([0, 2, 5.0])])
def test_ambiguous_integer_targets_need_task(y):
    with pytest.raises(UsageError, match="--task"):
        detect_task(y, None, "y")
