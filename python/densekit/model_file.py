"""The container of a densekit model file: a safetensors file, read and written with the
`safetensors` library, plus what densekit adds to it — the SHA-256 checksum, strict JSON for its
own metadata and clear errors (atomic writes are _files.py's). The layout is described in docs/design.md
("The model file").

What this file is for: bytes ⇄ (metadata, tensors), nothing about models (saving.py builds and
reads the document inside). It must not trust its input: anything the library rejects, and
anything densekit does not store (other dtypes, tensors that are not 2-D), raises
ModelFileError (a ValueError) with what was wrong — never a crash, never a half-read file.
"""

import hashlib
import json

import numpy as np
import safetensors
import safetensors.numpy

# What densekit stores: float32/float64 parameters; since format version 2 also int8 and float16
# kernels (quantized layers) and uint8 pruning masks.
_DTYPES = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8"), "F16": np.dtype("<f2"),
           "I8": np.dtype("i1"), "U8": np.dtype("u1")}
_DTYPE_CODE = {np.dtype(np.float32): "F32", np.dtype(np.float64): "F64",
               np.dtype(np.float16): "F16", np.dtype(np.int8): "I8", np.dtype(np.uint8): "U8"}


def dtype_code(dtype):
    """The safetensors code of a NumPy dtype densekit stores ("F32", "I8", ...)."""
    return _DTYPE_CODE[np.dtype(dtype).newbyteorder("=")]


def dtype_of(code):
    """The little-endian NumPy dtype of a safetensors code densekit stores."""
    return _DTYPES[code]


class ModelFileError(ValueError):
    """A model file that cannot be loaded: truncated, corrupted, hostile, or of another format."""


def fail(msg, cause=None):
    err = ModelFileError(msg)
    if cause is not None:
        raise err from cause
    raise err


# ---------------------------------------------------------------------------------------------
# the container
# ---------------------------------------------------------------------------------------------
def write_container(tensors, metadata):
    """The bytes of a safetensors file holding `tensors` ({name: 2-D array of a dtype densekit
    stores}) and
    `metadata` ({str: str}), with densekit's checksum added to the metadata."""
    tensors = {name: np.ascontiguousarray(a, dtype=np.dtype(a.dtype).newbyteorder("<"))
               for name, a in tensors.items()}
    metadata = dict(metadata)
    metadata["checksum"] = checksum(metadata, tensors)
    return safetensors.numpy.save(tensors, metadata=metadata)


# What the library's errors mean for a model file, by a fragment of their text (lower case,
# spaces and punctuation dropped: both the sentence forms of safetensors >= 0.5 and the enum names
# of older versions match). The first match wins.
_CONTAINER_ERRORS = [
    (("headertoosmall",), "the file is {n} bytes long, too short for a safetensors header "
                          "(truncated or not a model file)"),
    (("headertoolarge",), "its header length field is out of range (not a safetensors file, or "
                          "corrupted)"),
    (("invalidheaderlength",), "its header claims more bytes than the file holds (truncated)"),
    (("incompletemetadata", "metadataincompletebuffer"),
     "its data section does not match the tensors the header lists (truncated, or trailing "
     "bytes: corrupted)"),
    (("utf8",), "its header is not UTF-8 ({e})"),
    (("invalidjson", "invalidheaderdeserialization", "invalidheaderstart"),
     "its header is not valid JSON with string-to-string __metadata__ ({e})"),
    (("invalidoffset",), "its tensors' data overlap or leave gaps (corrupted)"),
    (("tensorinvalidinfo", "validationoverflow"), "a tensor's shape does not match its bytes "
                                                  "(corrupted)"),
]


def _container_error(error, size):
    text = str(error)
    key = "".join(ch for ch in text.lower() if ch.isalnum())
    for fragments, message in _CONTAINER_ERRORS:
        if any(f in key for f in fragments):
            return message.format(n=size, e=text)
    return f"not a valid safetensors file ({text})"


def read_container(blob):
    """(metadata, tensors) of the bytes of a safetensors file: metadata {str: str} (empty if the
    file has none), tensors {name: read-only array} — only 2-D tensors of the dtypes densekit
    writes. The library validates the structure (header, offsets, sizes)."""
    metadata, raw = read_raw(blob)
    return metadata, {name: np.frombuffer(data, dtype=_DTYPES[code]).reshape(shape)
                      for name, (code, shape, data) in raw.items()}


def read_raw(blob):
    """(metadata, {name: (dtype code, shape, little-endian bytes)}) — read_container without
    making arrays, for the checksum and for checks before any allocation."""
    blob = bytes(blob)
    try:
        entries = safetensors.deserialize(blob)
    except Exception as e:  # safetensors.SafetensorError, or its older Rust panics
        fail(_container_error(e, len(blob)), e)
    # The library has checked the header (length, UTF-8, JSON, string-to-string metadata); it
    # does not return the metadata, which sits in that header.
    header = json.loads(blob[8:8 + int.from_bytes(blob[:8], "little")])
    metadata = header.get("__metadata__") or {}
    raw = {}
    for name, info in entries:
        code, shape = info["dtype"], tuple(info["shape"])
        if code not in _DTYPES:
            fail(f"tensor {name!r}: dtype {code!r}; densekit files hold {', '.join(_DTYPES)} "
                 f"tensors only")
        if len(shape) != 2 or min(shape) < 1:
            fail(f"tensor {name!r}: shape {list(shape)} is not two positive ints")
        raw[name] = (code, shape, bytes(info["data"]))
    return metadata, raw


def checksum(metadata, tensors):
    """"sha256:" + hex digest of, in order: for each metadata key except "checksum", sorted:
    the key and its UTF-8 value; then for each tensor sorted by name: its name, dtype code,
    shape (dims joined by ",") and little-endian data bytes. Every item is fed as its decimal
    byte length, ":", the bytes. `tensors`: {name: array}, or {name: (code, shape, bytes)}."""
    h = hashlib.sha256()

    def feed(b):
        h.update(str(len(b)).encode() + b":")
        h.update(b)

    for key in sorted(k for k in metadata if k != "checksum"):
        feed(key.encode())
        feed(metadata[key].encode())
    for name in sorted(tensors):
        item = tensors[name]
        if isinstance(item, tuple):
            code, shape, data = item
        else:
            a = np.asarray(item)
            code, shape = _DTYPE_CODE[np.dtype(a.dtype).newbyteorder("=")], a.shape
            data = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<")).tobytes()
        feed(name.encode())
        feed(code.encode())
        feed(",".join(str(int(d)) for d in shape).encode())
        feed(data)
    return "sha256:" + h.hexdigest()


# ---------------------------------------------------------------------------------------------
# densekit's own JSON: strict (no NaN/Infinity, no duplicate keys)
# ---------------------------------------------------------------------------------------------
def dumps(doc, where):
    def default(obj):
        if isinstance(obj, np.generic):  # NumPy scalars in a config
            return obj.item()
        raise TypeError(f"{where}: a config holds a {type(obj).__name__} ({obj!r}), which a "
                        f"model file cannot store (configs must be JSON values)")
    try:
        return json.dumps(doc, allow_nan=False, separators=(",", ":"), default=default)
    except ValueError as e:  # NaN or Inf in a config
        raise ValueError(f"{where}: a config holds NaN or Inf ({e})") from e


def _no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = v
    return out


def _reject_constant(name):
    raise ValueError(f"non-standard JSON constant {name}")


def loads(text, what):
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as e:
        fail(f"{what} is not valid JSON ({e})", e)
