"""The `densekit` command: `demo` trains on a dataset that ships with scikit-learn and prints test
accuracy; `info` describes the build and the machine."""

import argparse
import sys
import time


def _demo(args):
    import numpy as np

    import densekit as dk
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        print("densekit demo needs scikit-learn: pip install 'densekit[sklearn]'", file=sys.stderr)
        return 2
    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    y = digits.target
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(X))
    n_test = len(X) // 5
    test, train = order[:n_test], order[n_test:]
    model = dk.Sequential([
        dk.layers.Input(64),
        dk.layers.Dense(128, activation="relu", kernel_initializer="he_normal"),
        dk.layers.Dense(64, activation="relu", kernel_initializer="he_normal"),
        dk.layers.Dense(10, activation="softmax"),
    ], seed=args.seed)
    model.compile(optimizer=dk.optimizers.Adam(learning_rate=1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    print(f"densekit {dk.__version__} demo: scikit-learn digits (8x8 images, 10 classes), "
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


def _info(args):
    import os
    import platform

    import numpy as np

    import densekit as dk
    print(f"densekit {dk.__version__}  (core: {dk._core.__file__})")
    print(f"core built with: {dk._native.ISA}")
    print(f"python {platform.python_version()}, numpy {np.__version__}")
    print(f"threads: {dk.get_num_threads()} (OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}), "
          f"cores: {os.cpu_count()}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="densekit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train an MLP on scikit-learn's digits and report accuracy")
    demo.add_argument("--epochs", type=int, default=30)
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=_demo)
    info = sub.add_parser("info", help="describe the build and the machine")
    info.set_defaults(func=_info)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
