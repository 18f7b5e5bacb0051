"""clone_model: a new model with the same architecture and its own, freshly initialized weights.

As in Keras, cloning copies the configuration, not the weights: `clone.set_weights(
model.get_weights())` copies those. The clone shares nothing with the original (its layers own
new C++ parameters), so training one never changes the other — unlike building a model from
`base.layers`, which shares the layer objects (see SPEC §3, "Transfer learning").
"""

import numpy as np

from .layers.base import Layer
from .layers.core import Input
from .models import Sequential


def clone_layer(layer):
    """A new, unbuilt layer with `layer`'s configuration (same name, same trainable flag)."""
    return type(layer).from_config(layer.get_config())


def clone_model(model, clone_function=None, seed=None):
    """Returns an uncompiled copy of a Sequential with new layers and fresh weights.

    clone_function(layer) -> new layer replaces the default (`from_config(get_config())`), as in
    Keras (return the layer itself to share it). seed: the clone's seed; None draws a new one
    (so the fresh weights differ from the original's initial weights, as Keras's would); pass
    model.seed to reproduce the original's initial weights. A layer used at several positions is
    cloned once and reused at each, keeping the structure.
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"clone_model: expected a dk.Sequential, got {type(model).__name__}")
    fn = clone_function or clone_layer
    clones = {}
    layers = []
    for layer in model.layers:
        if id(layer) not in clones:
            new = fn(layer)
            if not isinstance(new, Layer):
                raise TypeError(f"clone_model: clone_function returned {type(new).__name__}, "
                                f"not a densekit layer")
            clones[id(layer)] = new
        layers.append(clones[id(layer)])
    head = [Input(model.input_dim)] if model.input_dim is not None else []
    return Sequential(head + layers, seed=seed, dtype=np.dtype(model.dtype).name, name=model.name)
