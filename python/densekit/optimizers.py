"""Optimizers: hyperparameters only. The update rules live in C++
(cpp/include/densekit/optim/optimizers.hpp), where every formula is written out with its paper.

An optimizer object is bound to the network of the model it is compiled with; changing
`learning_rate` (or `momentum`/`beta_1`) between steps takes effect at the next step, which is
what schedules rely on. Gradient clipping (`clipvalue`, `clipnorm` per tensor, `global_clipnorm`)
works with every optimizer; at most one may be set, as in Keras.
"""

import math
import numbers

import numpy as np

from . import _native


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _positive(name, value, allow_zero=False):
    ok = _is_real(value) and math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return float(value)


def _unit(name, value, closed=False):
    ok = _is_real(value) and (0 <= value <= 1 if closed else 0 <= value < 1)
    if not ok:
        raise ValueError(f"{name} must be in [0, 1{']' if closed else ')'}, got {value!r}")
    return float(value)


class Optimizer:
    """Shared bookkeeping: learning rate (a float or a schedule), clipping, binding to C++."""

    kind = None

    def __init__(self, learning_rate, clipvalue=None, clipnorm=None, global_clipnorm=None,
                 name=None, **hyper):
        set_clips = [k for k, v in (("clipvalue", clipvalue), ("clipnorm", clipnorm),
                                    ("global_clipnorm", global_clipnorm)) if v is not None]
        if len(set_clips) > 1:
            raise ValueError(f"only one of clipvalue, clipnorm, global_clipnorm may be set; got {set_clips}")
        self.clipvalue = None if clipvalue is None else _positive("clipvalue", clipvalue)
        self.clipnorm = None if clipnorm is None else _positive("clipnorm", clipnorm)
        self.global_clipnorm = None if global_clipnorm is None else _positive("global_clipnorm", global_clipnorm)
        self.name = name or type(self).__name__.lower()
        self._hyper = hyper
        self._network = None
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
    def schedule(self):
        """The learning-rate schedule passed as learning_rate, or None."""
        return self._schedule

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
        cfg = _native._core.OptimizerConfig()
        cfg.kind = _native._core.OptimizerKind[self.kind]
        cfg.learning_rate = self._lr
        for k, v in self._hyper.items():
            setattr(cfg, k, v)
        cfg.clipvalue = self.clipvalue or 0.0
        cfg.clipnorm = self.clipnorm or 0.0
        cfg.global_clipnorm = self.global_clipnorm or 0.0
        return cfg

    def bind(self, network):
        """Attaches to a compiled C++ network (the last compile wins)."""
        self._network = network
        self._has_momentum_slot = self._hyper.get("momentum", 0.0) != 0.0

    def _set_momentum(self, value):
        if self._network is not None and not self._has_momentum_slot and value != 0.0:
            raise ValueError("cannot switch momentum on after compile: compile with momentum > 0")
        self._set_hyper("momentum", _unit("momentum", value))

    # -- state, for saving and resuming ---------------------------------------------------
    def _bound_network(self, where):
        if self._network is None:
            raise RuntimeError(f"{where}: the optimizer has no state yet; compile a built model "
                               f"with it first")
        return self._network

    def get_state(self):
        """A copy of the optimizer's state: {"optimizer": kind, "slots": (nslots, size) array
        of the model dtype (the C++ moment arena: one row per moment, each parameter tensor at
        its offset in the row, so size ≥ the parameter count; nslots may be 0),
        "iterations": int, "mu_product": float (Nadam's Π μ_i; 1.0 for the others)}.
        set_state of it later resumes training exactly where it was taken."""
        net = self._bound_network("get_state")
        return {"optimizer": self.kind,
                "slots": np.array(net.optimizer_slots(), copy=True),
                "iterations": int(net.optimizer_iterations),
                "mu_product": float(net.optimizer_mu_product)}

    def set_state(self, state):
        """Restores a state from get_state() of the same kind of optimizer, compiled with the
        same hyperparameters that fix the slot layout, on a model of the same shape."""
        net = self._bound_network("set_state")
        missing = {"optimizer", "slots", "iterations", "mu_product"} - set(state)
        if missing:
            raise ValueError(f"set_state: the state lacks {sorted(missing)}")
        if state["optimizer"] != self.kind:
            raise ValueError(f"set_state: the state is of a {state['optimizer']!r} optimizer, "
                             f"this one is {self.kind!r}")
        view = net.optimizer_slots()
        slots = np.asarray(state["slots"])
        if slots.shape != view.shape:
            raise ValueError(f"set_state: slots must have shape {view.shape} (slots, parameters), "
                             f"got {slots.shape}")
        if not np.all(np.isfinite(slots)):
            raise ValueError("set_state: slots contain NaN or Inf")
        t, mu = state["iterations"], state["mu_product"]
        if not (isinstance(t, numbers.Integral) and not isinstance(t, bool) and t >= 0):
            raise ValueError(f"set_state: iterations must be an int >= 0, got {t!r}")
        if not (_is_real(mu) and 0 <= mu <= 1):
            raise ValueError(f"set_state: mu_product must be in [0, 1], got {mu!r}")
        view[...] = slots  # every check passed: nothing is written on a bad state
        net.optimizer_iterations = int(t)
        net.optimizer_mu_product = float(mu)

    def get_config(self):
        cfg = {"learning_rate": self._lr, **self._hyper}
        for k in ("clipvalue", "clipnorm", "global_clipnorm"):
            if getattr(self, k) is not None:
                cfg[k] = getattr(self, k)
        return cfg

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class _MomentumHyper:
    """`momentum` settable between steps (SGD's β, RMSprop's μ); schedules drive it."""

    @property
    def momentum(self):
        return self._get_hyper("momentum")

    @momentum.setter
    def momentum(self, value):
        self._set_momentum(value)


class SGD(_MomentumHyper, Optimizer):
    """θ ← θ − ηg; momentum: m ← βm − ηg, θ ← θ + m; Nesterov: θ ← θ + βm − ηg."""

    kind = "sgd"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate, momentum=_unit("momentum", momentum),
                         nesterov=bool(nesterov), **kwargs)


class Adagrad(Optimizer):
    """s ← s + g²; θ ← θ − ηg/√(s + ε)."""

    kind = "adagrad"

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate,
                         initial_accumulator_value=_positive("initial_accumulator_value",
                                                             initial_accumulator_value, True),
                         epsilon=_positive("epsilon", epsilon, True), **kwargs)


class RMSprop(_MomentumHyper, Optimizer):
    """s ← ρs + (1−ρ)g²; θ ← θ − ηg/√(s + ε); optional momentum and centered variants."""

    kind = "rmsprop"

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 **kwargs):
        super().__init__(learning_rate, rho=_unit("rho", rho), momentum=_unit("momentum", momentum),
                         epsilon=_positive("epsilon", epsilon, True), centered=bool(centered), **kwargs)


class _AdamFamily(Optimizer):
    @property
    def beta_1(self):
        return self._get_hyper("beta_1")

    @beta_1.setter
    def beta_1(self, value):
        self._set_hyper("beta_1", _unit("beta_1", value))

    # Momentum schedules (OneCycle) drive β1 in the Adam family.
    momentum = beta_1


class Adam(_AdamFamily):
    """Adam (Kingma & Ba 2015), optional AMSGrad; ε inside the root."""

    kind = "adam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 **kwargs):
        super().__init__(learning_rate, beta_1=_unit("beta_1", beta_1), beta_2=_unit("beta_2", beta_2),
                         epsilon=_positive("epsilon", epsilon, True), amsgrad=bool(amsgrad), **kwargs)


class AdamW(_AdamFamily):
    """Adam with decoupled weight decay applied first: θ ← θ − ηλθ (Loshchilov & Hutter 2019)."""

    kind = "adamw"

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, **kwargs):
        super().__init__(learning_rate, weight_decay=_positive("weight_decay", weight_decay, True),
                         beta_1=_unit("beta_1", beta_1), beta_2=_unit("beta_2", beta_2),
                         epsilon=_positive("epsilon", epsilon, True), amsgrad=bool(amsgrad), **kwargs)


class Adamax(_AdamFamily):
    """u ← max(β2u, |g|); θ ← θ − η/(1−β1ᵗ)·m/(u + ε)."""

    kind = "adamax"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, beta_1=_unit("beta_1", beta_1), beta_2=_unit("beta_2", beta_2),
                         epsilon=_positive("epsilon", epsilon, True), **kwargs)


class Nadam(_AdamFamily):
    """Adam with Nesterov momentum and Dozat's momentum schedule μ_t = β1(1 − ½·0.96^(ψt))."""

    kind = "nadam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 momentum_decay=0.004, **kwargs):
        super().__init__(learning_rate, beta_1=_unit("beta_1", beta_1), beta_2=_unit("beta_2", beta_2),
                         epsilon=_positive("epsilon", epsilon, True),
                         momentum_decay=_positive("momentum_decay", momentum_decay, True), **kwargs)


_BY_NAME = {"sgd": SGD, "adagrad": Adagrad, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW,
            "adamax": Adamax, "nadam": Nadam}


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
