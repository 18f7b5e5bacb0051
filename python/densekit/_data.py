"""Input checking and conversion at the Python edge: features, targets, weights of a model.

Every array crosses into C++ as a C-contiguous array of the model's dtype, converted here once,
explicitly (the bindings refuse anything else rather than copy silently). Bad input raises with
what was given, where, and what was expected. `prepare` reads only a model's public attributes
(dtype, input_dim, output_dim, loss), so every tier above can use it.
"""

import numpy as np

from . import losses
from ._checks import positive, size
from ._features import as_features, first_bad, real_array

__all__ = ["as_features", "as_targets", "as_sample_weight", "class_ids", "check_batch_size",
           "flat_samples", "prepare"]


def flat_samples(model, x, where):
    """x with each sample flattened when the model takes samples of several dimensions (an Input
    of shape (28, 28) and a Flatten, as Keras's): (n, 28, 28) -> (n, 784), a view when x is
    C-contiguous. Flat input (n, 784) is accepted as it is; anything else is left to as_features."""
    shape = getattr(model, "input_shape", None)
    if shape is None or len(shape) < 2:
        return x
    a = np.asarray(x)
    if a.ndim == len(shape) + 1:
        if tuple(a.shape[1:]) != tuple(shape):
            raise ValueError(f"{where}: the model takes samples of shape {tuple(shape)}, got "
                             f"samples of shape {tuple(a.shape[1:])}")
        return a.reshape(a.shape[0], -1)
    return x


def as_targets(y, loss, out_dim, dtype, n, where, name="y"):
    """Targets in the layout the C++ loss reads: (n, 1) class ids for sparse cross-entropy,
    else (n, out_dim)."""
    if y is None:
        raise ValueError(f"{where}: {name} is None")
    a = real_array(y, where, name)
    if a.shape[0:1] != (n,):
        raise ValueError(f"{where}: {name} has {a.shape[0] if a.ndim else 0} samples but x has {n}")
    if loss.code == losses.SPARSE_CCE:
        if a.ndim == 2 and a.shape[1] == 1:
            a = a[:, 0]
        if a.ndim != 1:
            raise ValueError(f"{where}: sparse_categorical_crossentropy takes integer class ids of "
                             f"shape (samples,), got shape {a.shape} (one-hot targets need "
                             f"categorical_crossentropy)")
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise ValueError(f"{where}: {name} contains NaN or Inf (first at index {first_bad(a)})")
        if a.dtype.kind == "f" and not np.all(a == np.round(a)):
            raise ValueError(f"{where}: {name} must hold integer class ids, found non-integers")
        lo, hi = a.min(), a.max()
        if lo < 0 or hi >= out_dim:
            bad = int(np.argmax((a < 0) | (a >= out_dim)))
            raise ValueError(f"{where}: {name}[{bad}] = {a[bad]} is not a class id in "
                             f"[0, {out_dim}) (the output layer has {out_dim} units)")
        return np.ascontiguousarray(a, dtype=dtype).reshape(n, 1)
    if a.ndim == 1:
        a = a.reshape(n, 1)
    if a.ndim != 2 or a.shape[1] != out_dim:
        raise ValueError(f"{where}: {name} has shape {a.shape}; the {loss.name} loss on a model "
                         f"with {out_dim} outputs needs shape ({n}, {out_dim})")
    a = np.ascontiguousarray(a, dtype=dtype)
    if not np.isfinite(a).all():
        raise ValueError(f"{where}: {name} contains NaN or Inf (first at index {first_bad(a)})")
    if loss.code in (losses.CCE, losses.BCE) and (a.min() < 0 or a.max() > 1):
        raise ValueError(f"{where}: {loss.name} targets must lie in [0, 1], found values in "
                         f"[{a.min()}, {a.max()}]")
    return a


def as_sample_weight(sample_weight, class_weight, y_ids, n, dtype, where, n_classes=None):
    """Per-sample weights combining sample_weight and class_weight (or None when neither), in
    `dtype`; class_weight's keys must be class ids in [0, n_classes)."""
    w = None
    if sample_weight is not None:
        w = np.asarray(sample_weight)
        if w.dtype == object or np.iscomplexobj(w) or not (np.issubdtype(w.dtype, np.number) or w.dtype == bool):
            raise TypeError(f"{where}: sample_weight must be real numbers, got dtype {w.dtype}")
        w = w.astype(np.float64)
        if w.shape != (n,):
            raise ValueError(f"{where}: sample_weight must have shape ({n},), got {w.shape}")
        if not np.isfinite(w).all() or (w < 0).any():
            raise ValueError(f"{where}: sample_weight must be finite and >= 0")
    if class_weight is not None:
        if not isinstance(class_weight, dict):
            raise TypeError(f"{where}: class_weight must be a dict {{class id: weight}}")
        if y_ids is None:
            raise ValueError(f"{where}: class_weight needs class-id or one-hot targets")
        if n_classes is None:
            n_classes = int(y_ids.max()) + 1
        table = np.ones(n_classes)
        for k, v in class_weight.items():
            if not (isinstance(k, (int, np.integer)) and not isinstance(k, bool)
                    and 0 <= k < n_classes):
                raise ValueError(f"{where}: class_weight key {k!r} is not a class id in "
                                 f"[0, {n_classes}) (the model's outputs have {n_classes} classes)")
            table[int(k)] = positive(f"{where}: class_weight[{k!r}]", v, allow_zero=True)
        cw = table[y_ids.astype(np.int64)]
        w = cw if w is None else w * cw
    if w is None:
        return None
    with np.errstate(over="ignore"):
        out = np.ascontiguousarray(w, dtype=dtype)
    if not np.isfinite(out).all():
        bad = first_bad(out)[0]
        raise ValueError(f"{where}: the weight of sample {bad} ({w[bad]:g}, sample_weight times "
                         f"class_weight) overflows {np.dtype(dtype).name}, whose largest value is "
                         f"{np.finfo(dtype).max:g}")
    return out


def class_ids(y, loss):
    """Class id per sample (for class_weight), or None for regression losses."""
    if loss.code == losses.SPARSE_CCE:
        return y[:, 0]
    if loss.code == losses.CCE:
        return np.argmax(y, axis=1)
    if loss.code == losses.BCE and y.shape[1] == 1:
        return (y[:, 0] > 0.5).astype(np.int64)
    return None


def check_batch_size(batch_size, where):
    return size(f"{where}: batch_size", batch_size)


def prepare(model, x, y, sample_weight, class_weight, where):
    """Converts and checks (x, y, sample_weight) once for the whole call."""
    X = as_features(flat_samples(model, x, where), model.dtype, model.input_dim, where)
    Y = as_targets(y, model.loss, model.output_dim, model.dtype, X.shape[0], where)
    ids = class_ids(Y, model.loss) if class_weight is not None else None
    n_classes = 2 if model.loss.code == losses.BCE else model.output_dim
    W = as_sample_weight(sample_weight, class_weight, ids, X.shape[0], model.dtype, where, n_classes)
    return X, Y, W
