"""Sequential.quantize: int8 and float16 inference models (SPEC §3, "Low-latency inference").

What it does: folds BatchNormalization into the Dense before it (keeping dropout layers, so MC
Dropout still works), then replaces every Dense by a QuantizedDense (layers/quantized.py) —
int8 weights per output channel with dynamic or calibrated (static) activation scales, or float16
weights — and copies every other layer in float32. Per Dense layer it decides and reports:
- kept in float32 when the layer has more than 65,536 inputs (the int8 sums' exact range);
- kept in float32 when int8 is too lossy there: the relative error of the layer's output
  (‖y_int8 − y_float‖ / ‖y_float‖, both fed the float model's own activations) above max_error,
  measured on the calibration data, on `error_data`, or when neither is given on 256 rows drawn
  from a standard normal (the report says which);
- kept in float32 when int8 is slower on this CPU: timed at quantize time at batch 1 and at 256
  rows (median of repeated C++ calls), float32 kept only when int8 loses at both.
What it must not do: change the model it is given. The model passes itself and the class to
build the result with; this module imports no model class.
"""

import math

import numpy as np

from . import _native, folding, optimizers
from . import layers as L
from ._checks import is_real
from ._features import as_features
from .layers.quantized import QuantizedDense

MODES = ("int8", "float16")
MAX_ERROR = 0.05            # relative output error above which a layer stays float32
INT8_MAX_INPUTS = 65536     # int32 sums are exact up to this many inputs
_PROBE_ROWS = 256
_TIMING_ROWS = (1, 256)
_TIMING_REPEATS = {1: 41, 256: 7}


def quantize(model, mode, model_class, calibration=None, error_data=None, max_error=MAX_ERROR,
             speed_check=True, weight_bits=7, activation_bits=8):
    """The quantized inference copy of a built `model` (see Sequential.quantize)."""
    where = "quantize"
    if mode not in MODES:
        raise ValueError(f"{where}: mode must be 'int8' or 'float16', got {mode!r}")
    if not (is_real(max_error) and math.isfinite(max_error) and max_error > 0):
        raise ValueError(f"{where}: max_error must be a finite number > 0, got {max_error!r}")
    if mode == "int8":
        for value, what in ((weight_bits, "weight_bits"), (activation_bits, "activation_bits")):
            if value not in (7, 8) or isinstance(value, bool):
                raise ValueError(f"{where}: {what} must be 8 or 7, got {value!r}")
    elif calibration is not None:
        raise ValueError(f"{where}: calibration data is for int8 (static activation scales); "
                         f"float16 weights need none")
    if any(layer.inference_only for layer in model.layers):
        raise ValueError(f"{where}: the model is already quantized; quantize the float model it "
                         f"came from")
    if not any(isinstance(layer, L.Dense) for layer in model.layers):
        raise ValueError(f"{where}: the model has no Dense layer to quantize")

    folded = folding.fold_batchnorm(model, model_class, keep_dropout=True)
    calib = None if calibration is None else _rows(calibration, folded, f"{where} (calibration)")
    if error_data is not None:
        probe, probe_name = _rows(error_data, folded, f"{where} (error_data)"), "error_data"
    elif calib is not None:
        probe, probe_name = calib, "the calibration data"
    else:
        rng = np.random.default_rng(_native.derive_seed(model.seed, 3_000_017))
        probe = rng.standard_normal((_PROBE_ROWS, folded.input_dim)).astype(folded.dtype)
        probe_name = "a standard-normal probe (no data given)"
    probe_inputs = _layer_inputs(folded, probe)
    calib_inputs = _layer_inputs(folded, calib) if calib is not None else None

    settings = {"mode": mode, "max_error": float(max_error), "speed_check": bool(speed_check),
                "weight_bits": weight_bits, "activation_bits": activation_bits,
                "error_data": probe_name, "seed": model.seed}
    new_layers, states = [], []
    for i, layer in enumerate(folded.layers):
        if isinstance(layer, L.Dense):
            q, state = _quantize_dense(layer, probe_inputs[i], probe_inputs[i + 1],
                                       None if calib_inputs is None else calib_inputs[i], settings)
        else:
            q = type(layer).from_config(layer.get_config())
            state = {k: np.asarray(v, dtype=np.float32) for k, v in layer.get_state().items()}
        new_layers.append(q)
        states.append(state)
    result = model_class([L.Input(model.input_dim)] + new_layers, seed=model.seed,
                         dtype="float32", name=f"{model.name}_{mode}")
    for layer, state in zip(result.layers, states):
        layer.set_state(state)
    if model.optimizer is not None:
        # Compiled like the source so evaluate() works; a quantized model never trains.
        result.compile(optimizer=optimizers.deserialize(optimizers.serialize(model.optimizer)),
                       loss=model.loss, metrics=model.metrics_names[1:])
    return result


def _rows(x, model, where):
    a = as_features(x, model.dtype, model.input_dim, where)
    if a.shape[0] == 0:
        raise ValueError(f"{where}: needs at least one row")
    return a


def _layer_inputs(model, x):
    """[input of layer 0, output of layer 0, ..., output of the last layer] on x (inference)."""
    return [x] + model.layer_outputs(x)


def _norm(a):
    """‖a‖₂ without BLAS: NumPy's norm of an array is a BLAS dot, and OpenBLAS's threads then spin
    for ~0.1 s on the cores the speed check below (and the caller's next predict) want."""
    return math.sqrt(float(np.sum(np.square(a))))


def _relative_error(got, want):
    want = np.asarray(want, dtype=np.float64)
    scale = _norm(want)
    diff = _norm(np.asarray(got, dtype=np.float64) - want)
    return diff / scale if scale > 0 else diff


def _one_layer_output(layer, x):
    net = _native.core_class("Network", np.float32)([layer.native])
    x = np.ascontiguousarray(x, dtype=np.float32)
    out = np.empty((x.shape[0], layer.units), dtype=np.float32)
    net.predict(x, out, max(1, x.shape[0]))
    return out


def _candidate(dense, precision, settings, state, activation_quantization=None, seed=0):
    q = QuantizedDense(dense.units, activation=dense.activation, use_bias=dense.use_bias,
                       precision=precision, weight_bits=settings["weight_bits"],
                       activation_bits=settings["activation_bits"],
                       activation_quantization=activation_quantization, name=dense.name)
    q.build(dense.input_dim, "float32", seed)
    q.set_state(state)
    return q


def _float_state(dense):
    weights = dict(zip([n for n in ("kernel", "bias", "alpha") if n in dense.parameter_names],
                       [np.asarray(dense.variable(n), dtype=np.float32)
                        for n in dense.parameter_names]))
    return weights


def _quantize_dense(dense, x, y_float, calib_x, settings):
    """(QuantizedDense, its state) for one folded Dense, its report in `.quantization`."""
    fp = _float_state(dense)
    vectors = {k: v for k, v in fp.items() if k != "kernel"}
    float_state = dict(fp)
    report = {"error_data": settings["error_data"]}
    mode = settings["mode"]
    seed = _native.derive_seed(settings["seed"], 11)

    if mode == "float16":
        half = fp["kernel"].astype(np.float16)
        if not np.all(np.isfinite(half)):
            return _keep_float32(dense, settings, float_state, x, y_float, report,
                                 "weights beyond float16's range (|w| > 65504)")
        q = _candidate(dense, "float16", settings, {"kernel": half, **vectors}, seed=seed)
        report.update(precision="float16", reason="float16 weights",
                      output_error=_relative_error(_one_layer_output(q, x), y_float))
        q.quantization = report
        return q, q.get_state()

    if dense.input_dim > INT8_MAX_INPUTS:
        return _keep_float32(dense, settings, float_state, x, y_float, report,
                             f"more than {INT8_MAX_INPUTS:,} inputs (int32 sums would not be exact)")
    wq, scales = _native.core.quantize_weights(fp["kernel"], settings["weight_bits"])
    aq = None
    if calib_x is not None:
        lo = float(np.float32(min(0.0, float(np.min(calib_x)))))
        hi = float(np.float32(max(0.0, float(np.max(calib_x)))))
        scale, inv_scale, zero_point = _native.core.static_activation_quant(
            lo, hi, settings["activation_bits"])
        aq = {"mode": "static", "scale": scale, "inv_scale": inv_scale, "zero_point": zero_point}
    state = {"kernel": wq, "kernel_scale": scales.reshape(1, -1), **vectors}
    q = _candidate(dense, "int8", settings, state, aq, seed=seed)
    error = _relative_error(_one_layer_output(q, x), y_float)
    report["int8_output_error"] = error
    if error > settings["max_error"]:
        return _keep_float32(dense, settings, float_state, x, y_float, report,
                             f"int8 too lossy here (output error {error:.2%} > max_error "
                             f"{settings['max_error']:.2%})")
    if settings["speed_check"]:
        f32 = _candidate(dense, "float32", settings, float_state, seed=seed)
        timing = {}
        for rows in _TIMING_ROWS:
            xb = np.ascontiguousarray(np.resize(np.asarray(x, dtype=np.float32),
                                                (rows, dense.input_dim)))
            reps = _TIMING_REPEATS[rows]
            timing[f"batch{rows}_us"] = [
                1e6 * _native.core.median_forward_seconds(layer.native, xb, reps)
                for layer in (q, f32)]
        report["int8_vs_float32_us"] = timing
        if all(t[0] > t[1] for t in timing.values()):
            return _keep_float32(dense, settings, float_state, x, y_float, report,
                                 "int8 slower than float32 on this CPU at batch 1 and 256 "
                                 f"(int8 path: {_native.core.int8_path()})")
    scheme = f"u{settings['activation_bits']}×s{settings['weight_bits']}"
    report.update(precision="int8", output_error=error,
                  reason=f"int8 {scheme}, {'static (calibrated)' if aq else 'dynamic'} activations")
    q.quantization = report
    return q, q.get_state()


def _keep_float32(dense, settings, state, x, y_float, report, reason):
    q = _candidate(dense, "float32", settings, state, seed=_native.derive_seed(settings["seed"], 11))
    report.update(precision="float32", reason=f"kept float32: {reason}",
                  output_error=_relative_error(_one_layer_output(q, x), y_float))
    q.quantization = report
    return q, q.get_state()


def report_lines(model):
    """The per-layer quantization report of a quantized model, one line per QuantizedDense."""
    lines = []
    for layer in model.layers:
        if not isinstance(layer, QuantizedDense):
            continue
        r = layer.quantization
        err = r.get("output_error")
        err_text = f"output error {err:.3%}" if isinstance(err, float) else "output error n/a"
        lines.append(f" {layer.name}: {layer.precision}, {err_text} — {r.get('reason', '')}")
    return lines
