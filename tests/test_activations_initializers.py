"""Activation kernels and weight initializers of densekit against SPEC §3.

Activations: the raw C++ kernels ``dk._core.activation_forward/backward`` against
``tests/reference.py`` (float64) and ``torch.nn.functional`` (float32 and float64) on a grid that
reaches |z| = 50 (float64) / 80 (float32), plus RReLU's random slopes.
Initializers: kernels of a real ``Dense`` built in a ``Sequential`` (400×600, so fan_in, fan_out
and fan_avg all differ) against ``reference.initializer_target``; orthogonal; seeding.

Tolerances are in the tables / constants below; statistical ones are derived from the sample
size n = 240 000 (standard error of a variance estimate ≈ √(2/n) σ² ≈ 0.3% σ²).
"""

import math

import numpy as np
import pytest

import densekit as dk
import reference as ref

core = dk._core


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def spec_args(name, **params):
    return dk.activations.get(name, **params).core_args()  # (code, alpha, lower, upper)


def lib_forward(name, z, training=False, key=0, prelu_alpha=None, **params):
    return core.activation_forward(*spec_args(name, **params), z, training, key,
                                   prelu_alpha=prelu_alpha)


def lib_backward(name, z, g, key=0, prelu_alpha=None, **params):
    a = lib_forward(name, z, True, key, prelu_alpha, **params)
    return core.activation_backward(*spec_args(name, **params), z, a, g, key,
                                    prelu_alpha=prelu_alpha)


N_UNITS = 5
PRELU_ALPHA = np.array([0.25, 0.1, -0.3, 0.7, 0.0])


def grid(limit, dtype=np.float64, seed=0):
    """(B, 5): an even linspace over [-limit, limit] (so no exact 0), random normals near the
    kinks, and rows mixing ±limit (softmax with a huge spread)."""
    r = np.random.default_rng(seed)
    lin = np.linspace(-limit, limit, 500).reshape(-1, N_UNITS)
    rnd = r.normal(0.0, 3.0, size=(40, N_UNITS))
    mixed = np.array([[-limit, limit, 0.5, -0.5, 1.0], [limit, limit, -limit, 1e-3, -1e-3]])
    return np.ascontiguousarray(np.vstack([lin, rnd, mixed]), dtype=dtype)


# (name, densekit params, reference params)
ACTIVATION_CASES = [
    ("linear", {}, {}),
    ("relu", {}, {}),
    ("leaky_relu", {}, {}),
    ("leaky_relu", {"alpha": 0.2}, {"alpha": 0.2}),
    ("rrelu", {}, {"training": False}),  # inference: slope (lower + upper) / 2
    ("rrelu", {"lower": 0.1, "upper": 0.5}, {"training": False, "lower": 0.1, "upper": 0.5}),
    ("prelu", {}, {"alpha": PRELU_ALPHA}),
    ("elu", {}, {}),
    ("elu", {"alpha": 0.5}, {"alpha": 0.5}),
    ("selu", {}, {}),
    ("tanh", {}, {}),
    ("sigmoid", {}, {}),
    ("softmax", {}, {}),
    ("gelu", {}, {}),
    ("swish", {}, {}),
    ("silu", {}, {}),
    ("softplus", {}, {}),
    ("mish", {}, {}),
    ("hard_sigmoid", {}, {}),
    ("softsign", {}, {}),
    ("exponential", {}, {}),
    ("relu6", {}, {}),
]
CASE_IDS = [f"{n}-{i}" for i, (n, _, _) in enumerate(ACTIVATION_CASES)]

# float64 vs reference: relative 1e-12; absolute 1e-14 covers cancellations in the far tails
# (e.g. 1 + erf(z/√2) in gelu, 1 − σ(z) in sigmoid' at z ≈ 20, exp(z) recovered as a + α in
# elu') whose absolute error is ~1e-16.
F64_RTOL, F64_ATOL = 1e-12, 1e-14


def _prelu_alpha(name, dtype):
    return PRELU_ALPHA.astype(dtype) if name == "prelu" else None


@pytest.mark.parametrize("name,params,ref_params", ACTIVATION_CASES, ids=CASE_IDS)
def test_forward_vs_reference_float64(name, params, ref_params):
    z = grid(50.0)
    got = lib_forward(name, z, prelu_alpha=_prelu_alpha(name, np.float64), **params)
    want = ref.activation_forward(name, z, **ref_params)
    np.testing.assert_allclose(got, want, rtol=F64_RTOL, atol=F64_ATOL)


# rrelu's backward only runs in training mode (random slopes): see the RReLU tests below
@pytest.mark.parametrize("name,params,ref_params",
                         [c for c in ACTIVATION_CASES if c[0] != "rrelu"],
                         ids=[i for i, c in zip(CASE_IDS, ACTIVATION_CASES) if c[0] != "rrelu"])
def test_backward_vs_reference_float64(name, params, ref_params):
    z = grid(50.0)
    g = np.random.default_rng(1).normal(size=z.shape)
    pa = _prelu_alpha(name, np.float64)
    dz, dalpha = lib_backward(name, z, g, prelu_alpha=pa, **params)
    np.testing.assert_allclose(dz, ref.activation_backward(name, z, g, **ref_params),
                               rtol=F64_RTOL, atol=F64_ATOL)
    if name == "prelu":
        np.testing.assert_allclose(dalpha, ref.prelu_alpha_grad(z, g), rtol=F64_RTOL, atol=F64_ATOL)


# At the kink z == 0 the piecewise-linear family takes the z <= 0 branch's slope
# (reference.activation_grad's convention, as TF and torch: relu' = 0, leaky/prelu/rrelu' = α).
@pytest.mark.parametrize("name,params,slope", [
    ("relu", {}, lambda z: np.zeros_like(z)),
    ("leaky_relu", {"alpha": 0.2}, lambda z: np.full_like(z, 0.2)),
    ("prelu", {}, lambda z: np.broadcast_to(PRELU_ALPHA, z.shape)),
], ids=["relu", "leaky_relu", "prelu"])
def test_backward_at_kink_uses_negative_slope(name, params, slope):
    z = np.zeros((3, N_UNITS))
    g = np.random.default_rng(2).normal(size=z.shape)
    dz, _ = lib_backward(name, z, g, prelu_alpha=_prelu_alpha(name, np.float64), **params)
    np.testing.assert_allclose(dz, g * slope(z), rtol=1e-15, atol=0)
    a = lib_forward(name, z, prelu_alpha=_prelu_alpha(name, np.float64), **params)
    np.testing.assert_array_equal(a, 0.0)


def test_rrelu_backward_at_kink_uses_random_slope():
    """RReLU in training at z == 0: the same convention (z <= 0 → the random slope in
    [lower, upper]), as torch's rrelu_with_noise (noise = r where input <= 0) and as densekit's
    leaky_relu/prelu; not slope 1."""
    lower, upper = 0.1, 0.4
    z = np.zeros((4, N_UNITS))
    g = np.ones_like(z)
    dz, _ = lib_backward("rrelu", z, g, key=3, lower=lower, upper=upper)
    assert np.all((dz >= lower) & (dz <= upper)), dz


# ------------------------------------ torch parity -------------------------------------------
def _torch_cases():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional

    def prelu(z):
        return F.prelu(z, torch.tensor(PRELU_ALPHA, dtype=z.dtype))

    return {
        "linear": lambda z, p: z * 1.0,
        "relu": lambda z, p: F.relu(z),
        "leaky_relu": lambda z, p: F.leaky_relu(z, negative_slope=p.get("alpha", 0.01)),
        "rrelu": lambda z, p: F.rrelu(z, lower=p.get("lower", 1 / 8), upper=p.get("upper", 1 / 3),
                                      training=False),
        "prelu": lambda z, p: prelu(z),
        "elu": lambda z, p: F.elu(z, alpha=p.get("alpha", 1.0)),
        "selu": lambda z, p: F.selu(z),
        "tanh": lambda z, p: torch.tanh(z),
        "sigmoid": lambda z, p: torch.sigmoid(z),
        "softmax": lambda z, p: F.softmax(z, dim=1),
        "gelu": lambda z, p: F.gelu(z, approximate="none"),
        "swish": lambda z, p: F.silu(z),
        "silu": lambda z, p: F.silu(z),
        # torch linearises softplus above `threshold` (default 20); SPEC's softplus does not
        "softplus": lambda z, p: F.softplus(z, beta=1.0, threshold=100.0),
        "mish": lambda z, p: F.mish(z),
        "hard_sigmoid": lambda z, p: F.hardsigmoid(z),
        "softsign": lambda z, p: F.softsign(z),
        "exponential": lambda z, p: torch.exp(z),
        "relu6": lambda z, p: F.relu6(z),
    }


# dtype -> (grid limit, rtol, atol). float32 kernels (Eigen's vectorised exp/tanh/erf vs torch's
# SLEEF) agree to a few ulp; atol covers tails where both values are ~1e-7 absolute noise.
TORCH_TOL = {np.float64: (50.0, 1e-12, 1e-14), np.float32: (80.0, 2e-6, 1e-6)}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name,params,ref_params", ACTIVATION_CASES, ids=CASE_IDS)
def test_forward_backward_vs_torch(name, params, ref_params, dtype):
    torch = pytest.importorskip("torch")
    fn = _torch_cases()[name]
    limit, rtol, atol = TORCH_TOL[dtype]
    z = grid(limit, dtype)
    pa = _prelu_alpha(name, dtype)
    got = lib_forward(name, z, prelu_alpha=pa, **params)
    zt = torch.tensor(z, requires_grad=True)
    at = fn(zt, params)
    np.testing.assert_allclose(got, at.detach().numpy(), rtol=rtol, atol=atol, err_msg="forward")
    if name == "rrelu":
        return  # backward only exists in training mode (random slopes): tested below
    g = np.random.default_rng(3).normal(size=z.shape).astype(dtype)
    if name == "prelu":
        w = torch.tensor(PRELU_ALPHA.astype(dtype), requires_grad=True)
        zt = torch.tensor(z, requires_grad=True)
        at = torch.nn.functional.prelu(zt, w)
    at.backward(torch.tensor(g))
    dz, dalpha = lib_backward(name, z, g, prelu_alpha=pa, **params)
    # torch's hardsigmoid backward multiplies by a float32 1/6 even in float64 (relative error
    # 3e-8); densekit and reference.py use the float64 1/6. Exact elsewhere: see the reference test.
    brtol = max(rtol, 1e-7) if name == "hard_sigmoid" else rtol
    np.testing.assert_allclose(dz, zt.grad.numpy(), rtol=brtol, atol=atol, err_msg="backward")
    if name == "prelu":
        # a sum over 142 rows: allow for the summation order
        np.testing.assert_allclose(dalpha, w.grad.numpy(), rtol=rtol * 20, atol=atol * 20,
                                   err_msg="dalpha")


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name,params,ref_params", ACTIVATION_CASES, ids=CASE_IDS)
def test_no_nan_or_inf_for_large_inputs(name, params, ref_params, dtype):
    """|z| ≤ 80: forward and backward (training mode too) stay finite."""
    z = grid(80.0, dtype, seed=4)
    g = np.random.default_rng(5).normal(size=z.shape).astype(dtype)
    pa = _prelu_alpha(name, dtype)
    for training in (False, True):
        a = lib_forward(name, z, training, 9, pa, **params)
        assert np.all(np.isfinite(a)), f"forward (training={training})"
    dz, dalpha = lib_backward(name, z, g, key=9, prelu_alpha=pa, **params)
    assert np.all(np.isfinite(dz)), "backward"
    if name == "prelu":
        assert np.all(np.isfinite(dalpha))


# float32 keeps its relative precision in the smooth activations' tails (σ(−16) ≈ 1e-7,
# gelu(−5) ≈ −1e-6): closed forms in float64 as the oracle, every float32 value in [-20, 20].
TAIL_CLOSED_FORMS = {
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), 1e-6),
    "swish": (lambda z: z / (1 + np.exp(-z)), 1e-6),
    "softplus": (lambda z: np.logaddexp(0, z), 1e-6),
    "mish": (lambda z: z * np.tanh(np.logaddexp(0, z)), 1e-6),
    "gelu": (lambda z: 0.5 * z * np.array([math.erfc(-v / math.sqrt(2)) for v in z.ravel()]).reshape(z.shape), 1e-4),
}


@pytest.mark.parametrize("name", sorted(TAIL_CLOSED_FORMS))
def test_float32_relative_precision_in_the_tails(name):
    f, rtol = TAIL_CLOSED_FORMS[name]
    z = np.linspace(-20, 20, 40_001, dtype=np.float32).reshape(-1, 1)
    exact = f(z.astype(np.float64))
    got = lib_forward(name, z).astype(np.float64)
    keep = np.abs(exact) > 1e-30
    rel = np.abs(got - exact)[keep] / np.abs(exact)[keep]
    assert rel.max() <= rtol, f"max relative error {rel.max():.2e} at z = {z[keep][np.argmax(rel)]}"


# ---------------------------------------------------------------------------------------------
# RReLU: inference slope (lower + upper) / 2, random training slopes
# ---------------------------------------------------------------------------------------------
RRELU_BOUNDS = [(1 / 8, 1 / 3), (0.1, 0.5), (0.3, 0.3)]


def _rrelu_slopes(z, key, lower, upper, training=True):
    a = lib_forward("rrelu", z, training, key, lower=lower, upper=upper)
    return a / z


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("lower,upper", RRELU_BOUNDS)
def test_rrelu_inference_slope(lower, upper, dtype):
    z = -np.random.default_rng(6).uniform(0.1, 50.0, size=(64, 8)).astype(dtype)
    slopes = _rrelu_slopes(z, 123, lower, upper, training=False)
    rtol = 1e-15 if dtype == np.float64 else 2e-7
    np.testing.assert_allclose(slopes, ref.rrelu_inference_slope(lower, upper), rtol=rtol)
    # positive inputs pass through
    a_pos = lib_forward("rrelu", -z, False, 123, lower=lower, upper=upper)
    np.testing.assert_array_equal(a_pos, -z)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("lower,upper", RRELU_BOUNDS[:2])
def test_rrelu_training_slopes(lower, upper, dtype):
    n_rows, n_cols = 200, 50
    z = -np.random.default_rng(7).uniform(0.5, 5.0, size=(n_rows, n_cols)).astype(dtype)
    s = _rrelu_slopes(z, 42, lower, upper)
    eps = 1e-12 if dtype == np.float64 else 2e-7  # a / z recovers the slope to rounding
    assert s.min() >= lower * (1 - eps) and s.max() <= upper * (1 + eps)
    # they differ across elements and fill the interval, U(lower, upper)
    assert np.unique(s).size > 0.99 * s.size
    n = s.size
    assert abs(s.mean() - (lower + upper) / 2) < 5 * (upper - lower) / math.sqrt(12 * n)
    assert abs(s.var() - (upper - lower) ** 2 / 12) < 0.05 * (upper - lower) ** 2 / 12
    assert s.min() < lower + 0.01 * (upper - lower) and s.max() > upper - 0.01 * (upper - lower)
    # same key → same slopes (bit for bit); different key → different slopes
    np.testing.assert_array_equal(_rrelu_slopes(z, 42, lower, upper), s)
    other = _rrelu_slopes(z, 43, lower, upper)
    assert np.mean(other != s) > 0.99
    # positive inputs pass through in training too
    np.testing.assert_array_equal(lib_forward("rrelu", -z, True, 42, lower=lower, upper=upper), -z)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_rrelu_training_backward_uses_the_forward_slopes(dtype):
    """Backward with the forward's key regenerates exactly the forward's slopes (and 1 for z>0)."""
    lower, upper = 1 / 8, 1 / 3
    z = np.random.default_rng(8).normal(0.0, 2.0, size=(60, 7)).astype(dtype)
    z[np.abs(z) < 1e-3] = 0.5
    a = lib_forward("rrelu", z, True, 77, lower=lower, upper=upper)
    g = np.ones_like(z)
    dz, _ = core.activation_backward(*spec_args("rrelu", lower=lower, upper=upper), z, a, g, 77)
    neg = z < 0
    rtol = 1e-15 if dtype == np.float64 else 2e-7
    np.testing.assert_allclose(dz[neg], (a / z)[neg], rtol=rtol)
    np.testing.assert_array_equal(dz[~neg], 1.0)


def test_rrelu_slopes_do_not_depend_on_the_batch_split():
    """The slope of element (r, c) is a function of (key, flat index) only: the same whether the
    kernel sees the whole batch or is run with several threads (2-core machine: > 1 chunk)."""
    z = -np.random.default_rng(9).uniform(0.5, 2.0, size=(4096, 64))
    before = dk.get_num_threads()
    try:
        dk.set_num_threads(1)
        s1 = _rrelu_slopes(z, 5, 1 / 8, 1 / 3)
        dk.set_num_threads(2)
        s2 = _rrelu_slopes(z, 5, 1 / 8, 1 / 3)
    finally:
        dk.set_num_threads(before)
    np.testing.assert_array_equal(s1, s2)


# ---------------------------------------------------------------------------------------------
# Initializers
# ---------------------------------------------------------------------------------------------
SHAPE = (400, 600)  # fan_in 400, fan_out 600, fan_avg 500
N = SHAPE[0] * SHAPE[1]
VAR_RTOL = 0.03     # ≈ 10 standard errors of a variance estimate with n = 240 000
MEAN_SIGMAS = 5.0   # |mean| ≤ 5 σ/√n


def dense_weights(init, seed=0, dtype="float64", shape=SHAPE, **dense_kwargs):
    m = dk.Sequential([dk.layers.Input(shape[0]),
                       dk.layers.Dense(shape[1], kernel_initializer=init, **dense_kwargs)],
                      seed=seed, dtype=dtype)
    layer = m.layers[0]
    return layer.kernel.copy(), (layer.bias.copy() if layer.use_bias else None)


# (id, initializer as given to Dense, reference.initializer_target args)
VS_SCALE = 1.7
INIT_CASES = [(name, name, (name, {})) for name in ref.NAMED_INITIALIZERS] + [
    (f"vs-{mode}-{dist}", dk.initializers.VarianceScaling(VS_SCALE, mode, dist),
     ("variance_scaling", {"scale": VS_SCALE, "mode": mode, "distribution": dist}))
    for mode in ("fan_in", "fan_out", "fan_avg")
    for dist in ("truncated_normal", "normal", "uniform")
]


@pytest.mark.parametrize("init,target", [c[1:] for c in INIT_CASES], ids=[c[0] for c in INIT_CASES])
def test_initializer_statistics(init, target):
    w, b = dense_weights(init, seed=3)
    t = ref.initializer_target(target[0], SHAPE, **target[1])
    sigma2 = t["variance"]
    assert w.shape == SHAPE
    assert abs(w.mean()) <= MEAN_SIGMAS * math.sqrt(sigma2 / N)
    assert w.var() == pytest.approx(sigma2, rel=VAR_RTOL)
    amax = np.abs(w).max()
    dist = t["distribution"]
    if dist == "truncated_normal":
        assert amax <= t["bound"]  # never beyond 2·stddev of the underlying normal
        assert amax >= 0.98 * t["bound"]  # ... and cut there, not earlier
    elif dist == "uniform":
        assert amax <= t["limit"]
        assert amax >= 0.999 * t["limit"]
    else:  # untruncated normal: P(|w| > 2σ) = 4.55% (standard error 0.04%)
        frac = np.mean(np.abs(w) > 2 * t["stddev"])
        assert 0.042 < frac < 0.049
    np.testing.assert_array_equal(b, 0.0)  # biases start at zero


@pytest.mark.parametrize("init,target", [c[1:] for c in INIT_CASES], ids=[c[0] for c in INIT_CASES])
def test_initializer_distribution_ks(init, target):
    """Kolmogorov–Smirnov against the exact law (truncated normal / normal / uniform)."""
    stats = pytest.importorskip("scipy.stats")
    w, _ = dense_weights(init, seed=4)
    t = ref.initializer_target(target[0], SHAPE, **target[1])
    if t["distribution"] == "truncated_normal":
        law = stats.truncnorm(-2.0, 2.0, scale=t["stddev"])
    elif t["distribution"] == "normal":
        law = stats.norm(scale=t["stddev"])
    else:
        law = stats.uniform(-t["limit"], 2 * t["limit"])
    res = stats.kstest(w.ravel(), law.cdf)
    assert res.pvalue > 1e-4, res


@pytest.mark.parametrize("init,value", [
    ("zeros", 0.0), ("ones", 1.0), ("constant", 0.0),
    (dk.initializers.Constant(0.7), 0.7), (dk.initializers.Constant(-2.5), -2.5),
], ids=["zeros", "ones", "constant", "Constant(0.7)", "Constant(-2.5)"])
def test_constant_initializers(init, value):
    for dtype in ("float64", "float32"):
        w, b = dense_weights(init, dtype=dtype, shape=(7, 9))
        np.testing.assert_array_equal(w, np.float64(value).astype(dtype))
        np.testing.assert_array_equal(b, 0.0)


ORTHO_SHAPES = [(60, 40), (40, 60), (50, 50), (1, 30), (30, 1)]


@pytest.mark.parametrize("dtype,tol", [("float64", 1e-12), ("float32", 2e-6)])
@pytest.mark.parametrize("gain", [None, 1.0, 2.5])
@pytest.mark.parametrize("shape", ORTHO_SHAPES, ids=[f"{a}x{b}" for a, b in ORTHO_SHAPES])
def test_orthogonal(shape, gain, dtype, tol):
    init = "orthogonal" if gain is None else dk.initializers.Orthogonal(gain)
    gain = 1.0 if gain is None else gain
    w, b = dense_weights(init, seed=5, dtype=dtype, shape=shape)
    w = w.astype(np.float64)
    gram = w.T @ w if shape[0] >= shape[1] else w @ w.T  # WᵀW (tall) or WWᵀ (wide) = gain²·I
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(min(shape)), rtol=0, atol=tol * gain ** 2)
    assert ref.is_orthogonal(w, gain, tol=tol * 10)
    np.testing.assert_array_equal(b, 0.0)
    if min(shape) > 1:  # a random rotation, not a signed identity
        assert np.mean(np.abs(w) > 1e-3 * gain) > 0.9
    # different seeds give different matrices
    w2, _ = dense_weights(init, seed=6, dtype=dtype, shape=shape)
    assert not np.allclose(w, w2)


def _seed_model(seed, dtype="float64"):
    return dk.Sequential([dk.layers.Input(20),
                          dk.layers.Dense(30, kernel_initializer="he_normal"),
                          dk.layers.Dense(30),  # default glorot_uniform
                          dk.layers.Dense(30, kernel_initializer="lecun_uniform"),
                          dk.layers.PReLU(),
                          dk.layers.Dense(5, kernel_initializer="orthogonal")],
                         seed=seed, dtype=dtype)


def test_same_seed_same_weights_different_seed_different_weights():
    a, b, c = _seed_model(11), _seed_model(11), _seed_model(12)
    wa, wb, wc = a.get_weights(), b.get_weights(), c.get_weights()
    assert len(wa) == len(wb) == len(wc) == 9
    for x, y in zip(wa, wb):
        np.testing.assert_array_equal(x, y)
    for layer_a, layer_c in zip(a.layers, c.layers):
        if isinstance(layer_a, dk.layers.Dense):
            assert np.mean(layer_a.kernel != layer_c.kernel) > 0.99
    # layers of the same shape inside one model get independent draws
    k1, k2 = a.layers[1].kernel, a.layers[2].kernel
    assert np.mean(k1 != k2) > 0.99


def test_dense_default_initializer_is_glorot_uniform():
    w_default, _ = dense_weights("glorot_uniform", seed=13, shape=(30, 50))
    m = dk.Sequential([dk.layers.Input(30), dk.layers.Dense(50)], seed=13, dtype="float64")
    np.testing.assert_array_equal(m.layers[0].kernel, w_default)


def test_float32_and_float64_models_agree_to_float32_rounding():
    m64, m32 = _seed_model(21, "float64"), _seed_model(21, "float32")
    for w64, w32 in zip(m64.get_weights(), m32.get_weights()):
        assert w32.dtype == np.float32 and w64.dtype == np.float64
        # round to nearest: |w32 − w64| ≤ ½ ulp(w64) = 2⁻²⁴·|w64| (normal numbers)
        assert np.all(np.abs(w32.astype(np.float64) - w64) <= 2.0 ** -24 * np.abs(w64) + 1e-45)
    # and for every named initializer on a larger kernel
    for _, init, _ in INIT_CASES:
        w64, _ = dense_weights(init, seed=22, shape=(40, 60))
        w32, _ = dense_weights(init, seed=22, dtype="float32", shape=(40, 60))
        assert np.all(np.abs(w32.astype(np.float64) - w64) <= 2.0 ** -24 * np.abs(w64) + 1e-45)
