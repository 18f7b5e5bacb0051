"""ONNX export (SPEC §3, "Persistence and deployment"): dk.export_onnx.

Every layer type and activation, in float32 and float64, exported and run by ONNX Runtime at
batch sizes 1 and 7 must reproduce model.predict (float32 within 1e-5; float64 within 1e-12, or
1e-6 where GELU evaluates erf in float32); every file passes onnx.checker with full_check. The
conventions are cross-checked against PyTorch's own ONNX exporter on the same W1-shaped weights.
"""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import densekit as dk

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

L = dk.layers
N_IN = 5


def randomize_state(model, seed=0):
    """Gives BN, PReLU and Normalization non-trivial state (they start at the identity)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            ws = layer.get_weights()
            n = ws[0].shape[0]
            new = []
            if layer.scale:
                new.append(rng.uniform(0.5, 1.5, n))
            if layer.center:
                new.append(rng.normal(0, 0.5, n))
            new += [rng.normal(0, 1, n), rng.uniform(0.2, 3.0, n)]
            layer.set_weights(new)
        elif isinstance(layer, L.PReLU) or (isinstance(layer, L.Dense)
                                             and layer.activation.name == "prelu"):
            ws = layer.get_weights()
            ws[-1] = rng.uniform(-0.5, 0.8, ws[-1].shape)
            layer.set_weights(ws)
    return model


def build(layers, dtype, normalization_data=None):
    model = dk.Sequential([L.Input(N_IN)] + layers, seed=3, dtype=dtype)
    for layer in model.layers:
        if isinstance(layer, L.Normalization):
            layer.adapt(normalization_data)
    return randomize_state(model)


def features(n, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(0, 2.0, (n, N_IN)) + np.linspace(-1, 1, N_IN)


ACTIVATIONS = ["linear", "relu", "leaky_relu", "rrelu", "prelu", "elu", "selu", "tanh", "sigmoid",
               "softmax", "gelu", "swish", "softplus", "mish", "hard_sigmoid", "softsign",
               "exponential", "relu6"]

# name -> layers after Input(5): one entry per layer type and per activation.
ZOO = {f"dense_{a}": (lambda a=a: [L.Dense(6, activation=a), L.Dense(3)]) for a in ACTIVATIONS}
ZOO.update({
    "dense_no_bias_softmax": lambda: [L.Dense(6, use_bias=False, activation="softmax")],
    "dense_custom_alphas": lambda: [L.Dense(6, activation={"name": "elu", "alpha": 0.4}),
                                    L.Dense(6, activation={"name": "leaky_relu", "alpha": 0.2}),
                                    L.Dense(3)],
    "layer_relu": lambda: [L.Dense(6), L.ReLU()],
    "layer_leaky_relu": lambda: [L.Dense(6), L.LeakyReLU(alpha=0.3)],
    "layer_prelu": lambda: [L.Dense(6), L.PReLU()],
    "layer_rrelu": lambda: [L.Dense(6), L.RReLU(lower=0.05, upper=0.45)],
    "layer_elu": lambda: [L.Dense(6), L.ELU(alpha=0.7)],
    "layer_selu": lambda: [L.Dense(6), L.SELU()],
    "layer_gelu": lambda: [L.Dense(6), L.GELU()],
    "layer_swish": lambda: [L.Dense(6), L.Swish()],
    "layer_silu": lambda: [L.Dense(6), L.SiLU()],
    "layer_softplus": lambda: [L.Dense(6), L.Softplus()],
    "layer_softmax": lambda: [L.Dense(6), L.Softmax()],
    "layer_sigmoid": lambda: [L.Dense(6), L.Sigmoid()],
    "layer_tanh": lambda: [L.Dense(6), L.Tanh()],
    "layer_mish": lambda: [L.Dense(6), L.Mish()],
    "layer_hard_sigmoid": lambda: [L.Dense(6), L.HardSigmoid()],
    "layer_softsign": lambda: [L.Dense(6), L.Softsign()],
    "layer_exponential": lambda: [L.Dense(6), L.Exponential()],
    "layer_relu6": lambda: [L.Dense(6), L.ReLU6()],
    "layer_relu_max_value": lambda: [L.Dense(6), L.ReLU(max_value=6.0)],
    "layer_relu_negative_slope": lambda: [L.Dense(6), L.ReLU(negative_slope=0.1)],
    "flatten_on_flat_rows": lambda: [L.Flatten(), L.Dense(3)],
    "layer_activation_by_name": lambda: [L.Dense(6), L.Activation("elu", alpha=0.3)],
    "batchnorm_after_dense": lambda: [L.Dense(6, use_bias=False), L.BatchNormalization(),
                                      L.Activation("elu"), L.Dense(3)],
    "batchnorm_after_activation": lambda: [L.Dense(6, activation="relu"),
                                           L.BatchNormalization(epsilon=1e-2), L.Dense(3)],
    "batchnorm_first_no_scale": lambda: [L.BatchNormalization(scale=False), L.Dense(3)],
    "batchnorm_no_center": lambda: [L.Dense(6), L.BatchNormalization(center=False), L.Dense(3)],
    "normalization": lambda: [L.Normalization(), L.Dense(3, activation="tanh")],
    "dropout": lambda: [L.Dense(6, activation="relu"), L.Dropout(0.5), L.Dense(3)],
    "alpha_dropout": lambda: [L.Dense(6, activation="selu"), L.AlphaDropout(0.2), L.Dense(3)],
    "only_dropout": lambda: [L.Dropout(0.3)],
    "deep_mixed": lambda: [L.Normalization(), L.Dense(8, use_bias=False), L.BatchNormalization(),
                           L.ELU(), L.Dropout(0.2), L.Dense(8, activation="selu"),
                           L.AlphaDropout(0.1), L.Dense(8, activation="prelu"), L.GELU(),
                           L.Dense(3, activation="softmax")],
})


def tolerance(model):
    if np.dtype(model.dtype) == np.float32:
        return 1e-5
    has_gelu = any(getattr(layer, "activation", None) is not None
                   and layer.activation.name == "gelu" for layer in model.layers)
    return 1e-6 if has_gelu else 1e-12


def run_onnx(path, X):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["output"], {"input": X})[0]


def export_and_compare(model, path, **kwargs):
    proto = dk.export_onnx(model, path, **kwargs)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    for n in (1, 7):
        X = features(n, seed=n).astype(model.dtype)
        expected = model.predict(X)
        got = run_onnx(path, X)
        assert got.dtype == np.dtype(model.dtype) and got.shape == expected.shape
        tol = tolerance(model)
        np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)
    return proto


def zoo_model(name, dtype):
    return build(ZOO[name](), dtype, normalization_data=features(200, seed=5))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_matches_predict(name, dtype, tmp_path):
    export_and_compare(zoo_model(name, dtype), tmp_path / "m.onnx")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(n for n in ZOO if "batchnorm" in n or n == "deep_mixed"))
def test_batchnorm_unfolded_matches_predict(name, dtype, tmp_path):
    proto = export_and_compare(zoo_model(name, dtype), tmp_path / "m.onnx", fold_batchnorm=False)
    assert "BatchNormalization" in {node.op_type for node in proto.graph.node}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("opset", range(13, 22))
def test_every_opset(opset, dtype, tmp_path):
    proto = export_and_compare(zoo_model("deep_mixed", dtype), tmp_path / "m.onnx", opset=opset)
    assert [(o.domain, o.version) for o in proto.opset_import] == [("", opset)]
    ops = {node.op_type for node in proto.graph.node}
    # GELU: the Gelu operator where the opset has it (float32), else the exact erf subgraph.
    assert ("Gelu" in ops) == (opset >= 20 and dtype == "float32")
    assert ("Erf" in ops) == (opset < 20 or dtype == "float64")


def test_graph_interface(tmp_path):
    model = zoo_model("deep_mixed", "float32")
    proto = dk.export_onnx(model, tmp_path / "m.onnx")
    graph = proto.graph
    assert [i.name for i in graph.input] == ["input"] and [o.name for o in graph.output] == ["output"]
    for value, width in ((graph.input[0], N_IN), (graph.output[0], 3)):
        dims = value.type.tensor_type.shape.dim
        assert dims[0].dim_param == "batch" and not dims[0].HasField("dim_value")
        assert dims[1].dim_value == width
        assert value.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert proto.producer_name == "densekit" and proto.producer_version == dk.__version__
    assert "Sequential" in proto.doc_string and graph.name == model.name
    assert proto.ir_version == onnx.helper.find_min_ir_version_for(list(proto.opset_import))
    assert not graph.initializer[0].name.startswith("/")
    ops = [node.op_type for node in graph.node]
    assert "Dropout" not in ops and "BatchNormalization" not in ops   # removed and folded
    assert len({node.name for node in graph.node}) == len(graph.node)  # unique node names


def test_float64_graph_is_float64(tmp_path):
    proto = dk.export_onnx(zoo_model("dense_relu", "float64"), tmp_path / "m.onnx")
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    assert all(t.data_type == onnx.TensorProto.DOUBLE for t in proto.graph.initializer)


def test_fold_only_where_batchnorm_follows_a_linear_dense(tmp_path):
    folded = dk.export_onnx(zoo_model("batchnorm_after_dense", "float32"), tmp_path / "a.onnx")
    assert "BatchNormalization" not in {n.op_type for n in folded.graph.node}
    kept = dk.export_onnx(zoo_model("batchnorm_after_activation", "float32"), tmp_path / "b.onnx")
    assert "BatchNormalization" in {n.op_type for n in kept.graph.node}


def test_export_leaves_the_model_unchanged(tmp_path):
    model = zoo_model("deep_mixed", "float32")
    before = model.get_weights()
    layers = list(model.layers)
    dk.export_onnx(model, tmp_path / "m.onnx")
    assert model.layers == layers
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_trained_model_round_trip(tmp_path):
    """A trained, saved and reloaded model exports the same function."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, N_IN)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    model = build([L.Dense(8, use_bias=False), L.BatchNormalization(), L.ReLU(),
                   L.Dense(2, activation="softmax")], "float32")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(X, y, epochs=2, verbose=0)
    model.save(tmp_path / "m.dk")
    export_and_compare(dk.load_model(tmp_path / "m.dk"), tmp_path / "m.onnx")


# -- refused input ---------------------------------------------------------------------------
def test_rejects_a_non_sequential(tmp_path):
    with pytest.raises(TypeError, match="expected a dk.Sequential, got Dense"):
        dk.export_onnx(L.Dense(3), tmp_path / "m.onnx")


def test_rejects_an_unbuilt_model(tmp_path):
    model = dk.Sequential([L.Dense(3)])
    with pytest.raises(ValueError, match="not built"):
        dk.export_onnx(model, tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="no layers"):
        dk.export_onnx(dk.Sequential([L.Input(3)]), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_rejects_a_custom_layer_subclass(tmp_path):
    class MyDense(L.Dense):
        pass

    model = dk.Sequential([L.Input(4), L.Dense(3), MyDense(2, name="mine")])
    with pytest.raises(NotImplementedError, match=r"layer 1 \('mine'\) of class MyDense .*subclass "
                                                  r"of densekit's Dense"):
        dk.export_onnx(model, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("opset, error", [(12, ValueError), (22, ValueError), ("17", TypeError),
                                          (True, TypeError), (17.0, TypeError)])
def test_rejects_opsets_outside_13_to_21(opset, error, tmp_path):
    with pytest.raises(error, match="opset"):
        dk.export_onnx(zoo_model("dense_relu", "float32"), tmp_path / "m.onnx", opset=opset)


def test_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"previous")

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        dk.export_onnx(zoo_model("dense_relu", "float32"), path)
    monkeypatch.undo()
    assert path.read_bytes() == b"previous"
    assert os.listdir(tmp_path) == ["m.onnx"]          # no temporary file left behind


def test_missing_onnx_package_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)     # makes `import onnx` fail
    with pytest.raises(ImportError, match=r"pip install 'densekit\[onnx\]'"):
        dk.export_onnx(zoo_model("dense_relu", "float32"), tmp_path / "m.onnx")


def test_import_densekit_does_not_import_onnx():
    code = ("import sys, densekit as dk; f = dk.export_onnx; "
            "print('onnx' in sys.modules, callable(f))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


# -- conventions, cross-checked against PyTorch's exporter --------------------------------------
def test_same_outputs_as_torch_onnx_export_for_w1(tmp_path):
    torch = pytest.importorskip("torch")
    sizes = [784, 300, 100, 10]
    model = dk.Sequential([L.Input(784), L.Dense(300, activation="relu"),
                           L.Dense(100, activation="relu"), L.Dense(10, activation="softmax")],
                          seed=11)
    net = torch.nn.Sequential(torch.nn.Linear(784, 300), torch.nn.ReLU(), torch.nn.Linear(300, 100),
                              torch.nn.ReLU(), torch.nn.Linear(100, 10), torch.nn.Softmax(dim=-1))
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        for dense, linear in zip(model.layers, linears):
            kernel, bias = dense.get_weights()
            linear.weight.copy_(torch.from_numpy(kernel.T.copy()))   # torch stores (out, in)
            linear.bias.copy_(torch.from_numpy(bias))
    torch_path = tmp_path / "torch.onnx"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(net.eval(), (torch.zeros(1, 784),), str(torch_path), dynamo=False,
                              input_names=["input"], output_names=["output"], opset_version=17,
                              dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    except Exception as e:   # an exporter that needs packages this machine lacks
        pytest.skip(f"torch.onnx.export cannot run here: {type(e).__name__}: {e}")
    dk.export_onnx(model, tmp_path / "densekit.onnx")
    X = np.random.default_rng(0).uniform(0, 1, (7, sizes[0])).astype(np.float32)
    ours, theirs = run_onnx(tmp_path / "densekit.onnx", X), run_onnx(torch_path, X)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours, model.predict(X), rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        np.testing.assert_allclose(ours, net(torch.from_numpy(X)).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_activation_tails(activation, dtype, tmp_path):
    """Far tails and the neighbourhood of 0, where naive formulas overflow or cancel."""
    model = randomize_state(dk.Sequential([L.Input(1), L.Activation(activation)], dtype=dtype))
    X = np.array([[-1e3], [-100], [-30], [-1e-3], [0], [1e-3], [30], [100], [1e3]], dtype=dtype)
    if activation == "exponential":
        X = X[X[:, 0] <= 30]  # eˣ itself overflows beyond 88 (float32) / 709 (float64)
    dk.export_onnx(model, tmp_path / "m.onnx")
    got, expected = run_onnx(tmp_path / "m.onnx", X), model.predict(X)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
