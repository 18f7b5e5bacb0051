"""Finite-difference gradient checks of densekit's real training path, in float64.

Every case builds a small float64 model, calls ``m.compute_gradients`` (one training-mode forward,
loss and backward, no update) and compares each parameter gradient the C++ backward left in
``layer.gradient(name)`` with central differences of the loss that the same call returns:

    g_fd[i] = (L(θ + h e_i) − L(θ − h e_i)) / 2h,    h = 1e-6.

Tolerances (stated once, used everywhere):
  * per parameter tensor, ‖g − g_fd‖₂ / max(‖g‖₂, ‖g_fd‖₂) ≤ 1e-6     (RTOL)
  * per element,          |g − g_fd| ≤ 1e-6·|g_fd| + 1e-8                (RTOL, ATOL_FD)
    (the floor covers the FD round-off, ~1e-16·|L| / h; observed ≤ 1.2e-9).
The loss value itself is compared with ``tests/reference.py`` applied to a NumPy forward pass of
the same weights (reference.dense_forward / activation_forward): relative error ≤ 1e-12.

Kinks (relu & co at z = 0, mae at r = 0, huber at |r| = δ, l1 at w = 0) are avoided by drawing
random inputs and weights, so no evaluation point sits within h of one.
RReLU in training mode draws its slopes from (layer seed, step); ``gradients`` never advances
the step, so repeated calls see the same slopes and finite differences are consistent.
"""

import numpy as np
import pytest

import densekit as dk
import reference as ref

H = 1e-6          # central-difference step
RTOL = 1e-6       # relative error of analytic vs finite-difference gradients
ATOL_FD = 1e-8    # element-wise absolute floor (FD round-off, observed ≤ 1.2e-9)
LOSS_RTOL = 1e-12  # returned loss vs the NumPy reference

N_IN, N_HID, N_OUT, BATCH = 4, 5, 3, 7


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def make_model(layers, loss, n_in=N_IN, seed=0):
    m = dk.Sequential([dk.layers.Input(n_in), *layers], seed=seed, dtype="float64")
    m.compile(optimizer=dk.optimizers.SGD(learning_rate=0.01), loss=loss)
    return m


def randomize(m, rng, scale=0.6):
    """Random weights (biases non-zero, PReLU slopes distinct) so no gradient is trivially 0."""
    for layer in m.layers:
        for name in layer.parameter_names:
            v = layer.variable(name)
            if name == "alpha":
                v[...] = rng.uniform(0.05, 0.6, size=v.shape)
            else:
                v[...] = rng.normal(0.0, scale, size=v.shape)


def fd_grad(m, X, Y, sw, layer, name):
    v = layer.variable(name)  # zero-copy view: writing it changes the model
    g = np.zeros_like(v)
    for idx in np.ndindex(v.shape):
        old = v[idx]
        v[idx] = old + H
        lp = m.compute_gradients(X, Y, sw)
        v[idx] = old - H
        lm = m.compute_gradients(X, Y, sw)
        v[idx] = old
        g[idx] = (lp - lm) / (2.0 * H)
    return g


def check_gradients(m, X, Y, sw=None):
    """Compares every parameter gradient of every layer with central differences.
    Returns the loss of the unperturbed call and the list of (layer, name) checked."""
    loss = m.compute_gradients(X, Y, sw)
    analytic = {}
    for i, layer in enumerate(m.layers):
        for name in layer.parameter_names:
            analytic[i, name] = layer.gradient(name).copy()
    assert analytic, "the model has no parameters"
    for (i, name), g in analytic.items():
        g_fd = fd_grad(m, X, Y, sw, m.layers[i], name)
        denom = max(np.linalg.norm(g), np.linalg.norm(g_fd))
        assert denom > 1e-8, f"layer {i} {name}: gradient is ~0, the check would be vacuous"
        rel = np.linalg.norm(g - g_fd) / denom
        where = f"layer {i} ({m.layers[i].name}) {name}"
        assert rel <= RTOL, f"{where}: relative error {rel:.2e}\n{g}\n{g_fd}"
        np.testing.assert_allclose(g, g_fd, rtol=RTOL, atol=ATOL_FD, err_msg=where)
    # the FD sweep must not have changed anything: same loss again
    assert m.compute_gradients(X, Y, sw) == loss
    return loss, list(analytic)


def ref_activation(spec, z, prelu_alpha=None):
    """reference.activation_forward for a densekit ActivationSpec (inference-mode rrelu)."""
    params = {}
    if spec.name in ("leaky_relu", "elu"):
        params["alpha"] = spec.alpha
    elif spec.name == "prelu":
        params["alpha"] = np.asarray(prelu_alpha).reshape(-1)
    elif spec.name == "rrelu":
        params.update(lower=spec.lower, upper=spec.upper, training=False)
    return ref.activation_forward(spec.name, z, **params)


def numpy_forward(m, X):
    """The model's output computed in NumPy from its weights with reference.py."""
    a = np.asarray(X, dtype=np.float64)
    for layer in m.layers:
        names = layer.parameter_names
        if isinstance(layer, dk.layers.Dense):
            bias = layer.variable("bias").reshape(-1) if "bias" in names else None
            a = ref.dense_forward(a, layer.variable("kernel"), bias)
        alpha = layer.variable("alpha") if "alpha" in names else None
        a = ref_activation(layer.activation, a, alpha)
    return a


def ref_penalty(m):
    total = 0.0
    for layer in m.layers:
        for name, reg in (("kernel", getattr(layer, "kernel_regularizer", None)),
                          ("bias", getattr(layer, "bias_regularizer", None))):
            if reg is not None and name in layer.parameter_names:
                total += ref.l1_l2_penalty(layer.variable(name), reg.l1, reg.l2)
    return total


def data(rng, n_in=N_IN, batch=BATCH, scale=1.0):
    return np.ascontiguousarray(rng.normal(0.0, scale, size=(batch, n_in)))


def sparse_targets(rng, batch=BATCH, classes=N_OUT):
    return np.ascontiguousarray(rng.integers(0, classes, size=(batch, 1)).astype(np.float64))


def onehot_targets(rng, batch=BATCH, classes=N_OUT):
    return np.ascontiguousarray(ref.sparse_to_onehot(rng.integers(0, classes, size=batch), classes))


def soft_targets(rng, batch=BATCH, classes=N_OUT):
    t = rng.uniform(0.1, 1.0, size=(batch, classes))
    return np.ascontiguousarray(t / t.sum(axis=1, keepdims=True))


def binary_targets(rng, batch=BATCH, units=N_OUT):
    return np.ascontiguousarray(rng.integers(0, 2, size=(batch, units)).astype(np.float64))


def regression_targets(rng, batch=BATCH, units=N_OUT):
    return np.ascontiguousarray(rng.normal(0.0, 1.0, size=(batch, units)))


def residual_targets(lo, hi, gap=None):
    """Target maker y = out + r, |r| ~ U(lo, hi) (minus the band `gap`), random sign."""
    def make(rng, out):
        r = rng.uniform(lo, hi, size=out.shape)
        if gap is not None:
            r = np.where((r > gap[0]) & (r < gap[1]), r + (gap[1] - gap[0]), r)
        return np.ascontiguousarray(out + rng.choice([-1.0, 1.0], size=out.shape) * r)
    make.needs_output = True
    return make


# ---------------------------------------------------------------------------------------------
# 1. every activation, as Dense(activation=...) and as a separate Activation layer
# ---------------------------------------------------------------------------------------------
ACTIVATIONS = ["linear", "relu", "leaky_relu", "rrelu", "prelu", "elu", "selu", "tanh",
               "sigmoid", "softmax", "gelu", "swish", "softplus", "mish", "hard_sigmoid",
               "softsign", "exponential", "relu6"]


def hidden_activation_layers(act, form):
    if form == "dense":
        return [dk.layers.Dense(N_HID, activation=act)]
    if act == "prelu":
        layer = dk.layers.PReLU()
    elif act == "rrelu":
        layer = dk.layers.RReLU(lower=0.1, upper=0.4)
    elif act == "leaky_relu":
        layer = dk.layers.LeakyReLU(alpha=0.2)
    else:
        layer = dk.layers.Activation(act)
    return [dk.layers.Dense(N_HID), layer]


@pytest.mark.parametrize("form", ["dense", "layer"])
@pytest.mark.parametrize("act", ACTIVATIONS)
def test_hidden_activation_gradients(act, form):
    """Input(4) → [act] → Dense(3) linear, mse: every parameter, incl. PReLU's α."""
    rng = np.random.default_rng(ACTIVATIONS.index(act) * 2 + (form == "layer"))
    m = make_model(hidden_activation_layers(act, form) + [dk.layers.Dense(N_OUT)], "mse")
    randomize(m, rng)
    X, Y = data(rng), regression_targets(rng)
    _, checked = check_gradients(m, X, Y)
    if act == "prelu":
        assert any(name == "alpha" for _, name in checked)


@pytest.mark.parametrize("form", ["dense", "layer"])
@pytest.mark.parametrize("act", [a for a in ACTIVATIONS if a != "rrelu"])
def test_hidden_activation_loss_value(act, form):
    """The loss returned by the training path equals reference.mse on a NumPy forward pass."""
    rng = np.random.default_rng(100 + ACTIVATIONS.index(act))
    m = make_model(hidden_activation_layers(act, form) + [dk.layers.Dense(N_OUT)], "mse")
    randomize(m, rng)
    X, Y = data(rng), regression_targets(rng)
    out = numpy_forward(m, X)
    np.testing.assert_allclose(m.predict(X), out, rtol=1e-12, atol=1e-14)
    expected, _ = ref.mse(Y, out)
    assert m.compute_gradients(X, Y, None) == pytest.approx(expected, rel=LOSS_RTOL)


def test_rrelu_training_slopes_fixed_within_a_step():
    """Repeated gradients() calls reuse the step's slopes (the premise of the FD check above),
    and the training-mode loss differs from the inference-mode (mean slope) loss."""
    rng = np.random.default_rng(7)
    m = make_model([dk.layers.Dense(N_HID), dk.layers.RReLU(), dk.layers.Dense(N_OUT)], "mse")
    randomize(m, rng)
    X, Y = data(rng, batch=20), regression_targets(rng, batch=20)
    losses = [m.compute_gradients(X, Y, None) for _ in range(3)]
    assert losses[0] == losses[1] == losses[2]
    inference, _ = ref.mse(Y, numpy_forward(m, X))
    assert abs(losses[0] - inference) > 1e-6


# ---------------------------------------------------------------------------------------------
# 2. Dense with and without bias; a 3-layer net
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("use_bias", [True, False])
def test_dense_bias_gradients(use_bias):
    rng = np.random.default_rng(11)
    m = make_model([dk.layers.Dense(N_HID, activation="tanh", use_bias=use_bias),
                    dk.layers.Dense(N_OUT, use_bias=use_bias)], "mse")
    randomize(m, rng)
    X, Y = data(rng), regression_targets(rng)
    loss, checked = check_gradients(m, X, Y)
    expected_names = ["kernel", "bias"] if use_bias else ["kernel"]
    assert checked == [(i, n) for i in range(2) for n in expected_names]
    assert loss == pytest.approx(ref.mse(Y, numpy_forward(m, X))[0], rel=LOSS_RTOL)


def test_three_layer_net_every_parameter():
    """Input(5) → Dense(6, elu) → Dense(4, tanh) → PReLU → Dense(3, softmax), sparse CE: the
    gradient of every parameter of every layer, including the first layer's kernel."""
    rng = np.random.default_rng(12)
    m = make_model([dk.layers.Dense(6, activation="elu"), dk.layers.Dense(4, activation="tanh"),
                    dk.layers.PReLU(), dk.layers.Dense(N_OUT, activation="softmax")],
                   "sparse_categorical_crossentropy", n_in=5)
    randomize(m, rng)
    X, Y = data(rng, n_in=5, batch=9), sparse_targets(rng, batch=9)
    loss, checked = check_gradients(m, X, Y)
    assert checked == [(0, "kernel"), (0, "bias"), (1, "kernel"), (1, "bias"), (2, "alpha"),
                       (3, "kernel"), (3, "bias")]
    expected, _ = ref.sparse_categorical_crossentropy(Y, numpy_forward(m, X))
    assert loss == pytest.approx(expected, rel=LOSS_RTOL)


# ---------------------------------------------------------------------------------------------
# 3. every loss, with and without sample_weight
# ---------------------------------------------------------------------------------------------
def _sce_logits():
    return dk.losses.SparseCategoricalCrossentropy(from_logits=True)


def _cce_logits():
    return dk.losses.CategoricalCrossentropy(from_logits=True)


def _bce_logits():
    return dk.losses.BinaryCrossentropy(from_logits=True)


# (id, output activation, loss, target maker, reference loss(y, out, sw), scale of the targets
#  relative to the output or None)
LOSS_CASES = [
    ("sparse_cce_softmax_fused", "softmax", "sparse_categorical_crossentropy", sparse_targets,
     lambda y, o, w: ref.sparse_categorical_crossentropy(y, o, w)),
    ("cce_softmax_fused", "softmax", "categorical_crossentropy", onehot_targets,
     lambda y, o, w: ref.categorical_crossentropy(y, o, w)),
    ("cce_soft_labels_fused", "softmax", "categorical_crossentropy", soft_targets,
     lambda y, o, w: ref.categorical_crossentropy(y, o, w)),
    ("sparse_cce_from_logits", "linear", _sce_logits, sparse_targets,
     lambda y, o, w: ref.sparse_categorical_crossentropy(y, o, w, from_logits=True)),
    ("cce_from_logits", "linear", _cce_logits, soft_targets,
     lambda y, o, w: ref.categorical_crossentropy(y, o, w, from_logits=True)),
    # non-fused probabilities path: CE on a sigmoid output (probabilities far from the clip)
    ("cce_on_sigmoid_probabilities", "sigmoid", "categorical_crossentropy", soft_targets,
     lambda y, o, w: ref.categorical_crossentropy(y, o, w)),
    ("sparse_cce_on_sigmoid_probabilities", "sigmoid", "sparse_categorical_crossentropy",
     sparse_targets, lambda y, o, w: ref.sparse_categorical_crossentropy(y, o, w)),
    ("bce_sigmoid_fused", "sigmoid", "binary_crossentropy", binary_targets,
     lambda y, o, w: ref.binary_crossentropy(y, o, w)),
    ("bce_from_logits", "linear", _bce_logits, binary_targets,
     lambda y, o, w: ref.binary_crossentropy(y, o, w, from_logits=True)),
    # BCE on probabilities that are not a sigmoid output (non-fused path)
    ("bce_on_softmax_probabilities", "softmax", "binary_crossentropy", binary_targets,
     lambda y, o, w: ref.binary_crossentropy(y, o, w)),
    ("mse_softmax_output", "softmax", "mse", regression_targets,
     lambda y, o, w: ref.mse(y, o, w)),
    ("mse", "linear", "mse", regression_targets, lambda y, o, w: ref.mse(y, o, w)),
    # mae / huber: targets = output + residual with |residual| in a chosen band (off the kinks)
    ("mae", "linear", "mae", residual_targets(0.05, 2.0), lambda y, o, w: ref.mae(y, o, w)),
    ("huber_quadratic", "linear", lambda: dk.losses.Huber(delta=1.0),
     residual_targets(0.05, 0.9), lambda y, o, w: ref.huber(y, o, w, delta=1.0)),
    ("huber_linear", "linear", lambda: dk.losses.Huber(delta=0.5),
     residual_targets(0.6, 3.0), lambda y, o, w: ref.huber(y, o, w, delta=0.5)),
    ("huber_both_regimes", "linear", "huber", residual_targets(0.1, 3.0, gap=(0.9, 1.1)),
     lambda y, o, w: ref.huber(y, o, w, delta=1.0)),
]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weight"])
@pytest.mark.parametrize("case", LOSS_CASES, ids=[c[0] for c in LOSS_CASES])
def test_loss_gradients_and_value(case, weighted):
    name, out_act, loss, make_y, ref_loss = case
    rng = np.random.default_rng(1000 + 2 * LOSS_CASES.index(case) + weighted)
    loss = loss() if callable(loss) else loss
    m = make_model([dk.layers.Dense(N_HID, activation="tanh"),
                    dk.layers.Dense(N_OUT, activation=out_act)], loss)
    randomize(m, rng, scale=0.5)
    X = data(rng)
    out = numpy_forward(m, X)
    Y = make_y(rng, out) if getattr(make_y, "needs_output", False) else make_y(rng)
    sw = np.ascontiguousarray(rng.uniform(0.2, 3.0, size=BATCH)) if weighted else None
    r = np.abs(out - Y)
    if name == "huber_quadratic":
        assert r.max() < 1.0
    if name == "huber_linear":
        assert r.min() > 0.5
    if name == "huber_both_regimes":
        assert (r < 0.9).any() and (r > 1.1).any()
    if out_act in ("sigmoid", "softmax") and not name.endswith("fused"):
        assert 1e-4 < out.min() and out.max() < 1 - 1e-4, "probabilities near the 1e-7 clip"
    got, _ = check_gradients(m, X, Y, sw)
    expected, _ = ref_loss(Y, out, sw)
    assert got == pytest.approx(expected, rel=LOSS_RTOL)


# Output heads where the activation is a separate layer: the last layer's activation decides
# whether softmax/sigmoid is fused with the cross-entropy.
OUTPUT_HEADS = [
    ("softmax_layer_sparse_cce", lambda: [dk.layers.Dense(N_OUT), dk.layers.Activation("softmax")],
     "sparse_categorical_crossentropy", sparse_targets,
     lambda y, o: ref.sparse_categorical_crossentropy(y, o)),
    ("softmax_layer_cce", lambda: [dk.layers.Dense(N_OUT), dk.layers.Softmax()],
     "categorical_crossentropy", soft_targets, lambda y, o: ref.categorical_crossentropy(y, o)),
    ("sigmoid_layer_bce", lambda: [dk.layers.Dense(N_OUT), dk.layers.Activation("sigmoid")],
     "binary_crossentropy", binary_targets, lambda y, o: ref.binary_crossentropy(y, o)),
    # softmax inside Dense, then a linear Activation layer: CE on probabilities (not fused)
    ("softmax_then_linear_layer_cce", lambda: [dk.layers.Dense(N_OUT, activation="softmax"),
                                       dk.layers.Activation("linear")],
     "categorical_crossentropy", soft_targets, lambda y, o: ref.categorical_crossentropy(y, o)),
    ("sigmoid_then_linear_layer_bce", lambda: [dk.layers.Dense(N_OUT, activation="sigmoid"),
                                       dk.layers.Activation("linear")],
     "binary_crossentropy", binary_targets, lambda y, o: ref.binary_crossentropy(y, o)),
]


@pytest.mark.parametrize("case", OUTPUT_HEADS, ids=[c[0] for c in OUTPUT_HEADS])
def test_output_activation_as_separate_layer(case):
    name, head, loss, make_y, ref_loss = case
    rng = np.random.default_rng(2000 + OUTPUT_HEADS.index(case))
    m = make_model([dk.layers.Dense(N_HID, activation="swish")] + head(), loss)
    randomize(m, rng, scale=0.5)
    X, Y = data(rng), make_y(rng)
    out = numpy_forward(m, X)
    assert 1e-4 < out.min() and out.max() < 1 - 1e-4, "probabilities near the 1e-7 clip"
    got, _ = check_gradients(m, X, Y)
    assert got == pytest.approx(ref_loss(Y, out)[0], rel=LOSS_RTOL)


def test_sample_weight_scales_per_sample_terms():
    """Doubling every weight doubles loss and gradients; weight 0 removes a sample."""
    rng = np.random.default_rng(21)
    m = make_model([dk.layers.Dense(N_HID, activation="relu"),
                    dk.layers.Dense(N_OUT, activation="softmax")],
                   "sparse_categorical_crossentropy")
    randomize(m, rng)
    X, Y = data(rng), sparse_targets(rng)
    ones = np.ones(BATCH)
    base = m.compute_gradients(X, Y, ones)
    g1 = m.layers[0].gradient("kernel").copy()
    assert m.compute_gradients(X, Y, None) == pytest.approx(base, rel=1e-14)
    assert m.compute_gradients(X, Y, 2 * ones) == pytest.approx(2 * base, rel=1e-14)
    np.testing.assert_allclose(m.layers[0].gradient("kernel"), 2 * g1, rtol=1e-13, atol=1e-16)
    w = ones.copy()
    w[0] = 0.0
    with_zero = m.compute_gradients(X, Y, w)
    rest = m.compute_gradients(np.ascontiguousarray(X[1:]), np.ascontiguousarray(Y[1:]), None)
    assert with_zero == pytest.approx(rest * (BATCH - 1) / BATCH, rel=1e-13)


# ---------------------------------------------------------------------------------------------
# 4. regularization: the gradient includes the penalty, the returned loss includes it
# ---------------------------------------------------------------------------------------------
REGULARIZERS = [
    ("l1", lambda: dk.regularizers.l1(0.03)),
    ("l2", lambda: dk.regularizers.l2(0.05)),
    ("l1_l2", lambda: dk.regularizers.l1_l2(l1=0.02, l2=0.04)),
]


@pytest.mark.parametrize("where", ["kernel", "bias", "both"])
@pytest.mark.parametrize("reg", REGULARIZERS, ids=[r[0] for r in REGULARIZERS])
def test_regularization_gradients_and_loss(reg, where):
    _, make_reg = reg
    kr = make_reg() if where in ("kernel", "both") else None
    br = make_reg() if where in ("bias", "both") else None
    rng = np.random.default_rng(31)
    m = make_model([dk.layers.Dense(N_HID, activation="elu", kernel_regularizer=kr,
                                    bias_regularizer=br),
                    dk.layers.Dense(N_OUT, activation="softmax", kernel_regularizer=kr,
                                    bias_regularizer=br)],
                   "sparse_categorical_crossentropy")
    randomize(m, rng)
    for layer in m.layers:  # keep l1 away from its kink at w = 0
        for name in ("kernel", "bias"):
            v = layer.variable(name)
            assert np.abs(v).min() > 10 * H
    X, Y = data(rng), sparse_targets(rng)
    loss, _ = check_gradients(m, X, Y)
    data_loss, _ = ref.sparse_categorical_crossentropy(Y, numpy_forward(m, X))
    penalty = ref_penalty(m)
    assert penalty > 0
    assert loss == pytest.approx(data_loss + penalty, rel=LOSS_RTOL)
    assert m.penalty() == pytest.approx(penalty, rel=LOSS_RTOL)


@pytest.mark.parametrize("reg", REGULARIZERS, ids=[r[0] for r in REGULARIZERS])
def test_regularization_gradient_is_data_gradient_plus_penalty_gradient(reg):
    """g(regularized) − g(same weights, unregularized) = reference.l1_l2_grad exactly."""
    _, make_reg = reg
    r = make_reg()
    rng = np.random.default_rng(32)

    def layers(kr, br):
        return [dk.layers.Dense(N_HID, activation="tanh", kernel_regularizer=kr,
                                bias_regularizer=br), dk.layers.Dense(N_OUT)]

    m_reg = make_model(layers(r, r), "mse")
    m_plain = make_model(layers(None, None), "mse")
    randomize(m_reg, rng)
    m_plain.set_weights(m_reg.get_weights())
    X, Y = data(rng), regression_targets(rng)
    m_reg.compute_gradients(X, Y, None)
    m_plain.compute_gradients(X, Y, None)
    layer_r, layer_p = m_reg.layers[0], m_plain.layers[0]
    for name in ("kernel", "bias"):
        w = layer_r.variable(name)
        np.testing.assert_allclose(layer_r.gradient(name) - layer_p.gradient(name),
                                   ref.l1_l2_grad(w, r.l1, r.l2), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(m_reg.layers[1].gradient("kernel"),
                                  m_plain.layers[1].gradient("kernel"))
