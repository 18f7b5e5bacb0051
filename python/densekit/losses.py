"""Losses (SPEC §3): names, their C++ codes, target formats and matching accuracy.

A loss is the mean over the batch of per-sample terms (averaged over output units for mse, mae,
huber and binary cross-entropy), weighted by sample_weight, plus the regularization penalties.
Computation is in cpp/include/densekit/kernels/losses.hpp; softmax/sigmoid outputs are fused with
their cross-entropy there.
"""

from . import _native

# The core's kinds (densekit._core.LossKind / AccuracyKind), named once in C++.
_LOSS, _ACCURACY = _native.core.LossKind, _native.core.AccuracyKind
SPARSE_CCE, CCE, BCE = (_LOSS.sparse_categorical_crossentropy, _LOSS.categorical_crossentropy,
                        _LOSS.binary_crossentropy)
MSE, MAE, HUBER = _LOSS.mse, _LOSS.mae, _LOSS.huber
ACCURACY_FOR = {SPARSE_CCE: _ACCURACY.sparse_categorical, CCE: _ACCURACY.categorical,
                BCE: _ACCURACY.binary}
NO_ACCURACY = _ACCURACY.none


class Loss:
    code = None
    name = None

    def __init__(self, from_logits=False):
        self.from_logits = bool(from_logits)

    delta = 1.0

    def get_config(self):
        return {"from_logits": self.from_logits}

    def __repr__(self):
        return f"{type(self).__name__}({self.get_config()})"


class SparseCategoricalCrossentropy(Loss):
    code, name = SPARSE_CCE, SPARSE_CCE.name


class CategoricalCrossentropy(Loss):
    code, name = CCE, CCE.name


class BinaryCrossentropy(Loss):
    code, name = BCE, BCE.name


class MeanSquaredError(Loss):
    code, name = MSE, MSE.name

    def __init__(self):
        super().__init__(False)

    def get_config(self):
        return {}


class MeanAbsoluteError(MeanSquaredError):
    code, name = MAE, MAE.name


class Huber(Loss):
    code, name = HUBER, HUBER.name

    def __init__(self, delta=1.0):
        super().__init__(False)
        if not delta > 0:
            raise ValueError(f"Huber: delta must be positive, got {delta!r}")
        self.delta = float(delta)

    def get_config(self):
        return {"delta": self.delta}


_BY_NAME = {
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "huber": Huber, "huber_loss": Huber,
}


def get(identifier):
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    raise ValueError(f"unknown loss {identifier!r}; expected one of {sorted(_BY_NAME)} "
                     f"or a dk.losses.Loss instance")


def serialize(loss):
    return {"class_name": loss.name, "config": loss.get_config()}


def deserialize(config):
    return _BY_NAME[config["class_name"]](**config.get("config", {}))
