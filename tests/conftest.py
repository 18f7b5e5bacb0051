"""Fixtures shared by the test files: small datasets, model factories and state comparisons.

Each is small on purpose (a few hundred rows, layers a few units wide): a test file should cost
seconds. Anything one file alone needs stays in that file.
"""

import numpy as np
import pytest


def _assert_same_state(got, want, path="state"):
    """Asserts two nested states (dicts of arrays and numbers, as Sequential.get_state() and
    Optimizer.get_state() return them) are identical, bit for bit."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), f"{path}: keys differ"
        for key in want:
            _assert_same_state(got[key], want[key], f"{path}[{key!r}]")
    elif isinstance(want, np.ndarray):
        assert isinstance(got, np.ndarray) and got.dtype == want.dtype, f"{path}: dtype differs"
        np.testing.assert_array_equal(got, want, err_msg=path)
    else:
        assert got == want, f"{path}: {got!r} != {want!r}"


@pytest.fixture
def assert_same_state():
    """assert_same_state(got, want): two model or optimizer states are identical."""
    return _assert_same_state
