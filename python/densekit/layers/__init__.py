"""Layers (Keras names): Input, Dense, Activation (one class per activation), BatchNormalization,
Normalization, Dropout, AlphaDropout; QuantizedDense, the inference-only Dense of quantized
models."""

from .base import Layer
from .core import (ELU, GELU, SELU, Activation, Dense, Input, LeakyReLU, PReLU, ReLU, RReLU,
                   Sigmoid, SiLU, Softmax, Softplus, Swish, Tanh)
from .dropout import AlphaDropout, Dropout
from .normalization import BatchNormalization, Normalization
from .quantized import QuantizedDense

__all__ = ["BatchNormalization", "Normalization", "Dropout", "AlphaDropout", "Layer", "Input", "Dense", "Activation", "ReLU", "LeakyReLU", "PReLU", "RReLU", "ELU",
           "SELU", "GELU", "Swish", "SiLU", "Softplus", "Softmax", "Sigmoid", "Tanh", "QuantizedDense"]
