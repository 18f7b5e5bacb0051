"""`densekit demo`: trains an MLP on a dataset that ships with scikit-learn (the 8x8 digits) and
prints the test accuracy — a one-command check that an installation works and is fast."""

import sys
import time

import numpy as np

from .. import layers, optimizers
from .._version import __version__
from ..models import Sequential

from .errors import CLIError


def _demo(args):
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise CLIError("the demo needs scikit-learn: pip install 'densekit[sklearn]'") from None
    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    y = digits.target
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(X))
    n_test = len(X) // 5
    test, train = order[:n_test], order[n_test:]
    model = Sequential([
        layers.Input(64),
        layers.Dense(128, activation="relu", kernel_initializer="he_normal"),
        layers.Dense(64, activation="relu", kernel_initializer="he_normal"),
        layers.Dense(10, activation="softmax"),
    ], seed=args.seed)
    model.compile(optimizer=optimizers.Adam(learning_rate=1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    print(f"densekit {__version__} demo: scikit-learn digits (8x8 images, 10 classes), "
          f"{len(train)} train / {len(test)} test samples")
    model.summary()
    t0 = time.perf_counter()
    model.fit(X[train], y[train], epochs=args.epochs, batch_size=32, validation_split=0.1,
              verbose=2 if not sys.stdout.isatty() else 1)
    elapsed = time.perf_counter() - t0
    loss, acc = model.evaluate(X[test], y[test])
    print(f"trained {args.epochs} epochs in {elapsed:.2f} s; test loss {loss:.4f}, "
          f"test accuracy {acc * 100:.2f}%")
    return 0


def add_commands(sub):
    demo = sub.add_parser("demo", help="train an MLP on scikit-learn's digits and report accuracy")
    demo.add_argument("--epochs", type=int, default=30)
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=_demo)
