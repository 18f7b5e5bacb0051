"""Optimizers: hyperparameters and the by-name view of their state. The update rules live in C++
(cpp/include/densekit/optim/optimizers.hpp), where every formula is written out with its paper.

An optimizer object is bound to the network of the model it is compiled with; changing
`learning_rate` (or `momentum`/`beta_1`) between steps takes effect at the next step, which is
what schedules rely on. Gradient clipping (`clipvalue`, `clipnorm` per tensor, `global_clipnorm`)
works with every optimizer; at most one may be set, as in Keras.

State by name: each rule keeps named slots per parameter (SGD: momentum; Adagrad: accumulator;
RMSprop: rms, momentum [, mean_grad]; Adam/AdamW: m, v [, vhat]; Adamax: m, u; Nadam: m, v), a
layout fixed by the rule and its structural options, never by a hyperparameter's value.
`get_state()` / `set_state()` move them as {slot: {parameter: array}}, with the step counter,
Nadam's Π μ and the hyperparameters schedules change; `slot(name, parameter)` is a live view.
"""

import math
import numbers

import numpy as np

from . import _native
from . import learning_rate_schedule as schedules  # dk.optimizers.schedules, as Keras's
from ._arguments import refuse
from ._config import Configurable
from ._checks import is_real as _is_real
from ._checks import positive as _positive
from ._checks import unit as _unit

_STATE_KEYS = ("optimizer", "slots", "iterations", "mu_product", "hyperparameters")


class Optimizer(Configurable):
    """Shared bookkeeping: learning rate (a float or a schedule), clipping, binding to C++, state."""

    kind = None
    # The hyperparameter momentum schedules drive (SGD/RMSprop: "momentum", the Adam family:
    # "beta_1"); it and the learning rate are the live hyperparameters of get_state().
    momentum_hyperparameter = None

    def __init__(self, learning_rate, hyper, clipvalue=None, clipnorm=None, global_clipnorm=None,
                 name=None):
        set_clips = [k for k, v in (("clipvalue", clipvalue), ("clipnorm", clipnorm),
                                    ("global_clipnorm", global_clipnorm)) if v is not None]
        if len(set_clips) > 1:
            raise ValueError(f"only one of clipvalue, clipnorm, global_clipnorm may be set; got {set_clips}")
        self.clipvalue = None if clipvalue is None else _positive("clipvalue", clipvalue)
        self.clipnorm = None if clipnorm is None else _positive("clipnorm", clipnorm)
        self.global_clipnorm = None if global_clipnorm is None else _positive("global_clipnorm", global_clipnorm)
        if name is not None and not isinstance(name, str):
            raise TypeError(f"{type(self).__name__}: name must be a str, got {type(name).__name__}")
        self.name = name or type(self).__name__.lower()
        self._hyper = dict(hyper)
        self._network = None
        self._parameters = ()
        self._schedule = None
        self.learning_rate = learning_rate

    # -- hyperparameters settable between steps --------------------------------------------
    @property
    def learning_rate(self):
        if self._network is not None:
            return self._network.optimizer_config.learning_rate
        return self._lr

    @learning_rate.setter
    def learning_rate(self, value):
        if callable(value):  # a schedule: evaluated per step by the training loop
            self._schedule = value
            value = float(value(0))
        else:
            self._schedule = None
        self._lr = _positive("learning_rate", value, allow_zero=True)
        if self._network is not None:
            self._network.set_learning_rate(self._lr)

    @property
    def lr(self):
        raise AttributeError(f"{type(self).__name__} has no 'lr': densekit (like Keras 3) calls it "
                             f"learning_rate (optimizer.learning_rate, readable and assignable)")

    @lr.setter
    def lr(self, value):
        raise AttributeError(f"{type(self).__name__} has no 'lr': set optimizer.learning_rate = "
                             f"{value!r} instead (Keras 3's name)")

    @property
    def schedule(self):
        """The learning-rate schedule the training loop evaluates at each step, or None."""
        return self._schedule

    @schedule.setter
    def schedule(self, value):
        """Attaches a schedule (or None) without changing the current rate, unlike assigning
        `learning_rate = schedule` (which also sets the rate to schedule(0))."""
        if value is not None and not callable(value):
            raise TypeError(f"schedule must be callable (schedule(step) -> rate) or None, got {value!r}")
        self._schedule = value

    def _get_hyper(self, name):
        """Current value: from C++ once bound (per-batch momenta from schedules land there)."""
        if self._network is not None:
            return getattr(self._network.optimizer_config, name)
        return self._hyper[name]

    def _set_hyper(self, name, value):
        self._hyper[name] = value
        if self._network is not None:
            cfg = self._network.optimizer_config
            setattr(cfg, name, value)
            self._network.optimizer_config = cfg

    @property
    def iterations(self):
        """Number of updates applied so far."""
        return 0 if self._network is None else self._network.optimizer_iterations

    # -- C++ side -------------------------------------------------------------------------
    def core_config(self):
        cfg = _native.core.OptimizerConfig()
        cfg.kind = _native.core.OptimizerKind[self.kind]
        cfg.learning_rate = self._lr
        for k, v in self._hyper.items():
            setattr(cfg, k, v)
        cfg.clipvalue = self.clipvalue or 0.0
        cfg.clipnorm = self.clipnorm or 0.0
        cfg.global_clipnorm = self.global_clipnorm or 0.0
        return cfg

    def bind(self, network, parameters):
        """Attaches to a compiled C++ network (the last compile wins). `parameters`: (name,
        shape) of every parameter the network updates, in its order — the names the state uses."""
        parameters = tuple((str(key), tuple(int(d) for d in shape)) for key, shape in parameters)
        offsets = network.optimizer_offsets
        if len(offsets) != len(parameters):
            raise RuntimeError(f"bind: the network updates {len(offsets)} parameter tensors, "
                               f"{len(parameters)} were named")
        self._network = network
        self._parameters = parameters

    # -- state, for saving and resuming ---------------------------------------------------
    def _bound_network(self, where):
        if self._network is None:
            raise RuntimeError(f"{where}: the optimizer has no state yet; compile a built model "
                               f"with it first")
        return self._network

    @property
    def slot_names(self):
        """The slots this rule keeps per parameter, e.g. ("m", "v") (fixed at compile)."""
        return tuple(self._bound_network("slot_names").optimizer_slot_names)

    @property
    def parameter_names(self):
        """The parameters this optimizer updates (their keys in the model's state), in order."""
        self._bound_network("parameter_names")
        return tuple(key for key, _ in self._parameters)

    def _slot_views(self, only=None):
        """{slot: {parameter: zero-copy view in the parameter's shape}}, for every slot and
        parameter or the one (slot, parameter) pair `only`. The C++ arena is (slots, size), each
        parameter at its offset (padded for alignment)."""
        net = self._network
        arena, offsets = net.optimizer_slots(), net.optimizer_offsets
        names = net.optimizer_slot_names
        views = {name: {} for name in names} if only is None else {}
        for k, name in enumerate(names):
            for (key, shape), off in zip(self._parameters, offsets):
                if only is None or only == (name, key):
                    views.setdefault(name, {})[key] = arena[k, off:off + math.prod(shape)].reshape(shape)
        return views

    def slot(self, name, parameter):
        """Zero-copy view of slot `name` (e.g. "m") of `parameter` (e.g. "layers.0.kernel"):
        writing it changes the optimizer's state."""
        names = self.slot_names
        keys = [key for key, _ in self._parameters]
        if name not in names:
            raise KeyError(f"slot: a {self.kind} optimizer keeps the slots {list(names)}, not {name!r}")
        if parameter not in keys:
            raise KeyError(f"slot: no parameter {parameter!r}; this optimizer updates {keys}")
        return self._slot_views(only=(name, parameter))[name][parameter]

    def _live_hyperparameters(self):
        out = {"learning_rate": float(self.learning_rate)}
        if self.momentum_hyperparameter is not None:
            out[self.momentum_hyperparameter] = float(self._get_hyper(self.momentum_hyperparameter))
        return out

    def get_state(self):
        """A copy of the optimizer's state:
            {"optimizer": kind,
             "slots": {slot name: {parameter name: array in the parameter's shape}},
             "iterations": updates so far, "mu_product": Nadam's Π μ_i (1.0 for the others),
             "hyperparameters": {"learning_rate": …, and "momentum" or "beta_1" where a
                                 schedule may drive one}}
        set_state of it later resumes training exactly where it was taken."""
        self._bound_network("get_state")
        net = self._network
        return {"optimizer": self.kind,
                "slots": {name: {key: np.array(view, copy=True) for key, view in per_param.items()}
                          for name, per_param in self._slot_views().items()},
                "iterations": int(net.optimizer_iterations),
                "mu_product": float(net.optimizer_mu_product),
                "hyperparameters": self._live_hyperparameters()}

    def set_state(self, state):
        """Restores a state from get_state() of the same kind of optimizer (same structural
        options: amsgrad, centered) on a model of the same shape. Everything is checked before
        anything is written: a bad state leaves the optimizer as it was."""
        net = self._bound_network("set_state")
        if not isinstance(state, dict):
            raise TypeError(f"set_state: expected the dict of get_state(), got {type(state).__name__}")
        missing = set(_STATE_KEYS) - set(state)
        if missing:
            raise ValueError(f"set_state: the state lacks {sorted(missing)}")
        if state["optimizer"] != self.kind:
            raise ValueError(f"set_state: the state is of a {state['optimizer']!r} optimizer, "
                             f"this one is {self.kind!r}")
        views = self._slot_views()
        slots = state["slots"]
        if not isinstance(slots, dict) or set(slots) != set(views):
            got = sorted(slots) if isinstance(slots, dict) else type(slots).__name__
            raise ValueError(f"set_state: the state's slots are {got}; this {self.kind} optimizer "
                             f"keeps {sorted(views)}")
        writes = []
        for name, per_param in views.items():
            given = slots[name]
            if not isinstance(given, dict) or set(given) != set(per_param):
                raise ValueError(f"set_state: slot {name!r} must hold the parameters "
                                 f"{list(per_param)}, got {list(given) if isinstance(given, dict) else given!r}")
            for key, view in per_param.items():
                a = np.asarray(given[key])
                if a.dtype == object or not np.issubdtype(a.dtype, np.number) or np.iscomplexobj(a):
                    raise ValueError(f"set_state: slot {name!r} of {key!r} is not real numbers "
                                     f"(dtype {a.dtype})")
                if a.shape != view.shape:
                    raise ValueError(f"set_state: slot {name!r} of {key!r} must have shape "
                                     f"{view.shape}, got {a.shape}")
                if not np.all(np.isfinite(a)):
                    raise ValueError(f"set_state: slot {name!r} of {key!r} contains NaN or Inf")
                writes.append((view, a))
        t, mu = state["iterations"], state["mu_product"]
        if not (isinstance(t, numbers.Integral) and not isinstance(t, bool) and t >= 0):
            raise ValueError(f"set_state: iterations must be an int >= 0, got {t!r}")
        if not (_is_real(mu) and 0 <= mu <= 1):
            raise ValueError(f"set_state: mu_product must be in [0, 1], got {mu!r}")
        hyper = self._check_hyperparameters(state["hyperparameters"])
        for view, a in writes:  # every check passed: nothing is written on a bad state
            view[...] = a
        net.optimizer_iterations = int(t)
        net.optimizer_mu_product = float(mu)
        self._lr = hyper.pop("learning_rate")
        net.set_learning_rate(self._lr)
        for name, value in hyper.items():
            self._set_hyper(name, value)

    def _check_hyperparameters(self, given):
        want = self._live_hyperparameters()
        if not isinstance(given, dict) or set(given) != set(want):
            raise ValueError(f"set_state: hyperparameters must be {sorted(want)}, got "
                             f"{sorted(given) if isinstance(given, dict) else given!r}")
        out = {"learning_rate": _positive("set_state: learning_rate", given["learning_rate"], True)}
        for name in set(want) - {"learning_rate"}:
            out[name] = _unit(f"set_state: {name}", given[name])
        return out

    def get_config(self):
        """The hyperparameters, with their current values (schedules and set_state change the
        learning rate and momentum between steps)."""
        cfg = {"learning_rate": float(self.learning_rate),
               **{k: self._get_hyper(k) for k in self._hyper}}
        for k in ("clipvalue", "clipnorm", "global_clipnorm"):
            if getattr(self, k) is not None:
                cfg[k] = getattr(self, k)
        return cfg


class _MomentumHyper:
    """`momentum` settable between steps (SGD's β, RMSprop's μ); schedules drive it. The
    momentum slot always exists, so momentum may go from 0 to a value and back at any step."""

    momentum_hyperparameter = "momentum"

    @property
    def momentum(self):
        return self._get_hyper("momentum")

    @momentum.setter
    def momentum(self, value):
        self._set_hyper("momentum", _unit("momentum", value))


class SGD(_MomentumHyper, Optimizer):
    """θ ← θ − ηg; momentum: m ← βm − ηg, θ ← θ + m; Nesterov: θ ← θ + βm − ηg."""

    kind = "sgd"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate, dict(momentum=_unit("momentum", momentum),
                                             nesterov=bool(nesterov)), **_common(self, kwargs))


class Adagrad(Optimizer):
    """s ← s + g²; θ ← θ − ηg/√(s + ε) (ε inside the root, as Keras)."""

    kind = "adagrad"

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, dict(
            initial_accumulator_value=_positive("initial_accumulator_value",
                                                initial_accumulator_value, True),
            epsilon=_positive("epsilon", epsilon, True)), **_common(self, kwargs))


class RMSprop(_MomentumHyper, Optimizer):
    """s ← ρs + (1−ρ)g²; θ ← θ − ηg/√(s + ε) (ε inside the root, as Keras); optional momentum
    and centered variants."""

    kind = "rmsprop"

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 **kwargs):
        super().__init__(learning_rate, dict(
            rho=_unit("rho", rho), momentum=_unit("momentum", momentum),
            epsilon=_positive("epsilon", epsilon, True), centered=bool(centered)),
            **_common(self, kwargs))


class _AdamFamily(Optimizer):
    momentum_hyperparameter = "beta_1"

    @property
    def beta_1(self):
        return self._get_hyper("beta_1")

    @beta_1.setter
    def beta_1(self, value):
        self._set_hyper("beta_1", _unit("beta_1", value))

    # Momentum schedules (OneCycle) drive β1 in the Adam family.
    momentum = beta_1


def _adam_hyper(beta_1, beta_2, epsilon, epsilon_inside_root=None, **more):
    hyper = dict(beta_1=_unit("beta_1", beta_1), beta_2=_unit("beta_2", beta_2),
                 epsilon=_positive("epsilon", epsilon, True), **more)
    if epsilon_inside_root is not None:
        if not isinstance(epsilon_inside_root, (bool, np.bool_)):
            raise TypeError(f"epsilon_inside_root must be a bool, got {epsilon_inside_root!r}")
        hyper["epsilon_inside_root"] = bool(epsilon_inside_root)
    return hyper


_EPSILON_DOC = """
    ε sits outside the root, θ ← θ − η·m̂/(√ŝ + ε), as in Keras and PyTorch (whose NAdam/Adam
    then follow the same trajectory at the same ε). `epsilon_inside_root=True` computes
    θ ← θ − η·m̂/√(ŝ + ε) instead: densekit 0.1's rule, which models saved in format version 1
    were trained with and load with (so they resume bit for bit)."""


class Adam(_AdamFamily):
    """Adam (Kingma & Ba 2015), optional AMSGrad: m ← β1m + (1−β1)g; s ← β2s + (1−β2)g²;
    m̂ = m/(1−β1ᵗ); ŝ = s/(1−β2ᵗ) (AMSGrad: of the running max of s)."""

    __doc__ += _EPSILON_DOC
    kind = "adam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 epsilon_inside_root=False, **kwargs):
        super().__init__(learning_rate, _adam_hyper(beta_1, beta_2, epsilon, epsilon_inside_root,
                                                    amsgrad=bool(amsgrad)),
                         **_common(self, kwargs))


class AdamW(_AdamFamily):
    """Adam with decoupled weight decay applied first: θ ← θ − ηλθ (Loshchilov & Hutter 2019)."""

    __doc__ += _EPSILON_DOC
    kind = "adamw"

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, epsilon_inside_root=False, **kwargs):
        super().__init__(learning_rate, _adam_hyper(
            beta_1, beta_2, epsilon, epsilon_inside_root, amsgrad=bool(amsgrad),
            weight_decay=_positive("weight_decay", weight_decay, True)), **_common(self, kwargs))


class Adamax(_AdamFamily):
    """u ← max(β2u, |g|); θ ← θ − η/(1−β1ᵗ)·m/(u + ε) (ε added to u, as Keras)."""

    kind = "adamax"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, _adam_hyper(beta_1, beta_2, epsilon),
                         **_common(self, kwargs))


class Nadam(_AdamFamily):
    """Adam with Nesterov momentum and Dozat's momentum schedule μ_t = β1(1 − ½·0.96^(ψt))."""

    __doc__ += _EPSILON_DOC
    kind = "nadam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 momentum_decay=0.004, epsilon_inside_root=False, **kwargs):
        super().__init__(learning_rate, _adam_hyper(
            beta_1, beta_2, epsilon, epsilon_inside_root,
            momentum_decay=_positive("momentum_decay", momentum_decay, True)),
            **_common(self, kwargs))


# Keyword arguments every optimizer takes besides its own hyperparameters.
_COMMON = ("clipvalue", "clipnorm", "global_clipnorm", "name")

# What Keras (2 or 3) code passes that densekit has under another name or not at all, and the
# densekit way. Checked at construction, so a port fails on the line that needs changing.
_KERAS_ONLY = {
    "lr": "densekit (like Keras 3) names it learning_rate=",
    "decay": "Keras 2's per-step decay lr/(1 + decay·t) is a schedule in densekit: "
             "learning_rate=dk.optimizers.schedules.InverseTimeDecay(lr, decay_steps=1, "
             "decay_rate=decay)",
    "weight_decay": "densekit applies decoupled weight decay in AdamW only "
                    "(dk.optimizers.AdamW(weight_decay=...)); elsewhere use "
                    "kernel_regularizer=dk.regularizers.l2(...) on the layers",
    "use_ema": "densekit keeps no exponential moving average of the weights",
    "ema_momentum": "densekit keeps no exponential moving average of the weights",
    "ema_overwrite_frequency": "densekit keeps no exponential moving average of the weights",
    "loss_scale_factor": "densekit trains in float32/float64 and needs no loss scaling",
    "gradient_accumulation_steps": "densekit does not accumulate gradients over steps; use a "
                                   "larger batch_size",
    "jit_compile": "densekit's update rules are compiled C++ already",
    "amsgrad": "only Adam and AdamW have amsgrad",
    "nesterov": "only SGD has nesterov; Nadam is Adam with Nesterov momentum",
    "momentum": "this optimizer has no momentum argument (SGD and RMSprop do; the Adam family's "
                "is beta_1)",
}


def _common(opt, kwargs):
    """kwargs if it holds only the shared keyword arguments; anything else is a TypeError naming
    the argument and, where Keras has it, the densekit way."""
    refuse(f"{type(opt).__name__}()", {k: v for k, v in kwargs.items() if k not in _COMMON},
           _KERAS_ONLY, ("its own hyperparameters",) + _COMMON)
    return kwargs


_BY_NAME = {"sgd": SGD, "adagrad": Adagrad, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW,
            "adamax": Adamax, "nadam": Nadam}

# Keras optimizers densekit does not have, and what to use instead.
_MISSING = {name: f"densekit's optimizers are the chapter's: {', '.join(c.__name__ for c in _BY_NAME.values())}"
            for name in ("Adadelta", "Adafactor", "Ftrl", "Lion", "Lamb", "Loss_scale_optimizer")}


def __getattr__(name):
    if name in _MISSING:
        raise AttributeError(f"densekit.optimizers has no {name}: {_MISSING[name]}")
    raise AttributeError(f"module 'densekit.optimizers' has no attribute {name!r}")


def get(identifier):
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError(f"unknown optimizer {identifier!r}; expected one of {sorted(_BY_NAME)} "
                     f"or a dk.optimizers.Optimizer instance")


def serialize(opt):
    return {"class_name": opt.kind, "config": opt.get_config()}


def deserialize(config):
    return _BY_NAME[config["class_name"]].from_config(config.get("config", {}))
