"""Model files written by earlier versions keep loading (SPEC §3, "Persistence and deployment").

tests/fixtures/v1_*.dk were saved by the code of commit a0ce660 (format version 1), with what
that code computed beside each in a .npz (tests/fixtures/make_v1_fixtures.py says what; it is
not to be re-run); tests/fixtures/v2_*.dk likewise by the code that introduced version 2
(make_v2_fixtures.py). Each file must load with the current code and

- predict what the old code predicted: float64 bit for bit on the build of the core that wrote
  the fixture (kernels differ per instruction set in the last bits; other builds within 1e-13),
  float32 within 1e-6 of the largest output (GEMM kernels may change the float32 rounding);
- resume: one more epoch of fit (shuffle off) gives the parameters the old code reached when it
  continued the same run in memory — float64 bit for bit on the recording build, float32 within
  1e-6 of each tensor's largest entry (measured across builds: ≤ 2e-7). On the recording build
  every float32 fixture but one also resumes bit for bit today; the exception is SGD whose
  momentum was set to 0, which now takes the plain step θ − ηg (fused on FMA builds) where the
  old code went through its momentum slot, θ + (0·m − ηg): 1.7e-8 apart after one epoch;
- survive a re-save: a version-2 file re-saves identically; a version-1 file becomes a version-2
  file holding the same tensors and the
  same document, plus what version 2 records — the Adam family's ε placement (a version-1 Adam,
  AdamW or Nadam was trained with ε inside the root, and the re-saved file says so:
  `epsilon_inside_root: true`) and the optional column names (none) — and it loads back to the
  same model and training state.
"""

import glob
import json
import os

import numpy as np
import pytest

import densekit as dk
from densekit import saving

safetensors_numpy = pytest.importorskip("safetensors.numpy")

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
FILES = sorted(glob.glob(os.path.join(FIXTURES, "v*_*.dk")))
V1_FILES = [f for f in FILES if os.path.basename(f).startswith("v1_")]
V2_FILES = [f for f in FILES if os.path.basename(f).startswith("v2_")]
IDS = [os.path.basename(f)[:-3] for f in FILES]
BATCH = 16


def fixture(path):
    with np.load(path[:-3] + ".npz") as f:
        ref = {k: f[k] for k in f.files}
    same_build = str(ref.pop("isa")) == dk._native.ISA
    return ref, same_build


def assert_close(got, want, dtype, same_build, float32_rtol, what):
    if np.dtype(dtype) == np.float64:
        if same_build:
            np.testing.assert_array_equal(got, want, err_msg=what)
            return
        rtol = 1e-13
    else:
        rtol = float32_rtol
    assert got.shape == want.shape, what
    scale = float(np.max(np.abs(want)))
    assert float(np.max(np.abs(got - want))) <= rtol * scale, what


def test_every_fixture_has_its_numbers():
    assert len(V1_FILES) >= 3 and len(V2_FILES) >= 3
    for path in FILES:
        assert os.path.exists(path[:-3] + ".npz"), path


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_file_predicts_as_it_did(path):
    ref, same_build = fixture(path)
    model = dk.load_model(path)
    out = model.predict(ref["x"])
    assert out.dtype == ref["predict"].dtype
    assert_close(out, ref["predict"], model.dtype, same_build, 1e-6, "predict")


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_file_resumes_training(path):
    ref, same_build = fixture(path)
    model = dk.load_model(path)
    model.fit(ref["x"], ref["y"], batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    weights = model.get_weights()
    want = [ref[f"after_{k}"] for k in range(len(weights))]
    assert f"after_{len(weights)}" not in ref
    for k, (got, w) in enumerate(zip(weights, want)):
        assert_close(got, w, model.dtype, same_build, 1e-6, f"weight {k} after one epoch")


def _contents(blob):
    """(metadata with the writer's version taken out of the densekit document, tensors)."""
    metadata, tensors = saving.read_container(blob)
    metadata = dict(metadata)
    doc = json.loads(metadata.pop("densekit"))
    doc.pop("densekit_version")
    metadata.pop("checksum")
    return metadata, doc, tensors


def _flat_state(model):
    """Every array and number of the model's training state, by a path of names."""
    out = {}

    def walk(prefix, value):
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}/{k}", v)
        else:
            out[prefix] = value

    walk("optimizer", model.optimizer.get_state() if model.optimizer is not None else None)
    for k, w in enumerate(model.get_weights()):
        out[f"weight/{k}"] = w
    return out


def _as_version_2(doc):
    """What a version-1 document becomes when its model is saved again (version 2)."""
    doc = json.loads(json.dumps(doc))
    opt = (doc["compile"] or {}).get("optimizer")
    if opt is not None and opt["class_name"] in ("adam", "adamw", "nadam"):
        opt["config"]["epsilon_inside_root"] = True
    doc.update(feature_names=None, target_name=None)
    return doc


@pytest.mark.parametrize("path", V1_FILES, ids=[os.path.basename(f)[:-3] for f in V1_FILES])
def test_v1_file_resaves_as_version_2(path):
    with open(path, "rb") as f:
        original = f.read()
    model = saving.deserialize_model(original)
    blob = saving.serialize_model(model)
    md_old, doc_old, tensors_old = _contents(original)
    md_new, doc_new, tensors_new = _contents(blob)
    assert md_old["format_version"] == "1" and md_new["format_version"] == "2"
    assert md_new == {**md_old, "format_version": "2"}
    assert doc_new == _as_version_2(doc_old)
    assert tensors_new.keys() == tensors_old.keys()
    for name in tensors_old:
        assert tensors_new[name].dtype == tensors_old[name].dtype, name
        np.testing.assert_array_equal(tensors_new[name], tensors_old[name], err_msg=name)

    again = saving.deserialize_model(blob)
    assert again.get_config() == model.get_config()
    assert again.optimizer.get_config() == model.optimizer.get_config()
    a, b = _flat_state(again), _flat_state(model)
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], np.ndarray):
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        else:
            assert a[key] == b[key], key
    ref, _ = fixture(path)
    np.testing.assert_array_equal(again.predict(ref["x"]), model.predict(ref["x"]))


@pytest.mark.parametrize("path", V2_FILES, ids=[os.path.basename(f)[:-3] for f in V2_FILES])
def test_v2_file_resaves_identically(path):
    with open(path, "rb") as f:
        original = f.read()
    blob = saving.serialize_model(saving.deserialize_model(original))
    md_old, doc_old, tensors_old = _contents(original)
    md_new, doc_new, tensors_new = _contents(blob)
    assert md_old["format_version"] == "2"
    assert (md_new, doc_new) == (md_old, doc_old)
    assert tensors_new.keys() == tensors_old.keys()
    for name in tensors_old:
        np.testing.assert_array_equal(tensors_new[name], tensors_old[name], err_msg=name)


def test_v1_adam_family_loads_with_epsilon_inside_and_v2_records_it():
    """The ε placement travels with the file: version-1 Adam/Nadam resume with ε inside the root;
    a version-2 file says which placement it trained with."""
    for path in V1_FILES:
        opt = dk.load_model(path).optimizer
        if opt.kind in ("adam", "adamw", "nadam"):
            assert opt.get_config()["epsilon_inside_root"] is True, path
    configs = {os.path.basename(p): dk.load_model(p).optimizer.get_config() for p in V2_FILES}
    assert configs["v2_adam_inside_root_relu6_f64.dk"]["epsilon_inside_root"] is True
    assert configs["v2_nadam_flatten_mish_names_f32.dk"]["epsilon_inside_root"] is False
    assert configs["v2_adamw_keras_schedule_f32.dk"]["epsilon_inside_root"] is False


def test_v2_names_and_sample_shape_load():
    model = dk.load_model(os.path.join(FIXTURES, "v2_nadam_flatten_mish_names_f32.dk"))
    assert model.feature_names == ["a", "b", "c", "d", "e", "f"] and model.target_name == "label"
    assert model.input_shape == (2, 3)
