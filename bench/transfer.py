"""Transfer learning and unsupervised pretraining on MNIST: the chapter's experiments, measured.

```
python bench/transfer.py                          # both experiments, 5 seeds (2-5 minutes)
python bench/transfer.py --seeds 0,1 --quick      # smoke run (fewer epochs, one pair)
python bench/transfer.py --experiments transfer   # or: pretrain
```

Writes bench/TRANSFER.md (`--out` elsewhere): the tables, the settings, and per-seed numbers.
Anything below the line `<!-- notes -->` in an existing TRANSFER.md is kept (hand-written notes).

1. Transfer (Géron, ch. 11, "Reusing pretrained layers", with MNIST digits in place of Fashion-MNIST):
   model A learns the 8 digits other than a pair (a, b) on all their training images;
   task B is the binary a-vs-b problem with only 200 labelled training images (a new random draw
   per seed). Both pairs were fixed before any run: (6, 9) and (4, 9) (the most confused pair
   of MNIST). Architecture (the chapter's): 784-300-100-50-50-50 SELU (LeCun normal), softmax
   output for A (SGD lr 1e-3, 20 epochs, batch 32), sigmoid output for B (binary
   cross-entropy, batch 32). B is trained five ways:
   - the chapter's protocol: from scratch with SGD lr 1e-3 for 20 epochs; and on A — A's hidden
     layers copied (clone_model + set_weights, so A is untouched) under a new sigmoid head,
     frozen for 4 epochs (SGD 1e-3), then all layers for 16 epochs at SGD 1e-4;
   - trained until the training loss converges (200 epochs ≈ 1,400 steps, Adam): from scratch
     (Adam 1e-3); on A with the reused layers frozen (Adam 1e-3); on A frozen for 100 epochs
     (Adam 1e-3), then all layers for 100 epochs (Adam 1e-4).
   Metric: accuracy on every test image of the pair; also the last epoch's training loss.
   A is trained once per pair (seed 0).
2. Pretraining (Géron, ch. 17, "Unsupervised pretraining using stacked autoencoders"): a stacked
   autoencoder 784-300-100-300-784 (SELU, LeCun normal; sigmoid output, binary cross-entropy,
   Adam lr 1e-3, batch 64, 8 epochs) trained on the 55,000 training images without labels, and a
   greedy layer-wise stack (784→300, then 300→100; 8 epochs per stage) — each once, seed 0. Then
   a classifier 784-300(SELU)-100(SELU)-10(softmax) is trained on n labelled images (n = 100,
   500, 2000; a new random draw per seed) with Adam lr 1e-3, batch 32, for at least 30 epochs and
   at least 1,500 steps (so the training loss converges also for the small n):
   - scratch: random initialization (LeCun normal);
   - pretrained, fine-tuned: hidden layers start from the autoencoder's encoder, all trained;
   - pretrained, frozen: the encoder is frozen, only the softmax head is trained;
   - greedy layer-wise, fine-tuned: hidden layers start from the greedy stack, all trained.
   Metric: accuracy on the 10,000 test images.
Seeds vary the labelled draw and the initialization of everything trained per seed. 2 threads.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python"))

import densekit as dk  # noqa: E402
from densekit import cloning, pretrain  # noqa: E402
from densekit.layers import Dense, Input  # noqa: E402

HIDDEN_A = (300, 100, 50, 50, 50)
PAIRS = ((6, 9), (4, 9))
N_B = 200
LABELLED = (100, 500, 2000)


def selu_dense(n, name=None):
    return Dense(n, activation="selu", kernel_initializer="lecun_normal", name=name)


def accuracy_binary(model, X, y):
    return float(np.mean((model.predict(X)[:, 0] > 0.5) == y))


def accuracy(model, X, y):
    return float(np.mean(model.predict(X).argmax(axis=1) == y))


def mean_std(values):
    v = np.asarray(values, dtype=np.float64) * 100
    return f"{v.mean():.2f} ± {v.std(ddof=1) if len(v) > 1 else 0.0:.2f}"


# ---------------------------------------------------------------------------------------------
# experiment 1: transfer
# ---------------------------------------------------------------------------------------------
def train_a(Xtr, ytr, pair, epochs):
    keep = ~np.isin(ytr, pair)
    classes = [c for c in range(10) if c not in pair]
    ya = np.searchsorted(classes, ytr[keep])
    model_a = dk.Sequential([Input(784)] + [selu_dense(n) for n in HIDDEN_A] +
                            [Dense(8, activation="softmax")], seed=0)
    model_a.compile(optimizer=dk.optimizers.SGD(1e-3), loss="sparse_categorical_crossentropy",
                    metrics=["accuracy"])
    t0 = time.perf_counter()
    model_a.fit(Xtr[keep], ya, epochs=epochs, batch_size=32, verbose=0)
    return model_a, classes, time.perf_counter() - t0


def model_b_scratch(seed):
    return dk.Sequential([Input(784)] + [selu_dense(n) for n in HIDDEN_A] +
                         [Dense(1, activation="sigmoid")], seed=seed)


def model_b_on_a(model_a, seed):
    copy = cloning.clone_model(model_a)
    copy.set_weights(model_a.get_weights())  # A itself stays as it is
    return dk.Sequential(copy.layers[:-1] + [Dense(1, activation="sigmoid")], seed=seed)


def _fit(model, X, y, opt, epochs, trainable=None):
    """Compiles with `opt` (after setting the reused layers' trainable flag) and trains; returns the
    last epoch's training loss."""
    if trainable is not None:
        for layer in model.layers[:-1]:
            layer.trainable = trainable
    model.compile(optimizer=opt, loss="binary_crossentropy")
    return model.fit(X, y, epochs=epochs, batch_size=32, verbose=0).history["loss"][-1]


def run_transfer(data, seeds, epochs_a, epochs_b, epochs_long, pairs):
    (Xtr, ytr), _, (Xte, yte) = data
    SGD, Adam = dk.optimizers.SGD, dk.optimizers.Adam
    results = []
    for pair in pairs:
        model_a, classes, t_a = train_a(Xtr, ytr, pair, epochs_a)
        keep_te = ~np.isin(yte, pair)
        acc_a = accuracy(model_a, Xte[keep_te], np.searchsorted(classes, yte[keep_te]))
        pos_tr = np.flatnonzero(np.isin(ytr, pair))
        te = np.isin(yte, pair)
        Xb_te, yb_te = Xte[te], (yte[te] == pair[1]).astype(np.int64)
        keys = ("scratch_sgd", "recipe", "scratch_adam", "frozen_adam", "finetune_adam")
        rows = {k: [] for k in keys}
        losses = {k: [] for k in keys}
        t0 = time.perf_counter()
        half_a, half_b = max(1, epochs_b // 5), epochs_long // 2
        for seed in seeds:
            idx = np.random.default_rng(1000 + seed).choice(pos_tr, N_B, replace=False)
            Xb, yb = Xtr[idx], (ytr[idx] == pair[1]).astype(np.int64)
            runs = {
                # The chapter's protocol.
                "scratch_sgd": (model_b_scratch, [(SGD(1e-3), epochs_b, None)]),
                "recipe": (lambda s: model_b_on_a(model_a, s),
                           [(SGD(1e-3), half_a, False), (SGD(1e-4), epochs_b - half_a, True)]),
                # Trained until the training loss has converged, Adam.
                "scratch_adam": (model_b_scratch, [(Adam(1e-3), epochs_long, None)]),
                "frozen_adam": (lambda s: model_b_on_a(model_a, s), [(Adam(1e-3), epochs_long, False)]),
                "finetune_adam": (lambda s: model_b_on_a(model_a, s),
                                  [(Adam(1e-3), half_b, False), (Adam(1e-4), epochs_long - half_b, True)]),
            }
            for key, (make, phases) in runs.items():
                m = make(seed)
                for opt, ep, trainable in phases:
                    last = _fit(m, Xb, yb, opt, ep, trainable)
                rows[key].append(accuracy_binary(m, Xb_te, yb_te))
                losses[key].append(last)
        results.append(dict(pair=pair, acc_a=acc_a, t_a=t_a, t_b=time.perf_counter() - t0,
                            n_test=int(te.sum()), rows=rows, losses=losses))
        print(f"pair {pair}: A (8 digits) test accuracy {acc_a * 100:.2f}%; "
              + ", ".join(f"{k} {mean_std(v)}" for k, v in rows.items()), flush=True)
    return results


# ---------------------------------------------------------------------------------------------
# experiment 2: pretraining
# ---------------------------------------------------------------------------------------------
def classifier(seed, init_layers=None, freeze=False):
    """784-300-100-10; hidden layers fresh, or copies of `init_layers`' weights."""
    hidden = [selu_dense(300), selu_dense(100)]
    model = dk.Sequential([Input(784)] + hidden + [Dense(10, activation="softmax")], seed=seed)
    if init_layers is not None:
        for layer, src in zip(hidden, init_layers):
            layer.set_weights(src.get_weights())
            layer.trainable = not freeze
    model.compile(optimizer=dk.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def clf_epochs_for(n, min_epochs, min_steps):
    """At least min_epochs, and at least min_steps batches of 32 (small sets need many epochs for
    the training loss to converge, most of all with a frozen encoder)."""
    return max(min_epochs, -(-min_steps // -(-n // 32)))


def run_pretrain(data, seeds, ae_epochs, clf_epochs, min_steps, sizes):
    (Xtr, ytr), _, (Xte, yte) = data
    t0 = time.perf_counter()
    ae, enc = pretrain.autoencoder(784, [300, 100], activation="selu", output_activation="sigmoid",
                                   loss="binary_crossentropy", optimizer=dk.optimizers.Adam(1e-3),
                                   seed=0)
    Xs = Xtr[:5000]
    ae_before = ae.evaluate(Xs, Xs)
    ae.fit(Xtr, Xtr, epochs=ae_epochs, batch_size=64, verbose=0)
    t_ae = time.perf_counter() - t0
    ae_after = ae.evaluate(Xs, Xs)
    t0 = time.perf_counter()
    greedy, hs = pretrain.greedy_layerwise(Xtr, [300, 100], epochs=ae_epochs, activation="selu",
                                           output_activation="sigmoid", loss="binary_crossentropy",
                                           optimizer=lambda: dk.optimizers.Adam(1e-3), batch_size=64,
                                           seed=0, return_histories=True)
    t_greedy = time.perf_counter() - t0
    print(f"stacked AE: reconstruction loss {ae_before:.4f} → {ae_after:.4f} "
          f"({t_ae:.0f} s); greedy stages: "
          + ", ".join(f"{x.history['loss'][0]:.4f} → {x.history['loss'][-1]:.4f}" for x in hs)
          + f" ({t_greedy:.0f} s)", flush=True)
    results = []
    for n in sizes:
        rows = {k: [] for k in ("scratch", "ae_finetune", "ae_frozen", "greedy_finetune")}
        losses = {k: [] for k in rows}
        epochs = clf_epochs_for(n, clf_epochs, min_steps)
        t0 = time.perf_counter()
        for seed in seeds:
            idx = np.random.default_rng(2000 + seed).choice(Xtr.shape[0], n, replace=False)
            X, y = Xtr[idx], ytr[idx]
            for key, init, freeze in (("scratch", None, False), ("ae_finetune", enc, False),
                                      ("ae_frozen", enc, True), ("greedy_finetune", greedy, False)):
                m = classifier(seed, init, freeze)
                h = m.fit(X, y, epochs=epochs, batch_size=32, verbose=0)
                rows[key].append(accuracy(m, Xte, yte))
                losses[key].append(h.history["loss"][-1])
        results.append(dict(n=n, rows=rows, losses=losses, epochs=epochs, t=time.perf_counter() - t0))
        print(f"{n} labelled: " + ", ".join(f"{k} {mean_std(v)}" for k, v in rows.items()), flush=True)
    info = dict(ae_loss=(ae_before, ae_after), t_ae=t_ae, t_greedy=t_greedy,
                greedy_loss=[(x.history["loss"][0], x.history["loss"][-1]) for x in hs])
    return results, info


# ---------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------
def paired(a, b):
    """Mean and std of the per-seed difference b − a, in points, and seeds where b > a."""
    d = (np.asarray(b) - np.asarray(a)) * 100
    return f"{d.mean():+.2f} ± {d.std(ddof=1) if len(d) > 1 else 0.0:.2f}", int((d > 0).sum())


def markdown(args, transfer, pre, total):
    seeds = args.seeds
    out = ["# Transfer learning and unsupervised pretraining on MNIST", "",
           f"Generated by `{' '.join(['python bench/transfer.py'] + sys.argv[1:])}` "
           f"on {platform.node() or 'this machine'} ({platform.processor() or platform.machine()}), "
           f"2 threads, densekit {dk.__version__}, seeds {', '.join(map(str, seeds))}; "
           f"total {total / 60:.1f} min. Settings: the docstring of bench/transfer.py.", ""]
    if transfer:
        half = max(1, args.epochs_b // 5)
        names = {"scratch_sgd": f"from scratch — chapter: SGD 1e-3, {args.epochs_b} ep.",
                 "recipe": f"on A — chapter recipe: frozen {half} ep. SGD 1e-3, then all layers "
                           f"{args.epochs_b - half} ep. SGD 1e-4",
                 "scratch_adam": f"from scratch — Adam 1e-3, {args.epochs_long} ep.",
                 "frozen_adam": f"on A, reused layers frozen — Adam 1e-3, {args.epochs_long} ep.",
                 "finetune_adam": f"on A — frozen {args.epochs_long // 2} ep. Adam 1e-3, then all "
                                  f"layers {args.epochs_long - args.epochs_long // 2} ep. Adam 1e-4"}
        out += ["## 1. Transfer: A on 8 digits → B = the other two, 200 labels", "",
                f"Test accuracy (%) on every test image of the pair, mean ± std over {len(seeds)} seeds "
                f"(each seed: a new draw of the 200 training images and new initializations of "
                f"what is trained), and the mean training loss (BCE) of the last epoch. "
                f"A: {args.epochs_a} epochs SGD 1e-3. The first two rows follow the chapter's "
                f"protocol; the last three train to a converged training loss "
                f"({args.epochs_long} epochs ≈ {args.epochs_long * -(-N_B // 32)} steps).", ""]
        for r in transfer:
            out += [f"### Pair {r['pair'][0]} vs {r['pair'][1]} (A: {r['acc_a'] * 100:.2f}% on its 8 "
                    f"digits; {r['n_test']} test images; A trained in {r['t_a']:.0f} s)", "",
                    "| B trained | accuracy % | final train loss | per seed |",
                    "|---|---|---|---|"]
            for k, v in r["rows"].items():
                out.append(f"| {names[k]} | {mean_std(v)} | {np.mean(r['losses'][k]):.3f} | "
                           + " ".join(f"{x * 100:.2f}" for x in v) + " |")
            cmp = [("recipe", "scratch_sgd", "chapter recipe vs chapter scratch"),
                   ("frozen_adam", "scratch_adam", "frozen reuse vs scratch (converged)"),
                   ("finetune_adam", "scratch_adam", "reuse + fine-tuning vs scratch (converged)")]
            out += [""] + [f"- {label}: {paired(r['rows'][b], r['rows'][a])[0]} points "
                           f"(better on {paired(r['rows'][b], r['rows'][a])[1]}/{len(seeds)} seeds)"
                           for a, b, label in cmp] + [""]
    if pre:
        results, info = pre
        names = {"scratch": "from scratch", "ae_finetune": "stacked AE init, fine-tuned",
                 "ae_frozen": "stacked AE encoder frozen, head only",
                 "greedy_finetune": "greedy layer-wise init, fine-tuned"}
        out += ["## 2. Autoencoder pretraining on 55,000 unlabeled images → few labels", "",
                f"Stacked autoencoder: {args.ae_epochs} epochs, reconstruction loss (BCE, on 5,000 "
                f"training images) {info['ae_loss'][0]:.4f} before training → {info['ae_loss'][1]:.4f} "
                f"after ({info['t_ae']:.0f} s). Greedy layer-wise: {args.ae_epochs} epochs per stage, "
                f"training loss first → last epoch: "
                + "; ".join(f"stage {i + 1} {a:.4f} → {b:.4f}" for i, (a, b) in enumerate(info["greedy_loss"]))
                + f" ({info['t_greedy']:.0f} s; stage 2 reconstructs codes, loss not comparable).", "",
                f"Test accuracy (%) on the 10,000 test images, mean ± std over {len(seeds)} seeds; "
                f"the classifier trains on n labelled images for at least {args.clf_epochs} epochs "
                f"and {args.min_steps} steps (Adam 1e-3, batch 32).", "",
                "| n labelled | epochs | " + " | ".join(names.values()) + " |",
                "|---|---|" + "---|" * len(names)]
        for r in results:
            out.append(f"| {r['n']} | {r['epochs']} | " + " | ".join(mean_std(r["rows"][k]) for k in names) + " |")
        out += ["", "Final training loss (cross-entropy, mean over seeds): "
                + "; ".join(f"n={r['n']}: " + ", ".join(f"{names[k]} {np.mean(r['losses'][k]):.3f}" for k in names)
                            for r in results) + "."]
        out += ["", "Paired difference to from-scratch (points, mean ± std over seeds; seeds better):", "",
                "| n labelled | " + " | ".join(list(names.values())[1:]) + " |",
                "|---|" + "---|" * (len(names) - 1)]
        for r in results:
            cells = []
            for k in list(names)[1:]:
                d, w = paired(r["rows"]["scratch"], r["rows"][k])
                cells.append(f"{d} ({w}/{len(seeds)})")
            out.append(f"| {r['n']} | " + " | ".join(cells) + " |")
        out += ["", "Per seed:", ""]
        for r in results:
            for k in names:
                out.append(f"- n={r['n']}, {names[k]}: " + " ".join(f"{x * 100:.2f}" for x in r["rows"][k]))
        out.append("")
    return "\n".join(out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", default="0,1,2,3,4")
    p.add_argument("--experiments", default="transfer,pretrain")
    p.add_argument("--quick", action="store_true", help="fewer epochs and one pair (smoke run)")
    p.add_argument("--out", default=os.path.join(HERE, "TRANSFER.md"))
    args = p.parse_args(argv)
    args.seeds = [int(s) for s in args.seeds.split(",")]
    args.epochs_a, args.epochs_b, args.epochs_long = (3, 10, 20) if args.quick else (20, 20, 200)
    args.ae_epochs, args.clf_epochs, args.min_steps = (1, 10, 100) if args.quick else (8, 30, 1500)
    experiments = args.experiments.split(",")
    dk.set_num_threads(2)
    data = dk.datasets.mnist_for_experiments()
    t0 = time.perf_counter()
    transfer = pre = None
    if "transfer" in experiments:
        transfer = run_transfer(data, args.seeds, args.epochs_a, args.epochs_b, args.epochs_long,
                                PAIRS[:1] if args.quick else PAIRS)
    if "pretrain" in experiments:
        pre = run_pretrain(data, args.seeds, args.ae_epochs, args.clf_epochs, args.min_steps,
                           LABELLED[:2] if args.quick else LABELLED)
    text = markdown(args, transfer, pre, time.perf_counter() - t0)
    marker = "<!-- notes -->"
    if os.path.exists(args.out):
        old = open(args.out, encoding="utf-8").read()
        if marker in old:
            text += "\n" + old[old.index(marker):]
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text if text.endswith("\n") else text + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
