"""Accuracy of the int8 kernel's schemes on MNIST, emulated in NumPy on a W1 model trained by torch.

Why this exists: the int8 kernel (cpp/include/densekit/kernels/qgemm.hpp) offers 8-bit or 7-bit
activations × 8-bit or 7-bit weights, all computed exactly on every CPU; AVX2 is fast only when
one side is 7-bit. This script measures what each choice costs in test accuracy, so the default
is chosen on data. It transcribes the kernel's scheme (per-row asymmetric activations with a
zero point, per-output-channel symmetric weights, int32 sums, fp32 epilogue) in NumPy; the C++
tests check the kernel against the same scheme bit for bit.

    python bench/quant_scheme_accuracy.py DATA_DIR [--epochs 10] [--seeds 3]

DATA_DIR holds the MNIST IDX files (train-images-idx3-ubyte.gz, ...). Needs torch.
"""
import argparse
import gzip
import os

import numpy as np
import torch


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(data_dir):
    x = idx(os.path.join(data_dir, "train-images-idx3-ubyte.gz")).reshape(-1, 784).astype(np.float32) / 255
    y = idx(os.path.join(data_dir, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    xt = idx(os.path.join(data_dir, "t10k-images-idx3-ubyte.gz")).reshape(-1, 784).astype(np.float32) / 255
    yt = idx(os.path.join(data_dir, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    return x[:55000], y[:55000], xt, yt  # the last 5,000 training images are E1's validation set


def train_w1(x, y, epochs, seed):
    """E1: 784-300-100-10 ReLU, He-normal, Adam 1e-3, batch 32."""
    torch.manual_seed(seed)
    layers = [torch.nn.Linear(784, 300), torch.nn.Linear(300, 100), torch.nn.Linear(100, 10)]
    for layer in layers:
        torch.nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
        torch.nn.init.zeros_(layer.bias)
    model = torch.nn.Sequential(layers[0], torch.nn.ReLU(), layers[1], torch.nn.ReLU(), layers[2])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xs, ys = torch.from_numpy(x), torch.from_numpy(y)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for idx_ in torch.randperm(len(xs), generator=g).split(32):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xs[idx_]), ys[idx_]).backward()
            opt.step()
    return [(l.weight.detach().numpy().T.copy(), l.bias.detach().numpy().copy()) for l in layers]


def quantize_weights(w, weight_max):
    amax = np.abs(w).max(axis=0)
    scale = (amax / np.float32(weight_max)).astype(np.float32)
    safe = np.where(scale > 0, scale, 1).astype(np.float32)
    q = np.clip(np.rint(w / safe), -weight_max, weight_max)
    return np.where(scale > 0, q, 0).astype(np.int64), scale


def quantize_rows(x, act_max):
    lo = np.minimum(x.min(axis=1), 0).astype(np.float32)
    hi = np.maximum(x.max(axis=1), 0).astype(np.float32)
    rng = (hi - lo).astype(np.float32)
    ok = rng > 0
    inv = np.where(ok, np.float32(act_max) / np.where(ok, rng, 1), 0).astype(np.float32)
    zp = np.clip(np.rint(-lo * inv), 0, act_max)
    t = np.clip(x * inv[:, None], -zp[:, None], act_max - zp[:, None])
    q = (np.rint(t) + zp[:, None]).astype(np.int64)
    scale = np.where(ok, rng / np.float32(act_max), 0).astype(np.float32)
    return q, scale, zp.astype(np.int64)


def int8_forward(params, x, act_max, weight_max):
    a = x
    for i, (w, b) in enumerate(params):
        wq, sw = quantize_weights(w, weight_max)
        q, sx, zp = quantize_rows(a, act_max)
        acc = q @ wq - zp[:, None] * wq.sum(axis=0)[None, :]
        a = acc.astype(np.float32) * (sx[:, None] * sw[None, :]) + b
        if i < len(params) - 1:
            a = np.maximum(a, 0)
    return a


def float_forward(params, x, f16=False):
    a = x
    for i, (w, b) in enumerate(params):
        if f16:
            w = w.astype(np.float16).astype(np.float32)
        a = a @ w + b
        if i < len(params) - 1:
            a = np.maximum(a, 0)
    return a


def main():
    p = argparse.ArgumentParser()
    p.add_argument("data")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seeds", type=int, default=3)
    args = p.parse_args()
    torch.set_num_threads(2)
    x, y, xt, yt = load(args.data)
    schemes = {"fp32": None, "fp16 weights": "f16", "u8 x s8": (255, 127), "u7 x s8": (127, 127),
               "u8 x s7": (255, 63), "u7 x s7": (127, 63)}
    acc = {k: [] for k in schemes}
    for seed in range(args.seeds):
        params = train_w1(x, y, args.epochs, seed)
        for name, s in schemes.items():
            out = float_forward(params, xt, f16=s == "f16") if s in (None, "f16") else int8_forward(params, xt, *s)
            acc[name].append(100.0 * float((out.argmax(axis=1) == yt).mean()))
    print(f"| scheme | MNIST test accuracy (%), {args.seeds} seeds, {args.epochs} epochs | loss vs fp32 (points) |")
    print("|---|---|---|")
    base = np.array(acc["fp32"])
    for name, v in acc.items():
        v = np.array(v)
        print(f"| {name} | {' / '.join(f'{a:.2f}' for a in v)} | {np.mean(base - v):+.3f} (worst {np.max(base - v):+.3f}) |")


if __name__ == "__main__":
    main()
