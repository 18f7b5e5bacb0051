"""Layers (Keras names): Input, Dense, Flatten, Activation (one class per activation),
BatchNormalization, Normalization, Dropout, AlphaDropout."""

from .base import Layer
from .core import (ELU, GELU, SELU, Activation, Dense, Exponential, Flatten, HardSigmoid, Input,
                   LeakyReLU, Mish, PReLU, ReLU, ReLU6, RReLU, Sigmoid, SiLU, Softmax, Softplus,
                   Softsign, Swish, Tanh)
from .dropout import AlphaDropout, Dropout
from .normalization import BatchNormalization, Normalization

InputLayer = Input  # Keras's name for what Input creates

__all__ = ["BatchNormalization", "Normalization", "Dropout", "AlphaDropout", "Layer", "Input",
           "InputLayer", "Dense", "Flatten", "Activation", "ReLU", "LeakyReLU", "PReLU", "RReLU",
           "ELU", "SELU", "GELU", "Swish", "SiLU", "Softplus", "Softmax", "Sigmoid", "Tanh", "Mish",
           "HardSigmoid", "Softsign", "Exponential", "ReLU6"]
