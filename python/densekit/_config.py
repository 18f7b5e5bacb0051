"""The Keras serialization contract, written once for every configurable object (a leaf).

An object is its config: `get_config()` returns a dict of JSON values, `from_config(config)`
rebuilds an equal object, and the repr shows the config. Initializers, regularizers,
constraints, optimizers, schedules and layers all inherit it.
"""


class Configurable:
    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"
