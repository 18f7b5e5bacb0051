"""The per-epoch bookkeeping of scikit-learn's MLPs, as a densekit callback.

What this file is for: during `Sequential.fit`, after every epoch, record the loss
(`loss_curve_`, `loss_`, `n_iter_`, `t_`) and apply scikit-learn's stopping
rule — stop once the training loss (or, with early_stopping, the validation score) has failed to
improve by `tol` for more than `n_iter_no_change` consecutive epochs — keeping the best weights
seen when early stopping. It runs at epoch granularity only, so whole epochs stay in C++.
It must not decide anything about the model's architecture or data: _base.py does.
"""

import numpy as np

from ..callbacks import Callback


class SklearnEpochs(Callback):
    """Writes an estimator's fitted training attributes epoch by epoch and stops training as
    scikit-learn's MLPs do.

    validation: None, or (X_val, y_val, sample_weight_val) scored with `estimator._val_score`.
    incremental: partial_fit — record, but never stop (one epoch per call, as scikit-learn)."""

    def __init__(self, estimator, n_train, validation, incremental):
        super().__init__()
        self.est = estimator
        self.n_train = n_train
        self.validation = validation
        self.incremental = incremental
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        est = self.est
        loss = float(logs["loss"])
        est.loss_ = loss
        est.loss_curve_.append(loss)
        est.n_iter_ += 1
        est.t_ += self.n_train
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {loss:.8f}")
        if self.validation is not None:
            score = est._val_score(*self.validation)
            est.validation_scores_.append(score)
            if est.verbose:
                print(f"Validation score: {score:f}")
            improved = score >= est.best_validation_score_ + est.tol
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
                self.best_weights = self.model.get_weights()
        else:
            improved = not loss > est.best_loss_ - est.tol
            if loss < est.best_loss_:
                est.best_loss_ = loss
        est._no_improvement_count = 0 if improved else est._no_improvement_count + 1
        if not np.isfinite(loss):
            self.model.stop_training = True
        if est._no_improvement_count > est.n_iter_no_change and not self.incremental:
            what = "Validation score" if self.validation is not None else "Training loss"
            est._stop_reason = (f"{what} did not improve more than tol={est.tol:f} for "
                                f"{est.n_iter_no_change} consecutive epochs.")
            if est.verbose:
                print(est._stop_reason + " Stopping.")
            self.model.stop_training = True

    def restore_best(self):
        """Early stopping: put back the weights of the best validation score (as scikit-learn)."""
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)
