"""Hyperparameter-search integrations, each an optional extra:

- `densekit.integrations.ray.TuneReportCallback` — reports each epoch's logs to Ray Tune, so
  schedulers such as ASHA stop bad trials early (pip install "densekit[ray]").
- `densekit.integrations.optuna.PruningCallback` — reports each epoch to an Optuna trial and
  raises `optuna.TrialPruned` when its pruner says so (pip install "densekit[optuna]").

Import the submodule you need; this package imports neither library by itself.
"""

import importlib

_SUBMODULES = ("ray", "optuna")


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = list(_SUBMODULES)
