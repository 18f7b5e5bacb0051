"""The same GridSearchCV with dk.sklearn.MLPClassifier and with scikit-learn's MLPClassifier.

    python bench/gridsearch.py                       # digits and MNIST-10k, 20 epochs, n_jobs=2
    python bench/gridsearch.py --data digits         # scikit-learn's digits only (quick)
    python bench/gridsearch.py --data digits,mnist10k --epochs 20 --n-jobs 2 --out bench/GRIDSEARCH.md

mnist10k is the first 10,000 MNIST training images (dk.datasets.load_mnist, DENSEKIT_DATA or a
shared/data/mnist directory beside the repository).

What it measures: wall time of `GridSearchCV(est, grid, cv=3, n_jobs=N).fit(X, y)` (3 hidden
sizes × 3 learning rates × 3 folds = 27 fits, plus the refit of the best), and the best mean
cross-validated accuracy, for both estimators with the same settings: one hidden ReLU layer,
adam, batch 200 ('auto'), alpha 1e-4, shuffling, random_state=0, exactly `--epochs` epochs (tol=0
and n_iter_no_change > epochs, so neither stops early), float32 inputs (which both keep float32).
Each search runs in a fresh Python process (so each pays for starting its joblib workers and
importing its library in them), the two one after another. The machine's load average and how
busy other processes kept the CPUs during each run are recorded next to the times: figures taken
on a busy machine are noisy. Writes a Markdown table (with the CPU model and ISA flags) to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import machine  # noqa: E402

GRID = {"hidden_layer_sizes": [(64,), (128,), (256,)],
        "learning_rate_init": [1e-3, 3e-3, 1e-2]}
FRAMEWORKS = ("densekit", "scikit-learn")


def load(data):
    import numpy as np
    if data == "digits":
        from sklearn.datasets import load_digits
        X, y = load_digits(return_X_y=True)
        return (X / 16.0).astype(np.float32), y.astype(np.int64)
    if data == "mnist10k":
        import densekit.datasets as dkd
        (X, y), _ = dkd.load_mnist()
        X = X[:10_000].reshape(10_000, -1).astype(np.float32) / 255.0
        return X, y[:10_000].astype(np.int64)
    raise SystemExit(f"unknown --data {data!r}: expected digits or mnist10k")


def estimator(framework, epochs):
    params = dict(activation="relu", solver="adam", alpha=1e-4, batch_size="auto",
                  max_iter=epochs, tol=0.0, n_iter_no_change=epochs + 1, shuffle=True,
                  random_state=0)
    if framework == "densekit":
        from densekit.sklearn import MLPClassifier
    else:
        from sklearn.neural_network import MLPClassifier
    return MLPClassifier(**params)


def worker(framework, data, epochs, n_jobs, seeds):
    """One grid search in this process, then the best configuration's CV accuracy over `seeds`
    random_states (how much of a score difference is seed noise); prints one JSON line."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import GridSearchCV, cross_val_score

    warnings.simplefilter("ignore", ConvergenceWarning)
    X, y = load(data)
    grid = GridSearchCV(estimator(framework, epochs), GRID, cv=3, n_jobs=n_jobs)
    t0 = time.perf_counter()
    grid.fit(X, y)
    wall = time.perf_counter() - t0
    best = {k: (list(v) if isinstance(v, tuple) else v) for k, v in grid.best_params_.items()}
    spread = [float(cross_val_score(estimator(framework, epochs).set_params(
        **grid.best_params_, random_state=seed), X, y, cv=3, n_jobs=n_jobs).mean())
        for seed in range(seeds)]
    res = grid.cv_results_
    # Time inside the fits and scorings themselves (summed over the 27 of them, plus the refit):
    # the wall time minus starting the workers, importing, pickling and waiting.
    fits_s = float((res["mean_fit_time"] + res["mean_score_time"]).sum() * 3 + grid.refit_time_)
    print(json.dumps({"framework": framework, "wall_s": wall, "fits_s": fits_s,
                      "best_score": grid.best_score_,
                      "best_params": best, "seed_scores": spread, "samples": int(X.shape[0]),
                      "features": int(X.shape[1])}))


def run(framework, args, data):
    busy0, t0 = machine.cpu_busy_seconds(), time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--worker", framework, "--data", data,
                          "--epochs", str(args.epochs), "--n-jobs", str(args.n_jobs),
                          "--seeds", str(args.seeds)],
                         capture_output=True, text=True, check=False)
    wall, busy1 = time.perf_counter() - t0, machine.cpu_busy_seconds()
    if out.returncode != 0:
        raise SystemExit(f"{framework} worker failed:\n{out.stderr}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    # CPUs kept busy beyond what this search could use (n_jobs cores at most): other processes.
    if busy0 is not None and busy1 is not None:
        result["cpus_busy_avg"] = round((busy1 - busy0) / wall, 2)
    result["load_avg_after"] = [round(v, 2) for v in os.getloadavg()]
    return result


def markdown(results, info, args, data):
    dk, sk = results["densekit"], results["scikit-learn"]
    lines = [
        f"## {data}",
        "",
        f"Data: {data} ({dk['samples']} samples × {dk['features']} features, float32). "
        f"Grid: hidden_layer_sizes {[s[0] for s in GRID['hidden_layer_sizes']]} × "
        f"learning_rate_init {GRID['learning_rate_init']} × 3 folds = 27 fits + the refit; "
        f"one hidden ReLU layer, adam, batch 200, alpha 1e-4, {args.epochs} epochs each "
        f"(no early stop), n_jobs={args.n_jobs}, each search in a fresh process.",
        "",
        "| estimator | wall time (s) | Σ fit+score (s) | best CV accuracy | best parameters "
        f"| best parameters, {args.seeds} seeds: mean [min, max] | CPUs busy (avg) |",
        "|---|---:|---:|---:|---|---|---:|",
    ]
    for name, r in (("dk.sklearn.MLPClassifier", dk), ("sklearn MLPClassifier", sk)):
        params = ", ".join(f"{k}={v}" for k, v in r["best_params"].items())
        seeds = r["seed_scores"]
        spread = (f"{sum(seeds) / len(seeds):.4f} [{min(seeds):.4f}, {max(seeds):.4f}]"
                  if seeds else "—")
        lines.append(f"| {name} | {r['wall_s']:.2f} | {r['fits_s']:.2f} | {r['best_score']:.4f} "
                     f"| {params} | {spread} | "
                     f"{r.get('cpus_busy_avg', '?')} |")
    speedup = sk["wall_s"] / dk["wall_s"]
    fit_speedup = sk["fits_s"] / dk["fits_s"]
    score_ok = dk["best_score"] >= sk["best_score"] - 1e-12
    lines += [
        "",
        f"**Speed-up: {speedup:.1f}× in wall time** (target ≥ 5×: "
        f"{'met' if speedup >= 5 else 'not met'}), {fit_speedup:.1f}× in the fits themselves "
        f"(Σ fit+score: the time inside the 27 fits, their scoring and the refit, from "
        f"cv_results_; the wall time adds starting the joblib workers and importing each library "
        f"in them); "
        f"best score {'equal or better' if score_ok else 'worse'} "
        f"({dk['best_score']:.4f} vs {sk['best_score']:.4f})" + _seed_note(dk, sk) + ".",
        "",
        f"Load average at start {results['load_avg_at_start']}, after the densekit search "
        f"{dk['load_avg_after']}, after scikit-learn's {sk['load_avg_after']}.",
        "",
    ]
    return "\n".join(lines)


def _seed_note(dk, sk):
    """The best configurations' scores over several seeds: is the difference seed noise?"""
    a, b = dk["seed_scores"], sk["seed_scores"]
    if not (a and b):
        return ""
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    overlap = min(a) <= max(b) and min(b) <= max(a)
    return (f"; over {len(a)} seeds {ma:.4f} vs {mb:.4f}, ranges "
            f"{'overlapping (seed noise)' if overlap else 'disjoint'}")


def header(info, args):
    return "\n".join([
        "# GridSearchCV: dk.sklearn.MLPClassifier vs scikit-learn's MLPClassifier",
        "",
        f"`python bench/gridsearch.py --data {args.data} --epochs {args.epochs} "
        f"--n-jobs {args.n_jobs} --seeds {args.seeds}`",
        "",
        f"Machine: {info['cpu_model']}, {info['logical_cpus']} logical CPUs, ISA flags "
        f"{', '.join(info['cpu_flags']) or 'none of avx2/fma/avx512'}; {info['os']}, Python "
        f"{info['python']}, NumPy {info['numpy']}, scikit-learn {machine._version('scikit-learn')}, "
        f"densekit {info['densekit']} ({info['git']}); {info['date']}.",
        f"'CPUs busy (avg)' counts every process on the machine during a search: above "
        f"n_jobs={args.n_jobs} means other work shared the CPUs and the times are inflated.",
        "",
    ])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="digits,mnist10k",
                   help="comma-separated: digits, mnist10k")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--n-jobs", type=int, default=2)
    p.add_argument("--seeds", type=int, default=5,
                   help="random_states for the best configuration's score spread (0: skip)")
    p.add_argument("--out", default=os.path.join(HERE, "GRIDSEARCH.md"))
    p.add_argument("--worker", choices=FRAMEWORKS, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args.worker, args.data, args.epochs, args.n_jobs, args.seeds)
        return
    info = machine.describe(threads=1, repo=os.path.dirname(HERE))
    sections = [header(info, args)]
    for data in args.data.split(","):
        results = {"load_avg_at_start": [round(v, 2) for v in os.getloadavg()]}
        for fw in FRAMEWORKS:
            results[fw] = run(fw, args, data)
            r = results[fw]
            print(f"{data:>9} {fw:>13}: {r['wall_s']:8.2f} s   best CV accuracy "
                  f"{r['best_score']:.4f}   {r['best_params']}   CPUs busy "
                  f"{r.get('cpus_busy_avg')}", flush=True)
        sections.append(markdown(results, info, args, data))
    text = "\n".join(sections)
    with open(args.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
