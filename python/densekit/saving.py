"""Saving and loading whole models: one versioned safetensors file (SPEC §3, "Persistence").

What this file is for: `save_model(model, path)` writes architecture, weights, non-trainable
layer state (BN statistics) and, optionally, everything needed to resume training bit for bit
(optimizer slots and counters, the step counter that keys dropout/RReLU masks, the shuffling RNG);
`load_model(path)` reads it back and validates every byte it relies on. It must not trust the
file: a truncated, corrupted or hostile file raises `ModelFileError` (a ValueError), never crashes
the interpreter and never returns a half-built model. Writes are atomic: a crash or an error
during `save_model` leaves any previous file at `path` intact.

File format "densekit", version 1 — a standard safetensors file (readable with
`safetensors.safe_open(path, "numpy")`, and by a C++ reader without Python):

    u64 little-endian N | N bytes of JSON header (padded with spaces) | data section

Tensors, each little-endian "F32" or "F64" (the model's dtype), in the core's own shapes:
    layers.{i}.{name}   parameter or state tensor `name` of model.layers[i] (names as in
                        layer._core.param_names then layer._core.state_names), 2-D: Dense kernel
                        (in, out); bias, PReLU alpha, BN γ/β/moving statistics (1, units).
                        A layer used at several positions is stored once, at its first.
    optimizer.slots     (nslots, n_params) optimizer moments (only with the optimizer state and
                        nslots > 0): row k is slot k of every parameter, packed (no padding),
                        parameters in layer order (each layer once, its parameters in the order
                        above), each flattened row-major. n_params = the model's parameter count.
Header "__metadata__" (all strings):
    format          "densekit"
    format_version  "1"
    densekit        JSON: {"densekit_version", "model": {"class_name": "Sequential",
                    "config": Sequential.get_config()}, "layer_seeds": [key of each layer's
                    random streams], "shared": [null or the earlier position a layer repeats],
                    "compile": null | {"loss", "metrics", "optimizer", "momentum_slot",
                    "schedule"}, "optimizer_state": null | {"iterations", "mu_product", "nslots",
                    "n_params"}, "training_state": null | {"step", "shuffle_rng"}}
    checksum        "sha256:" + hex digest of, in order: for each metadata key except
                    "checksum", sorted: the key and its UTF-8 value; then for each tensor sorted
                    by name: its name, dtype, shape (dims joined by ","), and data bytes. Every
                    item is fed as its decimal byte length, ":", the bytes.
"""

import hashlib
import json
import math
import numbers
import os
import struct
import warnings
from pathlib import Path

import numpy as np

from ._files import atomic_write

FORMAT_NAME = "densekit"
FORMAT_VERSION = 1

_DTYPES = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8")}
_DTYPE_CODE = {np.dtype(np.float32): "F32", np.dtype(np.float64): "F64"}
_MAX_HEADER = 100 * 1024 * 1024   # the limit safetensors itself enforces
_MAX_LAYERS = 100_000
_MAX_WIDTH_WITHOUT_TENSORS = 1 << 16
_U64 = 1 << 64


class ModelFileError(ValueError):
    """A model file that cannot be loaded: truncated, corrupted, hostile, or of another format."""


# ---------------------------------------------------------------------------------------------
# saving
# ---------------------------------------------------------------------------------------------
def save_model(model, path, include_optimizer=True):
    """Writes `model` to `path` (one file; the extension is up to you, ".dk" by convention).

    Always saved: the architecture (layer configs, seed, dtype), every parameter, every layer's
    non-trainable state and the key of its random streams, and the compile configuration (loss,
    metrics, optimizer hyperparameters) when the model is compiled. With include_optimizer=True
    (default) also the optimizer's slots and counters, the training step counter and the shuffling
    RNG, so that load → fit continues exactly as the uninterrupted run would have.
    The write is atomic (temporary file in the same directory, fsync, rename).
    """
    blob = serialize_model(model, include_optimizer=include_optimizer)
    _atomic_write(os.fspath(path), blob)


def serialize_model(model, include_optimizer=True):
    """The bytes save_model writes."""
    import safetensors.numpy

    from . import __version__
    from .models import Sequential

    if not isinstance(model, Sequential):
        raise TypeError(f"save_model: expected a dk.Sequential, got {type(model).__name__}")
    if not model.built:
        if model.input_dim is None or not model.layers:
            raise ValueError("save_model: the model is not built (its input width is unknown); "
                             "start it with dk.layers.Input(n_features) or call model.build(n)")
        model.build()

    _check_configs_round_trip(model)
    dtype = np.dtype(model.dtype)
    code = _DTYPE_CODE[dtype]
    tensors = {}
    shared = []
    first_position = {}
    for i, layer in enumerate(model.layers):
        j = first_position.setdefault(id(layer), i)
        shared.append(None if j == i else j)
        if j != i:
            continue
        core = layer._core
        for name in _tensor_names(core):
            tensors[f"layers.{i}.{name}"] = np.ascontiguousarray(core.value(name), dtype=dtype.newbyteorder("<"))

    doc = {
        "densekit_version": __version__,
        "model": {"class_name": "Sequential", "config": model.get_config()},
        "layer_seeds": [int(layer._core.seed) for layer in model.layers],
        "shared": shared,
        "compile": None,
        "optimizer_state": None,
        "training_state": None,
    }
    if model.optimizer is not None and model.loss is not None:
        doc["compile"] = _compile_config(model)
        if include_optimizer:
            net = model._net
            slots = pack_slots(model)
            doc["optimizer_state"] = {"iterations": int(net.optimizer_iterations),
                                      "mu_product": float(net.optimizer_mu_product),
                                      "nslots": int(slots.shape[0]),
                                      "n_params": int(slots.shape[1])}
            if slots.shape[0] > 0:
                tensors["optimizer.slots"] = np.ascontiguousarray(slots, dtype=dtype.newbyteorder("<"))
    if include_optimizer:
        doc["training_state"] = {"step": int(model._net.step),
                                 "shuffle_rng": _jsonable_rng_state(model._shuffle_rng)}

    metadata = {"format": FORMAT_NAME, "format_version": str(FORMAT_VERSION),
                "densekit": _dumps(doc)}
    metadata["checksum"] = _checksum(metadata, {n: (code, t.shape, t.tobytes()) for n, t in tensors.items()})
    return safetensors.numpy.save(tensors, metadata=metadata)


def _check_configs_round_trip(model):
    """Refuses to write a file that would load back a different model: every layer rebuilt from
    its config must compute the same function (same activation and hyperparameters)."""
    for i, layer in enumerate(model.layers):
        try:
            clone = type(layer).from_config(layer.get_config())
        except Exception as e:
            raise ValueError(f"save_model: layer {i} ({layer.name!r}) cannot be rebuilt from its "
                             f"get_config() ({type(e).__name__}: {e})") from e
        for attr in ("activation", "units", "use_bias", "rate", "momentum", "epsilon"):
            if getattr(layer, attr, None) != getattr(clone, attr, None):
                raise ValueError(f"save_model: layer {i} ({layer.name!r}): its get_config() loses "
                                 f"{attr}={getattr(layer, attr)!r} (rebuilt: "
                                 f"{getattr(clone, attr, None)!r}); the file would not reproduce it")


def slot_segments(model):
    """(offset, size) of every parameter's slots in the optimizer's arena, in arena order (layers in
    order, each once; a layer's parameters in param_names order). The arena may pad tensors
    (64-byte alignment); files store the slots packed, without the padding."""
    sizes = []
    seen = set()
    for layer in model.layers:
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        sizes += [int(layer._core.value(name).size) for name in layer._core.param_names]
    net = model._net
    offsets = list(getattr(net, "optimizer_offsets", None) or np.cumsum([0] + sizes[:-1]).tolist())
    if len(offsets) != len(sizes):
        raise RuntimeError(f"the optimizer has {len(offsets)} parameter tensors, the layers {len(sizes)}")
    return list(zip((int(o) for o in offsets), sizes))


def pack_slots(model):
    """The optimizer's slots as a packed (nslots, n_params) array (a copy)."""
    view = model._net.optimizer_slots()
    segs = slot_segments(model)
    if not segs:
        return np.zeros((view.shape[0], 0), view.dtype)
    return np.concatenate([view[:, o:o + n] for o, n in segs], axis=1)


def unpack_slots(model, packed):
    """Writes a packed (nslots, n_params) array into the optimizer's arena."""
    view = model._net.optimizer_slots()
    pos = 0
    for o, n in slot_segments(model):
        view[:, o:o + n] = packed[:, pos:pos + n]
        pos += n


def _dumps(doc):
    def default(obj):
        if isinstance(obj, np.generic):  # NumPy scalars in a config
            return obj.item()
        raise TypeError(f"save_model: a config holds a {type(obj).__name__} ({obj!r}), which a "
                        f"model file cannot store (configs must be JSON values)")
    try:
        return json.dumps(doc, allow_nan=False, separators=(",", ":"), default=default)
    except ValueError as e:  # NaN or Inf in a config
        raise ValueError(f"save_model: a config holds NaN or Inf ({e})") from e


def _tensor_names(core):
    return list(core.param_names) + list(getattr(core, "state_names", []))


def _compile_config(model):
    from . import losses, optimizers

    opt = model.optimizer
    cfg = optimizers.serialize(opt)
    # The live hyperparameters: schedules and callbacks (OneCycle's momenta) change them in C++.
    live = model._net.optimizer_config
    conf = dict(cfg["config"])
    conf["learning_rate"] = float(live.learning_rate)
    for key, value in list(conf.items()):
        if key in ("learning_rate", "clipvalue", "clipnorm", "global_clipnorm"):
            continue
        if hasattr(live, key):
            v = getattr(live, key)
            conf[key] = bool(v) if isinstance(value, bool) else float(v)
    cfg["config"] = conf
    schedule = None
    if opt.schedule is not None:
        schedule = _schedule_config(opt.schedule)
    return {"loss": losses.serialize(model.loss), "metrics": list(model.metrics_names[1:]),
            "optimizer": cfg, "momentum_slot": bool(getattr(opt, "_has_momentum_slot", False)),
            "schedule": schedule}


def _schedule_config(schedule):
    try:
        from . import schedules
    except ImportError:
        schedules = None
    by_name = getattr(schedules, "_BY_NAME", {})
    if by_name.get(type(schedule).__name__) is type(schedule):
        return schedules.serialize(schedule)
    warnings.warn(f"save_model: the learning-rate schedule {schedule!r} is not one of densekit's "
                  f"schedules; the file keeps the current learning rate only",
                  RuntimeWarning, stacklevel=4)
    return None


def _jsonable_rng_state(rng):
    state = rng.bit_generator.state
    json.dumps(state)  # NumPy's bit-generator states are dicts of ints and strings
    return state


def _checksum(metadata, tensors):
    """tensors: name -> (dtype code, shape, little-endian bytes)."""
    h = hashlib.sha256()

    def feed(b):
        h.update(str(len(b)).encode() + b":")
        h.update(b)

    for key in sorted(k for k in metadata if k != "checksum"):
        feed(key.encode())
        feed(metadata[key].encode())
    for name in sorted(tensors):
        code, shape, data = tensors[name]
        feed(name.encode())
        feed(code.encode())
        feed(",".join(str(int(d)) for d in shape).encode())
        feed(data)
    return "sha256:" + h.hexdigest()


def _atomic_write(path, blob):
    """Writes blob to path through a temporary file in the same directory: the old file is
    replaced only once the new one is completely on disk."""
    atomic_write(path, blob, "save_model")


# ---------------------------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------------------------
def load_model(path, compile=True):
    """Reads a model written by save_model. With compile=True (default) a model saved compiled
    comes back compiled, with its optimizer state when the file has it.

    Raises ModelFileError (a ValueError) on anything wrong with the file; OSError when it cannot
    be read.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        blob = f.read()
    return deserialize_model(blob, compile=compile, source=path)


def deserialize_model(blob, compile=True, source="<bytes>"):
    """The model encoded by `blob` (the bytes of a model file)."""
    try:
        return _deserialize(bytes(blob), compile)
    except ModelFileError as e:
        raise ModelFileError(f"{source}: {e}") from e.__cause__
    except (RecursionError, MemoryError, OverflowError) as e:
        raise ModelFileError(f"{source}: not a loadable densekit model file "
                             f"({type(e).__name__}: {e})") from e


def _fail(msg, cause=None):
    err = ModelFileError(msg)
    if cause is not None:
        raise err from cause
    raise err


def _no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = v
    return out


def _reject_constant(name):
    raise ValueError(f"non-standard JSON constant {name}")


def _json(text, what):
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as e:
        _fail(f"{what} is not valid JSON ({e})", e)


def _is_int(v, lo=None, hi=None):
    ok = isinstance(v, int) and not isinstance(v, bool)
    return ok and (lo is None or v >= lo) and (hi is None or v < hi)


def _parse_container(blob):
    """Splits a safetensors file into (metadata, index, data) after checking its structure.
    index: name -> (dtype code, shape tuple, begin, end) relative to the data section."""
    if len(blob) < 8:
        _fail(f"the file is {len(blob)} bytes long, too short for a safetensors header "
              f"(truncated or not a model file)")
    (n,) = struct.unpack("<Q", blob[:8])
    if n < 2 or n > _MAX_HEADER:
        _fail(f"header length {n} is out of range (not a safetensors file, or corrupted)")
    if 8 + n > len(blob):
        _fail(f"the header claims {n} bytes but the file has only {len(blob) - 8} after the "
              f"length field (truncated)")
    try:
        text = blob[8:8 + n].decode("utf-8")
    except UnicodeDecodeError as e:
        _fail(f"the header is not UTF-8 ({e})", e)
    header = _json(text, "the header")
    if not isinstance(header, dict):
        _fail("the header is not a JSON object")
    metadata = header.pop("__metadata__", None)
    if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                 for k, v in metadata.items()):
        _fail("the header has no string-to-string __metadata__ (not a densekit model file)")
    data_len = len(blob) - 8 - n
    index = {}
    spans = []
    for name, entry in header.items():
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            _fail(f"tensor {name!r}: malformed entry in the header")
        code, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if code not in _DTYPES:
            _fail(f"tensor {name!r}: dtype {code!r}; densekit files hold F32 or F64 tensors only")
        if not (isinstance(shape, list) and len(shape) == 2 and all(_is_int(d, 1) for d in shape)):
            _fail(f"tensor {name!r}: shape {shape!r} is not two positive ints")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_int(o, 0) for o in offsets)
                and offsets[0] <= offsets[1]):
            _fail(f"tensor {name!r}: malformed data_offsets {offsets!r}")
        begin, end = offsets
        if end - begin != shape[0] * shape[1] * _DTYPES[code].itemsize:
            _fail(f"tensor {name!r}: {end - begin} bytes do not hold a {code} tensor of shape "
                  f"{tuple(shape)}")
        if end > data_len:
            _fail(f"tensor {name!r}: its data ends at byte {end} of a {data_len}-byte data "
                  f"section (truncated)")
        index[name] = (code, (shape[0], shape[1]), begin, end)
        spans.append((begin, end))
    spans.sort()
    pos = 0
    for begin, end in spans:
        if begin != pos:
            _fail("the tensors' data overlap or leave gaps (corrupted)")
        pos = end
    if pos != data_len:
        _fail(f"the data section is {data_len} bytes but the tensors cover {pos} "
              f"({'truncated or ' if pos > data_len else ''}trailing bytes: corrupted)")
    return metadata, index, blob[8 + n:]


def _deserialize(blob, compile):
    metadata, index, data = _parse_container(blob)
    fmt = metadata.get("format")
    if fmt != FORMAT_NAME:
        _fail(f"not a densekit model file (format {fmt!r}, expected {FORMAT_NAME!r})")
    version = metadata.get("format_version")
    if version != str(FORMAT_VERSION):
        if isinstance(version, str) and version.isdigit() and int(version) > FORMAT_VERSION:
            _fail(f"the file has format version {version}, written by a newer densekit; this "
                  f"version reads format version {FORMAT_VERSION}")
        _fail(f"unsupported format version {version!r} (this densekit reads {FORMAT_VERSION})")
    unknown = set(metadata) - {"format", "format_version", "densekit", "checksum"}
    if unknown or "densekit" not in metadata or "checksum" not in metadata:
        _fail(f"unexpected metadata keys {sorted(unknown)}" if unknown
              else "the metadata lacks 'densekit' or 'checksum'")

    raw = {name: (code, shape, data[b:e]) for name, (code, shape, b, e) in index.items()}
    if _checksum(metadata, raw) != metadata["checksum"]:
        _fail("checksum mismatch: the file is corrupted")

    doc = _json(metadata["densekit"], "the densekit metadata")
    return _build(doc, raw, compile)


def _require(cond, msg):
    if not cond:
        _fail(msg)


def _build(doc, raw, compile):
    from . import layers as layers_mod
    from .layers.base import Layer
    from .layers.core import Dense, Input
    from .models import Sequential

    _require(isinstance(doc, dict), "the densekit metadata is not a JSON object")
    expected_keys = {"densekit_version", "model", "layer_seeds", "shared", "compile",
                     "optimizer_state", "training_state"}
    _require(set(doc) == expected_keys,
             f"the densekit metadata has keys {sorted(doc)}, expected {sorted(expected_keys)}")
    model_doc = doc["model"]
    _require(isinstance(model_doc, dict) and model_doc.get("class_name") == "Sequential"
             and isinstance(model_doc.get("config"), dict), "the model entry is not a Sequential")
    cfg = model_doc["config"]
    layer_entries = cfg.get("layers")
    _require(isinstance(layer_entries, list) and 0 < len(layer_entries) <= _MAX_LAYERS,
             "the model config has no valid layer list")
    nlayers = len(layer_entries)
    dtype_name = cfg.get("dtype")
    _require(dtype_name in ("float32", "float64"), f"model dtype {dtype_name!r} is not float32/float64")
    dtype = np.dtype(dtype_name)
    code = _DTYPE_CODE[dtype]
    seed = cfg.get("seed")
    _require(_is_int(seed, 0, 1 << 63), f"model seed {seed!r} is invalid")
    name = cfg.get("name")
    _require(isinstance(name, str), "model name is not a string")
    input_dim = cfg.get("input_dim")
    _require(_is_int(input_dim, 1), f"input_dim {input_dim!r} is not a positive int")

    seeds = doc["layer_seeds"]
    _require(isinstance(seeds, list) and len(seeds) == nlayers and all(_is_int(s, 0, _U64) for s in seeds),
             "layer_seeds must be one uint64 per layer")
    shared = doc["shared"]
    _require(isinstance(shared, list) and len(shared) == nlayers
             and all(s is None or (_is_int(s, 0, i) and shared[s] is None) for i, s in enumerate(shared)),
             "the 'shared' list is malformed")

    for tname, (tcode, _, _) in raw.items():
        _require(tcode == code, f"tensor {tname!r} is {tcode} in a {dtype_name} model")
    # Bound every width by the file's content before anything is allocated.
    max_dim = max((d for _, shape, _ in raw.values() for d in shape), default=_MAX_WIDTH_WITHOUT_TENSORS)

    layers = []
    width = input_dim
    _require(width <= max_dim, f"input_dim {width} exceeds every tensor dimension in the file")
    allowed = set(getattr(layers_mod, "__all__", dir(layers_mod))) - {"Layer", "Input"}
    for i, entry in enumerate(layer_entries):
        _require(isinstance(entry, dict) and set(entry) == {"class_name", "config"},
                 f"layer {i}: malformed entry")
        if shared[i] is not None:
            layer = layers[shared[i]]
        else:
            cls_name, lcfg = entry["class_name"], entry["config"]
            cls = getattr(layers_mod, cls_name, None) if isinstance(cls_name, str) and cls_name in allowed else None
            _require(isinstance(cls, type) and issubclass(cls, Layer) and not issubclass(cls, Input),
                     f"layer {i}: unknown layer class {cls_name!r}")
            _require(isinstance(lcfg, dict) and all(isinstance(k, str) for k in lcfg),
                     f"layer {i}: config is not an object")
            try:
                layer = cls.from_config(dict(lcfg))
            except Exception as e:  # a bad config raises whatever the constructor raises
                _fail(f"layer {i} ({cls_name}): invalid config ({type(e).__name__}: {e})", e)
            if isinstance(layer, Dense):
                # Quadratic in the widths: check against the file before allocating it.
                k = raw.get(f"layers.{i}.kernel")
                _require(k is not None and k[1] == (width, layer.units),
                         f"layer {i} ({cls_name}): the file has no kernel of shape "
                         f"({width}, {layer.units})")
        try:
            out = layer.output_dim(width)
        except Exception as e:
            _fail(f"layer {i}: {e}", e)
        _require(_is_int(out, 1) and out <= max_dim, f"layer {i}: output width {out!r} is invalid "
                 f"or exceeds every tensor dimension in the file")
        layers.append(layer)
        width = out

    try:
        model = Sequential([Input(input_dim)] + layers, seed=seed, dtype=dtype_name, name=name)
    except Exception as e:
        _fail(f"cannot build the model ({type(e).__name__}: {e})", e)

    # Every expected tensor present with the right shape; nothing else.
    expected = set()
    for i, layer in enumerate(model.layers):
        if shared[i] is not None:
            continue
        core = layer._core
        for pname in _tensor_names(core):
            key = f"layers.{i}.{pname}"
            expected.add(key)
            view = core.value(pname)
            _require(key in raw, f"tensor {key!r} is missing")
            _require(raw[key][1] == view.shape,
                     f"tensor {key!r} has shape {raw[key][1]}, the layer needs {view.shape}")
    arrays = {}
    for key in expected:
        arr = np.frombuffer(raw[key][2], dtype=_DTYPES[code]).reshape(raw[key][1])
        _require(bool(np.all(np.isfinite(arr))), f"tensor {key!r} contains NaN or Inf")
        arrays[key] = arr

    comp = doc["compile"]
    opt_state = doc["optimizer_state"]
    train_state = doc["training_state"]
    extra = set(raw) - expected - {"optimizer.slots"}
    _require(not extra, f"unexpected tensors {sorted(extra)[:5]}")
    _require(opt_state is None or comp is not None, "optimizer state without a compile configuration")
    if opt_state is not None:
        _check_optimizer_state_doc(opt_state)
        if opt_state["nslots"] > 0:
            entry = raw.get("optimizer.slots")
            _require(entry is not None and entry[1] == (opt_state["nslots"], opt_state["n_params"]),
                     "tensor 'optimizer.slots' is missing or does not match the optimizer state")
    _require(("optimizer.slots" in raw) == (opt_state is not None and opt_state["nslots"] > 0),
             "unexpected tensor 'optimizer.slots'")

    for i, layer in enumerate(model.layers):
        if shared[i] is not None:
            continue
        for pname in _tensor_names(layer._core):
            layer._core.value(pname)[...] = arrays[f"layers.{i}.{pname}"]
        layer._core.seed = seeds[i]

    if comp is not None and compile:
        _compile(model, comp)
        if opt_state is not None:
            _restore_optimizer(model, opt_state, raw, code)
    if train_state is not None:
        _restore_training_state(model, train_state)
    return model


def _compile(model, comp):
    from . import losses, optimizers

    _require(isinstance(comp, dict) and set(comp) == {"loss", "metrics", "optimizer", "momentum_slot", "schedule"},
             "the compile configuration is malformed")
    loss_cfg, metrics, opt_cfg = comp["loss"], comp["metrics"], comp["optimizer"]
    _require(isinstance(metrics, list) and all(isinstance(m, str) for m in metrics),
             "compile metrics must be a list of names")
    _require(isinstance(comp["momentum_slot"], bool), "momentum_slot must be a bool")
    try:
        _require(isinstance(loss_cfg, dict) and isinstance(loss_cfg.get("class_name"), str)
                 and isinstance(loss_cfg.get("config", {}), dict), "malformed loss")
        loss = losses.deserialize(loss_cfg)
        _require(isinstance(opt_cfg, dict) and isinstance(opt_cfg.get("class_name"), str)
                 and isinstance(opt_cfg.get("config", {}), dict), "malformed optimizer")
        opt = optimizers.deserialize(opt_cfg)
    except ModelFileError:
        raise
    except Exception as e:
        _fail(f"invalid compile configuration ({type(e).__name__}: {e})", e)
    # The slot layout is fixed at compile (SGD/RMSprop keep a momentum slot if they had momentum
    # then); a file saved after momentum went to 0 needs the slot back.
    restore_momentum = None
    if comp["momentum_slot"] and "momentum" in opt._hyper and opt._hyper["momentum"] == 0.0:
        restore_momentum = 0.0
        opt._hyper["momentum"] = 0.5
    if comp["schedule"] is not None:
        opt.learning_rate = _deserialize_schedule(comp["schedule"])
    try:
        model.compile(optimizer=opt, loss=loss, metrics=metrics)
    except Exception as e:
        _fail(f"invalid compile configuration ({type(e).__name__}: {e})", e)
    if restore_momentum is not None:
        opt.momentum = restore_momentum
    if comp["schedule"] is not None:
        # The schedule was re-evaluated at 0 by the setter; the live rate is the saved one.
        model._net.set_learning_rate(float(opt_cfg["config"]["learning_rate"]))


def _deserialize_schedule(cfg):
    _require(isinstance(cfg, dict) and set(cfg) == {"class_name", "config"}
             and isinstance(cfg["class_name"], str) and isinstance(cfg["config"], dict),
             "malformed schedule configuration")
    try:
        from . import schedules
        return schedules.deserialize(cfg)
    except Exception as e:
        _fail(f"invalid schedule configuration ({type(e).__name__}: {e})", e)


def _check_optimizer_state_doc(st):
    _require(isinstance(st, dict) and set(st) == {"iterations", "mu_product", "nslots", "n_params"},
             "the optimizer state is malformed")
    _require(_is_int(st["iterations"], 0, 1 << 63), "optimizer iterations must be an int >= 0")
    mu = st["mu_product"]
    _require(isinstance(mu, numbers.Real) and not isinstance(mu, bool) and math.isfinite(mu) and 0 <= mu <= 1,
             "optimizer mu_product must be in [0, 1]")
    _require(_is_int(st["nslots"], 0, 16) and _is_int(st["n_params"], 0), "optimizer slot shape is invalid")


def _restore_optimizer(model, st, raw, code):
    net = model._net
    want = (net.optimizer_slots().shape[0], sum(n for _, n in slot_segments(model)))
    _require((st["nslots"], st["n_params"]) == want,
             f"the optimizer state has {st['nslots']} slots of {st['n_params']} parameters; this "
             f"model's optimizer needs {want}")
    if want[0] > 0:
        entry = raw["optimizer.slots"]
        arr = np.frombuffer(entry[2], dtype=_DTYPES[code]).reshape(want)
        _require(bool(np.all(np.isfinite(arr))), "the optimizer slots contain NaN or Inf")
        unpack_slots(model, arr)
    net.optimizer_iterations = st["iterations"]
    net.optimizer_mu_product = float(st["mu_product"])


def _restore_training_state(model, st):
    _require(isinstance(st, dict) and set(st) == {"step", "shuffle_rng"}, "the training state is malformed")
    _require(_is_int(st["step"], 0, _U64), "the training step must be a uint64")
    rng_state = st["shuffle_rng"]
    bitgen = model._shuffle_rng.bit_generator
    _require(isinstance(rng_state, dict) and rng_state.get("bit_generator") == type(bitgen).__name__,
             f"the shuffling RNG state is not a {type(bitgen).__name__} state")
    try:
        bitgen.state = rng_state
    except Exception as e:
        _fail(f"invalid shuffling RNG state ({type(e).__name__}: {e})", e)
    model._net.step = st["step"]
