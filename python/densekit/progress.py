"""ProgressBar: the Keras-style console display of fit (verbose=1 bar with ETA and live
metrics; verbose=2 one line per epoch)."""

import sys
import time

from .callbacks import Callback


def _fmt_time(seconds):
    if seconds >= 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds >= 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{seconds:.0f}s" if seconds >= 1 else f"{seconds * 1000:.0f}ms"


def _fmt_logs(logs):
    return " - ".join(f"{k}: {v:.4f}" for k, v in logs.items() if isinstance(v, float))


class ProgressBar(Callback):
    """Draws per-epoch progress. Updated whenever the loop regains control (every ~0.1 s)."""

    def __init__(self, verbose=1, stream=None, width=30):
        super().__init__()
        self.verbose, self.stream, self.width = verbose, stream, width

    @property
    def _out(self):
        return self.stream or sys.stdout

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()
        self._last_len = 0
        self._epoch = epoch
        if self.verbose == 1:
            self._out.write(f"Epoch {epoch + 1}/{self.params.get('epochs', '?')}\n")

    @property
    def _live(self):
        """Redraw in place only on a terminal; logs and pipes get the final line per epoch."""
        isatty = getattr(self._out, "isatty", None)
        return bool(isatty and isatty())

    def _write_line(self, text, final):
        pad = max(0, getattr(self, "_last_len", 0) - len(text))
        self._last_len = 0 if final else len(text)
        self._out.write("\r" + text + " " * pad + ("\n" if final else ""))
        self._out.flush()

    def update(self, done, logs):
        """Called by the training loop after each run of batches."""
        if self.verbose != 1 or not self._live:
            return
        total = self.params.get("steps", 0) or 1
        elapsed = time.perf_counter() - self._start
        filled = int(self.width * done / total)
        bar = "━" * filled + ("╸" if filled < self.width else "") + " " * max(0, self.width - filled - 1)
        eta = elapsed / max(done, 1) * (total - done)
        tail = f"ETA: {_fmt_time(eta)}" if done < total else _fmt_time(elapsed)
        line = f"{done}/{total} {bar[:self.width]} {tail}"
        metrics = _fmt_logs(logs)
        if metrics:
            line += " - " + metrics
        self._write_line(line, final=False)

    def on_epoch_end(self, epoch, logs=None):
        elapsed = time.perf_counter() - self._start
        steps = self.params.get("steps", 0) or 1
        per_step = elapsed / steps
        timing = f"{_fmt_time(elapsed)} {per_step * 1e3:.0f}ms/step" if per_step >= 1e-3 else \
            f"{_fmt_time(elapsed)} {per_step * 1e6:.0f}us/step"
        if self.verbose == 1:
            self._write_line(f"{steps}/{steps} {'━' * self.width} {timing} - {_fmt_logs(logs or {})}",
                             final=True)
        elif self.verbose == 2:
            self._out.write(f"Epoch {epoch + 1}/{self.params.get('epochs', '?')} - {timing} - "
                            f"{_fmt_logs(logs or {})}\n")
        self._out.flush()
