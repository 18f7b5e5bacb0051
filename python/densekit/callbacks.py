"""Callbacks (Keras contract): hooks on_{train,epoch,train_batch,test}_{begin,end}(…, logs).

The training loop hands whole runs of batches to C++ in one call unless some callback overrides a
batch-level hook; then it goes batch by batch so that hook sees every batch. Everything here works
at epoch granularity for that reason; per-step learning-rate/momentum control goes through the
`batch_hyperparameters(iteration, k)` hook instead (see schedules.py), which keeps whole runs in
C++. This file must not import matplotlib at module level (plotting is an optional extra).
"""

import csv
import math
import os
import warnings

import numpy as np


class Callback:
    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_train_batch_begin(self, batch, logs=None): pass
    def on_train_batch_end(self, batch, logs=None): pass
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass

    @property
    def wants_batches(self):
        """Whether this callback overrides a batch-level hook."""
        cls = type(self)
        return (cls.on_train_batch_begin is not Callback.on_train_batch_begin
                or cls.on_train_batch_end is not Callback.on_train_batch_end)


class CallbackList:
    def __init__(self, callbacks, model, params):
        self.callbacks = list(callbacks)
        for c in self.callbacks:
            c.set_model(model)
            c.set_params(params)
        self.wants_batches = any(c.wants_batches for c in self.callbacks)

    def __getattr__(self, hook):
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        def call(*args, **kwargs):
            for c in self.callbacks:
                getattr(c, hook)(*args, **kwargs)
        return call


class History(Callback):
    """Records the logs of every epoch: history.history["loss"], ["val_loss"], ..."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
