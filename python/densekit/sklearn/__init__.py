"""scikit-learn estimators on densekit networks: `MLPClassifier` and `MLPRegressor`.

Drop-in for scikit-learn's MLPs (same parameter names and fitted attributes, plus densekit's
dropout, batch_norm, kernel_initializer, class_weight, any densekit optimizer as solver), usable
in Pipeline, GridSearchCV, cross_val_score, pickle and joblib. Importing this package also makes
densekit's thread pool visible to threadpoolctl (densekit.threadpool), so
`threadpool_limits(1)` and joblib's worker limits keep nested parallelism from oversubscribing.

Needs the `sklearn` extra: pip install "densekit[sklearn]".
"""

from .. import threadpool  # noqa: F401 (registers the threadpoolctl controller)
from .classifier import MLPClassifier
from .regressor import MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
