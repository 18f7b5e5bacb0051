"""Pickling Sequential models (pickle, joblib, copy.deepcopy), for scikit-learn and friends.

What this file is for: the state `Sequential.__getstate__` hands to pickle and the model
`Sequential.__setstate__` rebuilds from it. A built model travels as the bytes of its model file
(`saving.serialize_model`: architecture, weights, BN statistics, optimizer slots and counters,
the training step that keys dropout masks, the shuffling RNG), so an unpickled model predicts bit
for bit like the original and training it continues exactly as the original's would. An unbuilt
model travels as its configuration (layer classes and configs, seed, dtype, name, input width)
plus its compile settings, and is rebuilt from them.

Beyond the file: the History of the last fit, `stop_training`/`diverged`, a preset's
`default_callbacks` and the MC-dropout call counter ride along as ordinary pickled values.

Sharing: layers shared *between* models (Sequential(base.layers + [...])) are not kept shared,
even when the models are pickled together: each model comes back with its own copy of them, equal
in value — exactly as if each model had been saved to its own file. Not silently: each layer
travels with an identity token that pickle (and deepcopy) restore once per pickled graph, so
unpickling sees which layers two models shared and warns that they are now separate copies.
(Keeping them shared would mean relinking a restored network onto another model's layers, which
the model-file contract does not offer.) A model never holds one layer twice. This file must not reach into
another module's private state; it reads and writes the model only through public attributes and
the model-file contract.
"""

import warnings
import weakref

from . import saving

_FORMAT = 1  # of this pickled state, independent of the model-file version inside it
# Python-side attributes that are not part of the model file but belong to the model's state.
_EXTRAS = ("history", "stop_training", "diverged", "default_callbacks")


class _LayerIdentity:
    """Stands for one layer object in a pickle. The same instance goes with every model holding
    the layer, so pickle's memo restores one instance for all of them: the first model restored
    claims it, a second one finds it claimed."""

    def __init__(self):
        self.claimed_by = None

    def __reduce__(self):
        return (_LayerIdentity, ())


_IDENTITIES = weakref.WeakKeyDictionary()  # layer -> its _LayerIdentity (lives as the layer does)


def _identity(layer):
    token = _IDENTITIES.get(layer)
    if token is None:
        token = _IDENTITIES[layer] = _LayerIdentity()
    return token


def _claim_layers(tokens, name):
    shared = []
    for token in tokens:
        if token.claimed_by is None:
            token.claimed_by = name
        else:
            shared.append(token.claimed_by)
    if shared:
        warnings.warn(f"unpickling model {name!r}: {len(shared)} of its layers were shared with "
                      f"model {shared[0]!r} pickled alongside it; each model now has its own copy "
                      f"(equal values, trained separately from here on)", UserWarning, stacklevel=4)


def model_state(model, mc_calls=0):
    """The picklable state of a Sequential: a dict of plain values (bytes, dicts, lists)."""
    state = {"densekit_pickle": _FORMAT, "mc_calls": int(mc_calls),
             "layer_identities": [_identity(layer) for layer in model.layers]}
    state["extras"] = {k: getattr(model, k) for k in _EXTRAS if hasattr(model, k)}
    if model.built:
        state["model_file"] = saving.serialize_model(model, include_optimizer=True)
        return state
    cfg = model.get_config()
    # Layer classes travel by reference (pickle stores the importable name), so user-defined
    # layer classes come back as themselves.
    state["unbuilt"] = {"name": cfg["name"], "seed": cfg["seed"], "dtype": cfg["dtype"],
                        "input_dim": cfg["input_dim"],
                        "layers": [(type(layer), layer.get_config()) for layer in model.layers]}
    if model.optimizer is not None:
        # Unbuilt means never bound to a network: the optimizer and loss are plain values.
        state["compile"] = {"optimizer": model.optimizer, "loss": model.loss,
                            "metrics": list(model.metrics_names[1:])}
    return state


def model_from_state(cls, state):
    """A new model of class `cls` holding `state` (from model_state); its __dict__ is what
    Sequential.__setstate__ adopts."""
    if not (isinstance(state, dict) and state.get("densekit_pickle") == _FORMAT):
        raise ValueError("cannot unpickle this densekit model: the pickled state is not one this "
                         "version of densekit wrote")
    if "model_file" in state:
        model = saving.deserialize_model(state["model_file"], source="<pickled model>")
    else:
        u = state["unbuilt"]
        layers = [klass.from_config(dict(config)) for klass, config in u["layers"]]
        model = cls(layers, seed=u["seed"], dtype=u["dtype"], name=u["name"])
        comp = state.get("compile")
        if comp is not None:
            model.compile(optimizer=comp["optimizer"], loss=comp["loss"], metrics=comp["metrics"])
        # Set last: a known width before compile would build the model, and it was not built.
        model.input_dim = u["input_dim"]
    for key, value in state["extras"].items():
        setattr(model, key, value)
    _claim_layers(state["layer_identities"], model.name)
    return model
