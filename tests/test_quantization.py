"""model.quantize("int8" | "float16") (SPEC §3, "Low-latency inference").

The int8 model is checked bit for bit against the NumPy transcription of the scheme
(tests/reference.py: quantize_weights, quantized_dense), dynamic and calibrated; the float16 model
against the float32 engine on the rounded weights; both for batch invariance (every batch size
1…300, permutations) through model.predict; the per-layer fallbacks (too lossy, slower, too many
inputs) and the report; BN folding with dropout kept for MC Dropout; the inference-only refusals.
"""

import numpy as np
import pytest

import densekit as dk
from densekit import _native, quantization
from densekit.layers import QuantizedDense

import reference as ref


def mlp(seed=0, activation="relu", out_activation="softmax", dtype="float32", n_in=40):
    model = dk.Sequential([
        dk.layers.Input(n_in),
        dk.layers.Dense(32, activation=activation, kernel_initializer="he_normal"),
        dk.layers.Dense(24, activation=activation, kernel_initializer="he_normal"),
        dk.layers.Dense(5, activation=out_activation),
    ], seed=seed, dtype=dtype)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 40)).astype(np.float32)
    y = (X[:, :5] + 0.3 * X[:, 5:10]).argmax(1)
    return X, y


@pytest.fixture(scope="module")
def trained(data):
    X, y = data
    model = mlp()
    model.fit(X, y, epochs=3, verbose=0)
    return model


def reference_forward(model, qmodel, X, static=None):
    """The int8 model's output computed by the NumPy transcription of every layer."""
    a = np.asarray(X, dtype=np.float32)
    for i, (layer, q) in enumerate(zip(model.layers, qmodel.layers)):
        wq, scales = ref.quantize_weights(layer.kernel, q.weight_bits)
        np.testing.assert_array_equal(q.kernel, wq)
        np.testing.assert_array_equal(q.variable("kernel_scale")[0], scales)
        act_max = 255 if q.activation_bits == 8 else 127
        aq = q.activation_quantization
        st = None if aq["mode"] == "dynamic" else (aq["scale"], aq["inv_scale"], aq["zero_point"])
        relu = layer.activation.name == "relu"
        z = ref.quantized_dense(a, wq, scales, layer.bias, act_max, relu=relu, static=st)
        a = z if relu or layer.activation.name == "linear" else \
            ref.activation_forward(layer.activation.name, z).astype(np.float32)
    return a


@pytest.mark.parametrize("weight_bits,activation_bits", [(7, 8), (8, 8), (8, 7)])
def test_int8_dynamic_equals_the_numpy_scheme_bit_for_bit(trained, data, weight_bits, activation_bits):
    X, _ = data
    model = mlp(out_activation="linear")
    model.set_weights(trained.get_weights())
    q = model.quantize("int8", speed_check=False, weight_bits=weight_bits,
                       activation_bits=activation_bits)
    assert [layer.precision for layer in q.layers] == ["int8"] * 3
    np.testing.assert_array_equal(q.predict(X[:64]), reference_forward(model, q, X[:64]))


def test_int8_static_scales_come_from_the_calibration_range(trained, data):
    X, _ = data
    model = mlp(out_activation="linear")
    model.set_weights(trained.get_weights())
    calib = X[:200]
    q = model.quantize("int8", calibration=calib, speed_check=False)
    inputs = [calib] + model.layer_outputs(calib)
    for layer, a in zip(q.layers, inputs):
        lo, hi = min(0.0, float(a.min())), max(0.0, float(a.max()))
        scale, inv, zp = ref.activation_quant_params(lo, hi, 255)
        aq = layer.activation_quantization
        assert aq["mode"] == "static"
        assert (np.float32(aq["scale"]), np.float32(aq["inv_scale"]), aq["zero_point"]) == (scale, inv, zp)
        assert _native.core.static_activation_quant(lo, hi, 8) == pytest.approx((scale, inv, zp), rel=0)
    # Inputs beyond the calibrated range are clamped, as the scheme says.
    np.testing.assert_array_equal(q.predict(3 * X[:50]), reference_forward(model, q, 3 * X[:50]))


def test_int8_keeps_accuracy_and_other_activations_run_in_float32(data):
    X, y = data
    model = dk.Sequential([dk.layers.Input(40), dk.layers.Dense(32, activation="elu"),
                           dk.layers.Dense(16, activation="prelu"),
                           dk.layers.Dense(5, activation="softmax")], seed=2)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X, y, epochs=4, verbose=0)
    q = model.quantize("int8", speed_check=False)
    assert q.layers[1].variable("alpha").shape == (1, 16)
    p, pq = model.predict(X), q.predict(X)
    assert np.abs(pq - p).max() < 0.05
    assert (pq.argmax(1) == p.argmax(1)).mean() > 0.97
    loss, acc = model.evaluate(X, y)
    qloss, qacc = q.evaluate(X, y)
    assert abs(qacc - acc) <= 0.02 and abs(qloss - loss) < 0.05


def test_float16_equals_the_float32_engine_on_rounded_weights(trained, data):
    X, _ = data
    h = trained.quantize("float16")
    assert [layer.precision for layer in h.layers] == ["float16"] * 3
    twin = trained.quantize("int8", max_error=1e-12, speed_check=False)  # every layer kept float32
    assert [layer.precision for layer in twin.layers] == ["float32"] * 3
    for src, t in zip(trained.layers, twin.layers):
        t.set_state({"kernel": src.kernel.astype(np.float16).astype(np.float32),
                     "bias": src.bias.reshape(1, -1)})
    np.testing.assert_array_equal(h.predict(X), twin.predict(X))
    np.testing.assert_array_equal(h.layers[0].kernel, trained.layers[0].kernel.astype(np.float16))
    p = trained.predict(X)
    assert np.abs(h.predict(X) - p).max() <= 1e-3 * np.abs(p).max()


@pytest.mark.parametrize("kind", ["int8", "int8-static", "float16"])
def test_batch_invariance_through_predict(trained, data, kind):
    X, _ = data
    X = X[:300]
    if kind == "float16":
        q = trained.quantize("float16")
    else:
        q = trained.quantize("int8", calibration=X if kind == "int8-static" else None,
                             speed_check=False)
    full = q.predict(X)
    for n in range(1, 301):
        np.testing.assert_array_equal(q.predict(X[:n]), full[:n], err_msg=f"batch {n}")
    rows = np.stack([q.predict(X[i:i + 1])[0] for i in range(300)])
    np.testing.assert_array_equal(rows, full)
    perm = np.random.default_rng(1).permutation(300)
    np.testing.assert_array_equal(q.predict(X[perm]), full[perm])
    np.testing.assert_array_equal(q.predict(X, batch_size=7), full)


def test_fallback_when_too_lossy_reports_the_error(trained):
    q = trained.quantize("int8", max_error=1e-6, speed_check=False)
    for entry in q.quantization_report:
        assert entry["precision"] == "float32"
        assert "too lossy" in entry["reason"]
        assert entry["int8_output_error"] > 1e-6
        assert entry["output_error"] < 1e-6  # float32 on the engine: rounding only
        assert entry["error_data"].startswith("a standard-normal probe")


def test_fallback_when_int8_is_slower(trained, monkeypatch):
    calls = []

    def fake_timer(layer, x, repeats):  # int8 twice as slow as float32
        calls.append(layer)
        return 2e-6 if layer.precision == "int8" else 1e-6

    monkeypatch.setattr(_native.core, "median_forward_seconds", fake_timer)
    q = trained.quantize("int8")
    assert len(calls) == 3 * 2 * 2
    for entry in q.quantization_report:
        assert entry["precision"] == "float32" and "slower" in entry["reason"]
        assert entry["int8_vs_float32_us"]["batch1_us"] == [2.0, 1.0]


def test_int8_kept_when_faster_at_one_batch_size(trained, monkeypatch):
    def fake_timer(layer, x, repeats):  # int8 faster at batch 1 only
        return (0.5e-6 if x.shape[0] == 1 else 3e-6) if layer.precision == "int8" else 1e-6

    monkeypatch.setattr(_native.core, "median_forward_seconds", fake_timer)
    assert [e["precision"] for e in trained.quantize("int8").quantization_report] == ["int8"] * 3


def test_layers_wider_than_the_int32_range_stay_float32():
    n = quantization.INT8_MAX_INPUTS + 1
    model = dk.Sequential([dk.layers.Input(n), dk.layers.Dense(2)], seed=0)
    q = model.quantize("int8", speed_check=False)
    (entry,) = q.quantization_report
    assert entry["precision"] == "float32" and "65,536 inputs" in entry["reason"]
    x = np.random.default_rng(0).normal(size=(3, n)).astype(np.float32)
    np.testing.assert_allclose(q.predict(x), model.predict(x), rtol=1e-5, atol=1e-5)


def test_batchnorm_is_folded_and_dropout_kept_for_mc_dropout(data):
    X, y = data
    model = dk.Sequential([
        dk.layers.Input(40), dk.layers.Dense(32, use_bias=False), dk.layers.BatchNormalization(),
        dk.layers.Activation("relu"), dk.layers.Dropout(0.3), dk.layers.Dense(5, activation="softmax"),
    ], seed=3)
    model.compile(optimizer="nadam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X, y, epochs=2, verbose=0)
    q = model.quantize("int8", speed_check=False)
    assert [type(layer).__name__ for layer in q.layers] == ["QuantizedDense", "Dropout", "QuantizedDense"]
    assert q.layers[0].activation.name == "relu"
    assert np.abs(q.predict(X) - model.predict(X)).max() < 0.05
    mean, std = q.predict_mc(X[:20], samples=30, seed=1)
    assert std.max() > 0 and np.abs(mean.sum(axis=1) - 1).max() < 1e-5


def test_float64_models_quantize_to_float32(data):
    X, y = data
    model = mlp(dtype="float64")
    model.fit(X, y, epochs=1, verbose=0)
    q = model.quantize("int8", speed_check=False)
    assert q.dtype == np.float32
    assert q.predict(X[:3]).dtype == np.float32
    assert np.abs(q.predict(X) - model.predict(X)).max() < 0.05


def test_summary_prints_the_report(trained):
    q = trained.quantize("int8", speed_check=False)
    lines = []
    q.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Quantization (inference only)" in text
    for layer in q.layers:
        assert f"{layer.name}: int8, output error" in text
    assert all(0 < e["output_error"] < quantization.MAX_ERROR for e in q.quantization_report)
    assert trained.quantization_report == []


def test_quantized_models_refuse_training(trained, data):
    X, y = data
    q = trained.quantize("int8", speed_check=False)
    for call in (lambda: q.fit(X, y, verbose=0), lambda: q.train_on_batch(X[:8], y[:8]),
                 lambda: q.compute_gradients(X[:8], y[:8])):
        with pytest.raises(RuntimeError, match="quantized and runs inference only"):
            call()
    with pytest.raises(ValueError, match="inference-only"):
        q.layers[0].trainable = True
    with pytest.raises(ValueError, match="already quantized"):
        q.quantize("int8")
    with pytest.raises(ValueError, match="prune the float model"):
        dk.prune(q, 0.5)
    with pytest.raises(KeyError, match="no gradients"):
        q.layers[0].gradient("kernel")


def test_quantize_leaves_the_source_model_alone(trained, data):
    X, _ = data
    before = [w.copy() for w in trained.get_weights()]
    trained.quantize("int8", calibration=X[:50], speed_check=False)
    trained.quantize("float16")
    for a, b in zip(before, trained.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kwargs,match", [
    ({"mode": "int4"}, "mode must be"),
    ({"mode": "float16", "calibration": np.zeros((2, 40))}, "calibration data is for int8"),
    ({"mode": "int8", "calibration": np.zeros((2, 39))}, "calibration"),
    ({"mode": "int8", "calibration": np.full((2, 40), np.nan)}, "NaN"),
    ({"mode": "int8", "weight_bits": 4}, "weight_bits must be 8 or 7"),
    ({"mode": "int8", "max_error": 0}, "max_error"),
])
def test_bad_arguments(trained, kwargs, match):
    with pytest.raises(ValueError, match=match):
        trained.quantize(**kwargs)


def test_state_contract_of_a_quantized_layer(trained):
    q = trained.quantize("int8", speed_check=False)
    layer = q.layers[0]
    state = layer.get_state()
    assert set(state) == {"kernel", "kernel_scale", "bias"}
    assert state["kernel"].dtype == np.int8 and not layer.kernel.flags.writeable
    with pytest.raises(ValueError, match=r"\[-63, 63\]"):
        layer.set_state({**state, "kernel": np.full_like(state["kernel"], 64)})
    with pytest.raises(ValueError, match="shape"):
        layer.set_state({**state, "bias": np.zeros((1, 3))})
    with pytest.raises(ValueError, match="NaN"):
        layer.set_state({**state, "kernel_scale": np.full((1, 32), np.nan)})
    x = np.ones((2, 40), np.float32)
    before = q.predict(x)
    layer.set_state(state)  # writing the same tensors repacks to the same predictions
    np.testing.assert_array_equal(q.predict(x), before)
    np.testing.assert_allclose(layer.dequantized_kernel(), trained.layers[0].kernel, atol=0.02)
