"""dk.schedules: the public namespace of learning-rate scheduling (SPEC §3 "Schedules").

It gathers what lives in three tiers: the schedules themselves, pure values
(learning_rate_schedule.py: PowerDecay, ExponentialDecay, PiecewiseConstant, OneCycle, and
Keras's PiecewiseConstantDecay, InverseTimeDecay, PolynomialDecay, CosineDecay), the
callbacks that apply schedules during fit (callbacks.py: ScheduleCallback, ReduceLROnPlateau —
performance scheduling —, LearningRateScheduler) and the learning-rate finder
(learning_rate_finder.py). Nothing in the package imports this module; it is for users.
"""

from .callbacks import LearningRateScheduler, ReduceLROnPlateau, ScheduleCallback
from .learning_rate_finder import lr_finder, plot_lr_finder
from .learning_rate_schedule import (CosineDecay, ExponentialDecay, InverseTimeDecay,
                                     LearningRateSchedule, OneCycle, PiecewiseConstant,
                                     PiecewiseConstantDecay, PolynomialDecay, PowerDecay,
                                     deserialize, serialize)

__all__ = ["LearningRateSchedule", "PowerDecay", "ExponentialDecay", "PiecewiseConstant",
           "OneCycle", "PiecewiseConstantDecay", "InverseTimeDecay", "PolynomialDecay",
           "CosineDecay", "ReduceLROnPlateau", "ScheduleCallback", "LearningRateScheduler",
           "lr_finder", "plot_lr_finder", "serialize", "deserialize"]
