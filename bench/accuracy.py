"""Accuracy on real data: BENCHMARKS.md's experiments, densekit side by side with PyTorch.

```
python bench/accuracy.py                                   # E1 and E5, seeds 0,1,2, densekit + torch
python bench/accuracy.py --experiments E1 --seeds 0 --peers none
python bench/accuracy.py --seeds 0,1,2 --torch-seeds 0     # torch on fewer seeds (it is slower)
```

Prints one Markdown table (per experiment and framework: test metric mean ± std over seeds, the
per-seed values, wall time per run and per epoch, the BENCHMARKS.md target and whether it is met,
and the BENCHMARKS.md peer figures for reference), then per-epoch learning curves, and writes the
same to `bench/ACCURACY.md` (`--out` writes elsewhere).

The experiments (BENCHMARKS.md, "Accuracy on real data"):
- E1: MNIST via `densekit.datasets.mnist_for_experiments` (pixels / 255, validation = the last
  5,000 training images, passed as validation data, test = the 10,000 test images).
  784-300(ReLU)-100(ReLU)-10(softmax); hidden kernels He-normal, the output kernel Glorot-uniform
  (the Keras default; Géron's model and bench/workloads.py's W1 do the same), zero biases;
  sparse categorical cross-entropy; Adam lr 1e-3; batch 32; 10 epochs. Metric: test accuracy %.
- E5: California housing via `load_california_housing` + `prepare_housing` (median-impute, one-hot,
  standardize on train, target in $100k, 80/20 split with seed 42). Trains on the whole 80%
  training split, as BENCHMARKS.md defines it; the per-epoch "val" curve is then the TEST set,
  passed as validation data for monitoring only (nothing depends on it: fixed epochs, no early
  stopping, no checkpoint choice). `--housing-holdout` instead holds out the last 10% of the
  training rows as validation data (which costs test MSE: see bench/ACCURACY.md's notes).
  13-50-50-50-1, ReLU hidden layers
  (He-normal), linear output (Glorot-uniform), zero biases; mse; Adam lr 1e-3; batch 32;
  30 epochs. Metric: test MSE in ($100k)^2.

Frameworks, 2 threads each (`OMP_NUM_THREADS=2`, `densekit.set_num_threads(2)`,
`torch.set_num_threads(2)`), every (framework, experiment, seed) in a fresh process run one after
another:
- densekit: `Sequential(..., seed=seed)`, `model.fit(..., validation_data=...)`, `model.predict`.
- torch: eager, a hand-written loop (zero_grad / forward / loss / backward / step over batches
  sliced from a tensor re-shuffled with torch.randperm each epoch), `torch.manual_seed(seed)`.
  Same architecture and the same initial-weight distributions as densekit: He-normal is Keras's
  (truncated normal, std sqrt(2/fan_in)/0.8796, cut at 2 std), Glorot-uniform is
  `xavier_uniform_`, biases zero. Softmax + cross-entropy is `CrossEntropyLoss` on logits (the
  PyTorch idiom, mathematically the same loss). Adam with eps=1e-7, densekit's (and Keras's)
  default, instead of torch's 1e-8.
The test metric is computed the same way for both, in NumPy float64, from the predictions.
"Wall time per run" (median over seeds) is the training (`fit`, including the per-epoch
validation pass); "s/epoch" is that divided by the number of epochs.

`bench/accuracy.py` is importable (tests/test_accuracy_slow.py runs `run("densekit", ...)`); torch
is imported only by the torch runner.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import subprocess
import sys
import time
from typing import Dict, List, Optional

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
THREADS = 2
FRAMEWORKS = ("densekit", "torch")


# ---------------------------------------------------------------------------------------------
# The experiments
# ---------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Experiment:
    name: str
    title: str
    data: str                      # "mnist" or "housing"
    hidden: tuple                  # widths of the ReLU hidden layers (He-normal)
    n_out: int
    output_activation: str         # "softmax" or "linear"
    loss: str                      # densekit loss name
    learning_rate: float
    batch: int
    epochs: int
    metric: str                    # "accuracy" (%, higher is better) or "mse" (lower is better)
    target: float                  # densekit's target on the metric
    peers: tuple                   # ((name, "figure as BENCHMARKS.md gives it"), ...)

    @property
    def higher_is_better(self) -> bool:
        return self.metric == "accuracy"

    def met(self, value: float) -> bool:
        return value >= self.target if self.higher_is_better else value <= self.target

    @property
    def target_text(self) -> str:
        return (f"≥ {self.target:g} %" if self.higher_is_better else f"≤ {self.target:g}")

    @property
    def metric_text(self) -> str:
        return "test accuracy %" if self.metric == "accuracy" else "test MSE ($100k)²"


EXPERIMENTS: Dict[str, Experiment] = {
    "E1": Experiment(
        "E1", "MNIST 784-300-100-10 ReLU, He-normal, Adam 1e-3, batch 32, 10 epochs", "mnist",
        (300, 100), 10, "softmax", "sparse_categorical_crossentropy", 1e-3, 32, 10,
        "accuracy", 97.8, (("Keras 3", "97.76 ± 0.02 %"), ("PyTorch", "97.99 ± 0.08 %"))),
    "E5": Experiment(
        "E5", "California housing, 3×50 ReLU, He-normal, mse, Adam 1e-3, batch 32, 30 epochs",
        "housing", (50, 50, 50), 1, "linear", "mse", 1e-3, 32, 30,
        "mse", 0.29, (("Keras 3", "0.287 ± 0.008"), ("PyTorch", "0.278 ± 0.006"),
                      ("linear regression", "0.482"))),
}


def _datasets(framework: str):
    """densekit.datasets. For a peer it is loaded from its file without importing the densekit
    package (it is pure Python + NumPy): the peer's process then holds no densekit native code
    (no second OpenMP runtime, nothing mapped from a _core*.so being rebuilt)."""
    if framework == "densekit":
        from densekit import datasets
        return datasets
    import importlib.util
    name = "densekit_datasets_standalone"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, os.path.join(REPO, "python", "densekit", "datasets.py"))
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name]


def load_data(exp: Experiment, framework: str = "densekit", housing_holdout: bool = False):
    """((X_train, y_train), (X_monitor, y_monitor), (X_test, y_test)), float32 features.

    The monitor pair is what fit sees as validation data: MNIST's validation set (the last 5,000
    training images); for housing the test set (monitoring only), or with housing_holdout the last
    10% of the training rows, which are then not trained on.
    Raises FileNotFoundError if the shared data directory is absent."""
    datasets = _datasets(framework)
    if exp.data == "mnist":
        return datasets.mnist_for_experiments(datasets.find_shared_data("mnist"))
    if exp.data == "housing":
        ds = datasets.load_california_housing(datasets.find_shared_data("california-housing"))
        (X_full, y_full), (X_te, y_te) = datasets.prepare_housing(ds)
        if not housing_holdout:
            return (X_full, y_full), (X_te, y_te), (X_te, y_te)
        n_valid = int(round(0.1 * len(X_full)))
        n_train = len(X_full) - n_valid
        return ((X_full[:n_train], y_full[:n_train]), (X_full[n_train:], y_full[n_train:]),
                (X_te, y_te))
    raise ValueError(f"unknown data {exp.data!r}")


def compute_metric(exp: Experiment, pred: np.ndarray, y: np.ndarray) -> float:
    pred = np.asarray(pred, dtype=np.float64)
    if exp.metric == "accuracy":
        return 100.0 * float(np.mean(np.argmax(pred, axis=1) == np.asarray(y)))
    return float(np.mean((pred.reshape(-1) - np.asarray(y, dtype=np.float64).reshape(-1)) ** 2))


# ---------------------------------------------------------------------------------------------
# densekit
# ---------------------------------------------------------------------------------------------

def build_densekit(exp: Experiment, n_in: int, seed: int):
    import densekit as dk
    layers = [dk.layers.Input(n_in)]
    layers += [dk.layers.Dense(w, activation="relu", kernel_initializer="he_normal") for w in exp.hidden]
    layers.append(dk.layers.Dense(exp.n_out, activation=exp.output_activation,
                                  kernel_initializer="glorot_uniform"))
    model = dk.Sequential(layers, seed=seed)
    metrics = ["accuracy"] if exp.metric == "accuracy" else []
    model.compile(optimizer=dk.optimizers.Adam(learning_rate=exp.learning_rate), loss=exp.loss,
                  metrics=metrics)
    return model


def run_densekit(exp: Experiment, seed: int, epochs: int, data) -> dict:
    import densekit as dk
    previous = dk.get_num_threads()
    dk.set_num_threads(THREADS)
    try:
        (X, y), (Xv, yv), (Xt, yt) = data
        model = build_densekit(exp, X.shape[1], seed)
        t0 = time.perf_counter()
        h = model.fit(X, y, epochs=epochs, batch_size=exp.batch, verbose=0,
                      validation_data=(Xv, yv), shuffle=True)
        fit_s = time.perf_counter() - t0
        pred = model.predict(Xt)
        hist = h.history
        curves = {"loss": list(hist["loss"]), "val_loss": list(hist["val_loss"])}
        if "val_accuracy" in hist:
            curves["val_accuracy"] = [100.0 * v for v in hist["val_accuracy"]]
        return {"fit_seconds": fit_s, "metric": compute_metric(exp, pred, yt), "curves": curves,
                "threads": dk.get_num_threads(),
                "version": f"{dk.__version__} (C++ core build: {getattr(dk._native, 'ISA', '?')})"}
    finally:
        dk.set_num_threads(previous)


# ---------------------------------------------------------------------------------------------
# PyTorch
# ---------------------------------------------------------------------------------------------

_TRUNC_STD = 0.87962566103423978  # std of the standard normal truncated to [-2, 2] (Keras)


def build_torch(exp: Experiment, n_in: int):
    import torch
    from torch import nn
    mods = []
    n = n_in
    for w in exp.hidden:
        lin = nn.Linear(n, w)
        std = math.sqrt(2.0 / n) / _TRUNC_STD             # Keras he_normal, weight is (out, in)
        nn.init.trunc_normal_(lin.weight, mean=0.0, std=std, a=-2.0 * std, b=2.0 * std)
        nn.init.zeros_(lin.bias)
        mods += [lin, nn.ReLU()]
        n = w
    out = nn.Linear(n, exp.n_out)
    nn.init.xavier_uniform_(out.weight)
    nn.init.zeros_(out.bias)
    mods.append(out)                                      # logits / linear output
    return nn.Sequential(*mods)


def run_torch(exp: Experiment, seed: int, epochs: int, data) -> dict:
    import torch
    from torch import nn
    torch.set_num_threads(THREADS)
    torch.manual_seed(seed)
    (X, y), (Xv, yv), (Xt, yt) = data
    classify = exp.metric == "accuracy"

    def tensors(a, b):
        tb = torch.from_numpy(np.ascontiguousarray(b, dtype=np.int64 if classify else np.float32))
        return torch.from_numpy(np.ascontiguousarray(a)), tb if classify else tb.reshape(-1, 1)

    X, Y = tensors(X, y)
    Xv, Yv = tensors(Xv, yv)
    model = build_torch(exp, X.shape[1])
    opt = torch.optim.Adam(model.parameters(), lr=exp.learning_rate, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss() if classify else nn.MSELoss()
    n, B = len(X), exp.batch
    curves: Dict[str, list] = {"loss": [], "val_loss": []}
    if classify:
        curves["val_accuracy"] = []

    t0 = time.perf_counter()
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(n)
        xs, ys = X[perm], Y[perm]
        total = torch.zeros(())
        for i in range(0, n, B):
            xb, yb = xs[i:i + B], ys[i:i + B]
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.detach() * len(xb)
        curves["loss"].append(float(total) / n)
        model.eval()
        with torch.no_grad():
            out = model(Xv)
            curves["val_loss"].append(float(loss_fn(out, Yv)))
            if classify:
                curves["val_accuracy"].append(100.0 * float((out.argmax(1) == Yv).float().mean()))
    fit_s = time.perf_counter() - t0

    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(np.ascontiguousarray(Xt))).numpy()
    return {"fit_seconds": fit_s, "metric": compute_metric(exp, pred, yt), "curves": curves,
            "threads": torch.get_num_threads(), "version": torch.__version__}


RUNNERS = {"densekit": run_densekit, "torch": run_torch}


def monitor_name(exp: Experiment, housing_holdout: bool) -> str:
    if exp.data == "mnist":
        return "validation set (last 5,000 training images)"
    if housing_holdout:
        return "validation set (last 10% of the training split, held out)"
    return "TEST set, monitoring only (training uses the whole 80% split)"


def run(framework: str, experiment: str, seed: int, epochs: Optional[int] = None,
        housing_holdout: bool = False) -> dict:
    """One training run in this process; returns a JSON-able dict (metric, timings, curves)."""
    exp = EXPERIMENTS[experiment]
    epochs = exp.epochs if epochs is None else epochs
    data = load_data(exp, framework, housing_holdout)
    res = RUNNERS[framework](exp, seed, epochs, data)
    res.update(framework=framework, experiment=experiment, seed=seed, epochs=epochs,
               n_train=int(len(data[0][0])), monitor=monitor_name(exp, housing_holdout))
    return res


# ---------------------------------------------------------------------------------------------
# Driver: one fresh process per run, then the report
# ---------------------------------------------------------------------------------------------

def _child_env() -> dict:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(THREADS)
    py = os.path.join(REPO, "python")
    env["PYTHONPATH"] = py + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


NOISY = 0.25  # CPUs kept busy by other processes during a run above which its time is flagged


def _cpu_busy_seconds() -> Optional[float]:
    """CPU-seconds all CPUs have spent busy since boot (from /proc/stat; None if unavailable)."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def _children_cpu_seconds() -> float:
    import resource
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def wait_quiet(max_wait: float) -> None:
    """Sleep until, over one second, the CPUs were busy less than NOISY (or max_wait is up)."""
    deadline = time.perf_counter() + max_wait
    while time.perf_counter() < deadline:
        b0 = _cpu_busy_seconds()
        time.sleep(1.0)
        b1 = _cpu_busy_seconds()
        if b0 is None or b1 is None or b1 - b0 < NOISY:
            return


def spawn(framework: str, experiment: str, seed: int, epochs: Optional[int],
          housing_holdout: bool = False) -> dict:
    """One run in a fresh process; adds foreign_load_cpus: how many CPUs other processes kept
    busy on average while it ran (all CPUs' busy time minus the worker's own CPU time)."""
    cmd = [sys.executable, os.path.abspath(__file__), "--_worker", framework, experiment, str(seed)]
    if epochs is not None:
        cmd += ["--epochs", str(epochs)]
    if housing_holdout:
        cmd.append("--housing-holdout")
    busy0, own0, t0 = _cpu_busy_seconds(), _children_cpu_seconds(), time.perf_counter()
    proc = subprocess.run(cmd, env=_child_env(), capture_output=True, text=True)
    busy1, own1, wall = _cpu_busy_seconds(), _children_cpu_seconds(), time.perf_counter() - t0
    if proc.returncode != 0:
        return {"failed": True, "framework": framework, "experiment": experiment, "seed": seed,
                "error": f"exit {proc.returncode}: " + (proc.stderr.strip().splitlines() or [""])[-1]}
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["foreign_load_cpus"] = (None if busy0 is None or busy1 is None else
                                max(0.0, (busy1 - busy0) - (own1 - own0)) / wall)
    return res


def _mean_std(values: List[float]) -> tuple:
    a = np.asarray(values, dtype=np.float64)
    return float(a.mean()), (float(a.std(ddof=1)) if len(a) > 1 else float("nan"))


def _fmt(exp: Experiment, v: float) -> str:
    return f"{v:.2f}" if exp.metric == "accuracy" else f"{v:.4f}"


def _fmt_ms(exp: Experiment, mean: float, std: float) -> str:
    if math.isnan(std):
        return _fmt(exp, mean) + " (1 seed)"
    return f"{_fmt(exp, mean)} ± {_fmt(exp, std)}"


def _machine() -> str:
    from machine import cpu_model  # bench/machine.py: bench/ is on sys.path for bench scripts
    cpu = cpu_model()
    return f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()}"


def report(results: List[dict], epochs_override: Optional[int]) -> str:
    lines = ["# densekit — accuracy on real data", ""]
    lines.append(f"`python bench/accuracy.py` ({time.strftime('%Y-%m-%d %H:%M')}; {_machine()}; "
                 f"{THREADS} threads per framework; one fresh process per run). Metric: the "
                 "BENCHMARKS.md test metric, mean ± sample std (ddof=1) over seeds. Time: wall "
                 "seconds of training (fit incl. the per-epoch validation pass), median over seeds.")
    if epochs_override is not None:
        lines += ["", f"**Epochs overridden to {epochs_override}: these are NOT the experiments "
                      "as BENCHMARKS.md defines them.**"]
    versions = sorted({f"{r['framework']} {r['version']}" for r in results})
    lines += ["", "Versions: " + ", ".join(versions), ""]
    lines.append("| experiment | framework | seeds | metric (mean ± std) | per seed | s/run | s/epoch "
                 "| foreign load | target | met |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    by_exp: Dict[str, Dict[str, List[dict]]] = {}
    for r in results:
        by_exp.setdefault(r["experiment"], {}).setdefault(r["framework"], []).append(r)
    any_noisy = False
    for name, fws in by_exp.items():
        exp = EXPERIMENTS[name]
        times = {}
        for fw in FRAMEWORKS:
            rs = sorted(fws.get(fw, []), key=lambda r: r["seed"])
            if not rs:
                continue
            m, s = _mean_std([r["metric"] for r in rs])
            t = float(np.median([r["fit_seconds"] for r in rs]))
            times[fw] = t
            per_seed = ", ".join(f"{r['seed']}: {_fmt(exp, r['metric'])}" for r in rs)
            if fw == "densekit":
                target, met = exp.target_text, ("met" if exp.met(m) else "**NOT met**")
            else:
                target, met = "", ""
            loads = [r.get("foreign_load_cpus") for r in rs if r.get("foreign_load_cpus") is not None]
            load = max(loads) if loads else None
            noisy = load is not None and load >= NOISY
            any_noisy = any_noisy or noisy
            load_txt = "?" if load is None else f"{load:.2f}" + (" ⚠" if noisy else "")
            lines.append(f"| {name} ({exp.metric_text}) | {fw} | {len(rs)} | {_fmt_ms(exp, m, s)} | "
                         f"{per_seed} | {t:.1f} | {t / rs[0]['epochs']:.2f} | {load_txt} | {target} | {met} |")
        for peer, fig in exp.peers:
            lines.append(f"| {name} | {peer} (BENCHMARKS.md) | 3 | {fig} |  |  |  |  |  |  |")
        if "densekit" in times and "torch" in times:
            lines.append(f"| {name} | torch time / densekit time |  |  |  | "
                         f"{times['torch'] / times['densekit']:.1f}× |  |  |  |  |")
    lines.append("")
    lines.append("foreign load: the most CPUs (of " f"{os.cpu_count()}" ") that other processes kept busy, on "
                 "average over a run, among that row's runs (all CPUs' busy time from /proc/stat minus "
                 "the run's own CPU time).")
    if any_noisy:
        lines += ["", f"WARNING: rows marked ⚠ ran while other processes kept ≥ {NOISY} CPU busy: their "
                      "times (and the time ratio) are inflated by contention; the metrics are not affected."]

    lines += ["", "Notes:",
              "- Optimizer: densekit's Adam follows SPEC.md, θ ← θ − η·m̂/(√ŝ + ε) with ε = 1e-7 "
              "outside the square root, as Keras and torch (here eps=1e-7) put it: both run the same "
              "update rule (tests/test_optimizers.py checks the trajectories agree step by step). "
              "Before the change to Keras's ε placement densekit put ε inside the root (E1 "
              "98.12 ± 0.12 %, E5 0.2814 ± 0.0085 on the previous build). The peer is torch's own "
              "Adam, as a PyTorch user would write it.",
              "- The BENCHMARKS.md peer rows were measured elsewhere (protocol details unknown); the torch "
              "rows above are this script's loop, in this run."]
    lines += ["", "## Learning curves (mean over seeds)", ""]
    for name, fws in by_exp.items():
        exp = EXPERIMENTS[name]
        present = [fw for fw in FRAMEWORKS if fw in fws]
        keys = ["loss", "val_loss"] + (["val_accuracy"] if exp.metric == "accuracy" else [])
        head = " | ".join(f"{fw} {k}" for k in keys for fw in present)
        mon = fws[present[0]][0].get("monitor", "validation data")
        n_tr = fws[present[0]][0].get("n_train")
        lines += [f"{name} (loss = training loss, mean over the epoch's batches; val_* = {mon}; "
                  f"{n_tr} training rows):", "", f"| epoch | {head} |", "|---" * (1 + len(keys) * len(present)) + "|"]
        n_ep = min(len(r["curves"]["loss"]) for fw in present for r in fws[fw])
        for e in range(n_ep):
            cells = []
            for k in keys:
                for fw in present:
                    v = float(np.mean([r["curves"][k][e] for r in fws[fw]]))
                    cells.append(f"{v:.2f}" if k == "val_accuracy" else f"{v:.4f}")
            lines.append(f"| {e + 1} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--experiments", default="E1,E5", help="comma-separated, from: " + ",".join(EXPERIMENTS))
    p.add_argument("--seeds", default="0,1,2", help="comma-separated ints")
    p.add_argument("--peers", default="torch", help="'torch' or 'none'")
    p.add_argument("--torch-seeds", default=None, help="seeds for torch (default: --seeds)")
    p.add_argument("--epochs", type=int, default=None,
                   help="override every experiment's epochs (smoke tests only; flagged in the report)")
    p.add_argument("--housing-holdout", action="store_true",
                   help="E5: hold out the last 10%% of the training split as validation data "
                        "(default: train on all of it and monitor on the test set)")
    p.add_argument("--wait-quiet", type=float, default=0.0, metavar="S",
                   help="before each run, wait up to S seconds for the other processes to leave the CPUs idle")
    p.add_argument("--out", default=os.path.join(HERE, "ACCURACY.md"), help="Markdown output path")
    p.add_argument("--_worker", nargs=3, metavar=("FRAMEWORK", "EXPERIMENT", "SEED"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args._worker:
        fw, exp, seed = args._worker
        print(json.dumps(run(fw, exp, int(seed), args.epochs, args.housing_holdout)))
        return 0

    exps = [e.strip() for e in args.experiments.split(",") if e.strip()]
    for e in exps:
        if e not in EXPERIMENTS:
            p.error(f"unknown experiment {e!r}; defined: {', '.join(EXPERIMENTS)}")
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    peers = [] if args.peers.strip().lower() in ("", "none") else [x.strip() for x in args.peers.split(",")]
    for peer in peers:
        if peer not in RUNNERS or peer == "densekit":
            p.error(f"unknown peer {peer!r}; available: torch")
    torch_seeds = seeds if args.torch_seeds is None else [int(s) for s in args.torch_seeds.split(",") if s.strip()]

    plan = [("densekit", e, s) for e in exps for s in seeds]
    plan += [(fw, e, s) for fw in peers for e in exps for s in torch_seeds]
    results, failures = [], []
    for fw, e, s in plan:
        if args.wait_quiet > 0:
            wait_quiet(args.wait_quiet)
        r = spawn(fw, e, s, args.epochs, args.housing_holdout)
        if r.get("failed"):
            print(f"{e} {fw:8s} seed {s}: FAILED ({r['error']})", file=sys.stderr, flush=True)
            failures.append(r)
            continue
        load = r["foreign_load_cpus"]
        print(f"{e} {fw:8s} seed {s}: {r['metric']:.4f}  fit {r['fit_seconds']:.1f} s "
              f"(foreign load {'?' if load is None else f'{load:.2f}'} CPUs)", file=sys.stderr, flush=True)
        results.append(r)
    if not results:
        print("every run failed", file=sys.stderr)
        return 1
    text = report(results, args.epochs)
    if failures:
        text += "\n## Failed runs (not in the table)\n\n" + "\n".join(
            f"- {r['experiment']} {r['framework']} seed {r['seed']}: {r['error']}" for r in failures) + "\n"
    print(text)
    with open(args.out, "w") as f:
        f.write(text + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
