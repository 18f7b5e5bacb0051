"""Fuzz target for the Python model-file loader (dk.load_model / saving.deserialize_model).

The contract it checks on every input (SPEC "Bad input" and "Persistence"):
- loading raises ModelFileError and nothing else (no KeyError, UnicodeError, plain ValueError,
  no crash, no hang);
- a file that loads gives a working model: it predicts with the right shape, and it saves and
  loads again with the same config and the same weights ("whatever loads can be saved").

Inputs are the seed corpus (tests/fuzz/corpus/, written by tests/fuzz/make_corpus.py) mutated at
every level of the format: raw bytes (flips, truncation, splices), the safetensors header
(metadata, tensor dtypes, shapes and offsets), the densekit JSON document (any node replaced by an
extreme value, removed or added) and tensor data (NaN, Inf, huge values) — the structured ones
re-signed with a valid checksum, or the checksum alone would reject them.

Two modes:
    python tests/fuzz/fuzz_load_model.py --loop 100000 [--seed 1] [--corpus DIR]
        deterministic mutation loop, no extra dependency; prints one JSON report line and exits
        with status 1 if any input broke the contract (the first ones are saved under
        --crash-dir, default ./fuzz-crashes/).
    python tests/fuzz/fuzz_load_model.py --atheris [libFuzzer flags, e.g. -atheris_runs=100000]
        coverage-guided with atheris (pip install atheris), the same mutations as a custom
        mutator alongside libFuzzer's own; the corpus directory is passed to libFuzzer.
"""

import argparse
import copy
import json
import os
import random
import struct
import sys
import time

import numpy as np

# densekit is imported by _import_densekit(): plainly in loop mode, under atheris's
# instrumentation (of densekit alone) in atheris mode.
saving = ModelFileError = checksum = None

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

INTERESTING = [0, 1, -1, 2, 3, 2**31 - 1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64, -2**63,
               10**12, 0.5, -0.0, 1e-320, 1e308, -1e308, 1.7e38, 3.5e38, True, False, None, "",
               "x" * 300, "\ud800", "\udc80a", "dense", "relu", "float16", "Sequential", [],
               {}, [0], [None], {"class_name": "Dense", "config": {}}, [[[[[]]]]]]


# ---------------------------------------------------------------------------------------------
# the container, parsed and rebuilt by hand (so that mutations may break what the library would
# never write)
# ---------------------------------------------------------------------------------------------
def parse(blob):
    """(header dict, data bytes) of a well-formed safetensors file, or None."""
    if len(blob) < 8:
        return None
    n = int.from_bytes(blob[:8], "little")
    try:
        header = json.loads(blob[8:8 + n])
    except (ValueError, RecursionError):
        return None
    return (header, blob[8 + n:]) if isinstance(header, dict) else None


def build(header, data):
    text = json.dumps(header, separators=(",", ":")).encode("utf-8", "surrogatepass")
    return struct.pack("<Q", len(text)) + text + data


def resign(header, data):
    """The header with the densekit checksum recomputed over its (possibly mutated) content;
    unchanged when the content is not checksummable (then the loader must refuse it anyway)."""
    md = header.get("__metadata__")
    if not isinstance(md, dict) or not all(isinstance(v, str) for v in md.values()):
        return header
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            a, b = info["data_offsets"]
            tensors[name] = (str(info["dtype"]), tuple(int(d) for d in info["shape"]), data[a:b])
        except Exception:
            return header
    try:
        md = dict(md, checksum=checksum(md, tensors))
    except Exception:  # strings UTF-8 cannot encode: the loader must refuse them
        return header
    return dict(header, __metadata__=md)


# ---------------------------------------------------------------------------------------------
# mutations
# ---------------------------------------------------------------------------------------------
def _nodes(obj, path=()):
    yield path, obj
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _nodes(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _nodes(v, path + (i,))


def _set(obj, path, value):
    for p in path[:-1]:
        obj = obj[p]
    obj[path[-1]] = value


def _value(r, old):
    if isinstance(old, (int, float)) and not isinstance(old, bool) and r.random() < 0.4:
        return r.choice([old + 1, old - 1, old * 2, -old, old * 10**6, old / 3])
    return copy.deepcopy(r.choice(INTERESTING))


def mutate_doc(r, header, data):
    md = header.get("__metadata__", {})
    doc = json.loads(md["densekit"])
    for _ in range(r.randint(1, 3)):
        nodes = list(_nodes(doc))
        path, node = r.choice(nodes)
        action = r.random()
        if not path:
            continue
        if action < 0.6:
            _set(doc, path, _value(r, node))
        elif action < 0.75:  # delete
            parent = doc
            for p in path[:-1]:
                parent = parent[p]
            del parent[path[-1]]
        elif action < 0.9 and isinstance(node, dict):  # add a key
            node[r.choice(["extra", "units", "seed", "rate", "alpha", "name"])] = _value(r, None)
        elif isinstance(node, list) and node:  # duplicate or drop an element
            if r.random() < 0.5:
                node.append(copy.deepcopy(r.choice(node)))
            else:
                node.pop(r.randrange(len(node)))
    md = dict(md, densekit=json.dumps(doc, separators=(",", ":")))
    return resign(dict(header, __metadata__=md), data), data


def mutate_header(r, header, data):
    header = copy.deepcopy(header)
    names = [k for k in header if k != "__metadata__"]
    choice = r.random()
    if choice < 0.3 and names:
        info = header[r.choice(names)]
        field = r.choice(["dtype", "shape", "data_offsets"])
        if field == "dtype":
            info["dtype"] = r.choice(["F16", "F64", "F32", "I64", "BF16", "U8", "bogus"])
        elif field == "shape":
            info["shape"] = r.choice([[], [1], [0, 3], [2**31, 2**31], [1, 1, 1],
                                      [d + r.choice([-1, 1]) for d in info["shape"]],
                                      list(reversed(info["shape"]))])
        else:
            a, b = info["data_offsets"]
            info["data_offsets"] = r.choice([[a, b + 4], [a + 4, b], [b, a], [0, b], [a, 2**62]])
    elif choice < 0.5 and names:  # rename or drop a tensor
        name = r.choice(names)
        info = header.pop(name)
        if r.random() < 0.5:
            header[r.choice(["layers.9.kernel", "optimizer.slots", name + "x", "\ud800"])] = info
    else:
        md = header.setdefault("__metadata__", {})
        key = r.choice(["format", "format_version", "checksum", "densekit", "extra"])
        md[key] = r.choice(["densekit", "1", "2", "3", "99", "", "x", "\ud800",
                            md.get(key, "") + "0"])
    return (resign(header, data) if r.random() < 0.8 else header), data


def mutate_data(r, header, data):
    names = [k for k in header if k != "__metadata__"]
    if not names:
        return header, data
    info = header[r.choice(names)]
    a, b = info["data_offsets"]
    width = 4 if info["dtype"] == "F32" else 8
    if b - a < width:
        return header, data
    pos = a + width * r.randrange((b - a) // width)
    value = r.choice([np.nan, np.inf, -np.inf, 1e30, -1e38, 1e300, 5e-324, 0.0])
    with np.errstate(over="ignore"):  # 1e300 in float32 is Inf, on purpose
        packed = np.array([value], dtype="<f4" if width == 4 else "<f8").tobytes()
    data = data[:pos] + packed + data[pos + width:]
    return (resign(header, data) if r.random() < 0.9 else header), data


def mutate_bytes(r, blob, corpus):
    choice = r.random()
    b = bytearray(blob)
    if len(b) < 8:
        return bytes(b) + os.urandom(r.randint(0, 64))
    if choice < 0.4:
        for _ in range(r.randint(1, 4)):
            p = r.randrange(len(b))
            b[p] ^= r.randint(1, 255)
    elif choice < 0.6:
        b = b[:r.randrange(len(b))]
    elif choice < 0.7:
        b += bytes(r.randrange(256) for _ in range(r.randint(1, 64)))
    elif choice < 0.8:  # splice two files
        other = r.choice(corpus)
        cut = r.randrange(min(len(b), len(other)))
        b = b[:cut] + other[cut:]
    elif choice < 0.9:  # a hostile header length
        b[:8] = struct.pack("<Q", r.choice([0, 1, 7, len(b), max(0, len(b) - 8), 2**27, 2**62, 2**64 - 1]))
    else:
        b = bytearray(os.urandom(r.randint(0, 300)))
    return bytes(b)


def mutate(r, blob, corpus):
    """One mutated file from `blob` (structured mutations re-signed most of the time)."""
    parsed = parse(blob)
    kind = r.random()
    if parsed is None or kind < 0.25:
        return "bytes", mutate_bytes(r, blob, corpus)
    header, data = parsed
    try:
        if kind < 0.75 and "densekit" in header.get("__metadata__", {}):
            return "doc", build(*mutate_doc(r, header, data))
        if kind < 0.9:
            return "header", build(*mutate_header(r, header, data))
        return "data", build(*mutate_data(r, header, data))
    except (ValueError, KeyError, TypeError, IndexError, RecursionError):
        return "bytes", mutate_bytes(r, blob, corpus)


# ---------------------------------------------------------------------------------------------
# the contract
# ---------------------------------------------------------------------------------------------
class ContractBroken(AssertionError):
    pass


def check(blob):
    """Returns "error" or "loaded"; raises ContractBroken when the loader breaks its contract."""
    try:
        model = saving.deserialize_model(blob)
    except ModelFileError:
        return "error"
    except Exception as e:
        raise ContractBroken(f"load raised {type(e).__name__} instead of ModelFileError: {e}") from e
    try:
        x = np.zeros((3, model.input_dim), dtype=model.dtype)
        out = model.predict(x)
        if out.shape != (3, model.output_dim):
            raise ContractBroken(f"predict gave shape {out.shape}")
        again = saving.deserialize_model(saving.serialize_model(model))
    except ContractBroken:
        raise
    except Exception as e:
        raise ContractBroken(f"a loaded model failed to predict, save or reload: "
                             f"{type(e).__name__}: {e}") from e
    if again.get_config() != model.get_config():
        raise ContractBroken("the re-saved model has another config")
    for a, b in zip(again.get_weights(), model.get_weights()):
        if not np.array_equal(a, b):
            raise ContractBroken("the re-saved model has other weights")
    return "loaded"


def load_corpus(directory):
    files = sorted(f for f in os.listdir(directory) if f.endswith(".dk"))
    if not files:
        raise SystemExit(f"no .dk files in {directory}: run tests/fuzz/make_corpus.py")
    return [open(os.path.join(directory, f), "rb").read() for f in files]


def _import_densekit():
    global saving, ModelFileError, checksum
    from densekit import saving
    from densekit.model_file import ModelFileError, checksum


def run_loop(n, seed, corpus_dir, crash_dir, max_failures=20):
    _import_densekit()
    r = random.Random(seed)
    corpus = load_corpus(corpus_dir)
    counts, failures = {}, []
    t0 = time.perf_counter()
    for i in range(n):
        blob = corpus[i % len(corpus)] if i < len(corpus) else r.choice(corpus)
        kind, data = ("seed", blob) if i < len(corpus) else mutate(r, blob, corpus)
        try:
            outcome = check(data)
        except ContractBroken as e:
            outcome = "broken"
            if len(failures) < max_failures:
                failures.append(f"input {i} ({kind}): {e}"[:500])
                if crash_dir:
                    os.makedirs(crash_dir, exist_ok=True)
                    with open(os.path.join(crash_dir, f"input-{seed}-{i}.dk"), "wb") as f:
                        f.write(data)
        counts[f"{kind}:{outcome}"] = counts.get(f"{kind}:{outcome}", 0) + 1
    seconds = time.perf_counter() - t0
    return {"files": n, "seed": seed, "seconds": round(seconds, 2),
            "loaded": sum(v for k, v in counts.items() if k.endswith(":loaded")),
            "broken": sum(v for k, v in counts.items() if k.endswith(":broken")),
            "counts": dict(sorted(counts.items())), "failures": failures}


STATS = {"inputs": 0}


def run_atheris(argv, corpus_dir, scratch="fuzz-corpus"):
    import atheris  # optional: pip install atheris

    with atheris.instrument_imports(include=["densekit"], enable_loader_override=False):
        _import_densekit()
    corpus = load_corpus(corpus_dir)

    def test_one_input(data):
        STATS["inputs"] += 1
        check(bytes(data))

    def custom_mutator(data, max_size, seed):
        r = random.Random(seed)
        if r.random() < 0.3:
            return atheris.Mutate(data, max_size)
        _, out = mutate(r, bytes(data) or r.choice(corpus), corpus)
        return out[:max_size] if len(out) > max_size else out

    flags = argv[1:] if any(a.startswith("-max_len=") for a in argv) else ["-max_len=65536", *argv[1:]]
    # libFuzzer adds the inputs it finds to the first directory: a scratch one, never the seeds.
    os.makedirs(scratch, exist_ok=True)
    atheris.Setup([argv[0], *flags, scratch, corpus_dir], test_one_input,
                  custom_mutator=custom_mutator)
    atheris.Fuzz()


def main(argv=None):
    argv = sys.argv if argv is None else argv
    if "--atheris" in argv:
        rest = [a for a in argv if a != "--atheris"]
        corpus_dir = next((a.split("=", 1)[1] for a in rest if a.startswith("--corpus=")), CORPUS)
        run_atheris([a for a in rest if not a.startswith("--corpus=")], corpus_dir)
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--loop", type=int, required=True, help="number of inputs to try")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--corpus", default=CORPUS)
    p.add_argument("--crash-dir", default="fuzz-crashes")
    args = p.parse_args(argv[1:])
    report = run_loop(args.loop, args.seed, args.corpus, args.crash_dir)
    print(json.dumps(report))
    return 1 if report["broken"] else 0


if __name__ == "__main__":
    sys.exit(main())
