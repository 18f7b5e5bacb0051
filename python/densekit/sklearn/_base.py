"""What MLPClassifier and MLPRegressor share: parameters, model building, fit / partial_fit.

What this file is for: turning scikit-learn's MLP parameters into a densekit `Sequential`,
validating and converting the data once, and training it with scikit-learn's semantics
(`max_iter` epochs, `tol`/`n_iter_no_change` stopping, early stopping on a held-out
`validation_fraction`, `warm_start`, `partial_fit` that keeps the optimizer's state). The fitted
network is `model_`, a plain `dk.Sequential`. It must not know about labels or output layers:
the classifier and the regressor supply those (`_encode_targets`, `_output_layer`).

Conventions kept from scikit-learn (its developer guide): `__init__` only stores parameters;
everything is checked in `fit`; fitted attributes end with "_"; `fit` returns self.

Decisions where densekit differs or scikit-learn is silent:
- dtype: `dtype=None` (default) keeps scikit-learn's MLP rule — float32 input → float32 model,
  anything else → float64 — which scikit-learn's checks require (a regressor's predictions on
  float64 data must be float64). densekit's speed is in float32: pass float32 data, or
  `dtype="float32"` to convert any input once. Later calls (predict, partial_fit, warm_start)
  convert their input to the fitted model's dtype; a warm start cannot change it.
- The objective is scikit-learn's, so that learning rates, alpha and tol tuned there carry over
  (tests/test_sklearn_estimators.py checks full-batch SGD trajectories against scikit-learn's own
  MLPs): the mean log-loss, or *half* the mean squared error for the regressor (densekit's mse
  weighted by ½ per sample), plus α/(2·B)·Σ‖W‖² over the kernels (not the biases) for batch size
  B — the sum of the sample weights for a full batch. densekit's l2(λ) adds λΣ‖W‖², so λ = α/(2B).
  (With several regression outputs scikit-learn reports the mean over outputs but steps along the
  gradient of their sum; densekit trains on the mean it reports.)
- batch_size="full": one step per epoch on the whole training set (deterministic gradient
  descent with any solver; shuffling is moot). The weighted loss then equals the loss on the data
  with each sample repeated as often as its integer weight, so sample_weight is exactly
  equivalent to repetition — what scikit-learn gets from its full-batch lbfgs solver.
- sample_weight: the weighted mean of the per-sample losses (normalised over the training set;
  scikit-learn normalises per batch, which coincides for a full batch).
- warm_start: a second fit continues the same network *and* its optimizer state (scikit-learn
  restarts its optimizer); a changed learning_rate_init is applied, a changed solver starts a new
  optimizer, and a change to anything that shapes the network raises.
- n_iter_: epochs run by the last fit; partial_fit counts its epochs cumulatively.
"""

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import activations, initializers, layers, optimizers, regularizers
from ..models import Sequential
from ._stopping import SklearnEpochs

_DTYPES = {None: None, "float32": np.float32, "float64": np.float64}


def _fail(est, message, error=ValueError):
    raise error(f"{type(est).__name__}: {message}")


class BaseMLP(BaseEstimator):
    """Base class; use MLPClassifier or MLPRegressor."""

    _loss_weight = 1.0  # per-sample loss factor giving scikit-learn's objective (½ for squared error)

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=1e-4,
                 batch_size="auto", learning_rate_init=1e-3, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10, dropout=0.0,
                 batch_norm=False, kernel_initializer="glorot_uniform", dtype=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.kernel_initializer = kernel_initializer
        self.dtype = dtype

    # -- scikit-learn protocol ---------------------------------------------------------------
    def __sklearn_is_fitted__(self):
        return hasattr(self, "model_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        # Fixed random_state → bit-identical refits (densekit is deterministic per seed).
        tags.non_deterministic = False
        return tags

    @property
    def coefs_(self):
        """Kernels of the Dense layers, (in, out) each, as scikit-learn's MLPs expose them
        (copies; with batch_norm the network also has BN layers these do not describe)."""
        check_is_fitted(self)
        return [l.kernel.copy() for l in self.model_.layers if isinstance(l, layers.Dense)]

    @property
    def intercepts_(self):
        check_is_fitted(self)
        return [l.bias.copy() if l.use_bias else np.zeros(l.units, self.model_.dtype)
                for l in self.model_.layers if isinstance(l, layers.Dense)]

    # -- parameters ----------------------------------------------------------------------------
    def _checked_params(self):
        """The parameters, checked; raises ValueError/TypeError naming the bad one."""
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, numbers.Integral):
            sizes = (sizes,)
        try:
            sizes = tuple(sizes)
        except TypeError:
            _fail(self, f"hidden_layer_sizes must be an int or a sequence of ints, got {sizes!r}")
        if not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) and s > 0
                   for s in sizes):
            _fail(self, f"hidden_layer_sizes must hold positive ints, got {self.hidden_layer_sizes!r}")
        try:
            activations.get(self.activation)
        except Exception as e:
            _fail(self, f"activation={self.activation!r}: {e}")
        if isinstance(self.solver, str) and self.solver.lower() == "lbfgs":
            _fail(self, "densekit has no L-BFGS solver; for full-batch training use "
                        "batch_size='full' with any densekit optimizer (e.g. solver='adam')")
        if not isinstance(self.solver, str):
            _fail(self, f"solver must be the name of a densekit optimizer, got {self.solver!r}")
        try:
            optimizers.get(self.solver.lower())
        except ValueError as e:
            _fail(self, f"solver: {e}")
        self._check_real("alpha", 0.0)
        self._check_real("learning_rate_init", 0.0, strict=True)
        self._check_real("tol", 0.0)
        bs = self.batch_size
        if not (bs in ("auto", "full") or (isinstance(bs, numbers.Integral)
                                            and not isinstance(bs, bool) and bs >= 1)):
            _fail(self, f"batch_size must be 'auto', 'full' or an int >= 1, got {bs!r}")
        for name in ("max_iter", "n_iter_no_change"):
            v = getattr(self, name)
            if not (isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1):
                _fail(self, f"{name} must be an int >= 1, got {v!r}")
        vf = self.validation_fraction
        if not (isinstance(vf, numbers.Real) and 0 < vf < 1):
            _fail(self, f"validation_fraction must be in (0, 1), got {vf!r}")
        if not (isinstance(self.dropout, numbers.Real) and 0 <= self.dropout < 1):
            _fail(self, f"dropout must be in [0, 1), got {self.dropout!r}")
        try:
            initializers.get(self.kernel_initializer)
        except Exception as e:
            _fail(self, f"kernel_initializer={self.kernel_initializer!r}: {e}")
        if self.dtype not in _DTYPES:
            _fail(self, f"dtype must be None, 'float32' or 'float64', got {self.dtype!r}")
        return sizes

    def _check_real(self, name, low, strict=False):
        v = getattr(self, name)
        ok = isinstance(v, numbers.Real) and not isinstance(v, bool) and np.isfinite(v) and (
            v > low if strict else v >= low)
        if not ok:
            _fail(self, f"{name} must be a finite number {'>' if strict else '>='} {low}, got {v!r}")

    def _architecture(self, sizes):
        """Everything that shapes the network: a warm start must find it unchanged."""
        return {"hidden_layer_sizes": sizes, "activation": self.activation,
                "alpha": float(self.alpha), "dropout": float(self.dropout),
                "batch_norm": bool(self.batch_norm), "kernel_initializer": self.kernel_initializer,
                "dtype": self.dtype}

    # -- data ----------------------------------------------------------------------------------
    def _input_dtype(self, reset):
        dtype = _DTYPES[self.dtype]
        if dtype is None:
            dtype = self.model_.dtype if hasattr(self, "model_") and not reset else (np.float64, np.float32)
        return dtype

    def _validate_X(self, X):
        return validate_data(self, X, reset=False, dtype=self._input_dtype(False), order="C")

    def _validate_Xy(self, X, y, reset, **kw):
        return validate_data(self, X, y, reset=reset, dtype=self._input_dtype(reset), order="C", **kw)

    def _sample_weight(self, sample_weight, n):
        if sample_weight is None:
            return None
        if isinstance(sample_weight, numbers.Real):
            w = np.full(n, float(sample_weight))
        else:
            w = np.asarray(sample_weight)
            if w.dtype == object or np.iscomplexobj(w) or not (
                    np.issubdtype(w.dtype, np.number) or w.dtype == bool):
                _fail(self, f"sample_weight must hold real numbers, got dtype {w.dtype}", TypeError)
            w = w.astype(np.float64)
        if w.shape != (n,):
            _fail(self, f"sample_weight must have shape ({n},), got {w.shape}")
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            _fail(self, "sample_weight must be finite and non-negative")
        if not w.sum() > 0:
            _fail(self, "sample_weight: all the sample weights are zero; at least one must be positive")
        return w

    def _loss_weights(self, w, n):
        """Per-sample weights for densekit's loss (the mean of weight × loss): the sample weights
        scaled to mean 1, so the loss is their weighted mean, times _loss_weight; None when that
        is 1 for every sample."""
        if w is not None and np.all(w == w[0]):
            w = None
        if w is not None:
            w = w * (w.shape[0] / w.sum())
        if self._loss_weight != 1.0:
            w = np.full(n, self._loss_weight) if w is None else w * self._loss_weight
        return w

    # -- model ---------------------------------------------------------------------------------
    def _build(self, sizes, n_features, n_outputs, dtype, seed, penalty_batch):
        lam = 0.5 * float(self.alpha) / penalty_batch
        reg = regularizers.l2(lam) if lam > 0 else None
        stack = [layers.Input(n_features)]
        for units in sizes:
            stack.append(layers.Dense(units, activation=None if self.batch_norm else self.activation,
                                      use_bias=not self.batch_norm,
                                      kernel_initializer=self.kernel_initializer,
                                      kernel_regularizer=reg))
            if self.batch_norm:
                stack += [layers.BatchNormalization(), layers.Activation(self.activation)]
            if self.dropout:
                stack.append(layers.Dropout(float(self.dropout)))
        activation, loss = self._output_layer(n_outputs)
        stack.append(layers.Dense(n_outputs, activation=activation,
                                  kernel_initializer=self.kernel_initializer, kernel_regularizer=reg))
        model = Sequential(stack, seed=seed, dtype=dtype)
        model.compile(optimizer=self._optimizer(), loss=loss)
        return model

    def _optimizer(self):
        kind = type(optimizers.get(self.solver.lower()))
        return kind(learning_rate=float(self.learning_rate_init))

    def _reset_training_attributes(self):
        self.loss_curve_ = []
        self.n_iter_ = 0
        self.t_ = 0
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = np.inf

    def _batch(self, n_train):
        if self.batch_size == "full":
            return n_train
        if self.batch_size == "auto":
            return min(200, n_train)
        if self.batch_size > n_train:
            warnings.warn(f"{type(self).__name__}: batch_size={self.batch_size} exceeds the "
                          f"{n_train} training samples; it is clipped", UserWarning, stacklevel=4)
        return min(int(self.batch_size), n_train)

    # -- training ------------------------------------------------------------------------------
    def _fit(self, X, y, sample_weight, incremental, classes=None):
        sizes = self._checked_params()
        fitted = hasattr(self, "model_")
        continuing = fitted and (incremental or self.warm_start)
        if incremental and self.early_stopping:
            _fail(self, "partial_fit does not support early_stopping=True")
        X, y = self._validate_Xy(X, y, reset=not continuing, **self._target_validation())
        Y = self._encode_targets(y, continuing, incremental, classes)
        dtype = np.dtype(self.model_.dtype if continuing else (_DTYPES[self.dtype] or X.dtype))
        X = np.ascontiguousarray(X, dtype=dtype)
        w = self._sample_weight(sample_weight, X.shape[0])
        w = self._class_weighted(w, y)

        if continuing:
            self._continue(sizes)
        else:
            self._reset_training_attributes()
            self._seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        validation = None
        if self.early_stopping:
            X, Y, w, validation = self._split_validation(X, Y, y, w)
        batch = self._batch(X.shape[0])
        if not continuing:
            full = self.batch_size == "full"
            penalty_batch = (w.sum() if w is not None else X.shape[0]) if full else batch
            self.model_ = self._build(sizes, X.shape[1], self._n_model_outputs(Y), dtype,
                                      self._seed, penalty_batch)
            self._arch = self._architecture(sizes)
            self._solver = self.solver.lower()
        # The column names travel with the network (model_.save keeps them in the file).
        names = getattr(self, "feature_names_in_", None)
        self.model_.feature_names = (None if names is None or not all(names)
                                     else [str(c) for c in names])
        self.n_outputs_ = self._n_model_outputs(Y)
        if not incremental:
            self.n_iter_ = 0
        monitor = SklearnEpochs(self, X.shape[0], validation, incremental)
        self._stop_reason = None
        self.model_.fit(X, Y, batch_size=batch, epochs=1 if incremental else int(self.max_iter),
                        shuffle=bool(self.shuffle) and batch < X.shape[0],
                        sample_weight=self._loss_weights(w, X.shape[0]), callbacks=[monitor],
                        verbose=0)
        if validation is not None:
            monitor.restore_best()
        if not incremental and self._stop_reason is None and self.n_iter_ == self.max_iter:
            warnings.warn(f"{type(self).__name__}: maximum iterations ({self.max_iter}) reached "
                          f"and the optimization hasn't converged yet.", ConvergenceWarning,
                          stacklevel=3)
        return self

    def _continue(self, sizes):
        """warm_start / partial_fit: same network; apply what may change between calls."""
        arch = self._architecture(sizes)
        changed = [k for k in arch if arch[k] != self._arch.get(k)]
        if changed:
            _fail(self, f"cannot continue training (warm_start or partial_fit) after changing "
                        f"{', '.join(changed)}: these shape the fitted network; refit from scratch "
                        f"(warm_start=False)")
        if self.solver.lower() != self._solver:
            self.model_.compile(optimizer=self._optimizer(), loss=self.model_.loss)
            self._solver = self.solver.lower()
        elif self.model_.optimizer.learning_rate != float(self.learning_rate_init):
            self.model_.optimizer.learning_rate = float(self.learning_rate_init)
        if self.early_stopping and self.validation_scores_ is None:
            self.validation_scores_, self.best_validation_score_, self.best_loss_ = [], -np.inf, None
        elif not self.early_stopping and self.best_loss_ is None:
            self.validation_scores_, self.best_validation_score_ = None, None
            self.best_loss_ = np.inf

    def _split_validation(self, X, Y, y, w):
        idx = np.arange(X.shape[0])
        stratify = y if self._stratify else None
        tr, va = train_test_split(idx, test_size=self.validation_fraction,
                                  random_state=self._seed, stratify=stratify)
        if va.shape[0] < 2:
            _fail(self, "the validation set is too small; increase validation_fraction or the "
                        "size of your dataset")
        tr.sort()
        va.sort()
        validation = (X[va], self._val_targets(y[va]), None if w is None else w[va])
        return X[tr], Y[tr], None if w is None else w[tr], validation

    def _class_weighted(self, w, y):
        return w

    def _predict_raw(self, X):
        check_is_fitted(self)
        X = self._validate_X(X)
        return self.model_.predict(np.ascontiguousarray(X, dtype=self.model_.dtype))
