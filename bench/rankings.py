"""Two of chapter 11's rankings, re-measured with densekit on MNIST.

```
python bench/rankings.py                                   # both experiments (~3-5 min, 2 threads)
python bench/rankings.py --experiments schedules --seeds 0
python bench/rankings.py --quick                           # 12,000 training images, fewer epochs
```

Writes bench/RANKINGS.md (tables, method, findings) and bench/plots/*.png (matplotlib; the
tables are written without it). Data: `densekit.datasets.mnist_for_experiments` (55,000 train /
5,000 validation / 10,000 test, pixels / 255).

1. Learning-rate schedules — the chapter: "1cycle > exponential > performance" (and all beat a
   constant rate). 784-300-100-10, ReLU hidden layers (He normal), softmax output, SGD with
   momentum 0.9, batch 32, the same number of epochs (steps) for every schedule. A reference rate
   η* comes from `dk.lr_finder` on the untrained model (its suggestion: the rate at the smoothed
   loss minimum / 10, as the chapter advises); each schedule is run at η* and at 3η*:
     constant      η
     exponential   η·0.1^(t/s), s = half the run in steps (ends at η/100), per step
     performance   ReduceLROnPlateau(val_loss, factor 0.5, patience 1) from η
     1cycle        OneCycle(max_lr=η): η/10 → η → η/10, last 10% down to η/10⁴; momentum
                   0.95 → 0.85 → 0.95 (the others keep 0.9)
2. Activations — the chapter: "SELU > ELU > leaky ReLU > ReLU > tanh > logistic". A deep net:
   20 hidden layers of 100 units, each activation with its chapter-recommended initializer
   (SELU: LeCun normal; ELU, leaky ReLU (α=0.01), ReLU: He normal; tanh, logistic: Glorot
   uniform), inputs standardized per pixel (σ floored at 0.1, so constant border pixels stay 0),
   no BN, SGD momentum 0.9, batch 32. Each activation gets the best rate of {1e-3, 3e-3, 1e-2}
   by validation accuracy (seed 0), then more seeds at that rate.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))

import densekit as dk  # noqa: E402
from densekit.layers import Dense, Input  # noqa: E402

DATA = None  # dk.datasets.find_shared_data("mnist"): $DENSEKIT_DATA, or shared/data/ upward


def load(quick):
    (X, y), (Xv, yv), (Xt, yt) = dk.datasets.mnist_for_experiments(DATA)
    if quick:
        X, y = X[:12000], y[:12000]
    return (X, y), (Xv, yv), (Xt, yt)


def accuracy(model, X, y):
    return float(np.mean(np.argmax(model.predict(X), axis=1) == y))


# ----------------------------------------------------------------------------------------------
# 1. schedules
# ----------------------------------------------------------------------------------------------
def schedule_model(seed):
    m = dk.Sequential([Input(784), Dense(300, activation="relu", kernel_initializer="he_normal"),
                       Dense(100, activation="relu", kernel_initializer="he_normal"),
                       Dense(10, activation="softmax")], seed=seed)
    m.compile(optimizer=dk.optimizers.SGD(0.01, momentum=0.9),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def schedule_callbacks(name, lr, total_steps):
    if name == "constant":
        return []
    if name == "exponential":
        return [dk.schedules.ExponentialDecay(lr, total_steps / 2)]
    if name == "performance":
        return [dk.callbacks.ReduceLROnPlateau(factor=0.5, patience=1)]
    if name == "1cycle":
        return [dk.schedules.OneCycle(max_lr=lr)]
    raise ValueError(name)


SCHEDULES = ["constant", "exponential", "performance", "1cycle"]


def run_schedules(data, seeds, epochs, log):
    (X, y), (Xv, yv), (Xt, yt) = data
    finder_model = schedule_model(0)
    lrs, losses, eta = dk.lr_finder(finder_model, X, y, min_lr=1e-5, max_lr=10, steps=300,
                                    batch_size=32)
    log(f"lr_finder: suggested η* = {eta:.4g} (smoothed-loss minimum at {eta * 10:.4g})")
    steps = int(np.ceil(len(X) / 32))
    total = steps * epochs
    results = []
    for mult in (1, 3):
        for name in SCHEDULES:
            for seed in seeds:
                lr = eta * mult
                model = schedule_model(seed)
                model.optimizer.learning_rate = lr
                t0 = time.perf_counter()
                h = model.fit(X, y, epochs=epochs, batch_size=32, verbose=0,
                              validation_data=(Xv, yv),
                              callbacks=schedule_callbacks(name, lr, total))
                secs = time.perf_counter() - t0
                r = {"schedule": name, "mult": mult, "lr": lr, "seed": seed,
                     "val_loss": h.history["val_loss"], "val_acc": h.history["val_accuracy"],
                     "lr_epochs": h.history.get("learning_rate", [lr] * len(h.history["loss"])),
                     "test_acc": accuracy(model, Xt, yt), "seconds": secs}
                results.append(r)
                log(f"  {name:12s} η={lr:.4g} seed {seed}: val_loss {r['val_loss'][-1]:.4f} "
                    f"val_acc {r['val_acc'][-1]:.4f} test_acc {r['test_acc']:.4f} ({secs:.0f}s)")
    return {"eta": eta, "finder": (lrs, losses), "results": results, "epochs": epochs,
            "steps": steps, "train": len(X)}


# ----------------------------------------------------------------------------------------------
# 2. activations
# ----------------------------------------------------------------------------------------------
ACTIVATIONS = [("selu", "lecun_normal"), ("elu", "he_normal"), ("leaky_relu", "he_normal"),
               ("relu", "he_normal"), ("tanh", "glorot_uniform"), ("sigmoid", "glorot_uniform")]
LABEL = {"selu": "SELU", "elu": "ELU", "leaky_relu": "leaky ReLU", "relu": "ReLU", "tanh": "tanh",
         "sigmoid": "logistic"}


def deep_model(activation, init, seed, lr, depth=20, width=100):
    layers = [Input(784)] + [Dense(width, activation=activation, kernel_initializer=init)
                             for _ in range(depth)] + [Dense(10, activation="softmax")]
    m = dk.Sequential(layers, seed=seed)
    m.compile(optimizer=dk.optimizers.SGD(lr, momentum=0.9),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def standardize(X, ref):
    mu = ref.mean(axis=0)
    sd = np.maximum(ref.std(axis=0), 0.1)
    return ((X - mu) / sd).astype(np.float32)


def run_activations(data, seeds, epochs, log, lrs=(1e-3, 3e-3, 1e-2), train=20000):
    (X, y), (Xv, yv), (Xt, yt) = data
    X, y = X[:train], y[:train]
    Xs, Xvs, Xts = standardize(X, X), standardize(Xv, X), standardize(Xt, X)
    grid, final = [], []
    for act, init in ACTIVATIONS:
        best = None
        for lr in lrs:
            model = deep_model(act, init, seeds[0], lr)
            t0 = time.perf_counter()
            h = model.fit(Xs, y, epochs=epochs, batch_size=32, verbose=0, validation_data=(Xvs, yv))
            secs = time.perf_counter() - t0
            diverged = bool(getattr(model, "diverged", False))
            va = h.history.get("val_accuracy", [float("nan")])
            r = {"activation": act, "init": init, "lr": lr, "seed": seeds[0],
                 "val_acc": va, "val_loss": h.history.get("val_loss", [float("nan")]),
                 "test_acc": accuracy(model, Xts, yt) if not diverged else float("nan"),
                 "diverged": diverged, "seconds": secs}
            grid.append(r)
            log(f"  {act:10s} lr={lr:g}: val_acc {va[-1]:.4f}{' (diverged)' if diverged else ''} "
                f"({secs:.0f}s)")
            score = va[-1] if np.isfinite(va[-1]) and not diverged else -1
            if best is None or score > best[0]:
                best = (score, r)
        final.append(best[1])
        for seed in seeds[1:]:
            lr = best[1]["lr"]
            model = deep_model(act, init, seed, lr)
            h = model.fit(Xs, y, epochs=epochs, batch_size=32, verbose=0, validation_data=(Xvs, yv))
            diverged = bool(getattr(model, "diverged", False))
            final.append({"activation": act, "init": init, "lr": lr, "seed": seed,
                          "val_acc": h.history.get("val_accuracy", [float("nan")]),
                          "val_loss": h.history.get("val_loss", [float("nan")]),
                          "test_acc": accuracy(model, Xts, yt) if not diverged else float("nan"),
                          "diverged": diverged})
            log(f"  {act:10s} lr={lr:g} seed {seed}: test_acc {final[-1]['test_acc']:.4f}")
    return {"grid": grid, "final": final, "epochs": epochs, "lrs": lrs, "train": len(X)}


# ----------------------------------------------------------------------------------------------
# report
# ----------------------------------------------------------------------------------------------
def mean_std(values):
    v = np.asarray(values, dtype=float)
    return (float(np.nanmean(v)), float(np.nanstd(v))) if v.size else (float("nan"), float("nan"))


def schedules_table(res):
    lines = ["| schedule | reference rate | final val loss | best val loss | final val acc % | "
             "test acc % (mean ± std) | per seed |", "|---|---|---|---|---|---|---|"]
    ranking = {}
    for mult in (1, 3):
        rows = []
        for name in SCHEDULES:
            rs = [r for r in res["results"] if r["schedule"] == name and r["mult"] == mult]
            if not rs:
                continue
            vl = mean_std([r["val_loss"][-1] for r in rs])[0]
            best = mean_std([min(r["val_loss"]) for r in rs])[0]
            va = mean_std([r["val_acc"][-1] for r in rs])[0]
            ta, ts = mean_std([r["test_acc"] for r in rs])
            rows.append((name, ta))
            per_seed = ", ".join(f"{100 * r['test_acc']:.2f}" for r in rs)
            rate = "η*" if mult == 1 else f"{mult}η*"
            lines.append(f"| {name} | {rate} = {rs[0]['lr']:.3g} | {vl:.4f} | {best:.4f} | "
                         f"{100 * va:.2f} | {100 * ta:.2f} ± {100 * ts:.2f} | {per_seed} |")
        ranking[mult] = [n for n, _ in sorted(rows, key=lambda t: -t[1])]
    return "\n".join(lines), ranking


def activations_tables(res):
    grid = ["| activation | init | " + " | ".join(f"val acc % @ lr {lr:g}" for lr in res["lrs"]) +
            " |", "|---|---|" + "---|" * len(res["lrs"])]
    for act, init in ACTIVATIONS:
        cells = []
        for lr in res["lrs"]:
            r = [g for g in res["grid"] if g["activation"] == act and g["lr"] == lr][0]
            cells.append("diverged" if r["diverged"] else f"{100 * r['val_acc'][-1]:.2f}")
        grid.append(f"| {LABEL[act]} | {init} | " + " | ".join(cells) + " |")
    final = ["| rank | activation | init | lr | test acc % (mean ± std) | per seed | "
             "val acc after epoch 1 % |", "|---|---|---|---|---|---|---|"]
    rows = []
    for act, init in ACTIVATIONS:
        rs = [r for r in res["final"] if r["activation"] == act]
        ta, ts = mean_std([r["test_acc"] for r in rs])
        first = mean_std([r["val_acc"][0] for r in rs])[0]
        rows.append((act, init, rs[0]["lr"], ta, ts, rs, first))
    rows.sort(key=lambda t: -np.nan_to_num(t[3], nan=-1))
    for i, (act, init, lr, ta, ts, rs, first) in enumerate(rows, 1):
        per_seed = ", ".join(f"{100 * r['test_acc']:.2f}" for r in rs)
        final.append(f"| {i} | {LABEL[act]} | {init} | {lr:g} | {100 * ta:.2f} ± {100 * ts:.2f} | "
                     f"{per_seed} | {100 * first:.2f} |")
    return "\n".join(grid), "\n".join(final), [LABEL[r[0]] for r in rows]


def pairwise(chapter_order, scores):
    """For each pair the chapter orders (a before b), the measured difference of mean test
    accuracy in points and whether it exceeds the seeds' spread. scores: name -> (mean, std)."""
    out = []
    for i, a in enumerate(chapter_order):
        for b in chapter_order[i + 1:]:
            (ma, sa), (mb, sb) = scores[a], scores[b]
            diff = 100 * (ma - mb)
            spread = 100 * max(sa + sb, 1e-12)
            verdict = "agrees" if diff > 0 else "disagrees"
            if abs(diff) <= spread:
                verdict += " (within the seed spread)"
            out.append(f"{a} > {b}: {diff:+.2f} pts, {verdict}")
    return out


def make_plots(sched, acts, outdir, log):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib not installed: no plots (pip install matplotlib)")
        return []
    os.makedirs(outdir, exist_ok=True)
    written = []
    if sched:
        lrs, losses = sched["finder"]
        ax = dk.schedules.plot_lr_finder(lrs, losses, sched["eta"])
        ax.set_title("lr_finder, 784-300-100-10 ReLU, SGD momentum 0.9")
        path = os.path.join(outdir, "lr_finder.png")
        ax.figure.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(ax.figure)
        written.append(path)

        fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
        steps, epochs = sched["steps"], sched["epochs"]
        t = np.arange(steps * epochs)
        seed0 = min(r["seed"] for r in sched["results"])
        for name in SCHEDULES:
            r = [r for r in sched["results"] if r["schedule"] == name and r["mult"] == 1
                 and r["seed"] == seed0][0]
            if name == "exponential":
                curve = dk.schedules.ExponentialDecay(r["lr"], steps * epochs / 2).values(t)
            elif name == "1cycle":
                curve = dk.schedules.OneCycle(r["lr"], total_steps=steps * epochs).values(t)
            else:
                curve = np.repeat(r["lr_epochs"], steps)[:len(t)]
            axes[0].plot(t / steps, curve, label=name)
            axes[1].plot(np.arange(1, len(r["val_loss"]) + 1), r["val_loss"], marker="o", label=name)
            axes[2].plot(np.arange(1, len(r["val_acc"]) + 1), np.array(r["val_acc"]) * 100,
                         marker="o", label=name)
        axes[0].set(xlabel="epoch", ylabel="learning rate", title="schedules (η = η*)", yscale="log")
        axes[1].set(xlabel="epoch", ylabel="validation loss", title="validation loss (seed 0, η*)")
        axes[2].set(xlabel="epoch", ylabel="validation accuracy %", title="validation accuracy")
        for ax in axes:
            ax.grid(True, alpha=0.3)
            ax.legend()
        path = os.path.join(outdir, "schedules.png")
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        written.append(path)
    if acts:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        seed0 = min(r["seed"] for r in acts["final"])
        for act, _ in ACTIVATIONS:
            r = [r for r in acts["final"] if r["activation"] == act and r["seed"] == seed0][0]
            ax.plot(np.arange(1, len(r["val_acc"]) + 1), np.array(r["val_acc"]) * 100, marker="o",
                    label=f"{LABEL[act]} (lr {r['lr']:g})")
        ax.set(xlabel="epoch", ylabel="validation accuracy %",
               title="20×100 hidden layers, SGD momentum 0.9")
        ax.grid(True, alpha=0.3)
        ax.legend()
        path = os.path.join(outdir, "activations.png")
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        written.append(path)

        rows = dk.diagnostics.signal_propagation(
            initializers=["glorot_uniform", "he_normal", "lecun_normal"],
            activations=[a for a, _ in ACTIVATIONS], depth=20, width=100, samples=500)
        pairs = set(ACTIVATIONS)
        rows = [r for r in rows if (r["activation"], r["initializer"]) in pairs]
        axes = dk.diagnostics.plot_signal_propagation(rows)
        path = os.path.join(outdir, "signal_propagation.png")
        axes[0].figure.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(axes[0].figure)
        written.append(path)
    return written


def kept_findings(path):
    """The hand-written "## Findings" section of an earlier report, carried over (rerunning
    regenerates the tables, not the interpretation — reread it against the new numbers)."""
    try:
        text = open(path).read()
    except OSError:
        return "## Findings\n\n(write the interpretation of this run here)\n"
    start = text.find("## Findings")
    if start < 0:
        return "## Findings\n\n(write the interpretation of this run here)\n"
    end = text.find("\n## ", start + 3)
    return text[start:end if end >= 0 else len(text)].rstrip() + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--experiments", default="schedules,activations")
    p.add_argument("--seeds", default="0,1")
    p.add_argument("--schedule-epochs", type=int, default=5)
    p.add_argument("--schedule-train", type=int, default=55000,
                   help="training images for the schedules experiment")
    p.add_argument("--activation-epochs", type=int, default=4)
    p.add_argument("--activation-train", type=int, default=20000,
                   help="training images for the activations experiment (the deep net is slower)")
    p.add_argument("--quick", action="store_true", help="12,000 training images, 3 epochs")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=os.path.join(HERE, "RANKINGS.md"))
    p.add_argument("--plots", default=os.path.join(HERE, "plots"))
    args = p.parse_args(argv)
    dk.set_num_threads(args.threads)
    seeds = [int(s) for s in args.seeds.split(",")]
    experiments = args.experiments.split(",")
    if args.quick:
        args.schedule_epochs = args.activation_epochs = 3
    data = load(args.quick)
    lines = []

    def log(msg):
        print(msg, flush=True)
        lines.append(msg)

    t_start = time.perf_counter()
    sched = acts = None
    if "schedules" in experiments:
        log(f"== schedules: {args.schedule_epochs} epochs, seeds {seeds}")
        (X, y), val, test = data
        sched = run_schedules(((X[:args.schedule_train], y[:args.schedule_train]), val, test),
                              seeds, args.schedule_epochs, log)
    if "activations" in experiments:
        log(f"== activations: {args.activation_epochs} epochs, seeds {seeds}")
        acts = run_activations(data, seeds, args.activation_epochs, log,
                               train=args.activation_train)
    total = time.perf_counter() - t_start
    plots = make_plots(sched, acts, args.plots, log)

    out = ["# Chapter 11 rankings, re-measured (bench/rankings.py)", "",
           f"MNIST ({len(data[1][0]):,} validation / {len(data[2][0]):,} test images; training "
           f"subsets per experiment below), densekit {dk.__version__}, {args.threads} threads, "
           f"{platform.processor() or platform.machine()}, total {total:.0f} s. "
           f"Seeds {seeds}. Command: `python bench/rankings.py "
           f"{' '.join(argv if argv is not None else sys.argv[1:])}`.", ""]
    if sched:
        table, ranking = schedules_table(sched)
        out += ["## 1. Learning-rate schedules", "",
                f"{sched['train']:,} training images. "
                f"784-300-100-10 ReLU (He normal), SGD momentum 0.9, batch 32, "
                f"{sched['epochs']} epochs ({sched['epochs'] * sched['steps']:,} steps) for every "
                f"schedule. Reference rate η* = {sched['eta']:.4g} from `dk.lr_finder` (its "
                f"suggestion: smoothed-loss minimum / 10); each schedule at η* and 3η*. See the "
                f"module docstring for the exact schedules.", "", table, "",
                "Ranking by mean test accuracy: at η*: " + " > ".join(ranking.get(1, [])) +
                "; at 3η*: " + " > ".join(ranking.get(3, [])) +
                ". The chapter: 1cycle > exponential > performance.", ""]
        for mult in (1, 3):
            scores = {n: mean_std([r["test_acc"] for r in sched["results"]
                                   if r["schedule"] == n and r["mult"] == mult]) for n in SCHEDULES}
            out += [f"Chapter's pairs at {'η*' if mult == 1 else f'{mult}η*'} (test accuracy):", ""]
            out += [f"- {line}" for line in pairwise(["1cycle", "exponential", "performance",
                                                      "constant"], scores)] + [""]
    if acts:
        grid, final, ranking = activations_tables(acts)
        out += ["## 2. Activations on a deep net", "",
                f"{acts['train']:,} training images. "
                f"20 hidden layers × 100 units, chapter initializers, standardized inputs, no BN, "
                f"SGD momentum 0.9, batch 32, {acts['epochs']} epochs. Validation accuracy (seed "
                f"{seeds[0]}) for each rate of the grid:", "", grid, "",
                "Best rate per activation, all seeds:", "", final, "",
                "Measured ranking: " + " > ".join(ranking) +
                ". The chapter: SELU > ELU > leaky ReLU > ReLU > tanh > logistic.", ""]
        scores = {LABEL[a]: mean_std([r["test_acc"] for r in acts["final"] if r["activation"] == a])
                  for a, _ in ACTIVATIONS}
        out += ["Chapter's pairs (test accuracy at each activation's best rate):", ""]
        out += [f"- {line}" for line in pairwise([LABEL[a] for a, _ in ACTIVATIONS], scores)] + [""]
    out += [kept_findings(args.out)]
    out += ["## Plots", ""] + [f"- `{os.path.relpath(p, HERE)}`" for p in plots] + ["",
            "## Log", "", "```"] + lines + ["```", ""]
    with open(args.out, "w") as f:
        f.write("\n".join(out))
    print(f"wrote {args.out}")
    return sched, acts


if __name__ == "__main__":
    main()
