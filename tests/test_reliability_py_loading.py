"""load_model on malformed or hostile files: ModelFileError and nothing else, without reading
more than the header declares (issue 11, item 8), and the short run of the loader's fuzz target
(tests/fuzz/fuzz_load_model.py over tests/fuzz/corpus/: only ModelFileError, and every file that
loads re-saves and reloads).
"""

import json
import os
import resource
import struct
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import densekit as dk
from densekit import saving
from densekit.model_file import MAX_HEADER_BYTES, ModelFileError, checksum, read_container

HERE = os.path.dirname(os.path.abspath(__file__))
FUZZ = os.path.join(HERE, "fuzz", "fuzz_load_model.py")
PYTHONPATH = os.path.dirname(os.path.dirname(dk.__file__))


@pytest.fixture(scope="module")
def blob():
    model = dk.Sequential([dk.layers.Input(3), dk.layers.Dense(4, activation="relu"),
                           dk.layers.Dense(2)], seed=0)
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((8, 3)), np.zeros((8, 2)), epochs=1, verbose=0)
    return saving.serialize_model(model)


def _with_doc(blob, edit):
    """The file with its densekit JSON document edited and the checksum recomputed."""
    import safetensors.numpy
    meta, tensors = read_container(blob)
    doc = json.loads(meta["densekit"])
    edit(doc)
    meta = {k: v for k, v in meta.items() if k != "checksum"}
    meta["densekit"] = json.dumps(doc)
    meta["checksum"] = checksum(meta, tensors)
    return safetensors.numpy.save(dict(tensors), metadata=meta)


def _with_metadata(blob, **entries):
    """The file with metadata entries changed, its header re-encoded by hand (JSON escapes such as
    "\\ud800" are what a hostile file can hold, and what the safetensors library cannot write)."""
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + n])
    header["__metadata__"].update(entries)
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + blob[8 + n:]


def test_dev_zero_is_refused_at_once():
    t0 = time.perf_counter()
    with pytest.raises(ModelFileError, match="/dev/zero"):
        dk.load_model("/dev/zero")
    assert time.perf_counter() - t0 < 5


def test_dev_zero_in_a_memory_limited_process():
    """The unfixed loader read /dev/zero until memory ran out: under a 1 GiB address-space limit
    it must still answer with ModelFileError."""
    code = ("import resource, densekit as dk\n"
            "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
            "try:\n    dk.load_model('/dev/zero')\n"
            "except dk.saving.ModelFileError as e:\n    print('ModelFileError', e)\n")
    env = dict(os.environ, PYTHONPATH=PYTHONPATH)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env=env)
    if "cannot allocate" in proc.stderr.lower() and "import" in proc.stderr.lower():
        pytest.skip("the interpreter cannot even start under a 1 GiB address-space limit")
    assert proc.stdout.startswith("ModelFileError"), proc.stderr[-2000:]


def test_huge_header_length_is_refused_without_reading(tmp_path, blob):
    path = tmp_path / "m.dk"
    path.write_bytes(struct.pack("<Q", MAX_HEADER_BYTES + 1) + blob[8:])
    with pytest.raises(ModelFileError, match="header length field .* out of range"):
        dk.load_model(path)


def test_huge_sparse_file_is_refused_before_its_data_is_read(tmp_path, blob):
    """A valid model followed by 50 GB of (sparse) zeros: refused from its size alone."""
    path = tmp_path / "big.dk"
    with open(path, "wb") as f:
        f.write(blob)
        f.truncate(50 * 10**9)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    with pytest.raises(ModelFileError, match=r"50000000000 bytes but its header declares \d+ "
                                             r"\(trailing bytes"):
        dk.load_model(path)
    assert time.perf_counter() - t0 < 5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # KiB


def test_truncated_file_is_refused_from_its_size(tmp_path, blob):
    path = tmp_path / "m.dk"
    path.write_bytes(blob[:-5])
    with pytest.raises(ModelFileError, match="truncated"):
        dk.load_model(path)


@pytest.mark.parametrize("extra", [b"", b"x" * 7])
def test_a_model_through_a_pipe(tmp_path, blob, extra):
    """Streams (pipes, devices) have no size: the loader reads what the header declares, then
    checks that the stream ends there."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    def write():
        with open(fifo, "wb") as f:
            f.write(blob + extra)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        if extra:
            with pytest.raises(ModelFileError, match="trailing bytes"):
                dk.load_model(fifo)
        else:
            assert dk.load_model(fifo).predict(np.ones((1, 3))).shape == (1, 2)
    finally:
        writer.join(timeout=10)


@pytest.mark.parametrize("edit,match", [
    (lambda d: d["model"].update(class_name=["Sequential"]), r"model entry .*class_name \['Sequential'\]"),
    (lambda d: d["model"].update(class_name={"a": 1}), r"model entry"),
    (lambda d: d["model"]["config"]["layers"][0].update(class_name=[1]), r"layer 0: unknown layer class"),
    (lambda d: d["model"]["config"]["layers"][0]["config"].update(name="a\ud800"), r"lone surrogate"),
    (lambda d: d["model"]["config"].update(name={"x": 1}), r"name"),
    (lambda d: d["model"]["config"]["layers"][0]["config"].update(units=2**63), r"units"),
    (lambda d: d["model"]["config"]["layers"][0]["config"].update(kernel_regularizer={"l2": 1e308 * 10}), r"not valid JSON"),
    (lambda d: d["compile"]["optimizer"]["config"].update(beta_1=[0.9]), r"compile"),
    (lambda d: d["compile"]["optimizer"].update(class_name=["adam"]), r"compile|optimizer"),
    (lambda d: d["compile"].update(loss={"class_name": {"x": 1}}), r"loss"),
])
def test_hostile_documents_raise_model_file_error_only(blob, edit, match):
    bad = _with_doc(blob, edit)
    with pytest.raises(ModelFileError, match=match) as info:
        saving.deserialize_model(bad)
    assert type(info.value) is ModelFileError


def test_metadata_with_a_lone_surrogate_raises_model_file_error(blob):
    bad = _with_metadata(blob, format="densekit\ud800")
    with pytest.raises(ModelFileError, match="lone surrogate|not valid JSON"):
        saving.deserialize_model(bad)


def test_unexpected_errors_in_the_loader_are_model_file_errors_with_the_cause(blob, monkeypatch):
    """Whatever a check misses is still reported as ModelFileError, its cause chained."""
    def boom(*args, **kwargs):
        raise KeyError("simulated slip in a check")
    monkeypatch.setattr(saving, "_training_state", boom)
    with pytest.raises(ModelFileError, match="KeyError") as info:
        saving.deserialize_model(blob)
    assert isinstance(info.value.__cause__, KeyError)


# ---------------------------------------------------------------------------------------------
# the fuzz target, short run
# ---------------------------------------------------------------------------------------------
def test_fuzz_target_short_run():
    """3,000 mutated files (a few seconds) through the loader in a child process (a crash shows
    as its exit status): only ModelFileError, and every file that loads re-saves and reloads."""
    env = dict(os.environ, PYTHONPATH=PYTHONPATH)
    proc = subprocess.run([sys.executable, FUZZ, "--loop", "3000", "--seed", "11",
                           "--crash-dir", ""], capture_output=True, text=True, timeout=600,
                          env=env)
    assert proc.stdout.strip(), f"the fuzz process died (status {proc.returncode}):\n{proc.stderr[-3000:]}"
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["failures"] == [] and proc.returncode == 0, report["failures"]
    assert report["files"] == 3000
    kinds = {key.split(":")[0] for key in report["counts"]}
    assert kinds == {"seed", "bytes", "doc", "header", "data"}
    # The structured mutations reach past the checksum: a good share of the files load.
    assert report["loaded"] >= 0.05 * report["files"], report["counts"]
