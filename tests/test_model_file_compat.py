"""Model files written by earlier versions keep loading (SPEC §3, "Persistence and deployment").

tests/fixtures/v1_*.dk were saved by the code of commit a0ce660 (format version 1), with what
that code computed beside each in a .npz (tests/fixtures/make_v1_fixtures.py says what; it is
not to be re-run); tests/fixtures/v2_*.dk and v3_*.dk likewise by the code that introduced
versions 2 and 3 (make_v2_fixtures.py, make_v3_fixtures.py). Each file must load with the current
code and

- predict what the old code predicted: float64 bit for bit on the build of the core that wrote
  the fixture (kernels differ per instruction set in the last bits; other builds within 1e-13),
  float32 within 1e-6 of the largest output (GEMM kernels may change the float32 rounding);
  an int8 model with ReLU and linear layers bit for bit everywhere (its arithmetic is exact
  integer sums and one fp32 epilogue, the same on every CPU);
- resume: one more epoch of fit (shuffle off) gives the parameters the old code reached when it
  continued the same run in memory — float64 bit for bit on the recording build, float32 within
  1e-6 of each tensor's largest entry (measured across builds: ≤ 2e-7). On the recording build
  every float32 fixture but one also resumes bit for bit today; the exception is SGD whose
  momentum was set to 0, which now takes the plain step θ − ηg (fused on FMA builds) where the
  old code went through its momentum slot, θ + (0·m − ηg): 1.7e-8 apart after one epoch; a
  pruned model's masks hold through that epoch; a quantized model refuses to train;
- survive a re-save: a file of version 2 or later re-saves identically (but for the version
  number); a version-1 file becomes a file of the current version holding the same tensors and the
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
V3_FILES = [f for f in FILES if os.path.basename(f).startswith("v3_")]
# Files of quantized models whose outputs are exact on every CPU (int8, ReLU and linear layers).
EXACT_EVERYWHERE = ("v3_int8_relu_logits_f32.dk", "v3_int8_static_relu_logits_f32.dk")
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
    assert len(V1_FILES) >= 3 and len(V2_FILES) >= 3 and len(V3_FILES) >= 5
    for path in FILES:
        assert os.path.exists(path[:-3] + ".npz"), path


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_file_predicts_as_it_did(path):
    ref, same_build = fixture(path)
    model = dk.load_model(path)
    out = model.predict(ref["x"])
    assert out.dtype == ref["predict"].dtype
    if os.path.basename(path) in EXACT_EVERYWHERE:
        np.testing.assert_array_equal(out, ref["predict"])
    assert_close(out, ref["predict"], model.dtype, same_build, 1e-6, "predict")


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_file_resumes_training(path):
    ref, same_build = fixture(path)
    model = dk.load_model(path)
    if "after_0" not in ref:  # a quantized model: trained as the float model it came from
        with pytest.raises(RuntimeError, match="quantized"):
            model.fit(ref["x"], ref["y"], batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
        return
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
    """What a version-1 document becomes when its model is saved again (version 2 and later)."""
    doc = json.loads(json.dumps(doc))
    opt = (doc["compile"] or {}).get("optimizer")
    if opt is not None and opt["class_name"] in ("adam", "adamw", "nadam"):
        opt["config"]["epsilon_inside_root"] = True
    doc.update(feature_names=None, target_name=None)
    return doc


@pytest.mark.parametrize("path", V1_FILES, ids=[os.path.basename(f)[:-3] for f in V1_FILES])
def test_v1_file_resaves_in_the_current_version(path):
    with open(path, "rb") as f:
        original = f.read()
    model = saving.deserialize_model(original)
    blob = saving.serialize_model(model)
    md_old, doc_old, tensors_old = _contents(original)
    md_new, doc_new, tensors_new = _contents(blob)
    current = str(saving.FORMAT_VERSION)
    assert md_old["format_version"] == "1" and md_new["format_version"] == current
    assert md_new == {**md_old, "format_version": current}
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


@pytest.mark.parametrize("path", V2_FILES + V3_FILES,
                         ids=[os.path.basename(f)[:-3] for f in V2_FILES + V3_FILES])
def test_v2_and_later_files_resave_identically(path):
    """Version 3 only added what version-2 files cannot hold (quantized layers, masks), so a
    version-2 file re-saves with nothing changed but its version number."""
    with open(path, "rb") as f:
        original = f.read()
    blob = saving.serialize_model(saving.deserialize_model(original))
    md_old, doc_old, tensors_old = _contents(original)
    md_new, doc_new, tensors_new = _contents(blob)
    assert md_old["format_version"] == os.path.basename(path)[1]
    assert md_new == {**md_old, "format_version": str(saving.FORMAT_VERSION)}
    assert doc_new == doc_old
    assert tensors_new.keys() == tensors_old.keys()
    for name in tensors_old:
        assert tensors_new[name].dtype == tensors_old[name].dtype, name
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


def test_v3_quantized_and_pruned_files_load_as_such():
    """The int8 and float16 kernels come back in their precisions, the masks as masks."""
    def load(name):
        return dk.load_model(os.path.join(FIXTURES, name))
    def precisions(model):
        return [layer.precision for layer in model.layers if isinstance(layer, dk.layers.QuantizedDense)]
    assert precisions(load("v3_int8_static_relu_logits_f32.dk")) == ["int8", "int8", "int8"]
    assert precisions(load("v3_int8_relu_logits_f32.dk")) == ["int8", "int8", "int8"]
    assert precisions(load("v3_float16_tanh_softmax_f32.dk")) == ["float16", "float16", "float16"]
    pruned = load("v3_pruned_adam_f32.dk")
    assert pruned.sparsity(exact=True)["overall"] >= 0.8
    for layer in pruned.layers:
        if "kernel" in layer.parameter_names:
            mask = layer.weight_mask("kernel")
            assert mask is not None and not np.any(layer.kernel[~mask])
