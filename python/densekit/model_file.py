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
import os
import stat

import numpy as np
import safetensors
import safetensors.numpy

from ._checks import is_text

# The largest header read_file accepts. densekit's headers hold a JSON document of configs and
# one entry per tensor: kilobytes for real models, far below this.
MAX_HEADER_BYTES = 100 * 2**20
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


def read_file(path):
    """The bytes of the model file at `path`, reading no more than its header declares: the
    8-byte header length (refused beyond MAX_HEADER_BYTES), the header, then the data section the
    header's tensors span. A regular file whose size differs from that is refused before its data
    is read; so is a stream (a device, a pipe) that ends early or goes on after it. A header that
    cannot be parsed is returned alone, for read_raw to say what is wrong with it. Raises
    ModelFileError, or OSError when the file cannot be opened or read."""
    with open(path, "rb") as f:
        st = os.fstat(f.fileno())
        size = st.st_size if stat.S_ISREG(st.st_mode) else None  # devices and pipes: 0
        prefix = f.read(8)
        if len(prefix) < 8:
            return prefix
        n = int.from_bytes(prefix, "little")
        if n > MAX_HEADER_BYTES:
            fail(f"its header length field ({n} bytes) is out of range: a model file's header "
                 f"is at most {MAX_HEADER_BYTES} bytes (not a densekit model file, or corrupted)")
        if size is not None and 8 + n > size:
            fail(f"its header length field says {n} bytes but the file holds {size - 8} after it "
                 f"(truncated)")
        header = f.read(n)
        if len(header) < n:
            fail(f"it ends inside its {n}-byte header (truncated)")
        data_size = _declared_data_size(header)
        if data_size is None:
            return prefix + header
        expected = 8 + n + data_size
        if size is not None and size != expected:
            fail(f"the file is {size} bytes but its header declares {expected} "
                 f"({'truncated' if size < expected else 'trailing bytes: corrupted'})")
        data = f.read(data_size)
        if len(data) < data_size or (size is None and f.read(1)):
            fail(f"its data section is not the {data_size} bytes its header declares "
                 f"(truncated, or trailing bytes)")
    return prefix + header + data


def _declared_data_size(header):
    """The byte length of the data section a safetensors header declares (the largest end
    offset of its tensors), or None when the header is not a JSON object of tensor entries."""
    try:
        doc = json.loads(header)
    except (ValueError, RecursionError):
        return None
    if not isinstance(doc, dict):
        return None
    end = 0
    for name, entry in doc.items():
        if name == "__metadata__":
            continue
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2
                and all(isinstance(o, int) and not isinstance(o, bool) and o >= 0 for o in offsets)):
            return None
        end = max(end, offsets[1])
    return end


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
    bad = next((s for kv in metadata.items() for s in kv if not is_text(s)), None)
    if bad is not None:
        fail(f"its metadata holds {bad[:60]!r}, which is not valid Unicode text (a lone "
             f"surrogate escape)")
    raw = {}
    for name, info in entries:
        if not is_text(name):
            fail(f"tensor name {name!r} is not valid Unicode text (a lone surrogate escape)")
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
        text = json.dumps(doc, allow_nan=False, separators=(",", ":"), default=default)
    except ValueError as e:  # NaN or Inf in a config
        raise ValueError(f"{where}: a config holds NaN or Inf ({e})") from e
    bad = _first_bad_string(doc)
    if bad is not None:
        raise ValueError(f"{where}: the config entry {bad[0]} = {bad[1]!r} is not valid Unicode "
                         f"text (a lone surrogate): a model file cannot store it")
    return text


def _first_bad_string(doc):
    """(path, string) of the first key or string in a JSON value that UTF-8 cannot encode (a
    lone surrogate), or None. Iterative: the depth of a hostile document must not matter."""
    stack = [("$", doc)]
    while stack:
        path, obj = stack.pop()
        if isinstance(obj, str):
            if not is_text(obj):
                return path, obj
        elif isinstance(obj, dict):
            for k, v in obj.items():
                if isinstance(k, str) and not is_text(k):
                    return path, k
                stack.append((f"{path}[{k!r}]", v))
        elif isinstance(obj, (list, tuple)):
            stack.extend((f"{path}[{i}]", v) for i, v in enumerate(obj))
    return None


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
        doc = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as e:
        fail(f"{what} is not valid JSON ({e})", e)
    bad = _first_bad_string(doc)
    if bad is not None:
        fail(f"{what}: {bad[0]} holds {bad[1][:60]!r}, which is not valid Unicode text (a lone "
             f"surrogate escape)")
    return doc
