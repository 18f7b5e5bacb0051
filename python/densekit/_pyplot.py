"""matplotlib.pyplot on demand, for the plotting helpers of every tier.

matplotlib is an optional extra: nothing imports it at module level, and a missing install gives
one clear error naming the extra instead of an ImportError from deep inside a plot call.
"""


def pyplot():
    """matplotlib.pyplot, or a clear error naming the optional extra."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("plotting needs matplotlib: pip install 'densekit[plot]' "
                          "(or pip install matplotlib)") from e
    return plt
