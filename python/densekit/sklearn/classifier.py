"""MLPClassifier: scikit-learn's MLP classifier API on a densekit network.

What this file is for: labels (any sortable labels: ints, strings, non-contiguous values) ↔ class
ids, the softmax output layer with sparse categorical cross-entropy (binary problems too: two
softmax units are the logistic model), class_weight with scikit-learn's formula, predict and
predict_proba. Training lives in _base.py. Multilabel targets are refused with a clear error.
"""

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d

from ._base import BaseMLP, _fail


class MLPClassifier(ClassifierMixin, BaseMLP):
    """Multi-layer perceptron classifier trained by densekit's C++ core.

    Parameters are scikit-learn's `MLPClassifier`'s (hidden_layer_sizes, activation — any
    densekit activation, 'identity'/'logistic' included —, solver — any densekit optimizer:
    'adam', 'nadam', 'sgd', 'rmsprop', 'adagrad', 'adamax', 'adamw' —, alpha, batch_size — also
    'full' for one full-batch step per epoch —, learning_rate_init, max_iter, shuffle,
    random_state, tol, verbose, warm_start, early_stopping, validation_fraction,
    n_iter_no_change) plus densekit's: dropout (rate after each hidden layer), batch_norm (Dense →
    BatchNormalization → activation), kernel_initializer, class_weight (dict {label: weight} or
    'balanced': n_samples / (n_classes · count per class), as scikit-learn) and dtype (None: follow
    the input as scikit-learn does; 'float32' or 'float64').

    Fitted attributes: model_ (the dk.Sequential), classes_, n_features_in_, feature_names_in_
    (pandas input), n_outputs_, loss_, loss_curve_, best_loss_, validation_scores_,
    best_validation_score_, n_iter_, t_, coefs_, intercepts_, out_activation_.
    """

    _stratify = True

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=1e-4,
                 batch_size="auto", learning_rate_init=1e-3, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10, dropout=0.0,
                 batch_norm=False, kernel_initializer="glorot_uniform", class_weight=None,
                 dtype=None):
        super().__init__(hidden_layer_sizes, activation, solver=solver, alpha=alpha,
                         batch_size=batch_size, learning_rate_init=learning_rate_init,
                         max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol,
                         verbose=verbose, warm_start=warm_start, early_stopping=early_stopping,
                         validation_fraction=validation_fraction,
                         n_iter_no_change=n_iter_no_change, dropout=dropout,
                         batch_norm=batch_norm, kernel_initializer=kernel_initializer, dtype=dtype)
        self.class_weight = class_weight

    def fit(self, X, y, sample_weight=None):
        """Trains for up to max_iter epochs (fresh, or continuing with warm_start). Returns self."""
        return self._fit(X, y, sample_weight, incremental=False)

    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over (X, y), continuing the network and its optimizer state. `classes` (all
        the labels that will ever be seen) is required on the first call."""
        if not hasattr(self, "model_") and classes is None:
            _fail(self, "classes must be passed on the first call to partial_fit")
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def predict_proba(self, X):
        """Class probabilities, (n_samples, n_classes), columns in the order of classes_."""
        return self._predict_raw(X)

    def predict_log_proba(self, X):
        p = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(p, out=p)

    def predict(self, X):
        proba = self._predict_raw(X)  # checks that the estimator is fitted
        return self.classes_[np.argmax(proba, axis=1)]

    # -- hooks used by _base -------------------------------------------------------------------
    def _target_validation(self):
        return {}

    @property
    def out_activation_(self):
        return "softmax"

    def _output_layer(self, n_outputs):
        return "softmax", "sparse_categorical_crossentropy"

    def _n_model_outputs(self, Y):
        return len(self.classes_)

    def _encode_targets(self, y, continuing, incremental, classes):
        target = type_of_target(y, input_name="y")
        if target.startswith("multilabel") or target == "multiclass-multioutput":
            _fail(self, f"multilabel / multi-output targets ({target}) are not supported; fit one "
                        f"classifier per output (sklearn.multioutput.MultiOutputClassifier)")
        check_classification_targets(y)
        y = column_or_1d(y, warn=True)
        if continuing:
            if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
                _fail(self, f"classes={list(classes)} differs from the classes of the first "
                            f"partial_fit call, {list(self.classes_)}")
            labels = np.unique(y)
            if self.warm_start and not incremental and not np.array_equal(labels, self.classes_):
                _fail(self, f"warm_start needs the same classes as the previous fit: got "
                            f"{list(labels)}, expected {list(self.classes_)}")
        else:
            self.classes_ = np.unique(classes if classes is not None else y)
            if len(self.classes_) < 2:
                _fail(self, f"needs samples of at least 2 classes in the data, but the data "
                            f"contains only one class: {self.classes_[0]!r}")
        ids = np.searchsorted(self.classes_, y)
        unseen = (ids >= len(self.classes_)) | (self.classes_[np.minimum(ids, len(self.classes_) - 1)] != y)
        if unseen.any():
            _fail(self, f"y contains labels {sorted(set(np.asarray(y)[unseen].tolist()))} not in "
                        f"classes_ {list(self.classes_)}")
        return ids.astype(np.int64)

    def _class_weighted(self, w, y):
        if self.class_weight is None:
            return w
        if not (self.class_weight == "balanced" or isinstance(self.class_weight, dict)):
            _fail(self, f"class_weight must be None, 'balanced' or a dict {{label: weight}}, got "
                        f"{self.class_weight!r}")
        cw = compute_sample_weight(self.class_weight, y)
        return cw if w is None else w * cw

    def _val_targets(self, y):
        return y

    def _val_score(self, X, y, w):
        labels = self.classes_[np.argmax(self.model_.predict(X), axis=1)]
        return accuracy_score(y, labels, sample_weight=w)
