"""`densekit quantize MODEL --int8|--float16 OUT [--calibration DATA]` end to end in a subprocess,
and its bad inputs as one line with exit code 2 (usage) or 1 (files, data)."""

import subprocess
import sys

import numpy as np
import pytest

import densekit as dk
from densekit.cli import main


def densekit(*args, cwd):
    return subprocess.run([sys.executable, "-m", "densekit", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli_quantize")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    m = dk.Sequential([dk.layers.Input(6), dk.layers.Dense(16, activation="relu"),
                       dk.layers.Dense(2, activation="softmax")], seed=0)
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    m.fit(X, y, epochs=2, verbose=0)
    m.save(d / "m.dk")
    np.savez(d / "calib.npz", X=X[:50], y=y[:50])
    np.save(d / "x.npy", X)
    (d / "notes.txt").write_text("hello\n")
    return d, X


# --no-speed-check: layers this small can be faster in float32 (then kept so, by design).
@pytest.mark.parametrize("flag,extra,precision", [
    ("--int8", ["--no-speed-check"], "int8"),
    ("--int8", ["--calibration", "calib.npz", "--no-speed-check"], "int8"),
    ("--float16", [], "float16")])
def test_quantize_writes_a_loadable_model(work, flag, extra, precision):
    d, X = work
    out = densekit("quantize", "m.dk", flag, "q.dk", *extra, cwd=d)
    assert out.returncode == 0, out.stderr
    assert "wrote q.dk" in out.stdout and f": {precision}, output error" in out.stdout
    q = dk.load_model(d / "q.dk")
    assert all(layer.precision == precision for layer in q.layers)
    static = [layer.activation_quantization["mode"] for layer in q.layers]
    calibrated = "--calibration" in extra
    assert static == (["static"] * 2 if calibrated else ["dynamic"] * 2)
    ref = dk.load_model(d / "m.dk")
    assert np.abs(q.predict(X) - ref.predict(X)).max() < 0.05
    if flag == "--int8":
        np.testing.assert_array_equal(
            q.predict(X), ref.quantize("int8", calibration=X[:50] if calibrated else None,
                                       speed_check=False).predict(X))


BAD = [
    (["quantize", "m.dk", "q.dk"], 2, "one of the arguments --int8 --float16 is required"),
    (["quantize", "m.dk", "--int8", "--float16", "q.dk"], 2, "not allowed with argument"),
    (["quantize", "missing.dk", "--int8", "q.dk"], 1, "missing.dk: no such model file"),
    (["quantize", "m.dk", "--float16", "q.dk", "--calibration", "calib.npz"], 2, "--calibration is for --int8"),
    (["quantize", "m.dk", "--int8", "m.dk"], 2, "would overwrite"),
    (["quantize", "m.dk", "--int8", "nodir/q.dk"], 2, "does not exist"),
    (["quantize", "m.dk", "--int8", "q.dk", "--calibration", "notes.txt"], 1, "unknown data format"),
    (["quantize", "notes.txt", "--int8", "q.dk"], 1, "notes.txt: "),
]


@pytest.mark.parametrize("argv, code, message", BAD, ids=[" ".join(b[0]) for b in BAD])
def test_bad_input_gives_one_line_and_exit_code(argv, code, message, work, capsys, monkeypatch):
    d, _ = work
    monkeypatch.chdir(d)
    assert main(argv) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert message in err, err
