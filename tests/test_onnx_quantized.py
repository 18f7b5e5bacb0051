"""ONNX export of quantized models (SPEC §3: "int8 models as QDQ; ONNX Runtime reproduces predict
within one int8 step"; float16 models with float16 initializers).

One int8 step, per layer: ONNX's QuantizeLinear divides by the scale where densekit multiplies by
its inverse, so each input may land one level away; the layer's output then moves by at most
scale_x·Σ_k |W_kj| (every input one level off) — checked per QuantizedDense on its own, dynamic
(per-row scales computed in the graph) and calibrated, 8- and 7-bit activations, at batch sizes 1,
7 and 300 (a row's result must not depend on the batch). Whole models: close, same classes.
"""

import numpy as np
import pytest

import densekit as dk

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import reference as ref  # noqa: E402


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 24)).astype(np.float32)
    y = (X[:, :4] + 0.5 * X[:, 4:8]).argmax(1)
    return X, y


@pytest.fixture(scope="module")
def trained(data):
    X, y = data
    m = dk.Sequential([dk.layers.Input(24), dk.layers.Dense(32, activation="relu"),
                       dk.layers.Dense(16, activation="elu"), dk.layers.Dense(4, activation="softmax")],
                      seed=0)
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    m.fit(X, y, epochs=3, verbose=0)
    return m


def session(model, tmp_path, name="m.onnx"):
    path = tmp_path / name
    proto = dk.export_onnx(model, path)
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]), proto, path


def one_step_bound(layer, x):
    """Per element: how far one level of every input can move the layer's pre-activation."""
    act_max = 255 if layer.activation_bits == 8 else 127
    aq = layer.activation_quantization
    if aq["mode"] == "static":
        scales = np.full(x.shape[0], aq["scale"], np.float64)
    else:
        scales = np.array([ref.activation_quant_params(float(r.min()), float(r.max()), act_max)[0]
                           for r in x], np.float64)
    return scales[:, None] * np.abs(layer.dequantized_kernel().astype(np.float64)).sum(axis=0)


@pytest.mark.parametrize("kwargs", [{}, {"calibration": True}, {"activation_bits": 7},
                                    {"calibration": True, "activation_bits": 7},
                                    {"weight_bits": 8}],
                         ids=["dynamic", "static", "dynamic-7bit", "static-7bit", "s8"])
def test_each_int8_layer_within_one_step(trained, data, tmp_path, kwargs):
    X, _ = data
    kwargs = dict(kwargs)
    if kwargs.pop("calibration", False):
        kwargs["calibration"] = X[:200]
    q = trained.quantize("int8", speed_check=False, **kwargs)
    inputs = [X[:300]] + q.layer_outputs(X[:300])
    for i, layer in enumerate(q.layers):
        single = dk.Sequential([dk.layers.Input(layer.input_dim), dk.layers.QuantizedDense(
            **{k: v for k, v in layer.get_config().items()
               if k not in ("name", "trainable", "activation")})], seed=0)
        single.layers[0].set_state(layer.get_state())
        sess, proto, _ = session(single, tmp_path, f"layer{i}.onnx")
        ops = [n.op_type for n in proto.graph.node]
        assert "QuantizeLinear" in ops and ops.count("DequantizeLinear") == 2 and "MatMul" in ops
        assert any(t.data_type == onnx.TensorProto.INT8 for t in proto.graph.initializer)
        x = inputs[i]
        bound = one_step_bound(layer, x) * (1 + 1e-5) + 1e-6
        for n in (1, 7, 300):
            got = sess.run(None, {"input": x[:n]})[0]
            want = single.predict(x[:n])
            assert np.all(np.abs(got - want) <= bound[:n]), (i, n, np.abs(got - want).max())


def test_whole_int8_model(trained, data, tmp_path):
    X, _ = data
    for q in (trained.quantize("int8", speed_check=False),
              trained.quantize("int8", calibration=X[:100], speed_check=False)):
        sess, _, _ = session(q, tmp_path)
        for n in (1, 5, 400):
            got, want = sess.run(None, {"input": X[:n]})[0], q.predict(X[:n])
            assert np.abs(got - want).max() < 0.02
            assert (got.argmax(1) == want.argmax(1)).mean() >= 0.99


def test_float16_model(trained, data, tmp_path):
    X, _ = data
    h = trained.quantize("float16")
    sess, proto, _ = session(h, tmp_path, "h.onnx")
    f16 = [t for t in proto.graph.initializer if t.data_type == onnx.TensorProto.FLOAT16]
    assert len(f16) == 3  # the kernels, 2 bytes a weight
    assert sum(len(t.raw_data) for t in f16) == 2 * (24 * 32 + 32 * 16 + 16 * 4)
    for n in (1, 9, 400):
        np.testing.assert_allclose(sess.run(None, {"input": X[:n]})[0], h.predict(X[:n]),
                                   rtol=1e-5, atol=1e-6)


def test_layers_kept_in_float32_and_dropout(data, tmp_path):
    X, y = data
    m = dk.Sequential([dk.layers.Input(24), dk.layers.Dense(16, activation="prelu"),
                       dk.layers.Dropout(0.2), dk.layers.Dense(4)], seed=1)
    q = m.quantize("int8", max_error=1e-9, speed_check=False)
    assert [layer.precision for layer in q.layers if hasattr(layer, "precision")] == ["float32"] * 2
    sess, _, _ = session(q, tmp_path)
    np.testing.assert_allclose(sess.run(None, {"input": X})[0], q.predict(X), rtol=1e-5, atol=1e-5)
