"""clone_model and clone_layer (their home is densekit.models, as keras.models.clone_model's;
this module keeps the older import path)."""

from .models import clone_layer, clone_model

__all__ = ["clone_layer", "clone_model"]
