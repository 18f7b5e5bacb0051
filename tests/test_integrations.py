"""dk.integrations: the Optuna pruning callback (for real, with Optuna's own trials and pruners)
and the Ray Tune reporting callback (a real local Tune run with ASHA; marked slow, since starting
Ray takes seconds). Each skips without its library."""

import sys

import numpy as np
import pytest

import densekit as dk


def _model(seed=0):
    model = dk.Sequential([dk.layers.Input(4), dk.layers.Dense(8, activation="relu"),
                           dk.layers.Dense(3, activation="softmax")], seed=seed)
    model.compile(optimizer=dk.optimizers.Adam(learning_rate=1e-2),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _data(n=120):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    return X, np.digitize(X[:, 0], [-0.5, 0.5])


def test_optuna_pruning_callback_reports_every_epoch_and_prunes():
    optuna = pytest.importorskip("optuna")
    from densekit.integrations.optuna import PruningCallback

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    X, y = _data()

    def objective(trial):
        model = _model(trial.number)
        model.fit(X, y, epochs=4, validation_split=0.25, verbose=0,
                  callbacks=[PruningCallback(trial, monitor="val_loss")])
        return model.history.history["val_loss"][-1]

    # No pruning: every epoch is reported, at steps 0..3, with the History's values.
    study = optuna.create_study(pruner=optuna.pruners.NopPruner())
    study.optimize(objective, n_trials=1)
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.COMPLETE
    assert sorted(trial.intermediate_values) == [0, 1, 2, 3]
    assert trial.intermediate_values[3] == pytest.approx(trial.value)
    # A pruner that prunes any loss above 0 stops the trial after its first epoch.
    study = optuna.create_study(pruner=optuna.pruners.ThresholdPruner(upper=0.0))
    study.optimize(objective, n_trials=2)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.PRUNED] * 2
    assert all(sorted(t.intermediate_values) == [0] for t in study.trials)


def test_optuna_pruning_callback_names_a_missing_metric():
    optuna = pytest.importorskip("optuna")
    from densekit.integrations.optuna import PruningCallback

    X, y = _data()
    trial = optuna.create_study().ask()
    with pytest.raises(KeyError, match="validation_data"):
        _model().fit(X, y, epochs=1, verbose=0, callbacks=[PruningCallback(trial, "val_loss")])
    with pytest.raises(ValueError, match="interval"):
        PruningCallback(trial, interval=0)


@pytest.mark.slow
def test_ray_tune_report_callback_drives_asha():
    pytest.importorskip("ray.tune")
    import ray
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    from densekit.integrations.ray import TuneReportCallback

    X, y = _data()

    def trainable(config):
        model = _model()
        model.optimizer.learning_rate = config["lr"]
        model.fit(X, y, epochs=6, validation_split=0.25, verbose=0,
                  callbacks=[TuneReportCallback({"loss": "val_loss", "acc": "val_accuracy"})])

    # Ray's workers cannot import this test module: ship its functions by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        results = tune.Tuner(
            tune.with_resources(trainable, {"cpu": 1}),
            param_space={"lr": tune.grid_search([1e-5, 1e-4, 1e-2, 3e-2])},
            tune_config=tune.TuneConfig(metric="loss", mode="min", scheduler=ASHAScheduler(
                max_t=6, grace_period=1, reduction_factor=2))).fit()
    finally:
        ray.shutdown()
    epochs = sorted(r.metrics["epoch"] for r in results)
    assert all(r.error is None for r in results)
    assert epochs[-1] == 6 and epochs[0] < 6  # the best ran to the end; ASHA stopped others
    assert all({"loss", "acc", "epoch"} <= set(r.metrics) for r in results)
