"""Keyword arguments densekit does not take, refused with the densekit way (a leaf).

Keras code passes arguments densekit has under another name or not at all (`SGD(lr=...)`,
`Dense(..., activity_regularizer=...)`, `fit(..., steps_per_epoch=...)`). Python would either
raise its own TypeError without saying what to do, or — where a function takes **kwargs — let
the argument through to fail later, far from the line that needs changing. `refuse` raises at
the call, naming the argument and, where the hint tables know it, the densekit way.
"""


def refuse(where, kwargs, hints=None, accepted=()):
    """Raises TypeError for the first key of `kwargs` (if any): "`where` got an unexpected
    keyword argument 'x'" plus `hints[x]` when there is one, else the list `accepted`."""
    if not kwargs:
        return
    name = next(iter(kwargs))
    hint = (hints or {}).get(name)
    if hint:
        tail = f": {hint}"
    elif accepted:
        tail = f"; it accepts {', '.join(accepted)}"
    else:
        tail = ""
    raise TypeError(f"{where} got an unexpected keyword argument {name!r}{tail}")
