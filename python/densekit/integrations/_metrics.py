"""Picking the values a search callback reports out of an epoch's logs (shared by the Ray and
Optuna callbacks). Must not import either library."""


def select(metrics, logs, where):
    """{reported name: float} from `logs` for `metrics`: None (every log), a name, a list of
    names, or a dict {reported name: log name}. A requested name missing from the logs raises
    KeyError naming what the logs do have (e.g. 'val_loss' without validation data)."""
    logs = logs or {}
    if metrics is None:
        pairs = {k: k for k in logs}
    elif isinstance(metrics, str):
        pairs = {metrics: metrics}
    elif isinstance(metrics, dict):
        pairs = dict(metrics)
    else:
        pairs = {m: m for m in metrics}
    out = {}
    for reported, key in pairs.items():
        if key not in logs:
            raise KeyError(f"{where}: the epoch logs have no {key!r} (they have {sorted(logs)}); "
                           f"'val_*' entries need validation_data or validation_split in fit")
        out[reported] = float(logs[key])
    return out


def check_metrics(metrics, where):
    ok = metrics is None or isinstance(metrics, str) or (
        isinstance(metrics, dict) and all(isinstance(k, str) and isinstance(v, str)
                                          for k, v in metrics.items())) or (
        isinstance(metrics, (list, tuple)) and all(isinstance(m, str) for m in metrics))
    if not ok:
        raise TypeError(f"{where}: metrics must be None, a log name, a list of names or a dict "
                        f"{{reported name: log name}}, got {metrics!r}")
    return metrics
