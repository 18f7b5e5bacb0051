"""Layers (Keras names): Input, Dense, Flatten, Activation (one class per activation),
BatchNormalization, Normalization, Dropout, AlphaDropout; QuantizedDense, the inference-only Dense of quantized models."""

from .base import Layer
from .core import (ELU, GELU, SELU, Activation, Dense, Exponential, Flatten, HardSigmoid, Input,
                   LeakyReLU, Mish, PReLU, ReLU, ReLU6, RReLU, Sigmoid, SiLU, Softmax, Softplus,
                   Softsign, Swish, Tanh)
from .dropout import AlphaDropout, Dropout
from .normalization import BatchNormalization, Normalization
from .quantized import QuantizedDense

InputLayer = Input  # Keras's name for what Input creates

__all__ = ["BatchNormalization", "Normalization", "Dropout", "AlphaDropout", "Layer", "Input",
           "InputLayer", "Dense", "Flatten", "Activation", "ReLU", "LeakyReLU", "PReLU", "RReLU",
           "ELU", "SELU", "GELU", "Swish", "SiLU", "Softplus", "Softmax", "Sigmoid", "Tanh", "Mish",
           "HardSigmoid", "Softsign", "Exponential", "ReLU6", "QuantizedDense"]


# Keras layers densekit does not have (it trains dense networks on flat feature vectors).
_DENSE_ONLY = ("densekit trains dense (fully-connected) networks on flat feature vectors: "
               "Flatten images first and use Dense layers")
_KERAS_ONLY = {
    "Reshape": _DENSE_ONLY, "Conv1D": _DENSE_ONLY, "Conv2D": _DENSE_ONLY, "Conv3D": _DENSE_ONLY,
    "MaxPooling2D": _DENSE_ONLY, "AveragePooling2D": _DENSE_ONLY, "LSTM": _DENSE_ONLY,
    "GRU": _DENSE_ONLY, "SimpleRNN": _DENSE_ONLY, "Embedding": _DENSE_ONLY,
    "LayerNormalization": "densekit normalizes with BatchNormalization or a Normalization layer",
    "GaussianNoise": "densekit's regularization layers are Dropout and AlphaDropout",
    "GaussianDropout": "densekit's regularization layers are Dropout and AlphaDropout",
    "Lambda": "densekit layers run in C++, so a Python function cannot be a layer; compose "
              "dk.layers",
    "ThresholdedReLU": "use ReLU, LeakyReLU or ReLU(max_value=6.0)",
}


def __getattr__(name):
    if name in _KERAS_ONLY:
        raise AttributeError(f"densekit.layers has no {name}: {_KERAS_ONLY[name]}")
    raise AttributeError(f"module 'densekit.layers' has no attribute {name!r}")
