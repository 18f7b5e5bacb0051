"""Optuna pruning for densekit training: `PruningCallback(trial, monitor="val_loss")`.

What this file is for: after every epoch (or every `interval` epochs) the monitored value goes to
`trial.report(value, step=epoch)`; when `trial.should_prune()` says so, training stops by raising
`optuna.TrialPruned`, which Optuna's `study.optimize` records as a pruned trial. The study's
direction must match the metric (minimize a loss, maximize an accuracy). Needs the `optuna`
extra; nothing else in densekit imports this module.
"""

import optuna

from ..callbacks import Callback
from ._metrics import select


class PruningCallback(Callback):
    """Reports `monitor` to an Optuna trial each epoch and prunes unpromising trials.

        def objective(trial):
            model = build(trial.suggest_float("lr", 1e-4, 1e-1, log=True))
            model.fit(X, y, epochs=20, validation_data=(Xv, yv), verbose=0,
                      callbacks=[dk.integrations.optuna.PruningCallback(trial, "val_loss")])
            return model.evaluate(Xv, yv)
    """

    def __init__(self, trial, monitor="val_loss", interval=1):
        super().__init__()
        if not (isinstance(interval, int) and interval >= 1):
            raise ValueError(f"PruningCallback: interval must be an int >= 1, got {interval!r}")
        if not isinstance(monitor, str):
            raise TypeError(f"PruningCallback: monitor must be a log name, got {monitor!r}")
        self.trial = trial
        self.monitor = monitor
        self.interval = interval

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.interval:
            return
        value = select(self.monitor, logs, "PruningCallback")[self.monitor]
        self.trial.report(value, step=epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"trial pruned at epoch {epoch + 1} "
                                     f"({self.monitor} = {value:.6g})")
