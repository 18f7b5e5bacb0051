"""MLPRegressor: scikit-learn's MLP regressor API on a densekit network.

What this file is for: numeric targets (one or several outputs) → a linear output layer trained
on half the mean squared error, scikit-learn's objective (so learning rates, `loss_curve_` and
`tol` read as they do there). Training lives in _base.py.
"""

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.validation import column_or_1d

from ._base import BaseMLP


class MLPRegressor(RegressorMixin, BaseMLP):
    """Multi-layer perceptron regressor trained by densekit's C++ core.

    Parameters as MLPClassifier's, without class_weight. y may be (n_samples,) or
    (n_samples, n_outputs) (multi-output regression: one network, n_outputs linear units).
    Fitted attributes: model_, n_features_in_, feature_names_in_, n_outputs_, loss_,
    loss_curve_, best_loss_, validation_scores_, best_validation_score_, n_iter_, t_, coefs_,
    intercepts_, out_activation_.
    """

    _stratify = False
    _loss_weight = 0.5  # scikit-learn minimises half the squared error

    def fit(self, X, y, sample_weight=None):
        """Trains for up to max_iter epochs (fresh, or continuing with warm_start). Returns self."""
        return self._fit(X, y, sample_weight, incremental=False)

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y), continuing the network and its optimizer state."""
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        out = self._predict_raw(X)
        return out[:, 0] if self._y_1d else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    # -- hooks used by _base -------------------------------------------------------------------
    def _target_validation(self):
        return {"multi_output": True, "y_numeric": True}

    @property
    def out_activation_(self):
        return "identity"

    def _output_layer(self, n_outputs):
        return "linear", "mse"

    def _n_model_outputs(self, Y):
        return Y.shape[1]

    def _encode_targets(self, y, continuing, incremental, classes):
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        y_1d = y.ndim == 1
        if continuing and y_1d != self._y_1d and (y_1d or y.shape[1] != 1):
            raise ValueError(f"MLPRegressor: y has {1 if y_1d else y.shape[1]} outputs, the fitted "
                             f"network {self.n_outputs_}")
        if not continuing:
            self._y_1d = y_1d
        return y.reshape(y.shape[0], -1)

    def _val_targets(self, y):
        return y

    def _val_score(self, X, y, w):
        out = self.model_.predict(X)
        return r2_score(y, out[:, 0] if self._y_1d else out, sample_weight=w)
