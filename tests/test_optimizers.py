"""Optimizers, gradient clipping, regularizers, constraints and frozen layers of densekit.

Every trajectory here is a float64 model trained full-batch with ``train_on_batch`` and compared,
step by step, with an independent NumPy run of the same SPEC formulas from ``tests/reference.py``
(the oracle: gradients by ``dense_backward``, updates by its optimizer classes), or with
``torch.optim`` where the conventions agree (ε = 0 for every rule; also the default ε for Adam,
AdamW and NAdam, whose ε sits outside the square root in densekit, Keras and torch alike).
This file checks densekit; it must not re-derive what reference.py already transcribes.
"""

import numpy as np
import pytest

import densekit as dk
import reference as ref
from densekit.layers import Dense, Input

STEPS = 25
RTOL = 1e-7     # trajectories after STEPS float64 steps
ATOL = 1e-12    # for entries that pass through zero
LOSS_RTOL = 1e-9


# ---------------------------------------------------------------------------------------------
# the two test networks and their NumPy twin
# ---------------------------------------------------------------------------------------------
# "linear": Input(5) -> Dense(3, linear)                       (quadratic loss surface)
# "tanh2":  Input(5) -> Dense(4, tanh) -> Dense(3, linear)     (non-quadratic)
ARCHS = {"linear": ("linear",), "tanh2": ("tanh", "linear")}
WIDTHS = {"linear": (3,), "tanh2": (4, 3)}


def data(seed=0, n=16, scale=1.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    Y = scale * rng.normal(size=(n, 3))
    return X, Y


def make_model(arch="tanh2", seed=0, **dense_kwargs):
    """dense_kwargs: per-layer keyword dicts, e.g. layer0={...}, layer1={...}."""
    layers = [Input(5)]
    for i, (units, act) in enumerate(zip(WIDTHS[arch], ARCHS[arch])):
        layers.append(Dense(units, activation=act, **dense_kwargs.get(f"layer{i}", {})))
    return dk.Sequential(layers, seed=seed, dtype="float64")


def ref_loss_grads(params, X, Y, acts, regs=None):
    """MSE loss (+ penalties) and its gradients for a Dense stack; params = [W0, b0, W1, b1, ...]
    in densekit's order. regs: {param index: (l1, l2)}."""
    xs, zs = [], []
    a = X
    for i, act in enumerate(acts):
        W, b = params[2 * i], params[2 * i + 1]
        xs.append(a)
        z = ref.dense_forward(a, W, b)
        zs.append(z)
        a = ref.activation_forward(act, z)
    loss, dout = ref.mse(Y, a)
    grads = [None] * len(params)
    for i in reversed(range(len(acts))):
        dz = ref.activation_backward(acts[i], zs[i], dout)
        dout, grads[2 * i], grads[2 * i + 1] = ref.dense_backward(xs[i], params[2 * i], dz)
    for k, (l1, l2) in (regs or {}).items():
        loss += ref.l1_l2_penalty(params[k], l1, l2)
        grads[k] = grads[k] + ref.l1_l2_grad(params[k], l1, l2)
    return loss, grads


def ref_step(opt, params, grads, active=None):
    """One reference step updating only the parameters listed in `active` (all by default):
    their state is kept, the others' untouched; t advances once, as for a frozen layer."""
    if opt.state is None:
        opt.state = [opt._init_state(np.asarray(p, dtype=np.float64)) for p in params]
    active = range(len(params)) if active is None else active
    full = opt.state
    opt.state = [full[i] for i in active]
    opt.step([params[i] for i in active], [grads[i] for i in active])
    opt.state = full  # the per-parameter dicts were updated in place


def assert_weights(model, params, step, rtol=RTOL):
    for i, (got, want) in enumerate(zip(model.get_weights(), params)):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=ATOL,
                                   err_msg=f"weight {i} after step {step}")


def run_against_reference(model, ref_opt, X, Y, steps=STEPS, regs=None, between=None,
                          after_update=None):
    """Trains `model` (compiled) and the reference side by side; returns the reference params.
    between(step, model, ref_opt) runs before each step; after_update(params) post-processes
    the reference update (constraints)."""
    acts = [l.activation.name for l in model.layers]
    params = [w.astype(np.float64).copy() for w in model.get_weights()]
    for step in range(steps):
        if between is not None:
            between(step, model, ref_opt)
        loss_ref, grads = ref_loss_grads(params, X, Y, acts, regs)
        loss = model.train_on_batch(X, Y)
        np.testing.assert_allclose(loss, loss_ref, rtol=LOSS_RTOL, err_msg=f"loss at step {step}")
        ref_step(ref_opt, params, grads)
        if after_update is not None:
            after_update(params)
        assert_weights(model, params, step)
    return params


# ---------------------------------------------------------------------------------------------
# every optimizer vs reference.py (default ε = 1e-7 where Keras puts it; the Adam family also
# with epsilon_inside_root, the rule of format-version-1 files)
# ---------------------------------------------------------------------------------------------
OPTIMIZER_TABLE = [
    # id,                   densekit optimizer,                                     reference twin
    ("sgd",                 lambda: dk.optimizers.SGD(0.05),                        lambda: ref.SGD(0.05)),
    ("sgd-momentum",        lambda: dk.optimizers.SGD(0.05, momentum=0.9),          lambda: ref.SGD(0.05, momentum=0.9)),
    ("sgd-nesterov",        lambda: dk.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
                            lambda: ref.SGD(0.05, momentum=0.9, nesterov=True)),
    ("adagrad",             lambda: dk.optimizers.Adagrad(0.1),                     lambda: ref.Adagrad(0.1)),
    ("rmsprop",             lambda: dk.optimizers.RMSprop(0.01),                    lambda: ref.RMSprop(0.01)),
    ("rmsprop-momentum",    lambda: dk.optimizers.RMSprop(0.01, momentum=0.8),      lambda: ref.RMSprop(0.01, momentum=0.8)),
    ("rmsprop-centered",    lambda: dk.optimizers.RMSprop(0.01, centered=True),     lambda: ref.RMSprop(0.01, centered=True)),
    ("rmsprop-centered-mom", lambda: dk.optimizers.RMSprop(0.01, momentum=0.8, centered=True),
                             lambda: ref.RMSprop(0.01, momentum=0.8, centered=True)),
    ("adam",                lambda: dk.optimizers.Adam(0.02),                       lambda: ref.Adam(0.02)),
    ("adam-amsgrad",        lambda: dk.optimizers.Adam(0.02, amsgrad=True),         lambda: ref.Adam(0.02, amsgrad=True)),
    ("adamw",               lambda: dk.optimizers.AdamW(0.02, weight_decay=0.05),   lambda: ref.AdamW(0.02, weight_decay=0.05)),
    ("adamax",              lambda: dk.optimizers.Adamax(0.02),                     lambda: ref.Adamax(0.02)),
    ("nadam",               lambda: dk.optimizers.Nadam(0.02),                      lambda: ref.Nadam(0.02)),
    ("adam-eps-large",      lambda: dk.optimizers.Adam(0.02, epsilon=0.1),          lambda: ref.Adam(0.02, epsilon=0.1)),
    ("adam-eps-inside",     lambda: dk.optimizers.Adam(0.02, epsilon=0.1, epsilon_inside_root=True),
                            lambda: ref.Adam(0.02, epsilon=0.1, epsilon_inside_root=True)),
    ("adam-amsgrad-inside", lambda: dk.optimizers.Adam(0.02, amsgrad=True, epsilon_inside_root=True),
                            lambda: ref.Adam(0.02, amsgrad=True, epsilon_inside_root=True)),
    ("adamw-inside",        lambda: dk.optimizers.AdamW(0.02, weight_decay=0.05, epsilon_inside_root=True),
                            lambda: ref.AdamW(0.02, weight_decay=0.05, epsilon_inside_root=True)),
    ("nadam-eps-inside",    lambda: dk.optimizers.Nadam(0.02, epsilon=0.1, epsilon_inside_root=True),
                            lambda: ref.Nadam(0.02, epsilon=0.1, epsilon_inside_root=True)),
    ("nadam-eps-large",     lambda: dk.optimizers.Nadam(0.02, epsilon=0.1),         lambda: ref.Nadam(0.02, epsilon=0.1)),
    ("nadam-betas",         lambda: dk.optimizers.Nadam(0.02, beta_1=0.8, beta_2=0.99, momentum_decay=0.01),
                            lambda: ref.Nadam(0.02, beta_1=0.8, beta_2=0.99, momentum_decay=0.01)),
]


@pytest.mark.parametrize("arch", sorted(ARCHS))
@pytest.mark.parametrize("name,make_dk,make_ref", OPTIMIZER_TABLE, ids=[r[0] for r in OPTIMIZER_TABLE])
def test_optimizer_matches_reference(name, make_dk, make_ref, arch):
    X, Y = data()
    model = make_model(arch)
    opt = make_dk()
    model.compile(optimizer=opt, loss="mse")
    run_against_reference(model, make_ref(), X, Y)
    assert opt.iterations == STEPS


@pytest.mark.parametrize("name,make_dk,make_ref", [OPTIMIZER_TABLE[i] for i in (2, 7, 10, 12)],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_float32_model_follows_reference(name, make_dk, make_ref):
    """Same kernels in float32: the trajectory stays within float32 rounding of the oracle."""
    X, Y = data()
    model = dk.Sequential([Input(5), Dense(4, activation="tanh"), Dense(3)], seed=0, dtype="float32")
    model.compile(optimizer=make_dk(), loss="mse")
    ref_opt = make_ref()
    params = [w.astype(np.float64) for w in model.get_weights()]
    X32, Y32 = X.astype(np.float32), Y.astype(np.float32)
    for step in range(10):
        _, grads = ref_loss_grads(params, X32, Y32, ["tanh", "linear"])
        model.train_on_batch(X32, Y32)
        ref_step(ref_opt, params, grads)
        for got, want in zip(model.get_weights(), params):
            assert got.dtype == np.float32
            np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-5, err_msg=f"step {step}")


def test_recompile_resets_optimizer_state():
    """compile() again with a fresh optimizer: state and step counter start over from the
    current weights (the last compile wins)."""
    X, Y = data()
    model = make_model("tanh2")
    first = dk.optimizers.Adam(0.05)
    model.compile(optimizer=first, loss="mse")
    for _ in range(5):
        model.train_on_batch(X, Y)
    second = dk.optimizers.Adam(0.02)
    model.compile(optimizer=second, loss="mse")
    assert second.iterations == 0
    for per_param in second.get_state()["slots"].values():
        for a in per_param.values():
            np.testing.assert_array_equal(a, 0.0)
    run_against_reference(model, ref.Adam(0.02), X, Y, steps=10)
    assert second.iterations == 10


def test_library_gradient_matches_reference():
    """The gradient the step uses (read through the gradients() hook) is the oracle's."""
    X, Y = data()
    model = make_model("tanh2")
    model.compile(optimizer=dk.optimizers.SGD(0.05), loss="mse")
    params = model.get_weights()
    loss_ref, grads = ref_loss_grads(params, X, Y, ["tanh", "linear"])
    loss = model.compute_gradients(np.ascontiguousarray(X), np.ascontiguousarray(Y), None)
    np.testing.assert_allclose(loss, loss_ref, rtol=1e-12)
    got = [model.layers[i // 2].gradient("kernel" if i % 2 == 0 else "bias").reshape(grads[i].shape)
           for i in range(4)]
    for g, want in zip(got, grads):
        np.testing.assert_allclose(g, want, rtol=1e-10, atol=1e-14)


# ---------------------------------------------------------------------------------------------
# vs torch.optim: at ε = 0 for every rule, and at the default ε = 1e-7 for the rules whose ε sits
# where torch puts it (Adam, AdamW, NAdam: outside the root; torch's Adagrad and RMSprop put it
# outside where Keras puts it inside, and its Adamax adds it to |g| inside the max)
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def torch64():
    torch = pytest.importorskip("torch")
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # torch keeps NAdam's μ-product in the default dtype
    yield torch
    torch.set_default_dtype(old)


TORCH_TABLE = [
    # id,               densekit optimizer,                                          torch.optim factory(params)
    ("sgd",             lambda: dk.optimizers.SGD(0.05),
                        lambda t, p: t.optim.SGD(p, lr=0.05)),
    ("sgd-momentum",    lambda: dk.optimizers.SGD(0.05, momentum=0.9),
                        lambda t, p: t.optim.SGD(p, lr=0.05, momentum=0.9)),
    ("sgd-nesterov",    lambda: dk.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
                        lambda t, p: t.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True)),
    ("adagrad",         lambda: dk.optimizers.Adagrad(0.1, initial_accumulator_value=0.1, epsilon=0.0),
                        lambda t, p: t.optim.Adagrad(p, lr=0.1, initial_accumulator_value=0.1, eps=0.0)),
    ("rmsprop",         lambda: dk.optimizers.RMSprop(0.01, epsilon=0.0),
                        lambda t, p: t.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=0.0)),
    ("rmsprop-centered", lambda: dk.optimizers.RMSprop(0.01, centered=True, epsilon=0.0),
                         lambda t, p: t.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=0.0, centered=True)),
    ("rmsprop-momentum", lambda: dk.optimizers.RMSprop(0.01, momentum=0.8, epsilon=0.0),
                         lambda t, p: t.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=0.0, momentum=0.8)),
    ("rmsprop-centered-mom", lambda: dk.optimizers.RMSprop(0.01, momentum=0.8, centered=True, epsilon=0.0),
                             lambda t, p: t.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=0.0, momentum=0.8,
                                                          centered=True)),
    ("adam",            lambda: dk.optimizers.Adam(0.02, epsilon=0.0),
                        lambda t, p: t.optim.Adam(p, lr=0.02, eps=0.0)),
    ("adam-amsgrad",    lambda: dk.optimizers.Adam(0.02, epsilon=0.0, amsgrad=True),
                        lambda t, p: t.optim.Adam(p, lr=0.02, eps=0.0, amsgrad=True)),
    ("adamw",           lambda: dk.optimizers.AdamW(0.02, weight_decay=0.05, epsilon=0.0),
                        lambda t, p: t.optim.AdamW(p, lr=0.02, weight_decay=0.05, eps=0.0)),
    ("adamax",          lambda: dk.optimizers.Adamax(0.02, epsilon=0.0),
                        lambda t, p: t.optim.Adamax(p, lr=0.02, eps=0.0)),
    ("nadam",           lambda: dk.optimizers.Nadam(0.02, epsilon=0.0),
                        lambda t, p: t.optim.NAdam(p, lr=0.02, momentum_decay=4e-3, eps=0.0)),
    ("adam-default-eps", lambda: dk.optimizers.Adam(0.02),
                         lambda t, p: t.optim.Adam(p, lr=0.02, eps=1e-7)),
    ("adam-amsgrad-default-eps", lambda: dk.optimizers.Adam(0.02, amsgrad=True),
                                 lambda t, p: t.optim.Adam(p, lr=0.02, eps=1e-7, amsgrad=True)),
    ("adamw-default-eps", lambda: dk.optimizers.AdamW(0.02, weight_decay=0.05),
                          lambda t, p: t.optim.AdamW(p, lr=0.02, weight_decay=0.05, eps=1e-7)),
    ("nadam-default-eps", lambda: dk.optimizers.Nadam(0.02),
                          lambda t, p: t.optim.NAdam(p, lr=0.02, momentum_decay=4e-3, eps=1e-7)),
    ("adam-eps-large",  lambda: dk.optimizers.Adam(0.02, epsilon=0.1),
                        lambda t, p: t.optim.Adam(p, lr=0.02, eps=0.1)),
]


@pytest.mark.parametrize("name,make_dk,make_torch", TORCH_TABLE, ids=[r[0] for r in TORCH_TABLE])
def test_optimizer_matches_torch(name, make_dk, make_torch, torch64):
    torch = torch64
    X, Y = data()
    model = make_model("tanh2")
    model.compile(optimizer=make_dk(), loss="mse")
    params = [torch.tensor(w, requires_grad=True) for w in model.get_weights()]
    opt = make_torch(torch, params)
    Xt, Yt = torch.tensor(X), torch.tensor(Y)
    for step in range(STEPS):
        opt.zero_grad()
        out = torch.tanh(Xt @ params[0] + params[1]) @ params[2] + params[3]
        loss_t = ((out - Yt) ** 2).mean()
        loss_t.backward()
        opt.step()
        loss = model.train_on_batch(X, Y)
        np.testing.assert_allclose(loss, loss_t.item(), rtol=LOSS_RTOL, err_msg=f"loss at step {step}")
        assert_weights(model, [p.detach().numpy() for p in params], step)


# ---------------------------------------------------------------------------------------------
# hyperparameters changed between steps; the step counter
# ---------------------------------------------------------------------------------------------
LR_SCHEDULE = [0.05, 0.05, 0.02, 0.1, 0.0, 0.03]  # cycled; 0.0: a step that must not move θ


@pytest.mark.parametrize("name,make_dk,make_ref", [
    ("sgd-momentum", lambda: dk.optimizers.SGD(0.05, momentum=0.9), lambda: ref.SGD(0.05, momentum=0.9)),
    ("sgd-nesterov", lambda: dk.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
                     lambda: ref.SGD(0.05, momentum=0.9, nesterov=True)),
    ("rmsprop-momentum", lambda: dk.optimizers.RMSprop(0.01, momentum=0.8), lambda: ref.RMSprop(0.01, momentum=0.8)),
    ("adagrad", lambda: dk.optimizers.Adagrad(0.05), lambda: ref.Adagrad(0.05)),
    ("adam", lambda: dk.optimizers.Adam(0.01), lambda: ref.Adam(0.01)),
    ("adamw", lambda: dk.optimizers.AdamW(0.01, weight_decay=0.1), lambda: ref.AdamW(0.01, weight_decay=0.1)),
    ("nadam", lambda: dk.optimizers.Nadam(0.01), lambda: ref.Nadam(0.01)),
], ids=lambda v: v if isinstance(v, str) else "")
def test_learning_rate_changed_between_steps(name, make_dk, make_ref):
    X, Y = data()
    model = make_model("tanh2")
    opt = make_dk()
    model.compile(optimizer=opt, loss="mse")

    def between(step, model, ref_opt):
        assert opt.iterations == step
        lr = LR_SCHEDULE[step % len(LR_SCHEDULE)]
        opt.learning_rate = lr
        ref_opt.learning_rate = lr
        assert opt.learning_rate == lr

    run_against_reference(model, make_ref(), X, Y, between=between)
    assert opt.iterations == STEPS


@pytest.mark.parametrize("name,make_dk,make_ref,attr,values", [
    # values: consecutive blocks of equal length over the STEPS steps; a momentum may go to 0
    # (the last block) — its slot stays, unused while it is 0
    ("sgd-momentum", lambda: dk.optimizers.SGD(0.05, momentum=0.9), lambda: ref.SGD(0.05, momentum=0.9),
     "momentum", [0.9, 0.5, 0.95, 0.0]),
    ("sgd-nesterov", lambda: dk.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
     lambda: ref.SGD(0.05, momentum=0.9, nesterov=True), "momentum", [0.9, 0.6, 0.95]),
    ("rmsprop-momentum", lambda: dk.optimizers.RMSprop(0.01, momentum=0.8), lambda: ref.RMSprop(0.01, momentum=0.8),
     "momentum", [0.8, 0.5, 0.9, 0.0]),
    ("rmsprop-centered-mom", lambda: dk.optimizers.RMSprop(0.01, momentum=0.8, centered=True),
     lambda: ref.RMSprop(0.01, momentum=0.8, centered=True), "momentum", [0.8, 0.5, 0.9, 0.0]),
    ("adam-beta1", lambda: dk.optimizers.Adam(0.01), lambda: ref.Adam(0.01), "beta_1", [0.9, 0.85, 0.95]),
    ("adamax-beta1", lambda: dk.optimizers.Adamax(0.01), lambda: ref.Adamax(0.01), "beta_1", [0.9, 0.85, 0.95]),
], ids=lambda v: v if isinstance(v, str) else "")
def test_momentum_changed_between_steps(name, make_dk, make_ref, attr, values):
    X, Y = data()
    model = make_model("tanh2")
    opt = make_dk()
    model.compile(optimizer=opt, loss="mse")

    def between(step, model, ref_opt):
        v = values[step * len(values) // STEPS]
        setattr(opt, attr, v)
        setattr(ref_opt, attr, v)

    run_against_reference(model, make_ref(), X, Y, between=between)


def test_iterations_count_steps_and_fit_batches():
    X, Y = data(n=20)
    model = make_model("linear")
    opt = dk.optimizers.Adam(0.01)
    assert opt.iterations == 0
    model.compile(optimizer=opt, loss="mse")
    assert opt.iterations == 0
    for k in range(1, 4):
        model.train_on_batch(X, Y)
        assert opt.iterations == k
    model.fit(X, Y, batch_size=8, epochs=2, verbose=0, shuffle=False)  # 3 batches per epoch
    assert opt.iterations == 3 + 6


def test_zero_learning_rate_step_keeps_weights_but_counts():
    X, Y = data()
    model = make_model("tanh2")
    opt = dk.optimizers.Adam(0.0)
    model.compile(optimizer=opt, loss="mse")
    before = model.get_weights()
    model.train_on_batch(X, Y)
    assert opt.iterations == 1
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------------------------
# gradient clipping (gradients made large so that clipping is active at every step)
# ---------------------------------------------------------------------------------------------
CLIP_TABLE = [
    # id, clip kwargs (thresholds well below the gradients of data(scale=30))
    ("clipvalue", {"clipvalue": 0.5}),
    ("clipnorm", {"clipnorm": 1.0}),
    ("global_clipnorm", {"global_clipnorm": 1.5}),
]


def clipping_active(grads, clip):
    if "clipvalue" in clip:
        return max(float(np.abs(g).max()) for g in grads) > clip["clipvalue"]
    if "clipnorm" in clip:
        return all(float(np.linalg.norm(g)) > clip["clipnorm"] for g in grads)
    return ref.global_norm(grads) > clip["global_clipnorm"]


@pytest.mark.parametrize("opt_name,lr", [("sgd", 0.01), ("adam", 0.02), ("rmsprop", 0.01)])
@pytest.mark.parametrize("clip_id,clip", CLIP_TABLE, ids=[c[0] for c in CLIP_TABLE])
def test_gradient_clipping_matches_reference(clip_id, clip, opt_name, lr):
    X, Y = data(scale=30.0)  # large targets: large gradients
    model = make_model("tanh2")
    dk_cls = {"sgd": dk.optimizers.SGD, "adam": dk.optimizers.Adam, "rmsprop": dk.optimizers.RMSprop}[opt_name]
    model.compile(optimizer=dk_cls(lr, **clip), loss="mse")
    ref_opt = ref.OPTIMIZERS[opt_name](lr, **clip)
    acts = ["tanh", "linear"]

    def between(step, model, ref_opt):
        _, grads = ref_loss_grads(model.get_weights(), X, Y, acts)
        assert clipping_active(grads, clip), f"clipping inactive at step {step}"

    run_against_reference(model, ref_opt, X, Y, between=between)


def test_clipping_differs_from_unclipped():
    """Guard against a vacuous pass: the clipped trajectory is not the unclipped one."""
    X, Y = data(scale=30.0)
    runs = []
    for clip in ({}, {"clipnorm": 1.0}):
        model = make_model("tanh2")
        model.compile(optimizer=dk.optimizers.SGD(0.01, **clip), loss="mse")
        for _ in range(3):
            model.train_on_batch(X, Y)
        runs.append(model.get_weights()[0])
    assert not np.allclose(runs[0], runs[1], rtol=1e-3)


@pytest.mark.parametrize("make", [dk.optimizers.SGD, dk.optimizers.Adagrad, dk.optimizers.RMSprop,
                                  dk.optimizers.Adam, dk.optimizers.AdamW, dk.optimizers.Adamax,
                                  dk.optimizers.Nadam], ids=lambda c: c.__name__)
@pytest.mark.parametrize("clips", [{"clipvalue": 1.0, "clipnorm": 1.0},
                                   {"clipnorm": 1.0, "global_clipnorm": 1.0},
                                   {"clipvalue": 1.0, "global_clipnorm": 1.0},
                                   {"clipvalue": 1.0, "clipnorm": 2.0, "global_clipnorm": 3.0}],
                         ids=["value+norm", "norm+global", "value+global", "all"])
def test_two_clipping_options_raise(make, clips):
    with pytest.raises(ValueError, match="only one of"):
        make(**clips)


@pytest.mark.parametrize("clip", [{"clipvalue": -1.0}, {"clipnorm": 0.0}, {"global_clipnorm": -2.0},
                                  {"clipnorm": float("nan")}], ids=str)
def test_bad_clipping_threshold_raises(clip):
    (key,) = clip
    with pytest.raises(ValueError, match=key):
        dk.optimizers.Adam(**clip)


# ---------------------------------------------------------------------------------------------
# regularizers: trajectory = gradient + penalty gradient; reported loss = data loss + penalty
# ---------------------------------------------------------------------------------------------
def ref_opt_dk(name, lr):
    return {"sgd": dk.optimizers.SGD, "adam": dk.optimizers.Adam}[name](lr)


REG_TABLE = [
    # id, regularizer factory, (l1, l2) as the reference sees it
    ("l1", lambda: dk.regularizers.l1(0.02), (0.02, 0.0)),
    ("l2", lambda: dk.regularizers.l2(0.03), (0.0, 0.03)),
    ("l1_l2", lambda: dk.regularizers.l1_l2(l1=0.02, l2=0.03), (0.02, 0.03)),
]


@pytest.mark.parametrize("opt_name", ["sgd", "adam"])
@pytest.mark.parametrize("target", ["kernel", "bias", "both"])
@pytest.mark.parametrize("reg_id,make_reg,factors", REG_TABLE, ids=[r[0] for r in REG_TABLE])
def test_regularizer_matches_reference(reg_id, make_reg, factors, target, opt_name):
    X, Y = data()
    layer_kwargs = {}
    if target in ("kernel", "both"):
        layer_kwargs["kernel_regularizer"] = make_reg()
    if target in ("bias", "both"):
        layer_kwargs["bias_regularizer"] = make_reg()
    # regularized in both layers: the penalty of every layer enters loss and gradients
    model = make_model("tanh2", layer0=layer_kwargs, layer1=layer_kwargs)
    # move the biases off zero (where l1's subgradient is 0) so the bias penalty is active
    w = model.get_weights()
    w[1] = np.linspace(-0.3, 0.4, 4)
    w[3] = np.array([0.2, -0.1, 0.5])
    model.set_weights(w)
    lr = {"sgd": 0.05, "adam": 0.02}[opt_name]
    model.compile(optimizer=ref_opt_dk(opt_name, lr), loss="mse")
    index = {"kernel": [0, 2], "bias": [1, 3], "both": [0, 1, 2, 3]}[target]
    regs = {k: factors for k in index}
    run_against_reference(model, ref.OPTIMIZERS[opt_name](lr), X, Y, regs=regs)


def test_regularized_loss_is_data_loss_plus_penalty():
    """train_on_batch's loss = data loss + Σ penalties at the pre-update weights; evaluate agrees
    and the penalty is really there (the unregularized loss is smaller)."""
    X, Y = data()
    model = make_model("tanh2", layer0={"kernel_regularizer": dk.regularizers.l1_l2(0.01, 0.02),
                                        "bias_regularizer": dk.regularizers.l2(0.05)},
                       layer1={"kernel_regularizer": dk.regularizers.l1(0.03)})
    model.compile(optimizer=dk.optimizers.SGD(0.05), loss="mse")
    for step in range(5):
        W0, b0, W1, b1 = model.get_weights()
        data_loss, _ = ref_loss_grads([W0, b0, W1, b1], X, Y, ["tanh", "linear"])
        penalty = (ref.l1_l2_penalty(W0, 0.01, 0.02) + ref.l2_penalty(b0, 0.05)
                   + ref.l1_penalty(W1, 0.03))
        assert penalty > 0.01 * data_loss
        np.testing.assert_allclose(model.evaluate(X, Y, batch_size=len(X)), data_loss + penalty,
                                   rtol=LOSS_RTOL)
        loss = model.train_on_batch(X, Y)
        np.testing.assert_allclose(loss, data_loss + penalty, rtol=LOSS_RTOL, err_msg=f"step {step}")


# ---------------------------------------------------------------------------------------------
# constraints, applied after each update
# ---------------------------------------------------------------------------------------------
def col_norms(W):
    return np.sqrt((np.asarray(W) ** 2).sum(axis=0))


def test_max_norm_matches_reference_and_bounds_columns():
    X, Y = data(scale=5.0)
    r = 1.0
    model = make_model("tanh2", layer0={"kernel_constraint": dk.constraints.MaxNorm(r)})
    w = model.get_weights()
    # one column far over r, one just over, two under
    rng = np.random.default_rng(3)
    K = rng.normal(size=(5, 4))
    w[0] = K / col_norms(K) * np.array([3.0, 1.05, 0.5, 0.9])
    model.set_weights(w)
    model.compile(optimizer=dk.optimizers.SGD(0.1, momentum=0.9), loss="mse")
    ref_opt = ref.SGD(0.1, momentum=0.9)
    acts = ["tanh", "linear"]
    params = [p.copy() for p in model.get_weights()]
    exceeded_any = under_any = False
    for step in range(STEPS):
        _, grads = ref_loss_grads(params, X, Y, acts)
        model.train_on_batch(X, Y)
        ref_step(ref_opt, params, grads)
        over = col_norms(params[0]) > r  # the unconstrained reference update
        exceeded_any |= bool(over.any())
        under_any |= bool((~over).any())
        params[0] = ref.max_norm(params[0], r)
        assert_weights(model, params, step)
        norms = col_norms(model.layers[0].kernel)
        assert np.all(norms <= r * (1 + 1e-12)), norms
        np.testing.assert_allclose(norms[over], r, rtol=1e-12)
    assert exceeded_any and under_any  # the constraint was both active and inactive


@pytest.mark.parametrize("name,constraint,apply", [
    ("max_norm-axis1", lambda: dk.constraints.MaxNorm(0.7, axis=1), lambda W: ref.max_norm(W, 0.7, axis=1)),
    ("non_neg", dk.constraints.NonNeg, ref.non_neg),
    ("unit_norm", dk.constraints.UnitNorm, ref.unit_norm),
    ("unit_norm-axis1", lambda: dk.constraints.UnitNorm(axis=1), lambda W: ref.unit_norm(W, axis=1)),
], ids=lambda v: v if isinstance(v, str) else "")
def test_kernel_constraint_matches_reference(name, constraint, apply):
    X, Y = data(scale=3.0)
    model = make_model("tanh2", layer0={"kernel_constraint": constraint()},
                       layer1={"kernel_constraint": constraint()})
    model.compile(optimizer=dk.optimizers.Adam(0.05), loss="mse")

    def constrain(params):
        params[0] = apply(params[0])
        params[2] = apply(params[2])

    run_against_reference(model, ref.Adam(0.05), X, Y, after_update=constrain)
    for W in (model.layers[0].kernel, model.layers[1].kernel):
        if name == "non_neg":
            assert np.all(W >= 0) and np.any(W == 0)
        elif name.startswith("unit_norm"):
            axis = 1 if name.endswith("axis1") else 0
            np.testing.assert_allclose(np.sqrt((W ** 2).sum(axis=axis)), 1.0, rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# frozen layers
# ---------------------------------------------------------------------------------------------
def layer0_slots(model):
    """Every slot of layer 0's kernel and bias, concatenated (a copy)."""
    opt = model.optimizer
    return np.concatenate([opt.slot(name, f"layers.0.{p}").reshape(-1)
                           for name in opt.slot_names for p in ("kernel", "bias")])


@pytest.mark.parametrize("name,make_dk,make_ref", [
    ("adam", lambda: dk.optimizers.Adam(0.02), lambda: ref.Adam(0.02)),
    ("sgd-momentum", lambda: dk.optimizers.SGD(0.05, momentum=0.9), lambda: ref.SGD(0.05, momentum=0.9)),
    ("rmsprop-centered-mom", lambda: dk.optimizers.RMSprop(0.01, momentum=0.8, centered=True),
                             lambda: ref.RMSprop(0.01, momentum=0.8, centered=True)),
    ("nadam", lambda: dk.optimizers.Nadam(0.02), lambda: ref.Nadam(0.02)),
    ("adamw-global_clipnorm", lambda: dk.optimizers.AdamW(0.02, weight_decay=0.1, global_clipnorm=0.5),
                              lambda: ref.AdamW(0.02, weight_decay=0.1, global_clipnorm=0.5)),
    ("adagrad-l2", lambda: dk.optimizers.Adagrad(0.1), lambda: ref.Adagrad(0.1)),
], ids=lambda v: v if isinstance(v, str) else "")
def test_frozen_layer_train_freeze_unfreeze(name, make_dk, make_ref):
    """Phase A: all trainable. Phase B: layer0 frozen — its weights and optimizer slots stay
    bit-identical, layer1 follows the reference updating only layer1 (t keeps counting).
    Phase C: unfrozen without recompiling — training continues from the kept state."""
    X, Y = data(scale=3.0)
    regs = None
    kwargs = {}
    if name.endswith("l2"):
        # the frozen layer's penalty still counts in the loss but gives it no update
        kwargs = {"layer0": {"kernel_regularizer": dk.regularizers.l2(0.05)}}
        regs = {0: (0.0, 0.05)}
    model = make_model("tanh2", **kwargs)
    opt = make_dk()
    model.compile(optimizer=opt, loss="mse")
    ref_opt = make_ref()
    acts = ["tanh", "linear"]
    params = [p.copy() for p in model.get_weights()]
    phases = [(8, True), (10, False), (8, True)]
    step = 0
    for n_steps, layer0_trainable in phases:
        model.layers[0].trainable = layer0_trainable
        active = [0, 1, 2, 3] if layer0_trainable else [2, 3]
        frozen_w = [w.copy() for w in model.layers[0].get_weights()]
        frozen_slots = layer0_slots(model).copy()
        for _ in range(n_steps):
            loss_ref, grads = ref_loss_grads(params, X, Y, acts, regs)
            loss = model.train_on_batch(X, Y)
            np.testing.assert_allclose(loss, loss_ref, rtol=LOSS_RTOL, err_msg=f"loss at step {step}")
            ref_step(ref_opt, params, grads, active)
            step += 1
            assert_weights(model, params, step)
            if not layer0_trainable:
                for a, b in zip(model.layers[0].get_weights(), frozen_w):
                    np.testing.assert_array_equal(a, b)
                np.testing.assert_array_equal(layer0_slots(model), frozen_slots)
        assert opt.iterations == step
    # the phase-C updates really moved layer0 again
    assert not np.array_equal(model.layers[0].get_weights()[0], frozen_w[0])


def test_optimizer_slots_hold_reference_moments():
    """Adam's slots, by name, hold one tensor per parameter in layer order (kernel, bias, kernel,
    bias), each in the parameter's shape, with m and v exactly as the reference's m and s."""
    X, Y = data()
    model = make_model("tanh2")
    opt = dk.optimizers.Adam(0.02)
    model.compile(optimizer=opt, loss="mse")
    ref_opt = ref.Adam(0.02)
    params = run_against_reference(model, ref_opt, X, Y, steps=6)
    keys = ("layers.0.kernel", "layers.0.bias", "layers.1.kernel", "layers.1.bias")
    assert opt.parameter_names == keys and opt.slot_names == ("m", "v")
    slots = opt.get_state()["slots"]
    for name, ref_key in (("m", "m"), ("v", "s")):
        assert tuple(slots[name]) == keys
        for key, p, state in zip(keys, params, ref_opt.state):
            np.testing.assert_allclose(slots[name][key].reshape(-1), state[ref_key].reshape(-1),
                                       rtol=RTOL, atol=1e-15)
            np.testing.assert_array_equal(opt.slot(name, key), slots[name][key])


def test_frozen_before_compile_never_moves():
    X, Y = data()
    model = make_model("tanh2")
    model.layers[0].trainable = False
    model.compile(optimizer=dk.optimizers.Adam(0.05), loss="mse")
    before = model.layers[0].get_weights()
    for _ in range(5):
        model.train_on_batch(X, Y)
    for a, b in zip(model.layers[0].get_weights(), before):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(layer0_slots(model), 0.0)


def test_frozen_layer_constraint_not_applied():
    """A frozen layer is left exactly as it is, constraint included (nothing to re-project)."""
    X, Y = data()
    model = make_model("tanh2", layer0={"kernel_constraint": dk.constraints.MaxNorm(0.1)})
    w = model.get_weights()
    w[0] = np.full((5, 4), 1.0)  # columns of norm √5 > 0.1, set while frozen
    model.set_weights(w)
    model.layers[0].trainable = False
    model.compile(optimizer=dk.optimizers.SGD(0.05), loss="mse")
    model.train_on_batch(X, Y)
    np.testing.assert_array_equal(model.layers[0].kernel, 1.0)
    model.layers[0].trainable = True
    model.train_on_batch(X, Y)
    np.testing.assert_allclose(col_norms(model.layers[0].kernel), 0.1, rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# train_on_batch reports the loss of the forward pass before the update
# ---------------------------------------------------------------------------------------------
def test_train_on_batch_returns_pre_update_loss():
    X, Y = data()
    model = make_model("tanh2")
    model.compile(optimizer=dk.optimizers.SGD(0.1), loss="mse")
    acts = ["tanh", "linear"]
    losses = []
    for _ in range(5):
        before, _ = ref_loss_grads(model.get_weights(), X, Y, acts)
        loss = model.train_on_batch(X, Y)
        after, _ = ref_loss_grads(model.get_weights(), X, Y, acts)
        np.testing.assert_allclose(loss, before, rtol=LOSS_RTOL)
        assert after < before  # the update happened, and it is not what was reported
        losses.append(loss)
    assert losses == sorted(losses, reverse=True)


# ---------------------------------------------------------------------------------------------
# bad hyperparameters
# ---------------------------------------------------------------------------------------------
ALL_OPTIMIZERS = [dk.optimizers.SGD, dk.optimizers.Adagrad, dk.optimizers.RMSprop, dk.optimizers.Adam,
                  dk.optimizers.AdamW, dk.optimizers.Adamax, dk.optimizers.Nadam]
EPS_OPTIMIZERS = ALL_OPTIMIZERS[1:]
BETA_OPTIMIZERS = [dk.optimizers.Adam, dk.optimizers.AdamW, dk.optimizers.Adamax, dk.optimizers.Nadam]


@pytest.mark.parametrize("make", ALL_OPTIMIZERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("lr", [-0.1, -1e-12, float("nan"), float("inf")], ids=str)
def test_bad_learning_rate_raises(make, lr):
    with pytest.raises(ValueError, match="learning_rate"):
        make(learning_rate=lr)


@pytest.mark.parametrize("make", [dk.optimizers.SGD, dk.optimizers.RMSprop], ids=lambda c: c.__name__)
@pytest.mark.parametrize("momentum", [1.0, 1.5, -0.1], ids=str)
def test_bad_momentum_raises(make, momentum):
    with pytest.raises(ValueError, match="momentum"):
        make(momentum=momentum)


@pytest.mark.parametrize("make", BETA_OPTIMIZERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("kwargs", [{"beta_1": 1.0}, {"beta_1": 1.2}, {"beta_1": -0.5},
                                    {"beta_2": 1.0}, {"beta_2": -0.1}], ids=str)
def test_bad_beta_raises(make, kwargs):
    (key,) = kwargs
    with pytest.raises(ValueError, match=key):
        make(**kwargs)


@pytest.mark.parametrize("make", EPS_OPTIMIZERS, ids=lambda c: c.__name__)
def test_negative_epsilon_raises(make):
    with pytest.raises(ValueError, match="epsilon"):
        make(epsilon=-1e-7)


@pytest.mark.parametrize("make,kwargs,key", [
    (dk.optimizers.RMSprop, {"rho": 1.5}, "rho"),
    (dk.optimizers.Adagrad, {"initial_accumulator_value": -0.1}, "initial_accumulator_value"),
    (dk.optimizers.AdamW, {"weight_decay": -0.01}, "weight_decay"),
    (dk.optimizers.Nadam, {"momentum_decay": -0.004}, "momentum_decay"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_other_bad_hyperparameters_raise(make, kwargs, key):
    with pytest.raises(ValueError, match=key):
        make(**kwargs)


@pytest.mark.parametrize("name", ["adamm", "sgd_momentum", "", "lbfgs"])
def test_unknown_optimizer_name_in_compile_raises(name):
    model = make_model("linear")
    with pytest.raises(ValueError, match="unknown optimizer"):
        model.compile(optimizer=name, loss="mse")


@pytest.mark.parametrize("name", ["sgd", "SGD", "adagrad", "rmsprop", "adam", "adamw", "adamax", "nadam"])
def test_optimizer_names_in_compile(name):
    X, Y = data()
    model = make_model("linear")
    model.compile(optimizer=name, loss="mse")
    cls = {"sgd": dk.optimizers.SGD, "adagrad": dk.optimizers.Adagrad, "rmsprop": dk.optimizers.RMSprop,
           "adam": dk.optimizers.Adam, "adamw": dk.optimizers.AdamW, "adamax": dk.optimizers.Adamax,
           "nadam": dk.optimizers.Nadam}[name.lower()]
    assert type(model.optimizer) is cls
    model.train_on_batch(X, Y)
    assert model.optimizer.iterations == 1


def test_bad_values_assigned_after_compile_raise_and_keep_state():
    X, Y = data()
    model = make_model("tanh2")
    opt = dk.optimizers.SGD(0.05, momentum=0.9)
    model.compile(optimizer=opt, loss="mse")
    model.train_on_batch(X, Y)
    with pytest.raises(ValueError, match="learning_rate"):
        opt.learning_rate = -0.01
    with pytest.raises(ValueError, match="momentum"):
        opt.momentum = 1.0
    assert opt.learning_rate == 0.05 and opt.momentum == 0.9
    adam = dk.optimizers.Adam(0.01)
    model.compile(optimizer=adam, loss="mse")
    with pytest.raises(ValueError, match="beta_1"):
        adam.beta_1 = 1.0
    assert adam.beta_1 == 0.9


@pytest.mark.parametrize("make,key,value", [
    (dk.optimizers.SGD, "learning_rate", np.float64(0.05)),
    (dk.optimizers.SGD, "learning_rate", np.float32(0.05)),
    (dk.optimizers.SGD, "learning_rate", np.int64(0)),
    (dk.optimizers.SGD, "momentum", np.float32(0.5)),
    (dk.optimizers.Adam, "beta_1", np.float32(0.8)),
    (dk.optimizers.Adam, "epsilon", np.float32(1e-6)),
], ids=lambda v: v if isinstance(v, str) else getattr(v, "__name__", type(v).__name__))
def test_numpy_scalar_hyperparameters_accepted(make, key, value):
    """Hyperparameters often come out of NumPy (np.logspace, a float32 array): Keras and torch
    take NumPy scalars, so densekit should too (it takes the np.float64 ones, a float subclass)."""
    opt = make(**{key: value})
    assert getattr(opt, key, opt.get_config()[key]) == pytest.approx(float(value))
