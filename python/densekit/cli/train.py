"""`densekit train DATA`: a preset network trained on a data file and saved.

The model is one of the chapter's presets (`dk.presets.default_dnn` or `self_normalizing`), with
its input standardization (a Normalization layer adapted on the training features) inside the
model, so `predict` takes raw features. The task is read from the targets when that is
unambiguous (non-integers: regression; integers 0..K-1 with every class present: classification)
and otherwise must be given with --task. Rows are shuffled (seeded) before the validation split,
since fit takes the split from the end of the data.
"""

import argparse
import sys
import warnings

import numpy as np

from .. import presets
from ..callbacks import EarlyStopping
from . import columns
from .data import read_training_data
from .errors import DataError, UsageError, check_writable

PRESETS = {"default": presets.default_dnn, "self_normalizing": presets.self_normalizing}
MAX_AUTO_CLASSES = 100


def add_commands(sub):
    p = sub.add_parser("train", help="train a preset network on a data file and save it",
                       description="Train a densekit network on DATA and save it. DATA: a CSV "
                       "with a header (the target is the last column unless --target), an NPZ "
                       "with arrays X and y, or an IDX images file (labels from the matching "
                       "labels file or --labels).")
    p.add_argument("data", metavar="DATA")
    p.add_argument("--target", metavar="COL", help="CSV column to predict (default: the last)")
    p.add_argument("--labels", metavar="FILE", help="IDX labels file for an IDX images DATA")
    p.add_argument("--preset", choices=sorted(PRESETS), default="default",
                   help="network recipe (default: %(default)s)")
    p.add_argument("--layers", metavar="N,N,...", type=_hidden_sizes,
                   help="hidden layer sizes, e.g. 300,100 (default: the preset's)")
    p.add_argument("--task", choices=("classification", "regression"),
                   help="default: detected from the targets when unambiguous")
    p.add_argument("--epochs", type=_positive_int, default=20, help="(default: %(default)s)")
    p.add_argument("--batch-size", type=_positive_int, default=32, help="(default: %(default)s)")
    p.add_argument("--validation-split", type=_fraction, default=0.1, metavar="F",
                   help="fraction of the (shuffled) rows held out to validate and stop early; "
                        "0 turns validation and early stopping off (default: %(default)s)")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--seed", type=int, default=0, help="(default: %(default)s)")
    p.add_argument("--out", metavar="MODEL", default="model.dk",
                   help="where to save the model (default: %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


def _hidden_sizes(text):
    parts = [p.strip() for p in text.split(",")]
    if not parts or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(f"expected positive layer sizes separated by commas, "
                                         f"e.g. 300,100; got {text!r}")
    return tuple(int(p) for p in parts)


def detect_task(y, requested, name):
    """('classification', n_classes) or ('regression', n_outputs) for targets y."""
    n_out = y.shape[1] if y.ndim == 2 else 1
    integers = bool(np.all(y == np.round(y)))
    values = np.unique(y) if y.ndim == 1 and integers else None
    is_ids = (values is not None and values[0] == 0 and len(values) >= 2
              and values[-1] == len(values) - 1)
    if requested == "regression":
        return "regression", n_out
    if requested == "classification":
        if not (values is not None and values[0] >= 0):
            raise DataError(f"classification needs one integer class id per sample (0..K-1); "
                            f"the target {name} is not that")
        return "classification", int(values[-1]) + 1
    if y.ndim == 2 or not integers:
        return "regression", n_out
    if is_ids and len(values) <= MAX_AUTO_CLASSES:
        return "classification", len(values)
    if len(values) > MAX_AUTO_CLASSES:
        return "regression", 1
    raise UsageError(f"cannot tell whether the target {name} holds classes or quantities "
                     f"(integers {values[0]:g}..{values[-1]:g}, {len(values)} distinct); "
                     "pass --task classification or --task regression")


def run(args):
    check_writable(args.out, "--out")
    data = read_training_data(args.data, target=args.target, labels=args.labels)
    X, y = data.X, data.y
    name = repr(data.target) if data.target else "y"
    task, n_out = detect_task(y, args.task, name)
    if len(X) < 2:
        raise DataError(f"{args.data}: expected at least 2 samples, found {len(X)}")

    order = np.random.default_rng(args.seed).permutation(len(X))
    X, y = X[order], y[order]
    factory = PRESETS[args.preset]
    kwargs = {"hidden": args.layers} if args.layers else {}
    model = factory(X.shape[1], n_out, task=task, x=X, seed=args.seed, dtype=args.dtype, **kwargs)
    callbacks = list(model.default_callbacks)
    if args.validation_split == 0:
        callbacks = [cb for cb in callbacks if not isinstance(cb, EarlyStopping)]

    what = f"{n_out} classes" if task == "classification" else f"{n_out} output(s)"
    print(f"densekit train: {len(X)} samples x {X.shape[1]} features from {args.data}; task "
          f"{task} ({what}{'' if args.task else ', detected'}); preset {args.preset}")
    if not args.quiet:
        model.summary()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(X, y, epochs=args.epochs, batch_size=args.batch_size,
                            validation_split=args.validation_split, callbacks=callbacks,
                            verbose=0 if args.quiet else 1)
    if model.diverged:
        raise DataError("training diverged (the loss became NaN or Inf); the model was not "
                        "saved: try standardized targets, another preset or fewer epochs")
    for message in dict.fromkeys(str(w.message) for w in caught):   # once each, one line each
        print(f"densekit train: warning: {' '.join(message.split())}", file=sys.stderr)
    if data.features is not None:  # kept in the model file (format version 2)
        model.feature_names, model.target_name = data.features, data.target
    model.save(args.out)
    columns.remove(args.out)  # an old sidecar would describe another model
    names = model.metrics_names + [f"val_{n}" for n in model.metrics_names]
    last = {n: history.history[n][-1] for n in names if history.history.get(n)}
    scores = ", ".join(f"{n} {v:.4f}" for n, v in last.items())
    print(f"saved {args.out} after {len(history.history.get('loss', []))} epoch(s); last epoch: "
          f"{scores}")
    return 0
