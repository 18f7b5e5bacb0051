"""`densekit predict MODEL DATA [--out FILE]` and `densekit evaluate MODEL DATA`.

predict writes the model's outputs (class probabilities for a classifier, or with --classes the
predicted class ids) as CSV with a header (to stdout, or to FILE.csv) or as an NPY array
(FILE.npy); files are written atomically. evaluate prints the compiled loss and metrics. Both
read DATA as `train` does; a CSV is matched to the training columns by name when training
recorded them (in the model file, or an older model's sidecar: see columns.py).
"""

import io
import os

import numpy as np

from .. import losses
from .._files import atomic_write
from ..saving import load_model
from . import columns
from .data import read_model_inputs
from .errors import DataError, UsageError, check_writable

_CLASSIFIER_LOSSES = (losses.SPARSE_CCE, losses.CCE, losses.BCE)


def add_commands(sub):
    p = sub.add_parser("predict", help="write a model's predictions for a data file",
                       description="Predict with MODEL on the features in DATA (CSV, NPZ, NPY or "
                       "IDX) and write the outputs as CSV (stdout or --out FILE.csv) or NPY "
                       "(--out FILE.npy).")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("data", metavar="DATA")
    p.add_argument("--out", metavar="FILE", help="FILE.csv or FILE.npy (default: CSV on stdout)")
    p.add_argument("--classes", action="store_true",
                   help="write the predicted class ids instead of the class probabilities")
    p.add_argument("--target", metavar="COL", help="CSV column to leave out (the target)")
    p.set_defaults(func=run_predict)

    e = sub.add_parser("evaluate", help="print a model's loss and metrics on a labelled data file",
                       description="Evaluate MODEL on DATA (CSV with the target column, NPZ with "
                       "X and y, or IDX images with their labels).")
    e.add_argument("model", metavar="MODEL")
    e.add_argument("data", metavar="DATA")
    e.add_argument("--target", metavar="COL",
                   help="CSV target column (default: the training target, else the last column)")
    e.add_argument("--labels", metavar="FILE", help="IDX labels file for an IDX images DATA")
    e.set_defaults(func=run_evaluate)


def _load(path):
    if not os.path.exists(path):
        raise DataError(f"{path}: no such model file")
    return load_model(path)


def _is_classifier(model):
    return model.loss is not None and model.loss.code in _CLASSIFIER_LOSSES


def _output_names(model, outputs, record):
    if _is_classifier(model):
        return [f"p_{k}" for k in range(outputs.shape[1])]
    if record is not None and outputs.shape[1] == 1:
        return [record["target"]]
    return [f"output_{k}" for k in range(outputs.shape[1])]


def run_predict(args):
    out_kind = None
    if args.out is not None:
        out_kind = os.path.splitext(args.out)[1].lower()
        if out_kind not in (".csv", ".npy"):
            raise UsageError(f"--out {args.out}: expected a .csv or .npy file name")
        check_writable(args.out, "--out")
    model = _load(args.model)
    record = columns.record(model, args.model)
    data = read_model_inputs(args.data, model.input_dim, record, target=args.target)
    outputs = model.predict(data.X)
    if args.classes:
        if not _is_classifier(model):
            raise UsageError(f"--classes needs a classifier; {args.model} was trained with "
                             f"the {model.loss.name if model.loss else 'no'} loss")
        outputs = (outputs[:, 0] > 0.5 if outputs.shape[1] == 1 else outputs.argmax(axis=1))
        outputs = outputs.astype(np.int64).reshape(-1, 1)
        names = ["class"]
    else:
        names = _output_names(model, outputs, record)

    if out_kind == ".npy":
        buffer = io.BytesIO()
        np.save(buffer, outputs[:, 0] if args.classes else outputs)
        atomic_write(args.out, buffer.getvalue(), "densekit predict")
    else:
        fmt = "%d" if args.classes else ("%.9g" if outputs.dtype == np.float32 else "%.17g")
        buffer = io.StringIO()
        np.savetxt(buffer, outputs, fmt=fmt, delimiter=",", header=",".join(names), comments="")
        if out_kind is None:
            print(buffer.getvalue(), end="")
            return 0
        atomic_write(args.out, buffer.getvalue().encode(), "densekit predict")
    print(f"wrote {len(outputs)} predictions ({', '.join(names) if len(names) <= 4 else f'{len(names)} columns'}) "
          f"to {args.out}")
    return 0


def run_evaluate(args):
    model = _load(args.model)
    if model.loss is None:
        raise DataError(f"{args.model} was saved without a loss (uncompiled), so there is "
                        "nothing to evaluate; compile and save it again")
    record = columns.record(model, args.model)
    data = read_model_inputs(args.data, model.input_dim, record, target=args.target,
                             labels=args.labels, need_targets=True)
    results = model.evaluate(data.X, data.y, return_dict=True)
    print(f"{args.model} on {args.data} ({len(data.X)} samples):")
    for name, value in results.items():
        print(f"{name}: {value:.6g}")
    return 0
