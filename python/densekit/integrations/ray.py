"""Ray Tune reporting for densekit training: `TuneReportCallback(metrics)`.

What this file is for: after every epoch, the chosen entries of the epoch's logs (loss, metrics,
val_*) go to Ray Tune in one report, so Tune's schedulers (ASHA, HyperBand, PBT) see the
learning curve and stop bad trials early — Tune ends a stopped trial at its next report. Use it
inside a Tune function trainable; give each trial one CPU (`tune.with_resources(fn, {"cpu": 1})`)
and densekit then runs one thread per trial (Ray sets OMP_NUM_THREADS for its workers, which
densekit honours; `dk.set_num_threads(1)` in the trainable makes it explicit).
Needs the `ray` extra (Ray Tune); nothing else in densekit imports this module.
"""

from ..callbacks import Callback
from ._metrics import check_metrics, select


def _reporter():
    """The installed Ray's per-iteration report function: ray.tune.report (Ray >= 2.7 Tune
    function API), else ray.train.report (Ray 2.x before that), else ray.air.session.report."""
    try:
        from ray import tune
        if hasattr(tune, "report"):
            return tune.report
    except ImportError as e:
        raise ImportError("TuneReportCallback needs Ray Tune: pip install 'densekit[ray]'") from e
    try:
        from ray import train
        return train.report
    except ImportError:
        from ray.air import session
        return session.report


class TuneReportCallback(Callback):
    """Reports epoch logs to Ray Tune.

    metrics: None (every entry of the logs), a log name, a list of names, or a dict
    {name reported to Tune: log name}, e.g. {"loss": "val_loss", "acc": "val_accuracy"}.
    The epoch number (from 1) is reported too, as "epoch".
    """

    def __init__(self, metrics=None):
        super().__init__()
        self.metrics = check_metrics(metrics, "TuneReportCallback")
        self._report = _reporter()

    def on_epoch_end(self, epoch, logs=None):
        report = select(self.metrics, logs, "TuneReportCallback")
        report["epoch"] = epoch + 1
        self._report(report)
