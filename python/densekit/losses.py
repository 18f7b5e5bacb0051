"""Losses (SPEC §3): names, their C++ codes, target formats and matching accuracy.

A loss is the mean over the batch of per-sample terms (averaged over output units for mse, mae,
huber and binary cross-entropy), weighted by sample_weight, plus the regularization penalties.
Computation is in cpp/include/densekit/losses.hpp; softmax/sigmoid outputs are fused with their
cross-entropy there.
"""

# Codes match densekit::LossKind; accuracy codes match densekit::AccuracyKind.
SPARSE_CCE, CCE, BCE, MSE, MAE, HUBER = range(6)
ACCURACY_FOR = {SPARSE_CCE: 1, CCE: 2, BCE: 3}


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
    code, name = SPARSE_CCE, "sparse_categorical_crossentropy"


class CategoricalCrossentropy(Loss):
    code, name = CCE, "categorical_crossentropy"


class BinaryCrossentropy(Loss):
    code, name = BCE, "binary_crossentropy"


class MeanSquaredError(Loss):
    code, name = MSE, "mse"

    def __init__(self):
        super().__init__(False)

    def get_config(self):
        return {}


class MeanAbsoluteError(MeanSquaredError):
    code, name = MAE, "mae"


class Huber(Loss):
    code, name = HUBER, "huber"

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
