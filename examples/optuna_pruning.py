"""Hyperparameter search with Optuna, pruning unpromising trials after each epoch.

Runs on one machine in well under a minute: python examples/optuna_pruning.py [--trials 20]
Needs: pip install "densekit[optuna,sklearn]" (scikit-learn only provides the digits data).

Each trial trains a small densekit network on the digits and reports its validation loss after
every epoch through dk.integrations.optuna.PruningCallback; Optuna's MedianPruner stops a trial
whose curve falls behind the median of the earlier trials at the same epoch.
"""

import argparse

import numpy as np
import optuna
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import densekit as dk
from densekit.integrations.optuna import PruningCallback


def digits():
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


def objective(trial, data, epochs):
    X_train, X_val, y_train, y_val = data
    units = trial.suggest_categorical("units", [16, 64, 256])
    lr = trial.suggest_float("learning_rate", 1e-4, 3e-2, log=True)
    model = dk.Sequential([dk.layers.Input(X_train.shape[1]),
                           dk.layers.Dense(units, activation="relu"),
                           dk.layers.Dense(10, activation="softmax")], seed=trial.number)
    model.compile(optimizer=dk.optimizers.Adam(learning_rate=lr),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X_train, y_train, epochs=epochs, batch_size=32, validation_data=(X_val, y_val),
              verbose=0, callbacks=[PruningCallback(trial, monitor="val_loss")])
    return model.evaluate(X_val, y_val)[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=15)
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    data = digits()
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=0),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=3,
                                                                   n_warmup_steps=2))
    study.optimize(lambda t: objective(t, data, args.epochs), n_trials=args.trials)
    states = [t.state for t in study.trials]
    pruned = states.count(optuna.trial.TrialState.PRUNED)
    complete = states.count(optuna.trial.TrialState.COMPLETE)
    print(f"{complete} trials completed, {pruned} pruned")
    print(f"best validation loss {study.best_value:.4f} with {study.best_params}")
    return study


if __name__ == "__main__":
    main()
