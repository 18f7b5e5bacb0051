"""scikit-learn's estimator checks on dk.sklearn.MLPClassifier / MLPRegressor.

Mini-batch solvers: only the sample-weight-equivalence check may fail (expected_failed_checks
gives the reason). The full-batch configuration (batch_size="full") passes it too.
"""

import pytest

pytest.importorskip("sklearn")
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from densekit.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

_MINIBATCH_REASON = (
    "mini-batch training: repeating a sample puts it into more batches (and changes which samples "
    "share a batch and how many steps an epoch takes), so weighting by an integer is not the same "
    "as repeating; batch_size='full' makes them equivalent and passes this check")

# The defaults (as a user gets them) with mini-batches, and a full-batch configuration: one step
# per epoch needs a larger learning rate to fit the checks' data in max_iter steps.
ESTIMATORS = [
    MLPClassifier(),
    MLPRegressor(),
    MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=1e-2, batch_size="full"),
    MLPRegressor(hidden_layer_sizes=(16,), learning_rate_init=1e-2, batch_size="full"),
]


def _expected_failures(estimator):
    if estimator.batch_size == "full":
        return {}
    return {"check_sample_weight_equivalence_on_dense_data": _MINIBATCH_REASON}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failures)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
