"""Hyperparameter search with Ray Tune's ASHA scheduler on one machine, one thread per trial.

Run: python examples/ray_tune_asha.py [--trials 12] [--cpus 2]
Needs: pip install "densekit[ray,sklearn]" (scikit-learn only provides the digits data).

Ray starts a local cluster in this process's machine (`ray.init(num_cpus=...)`); each trial gets
one CPU and densekit runs one thread in it, so `--cpus` trials run side by side without
oversubscribing the cores. Every epoch, dk.integrations.ray.TuneReportCallback reports the
validation loss and accuracy; ASHA stops the trials whose curves fall behind early.
"""

import argparse

import numpy as np
import ray
from ray import tune
from ray.tune.schedulers import ASHAScheduler
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import densekit as dk
from densekit.integrations.ray import TuneReportCallback


def digits():
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


def train_digits(config, data=None, epochs=15):
    dk.set_num_threads(1)  # one CPU per trial (Ray's OMP_NUM_THREADS says the same)
    X_train, X_val, y_train, y_val = data
    model = dk.Sequential([dk.layers.Input(X_train.shape[1]),
                           dk.layers.Dense(config["units"], activation="relu"),
                           dk.layers.Dense(10, activation="softmax")], seed=0)
    model.compile(optimizer=dk.optimizers.Adam(learning_rate=config["learning_rate"]),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X_train, y_train, epochs=epochs, batch_size=32, validation_data=(X_val, y_val),
              verbose=0, callbacks=[TuneReportCallback({"val_loss": "val_loss",
                                                        "val_accuracy": "val_accuracy"})])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--cpus", type=int, default=2)
    args = parser.parse_args(argv)
    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
    try:
        trainable = tune.with_resources(
            tune.with_parameters(train_digits, data=digits(), epochs=args.epochs), {"cpu": 1})
        tuner = tune.Tuner(
            trainable,
            param_space={"units": tune.choice([16, 64, 256]),
                         "learning_rate": tune.loguniform(1e-4, 3e-2)},
            tune_config=tune.TuneConfig(metric="val_loss", mode="min", num_samples=args.trials,
                                        scheduler=ASHAScheduler(max_t=args.epochs,
                                                                grace_period=2,
                                                                reduction_factor=2)))
        results = tuner.fit()
        epochs_run = [r.metrics.get("epoch", 0) for r in results]
        best = results.get_best_result()
        print(f"{len(results)} trials; epochs run per trial: {sorted(epochs_run)}")
        print(f"best val_loss {best.metrics['val_loss']:.4f} "
              f"(val_accuracy {best.metrics['val_accuracy']:.4f}) with {best.config}")
        return results
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
