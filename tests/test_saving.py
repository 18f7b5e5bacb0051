"""Persistence and transfer learning (SPEC §3, "Persistence and deployment" and "Transfer learning
and pretraining").

- save → load round trips are bit for bit (float32 and float64, every layer type): configs,
  parameters, layer state (BN statistics), random-stream keys, predictions;
- save (with the optimizer) → load → fit continues the uninterrupted run bit for bit;
- truncated, random, mutated and hostile files raise ModelFileError (a ValueError) and never
  crash the interpreter (a fuzz loop, run in a subprocess so that a crash is seen);
- writes are atomic: a failure (or SIGKILL) during save leaves the previous file loadable;
- clone_model gives an independent copy; Sequential(base.layers[:-1] + [...]) shares layers as
  Keras does; freeze → train head → unfreeze → fine-tune works as documented.
"""

import json
import os
import re
import signal
import struct
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import densekit as dk
from densekit import cloning, saving
from densekit.layers import Dense, Input

safetensors_numpy = pytest.importorskip("safetensors.numpy")

DTYPES = ["float32", "float64"]
L = dk.layers
HAS_BN = hasattr(L, "BatchNormalization")
HAS_DROPOUT = hasattr(L, "Dropout") and hasattr(L, "AlphaDropout")
HAS_NORMALIZATION = hasattr(L, "Normalization")
PYTHONPATH = os.path.dirname(os.path.dirname(dk.__file__))


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def dense_every_option():
    reg, con, ini = dk.regularizers, dk.constraints, dk.initializers
    return [
        Input(6),
        Dense(8, activation="relu", kernel_initializer="he_normal",
              kernel_regularizer=reg.l2(1e-3), bias_regularizer=reg.l1(1e-4),
              kernel_constraint=con.MaxNorm(2.0)),
        Dense(7, activation="leaky_relu", use_bias=False, kernel_initializer="lecun_uniform",
              kernel_constraint=con.MaxNorm(1.5, axis=1)),
        Dense(7, activation="elu", kernel_initializer=ini.VarianceScaling(0.5, "fan_out", "normal"),
              bias_initializer=ini.Constant(0.1), bias_constraint=con.NonNeg(),
              kernel_regularizer=reg.l1_l2(1e-4, 1e-3)),
        Dense(6, activation="selu", kernel_initializer=ini.Orthogonal(1.5), bias_initializer="ones"),
        Dense(6, activation="tanh", kernel_constraint=con.UnitNorm(), kernel_initializer="lecun_normal"),
        Dense(6, activation="gelu", kernel_initializer="glorot_normal", trainable=False),
        Dense(6, activation="swish", kernel_initializer="he_uniform", name="my_swish"),
        Dense(6, activation="softplus", kernel_initializer="orthogonal"),
        Dense(6, activation="prelu"),
        Dense(6, activation="rrelu"),
        Dense(6, activation="sigmoid", bias_initializer="zeros"),
        Dense(6, activation="linear", kernel_initializer=ini.VarianceScaling(2.0, "fan_avg", "uniform")),
        Dense(3, activation="softmax"),
    ]


def activation_layers():
    return [
        Input(6), Dense(8),
        L.Activation("relu"), L.Activation("leaky_relu", alpha=0.2), L.Activation("elu", alpha=0.5),
        L.Activation("rrelu", lower=0.1, upper=0.3), L.Activation("prelu"), L.Activation("gelu"),
        L.ReLU(), L.LeakyReLU(alpha=0.3), L.PReLU(), L.RReLU(lower=0.05, upper=0.25), L.ELU(),
        L.SELU(), L.GELU(), L.Swish(), L.SiLU(), L.Softplus(), L.Tanh(), L.Sigmoid(),
        Dense(3), L.Softmax(),
    ]


def normalization_and_dropout():
    X = np.random.default_rng(0).normal(size=(80, 6))  # what Normalization adapts to
    return [
        Input(6), L.Normalization().adapt(X), Dense(10, use_bias=False), L.BatchNormalization(),
        L.Activation("elu"), L.Dropout(0.2), Dense(8, activation="selu", kernel_initializer="lecun_normal"),
        L.AlphaDropout(0.1), L.BatchNormalization(momentum=0.9, epsilon=1e-2, center=False, scale=True),
        Dense(6), L.BatchNormalization(center=True, scale=False, trainable=False),
        Dense(3, activation="softmax"),
    ]


ARCHS = [
    pytest.param(dense_every_option, id="dense_every_option"),
    pytest.param(activation_layers, id="activation_layers"),
    pytest.param(normalization_and_dropout, id="normalization_dropout",
                 marks=pytest.mark.skipif(not (HAS_BN and HAS_DROPOUT and HAS_NORMALIZATION),
                                          reason="BN/Dropout layers not available yet")),
]


def compiled(layers, dtype="float32", seed=7, optimizer=None, loss="sparse_categorical_crossentropy",
             metrics=("accuracy",)):
    m = dk.Sequential(layers, seed=seed, dtype=dtype)
    m.compile(optimizer=optimizer or dk.optimizers.Nadam(1e-2, clipnorm=1.0), loss=loss,
              metrics=list(metrics))
    return m


def tensors(model):
    """{(position, name): copy} of every parameter and state tensor."""
    out = {}
    for i, layer in enumerate(model.layers):
        for name in layer.parameter_names + layer.state_names:
            out[(i, name)] = np.array(layer.variable(name), copy=True)
    return out


def assert_same_tensors(a, b):
    ta, tb = tensors(a), tensors(b)
    assert ta.keys() == tb.keys()
    for key in ta:
        assert ta[key].dtype == tb[key].dtype, key
        np.testing.assert_array_equal(ta[key], tb[key], err_msg=str(key))


def assert_same_model(a, b, X):
    assert b.get_config() == a.get_config()
    assert [l.trainable for l in b.layers] == [l.trainable for l in a.layers]
    assert [l.rng_key for l in b.layers] == [l.rng_key for l in a.layers]
    assert_same_tensors(a, b)
    pa, pb = a.predict(X), b.predict(X)
    assert pb.dtype == pa.dtype
    np.testing.assert_array_equal(pb, pa)


def roundtrip(model, tmp_path, **kwargs):
    path = tmp_path / "model.dk"
    saving.save_model(model, path, **kwargs)
    return saving.load_model(path)


def resign(metadata, arrays):
    """A model file with the given metadata and tensors and a valid checksum: exercises the
    validation behind the checksum (what a hostile file can do)."""
    md = {k: v for k, v in metadata.items() if k != "checksum"}
    md["checksum"] = saving.checksum(md, arrays)
    return safetensors_numpy.save(arrays, metadata=md)


def unpack(blob):
    metadata, arrays = saving.read_container(blob)
    return dict(metadata), {k: v.copy() for k, v in arrays.items()}


def edit_doc(blob, fn):
    metadata, arrays = unpack(blob)
    doc = json.loads(metadata["densekit"])
    fn(doc)
    metadata["densekit"] = json.dumps(doc)
    return resign(metadata, arrays)


def edit_arrays(blob, fn):
    metadata, arrays = unpack(blob)
    fn(arrays)
    return resign(metadata, arrays)


def edit_metadata(blob, fn):
    metadata, arrays = unpack(blob)
    fn(metadata)
    return resign(metadata, arrays)


# ---------------------------------------------------------------------------------------------
# round trips
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("make_layers", ARCHS)
def test_round_trip_is_bit_for_bit(make_layers, dtype, tmp_path, blobs):
    X, y = blobs(n=80)
    model = compiled(make_layers(), dtype=dtype)
    model.fit(X, y, epochs=2, batch_size=16, verbose=0)  # PReLU α, BN statistics move
    loaded = roundtrip(model, tmp_path)
    assert_same_model(model, loaded, X)
    assert loaded.dtype == model.dtype
    assert loaded.metrics_names == model.metrics_names
    assert loaded.loss.get_config() == model.loss.get_config() and loaded.loss.name == model.loss.name
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.evaluate(X, y) == model.evaluate(X, y)


@pytest.mark.parametrize("dtype", DTYPES)
def test_round_trip_of_uncompiled_and_compile_false(dtype, tmp_path, blobs):
    X, _ = blobs(n=80)
    model = dk.Sequential(dense_every_option(), seed=3, dtype=dtype)
    loaded = roundtrip(model, tmp_path)
    assert loaded.optimizer is None
    assert_same_model(model, loaded, X)

    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    saving.save_model(model, tmp_path / "c.dk")
    assert saving.load_model(tmp_path / "c.dk", compile=False).optimizer is None
    assert saving.load_model(tmp_path / "c.dk").optimizer is not None


def test_file_is_standard_safetensors(tmp_path, blobs):
    """Any safetensors reader sees the tensors in the core's shapes and the versioned metadata."""
    from safetensors import safe_open
    X, y = blobs(n=80)
    model = compiled([Input(6), Dense(5, activation="prelu"), Dense(3, activation="softmax")])
    model.fit(X, y, epochs=1, verbose=0)
    path = tmp_path / "m.dk"
    saving.save_model(model, path)
    with safe_open(str(path), "numpy") as f:
        meta = f.metadata()
        assert meta["format"] == "densekit" and meta["format_version"] == str(saving.FORMAT_VERSION)
        assert meta["checksum"].startswith("sha256:")
        keys = set(f.keys())
        assert keys == {"layers.0.kernel", "layers.0.bias", "layers.0.alpha", "layers.1.kernel",
                        "layers.1.bias", "optimizer.slots"}
        np.testing.assert_array_equal(f.get_tensor("layers.0.kernel"), model.layers[0].kernel)
        assert f.get_tensor("layers.0.bias").shape == (1, 5)
        packed = f.get_tensor("optimizer.slots")  # packed: no alignment padding
        assert packed.shape == (2, model.count_params())
        np.testing.assert_array_equal(packed, saving.pack_slots(model))
    doc = json.loads(meta["densekit"])
    assert doc["model"]["config"] == model.get_config()
    assert doc["optimizer_state"]["iterations"] == model.optimizer.iterations


def test_a_layer_repeated_within_one_model_is_refused():
    """A layer keeps one set of caches and gradients, so it may appear once per model (Keras's
    Sequential refuses repeats too); sharing across models is what transfer learning uses."""
    d = Dense(4, activation="tanh")
    with pytest.raises(ValueError, match="only once per model"):
        dk.Sequential([Input(4), d, d, Dense(3, activation="softmax")])


def test_parameterized_activation_on_dense_round_trips(tmp_path):
    """Dense(activation=<ActivationSpec with a non-default α>) must come back with its α.
    (Library bug at the time of writing: Dense.get_config keeps only the activation's name;
    save_model refuses to write the lossy file rather than save a different model.)"""
    X = -np.ones((2, 3))
    model = dk.Sequential([Input(3), Dense(4, activation=dk.activations.get("leaky_relu", alpha=0.3))], seed=0)
    loaded = roundtrip(model, tmp_path)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


# ---------------------------------------------------------------------------------------------
# resuming training
# ---------------------------------------------------------------------------------------------
def resume_layers():
    layers = [Input(6), Dense(12, activation="relu")]
    if HAS_BN:
        layers.append(L.BatchNormalization())
    layers.append(L.RReLU())
    if HAS_DROPOUT:
        layers.append(L.Dropout(0.2))
    layers += [Dense(8, activation="prelu"), Dense(3, activation="softmax")]
    return layers


RESUME_OPTIMIZERS = [
    ("adam", lambda: dk.optimizers.Adam(1e-2)),
    ("nadam", lambda: dk.optimizers.Nadam(1e-2)),
    ("sgd_momentum", lambda: dk.optimizers.SGD(0.05, momentum=0.9)),
    ("sgd_nesterov_clipnorm", lambda: dk.optimizers.SGD(0.05, momentum=0.9, nesterov=True, clipnorm=1.0)),
    ("rmsprop_centered", lambda: dk.optimizers.RMSprop(1e-2, momentum=0.5, centered=True)),
    ("adamw_amsgrad", lambda: dk.optimizers.AdamW(1e-2, amsgrad=True)),
    ("adagrad", lambda: dk.optimizers.Adagrad(5e-2)),
]
EPOCHS_BEFORE, EPOCHS_AFTER = 3, 2


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,make_opt", RESUME_OPTIMIZERS, ids=[o[0] for o in RESUME_OPTIMIZERS])
def test_save_load_continue_equals_uninterrupted_run(name, make_opt, dtype, tmp_path, blobs):
    X, y = blobs(n=70)
    straight = compiled(resume_layers(), dtype=dtype, optimizer=make_opt())
    straight.fit(X, y, epochs=EPOCHS_BEFORE + EPOCHS_AFTER, batch_size=16, verbose=0)

    first = compiled(resume_layers(), dtype=dtype, optimizer=make_opt())
    first.fit(X, y, epochs=EPOCHS_BEFORE, batch_size=16, verbose=0)
    resumed = roundtrip(first, tmp_path)
    assert resumed.optimizer.iterations == first.optimizer.iterations
    assert resumed.get_state()["step"] == first.get_state()["step"]
    resumed.fit(X, y, epochs=EPOCHS_AFTER, batch_size=16, verbose=0)

    assert_same_tensors(straight, resumed)
    assert resumed.optimizer.iterations == straight.optimizer.iterations
    got, want = resumed.optimizer.get_state()["slots"], straight.optimizer.get_state()["slots"]
    assert got.keys() == want.keys()
    for name in want:
        for key in want[name]:
            np.testing.assert_array_equal(got[name][key], want[name][key], err_msg=f"{name} {key}")
    np.testing.assert_array_equal(saving.pack_slots(resumed), saving.pack_slots(straight))


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs 2 cores")
def test_resume_is_bit_for_bit_when_products_run_multithreaded(tmp_path):
    """As above with layers wide enough that the C++ core splits the products between 2 threads.
    The thread auto-tuner picks 1 or 2 threads per batch from timings, and a resumed run starts a
    fresh tuner; the result must not depend on it (the product engine splits work by shape
    only, each output one chain over the inner dimension)."""
    before = dk.get_num_threads()
    dk.set_num_threads(2)
    try:
        r = np.random.default_rng(0)
        X, y = r.random((640, 784), dtype=np.float32), r.integers(0, 10, 640)

        def make():
            return compiled([Input(784), Dense(256, activation="relu"), Dense(10, activation="softmax")],
                            optimizer=dk.optimizers.Adam(1e-3))

        straight = make()
        straight.fit(X, y, epochs=4, verbose=0)
        first = make()
        first.fit(X, y, epochs=2, verbose=0)
        resumed = roundtrip(first, tmp_path)
        resumed.fit(X, y, epochs=2, verbose=0)
        assert_same_tensors(straight, resumed)
    finally:
        dk.set_num_threads(before)


def test_resume_after_momentum_set_to_zero_keeps_slot_layout(tmp_path, blobs):
    """SGD compiled with momentum keeps its momentum slot when momentum is later set to 0."""
    X, y = blobs(n=80)
    a = compiled(resume_layers(), dtype="float64", optimizer=dk.optimizers.SGD(0.05, momentum=0.9))
    b = compiled(resume_layers(), dtype="float64", optimizer=dk.optimizers.SGD(0.05, momentum=0.9))
    for m in (a, b):
        m.fit(X, y, epochs=1, verbose=0)
        m.optimizer.momentum = 0.0
    a.fit(X, y, epochs=2, verbose=0)
    b.fit(X, y, epochs=1, verbose=0)
    c = roundtrip(b, tmp_path)
    assert c.optimizer.momentum == 0.0
    c.fit(X, y, epochs=1, verbose=0)
    assert_same_tensors(a, c)


def test_resume_with_learning_rate_schedule(tmp_path, blobs):
    X, y = blobs(n=80)

    def make():
        sched = dk.schedules.ExponentialDecay(0.1, 20)
        return compiled(resume_layers(), dtype="float64",
                        optimizer=dk.optimizers.SGD(learning_rate=sched, momentum=0.9))

    a, b = make(), make()
    a.fit(X, y, epochs=4, verbose=0)
    b.fit(X, y, epochs=2, verbose=0)
    c = roundtrip(b, tmp_path)
    assert c.optimizer.schedule.get_config() == b.optimizer.schedule.get_config()
    c.fit(X, y, epochs=2, verbose=0)
    assert_same_tensors(a, c)


def test_without_optimizer_the_model_restarts_its_optimizer(tmp_path, blobs):
    X, y = blobs(n=80)
    model = compiled(resume_layers(), optimizer=dk.optimizers.Adam(1e-2))
    model.fit(X, y, epochs=2, verbose=0)
    loaded = roundtrip(model, tmp_path, include_optimizer=False)
    assert_same_model(model, loaded, X)
    assert loaded.optimizer.iterations == 0 and loaded.get_state()["step"] == 0
    assert not any(np.any(a) for per_param in loaded.optimizer.get_state()["slots"].values()
                   for a in per_param.values())
    assert loaded.optimizer.get_config() == model.optimizer.get_config()


# ---------------------------------------------------------------------------------------------
# bad files
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def good_blob(blobs):
    X, y = blobs(n=80)
    model = compiled([Input(6), Dense(8, activation="prelu"), Dense(3, activation="softmax")],
                     optimizer=dk.optimizers.Adam(1e-2))
    model.fit(X, y, epochs=1, verbose=0)
    return saving.serialize_model(model)


def _set_layer(i, **kw):
    return lambda d: d["model"]["config"]["layers"][i]["config"].update(kw)


def _flip(blob, pos):
    b = bytearray(blob)
    b[pos] ^= 0x5A
    return bytes(b)


def _header_len(blob):
    return struct.unpack("<Q", blob[:8])[0]


BAD_FILES = [
    # id, blob -> bad blob, message
    ("empty", lambda b: b"", "too short"),
    ("seven_bytes", lambda b: b[:7], "too short"),
    ("header_length_huge", lambda b: struct.pack("<Q", 1 << 62) + b[8:], "out of range"),
    ("header_past_end", lambda b: struct.pack("<Q", len(b)) + b[8:], "truncated"),
    ("truncated_data", lambda b: b[:-12], "truncated"),
    ("truncated_header", lambda b: b[:20], "truncated"),
    ("trailing_bytes", lambda b: b + b"\0" * 8, "trailing"),
    ("header_not_json", lambda b: b[:8] + b"x" * _header_len(b) + b[8 + _header_len(b):], "not valid JSON"),
    ("header_not_utf8", lambda b: b[:8] + b"\xff" * _header_len(b) + b[8 + _header_len(b):], "UTF-8"),
    ("random_bytes", lambda b: np.random.default_rng(0).bytes(4096), "out of range"),
    ("plain_safetensors", lambda b: safetensors_numpy.save({"w": np.zeros((2, 2), np.float32)}), "metadata"),
    ("other_format", lambda b: edit_metadata(b, lambda m: m.update(format="keras")), "not a densekit"),
    ("newer_version", lambda b: edit_metadata(b, lambda m: m.update(format_version=str(saving.FORMAT_VERSION + 1))), "newer densekit"),
    ("bad_version", lambda b: edit_metadata(b, lambda m: m.update(format_version="one")), "version"),
    ("data_byte_flipped", lambda b: _flip(b, len(b) - 5), "checksum"),
    ("checksum_edited", lambda b: b.replace(b"sha256:", b"sha256:0", 1)[:-1], "checksum|truncated|JSON"),
    ("missing_tensor", lambda b: edit_arrays(b, lambda a: a.pop("layers.0.bias")), "missing"),
    ("extra_tensor", lambda b: edit_arrays(b, lambda a: a.update(evil=np.zeros((1, 1), np.float32))), "unexpected tensors"),
    ("transposed_kernel", lambda b: edit_arrays(b, lambda a: a.update({"layers.1.kernel": np.ascontiguousarray(a["layers.1.kernel"].T)})), "shape"),
    ("float64_tensor", lambda b: edit_arrays(b, lambda a: a.update({"layers.0.bias": a["layers.0.bias"].astype(np.float64)})), "F64"),
    ("nan_weight", lambda b: edit_arrays(b, lambda a: a["layers.0.kernel"].__setitem__((0, 0), np.nan)), "NaN"),
    ("slots_wrong_shape", lambda b: edit_arrays(b, lambda a: a.update({"optimizer.slots": np.ascontiguousarray(a["optimizer.slots"][:1])})), "slots"),
    ("slots_missing", lambda b: edit_arrays(b, lambda a: a.pop("optimizer.slots")), "slots"),
    ("doc_not_object", lambda b: edit_metadata(b, lambda m: m.update(densekit="[]")), "not a JSON object"),
    ("doc_not_json", lambda b: edit_metadata(b, lambda m: m.update(densekit="{")), "not valid JSON"),
    ("doc_nan_constant", lambda b: edit_metadata(b, lambda m: m.update(densekit=re.sub(r'"mu_product":[^,}]*', '"mu_product":NaN', m["densekit"]))), "JSON constant"),
    ("doc_duplicate_key", lambda b: edit_metadata(b, lambda m: m.update(densekit=m["densekit"][:-1] + ',"shared":[null,null]}')), "duplicate"),
    ("unknown_layer_class", lambda b: edit_doc(b, lambda d: d["model"]["config"]["layers"][0].update(class_name="Lambda")), "unknown layer class"),
    ("base_layer_class", lambda b: edit_doc(b, lambda d: d["model"]["config"]["layers"][0].update(class_name="Layer")), "unknown layer class"),
    ("dunder_class", lambda b: edit_doc(b, lambda d: d["model"]["config"]["layers"][0].update(class_name="__class__")), "unknown layer class"),
    ("units_not_int", lambda b: edit_doc(b, _set_layer(0, units="eight")), "invalid config"),
    ("unknown_config_key", lambda b: edit_doc(b, _set_layer(0, evil=1)), "invalid config"),
    ("bad_initializer", lambda b: edit_doc(b, _set_layer(0, kernel_initializer={"class_name": "os.system", "config": {}})), "invalid config"),
    ("huge_units", lambda b: edit_doc(b, _set_layer(0, units=10**12)), "units must be a positive int <= 2147483647"),
    ("huge_input_dim", lambda b: edit_doc(b, lambda d: d["model"]["config"].update(input_dim=10**12)), "input_dim"),
    ("bad_dtype", lambda b: edit_doc(b, lambda d: d["model"]["config"].update(dtype="int8")), "dtype"),
    ("negative_seed", lambda b: edit_doc(b, lambda d: d["model"]["config"].update(seed=-1)), "seed"),
    ("layer_seed_too_big", lambda b: edit_doc(b, lambda d: d["layer_seeds"].__setitem__(0, 1 << 64)), "layer_seeds"),
    ("no_layers", lambda b: edit_doc(b, lambda d: d["model"]["config"].update(layers=[])), "layer list"),
    ("bad_shared", lambda b: edit_doc(b, lambda d: d.update(shared=[1, None])), "shared"),
    ("unknown_optimizer", lambda b: edit_doc(b, lambda d: d["compile"]["optimizer"].update(class_name="evil")), "compile"),
    ("negative_learning_rate", lambda b: edit_doc(b, lambda d: d["compile"]["optimizer"]["config"].update(learning_rate=-1.0)), "compile"),
    ("unknown_loss", lambda b: edit_doc(b, lambda d: d["compile"]["loss"].update(class_name="evil")), "compile"),
    ("unknown_metric", lambda b: edit_doc(b, lambda d: d["compile"].update(metrics=["evil"])), "compile"),
    ("negative_iterations", lambda b: edit_doc(b, lambda d: d["optimizer_state"].update(iterations=-1)), "iterations"),
    ("mu_product_above_one", lambda b: edit_doc(b, lambda d: d["optimizer_state"].update(mu_product=2.0)), "mu_product"),
    ("negative_step", lambda b: edit_doc(b, lambda d: d["training_state"].update(step=-1)), "step"),
    ("bad_rng_state", lambda b: edit_doc(b, lambda d: d["training_state"]["shuffle_rng"].update(bit_generator="MT19937")), "RNG"),
    ("rng_state_garbage", lambda b: edit_doc(b, lambda d: d["training_state"]["shuffle_rng"].update(state="x")), "RNG"),
    ("extra_doc_key", lambda b: edit_doc(b, lambda d: d.update(evil=1)), "keys"),
]


@pytest.mark.parametrize("bad_id,corrupt,match", BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_bad_file_raises_clear_error(good_blob, bad_id, corrupt, match, tmp_path):
    path = tmp_path / "bad.dk"
    path.write_bytes(corrupt(good_blob))
    with pytest.raises(saving.ModelFileError, match=match) as info:
        saving.load_model(path)
    assert isinstance(info.value, ValueError)
    assert str(path) in str(info.value)


def test_good_blob_loads(good_blob):
    """The fixture the bad files derive from is itself fine (and so is a re-signed copy)."""
    saving.deserialize_model(good_blob)
    saving.deserialize_model(edit_doc(good_blob, lambda d: None))


FUZZ_SCRIPT = r"""
import json, sys
import numpy as np
import densekit as dk
from densekit import saving
import safetensors.numpy as stn

L = dk.layers
layers = [L.Input(5), L.Dense(6, activation="prelu"), L.RReLU()]
if hasattr(L, "BatchNormalization"):
    layers += [L.BatchNormalization(), L.Dropout(0.1)]
layers += [L.Dense(3, activation="softmax")]
model = dk.Sequential(layers, seed=1)
model.compile(optimizer=dk.optimizers.Nadam(1e-2), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
r = np.random.default_rng(int(sys.argv[1]))
X = r.normal(size=(40, 5)); y = r.integers(0, 3, 40)
model.fit(X, y, epochs=1, verbose=0)
blob = saving.serialize_model(model)
want = [w.copy() for w in model.get_weights()]
meta, _ = saving.read_container(blob)
arrays = stn.load(blob)
hlen = int.from_bytes(blob[:8], "little")

def resign(doc_text):
    md = {k: v for k, v in meta.items() if k != "checksum"}
    md["densekit"] = doc_text
    md["checksum"] = saving.checksum(md, arrays)
    return stn.save(dict(arrays), metadata=md)

cases = []
for _ in range(int(sys.argv[2])):                       # flips anywhere
    b = bytearray(blob); p = int(r.integers(len(b))); b[p] ^= int(r.integers(1, 256)); cases.append(("flip", bytes(b)))
for _ in range(int(sys.argv[3])):                       # flips in the header
    b = bytearray(blob); p = int(r.integers(8 + hlen)); b[p] ^= int(r.integers(1, 256)); cases.append(("header_flip", bytes(b)))
for _ in range(int(sys.argv[4])):                       # truncations
    cases.append(("truncate", blob[:int(r.integers(len(blob)))]))
for _ in range(int(sys.argv[5])):                       # random bytes, some behind a plausible length
    n = int(r.integers(0, 600)); junk = r.bytes(n)
    if r.random() < 0.5 and n > 8:
        junk = int(r.integers(0, n)).to_bytes(8, "little") + junk[8:]
    cases.append(("random", junk))
text = meta["densekit"]
alphabet = '0123456789-+.eE"{}[],:ntrufalsNI xyz\\'
for _ in range(int(sys.argv[6])):                       # hostile: edited JSON, valid checksum
    t = list(text)
    for _ in range(int(r.integers(1, 4))):
        t[int(r.integers(len(t)))] = alphabet[int(r.integers(len(alphabet)))]
    cases.append(("resigned_doc", resign("".join(t))))

counts = {}
unexpected = []
Xp = np.ascontiguousarray(X[:4], dtype=np.float32)
for kind, data in cases:
    try:
        m = saving.deserialize_model(data)
    except saving.ModelFileError:
        counts[kind + ":error"] = counts.get(kind + ":error", 0) + 1
        continue
    except Exception as e:
        unexpected.append(f"{kind}: {type(e).__name__}: {e}"[:300])
        continue
    # Loaded: it must be a working model; unless its JSON was deliberately edited and re-signed,
    # exactly the saved one (the checksum covers everything else).
    out = m.predict(Xp)
    assert out.shape == (4, 3)
    if kind != "resigned_doc":
        got = m.get_weights()
        if len(got) != len(want) or not all(np.array_equal(a, b) for a, b in zip(got, want)):
            unexpected.append(f"{kind}: loaded a different model without an error")
    counts[kind + ":loaded"] = counts.get(kind + ":loaded", 0) + 1
print(json.dumps({"cases": len(cases), "counts": counts, "unexpected": unexpected}))
"""


def test_fuzzed_files_raise_and_never_crash(tmp_path):
    """~400 mutated files loaded in a child process: a crash (segfault, abort) would show as a
    bad exit status. Every case must raise ModelFileError or load a working model (and, unless the
    JSON was edited and re-signed on purpose, exactly the saved one)."""
    script = tmp_path / "fuzz.py"
    script.write_text(FUZZ_SCRIPT)
    n = dict(flip=120, header=80, truncate=60, random=40, resigned=120)
    env = dict(os.environ, PYTHONPATH=PYTHONPATH + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, str(script), "12345", *map(str, n.values())],
                          capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0, f"the fuzz process died (status {proc.returncode}):\n{proc.stderr[-3000:]}"
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["cases"] == sum(n.values())
    assert report["unexpected"] == []
    counts = report["counts"]
    assert sum(counts.values()) == report["cases"]
    # The checksum catches plain corruption; the structural checks catch the rest.
    assert counts.get("truncate:error", 0) == n["truncate"]
    assert counts.get("random:error", 0) == n["random"]
    assert counts.get("flip:error", 0) >= n["flip"] * 0.9
    assert counts.get("resigned_doc:error", 0) >= n["resigned"] * 0.5


# ---------------------------------------------------------------------------------------------
# atomic writes
# ---------------------------------------------------------------------------------------------
def small_model(seed):
    m = dk.Sequential([Input(4), Dense(5, activation="relu"), Dense(2)], seed=seed)
    m.compile(optimizer="adam", loss="mse")
    return m


@pytest.mark.parametrize("fail_at", ["os.replace", "os.fsync", "write", "corrupt"])
def test_failed_save_keeps_previous_file(fail_at, tmp_path, monkeypatch):
    """A failure at any point of the write — or a temporary file that does not read back the
    bytes meant (a disk corrupting one byte, simulated) — leaves the previous file as it was."""
    path = tmp_path / "m.dk"
    old = small_model(1)
    saving.save_model(old, path)
    before = path.read_bytes()

    if fail_at in ("write", "corrupt"):
        real_fdopen = os.fdopen

        class FaultyWriter:
            def __init__(self, f):
                self.f = f

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.f.close()

            def write(self, data):
                if fail_at == "write":
                    self.f.write(data[: len(data) // 2])
                    raise OSError("disk full (simulated)")
                data = bytearray(data)
                data[len(data) // 2] ^= 0xFF
                return self.f.write(bytes(data))

            def flush(self):
                self.f.flush()

            def fileno(self):
                return self.f.fileno()

        monkeypatch.setattr(saving.os, "fdopen", lambda fd, mode: FaultyWriter(real_fdopen(fd, mode)))
    else:
        def boom(*args, **kwargs):
            raise OSError(f"{fail_at} failed (simulated)")
        monkeypatch.setattr(saving.os, fail_at.split(".")[1], boom)

    error, match = ((saving.ModelFileError, "does not read back") if fail_at == "corrupt"
                    else (OSError, "simulated"))
    with pytest.raises(error, match=match):
        saving.save_model(small_model(2), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.dk"]  # no temporary file left behind
    np.testing.assert_array_equal(saving.load_model(path).get_weights()[0], old.get_weights()[0])


def test_unsaveable_model_keeps_previous_file(tmp_path):
    path = tmp_path / "m.dk"
    saving.save_model(small_model(1), path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="not built"):
        saving.save_model(dk.Sequential([Dense(3)]), path)
    with pytest.raises(TypeError):
        saving.save_model("not a model", path)
    assert path.read_bytes() == before
    with pytest.raises(IsADirectoryError):
        saving.save_model(small_model(1), tmp_path)


KILL_SCRIPT = r"""
import sys
import densekit as dk
from densekit import saving
models = []
for seed in (1, 2):
    m = dk.Sequential([dk.layers.Input(256), dk.layers.Dense(512), dk.layers.Dense(512), dk.layers.Dense(8)], seed=seed)
    models.append(m)
saving.save_model(models[0], sys.argv[1])
print("ready", flush=True)
i = 0
while True:
    i += 1
    saving.save_model(models[i % 2], sys.argv[1])
"""


def test_sigkill_during_saves_never_leaves_a_broken_file(tmp_path):
    script = tmp_path / "saver.py"
    script.write_text(KILL_SCRIPT)
    path = tmp_path / "m.dk"
    env = dict(os.environ, PYTHONPATH=PYTHONPATH + os.pathsep + os.environ.get("PYTHONPATH", ""))
    first = {}
    for seed in (1, 2):
        m = dk.Sequential([Input(256), Dense(512), Dense(512), Dense(8)], seed=seed)
        first[seed] = m.get_weights()[0]
    delays = [0.0, 0.013, 0.047, 0.11]
    for delay in delays:
        proc = subprocess.Popen([sys.executable, str(script), str(path)], stdout=subprocess.PIPE,
                                env=env, text=True)
        try:
            assert proc.stdout.readline().strip() == "ready"
            time.sleep(delay)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            proc.stdout.close()
        w = saving.load_model(path).get_weights()[0]
        assert np.array_equal(w, first[1]) or np.array_equal(w, first[2])


# ---------------------------------------------------------------------------------------------
# clone_model, layer sharing, freezing
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_clone_model_is_independent_with_fresh_weights(dtype, blobs):
    X, y = blobs(n=80)
    model = compiled(dense_every_option(), dtype=dtype)
    initial = model.get_weights()
    model.fit(X, y, epochs=1, verbose=0)

    clone = cloning.clone_model(model)
    assert clone.optimizer is None and clone.dtype == model.dtype
    assert clone.get_config()["layers"] == model.get_config()["layers"]
    assert all(a is not b for a, b in zip(clone.layers, model.layers))
    assert not np.array_equal(clone.get_weights()[0], model.get_weights()[0])

    same_seed = cloning.clone_model(model, seed=model.seed)  # the original's *initial* weights
    for a, b in zip(same_seed.get_weights(), initial):
        np.testing.assert_array_equal(a, b)

    clone.set_weights(model.get_weights())
    np.testing.assert_array_equal(clone.predict(X), model.predict(X))
    before = model.get_weights()
    clone.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    clone.fit(X, y, epochs=1, verbose=0)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    clone_before = clone.get_weights()
    model.fit(X, y, epochs=1, verbose=0)
    for a, b in zip(clone.get_weights(), clone_before):
        np.testing.assert_array_equal(a, b)


def test_clone_accepts_clone_function():
    d = Dense(4)
    model = dk.Sequential([Input(4), d, Dense(2)], seed=0)
    clone = cloning.clone_model(model)
    assert clone.layers[0] is not d
    keep_first = cloning.clone_model(model, clone_function=lambda l: l if l is d else cloning.clone_layer(l))
    assert keep_first.layers[0] is d and keep_first.layers[1] is not model.layers[1]
    with pytest.raises(TypeError):
        cloning.clone_model(model, clone_function=lambda l: None)


def _task_a(blobs, seed=0):
    X, y = blobs(n=160, features=6, classes=3, seed=seed)
    base = compiled([Input(6), Dense(16, activation="elu"), Dense(16, activation="elu"),
                     Dense(3, activation="softmax")], optimizer=dk.optimizers.Adam(1e-2))
    base.fit(X, y, epochs=3, verbose=0)
    yb = (X[:, 0] > np.median(X[:, 0])).astype(np.int64)  # task B: a binary task on the same inputs
    return base, X, yb


def test_reusing_layers_shares_them_as_keras_does(blobs):
    base, X, yb = _task_a(blobs)
    before = base.predict(X)
    new = dk.Sequential(base.layers[:-1] + [Dense(1, activation="sigmoid")], seed=1)
    assert new.layers[0] is base.layers[0]
    assert np.shares_memory(new.layers[0].kernel, base.layers[0].kernel)
    new.compile(optimizer=dk.optimizers.SGD(0.1), loss="binary_crossentropy")
    new.fit(X, yb, epochs=2, verbose=0)
    assert not np.array_equal(base.predict(X), before)  # training B changed A


def test_clone_then_set_weights_leaves_base_unchanged(blobs):
    base, X, yb = _task_a(blobs)
    before = base.predict(X)
    clone = cloning.clone_model(base)
    clone.set_weights(base.get_weights())
    new = dk.Sequential(clone.layers[:-1] + [Dense(1, activation="sigmoid")], seed=1)
    new.compile(optimizer=dk.optimizers.SGD(0.1), loss="binary_crossentropy")
    new.fit(X, yb, epochs=2, verbose=0)
    np.testing.assert_array_equal(base.predict(X), before)


def test_freeze_train_head_unfreeze_fine_tune(tmp_path, blobs):
    """The chapter's recipe: reuse → freeze → train the head → unfreeze → fine-tune with a lower
    learning rate (recompiling after changing trainable, as in Keras; here trainable also takes
    effect without it)."""
    base, X, yb = _task_a(blobs)
    clone = cloning.clone_model(base)
    clone.set_weights(base.get_weights())
    reused = clone.layers[:-1]
    model = dk.Sequential(reused + [Dense(1, activation="sigmoid")], seed=3)
    for layer in reused:
        layer.trainable = False
    model.compile(optimizer=dk.optimizers.SGD(0.1), loss="binary_crossentropy", metrics=["accuracy"])
    frozen = [w.copy() for l in reused for w in l.get_weights()]
    head = model.layers[-1].get_weights()[0].copy()
    loss0 = model.evaluate(X, yb)[0]
    model.fit(X, yb, epochs=4, verbose=0)
    for a, b in zip([w for l in reused for w in l.get_weights()], frozen):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(model.layers[-1].get_weights()[0], head)
    loss_head = model.evaluate(X, yb)[0]
    assert loss_head < loss0

    # The frozen flags survive a save/load in the middle of the recipe.
    reloaded = roundtrip(model, tmp_path)
    assert [l.trainable for l in reloaded.layers] == [False, False, True]

    for layer in reused:
        layer.trainable = True
    model.compile(optimizer=dk.optimizers.SGD(0.01), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(X, yb, epochs=4, verbose=0)
    assert not np.array_equal(reused[0].get_weights()[0], frozen[0])
    assert model.evaluate(X, yb)[0] < loss_head
