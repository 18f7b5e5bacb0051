"""BatchNormalization, Normalization, BN folding and the self-normalizing claim (SPEC section 3,
"Batch Normalization"; issue 4).

What is checked, and against what:
  * the training-mode forward against ``torch.nn.functional.batch_norm(training=True, eps=1e-3)``
    and ``reference.bn_forward_train`` (float64, and float32 with a float32-rounding tolerance);
  * the moving statistics after k real training steps against ``reference.bn_moving_update``
    (biased batch variance, moving <- moving*momentum + batch*(1-momentum): Keras's convention,
    not torch's unbiased running variance with momentum 1-0.99);
  * the inference forward (moving statistics) against ``reference.bn_forward_inference`` and torch;
  * finite-difference gradients (float64, through ``m.compute_gradients``) of gamma, beta and the
    preceding Dense kernel, with center/scale off, BN before and after an activation, frozen BN;
  * a frozen BN (trainable=False) runs in inference mode in training and nothing in it changes;
  * get/set_weights order (Keras: gamma, beta, moving_mean, moving_variance);
  * ``fold_batchnorm`` against the unfolded model (<= 1e-5 relative) and ``reference.fold_batchnorm``;
  * ``Normalization.adapt`` standardizes;
  * SELU + LeCun-normal keeps activations at mean ~0 / std ~1 through 20 layers at
    initialization, sigmoid + Glorot does not.

How the training-mode output is observed: densekit exposes no training-mode forward, so a
"probe" Dense(1, use_bias=False, linear) is appended and the model compiled with MAE against a
target far below every output (r = p - y > 0 everywhere, so dL/dp_i = w_i / B exactly). With
sample weight e_i (one-hot), the probe's kernel gradient is (row i of the probed output) / B.
Sample weights do not enter BN's batch statistics, and ``gradients`` neither updates anything nor
advances the random streams, so B calls read the B rows of one and the same training forward.
"""

import numpy as np
import pytest

import densekit as dk
import reference as ref
from test_gradients import ATOL_FD, RTOL, fd_grad

L = dk.layers
DTYPES = ["float32", "float64"]
FAR_BELOW = -1e6  # MAE target: below every probed output, so sign(p - y) = +1

# Tolerances (relative to the magnitude of the compared values unless stated)
TOL = {"float64": 1e-12, "float32": 2e-6}      # forward values, reference vs densekit
STAT_TOL = {"float64": 1e-12, "float32": 1e-5}  # moving statistics after several steps
FOLD_RTOL = {"float32": 1e-5, "float64": 1e-12}  # SPEC: folded == unfolded within 1e-5 relative
                                                # (observed 1.6e-6 float32, 3.4e-15 float64)


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def model(layers, n_in, dtype="float64", loss="sparse_categorical_crossentropy", opt=None, seed=0):
    m = dk.Sequential([L.Input(n_in), *layers], seed=seed, dtype=dtype)
    m.compile(optimizer=opt or dk.optimizers.SGD(0.05), loss=loss)
    return m


def randomize_bn(bn, rng, stats=False):
    """Non-trivial gamma/beta (and moving statistics when asked) through the zero-copy views."""
    if bn.gamma is not None:
        bn.gamma[...] = rng.uniform(0.5, 1.5, bn.gamma.shape)
    if bn.beta is not None:
        bn.beta[...] = rng.normal(0.0, 0.5, bn.beta.shape)
    if stats:
        bn.moving_mean[...] = rng.normal(0.0, 1.0, bn.moving_mean.shape)
        bn.moving_variance[...] = rng.uniform(0.3, 3.0, bn.moving_variance.shape)


def randomize(m, rng, scale=0.6):
    for layer in m.layers:
        if isinstance(layer, L.Dense):
            layer.kernel[...] = rng.normal(0.0, scale, layer.kernel.shape)
            if layer.use_bias:
                layer.bias[...] = rng.normal(0.0, 0.3, layer.bias.shape)
        elif isinstance(layer, L.BatchNormalization):
            randomize_bn(layer, rng)


def probe_model(layers, n_in, dtype="float64", seed=0):
    """`layers` + a linear probe Dense(1, no bias), MAE loss: see the module docstring."""
    m = model([*layers, L.Dense(1, use_bias=False)], n_in, dtype, loss="mae", seed=seed)
    m.layers[-1].kernel[...] = 1.0
    return m


def training_output(m, X):
    """Training-mode output of the layer before the probe, row by row (one `gradients` call per
    row, all reading the same training forward)."""
    X = np.ascontiguousarray(X, dtype=m.dtype)
    n = X.shape[0]
    Y = np.full((n, 1), FAR_BELOW, dtype=m.dtype)
    rows = []
    for i in range(n):
        w = np.zeros(n, dtype=m.dtype)
        w[i] = 1.0
        m.compute_gradients(X, Y, w)
        rows.append(m.layers[-1].gradient("kernel")[:, 0] * n)
    return np.array(rows, dtype=np.float64)


def onehot_targets(y, dtype):
    return np.asarray(y, dtype=dtype).reshape(-1, 1)


def bn_weights(bn):
    return [w.astype(np.float64) for w in (bn.gamma, bn.beta)]


def assert_close(got, want, tol, what=""):
    scale = max(1.0, float(np.max(np.abs(want))))
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale, err_msg=what)


# ---------------------------------------------------------------------------------------------
# training-mode forward
# ---------------------------------------------------------------------------------------------
FORWARD_CASES = [  # (dtype, center, scale, epsilon, batch)
    ("float64", True, True, 1e-3, 9),
    ("float64", False, True, 1e-3, 9),
    ("float64", True, False, 1e-3, 9),
    ("float64", False, False, 1e-3, 9),
    ("float64", True, True, 0.5, 9),
    ("float64", True, True, 1e-3, 2),     # smallest batch with a defined variance
    ("float32", True, True, 1e-3, 33),
]


@pytest.mark.parametrize("dtype,center,scale,eps,batch", FORWARD_CASES)
def test_training_forward_matches_reference(dtype, center, scale, eps, batch):
    rng = np.random.default_rng(1)
    X = rng.normal(2.0, 3.0, size=(batch, 5))
    m = probe_model([L.BatchNormalization(epsilon=eps, center=center, scale=scale)], 5, dtype)
    bn = m.layers[0]
    randomize_bn(bn, rng, stats=True)  # moving statistics must NOT be used in training mode
    got = training_output(m, X.astype(dtype))
    want, _ = ref.bn_forward_train(X.astype(dtype), bn.gamma, bn.beta, epsilon=eps)
    assert_close(got, want, TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_training_forward_matches_torch(dtype):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(2)
    X = rng.normal(-1.0, 2.0, size=(17, 6)).astype(dtype)
    m = probe_model([L.BatchNormalization()], 6, dtype)
    bn = m.layers[0]
    randomize_bn(bn, rng)
    got = training_output(m, X)
    t = lambda a: torch.tensor(np.asarray(a, dtype=np.float64))
    want = F.batch_norm(t(X), torch.zeros(6, dtype=torch.float64), torch.ones(6, dtype=torch.float64),
                        t(bn.gamma), t(bn.beta), training=True, eps=1e-3).numpy()
    assert_close(got, want, TOL[dtype])


def test_training_forward_after_dense_and_activation():
    """BN after a Dense(no bias) and after an activation, read through the probe."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(11, 4))
    for layers in ([L.Dense(6, use_bias=False), L.BatchNormalization()],
                   [L.Dense(6, activation="elu"), L.BatchNormalization()]):
        m = probe_model(layers, 4)
        randomize(m, rng)
        dense, bn = m.layers[0], m.layers[1]
        z = ref.dense_forward(X, dense.kernel, dense.bias if dense.use_bias else None)
        z = ref.activation_forward(dense.activation.name, z)
        want, _ = ref.bn_forward_train(z, bn.gamma, bn.beta)
        assert_close(training_output(m, X), want, 1e-12)


# ---------------------------------------------------------------------------------------------
# moving statistics
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("momentum", [0.99, 0.9, 0.0, 1.0])
def test_moving_statistics_follow_reference(dtype, momentum):
    """k train_on_batch steps of Dense(no bias) -> BN -> ELU -> Dense(softmax) with Nadam: before
    each step the BN input is X_b @ W (the current kernel); the moving statistics after each step
    must equal the NumPy transcription of SPEC applied to those inputs."""
    rng = np.random.default_rng(4)
    k, batch, n_in, units = 6, 16, 5, 7
    m = model([L.Dense(units, use_bias=False), L.BatchNormalization(momentum=momentum), L.ELU(),
               L.Dense(3, activation="softmax")], n_in, dtype, opt=dk.optimizers.Nadam(0.05))
    dense, bn = m.layers[0], m.layers[1]
    np.testing.assert_array_equal(bn.moving_mean, 0.0)
    np.testing.assert_array_equal(bn.moving_variance, 1.0)
    mm, mv = np.zeros(units), np.ones(units)
    for step in range(k):
        Xb = rng.normal(1.0, 2.0, size=(batch, n_in)).astype(dtype)
        yb = rng.integers(0, 3, size=batch)
        z = Xb.astype(np.float64) @ dense.kernel.astype(np.float64)
        _, cache = ref.bn_forward_train(z)
        mm, mv = ref.bn_moving_update(mm, mv, cache["mean"], cache["var"], momentum)
        m.train_on_batch(Xb, yb)
        assert_close(bn.moving_mean, mm, STAT_TOL[dtype], f"moving_mean after step {step + 1}")
        assert_close(bn.moving_variance, mv, STAT_TOL[dtype], f"moving_variance after step {step + 1}")
    assert not np.array_equal(dense.kernel, 0.0)


def test_moving_statistics_through_fit():
    """fit(shuffle=False): one moving update per batch, in order, including the short last one."""
    rng = np.random.default_rng(5)
    X = rng.normal(3.0, 2.0, size=(45, 4))
    y = rng.integers(0, 2, size=45)
    m = model([L.BatchNormalization(momentum=0.9), L.Dense(2, activation="softmax")], 4)
    m.fit(X, y, batch_size=10, epochs=2, shuffle=False, verbose=0)
    mm, mv = np.zeros(4), np.ones(4)
    for _ in range(2):
        for s in range(0, 45, 10):
            _, c = ref.bn_forward_train(X[s:s + 10])
            mm, mv = ref.bn_moving_update(mm, mv, c["mean"], c["var"], 0.9)
    bn = m.layers[0]
    assert_close(bn.moving_mean, mm, 1e-12)
    assert_close(bn.moving_variance, mv, 1e-12)


def test_moving_statistics_untouched_outside_training_steps():
    """predict, evaluate, predict_mc and gradients (the FD tool) never move the statistics."""
    rng = np.random.default_rng(6)
    X = rng.normal(2.0, 1.0, size=(20, 4))
    y = rng.integers(0, 2, size=20)
    m = model([L.BatchNormalization(), L.Dense(2, activation="softmax")], 4)
    bn = m.layers[0]
    randomize_bn(bn, rng, stats=True)
    before = bn.get_weights()
    m.predict(X)
    m.evaluate(X, y)
    m.predict_mc(X, samples=3)
    m.test_on_batch(X, y)
    m.compute_gradients(X, onehot_targets(y, "float64"), None)
    for a, b in zip(bn.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    m.train_on_batch(X, y)
    assert not np.array_equal(bn.moving_mean, before[2])


# ---------------------------------------------------------------------------------------------
# inference forward
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("center,scale,eps", [(True, True, 1e-3), (False, True, 1e-3),
                                              (True, False, 1e-3), (True, True, 0.25)])
def test_inference_uses_moving_statistics(dtype, center, scale, eps):
    rng = np.random.default_rng(7)
    X = rng.normal(1.0, 2.0, size=(13, 6)).astype(dtype)
    m = model([L.BatchNormalization(epsilon=eps, center=center, scale=scale)], 6, dtype, loss="mse")
    bn = m.layers[0]
    randomize_bn(bn, rng, stats=True)
    want = ref.bn_forward_inference(X, bn.moving_mean, bn.moving_variance, bn.gamma, bn.beta, eps)
    assert_close(m.predict(X), want, TOL[dtype])
    # the batch statistics are not involved: one row alone gives the same output
    assert_close(m.predict(X[:1]), want[:1], TOL[dtype])


def test_inference_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    X = rng.normal(size=(10, 5))
    m = model([L.BatchNormalization()], 5, loss="mse")
    bn = m.layers[0]
    randomize_bn(bn, rng, stats=True)
    t = lambda a: torch.tensor(np.asarray(a, dtype=np.float64))
    want = torch.nn.functional.batch_norm(t(X), t(bn.moving_mean), t(bn.moving_variance), t(bn.gamma),
                                          t(bn.beta), training=False, eps=1e-3).numpy()
    assert_close(m.predict(X), want, 1e-12)


def test_training_and_inference_differ_until_statistics_converge():
    """Training uses the batch statistics, inference the moving ones: with momentum 0 the moving
    statistics are the last batch's, so inference on that batch equals training on it."""
    rng = np.random.default_rng(9)
    X = rng.normal(4.0, 3.0, size=(12, 3))
    for momentum, equal in ((0.99, False), (0.0, True)):
        m = probe_model([L.BatchNormalization(momentum=momentum)], 3)
        m.train_on_batch(X, np.full((12, 1), FAR_BELOW))
        inference = dk.Sequential(m.layers[:1], dtype="float64").predict(X)
        same = np.allclose(training_output(m, X), inference, rtol=1e-12, atol=1e-12)
        assert same == equal, f"momentum={momentum}"


# ---------------------------------------------------------------------------------------------
# finite-difference gradients (float64)
# ---------------------------------------------------------------------------------------------
GRAD_MODELS = {
    # Dense(no bias) -> BN -> ELU, twice, then a softmax head
    "deep": lambda: [L.Dense(6, use_bias=False), L.BatchNormalization(), L.ELU(),
                     L.Dense(5, use_bias=False), L.BatchNormalization(), L.ELU(),
                     L.Dense(3, activation="softmax")],
    "no_center": lambda: [L.Dense(6, use_bias=False), L.BatchNormalization(center=False), L.ELU(),
                          L.Dense(3, activation="softmax")],
    "no_scale": lambda: [L.Dense(6, use_bias=False), L.BatchNormalization(scale=False), L.ELU(),
                         L.Dense(3, activation="softmax")],
    "no_center_no_scale": lambda: [L.Dense(6, use_bias=False),
                                   L.BatchNormalization(center=False, scale=False), L.ELU(),
                                   L.Dense(3, activation="softmax")],
    "after_activation": lambda: [L.Dense(6, activation="tanh"), L.BatchNormalization(),
                                 L.Dense(3, activation="softmax")],
    "first_layer": lambda: [L.BatchNormalization(), L.Dense(6, activation="elu"),
                            L.Dense(3, activation="softmax")],
    "mse_head": lambda: [L.Dense(6, use_bias=False), L.BatchNormalization(), L.SELU(),
                         L.Dense(2)],
}


def check_layer_gradients(m, X, Y, skip_frozen=True):
    """Analytic gradients of every trainable parameter vs central differences (the tolerances of
    test_gradients.py). Returns the names checked."""
    loss = m.compute_gradients(X, Y, None)
    analytic = [(i, layer, name, layer.gradient(name).copy())  # before any FD call overwrites them
                for i, layer in enumerate(m.layers) if layer.trainable or not skip_frozen
                for name in layer.parameter_names]
    checked = []
    for i, layer, name, g in analytic:
        g_fd = fd_grad(m, X, Y, None, layer, name)
        denom = max(np.linalg.norm(g), np.linalg.norm(g_fd))
        where = f"layer {i} ({layer.name}) {name}"
        assert denom > 1e-8, f"{where}: gradient ~0, the check would be vacuous"
        assert np.linalg.norm(g - g_fd) / denom <= RTOL, f"{where}\n{g}\n{g_fd}"
        np.testing.assert_allclose(g, g_fd, rtol=RTOL, atol=ATOL_FD, err_msg=where)
        checked.append((type(layer).__name__, name))
    assert m.compute_gradients(X, Y, None) == loss
    return checked


@pytest.mark.parametrize("name", sorted(GRAD_MODELS))
def test_gradients_finite_differences(name):
    rng = np.random.default_rng(10)
    n_in, batch = 4, 9
    loss = "mse" if name == "mse_head" else "sparse_categorical_crossentropy"
    m = model(GRAD_MODELS[name](), n_in, loss=loss)
    randomize(m, rng)
    X = rng.normal(0.5, 1.5, size=(batch, n_in))
    Y = rng.normal(size=(batch, 2)) if loss == "mse" else onehot_targets(rng.integers(0, 3, batch), "float64")
    stats_before = [l.get_weights()[-2:] for l in m.layers if isinstance(l, L.BatchNormalization)]
    checked = check_layer_gradients(m, X, Y)
    bns = [l for l in m.layers if isinstance(l, L.BatchNormalization)]
    expected = sum(int(b.scale) + int(b.center) for b in bns)
    assert sum(1 for kind, _ in checked if kind == "BatchNormalization") == expected
    assert ("Dense", "kernel") in checked
    # gradients() never moves the moving statistics, even after hundreds of FD calls
    for b, (mm, mv) in zip(bns, stats_before):
        np.testing.assert_array_equal(b.moving_mean, mm)
        np.testing.assert_array_equal(b.moving_variance, mv)


def test_bias_before_batchnorm_gets_zero_gradient():
    """BN removes the per-feature mean, so a Dense bias right before it cannot change the loss:
    its exact gradient is 0 (to rounding), while the kernel's is not."""
    rng = np.random.default_rng(11)
    m = model([L.Dense(6), L.BatchNormalization(), L.ELU(), L.Dense(3, activation="softmax")], 4)
    randomize(m, rng)
    X = rng.normal(size=(9, 4))
    m.compute_gradients(X, onehot_targets(rng.integers(0, 3, 9), "float64"), None)
    gk = np.linalg.norm(m.layers[0].gradient("kernel"))
    gb = np.linalg.norm(m.layers[0].gradient("bias"))
    assert gk > 1e-3 and gb <= 1e-12 * max(1.0, gk)


# ---------------------------------------------------------------------------------------------
# frozen BN
# ---------------------------------------------------------------------------------------------
def frozen_model(rng, dtype="float64"):
    m = model([L.Dense(6, use_bias=False), L.BatchNormalization(trainable=False), L.ELU(),
               L.Dense(3, activation="softmax")], 4, dtype, opt=dk.optimizers.Adam(0.05))
    randomize(m, rng)
    randomize_bn(m.layers[1], rng, stats=True)
    return m


def test_frozen_bn_runs_in_inference_mode_while_training():
    rng = np.random.default_rng(12)
    m = frozen_model(rng)
    X = rng.normal(size=(15, 4))
    y = rng.integers(0, 3, 15)
    train_loss = m.compute_gradients(X, onehot_targets(y, "float64"), None)
    assert train_loss == pytest.approx(m.evaluate(X, y, batch_size=15), rel=1e-12)
    # the same model with a trainable BN: training-mode loss differs from the inference loss
    m.layers[1].trainable = True
    assert m.compute_gradients(X, onehot_targets(y, "float64"), None) != pytest.approx(
        m.evaluate(X, y, batch_size=15), rel=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_frozen_bn_does_not_change(dtype):
    rng = np.random.default_rng(13)
    m = frozen_model(rng, dtype)
    bn, dense = m.layers[1], m.layers[0]
    before, kernel_before = bn.get_weights(), dense.get_weights()[0]
    X = rng.normal(size=(64, 4)).astype(dtype)
    y = rng.integers(0, 3, 64)
    m.fit(X, y, epochs=3, batch_size=16, verbose=0)
    for a, b in zip(bn.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(dense.kernel, kernel_before)


def test_freezing_later_stops_updates():
    """Freezing a trained BN (as when fine-tuning a reused base) freezes gamma, beta and the moving
    statistics from then on; unfreezing resumes both."""
    rng = np.random.default_rng(14)
    X = rng.normal(2.0, 1.0, size=(32, 4))
    y = rng.integers(0, 3, 32)
    m = model([L.Dense(6, use_bias=False), L.BatchNormalization(), L.ELU(),
               L.Dense(3, activation="softmax")], 4, opt=dk.optimizers.Adam(0.01))
    bn = m.layers[1]
    m.fit(X, y, epochs=1, batch_size=8, verbose=0)
    bn.trainable = False
    frozen = bn.get_weights()
    m.fit(X, y, epochs=1, batch_size=8, verbose=0)
    for a, b in zip(bn.get_weights(), frozen):
        np.testing.assert_array_equal(a, b)
    bn.trainable = True
    m.fit(X, y, epochs=1, batch_size=8, verbose=0)
    assert all(not np.array_equal(a, b) for a, b in zip(bn.get_weights(), frozen))


def test_gradients_through_frozen_bn():
    """The preceding Dense's kernel gradient through a frozen BN's fixed affine map, by FD."""
    rng = np.random.default_rng(15)
    m = frozen_model(rng)
    X = rng.normal(size=(9, 4))
    checked = check_layer_gradients(m, X, onehot_targets(rng.integers(0, 3, 9), "float64"))
    assert ("Dense", "kernel") in checked and not any(k == "BatchNormalization" for k, _ in checked)


# ---------------------------------------------------------------------------------------------
# weights
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("center,scale,names", [
    (True, True, ["gamma", "beta", "moving_mean", "moving_variance"]),
    (False, True, ["gamma", "moving_mean", "moving_variance"]),
    (True, False, ["beta", "moving_mean", "moving_variance"]),
    (False, False, ["moving_mean", "moving_variance"]),
])
def test_get_set_weights_order(center, scale, names):
    rng = np.random.default_rng(16)
    m = model([L.Dense(5, use_bias=False), L.BatchNormalization(center=center, scale=scale),
               L.Dense(2, activation="softmax")], 3, loss="sparse_categorical_crossentropy")
    bn = m.layers[1]
    new = [rng.uniform(0.5, 2.0, 5) for _ in names]
    bn.set_weights(new)
    for name, w, got in zip(names, new, bn.get_weights()):
        np.testing.assert_array_equal(getattr(bn, name), w, err_msg=name)
        np.testing.assert_array_equal(got, w, err_msg=name)
    assert (bn.gamma is None) == (not scale) and (bn.beta is None) == (not center)
    flat = m.get_weights()
    assert [w.shape for w in flat] == [(3, 5)] + [(5,)] * len(names) + [(5, 2), (2,)]
    for a, b in zip(flat[1:1 + len(names)], new):
        np.testing.assert_array_equal(a, b)
    assert bn.count_params() == 5 * len(names)
    assert bn.count_trainable_params() == 5 * (int(center) + int(scale))
    # the round trip through model.set_weights
    m2 = model([L.Dense(5, use_bias=False), L.BatchNormalization(center=center, scale=scale),
                L.Dense(2, activation="softmax")], 3, seed=1)
    m2.set_weights(flat)
    X = rng.normal(size=(4, 3))
    np.testing.assert_array_equal(m2.predict(X), m.predict(X))


def test_views_are_zero_copy():
    m = model([L.BatchNormalization()], 3, loss="mse")
    bn = m.layers[0]
    bn.moving_mean[...] = 2.0
    bn.moving_variance[...] = 4.0 - 1e-3
    bn.gamma[...] = 3.0
    bn.beta[...] = 1.0
    np.testing.assert_allclose(m.predict(np.full((1, 3), 4.0)), 4.0, rtol=1e-12)  # 3*(4-2)/2+1


def test_config_round_trip():
    bn = L.BatchNormalization(momentum=0.9, epsilon=0.01, center=False, scale=True)
    clone = L.BatchNormalization.from_config(bn.get_config())
    assert (clone.momentum, clone.epsilon, clone.center, clone.scale) == (0.9, 0.01, False, True)


@pytest.mark.parametrize("kwargs", [dict(momentum=1.5), dict(momentum=-0.1), dict(epsilon=0.0),
                                    dict(epsilon=-1e-3), dict(axis=0)])
def test_invalid_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        L.BatchNormalization(**kwargs)


# ---------------------------------------------------------------------------------------------
# BN folding
# ---------------------------------------------------------------------------------------------
def deep_bn_layers():
    """Three Dense(no bias) -> BN -> ELU blocks: folds 10 layers into 4."""
    out = []
    for _ in range(3):
        out += [L.Dense(16, use_bias=False, kernel_initializer="he_normal"), L.BatchNormalization(), L.ELU()]
    return out + [L.Dense(4, activation="softmax")], 4


def mixed_layers():
    """Every folding situation: bias + BN + LeakyReLU(0.2), Dropout (removed), BN after an
    activation (kept), center=False + RReLU, scale=False + PReLU (kept as a layer), AlphaDropout
    (removed), a BN with nothing after it, then the head. 16 layers -> 8."""
    return [L.Dense(16), L.BatchNormalization(), L.LeakyReLU(alpha=0.2), L.Dropout(0.3),
            L.Dense(16, activation="relu"), L.BatchNormalization(),
            L.Dense(16), L.BatchNormalization(center=False), L.RReLU(),
            L.Dense(12, use_bias=False), L.BatchNormalization(scale=False), L.PReLU(),
            L.AlphaDropout(0.1),
            L.Dense(8), L.BatchNormalization(momentum=0.5),
            L.Dense(4, activation="softmax")], 8


def trained(layers, dtype, seed=0):
    rng = np.random.default_rng(17)
    X = rng.normal(1.0, 2.0, size=(256, 10)).astype(dtype)
    y = (X[:, 0] > 1).astype(int) + 2 * (X[:, 1] * X[:, 2] > 0)
    m = model(layers, 10, dtype, opt=dk.optimizers.Nadam(0.01), seed=seed)
    m.fit(X, y, epochs=3, batch_size=32, verbose=0)
    return m, rng.normal(1.0, 2.0, size=(300, 10)).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("build", [deep_bn_layers, mixed_layers])
def test_fold_batchnorm_same_outputs_fewer_layers(dtype, build):
    layers, n_folded = build()
    m, X = trained(layers, dtype)
    # the BNs really were trained: moving statistics far from their initial 0 / 1
    assert any(np.abs(l.moving_mean).max() > 0.05 for l in m.layers if isinstance(l, L.BatchNormalization))
    folded = m.fold_batchnorm()
    assert len(folded.layers) == n_folded < len(m.layers)
    assert folded.dtype == m.dtype
    want, got = m.predict(X).astype(np.float64), folded.predict(X).astype(np.float64)
    tol = FOLD_RTOL[dtype]
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())
    assert np.argmax(got, 1).tolist() == np.argmax(want, 1).tolist()
    assert not any(isinstance(l, (L.Dropout, L.AlphaDropout)) for l in folded.layers)


def test_fold_batchnorm_weights_match_reference():
    m, _ = trained(mixed_layers()[0], "float64")
    folded = m.fold_batchnorm()
    src = m.layers
    # source Dense -> BN pairs that fold, and where they land in the folded model
    pairs = [(0, 1, 0), (6, 7, 3), (9, 10, 4), (13, 14, 6)]
    for i_dense, i_bn, i_new in pairs:
        d, bn, new = src[i_dense], src[i_bn], folded.layers[i_new]
        W, b = ref.fold_batchnorm(d.kernel, d.bias if d.use_bias else None, bn.gamma, bn.beta,
                                  bn.moving_mean, bn.moving_variance, bn.epsilon)
        np.testing.assert_allclose(new.kernel, W, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(new.bias, b, rtol=1e-13, atol=1e-15)
    # merged activations keep their parameters; un-foldable layers stay, in order
    assert [type(l).__name__ for l in folded.layers] == [
        "Dense", "Dense", "BatchNormalization", "Dense", "Dense", "PReLU", "Dense", "Dense"]
    assert folded.layers[0].activation.name == "leaky_relu" and folded.layers[0].activation.alpha == 0.2
    assert folded.layers[3].activation.name == "rrelu"
    np.testing.assert_array_equal(folded.layers[2].get_weights(), src[5].get_weights())
    np.testing.assert_array_equal(folded.layers[5].alpha, src[11].alpha)


def test_folded_model_is_independent():
    m, X = trained(deep_bn_layers()[0], "float64")
    folded = m.fold_batchnorm()
    before = folded.predict(X)
    for l in m.layers:
        if isinstance(l, L.BatchNormalization):
            l.moving_mean[...] += 1.0
    np.testing.assert_array_equal(folded.predict(X), before)
    assert not np.allclose(m.predict(X), before)


def test_fold_without_batchnorm_only_drops_dropout():
    m, X = trained([L.Dense(8, activation="relu"), L.Dropout(0.5), L.Dense(4, activation="softmax")],
                   "float64")
    folded = m.fold_batchnorm()
    assert [type(l) for l in folded.layers] == [L.Dense, L.Dense]
    np.testing.assert_array_equal(folded.predict(X), m.predict(X))


# ---------------------------------------------------------------------------------------------
# Normalization
# ---------------------------------------------------------------------------------------------
def skewed_data(dtype, n=500, rng=None):
    rng = rng or np.random.default_rng(18)
    means, stds = rng.uniform(-50, 50, 6), rng.uniform(0.01, 30.0, 6)
    return (rng.normal(size=(n, 6)) * stds + means).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("adapt_first", [False, True])
def test_normalization_adapt_standardizes(dtype, adapt_first):
    """adapt before the layer joins a model (Keras's usual order) or after: per-feature outputs
    with mean 0 and std 1 up to the model dtype's rounding."""
    X = skewed_data(dtype)
    norm = L.Normalization()
    if adapt_first:
        norm.adapt(X)
    m = model([norm], 6, dtype, loss="mse")
    if not adapt_first:
        norm.adapt(X)
    out = m.predict(X).astype(np.float64)
    tol = TOL[dtype] * 100  # mean of 500 values: a few hundred roundings
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=tol)
    np.testing.assert_allclose(out.std(axis=0), 1.0, rtol=tol)
    np.testing.assert_allclose(norm.get_weights()[0], X.astype(np.float64).mean(0), rtol=tol)
    np.testing.assert_allclose(norm.get_weights()[1], X.astype(np.float64).var(0), rtol=tol)


def test_normalization_adapted_before_float64_model_keeps_float64_statistics():
    """adapt() on a layer not yet in a model builds it as float32; joining a float64 model then
    rebuilds it, and the statistics must survive in full float64 precision (computed in float64
    by adapt), not rounded through float32."""
    X = skewed_data("float64")
    norm = L.Normalization()
    norm.adapt(X)
    model([norm], 6, "float64", loss="mse")
    np.testing.assert_allclose(norm.get_weights()[0], X.mean(axis=0), rtol=1e-15)
    np.testing.assert_allclose(norm.get_weights()[1], X.var(axis=0), rtol=1e-15)


def test_normalization_given_statistics_and_constant_feature():
    X = np.array([[1.0, 5.0], [3.0, 5.0], [5.0, 5.0]])
    m = model([L.Normalization(mean=[3.0, 5.0], variance=[4.0, 0.0])], 2, loss="mse")
    out = m.predict(X)
    np.testing.assert_allclose(out[:, 0], [-1.0, 0.0, 1.0], rtol=1e-15)
    np.testing.assert_array_equal(out[:, 1], 0.0)  # zero variance: no NaN
    assert m.layers[0].count_trainable_params() == 0


def test_normalization_is_not_trained():
    rng = np.random.default_rng(19)
    X = skewed_data("float64", rng=rng)
    norm = L.Normalization()
    norm.adapt(X)
    m = model([norm, L.Dense(3, activation="softmax")], 6, "float64")
    before = norm.get_weights()
    m.fit(X, rng.integers(0, 3, len(X)), epochs=1, verbose=0)
    for a, b in zip(norm.get_weights(), before):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------------------------
# the self-normalizing claim (Klambauer et al. 2017), at initialization
# ---------------------------------------------------------------------------------------------
DEPTH, WIDTH = 20, 100


def layer_statistics(activation, initializer, seed=0, n=1000):
    """Mean and std over all units and samples of each of the DEPTH layers' outputs, for
    standardized N(0, 1) inputs. A prefix model shares the built layers, so its predict is
    layer k's output."""
    X = np.random.default_rng(20).normal(size=(n, WIDTH))
    m = dk.Sequential([L.Input(WIDTH)] + [L.Dense(WIDTH, activation=activation,
                                                 kernel_initializer=initializer)
                                         for _ in range(DEPTH)], seed=seed, dtype="float64")
    stats = []
    for k in range(1, DEPTH + 1):
        a = dk.Sequential(m.layers[:k], dtype="float64").predict(X)
        stats.append((a.mean(), a.std()))
    np.testing.assert_array_equal(a, m.predict(X))  # the prefix is the model itself at k = DEPTH
    return np.array(stats)


@pytest.mark.parametrize("seed", [0, 1])
def test_selu_lecun_self_normalizes(seed):
    s = layer_statistics("selu", "lecun_normal", seed)
    # observed over seeds 0-2: |mean| <= 0.03, std in [0.95, 1.03] at every layer
    assert np.abs(s[:, 0]).max() <= 0.1, s[:, 0]
    assert np.abs(s[:, 1] - 1.0).max() <= 0.1, s[:, 1]


@pytest.mark.parametrize("seed", [0, 1])
def test_sigmoid_glorot_does_not(seed):
    s = layer_statistics("sigmoid", "glorot_uniform", seed)
    # observed: mean ~0.5 at every layer, std 0.21 after layer 1 collapsing to ~0.11
    assert (s[:, 0] >= 0.4).all(), s[:, 0]
    assert s[0, 1] <= 0.25 and (s[1:, 1] <= 0.16).all(), s[:, 1]
    assert s[-1, 1] <= 0.7 * s[0, 1]
