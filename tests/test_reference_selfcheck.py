"""Checks of the oracle itself (tests/reference.py), never of densekit.

The reference is a transcription of SPEC; here it is checked against PyTorch where the two
conventions agree (float64, tight tolerances) and against central finite differences for every
backward. Where SPEC and torch differ on purpose (Adagrad's and RMSprop's epsilon inside the root, BN moving variance,
clip_grad_norm_'s +1e-6, ...) the test says so and compares with the difference made explicit.
"""

import math

import numpy as np
import pytest

import reference as ref

torch = pytest.importorskip("torch")
F = torch.nn.functional

RTOL = 1e-10
ATOL = 1e-12


def t64(a, requires_grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=torch.float64,
                        requires_grad=requires_grad)


def rng(seed=0):
    return np.random.default_rng(seed)


def away_from_zero(a, gap=1e-3):
    """Move values off the kinks at 0 so finite differences are meaningful."""
    return np.where(np.abs(a) < gap, np.sign(a + 1e-300) * gap + a, a)


# ---------------------------------------------------------------------------------------------
# finite-difference helpers
# ---------------------------------------------------------------------------------------------
def fd_elementwise(f, z, h=1e-6):
    return (f(z + h) - f(z - h)) / (2.0 * h)


def fd_scalar_grad(f, x, h=1e-6, rel=False):
    """Central differences of a scalar function of an array. rel=True: fourth-order stencil
    with a step proportional to |x| (for functions like log p with small p)."""
    x = np.array(x, dtype=np.float64)
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        step = h * max(abs(old), 1e-3) if rel else h

        def at(v):
            x[idx] = v
            return f(x)

        if rel:
            g[idx] = (-at(old + 2 * step) + 8 * at(old + step) - 8 * at(old - step)
                      + at(old - 2 * step)) / (12.0 * step)
        else:
            g[idx] = (at(old + step) - at(old - step)) / (2.0 * step)
        x[idx] = old
    return g


# ---------------------------------------------------------------------------------------------
# 1. activations
# ---------------------------------------------------------------------------------------------
PRELU_ALPHA = np.array([0.25, 0.1, -0.3, 0.7, 0.0])

# (name, params, torch function of a float64 tensor)
TORCH_ACTIVATIONS = [
    ("linear", {}, lambda z: z),
    ("relu", {}, F.relu),
    ("leaky_relu", {}, lambda z: F.leaky_relu(z, negative_slope=0.01)),
    ("leaky_relu", {"alpha": 0.3}, lambda z: F.leaky_relu(z, negative_slope=0.3)),
    ("elu", {}, lambda z: F.elu(z, alpha=1.0)),
    ("elu", {"alpha": 0.5}, lambda z: F.elu(z, alpha=0.5)),
    ("selu", {}, F.selu),
    ("tanh", {}, torch.tanh),
    ("sigmoid", {}, torch.sigmoid),
    ("softmax", {}, lambda z: F.softmax(z, dim=-1)),
    ("gelu", {}, F.gelu),  # torch default approximate="none" = exact erf form
    ("swish", {}, F.silu),
    ("silu", {}, F.silu),
    ("softplus", {}, F.softplus),
    ("mish", {}, F.mish),
    ("hard_sigmoid", {}, F.hardsigmoid),  # torch's is Keras 3's: relu6(z + 3) / 6
    ("softsign", {}, F.softsign),
    ("exponential", {}, torch.exp),
    ("relu6", {}, F.relu6),
    ("prelu", {"alpha": PRELU_ALPHA}, lambda z: F.prelu(z, t64(PRELU_ALPHA))),
    ("rrelu", {}, lambda z: F.rrelu(z, lower=1 / 8, upper=1 / 3, training=False)),
]


def activation_input(seed=0):
    # a grid that covers large |z| (sigmoid / softplus / elu tails) and the region near 0;
    # 5 columns so PReLU has 5 units
    z = rng(seed).normal(0.0, 3.0, size=(40, 5))
    z[0] = [-19.0, -8.0, 0.0, 8.0, 19.0]  # |z| < 20: torch's softplus switches to z above 20
    z[1] = [-700.0, -40.0, 1e-9, 40.0, 700.0]  # overflow guards (softplus/sigmoid/elu)
    return z


@pytest.mark.parametrize("name,params,torch_fn", TORCH_ACTIVATIONS,
                         ids=[f"{a[0]}-{i}" for i, a in enumerate(TORCH_ACTIVATIONS)])
def test_activation_forward_vs_torch(name, params, torch_fn):
    z = activation_input()
    if name == "softplus":
        z = z[np.abs(z).max(axis=1) < 20]  # torch's threshold=20 linearisation differs by ~1e-9
    got = ref.activation_forward(name, z, **params)
    want = torch_fn(t64(z)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-300)


@pytest.mark.parametrize("name,params,torch_fn", TORCH_ACTIVATIONS,
                         ids=[f"{a[0]}-{i}" for i, a in enumerate(TORCH_ACTIVATIONS)])
def test_activation_backward_vs_torch_autograd(name, params, torch_fn):
    z = away_from_zero(rng(1).normal(0.0, 3.0, size=(40, 5)))
    dout = rng(2).normal(size=z.shape)
    zt = t64(z, requires_grad=True)
    torch_fn(zt).backward(t64(dout))
    got = ref.activation_backward(name, z, dout, **params)
    # torch's hardsigmoid backward uses a float32 1/6 even in float64 (relative error 3e-8).
    rtol = 1e-7 if name == "hard_sigmoid" else 1e-12
    np.testing.assert_allclose(got, zt.grad.numpy(), rtol=rtol, atol=1e-15)


ELEMENTWISE = [
    ("linear", {}), ("relu", {}), ("leaky_relu", {}), ("leaky_relu", {"alpha": 0.2}),
    ("elu", {}), ("elu", {"alpha": 0.7}), ("selu", {}), ("tanh", {}), ("sigmoid", {}),
    ("gelu", {}), ("swish", {}), ("silu", {}), ("softplus", {}), ("mish", {}),
    ("hard_sigmoid", {}), ("softsign", {}), ("exponential", {}), ("relu6", {}),
    ("prelu", {"alpha": PRELU_ALPHA}), ("rrelu", {}), ("rrelu", {"training": False}),
    ("rrelu", {"training": True, "slope": rng(7).uniform(1 / 8, 1 / 3, size=(40, 5))}),
]


@pytest.mark.parametrize("name,params", ELEMENTWISE,
                         ids=[f"{a[0]}-{i}" for i, a in enumerate(ELEMENTWISE)])
def test_activation_grad_vs_finite_differences(name, params):
    z = away_from_zero(rng(3).normal(0.0, 2.0, size=(40, 5)))
    fd = fd_elementwise(lambda v: ref.activation_forward(name, v, **params), z)
    np.testing.assert_allclose(ref.activation_grad(name, z, **params), fd,
                               rtol=1e-7, atol=1e-9)


def test_kinks_at_zero():
    z = np.zeros((1, 5))
    assert np.all(ref.activation_grad("relu", z) == 0.0)
    assert np.all(ref.activation_grad("leaky_relu", z) == 0.01)
    np.testing.assert_array_equal(ref.activation_grad("prelu", z, alpha=PRELU_ALPHA),
                                  PRELU_ALPHA[None, :])
    assert np.all(ref.activation_forward("elu", z) == 0.0)


def test_softmax_backward_vs_finite_differences():
    z = rng(4).normal(size=(6, 4))
    dout = rng(5).normal(size=z.shape)
    fd = fd_scalar_grad(lambda v: float(np.sum(dout * ref.softmax(v))), z)
    np.testing.assert_allclose(ref.softmax_backward(z, dout), fd, rtol=1e-7, atol=1e-9)
    with pytest.raises(ValueError):
        ref.activation_grad("softmax", z)


def test_prelu_alpha_grad_vs_torch_and_fd():
    z = away_from_zero(rng(6).normal(size=(30, 5)))
    dout = rng(8).normal(size=z.shape)
    zt, at = t64(z), t64(PRELU_ALPHA, requires_grad=True)
    F.prelu(zt, at).backward(t64(dout))
    got = ref.prelu_alpha_grad(z, dout)
    np.testing.assert_allclose(got, at.grad.numpy(), rtol=1e-12, atol=1e-14)
    fd = fd_scalar_grad(
        lambda a: float(np.sum(dout * ref.activation_forward("prelu", z, alpha=a))), PRELU_ALPHA)
    np.testing.assert_allclose(got, fd, rtol=1e-7, atol=1e-8)


def test_rrelu_slopes():
    assert ref.rrelu_inference_slope() == pytest.approx((1 / 8 + 1 / 3) / 2, rel=1e-15)
    z = np.array([[-2.0, 3.0]])
    slope = np.array([[0.2, 0.3]])
    np.testing.assert_allclose(
        ref.activation_forward("rrelu", z, training=True, slope=slope), [[-0.4, 3.0]])
    with pytest.raises(ValueError):
        ref.activation_forward("rrelu", z, training=True)


def test_selu_constants_and_self_normalisation():
    # the SELU fixed point: N(0,1) input gives mean 0 / variance 1 output (by quadrature)
    x = np.linspace(-12, 12, 400001)
    w = ref.std_normal_pdf(x) * (x[1] - x[0])
    y = ref.activation_forward("selu", x)
    assert abs(np.sum(w * y)) < 1e-6
    assert abs(np.sum(w * y * y) - 1.0) < 1e-6


# ---------------------------------------------------------------------------------------------
# 2. losses and metrics
# ---------------------------------------------------------------------------------------------
B, K = 7, 4


def loss_case(seed=10):
    r = rng(seed)
    logits = r.normal(0.0, 2.0, size=(B, K))
    labels = r.integers(0, K, size=B)
    onehot = ref.sparse_to_onehot(labels, K)
    soft = ref.softmax(r.normal(size=(B, K)))
    probs = ref.softmax(logits)
    sig = ref.sigmoid(logits)
    bin_y = (r.uniform(size=(B, K)) < 0.5).astype(np.float64)
    reg_y = r.normal(0.0, 1.5, size=(B, K))
    w = r.uniform(0.2, 2.0, size=B)
    return dict(logits=logits, labels=labels, onehot=onehot, soft=soft, probs=probs, sig=sig,
                bin_y=bin_y, reg_y=reg_y, w=w)


# (id, fn(y_pred, c, sw) -> (loss, grad), name of y_pred in case)
SCCE, CCE, BCE = (ref.sparse_categorical_crossentropy, ref.categorical_crossentropy,
                  ref.binary_crossentropy)
LOSS_TABLE = [
    ("sparse_cce_probs", lambda p, c, sw: SCCE(c["labels"], p, sw), "probs"),
    ("sparse_cce_logits", lambda p, c, sw: SCCE(c["labels"], p, sw, from_logits=True), "logits"),
    ("cce_probs", lambda p, c, sw: CCE(c["soft"], p, sw), "probs"),
    ("cce_logits", lambda p, c, sw: CCE(c["soft"], p, sw, from_logits=True), "logits"),
    ("bce_probs", lambda p, c, sw: BCE(c["bin_y"], p, sw), "sig"),
    ("bce_probs_soft", lambda p, c, sw: BCE(c["sig"][::-1], p, sw), "sig"),
    ("bce_logits", lambda p, c, sw: BCE(c["bin_y"], p, sw, from_logits=True), "logits"),
    ("mse", lambda p, c, sw: ref.mse(c["reg_y"], p, sw), "logits"),
    ("mae", lambda p, c, sw: ref.mae(c["reg_y"], p, sw), "logits"),
    ("huber", lambda p, c, sw: ref.huber(c["reg_y"], p, sw), "logits"),
    ("huber_d0.5", lambda p, c, sw: ref.huber(c["reg_y"], p, sw, delta=0.5), "logits"),
]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("lid,fn,pred", LOSS_TABLE, ids=[row[0] for row in LOSS_TABLE])
def test_loss_grad_vs_finite_differences(lid, fn, pred, weighted):
    c = loss_case()
    sw = c["w"] if weighted else None
    p0 = c[pred]
    _, grad = fn(p0, c, sw)
    fd = fd_scalar_grad(lambda p: fn(p, c, sw)[0], p0, h=1e-4, rel=True)
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-9)


def _torch_loss(lid, c, w):
    """Torch value of each loss, per sample (reduction='none' reduced to (B,)), then the SPEC
    reduction mean_i w_i l_i is done here."""
    yl = torch.tensor(c["labels"])
    z = t64(c["logits"], requires_grad=True)
    if lid == "sparse_cce_logits":
        per = F.cross_entropy(z, yl, reduction="none")
    elif lid == "sparse_cce_probs":
        per = F.nll_loss(torch.log(F.softmax(z, dim=1)), yl, reduction="none")
    elif lid == "cce_logits":
        per = F.cross_entropy(z, t64(c["soft"]), reduction="none")
    elif lid == "cce_probs":
        per = -(t64(c["soft"]) * torch.log(F.softmax(z, dim=1))).sum(1)
    elif lid == "bce_logits":
        per = F.binary_cross_entropy_with_logits(z, t64(c["bin_y"]), reduction="none").mean(1)
    elif lid == "bce_probs":
        per = F.binary_cross_entropy(torch.sigmoid(z), t64(c["bin_y"]), reduction="none").mean(1)
    elif lid == "bce_probs_soft":
        per = F.binary_cross_entropy(torch.sigmoid(z), t64(c["sig"][::-1].copy()),
                                     reduction="none").mean(1)
    elif lid == "mse":
        per = F.mse_loss(z, t64(c["reg_y"]), reduction="none").mean(1)
    elif lid == "mae":
        per = F.l1_loss(z, t64(c["reg_y"]), reduction="none").mean(1)
    elif lid == "huber":
        per = F.huber_loss(z, t64(c["reg_y"]), reduction="none", delta=1.0).mean(1)
    elif lid == "huber_d0.5":
        per = F.huber_loss(z, t64(c["reg_y"]), reduction="none", delta=0.5).mean(1)
    else:
        raise KeyError(lid)
    return per, z


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("lid,fn,pred", LOSS_TABLE, ids=[row[0] for row in LOSS_TABLE])
def test_loss_value_and_grad_vs_torch(lid, fn, pred, weighted):
    c = loss_case(11)
    sw = c["w"] if weighted else None
    per, z = _torch_loss(lid, c, sw)
    wt = t64(c["w"]) if weighted else torch.ones(B, dtype=torch.float64)
    loss_t = (wt * per).sum() / B
    loss_t.backward()
    loss, grad = fn(c[pred], c, sw)
    assert loss == pytest.approx(loss_t.item(), rel=1e-12)
    # chain through softmax / sigmoid when the reference took probabilities
    if pred == "probs":
        grad = ref.softmax_backward(c["logits"], grad)
    elif pred == "sig":
        grad = grad * ref.activation_grad("sigmoid", c["logits"])
    np.testing.assert_allclose(grad, z.grad.numpy(), rtol=1e-9, atol=1e-13)


def test_unweighted_torch_default_reductions():
    c = loss_case(12)
    z, yl = t64(c["logits"]), torch.tensor(c["labels"])
    checks = [
        (ref.sparse_categorical_crossentropy(c["labels"], c["logits"], from_logits=True)[0],
         F.cross_entropy(z, yl)),
        (ref.binary_crossentropy(c["bin_y"], c["logits"], from_logits=True)[0],
         F.binary_cross_entropy_with_logits(z, t64(c["bin_y"]))),
        (ref.binary_crossentropy(c["bin_y"], c["sig"])[0],
         F.binary_cross_entropy(torch.sigmoid(z), t64(c["bin_y"]))),
        (ref.mse(c["reg_y"], c["logits"])[0], F.mse_loss(z, t64(c["reg_y"]))),
        (ref.mae(c["reg_y"], c["logits"])[0], F.l1_loss(z, t64(c["reg_y"]))),
        (ref.huber(c["reg_y"], c["logits"])[0], F.huber_loss(z, t64(c["reg_y"]))),
    ]
    for mine, theirs in checks:
        assert mine == pytest.approx(theirs.item(), rel=1e-12)
    # torch's per-element BCE weight broadcast per sample == SPEC's sample_weight reduction
    w = c["w"]
    assert ref.binary_crossentropy(c["bin_y"], c["logits"], w, from_logits=True)[0] == \
        pytest.approx(F.binary_cross_entropy_with_logits(
            z, t64(c["bin_y"]), weight=t64(w[:, None])).item(), rel=1e-12)


def test_fused_softmax_crossentropy_grad():
    c = loss_case(13)
    for sw in (None, c["w"]):
        fused = ref.softmax_crossentropy_grad(c["labels"], c["logits"], sw)
        _, via_logits = ref.sparse_categorical_crossentropy(c["labels"], c["logits"], sw,
                                                             from_logits=True)
        _, via_probs = ref.sparse_categorical_crossentropy(c["labels"], c["probs"], sw)
        np.testing.assert_allclose(fused, via_logits, rtol=1e-13, atol=1e-16)
        np.testing.assert_allclose(fused, ref.softmax_backward(c["logits"], via_probs),
                                   rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(
            fused, ref.softmax_crossentropy_grad(c["onehot"], c["logits"], sw), rtol=0, atol=0)
    np.testing.assert_allclose(ref.softmax_crossentropy_grad(c["labels"], c["logits"]),
                               (c["probs"] - c["onehot"]) / B, rtol=1e-14)


def test_bce_logits_is_stable_for_large_logits():
    z = np.array([[-800.0, -50.0, 50.0, 800.0]])
    y = np.array([[1.0, 0.0, 1.0, 0.0]])
    loss, grad = ref.binary_crossentropy(y, z, from_logits=True)
    want = F.binary_cross_entropy_with_logits(t64(z), t64(y)).item()
    assert np.isfinite(loss) and loss == pytest.approx(want, rel=1e-14)
    np.testing.assert_allclose(grad, [[-0.25, 0.0, 0.0, 0.25]], atol=1e-20)


def test_probability_clipping():
    eps = 1e-7
    p = np.array([[0.0, 1.0, 0.0]])
    loss, grad = ref.categorical_crossentropy(np.array([[1.0, 0.0, 0.0]]), p)
    assert loss == pytest.approx(-math.log(eps), rel=1e-14)
    assert np.all(grad == 0.0)  # clip inactive derivative: the clipped entries give 0
    loss, grad = ref.binary_crossentropy(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]))
    # 1 - fl(1 - 1e-7) is 1e-7 only to ~1e-9 relative
    assert loss == pytest.approx(-math.log(eps), rel=1e-9)
    assert np.all(grad == 0.0)
    loss, grad = ref.sparse_categorical_crossentropy([1], p)  # p = 1 clipped to 1 - eps
    assert loss == -math.log(1.0 - eps)
    assert np.all(grad == 0.0)


def test_sample_weight_reduction_divides_by_batch_not_weight_sum():
    y, p = np.zeros((4, 1)), np.ones((4, 1))
    loss, grad = ref.mse(y, p, sample_weight=[1.0, 0.0, 0.0, 0.0])
    assert loss == 0.25
    np.testing.assert_allclose(grad, [[0.5], [0.0], [0.0], [0.0]])


def test_metrics():
    probs = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.2, 0.6], [0.3, 0.4, 0.3]])
    labels = np.array([1, 0, 0, 2])
    assert ref.sparse_categorical_accuracy(labels, probs) == 0.5
    assert ref.categorical_accuracy(ref.sparse_to_onehot(labels, 3), probs) == 0.5
    assert ref.sparse_categorical_accuracy(labels, probs, sample_weight=[3, 1, 0, 0]) == 1.0
    y = np.array([[1.0], [0.0], [1.0], [0.0]])
    p = np.array([[0.9], [0.5], [0.5], [0.2]])  # 0.5 is not > 0.5: predicted 0
    assert ref.binary_accuracy(y, p) == 0.75
    yr, pr = np.array([[1.0, 2.0], [0.0, 0.0]]), np.array([[2.0, 2.0], [0.0, -2.0]])
    assert ref.mse_metric(yr, pr) == pytest.approx((0.5 + 2.0) / 2)
    assert ref.mae_metric(yr, pr) == pytest.approx((0.5 + 1.0) / 2)


# ---------------------------------------------------------------------------------------------
# 3. dense layer
# ---------------------------------------------------------------------------------------------
def test_dense_forward_backward():
    r = rng(20)
    x, W, b = r.normal(size=(5, 3)), r.normal(size=(3, 4)), r.normal(size=4)
    dz = r.normal(size=(5, 4))
    xt, Wt, bt = t64(x, True), t64(W, True), t64(b, True)
    zt = F.linear(xt, Wt.T, bt)
    zt.backward(t64(dz))
    tol = dict(rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ref.dense_forward(x, W, b), zt.detach().numpy(), **tol)
    dx, dW, db = ref.dense_backward(x, W, dz)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **tol)
    np.testing.assert_allclose(dW, Wt.grad.numpy(), **tol)
    np.testing.assert_allclose(db, bt.grad.numpy(), **tol)
    fd = fd_scalar_grad(lambda w: float(np.sum(dz * ref.dense_forward(x, w, b))), W)
    np.testing.assert_allclose(dW, fd, rtol=1e-7)


# ---------------------------------------------------------------------------------------------
# 4. initializers
# ---------------------------------------------------------------------------------------------
def test_truncated_normal_constant():
    phi2 = math.exp(-2.0) / math.sqrt(2 * math.pi)
    mass = math.erf(2.0 / math.sqrt(2.0))
    assert math.sqrt(1.0 - 4.0 * phi2 / mass) == pytest.approx(ref.TRUNC_NORMAL_STD_FACTOR,
                                                               rel=1e-15)


@pytest.mark.parametrize("name,var", [
    ("glorot_uniform", 1 / 150), ("glorot_normal", 1 / 150), ("he_normal", 2 / 100),
    ("he_uniform", 2 / 100), ("lecun_normal", 1 / 100), ("lecun_uniform", 1 / 100)])
def test_named_initializer_targets_and_samples(name, var):
    shape = (100, 200)
    t = ref.initializer_target(name, shape)
    assert t["variance"] == pytest.approx(var, rel=1e-15)
    if name.endswith("uniform"):
        assert t["limit"] == pytest.approx(math.sqrt(3 * var), rel=1e-15)
    else:
        assert t["distribution"] == "truncated_normal"
        assert t["bound"] == pytest.approx(2 * math.sqrt(var) / 0.87962566103423978, rel=1e-15)
    w = np.concatenate([ref.sample_initializer(name, shape, rng(s)).ravel() for s in range(10)])
    assert abs(w.mean()) < 4 * math.sqrt(var / w.size)
    assert w.var() == pytest.approx(var, rel=0.01)
    assert np.abs(w).max() <= t["bound"]


def test_variance_scaling_modes_and_torch_bounds():
    vs = ref.variance_scaling_target
    assert vs(10, 30, 3.0, "fan_out", "normal")["stddev"] == pytest.approx(math.sqrt(0.1))
    assert vs(10, 30, 3.0, "fan_avg", "uniform")["limit"] == pytest.approx(math.sqrt(9 / 20))
    # torch's xavier_uniform / kaiming_uniform bounds are the same limits
    # (torch's weight is (out, in))
    w = torch.empty(200, 100, dtype=torch.float64)
    torch.nn.init.xavier_uniform_(w, generator=torch.Generator().manual_seed(0))
    lim = ref.initializer_target("glorot_uniform", (100, 200))["limit"]
    assert w.abs().max().item() <= lim and w.abs().max().item() > 0.999 * lim
    torch.nn.init.kaiming_uniform_(w, nonlinearity="relu",
                                   generator=torch.Generator().manual_seed(0))
    lim = ref.initializer_target("he_uniform", (100, 200))["limit"]
    assert w.abs().max().item() <= lim * (1 + 1e-12) and w.abs().max().item() > 0.999 * lim


# ---------------------------------------------------------------------------------------------
# 5. optimizers vs torch.optim
# ---------------------------------------------------------------------------------------------
STEPS = 25
SHAPES = [(3, 4), (4,)]


def _problem(seed=30):
    """A quadratic with a different curvature per element plus per-step gradient noise:
    g_t = c * theta + noise_t (so gradients depend on the trajectory)."""
    r = rng(seed)
    theta0 = [r.normal(size=s) for s in SHAPES]
    curv = [r.uniform(0.5, 3.0, size=s) for s in SHAPES]
    noise = [[r.normal(0.0, 0.3, size=s) for s in SHAPES] for _ in range(STEPS)]
    return theta0, curv, noise


def _grads(params, curv, noise_t):
    return [c * p + n for p, c, n in zip(params, curv, noise_t)]


@pytest.fixture
def torch_default_float64():
    """torch.optim keeps scalar state (step, NAdam's mu_product) in float32 unless the default
    dtype is float64; NAdam's float32 mu_product alone costs ~1e-8 relative accuracy."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def run_both(ref_opt, make_torch_opt, lrs=None, seed=30):
    theta0, curv, noise = _problem(seed)
    mine = [p.copy() for p in theta0]
    theirs = [t64(p) for p in theta0]
    topt = make_torch_opt(theirs)
    for t in range(STEPS):
        if lrs is not None:
            ref_opt.learning_rate = lrs[t]
            for group in topt.param_groups:
                group["lr"] = lrs[t]
        ref_opt.step(mine, _grads(mine, curv, noise[t]))
        tgrads = _grads([p.numpy() for p in theirs], curv, noise[t])
        for p, g in zip(theirs, tgrads):
            p.grad = t64(g)
        topt.step()
        for a, b in zip(mine, theirs):
            np.testing.assert_allclose(a, b.numpy(), rtol=RTOL, atol=ATOL,
                                       err_msg=f"diverged at step {t + 1}")
    # the trajectory must actually have moved
    assert max(np.abs(a - b).max() for a, b in zip(mine, theta0)) > 1e-3


NO_FOREACH = {"foreach": False}
OPT_TABLE = [
    ("sgd", lambda: ref.SGD(0.05), lambda p: torch.optim.SGD(p, lr=0.05, **NO_FOREACH)),
    ("sgd_default_lr", lambda: ref.SGD(), lambda p: torch.optim.SGD(p, lr=0.01, **NO_FOREACH)),
    ("momentum", lambda: ref.SGD(0.05, momentum=0.9),
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, **NO_FOREACH)),
    ("nesterov", lambda: ref.SGD(0.05, momentum=0.9, nesterov=True),
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, **NO_FOREACH)),
    ("adagrad", lambda: ref.Adagrad(0.1, epsilon=0.0),
     lambda p: torch.optim.Adagrad(p, lr=0.1, initial_accumulator_value=0.1, eps=0.0,
                                   **NO_FOREACH)),
    ("rmsprop", lambda: ref.RMSprop(0.01, epsilon=0.0),
     lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=0.0, **NO_FOREACH)),
    ("rmsprop_centered", lambda: ref.RMSprop(0.01, centered=True, epsilon=0.0),
     lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=0.0, centered=True, **NO_FOREACH)),
    ("rmsprop_momentum", lambda: ref.RMSprop(0.01, momentum=0.8, epsilon=0.0),
     lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=0.0, momentum=0.8, **NO_FOREACH)),
    ("rmsprop_centered_momentum",
     lambda: ref.RMSprop(0.01, momentum=0.8, centered=True, epsilon=0.0),
     lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=0.0, momentum=0.8, centered=True,
                                   **NO_FOREACH)),
    ("adam", lambda: ref.Adam(0.05, epsilon=0.0),
     lambda p: torch.optim.Adam(p, lr=0.05, betas=(0.9, 0.999), eps=0.0, **NO_FOREACH)),
    ("adam_amsgrad", lambda: ref.Adam(0.05, amsgrad=True, epsilon=0.0),
     lambda p: torch.optim.Adam(p, lr=0.05, eps=0.0, amsgrad=True, **NO_FOREACH)),
    ("adamw", lambda: ref.AdamW(0.05, weight_decay=0.1, epsilon=0.0),
     lambda p: torch.optim.AdamW(p, lr=0.05, weight_decay=0.1, eps=0.0, **NO_FOREACH)),
    ("adamw_amsgrad", lambda: ref.AdamW(0.05, weight_decay=0.1, amsgrad=True, epsilon=0.0),
     lambda p: torch.optim.AdamW(p, lr=0.05, weight_decay=0.1, eps=0.0, amsgrad=True,
                                 **NO_FOREACH)),
    ("adamax", lambda: ref.Adamax(0.05, epsilon=0.0),
     lambda p: torch.optim.Adamax(p, lr=0.05, eps=0.0, **NO_FOREACH)),
    ("nadam", lambda: ref.Nadam(0.05, epsilon=0.0),
     lambda p: torch.optim.NAdam(p, lr=0.05, eps=0.0, momentum_decay=4e-3,
                                 decoupled_weight_decay=False, weight_decay=0.0, **NO_FOREACH)),
    ("nadam_fast_decay", lambda: ref.Nadam(0.05, epsilon=0.0, momentum_decay=0.3),
     lambda p: torch.optim.NAdam(p, lr=0.05, eps=0.0, momentum_decay=0.3, **NO_FOREACH)),
    # The Adam family puts ε outside the root, as torch does: equal at any ε.
    ("adam_eps", lambda: ref.Adam(0.05, epsilon=1e-3),
     lambda p: torch.optim.Adam(p, lr=0.05, eps=1e-3, **NO_FOREACH)),
    ("adam_amsgrad_eps", lambda: ref.Adam(0.05, amsgrad=True, epsilon=1e-3),
     lambda p: torch.optim.Adam(p, lr=0.05, eps=1e-3, amsgrad=True, **NO_FOREACH)),
    ("adamw_eps", lambda: ref.AdamW(0.05, weight_decay=0.1, epsilon=1e-3),
     lambda p: torch.optim.AdamW(p, lr=0.05, weight_decay=0.1, eps=1e-3, **NO_FOREACH)),
    ("nadam_eps", lambda: ref.Nadam(0.05, epsilon=1e-3),
     lambda p: torch.optim.NAdam(p, lr=0.05, eps=1e-3, momentum_decay=4e-3, **NO_FOREACH)),
    ("adam_default_eps", lambda: ref.Adam(0.05),
     lambda p: torch.optim.Adam(p, lr=0.05, eps=1e-7, **NO_FOREACH)),
    ("nadam_default_eps", lambda: ref.Nadam(0.05),
     lambda p: torch.optim.NAdam(p, lr=0.05, eps=1e-7, momentum_decay=4e-3, **NO_FOREACH)),
]


@pytest.mark.parametrize("oid,make_ref,make_torch", OPT_TABLE, ids=[r[0] for r in OPT_TABLE])
def test_optimizer_vs_torch(oid, make_ref, make_torch, torch_default_float64):
    run_both(make_ref(), make_torch)


# learning rate changed between steps: identical in both conventions for every rule whose lr
# enters the update linearly at the current step (not for momentum SGD / RMSprop momentum,
# whose velocity keeps the lr of the step that produced it in SPEC/Keras but not in torch).
LR_SCHEDULE = [0.05 * 0.9 ** t for t in range(STEPS)]
VARYING_LR_TABLE = [r for r in OPT_TABLE if r[0] in ("sgd", "adagrad", "rmsprop",
                                                        "rmsprop_centered", "adam", "adamw",
                                                        "adamax", "nadam")]


@pytest.mark.parametrize("oid,make_ref,make_torch", VARYING_LR_TABLE,
                         ids=[r[0] for r in VARYING_LR_TABLE])
def test_optimizer_vs_torch_varying_lr(oid, make_ref, make_torch, torch_default_float64):
    run_both(make_ref(), make_torch, lrs=LR_SCHEDULE)


def test_momentum_keeps_lr_of_its_step():
    """SPEC/Keras: m <- beta m - eta_t g. With a varying lr this differs from torch
    (v <- beta v + g; theta -= eta_t v). Check the SPEC form by hand over two steps."""
    opt = ref.SGD(learning_rate=1.0, momentum=0.5)
    p = [np.array([0.0])]
    opt.step(p, [np.array([1.0])])  # m = -1
    opt.learning_rate = 0.1
    opt.step(p, [np.array([1.0])])  # m = -0.5 - 0.1 = -0.6
    assert p[0][0] == pytest.approx(-1.6, rel=1e-15)  # torch would give -1 - 0.1 * 1.5 = -1.15


def test_step_counter_advances_once_per_step_not_per_tensor():
    theta0, curv, noise = _problem(31)
    for cls in (ref.Adam, ref.Nadam, ref.Adamax, ref.AdamW):
        together = [p.copy() for p in theta0]
        separate = [p.copy() for p in theta0]
        opt_all = cls(learning_rate=0.05)
        opts = [cls(learning_rate=0.05) for _ in theta0]
        for t in range(5):
            opt_all.step(together, _grads(together, curv, noise[t]))
            gs = _grads(separate, curv, noise[t])
            for o, p, g in zip(opts, separate, gs):
                o.step([p], [g])
        assert opt_all.t == 5
        for a, b in zip(together, separate):
            np.testing.assert_array_equal(a, b)


# epsilon > 0 (inside the root for Adagrad and RMSprop, outside for the Adam family unless
# epsilon_inside_root, added to u for Adamax): first step from zero state in closed form
G1 = np.array([0.3, -2.0, 1e-4])


@pytest.mark.parametrize("make,expected", [
    (lambda: ref.Adagrad(0.1), -0.1 * G1 / np.sqrt(0.1 + G1 ** 2 + 1e-7)),
    (lambda: ref.RMSprop(0.1), -0.1 * G1 / np.sqrt(0.1 * G1 ** 2 + 1e-7)),
    (lambda: ref.RMSprop(0.1, centered=True),
     -0.1 * G1 / np.sqrt(0.1 * G1 ** 2 - 0.01 * G1 ** 2 + 1e-7)),
    (lambda: ref.Adam(0.1), -0.1 * G1 / (np.abs(G1) + 1e-7)),
    (lambda: ref.Adam(0.1, amsgrad=True), -0.1 * G1 / (np.abs(G1) + 1e-7)),
    (lambda: ref.AdamW(0.1, weight_decay=0.0), -0.1 * G1 / (np.abs(G1) + 1e-7)),
    (lambda: ref.Adam(0.1, epsilon_inside_root=True), -0.1 * G1 / np.sqrt(G1 ** 2 + 1e-7)),
    (lambda: ref.Adam(0.1, amsgrad=True, epsilon_inside_root=True),
     -0.1 * G1 / np.sqrt(G1 ** 2 + 1e-7)),
    (lambda: ref.Adamax(0.1), -0.1 * G1 / (np.abs(G1) + 1e-7)),
    (lambda: ref.SGD(), -0.01 * G1),
])
def test_first_step_with_epsilon(make, expected):
    p = [np.zeros(3)]
    make().step(p, [G1.copy()])
    np.testing.assert_allclose(p[0], expected, rtol=1e-12)


def test_nadam_first_step_with_epsilon():
    b1, psi = 0.9, 0.004
    mu1 = b1 * (1 - 0.5 * 0.96 ** psi)
    mu2 = b1 * (1 - 0.5 * 0.96 ** (2 * psi))
    m = 0.1 * G1
    m_hat = mu2 * m / (1 - mu1 * mu2) + (1 - mu1) * G1 / (1 - mu1)
    s_hat = 0.001 * G1 ** 2 / (1 - 0.999)
    p = [np.zeros(3)]
    ref.Nadam(0.1).step(p, [G1.copy()])
    np.testing.assert_allclose(p[0], -0.1 * m_hat / (np.sqrt(s_hat) + 1e-7), rtol=1e-12)
    p = [np.zeros(3)]
    ref.Nadam(0.1, epsilon_inside_root=True).step(p, [G1.copy()])
    np.testing.assert_allclose(p[0], -0.1 * m_hat / np.sqrt(s_hat + 1e-7), rtol=1e-12)


def test_adamw_decay_applied_before_adam_update():
    p = [np.array([2.0])]
    ref.AdamW(0.1, weight_decay=0.5, epsilon=0.0).step(p, [np.array([3.0])])
    assert p[0][0] == pytest.approx(2.0 - 0.1 * 0.5 * 2.0 - 0.1, rel=1e-14)


def test_optimizer_defaults():
    assert ref.SGD().learning_rate == 0.01
    for cls in (ref.Adagrad, ref.RMSprop, ref.Adam, ref.Adamax, ref.Nadam, ref.AdamW):
        o = cls()
        assert o.learning_rate == 1e-3 and o.epsilon == 1e-7
    assert ref.AdamW().weight_decay == 0.004
    assert ref.Adagrad().initial_accumulator_value == 0.1
    assert ref.RMSprop().rho == 0.9


# ---------------------------------------------------------------------------------------------
# 6. gradient clipping
# ---------------------------------------------------------------------------------------------
def clip_case():
    r = rng(40)
    return [r.normal(0.0, 2.0, size=s) for s in [(3, 4), (4,), (2,)]]


@pytest.mark.parametrize("c", [0.5, 3.0, 100.0])
def test_global_clipnorm_vs_torch(c):
    grads = clip_case()
    tensors = [t64(np.zeros_like(g)) for g in grads]
    for t, g in zip(tensors, grads):
        t.grad = t64(g)
    total = torch.nn.utils.clip_grad_norm_(tensors, max_norm=c, foreach=False).item()
    n = ref.global_norm(grads)
    assert total == pytest.approx(n, rel=1e-14)
    mine = ref.clip_by_global_norm(grads, c)
    # torch scales by c / (norm + 1e-6) (clamped at 1); SPEC by c / norm
    correction = n / (n + 1e-6) if n > c else 1.0
    for a, t in zip(mine, tensors):
        np.testing.assert_allclose(a * correction, t.grad.numpy(), rtol=1e-13)
    if n > c:
        assert ref.global_norm(mine) == pytest.approx(c, rel=1e-14)


def test_clipnorm_per_variable_vs_torch():
    grads = clip_case()
    c = 2.0
    mine = ref.clip_by_norm(grads, c)
    for a, g in zip(mine, grads):
        t = t64(np.zeros_like(g))
        t.grad = t64(g)
        torch.nn.utils.clip_grad_norm_([t], max_norm=c, foreach=False)
        n = np.linalg.norm(g)
        correction = n / (n + 1e-6) if n > c else 1.0
        np.testing.assert_allclose(a * correction, t.grad.numpy(), rtol=1e-13)
        assert np.linalg.norm(a) == pytest.approx(min(n, c), rel=1e-14)


def test_clipvalue_vs_torch():
    grads = clip_case()
    mine = ref.clip_by_value(grads, 0.7)
    for a, g in zip(mine, grads):
        t = t64(np.zeros_like(g))
        t.grad = t64(g)
        torch.nn.utils.clip_grad_value_([t], 0.7, foreach=False)
        np.testing.assert_array_equal(a, t.grad.numpy())


def test_optimizer_applies_clipping():
    g = [np.array([3.0, 4.0])]
    for kw, want in [({"clipvalue": 1.0}, [-1.0, -1.0]), ({"clipnorm": 1.0}, [-0.6, -0.8]),
                     ({"global_clipnorm": 1.0}, [-0.6, -0.8]), ({}, [-3.0, -4.0])]:
        p = [np.zeros(2)]
        ref.SGD(1.0, **kw).step(p, g)
        np.testing.assert_allclose(p[0], want, rtol=1e-15)


# ---------------------------------------------------------------------------------------------
# 7. regularizers and constraints
# ---------------------------------------------------------------------------------------------
def test_regularizer_grads_vs_fd():
    w = away_from_zero(rng(50).normal(size=(4, 3)))
    for pen, grad in [(lambda v: ref.l1_penalty(v, 0.03), lambda v: ref.l1_grad(v, 0.03)),
                      (lambda v: ref.l2_penalty(v, 0.03), lambda v: ref.l2_grad(v, 0.03)),
                      (lambda v: ref.l1_l2_penalty(v, 0.02, 0.05),
                       lambda v: ref.l1_l2_grad(v, 0.02, 0.05))]:
        np.testing.assert_allclose(grad(w), fd_scalar_grad(pen, w), rtol=1e-7, atol=1e-10)
    assert ref.l2_penalty(np.array([1.0, -2.0]), 0.1) == pytest.approx(0.5)
    assert ref.l1_penalty(np.array([1.0, -2.0]), 0.1) == pytest.approx(0.3)


def test_max_norm():
    W = np.array([[3.0, 0.1, 0.0], [4.0, 0.2, 0.0]])  # column norms 5, ~0.22, 0
    out = ref.max_norm(W, 2.0)
    np.testing.assert_allclose(out[:, 0], [1.2, 1.6], rtol=1e-15)
    np.testing.assert_array_equal(out[:, 1:], W[:, 1:])
    Wr = rng(51).normal(0.0, 2.0, size=(6, 5))
    out = ref.max_norm(Wr, 3.0)
    norms = np.linalg.norm(out, axis=0)
    assert np.all(norms <= 3.0 * (1 + 1e-15))
    # torch.renorm does the same per column, but divides by (norm + 1e-7)
    want = torch.renorm(t64(Wr), p=2, dim=1, maxnorm=3.0).numpy()
    np.testing.assert_allclose(out, want, rtol=1e-7)


def test_non_neg_and_unit_norm():
    W = np.array([[-1.0, 2.0], [3.0, -0.0]])
    np.testing.assert_array_equal(ref.non_neg(W), [[0.0, 2.0], [3.0, 0.0]])
    Wr = rng(52).normal(size=(5, 4))
    np.testing.assert_allclose(np.linalg.norm(ref.unit_norm(Wr), axis=0), 1.0, rtol=1e-15)
    np.testing.assert_allclose(ref.unit_norm(Wr), F.normalize(t64(Wr), dim=0).numpy(),
                               rtol=1e-14)


# ---------------------------------------------------------------------------------------------
# 8. batch norm, dropout, alpha dropout, folding
# ---------------------------------------------------------------------------------------------
def bn_case():
    r = rng(60)
    x = r.normal(1.5, 3.0, size=(16, 5))
    gamma, beta = r.uniform(0.5, 2.0, size=5), r.normal(size=5)
    mm, mv = r.normal(size=5), r.uniform(0.5, 2.0, size=5)
    return x, gamma, beta, mm, mv


def test_bn_training_forward_and_moving_average_vs_torch():
    x, gamma, beta, mm, mv = bn_case()
    out, cache = ref.bn_forward_train(x, gamma, beta, epsilon=1e-3)
    rm, rv = t64(mm), t64(mv)
    # torch momentum is the weight of the NEW statistic: 1 - 0.99
    want = F.batch_norm(t64(x), rm, rv, t64(gamma), t64(beta), training=True, momentum=0.01,
                        eps=1e-3)
    np.testing.assert_allclose(out, want.numpy(), rtol=1e-13, atol=1e-14)
    new_mean, new_var = ref.bn_moving_update(mm, mv, cache["mean"], cache["var"], momentum=0.99)
    np.testing.assert_allclose(new_mean, rm.numpy(), rtol=1e-14)
    # SPEC blends the biased batch variance; torch blends the unbiased one (n / (n - 1))
    n = x.shape[0]
    assert not np.allclose(new_var, rv.numpy(), rtol=1e-6)
    _, var_torch_convention = ref.bn_moving_update(mm, mv, cache["mean"],
                                                   cache["var"] * n / (n - 1), momentum=0.99)
    np.testing.assert_allclose(var_torch_convention, rv.numpy(), rtol=1e-14)
    np.testing.assert_allclose(cache["var"], x.var(axis=0), rtol=1e-14)


def test_bn_inference_vs_torch():
    x, gamma, beta, mm, mv = bn_case()
    got = ref.bn_forward_inference(x, mm, mv, gamma, beta, epsilon=1e-3)
    want = F.batch_norm(t64(x), t64(mm), t64(mv), t64(gamma), t64(beta), training=False,
                        eps=1e-3)
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-13, atol=1e-14)


def test_bn_backward_vs_torch_and_fd():
    x, gamma, beta, _, _ = bn_case()
    dout = rng(61).normal(size=x.shape)
    out, cache = ref.bn_forward_train(x, gamma, beta)
    dx, dgamma, dbeta = ref.bn_backward(dout, cache)
    xt, gt, bt = t64(x, True), t64(gamma, True), t64(beta, True)
    F.batch_norm(xt, None, None, gt, bt, training=True, eps=1e-3).backward(t64(dout))
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(dgamma, gt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(dbeta, bt.grad.numpy(), rtol=1e-12)
    fd = fd_scalar_grad(lambda v: float(np.sum(dout * ref.bn_forward_train(v, gamma, beta)[0])), x)
    np.testing.assert_allclose(dx, fd, rtol=1e-6, atol=1e-8)


def test_bn_center_scale_off():
    x = bn_case()[0]
    out, _ = ref.bn_forward_train(x)
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-13)
    np.testing.assert_allclose(out.var(axis=0), x.var(axis=0) / (x.var(axis=0) + 1e-3),
                               rtol=1e-12)


def test_fold_batchnorm():
    r = rng(62)
    x, W, b = r.normal(size=(8, 6)), r.normal(size=(6, 5)), r.normal(size=5)
    _, gamma, beta, mm, mv = bn_case()
    for bias in (b, None):
        want = ref.bn_forward_inference(ref.dense_forward(x, W, bias), mm, mv, gamma, beta)
        W2, b2 = ref.fold_batchnorm(W, bias, gamma, beta, mm, mv)
        np.testing.assert_allclose(ref.dense_forward(x, W2, b2), want, rtol=1e-12, atol=1e-13)


def test_dropout_vs_torch_mask():
    x = rng(63).normal(size=(50, 8))
    p = 0.3
    torch.manual_seed(0)
    out_t = F.dropout(t64(x), p=p, training=True).numpy()
    keep = out_t != 0.0
    np.testing.assert_allclose(ref.dropout_forward(x, keep, p), out_t, rtol=1e-15)
    np.testing.assert_array_equal(ref.dropout_backward(np.ones_like(x), keep, p),
                                  keep / (1 - p))
    np.testing.assert_array_equal(ref.dropout_inference(x), x)


@pytest.mark.parametrize("p", [0.05, 0.1, 0.3])
def test_alpha_dropout(p):
    a, b, alpha_p = ref.alpha_dropout_constants(p)
    assert alpha_p == pytest.approx(-1.7580993408473766, rel=1e-15)
    # preserves zero mean / unit variance exactly for N(0,1) inputs (in expectation)
    assert a * p * alpha_p + b == pytest.approx(0.0, abs=1e-15)
    var = a * a * ((1 - p) + p * alpha_p ** 2 - (p * alpha_p) ** 2)
    assert var == pytest.approx(1.0, rel=1e-14)
    x = rng(64).normal(size=(60, 10))
    torch.manual_seed(1)
    out_t = F.alpha_dropout(t64(x), p=p, training=True).numpy()
    dropped_value = a * alpha_p + b
    keep = ~np.isclose(out_t, dropped_value, rtol=0, atol=1e-14)
    assert 0 < (~keep).sum() < keep.size
    np.testing.assert_allclose(ref.alpha_dropout_forward(x, keep, p), out_t, rtol=1e-13,
                               atol=1e-15)
    xs, ks = x[:3], keep[:3]
    dout = rng(65).normal(size=xs.shape)
    fd = fd_scalar_grad(lambda v: float(np.sum(dout * ref.alpha_dropout_forward(v, ks, p))), xs)
    np.testing.assert_allclose(ref.alpha_dropout_backward(dout, ks, p), fd, rtol=1e-7, atol=1e-9)


# ---------------------------------------------------------------------------------------------
# 9. schedules
# ---------------------------------------------------------------------------------------------
def test_schedules():
    assert ref.power_decay(0.1, 0, 10) == 0.1
    assert ref.power_decay(0.1, 10, 10) == pytest.approx(0.05)
    assert ref.power_decay(0.1, 10, 10, c=2) == pytest.approx(0.025)
    assert ref.exponential_decay(0.1, 0, 20) == 0.1
    assert ref.exponential_decay(0.1, 20, 20) == pytest.approx(0.01)
    assert ref.exponential_decay(0.1, 10, 20) == pytest.approx(0.1 * 10 ** -0.5)
    bounds, vals = [5, 15], [1.0, 0.5, 0.1]
    got = [ref.piecewise_constant(t, bounds, vals) for t in (0, 5, 6, 15, 15.5, 100)]
    assert got == [1.0, 1.0, 0.5, 0.5, 0.1, 0.1]
    with pytest.raises(ValueError):
        ref.piecewise_constant(0, [1], [1.0])
