"""Saving and loading whole models: one versioned safetensors file (SPEC §3, "Persistence").

What this file is for: `save_model(model, path)` writes architecture, weights, non-trainable
layer state (BN statistics) and, optionally, everything needed to resume training bit for bit
(optimizer slots and counters, the step counter that keys dropout/RReLU masks, the shuffling RNG);
`load_model(path)` reads it back and validates every byte it relies on. It must not trust the
file: a truncated, corrupted or hostile file raises `ModelFileError` (a ValueError), never crashes
the interpreter and never returns a half-built model. Writes are atomic: a crash or an error
during `save_model` leaves any previous file at `path` intact.

The model reaches this file through its public contract — get_config(), get_state() /
set_state(), each layer's rng_key — and loading builds it through the class the model module
registers (`register_model_class`), so nothing here imports a model class. The container (bytes
⇄ metadata and tensors, checksum, atomic write) is model_file.py. The format, version 3, is laid
out in docs/design.md ("The model file"); in short: tensors `layers.{i}.{name}`,
`masks.layers.{i}.{name}` and `optimizer.slots` (the named optimizer slots packed into the rows version 1 defined), metadata
`format`, `format_version`, `densekit` (a JSON document) and `checksum`.

Version 2 changed two things. The Adam family's ε moved outside the square root (Keras's
placement); its optimizer config records which placement it trains with (`epsilon_inside_root`),
and a version-1 file, trained with ε inside, loads with `epsilon_inside_root=True` so that it
resumes bit for bit. And the document may name the model's input columns (`feature_names`) and
the column it predicts (`target_name`), which `densekit train` kept in a sidecar file before.

Version 3 added quantized and pruned models: tensors `layers.{i}.{name}` may be int8 or float16
kernels of QuantizedDense layers (with float32 scales, biases and alphas, whatever the model's
float type), and `masks.layers.{i}.{name}` hold uint8 pruning masks. Files of every version load;
files are written as version 3.
"""

import math
import numbers
import os
import warnings

import numpy as np

from . import layers as layers_mod
from . import learning_rate_schedule, losses, optimizers
from ._checks import is_int as _is_int
from ._version import __version__
from .layers.base import Layer
from .layers.core import Dense, Input
from ._files import atomic_write
from .layers.quantized import QuantizedDense
from .model_file import (ModelFileError, checksum, dtype_code, dtype_of, dumps, fail, loads,
                         read_container, read_file, read_raw, write_container)

__all__ = ["save_model", "load_model", "serialize_model", "deserialize_model", "ModelFileError",
           "register_model_class", "pack_slots", "checksum", "read_container", "FORMAT_NAME",
           "FORMAT_VERSION"]

FORMAT_NAME = "densekit"
FORMAT_VERSION = 3
# Versions this code reads: 2 placed the Adam family's ε (above), 3 added int8/float16 tensors
# (QuantizedDense) and pruning masks.
READABLE_VERSIONS = (1, 2, 3)
_MASK_PREFIX = "masks."

_DTYPE_CODE = {np.dtype(np.float32): "F32", np.dtype(np.float64): "F64"}
_MAX_LAYERS = 100_000
_MAX_WIDTH_WITHOUT_TENSORS = 1 << 16
_U64 = 1 << 64
_DOC_KEYS = {"densekit_version", "model", "layer_seeds", "shared", "compile", "optimizer_state",
             "training_state"}
_DOC_KEYS_V2 = _DOC_KEYS | {"feature_names", "target_name"}
# Optimizers whose ε moved outside the root in version 2; version-1 files trained them with ε
# inside, so they load with epsilon_inside_root=True.
_EPSILON_MOVED = ("adam", "adamw", "nadam")

# Model classes a file can name, by class name (Keras's registry pattern): models.py registers
# Sequential when it is imported.
_MODEL_CLASSES = {}


def register_model_class(cls):
    """Makes `cls` loadable: files naming it ("class_name") are built as cls(layers, seed=...,
    dtype=..., name=...). Returns cls (usable as a decorator). Its subclasses save under its name."""
    _MODEL_CLASSES[cls.__name__] = cls
    return cls


def _registered_name(model):
    for cls in type(model).__mro__:
        if _MODEL_CLASSES.get(cls.__name__) is cls:
            return cls.__name__
    raise TypeError(f"save_model: expected a dk.Sequential, got {type(model).__name__}")


# ---------------------------------------------------------------------------------------------
# the optimizer's slots in version 1's layout
# ---------------------------------------------------------------------------------------------
# Version 1 stored the slots positionally, laid out by the hyperparameters at compile: SGD and
# RMSprop had a momentum row only when compiled with momentum > 0 (`momentum_slot`). Optimizers
# now keep every slot by name; the file keeps version 1's rows.
def _v1_rows(slot_names, momentum_slot):
    return [name for name in slot_names if name != "momentum" or momentum_slot]


def _momentum_slot(opt_state):
    """Whether a version-1 file needs the momentum row: the momentum is on, or its slot holds
    something (momentum set to 0 after training with it)."""
    if "momentum" not in opt_state["slots"]:
        return False
    return (opt_state["hyperparameters"].get("momentum", 0.0) != 0.0
            or any(np.any(a) for a in opt_state["slots"]["momentum"].values()))


def _pack(opt_state, parameters, dtype):
    """(rows, n_params): row k is the slot of version-1 row k of every parameter, flattened
    row-major, parameters in the optimizer's order, packed without padding."""
    rows = _v1_rows(list(opt_state["slots"]), _momentum_slot(opt_state))
    packed = np.zeros((len(rows), _n_params(opt_state)), dtype=dtype)
    for r, name in enumerate(rows):
        pos = 0
        for p in parameters:
            a = opt_state["slots"][name][p]
            packed[r, pos:pos + a.size] = a.reshape(-1)
            pos += a.size
    return packed


def _n_params(opt_state):
    # Every rule keeps at least one slot, each holding every parameter.
    return sum(a.size for a in next(iter(opt_state["slots"].values())).values())


def pack_slots(model):
    """The model's optimizer slots as a model file stores them: a packed (rows, n_params) array
    in version 1's row order (a copy)."""
    opt = model.optimizer
    return _pack(opt.get_state(), opt.parameter_names, model.dtype)


def _unpack(packed, momentum_slot, opt_state):
    """opt_state with its slots filled from a version-1 packed array (a momentum row that
    version 1 did not store stays zero)."""
    slots = opt_state["slots"]
    for r, name in enumerate(_v1_rows(list(slots), momentum_slot)):
        pos = 0
        for p, a in slots[name].items():
            slots[name][p] = packed[r, pos:pos + a.size].reshape(a.shape)
            pos += a.size
    return opt_state


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
    path = os.fspath(path)
    atomic_write(path, blob, "save_model", verify=lambda tmp: _check_written(tmp, blob, path))


def _check_written(tmp, blob, path):
    """Reads the temporary file back through the loader before it replaces `path`: what is on
    disk must be the bytes meant, and they must load."""
    try:
        written = read_file(tmp)
        if written != blob:
            fail(f"the {len(written)} bytes on disk differ from the {len(blob)} written")
        deserialize_model(written, source="the new file")
    except ModelFileError as e:
        raise ModelFileError(f"save_model: the file written does not read back, so {path!r} was "
                             f"left as it was ({e})") from e


def serialize_model(model, include_optimizer=True):
    """The bytes save_model writes (deserialize_model reads them back)."""
    class_name = _registered_name(model)
    if not model.built:
        if model.input_dim is None or not model.layers:
            raise ValueError("save_model: the model is not built (its input width is unknown); "
                             "start it with dk.layers.Input(n_features) or call model.build(n)")
        model.build()
    _check_configs_round_trip(model)
    # One snapshot: training steps (on other threads) wait while the state and the live
    # hyperparameters are copied, so the file never mixes two steps.
    with model.state_lock:
        state = model.get_state(include_optimizer=include_optimizer)
        config = model.get_config()
        compiled = model.optimizer is not None and model.loss is not None
        opt_state = None
        if compiled:
            opt_state = state["optimizer"] if include_optimizer else model.optimizer.get_state()
            compile_config = _compile_config(model, _momentum_slot(opt_state))
    tensors = dict(state["variables"])
    _check_finite(tensors, model)
    shared, first_position = [], {}
    for i, layer in enumerate(model.layers):
        j = first_position.setdefault(id(layer), i)
        shared.append(None if j == i else j)
        if j == i:
            for pname in layer.parameter_names:
                mask = layer.weight_mask(pname)
                if mask is not None:
                    tensors[f"{_MASK_PREFIX}layers.{i}.{pname}"] = mask.astype(np.uint8)

    doc = {
        "densekit_version": __version__,
        "model": {"class_name": class_name, "config": config},
        "layer_seeds": [layer.rng_key for layer in model.layers],
        "shared": shared,
        "compile": None,
        "optimizer_state": None,
        "training_state": None,
        "feature_names": _check_names(model.feature_names, model.input_dim, "feature_names", ValueError),
        "target_name": _check_name(model.target_name, "target_name", ValueError),
    }
    if compiled:
        opt = model.optimizer
        doc["compile"] = compile_config
        if include_optimizer:
            packed = _pack(opt_state, opt.parameter_names, model.dtype)
            _check_finite({"optimizer.slots": packed}, model)
            doc["optimizer_state"] = {"iterations": opt_state["iterations"],
                                      "mu_product": opt_state["mu_product"],
                                      "nslots": int(packed.shape[0]),
                                      "n_params": int(packed.shape[1])}
            if packed.size > 0:  # a model without parameters (quantized) has no slots
                tensors["optimizer.slots"] = packed
    if include_optimizer:
        dumps(state["shuffle_rng"], "save_model")  # NumPy's bit-generator states are JSON values
        doc["training_state"] = {"step": state["step"], "shuffle_rng": state["shuffle_rng"]}

    metadata = {"format": FORMAT_NAME, "format_version": str(FORMAT_VERSION),
                "densekit": dumps(doc, "save_model")}
    return write_container(tensors, metadata)


def _check_finite(tensors, model):
    """Refuses NaN or Inf in a tensor to be saved (load_model refuses them): a training step
    overflowed (e.g. BN's moving variance of inputs near 1e30 in float32)."""
    for name, a in tensors.items():
        if not np.all(np.isfinite(a)):
            bad = np.argwhere(~np.isfinite(a))
            parts = name.split(".")
            name = repr(name)
            if parts[0] == "layers":
                name += f" (layer {model.layers[int(parts[1])].name!r})"
            raise ValueError(f"save_model: tensor {name} holds {int(bad.shape[0])} non-finite "
                             f"values (first {a[tuple(bad[0])]} at index {tuple(int(i) for i in bad[0])}); "
                             f"a model file holds finite values only. Training overflowed: check "
                             f"the input scale and the learning rate, or restore an earlier state")


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


def _compile_config(model, momentum_slot):
    opt = model.optimizer
    schedule = None
    if opt.schedule is not None:
        try:
            schedule = learning_rate_schedule.serialize(opt.schedule)
        except ValueError:
            warnings.warn(f"save_model: the learning-rate schedule {opt.schedule!r} is not one of "
                          f"densekit's schedules; the file keeps the current learning rate only",
                          RuntimeWarning, stacklevel=4)
    # get_config() holds the live hyperparameters (schedules change them between steps).
    return {"loss": losses.serialize(model.loss), "metrics": list(model.metrics_names[1:]),
            "optimizer": optimizers.serialize(opt), "momentum_slot": momentum_slot,
            "schedule": schedule}


# ---------------------------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------------------------
def load_model(path, compile=True):
    """Reads a model written by save_model. With compile=True (default) a model saved compiled
    comes back compiled, with its optimizer state when the file has it.

    Raises ModelFileError (a ValueError) on anything wrong with the file; OSError when it cannot
    be read. Reads no more than the file's header declares (a device or a huge file of another
    kind is refused after its first bytes).
    """
    path = os.fspath(path)
    try:
        blob = read_file(path)
    except ModelFileError as e:
        raise ModelFileError(f"{path}: {e}") from e.__cause__
    return deserialize_model(blob, compile=compile, source=path)


def deserialize_model(blob, compile=True, source="<bytes>"):
    """The model encoded by `blob` (the bytes of a model file, as serialize_model returns).
    Raises ModelFileError, and nothing else, on anything wrong with the bytes."""
    try:
        return _deserialize(bytes(blob), compile)
    except ModelFileError as e:
        raise ModelFileError(f"{source}: {e}") from e.__cause__
    except Exception as e:  # a check this file lacks: still the loader's one error, cause chained
        raise ModelFileError(f"{source}: not a loadable densekit model file "
                             f"({type(e).__name__}: {e})") from e


def _require(cond, msg):
    if not cond:
        fail(msg)


def _deserialize(blob, compile):
    metadata, raw = read_raw(blob)
    _require(metadata, "the header has no __metadata__ (not a densekit model file)")
    fmt = metadata.get("format")
    if fmt != FORMAT_NAME:
        fail(f"not a densekit model file (format {fmt!r}, expected {FORMAT_NAME!r})")
    version = metadata.get("format_version")
    if version not in [str(v) for v in READABLE_VERSIONS]:
        readable = ", ".join(str(v) for v in READABLE_VERSIONS)
        if isinstance(version, str) and version.isdigit() and int(version) > FORMAT_VERSION:
            fail(f"the file has format version {version}, written by a newer densekit; this "
                 f"version reads format versions {readable}")
        fail(f"unsupported format version {version!r} (this densekit reads {readable})")
    unknown = set(metadata) - {"format", "format_version", "densekit", "checksum"}
    if unknown or "densekit" not in metadata or "checksum" not in metadata:
        fail(f"unexpected metadata keys {sorted(unknown)}" if unknown
             else "the metadata lacks 'densekit' or 'checksum'")
    if checksum(metadata, raw) != metadata["checksum"]:
        fail("checksum mismatch: the file is corrupted")
    return _build(loads(metadata["densekit"], "the densekit metadata"), raw, compile, int(version))


def _build(doc, raw, compile, version):
    _require(isinstance(doc, dict), "the densekit metadata is not a JSON object")
    keys = _DOC_KEYS if version == 1 else _DOC_KEYS_V2
    _require(set(doc) == keys,
             f"the densekit metadata has keys {sorted(doc)}, expected {sorted(keys)} "
             f"(format version {version})")
    model_doc = doc["model"]
    class_name = model_doc.get("class_name") if isinstance(model_doc, dict) else None
    _require(isinstance(class_name, str) and class_name in _MODEL_CLASSES
             and isinstance(model_doc.get("config"), dict),
             f"the model entry is not one of {sorted(_MODEL_CLASSES) or 'the model classes'} "
             f"with a config (class_name {class_name!r})")
    model_class = _MODEL_CLASSES[model_doc["class_name"]]
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
        # Version 1 stored the model's float type only; later versions also int8/float16
        # kernels of quantized layers and uint8 masks, checked tensor by tensor below.
        _require(tcode == code or (version >= 3 and tcode in ("I8", "F16", "F32", "U8")),
                 f"tensor {tname!r} is {tcode} in a {dtype_name} model file of version {version}")
    input_shape = cfg.get("input_shape", [input_dim])
    _require(isinstance(input_shape, list) and all(_is_int(d, 1) for d in input_shape)
             and math.prod(input_shape) == input_dim,
             f"input_shape {input_shape!r} does not describe {input_dim} inputs")
    layers = _build_layers(layer_entries, shared, input_dim, raw)
    try:
        model = model_class([Input(tuple(input_shape))] + layers, seed=seed, dtype=dtype_name,
                            name=name)
    except Exception as e:
        fail(f"cannot build the model ({type(e).__name__}: {e})", e)

    # Every expected tensor present with the right shape; nothing else.
    variables = {}
    for i, layer in enumerate(model.layers):
        if shared[i] is not None:
            continue
        for pname in layer.parameter_names + layer.state_names:
            key = f"layers.{i}.{pname}"
            _require(key in raw, f"tensor {key!r} is missing")
            want = layer.variable(pname)
            _require(raw[key][1] == want.shape,
                     f"tensor {key!r} has shape {raw[key][1]}, the layer needs {want.shape}")
            _require(raw[key][0] == dtype_code(want.dtype),
                     f"tensor {key!r} is {raw[key][0]}; the layer stores {dtype_code(want.dtype)}")
            arr = np.frombuffer(raw[key][2], dtype=dtype_of(raw[key][0])).reshape(want.shape)
            _require(bool(np.all(np.isfinite(arr))), f"tensor {key!r} contains NaN or Inf")
            variables[key] = arr
    masks = _masks(model, shared, raw)
    comp, opt_doc, train_doc = doc["compile"], doc["optimizer_state"], doc["training_state"]
    extra = set(raw) - set(variables) - set(masks) - {"optimizer.slots"}
    _require(not extra, f"unexpected tensors {sorted(extra)[:5]}")
    _require(opt_doc is None or comp is not None, "optimizer state without a compile configuration")
    if opt_doc is not None:
        _check_optimizer_state_doc(opt_doc)
        if opt_doc["nslots"] > 0 and opt_doc["n_params"] > 0:
            entry = raw.get("optimizer.slots")
            _require(entry is not None and entry[1] == (opt_doc["nslots"], opt_doc["n_params"])
                     and entry[0] == code,
                     "tensor 'optimizer.slots' is missing or does not match the optimizer state")
    _require(("optimizer.slots" in raw) == (opt_doc is not None and opt_doc["nslots"] > 0
                                            and opt_doc["n_params"] > 0),
             "unexpected tensor 'optimizer.slots'")

    if version >= 2:
        model.feature_names = _check_names(doc["feature_names"], input_dim, "feature_names", fail)
        model.target_name = _check_name(doc["target_name"], "target_name", fail)

    state = {"variables": variables}
    if comp is not None and compile:
        _compile(model, comp, version)
        if opt_doc is not None:
            state["optimizer"] = _optimizer_state(model, comp["momentum_slot"], opt_doc, raw, dtype)
    if train_doc is not None:
        state.update(_training_state(train_doc))
    for layer, key in zip(model.layers, seeds):
        layer.rng_key = key
    try:
        model.set_state(state)
    except (ValueError, TypeError) as e:
        fail(f"the file's state does not fit the model ({e})", e)
    for key, (layer, pname, mask) in masks.items():
        layer.set_weight_mask(pname, mask)
    return model


def _masks(model, shared, raw):
    """{tensor name: (layer, parameter name, bool mask)} of the pruning masks in the file."""
    out = {}
    for key, (tcode, shape, data) in raw.items():
        if not key.startswith(_MASK_PREFIX):
            continue
        parts = key[len(_MASK_PREFIX):].split(".")
        ok = len(parts) == 3 and parts[0] == "layers" and parts[1].isdigit()
        i = int(parts[1]) if ok else -1
        _require(ok and i < len(model.layers) and shared[i] is None
                 and parts[2] in model.layers[i].parameter_names,
                 f"tensor {key!r} is not the mask of a parameter of this model")
        layer = model.layers[i]
        want = layer.variable(parts[2]).shape
        _require(tcode == "U8" and shape == want, f"tensor {key!r} must be U8 of shape {want}")
        mask = np.frombuffer(data, dtype=np.uint8).reshape(shape)
        _require(bool(np.all(mask <= 1)), f"tensor {key!r} holds values other than 0 and 1")
        out[key] = (layer, parts[2], mask.astype(bool))
    return out


def _build_layers(layer_entries, shared, input_dim, raw):
    """The layers the entries describe, each checked against the file's tensors before it is
    built (a hostile config must not allocate more than the file holds)."""
    max_dim = max((d for _, shape, _ in raw.values() for d in shape), default=_MAX_WIDTH_WITHOUT_TENSORS)
    layers = []
    width = input_dim
    _require(width <= max_dim, f"input_dim {width} exceeds every tensor dimension in the file")
    allowed = set(layers_mod.__all__) - {"Layer", "Input"}
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
                fail(f"layer {i} ({cls_name}): invalid config ({type(e).__name__}: {e})", e)
            if isinstance(layer, (Dense, QuantizedDense)):
                # Quadratic in the widths: check against the file before allocating it.
                k = raw.get(f"layers.{i}.kernel")
                _require(k is not None and k[1] == (width, layer.units),
                         f"layer {i} ({cls_name}): the file has no kernel of shape "
                         f"({width}, {layer.units})")
        try:
            out = layer.output_dim(width)
        except Exception as e:
            fail(f"layer {i}: {e}", e)
        _require(_is_int(out, 1) and out <= max_dim, f"layer {i}: output width {out!r} is invalid "
                 f"or exceeds every tensor dimension in the file")
        layers.append(layer)
        width = out
    return layers


def _compile(model, comp, version):
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
        if version == 1 and opt_cfg["class_name"] in _EPSILON_MOVED:
            # Trained with ε inside the root, the only rule version 1 knew: keep it.
            _require("epsilon_inside_root" not in opt_cfg.get("config", {}),
                     "a version-1 optimizer config names epsilon_inside_root")
            opt_cfg = {"class_name": opt_cfg["class_name"],
                       "config": {**opt_cfg.get("config", {}), "epsilon_inside_root": True}}
        # The config holds the live rate; the schedule is attached without re-evaluating it.
        opt = optimizers.deserialize(opt_cfg)
        if comp["schedule"] is not None:
            opt.schedule = _deserialize_schedule(comp["schedule"])
        model.compile(optimizer=opt, loss=loss, metrics=metrics)
    except ModelFileError:
        raise
    except Exception as e:
        fail(f"invalid compile configuration ({type(e).__name__}: {e})", e)


def _deserialize_schedule(cfg):
    _require(isinstance(cfg, dict) and set(cfg) == {"class_name", "config"}
             and isinstance(cfg["class_name"], str) and isinstance(cfg["config"], dict),
             "malformed schedule configuration")
    try:
        return learning_rate_schedule.deserialize(cfg)
    except Exception as e:
        fail(f"invalid schedule configuration ({type(e).__name__}: {e})", e)


def _check_optimizer_state_doc(st):
    _require(isinstance(st, dict) and set(st) == {"iterations", "mu_product", "nslots", "n_params"},
             "the optimizer state is malformed")
    _require(_is_int(st["iterations"], 0, 1 << 63), "optimizer iterations must be an int >= 0")
    mu = st["mu_product"]
    _require(isinstance(mu, numbers.Real) and not isinstance(mu, bool) and math.isfinite(mu) and 0 <= mu <= 1,
             "optimizer mu_product must be in [0, 1]")
    _require(_is_int(st["nslots"], 0, 16) and _is_int(st["n_params"], 0), "optimizer slot shape is invalid")


def _optimizer_state(model, momentum_slot, st, raw, dtype):
    """The optimizer state (by name) the file holds, for the model just compiled from it."""
    opt = model.optimizer
    state = opt.get_state()  # this optimizer's slot names, parameter shapes and hyperparameters
    want = (len(_v1_rows(list(state["slots"]), momentum_slot)), _n_params(state))
    _require((st["nslots"], st["n_params"]) == want,
             f"the optimizer state has {st['nslots']} slots of {st['n_params']} parameters; this "
             f"model's optimizer needs {want}")
    if want[0] > 0 and want[1] > 0:
        packed = np.frombuffer(raw["optimizer.slots"][2], dtype=dtype.newbyteorder("<")).reshape(want)
        _require(bool(np.all(np.isfinite(packed))), "the optimizer slots contain NaN or Inf")
        _unpack(packed, momentum_slot, state)
    state["iterations"] = st["iterations"]
    state["mu_product"] = float(st["mu_product"])
    return state


def _check_names(names, n_inputs, what, error):
    """`names` (None, or one non-empty str per input) as a list; `error(message)` raises."""
    if names is None:
        return None
    ok = (isinstance(names, (list, tuple)) and len(names) == n_inputs
          and all(isinstance(c, str) and c for c in names))
    if not ok:
        message = (f"{what} must be one non-empty str per input ({n_inputs}), got "
                   f"{names if isinstance(names, (list, tuple)) and len(names) <= 8 else type(names).__name__}")
        if error is fail:
            fail(message)
        raise error(message)
    return list(names)


def _check_name(name, what, error):
    if name is None or (isinstance(name, str) and name):
        return name
    message = f"{what} must be a non-empty str or None, got {name!r}"
    if error is fail:
        fail(message)
    raise error(message)


def _training_state(st):
    _require(isinstance(st, dict) and set(st) == {"step", "shuffle_rng"}, "the training state is malformed")
    _require(_is_int(st["step"], 0, _U64), "the training step must be a uint64")
    # The shuffling RNG state is checked by the model's set_state.
    return {"step": st["step"], "shuffle_rng": st["shuffle_rng"]}
