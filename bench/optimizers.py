"""The chapter's optimizer comparison, measured: SGD, momentum, Nesterov, Adagrad, RMSprop, Adam,
Nadam and Adamax training the same MNIST net for the same number of epochs.

```
python bench/optimizers.py                       # 8 optimizers + 3 extra rates, seed 0, 10 epochs
python bench/optimizers.py --seeds 0,1 --epochs 10
python bench/optimizers.py --quick               # 5,000 training images, 3 epochs: a smoke run
python bench/optimizers.py --only adam,sgd --no-extra --out-dir /tmp/opt
```

Writes `bench/OPTIMIZERS.md` (the table, the chapter's ratings beside it, the notes),
`bench/plots/optimizers.png` (validation accuracy, training loss and validation loss per epoch) and
`bench/optimizers.json` (every curve); `--out-dir` writes them elsewhere.

The setup (every run identical but for the optimizer):
- Data: `densekit.datasets.mnist_for_experiments` (pixels / 255; train = the first 55,000
  training images, validation = the last 5,000, passed as validation data and evaluated after
  every epoch). The test set is not used: this compares training, not models.
- Net: 784-300(ReLU)-100(ReLU)-10(softmax), hidden kernels He-normal, output Glorot-uniform,
  zero biases (bench/accuracy.py's E1, the chapter's MNIST MLP); sparse categorical
  cross-entropy; batch 32; shuffled every epoch; `Sequential(seed=seed)` so every optimizer
  starts from the same weights and sees the same batch order.
- Learning rates: each optimizer's customary one (CONFIGS below), i.e. the Keras default the
  chapter uses: η = 0.01 for the SGD family (β = 0.9 for momentum and Nesterov), η = 1e-3 for
  every adaptive method, other hyperparameters at their defaults (Adagrad's initial
  accumulator 0.1, RMSprop ρ = 0.9, β1 = 0.9, β2 = 0.999, ε = 1e-7, Nadam ψ = 0.004).
  The "extra" rows rerun three of them at the other rate in common use (the chapter's notebook
  uses η = 1e-3 with momentum 0.9; PyTorch's Adagrad default is 1e-2; SGD at 0.1), so the
  ranking can be read with the learning-rate sensitivity in view.
- 2 threads (`densekit.set_num_threads(2)`); "time" is the wall time of `fit` (10 epochs
  including the per-epoch validation pass).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import resource
import sys
import time
from typing import Callable, Dict, List, Optional

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from machine import cpu_busy_seconds  # noqa: E402
THREADS = 2
TARGETS = (0.97, 0.98)          # validation accuracies whose first epoch is reported


@dataclasses.dataclass(frozen=True)
class Config:
    key: str
    label: str
    make: Callable               # () -> densekit optimizer
    hyper: str                   # the hyperparameters, as the table states them
    chapter_speed: str           # the chapter's table (Géron, ch. 11), "" for extra rows
    chapter_quality: str
    extra: bool = False


def _configs():
    import densekit as dk
    O = dk.optimizers
    main = [
        Config("sgd", "SGD", lambda: O.SGD(0.01), "η=0.01", "+", "+++"),
        Config("momentum", "SGD with momentum", lambda: O.SGD(0.01, momentum=0.9),
               "η=0.01, β=0.9", "++", "+++"),
        Config("nesterov", "SGD with momentum, Nesterov", lambda: O.SGD(0.01, momentum=0.9, nesterov=True),
               "η=0.01, β=0.9", "++", "+++"),
        Config("adagrad", "Adagrad", lambda: O.Adagrad(1e-3), "η=0.001", "+++", "+ (stops too early)"),
        Config("rmsprop", "RMSprop", lambda: O.RMSprop(1e-3), "η=0.001, ρ=0.9", "+++", "++ or +++"),
        Config("adam", "Adam", lambda: O.Adam(1e-3), "η=0.001", "+++", "++ or +++"),
        Config("nadam", "Nadam", lambda: O.Nadam(1e-3), "η=0.001", "+++", "++ or +++"),
        Config("adamax", "Adamax", lambda: O.Adamax(1e-3), "η=0.001", "+++", "++ or +++"),
    ]
    extra = [
        Config("sgd_0.1", "SGD", lambda: O.SGD(0.1), "η=0.1", "", "", True),
        Config("momentum_0.001", "SGD with momentum", lambda: O.SGD(1e-3, momentum=0.9),
               "η=0.001, β=0.9", "", "", True),
        Config("adagrad_0.01", "Adagrad", lambda: O.Adagrad(1e-2), "η=0.01", "", "", True),
    ]
    return main + extra


def load_data(quick: bool):
    from densekit import datasets
    (X, y), (Xv, yv), _ = datasets.mnist_for_experiments(datasets.find_shared_data("mnist"))
    if quick:
        X, y = X[:5000], y[:5000]
    return (X, y), (Xv, yv)


def build(seed: int, make_opt):
    import densekit as dk
    L = dk.layers
    model = dk.Sequential([L.Input(784),
                           L.Dense(300, activation="relu", kernel_initializer="he_normal"),
                           L.Dense(100, activation="relu", kernel_initializer="he_normal"),
                           L.Dense(10, activation="softmax", kernel_initializer="glorot_uniform")],
                          seed=seed)
    model.compile(optimizer=make_opt(), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _own_cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def run_one(cfg: Config, seed: int, epochs: int, data) -> dict:
    (X, y), (Xv, yv) = data
    model = build(seed, cfg.make)
    busy0, own0 = cpu_busy_seconds(), _own_cpu_seconds()
    t0 = time.perf_counter()
    h = model.fit(X, y, epochs=epochs, batch_size=32, verbose=0, validation_data=(Xv, yv),
                  shuffle=True)
    seconds = time.perf_counter() - t0
    busy1, own1 = cpu_busy_seconds(), _own_cpu_seconds()
    # CPUs other processes kept busy meanwhile: the times are only comparable when this is ~0.
    other = None if busy0 is None or busy1 is None else max(0.0, (busy1 - busy0) - (own1 - own0)) / seconds
    hist = h.history
    return {"key": cfg.key, "seed": seed, "seconds": seconds, "other_load_cpus": other,
            "val_accuracy": [float(v) for v in hist["val_accuracy"]],
            "val_loss": [float(v) for v in hist["val_loss"]],
            "loss": [float(v) for v in hist["loss"]],
            "accuracy": [float(v) for v in hist["accuracy"]]}


# ---------------------------------------------------------------------------------------------
# summary
# ---------------------------------------------------------------------------------------------

def first_epoch_at(curve: List[float], target: float) -> Optional[int]:
    """1-based epoch after which the validation accuracy first reached target, or None."""
    for i, v in enumerate(curve):
        if v >= target:
            return i + 1
    return None


def summarize(runs: List[dict]) -> dict:
    """Per configuration: each figure as (mean, min, max) over seeds."""
    def stat(values):
        vals = [v for v in values if v is not None]
        if not vals:
            return None
        return (float(np.mean(vals)), float(np.min(vals)), float(np.max(vals)), len(vals))

    out = {}
    for key in dict.fromkeys(r["key"] for r in runs):
        rs = [r for r in runs if r["key"] == key]
        va = [np.asarray(r["val_accuracy"]) for r in rs]
        s = {"seeds": [r["seed"] for r in rs],
             "val_acc_1": stat([100 * v[0] for v in va]),
             "best": stat([100 * v.max() for v in va]),
             "best_epoch": [int(v.argmax()) + 1 for v in va],
             "final": stat([100 * v[-1] for v in va]),
             "final_loss": stat([r["loss"][-1] for r in rs]),
             "final_val_loss": stat([r["val_loss"][-1] for r in rs]),
             "min_val_loss": stat([min(r["val_loss"]) for r in rs]),
             "late_gain": stat([100 * (v[-1] - v[len(v) // 2 - 1]) for v in va]),
             "seconds": stat([r["seconds"] for r in rs]),
             "other_load": stat([r["other_load_cpus"] for r in rs])}
        for t in TARGETS:
            hits = [first_epoch_at(r["val_accuracy"], t) for r in rs]
            s[f"epochs_{t}"] = {"values": hits, "stat": stat(hits)}
        out[key] = s
    return out


def fmt(st, digits=2, suffix=""):
    if st is None:
        return "—"
    mean, lo, hi, n = st
    if n == 1 or hi - lo < 0.5 * 10 ** -digits:
        return f"{mean:.{digits}f}{suffix}"
    return f"{mean:.{digits}f}{suffix} [{lo:.{digits}f}, {hi:.{digits}f}]"


def fmt_epochs(entry, epochs):
    vals = entry["values"]
    if all(v is None for v in vals):
        return f"not in {epochs}"
    txt = "/".join("—" if v is None else str(v) for v in vals)
    return txt


# ---------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------

def table(configs, summary, epochs, extra: bool) -> List[str]:
    head = ["Optimizer", "Hyperparameters", "Val acc after epoch 1 %",
            "Epochs to 97 %", "Epochs to 98 %", "Best val acc %", "Best at epoch", "Final val acc %",
            "Gain in the last half, points", "Final train loss", "Min val loss", "Time s",
            "Other load (CPUs)"]
    if not extra:
        head += ["Chapter: speed", "Chapter: quality"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join([":--"] * 2 + ["--:"] * (len(head) - 2)) + "|"]
    for cfg in configs:
        if cfg.extra != extra or cfg.key not in summary:
            continue
        s = summary[cfg.key]
        row = [cfg.label, cfg.hyper, fmt(s["val_acc_1"]),
               fmt_epochs(s["epochs_0.97"], epochs), fmt_epochs(s["epochs_0.98"], epochs),
               fmt(s["best"]), "/".join(map(str, s["best_epoch"])), fmt(s["final"]),
               fmt(s["late_gain"]), fmt(s["final_loss"], 4), fmt(s["min_val_loss"], 4), fmt(s["seconds"], 1),
               fmt(s["other_load"], 1)]
        if not extra:
            row += [cfg.chapter_speed, cfg.chapter_quality]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def curves_table(configs, runs, epochs) -> List[str]:
    seeds = sorted({r["seed"] for r in runs})
    head = ["Optimizer", "Hyperparameters"] + [str(e) for e in range(1, epochs + 1)]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join([":--"] * 2 + ["--:"] * epochs) + "|"]
    for cfg in configs:
        rs = [r for r in runs if r["key"] == cfg.key]
        if not rs:
            continue
        mean = np.mean([r["val_accuracy"] for r in rs], axis=0) * 100
        lines.append("| " + " | ".join([cfg.label, cfg.hyper] + [f"{v:.2f}" for v in mean]) + " |")
    note = "mean over seeds " + ", ".join(map(str, seeds)) if len(seeds) > 1 else f"seed {seeds[0]}"
    return [f"Validation accuracy % after each epoch ({note}):", ""] + lines


def plot(configs, runs, epochs, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(18, 6))
    styles = {"sgd": "C0", "momentum": "C1", "nesterov": "C2", "adagrad": "C3", "rmsprop": "C4",
              "adam": "C5", "nadam": "C6", "adamax": "C7"}
    ep = np.arange(1, epochs + 1)
    for cfg in configs:
        rs = [r for r in runs if r["key"] == cfg.key]
        if not rs:
            continue
        base = cfg.key.split("_")[0]
        kw = dict(color=styles.get(base, "k"), linestyle=":" if cfg.extra else "-",
                  marker="" if cfg.extra else "o", markersize=3,
                  label=f"{cfg.label} ({cfg.hyper})")
        va = np.mean([r["val_accuracy"] for r in rs], axis=0) * 100
        loss = np.mean([r["loss"] for r in rs], axis=0)
        val_loss = np.mean([r["val_loss"] for r in rs], axis=0)
        ax1.plot(ep, va, **kw)
        ax2.plot(ep, loss, **kw)
        ax3.plot(ep, val_loss, **kw)
    lowest = min(100 * min(r["val_accuracy"]) for r in runs)
    ax1.axhline(97, color="grey", linewidth=0.8, linestyle="--")
    ax1.set(xlabel="epoch", ylabel="validation accuracy %", title="MNIST 784-300-100-10, batch 32",
            ylim=(max(80.0, np.floor(lowest) - 0.5), 99), xticks=ep)
    ax2.set(xlabel="epoch", ylabel="training loss (epoch mean)", yscale="log",
            title="training loss", xticks=ep)
    ax3.set(xlabel="epoch", ylabel="validation loss", yscale="log", title="validation loss",
            xticks=ep)
    for ax in (ax1, ax2, ax3):
        ax.grid(alpha=0.3)
    handles, labels = ax1.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def machine() -> str:
    from machine import cpu_model  # bench/machine.py: bench/ is on sys.path for bench scripts
    cpu = cpu_model()
    import densekit as dk
    module = dk._core.__name__.rsplit(".", 1)[-1]
    return (f"{cpu}, {os.cpu_count()} logical CPUs, {THREADS} densekit threads, "
            f"core module {module}, densekit {dk.__version__}, Python {platform.python_version()}, "
            f"NumPy {np.__version__}")


NOTES_FILE = os.path.join(HERE, "optimizers_notes.md")


def command(args) -> str:
    """The command line that trains what the report shows (also when rewritten --from-json)."""
    parts = ["python bench/optimizers.py"]
    if args.seeds != "0":
        parts.append(f"--seeds {args.seeds}")
    if args.quick:
        parts.append("--quick")
    if args.epochs != (3 if args.quick else 10):
        parts.append(f"--epochs {args.epochs}")
    if args.only:
        parts.append(f"--only {args.only}")
    if args.no_extra:
        parts.append("--no-extra")
    return " ".join(parts)


def write_report(path, configs, runs, summary, args, plot_rel):
    epochs = args.epochs
    seeds = sorted({r["seed"] for r in runs})
    n_train = 5000 if args.quick else 55000
    lines = [
        "# Optimizer comparison on MNIST (the chapter's table, measured)",
        "",
        f"Written by `{command(args)}`.",
        f"Machine: {machine()}.",
        "",
        f"Same net (784-300-100-10, ReLU, He-normal hidden kernels, softmax output), same data "
        f"({n_train:,} training images, 5,000 validation images), batch 32, {epochs} epochs, "
        f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))} (the same initial "
        f"weights and batch order for every optimizer); only the optimizer changes. Each "
        f"optimizer uses its customary learning rate (the Keras default the chapter uses); the "
        f"setup is in the docstring of bench/optimizers.py.",
        "",
        "Columns: validation accuracy after the first epoch (early speed); the first epoch after "
        "which validation accuracy reached 97 % / 98 % (one value per seed, `—` = not reached "
        f"in {epochs} epochs); best validation accuracy and the epoch it occurred; validation "
        "accuracy after the last epoch, and how much it rose over the second half of the "
        "epochs (last epoch minus the middle one); training loss (mean over the last epoch's batches); the "
        "lowest validation loss; wall time of `fit`; how many CPUs other processes kept busy "
        "during the run (the machine is shared: times are comparable only where this is ~0; "
        "the accuracy figures do not depend on it — same seed, same result)."
        + (" With several seeds a figure is the mean, [min, max] in brackets; per-seed values are separated by /." if len(seeds) > 1 else ""),
        "",
    ]
    lines += table(configs, summary, epochs, extra=False)
    if any(c.extra for c in configs if c.key in summary):
        lines += ["", "The same three optimizers at the other learning rate in common use:", ""]
        lines += table(configs, summary, epochs, extra=True)
    lines += ["", f"![validation accuracy, training loss and validation loss per epoch (mean over "
              f"seeds)]({plot_rel})", ""]
    lines += curves_table(configs, runs, epochs)
    if os.path.exists(NOTES_FILE) and not args.quick:
        with open(NOTES_FILE) as f:
            lines += ["", f.read().rstrip()]
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


# ---------------------------------------------------------------------------------------------

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seeds", default="0", help="comma-separated model seeds")
    p.add_argument("--only", default="", help="comma-separated configuration keys")
    p.add_argument("--no-extra", action="store_true", help="skip the extra learning-rate rows")
    p.add_argument("--quick", action="store_true", help="5,000 training images, 3 epochs")
    p.add_argument("--out-dir", default=HERE)
    p.add_argument("--from-json", default="", help="rewrite the report and plot from a previous "
                   "run's optimizers.json instead of training")
    args = p.parse_args(argv)
    if args.quick and args.epochs == 10:
        args.epochs = 3
    sys.path.insert(0, os.path.join(REPO, "python"))
    import densekit as dk
    dk.set_num_threads(THREADS)

    configs = _configs()
    if args.only:
        keep = set(args.only.split(","))
        unknown = keep - {c.key for c in configs}
        if unknown:
            p.error(f"unknown configurations {sorted(unknown)}; known: {[c.key for c in configs]}")
        configs = [c for c in configs if c.key in keep]
    if args.no_extra:
        configs = [c for c in configs if not c.extra]
    seeds = [int(s) for s in args.seeds.split(",")]

    runs = []
    if args.from_json:
        with open(args.from_json) as f:
            saved = json.load(f)
        runs = saved["runs"]
        for k in ("epochs", "quick", "seeds", "only", "no_extra"):
            setattr(args, k, saved["args"][k])
        configs = [c for c in configs if any(r["key"] == c.key for r in runs)]
    data = None if args.from_json else load_data(args.quick)
    for cfg in ([] if args.from_json else configs):
        run_seeds = seeds if not cfg.extra else seeds[:1]
        for seed in run_seeds:
            r = run_one(cfg, seed, args.epochs, data)
            runs.append(r)
            hit = first_epoch_at(r["val_accuracy"], 0.97)
            print(f"{cfg.key:16s} seed {seed}: best val acc {100 * max(r['val_accuracy']):.2f} %, "
                  f"97 % at epoch {hit}, final loss {r['loss'][-1]:.4f}, {r['seconds']:.1f} s",
                  flush=True)

    summary = summarize(runs)
    out = args.out_dir
    os.makedirs(out, exist_ok=True)
    plot_path = os.path.join(out, "plots", "optimizers.png")
    plot(configs, runs, args.epochs, plot_path)
    if not args.from_json:
        with open(os.path.join(out, "optimizers.json"), "w") as f:
            json.dump({"args": vars(args), "runs": runs, "summary": summary}, f, indent=1)
    write_report(os.path.join(out, "OPTIMIZERS.md"), configs, runs, summary, args,
                 os.path.relpath(plot_path, out))
    print(f"wrote {os.path.join(out, 'OPTIMIZERS.md')} and {plot_path}")


if __name__ == "__main__":
    main()
