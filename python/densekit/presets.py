"""Presets: the chapter's default-configuration table as two model factories (SPEC §3 "Presets").

| hyperparameter    | default_dnn                          | self_normalizing                  |
|-------------------|--------------------------------------|-----------------------------------|
| initializer       | He (he_normal)                       | LeCun (lecun_normal)              |
| activation        | ELU                                  | SELU                              |
| normalization     | none if shallow, BatchNorm if deep   | none (self-normalization)         |
| regularization    | early stopping (+ l2)                | AlphaDropout if dropout > 0       |
| optimizer         | Nadam (or SGD with Nesterov momentum)| Nadam (or SGD with Nesterov mom.) |
| schedule          | 1-cycle                              | 1-cycle                           |
| inputs            | standardized (Normalization.adapt)   | standardized (Normalization.adapt)|

API: each factory returns a compiled `Sequential` whose `default_callbacks` attribute holds
`[EarlyStopping(patience, restore_best_weights=True), OneCycle(max_lr)]`. `model.fit(...)` uses
them when no `callbacks=` is given (so `model.fit(X, y, validation_data=(Xv, yv), epochs=30)` is
the whole recipe); `callbacks=[...]` replaces them and `callbacks=[]` turns them off. OneCycle
takes its length from each fit (epochs × steps). EarlyStopping monitors val_loss, so give fit
validation data.

BatchNormalization, AlphaDropout and Normalization are the layers of `dk.layers`; a preset that
needs one raises a clear error if the installed densekit lacks it.
"""

import numbers

from . import callbacks as _callbacks
from . import layers as _layers
from . import optimizers as _optimizers
from . import regularizers as _regularizers
from .learning_rate_schedule import OneCycle
from .models import Sequential

# max_lr of the 1-cycle per optimizer (what lr_finder typically suggests on standardized data).
_MAX_LR = {"nadam": 3e-3, "sgd": 3e-2}


def _layer(name, where):
    cls = getattr(_layers, name, None)
    if cls is None:
        raise NotImplementedError(f"{where} needs dk.layers.{name}, which this densekit build lacks")
    return cls


def _check_hidden(hidden, where):
    hidden = tuple(hidden)
    if not hidden or not all(isinstance(h, numbers.Integral) and h > 0 for h in hidden):
        raise ValueError(f"{where}: hidden must be a non-empty sequence of positive ints, got {hidden!r}")
    return hidden


def _output(task, output_dim, where):
    """(activation, loss, metrics) for the task."""
    if not (isinstance(output_dim, numbers.Integral) and output_dim > 0):
        raise ValueError(f"{where}: output_dim must be a positive int, got {output_dim!r}")
    if task == "classification":
        if output_dim == 1:
            return "sigmoid", "binary_crossentropy", ["accuracy"]
        return "softmax", "sparse_categorical_crossentropy", ["accuracy"]
    if task == "regression":
        return None, "mse", ["mae"]
    raise ValueError(f"{where}: task must be 'classification' or 'regression', got {task!r}")


def _optimizer(optimizer, where):
    if optimizer == "nadam":
        return _optimizers.Nadam(learning_rate=_MAX_LR["nadam"] / 10)
    if optimizer == "sgd":
        return _optimizers.SGD(learning_rate=_MAX_LR["sgd"] / 10, momentum=0.9, nesterov=True)
    if isinstance(optimizer, _optimizers.Optimizer):
        return optimizer
    raise ValueError(f"{where}: optimizer must be 'nadam', 'sgd' or a dk.optimizers.Optimizer, "
                     f"got {optimizer!r}")


def _max_lr(max_lr, optimizer):
    if max_lr is not None:
        return max_lr
    kind = getattr(optimizer, "kind", optimizer)
    return _MAX_LR.get(kind, 10 * float(getattr(optimizer, "learning_rate", 1e-3)))


def _finish(model, norm, x, optimizer, loss, metrics, patience, max_lr, one_cycle):
    if norm is not None:
        norm.adapt(x)
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
    cbs = [_callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                    restore_best_weights=True)]
    if one_cycle:
        cbs.append(OneCycle(max_lr=_max_lr(max_lr, optimizer)))
    model.default_callbacks = cbs
    return model


def default_dnn(input_dim, output_dim, hidden=(300, 100), task="classification", x=None,
                deep_threshold=5, l2=1e-4, optimizer="nadam", max_lr=None, patience=10,
                one_cycle=True, seed=None, dtype="float32"):
    """The chapter's default deep network: He-initialized ELU layers, BatchNormalization after
    every hidden Dense when there are `deep_threshold` hidden layers or more (Dense without bias
    → BN → ELU), l2(`l2`) on the kernels, Nadam (or `optimizer="sgd"`: SGD with Nesterov momentum
    0.9), and `default_callbacks` = early stopping (restoring the best weights) + 1-cycle
    (max_lr: 3e-3 for Nadam, 3e-2 for SGD unless given).

    `x`: training inputs to standardize with an adapted `Normalization` layer first (omit it when
    the inputs are already standardized). `task`: "classification" (softmax + sparse categorical
    cross-entropy, or sigmoid + binary cross-entropy when output_dim == 1, metric accuracy) or
    "regression" (linear + mse, metric mae). Returns the compiled Sequential.
    """
    where = "default_dnn"
    hidden = _check_hidden(hidden, where)
    out_act, loss, metrics = _output(task, output_dim, where)
    deep = len(hidden) >= deep_threshold
    reg = _regularizers.l2(l2) if l2 else None
    layers = [_layers.Input(input_dim)]
    norm = None
    if x is not None:
        norm = _layer("Normalization", where)()
        layers.append(norm)
    BN = _layer("BatchNormalization", where) if deep else None
    for units in hidden:
        if deep:
            layers += [_layers.Dense(units, use_bias=False, kernel_initializer="he_normal",
                                     kernel_regularizer=reg),
                       BN(), _layers.Activation("elu")]
        else:
            layers.append(_layers.Dense(units, activation="elu", kernel_initializer="he_normal",
                                        kernel_regularizer=reg))
    layers.append(_layers.Dense(output_dim, activation=out_act, kernel_initializer="glorot_uniform",
                                kernel_regularizer=reg))
    model = Sequential(layers, seed=seed, dtype=dtype, name="default_dnn")
    opt = _optimizer(optimizer, where)
    return _finish(model, norm, x, opt, loss, metrics, patience, max_lr, one_cycle)


def self_normalizing(input_dim, output_dim, hidden=(100,) * 8, task="classification", x=None,
                     dropout=0.0, dropout_layers=1, optimizer="nadam", max_lr=None, patience=10,
                     one_cycle=True, seed=None, dtype="float32"):
    """The chapter's self-normalizing network: LeCun-normal SELU Dense layers, no BN, inputs
    standardized by a `Normalization` layer adapted on `x` (SELU's self-normalization assumes
    mean-0/variance-1 inputs: pass x, or standardize beforehand), `AlphaDropout(dropout)` after
    each of the top `dropout_layers` hidden layers when dropout > 0, Nadam (or SGD with Nesterov
    momentum), and `default_callbacks` = early stopping + 1-cycle. Returns the compiled
    Sequential (see default_dnn for task/output conventions).
    """
    where = "self_normalizing"
    hidden = _check_hidden(hidden, where)
    out_act, loss, metrics = _output(task, output_dim, where)
    if not (isinstance(dropout, (int, float)) and 0 <= dropout < 1):
        raise ValueError(f"{where}: dropout must be in [0, 1), got {dropout!r}")
    layers = [_layers.Input(input_dim)]
    norm = None
    if x is not None:
        norm = _layer("Normalization", where)()
        layers.append(norm)
    AD = _layer("AlphaDropout", where) if dropout > 0 else None
    first_dropped = len(hidden) - max(0, int(dropout_layers))
    for i, units in enumerate(hidden):
        layers.append(_layers.Dense(units, activation="selu", kernel_initializer="lecun_normal"))
        if AD is not None and i >= first_dropped:
            layers.append(AD(dropout))
    layers.append(_layers.Dense(output_dim, activation=out_act, kernel_initializer="lecun_normal"))
    model = Sequential(layers, seed=seed, dtype=dtype, name="self_normalizing")
    opt = _optimizer(optimizer, where)
    return _finish(model, norm, x, opt, loss, metrics, patience, max_lr, one_cycle)
