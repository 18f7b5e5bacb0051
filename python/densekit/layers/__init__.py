"""Layers (Keras names): Input, Dense, Activation and one class per activation."""

from .base import Layer
from .core import (ELU, GELU, SELU, Activation, Dense, Input, LeakyReLU, PReLU, ReLU, RReLU,
                   Sigmoid, SiLU, Softmax, Softplus, Swish, Tanh)

__all__ = ["Layer", "Input", "Dense", "Activation", "ReLU", "LeakyReLU", "PReLU", "RReLU", "ELU",
           "SELU", "GELU", "Swish", "SiLU", "Softplus", "Softmax", "Sigmoid", "Tanh"]
