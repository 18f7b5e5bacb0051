"""Unsupervised pretraining (SPEC §3, "Transfer learning and pretraining"): dk.pretrain.autoencoder
(symmetric, optionally tied) and greedy layer-wise stacking; the encoder layers drop into a
supervised model. Whether pretraining *helps* is measured on MNIST in bench/TRANSFER.md.
"""

import numpy as np
import pytest

import densekit as dk
from densekit import pretrain
from densekit.layers import Dense, Input

DTYPES = ["float32", "float64"]


def low_rank_data(n=400, features=12, rank=3, seed=0):
    """Points near a rank-3 subspace, squashed into (0, 1): an autoencoder with a 3-unit code can
    reconstruct them well; labels depend on the latent factors."""
    r = np.random.default_rng(seed)
    z = r.normal(size=(n, rank))
    X = 1 / (1 + np.exp(-(z @ r.normal(size=(rank, features)) + 0.05 * r.normal(size=(n, features)))))
    y = (z[:, 0] + 0.5 * z[:, 1] > 0).astype(np.int64)
    return X, y


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("tied", [False, True])
def test_autoencoder_shape_and_reconstruction_loss_decreases(tied, dtype):
    X, _ = low_rank_data()
    ae, enc = pretrain.autoencoder(12, [8, 3], activation="selu", output_activation="sigmoid",
                                   tied=tied, loss="binary_crossentropy",
                                   optimizer=dk.optimizers.Adam(1e-2), dtype=dtype, seed=0)
    assert isinstance(ae, dk.Sequential) and ae.dtype == np.dtype(dtype)
    assert [l.units for l in ae.layers] == [8, 3, 8, 12]
    assert enc == ae.layers[:2] and ae.encoder_layers == enc
    assert ae.layers[-1].activation.name == "sigmoid"
    assert enc[0].kernel_initializer.get_config() == {} and type(enc[0].kernel_initializer).__name__ == "LecunNormal"
    before = ae.evaluate(X, X)
    h = ae.fit(X, X, epochs=15, batch_size=32, verbose=0)
    loss = h.history["loss"]
    assert loss[-1] < 0.9 * loss[0]
    assert ae.evaluate(X, X) < before
    assert ae.encode(X).shape == (X.shape[0], 3)
    if tied:
        for e, d in ae.tied_pairs:
            np.testing.assert_array_equal(d.kernel, e.kernel.T)


def test_tied_step_is_tied_sgd_at_half_the_learning_rate():
    """With SGD, averaging the untied updates of W_enc and W_decᵀ is exactly the tied-weight
    update W ← W − (η/2)(g_enc + g_decᵀ) (the module docstring's claim)."""
    X, _ = low_rank_data(n=32)
    lr = 0.1
    ae, _ = pretrain.autoencoder(12, [5], activation="tanh", tied=True,
                                 optimizer=dk.optimizers.SGD(lr), dtype="float64", seed=1)
    (enc, dec), = ae.tied_pairs
    W = enc.kernel.copy()
    np.testing.assert_array_equal(dec.kernel, W.T)
    ae.compute_gradients(np.ascontiguousarray(X), np.ascontiguousarray(X), None)
    g = enc.gradient("kernel") + dec.gradient("kernel").T
    ae.train_on_batch(X, X)
    np.testing.assert_allclose(enc.kernel, W - (lr / 2) * g, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(dec.kernel, enc.kernel.T)


def test_tied_with_momentum_keeps_slots_tied():
    X, _ = low_rank_data(n=64)
    ae, _ = pretrain.autoencoder(12, [6, 3], activation="elu", tied=True,
                                 optimizer=dk.optimizers.SGD(0.05, momentum=0.9), dtype="float64", seed=2)
    ae.fit(X, X, epochs=2, batch_size=16, verbose=0)
    opt = ae.optimizer
    for e, d in ae.tied_pairs:
        se = opt.slot("momentum", ae.variable_key(e, "kernel"))
        sd = opt.slot("momentum", ae.variable_key(d, "kernel"))
        assert np.any(se != 0)
        np.testing.assert_array_equal(se, sd.T)
        np.testing.assert_array_equal(d.kernel, e.kernel.T)


@pytest.mark.parametrize("dtype", DTYPES)
def test_encoder_layers_drop_into_a_supervised_model(dtype):
    X, y = low_rank_data()
    ae, enc = pretrain.autoencoder(12, [8, 3], output_activation="sigmoid", dtype=dtype, seed=0)
    ae.fit(X, X, epochs=5, verbose=0)
    codes = ae.encode(X)
    clf = dk.Sequential([Input(12)] + enc + [Dense(2, activation="softmax")], dtype=dtype, seed=0)
    assert clf.layers[0] is enc[0] and np.shares_memory(clf.layers[0].kernel, ae.layers[0].kernel)
    for layer in enc:  # frozen: the classifier's first layers compute exactly the codes
        layer.trainable = False
    clf.compile(optimizer=dk.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy",
                metrics=["accuracy"])
    clf.fit(X, y, epochs=10, verbose=0)
    np.testing.assert_array_equal(ae.encode(X), codes)
    assert clf.evaluate(X, y)[1] > 0.8


def test_greedy_layerwise_trains_each_stage_and_layers_stack():
    X, y = low_rank_data()
    layers, histories = pretrain.greedy_layerwise(X, [8, 3], epochs=[6, 4], activation="elu",
                                                  output_activation="sigmoid",
                                                  optimizer=lambda: dk.optimizers.Adam(1e-2),
                                                  seed=0, return_histories=True)
    assert [l.units for l in layers] == [8, 3]
    assert [l.input_dim for l in layers] == [12, 8]
    assert [len(h.history["loss"]) for h in histories] == [6, 4]
    for h in histories:
        assert h.history["loss"][-1] < h.history["loss"][0]
    clf = dk.Sequential([Input(12)] + layers + [Dense(2, activation="softmax")], seed=0)
    clf.compile(optimizer=dk.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy",
                metrics=["accuracy"])
    clf.fit(X, y, epochs=10, verbose=0)
    assert clf.evaluate(X, y)[1] > 0.8


def test_greedy_layerwise_is_seeded_and_copies_optimizer_instances():
    X, _ = low_rank_data(n=100)
    opt = dk.optimizers.Adam(1e-2)
    a = pretrain.greedy_layerwise(X, [6, 3], epochs=2, optimizer=opt, seed=5)
    b = pretrain.greedy_layerwise(X, [6, 3], epochs=2, optimizer=opt, seed=5)
    assert opt.iterations == 0  # never bound: each stage got a fresh copy
    for la, lb in zip(a, b):
        np.testing.assert_array_equal(la.kernel, lb.kernel)


@pytest.mark.parametrize("call,match", [
    (lambda: pretrain.autoencoder(0, [3]), "input_dim"),
    (lambda: pretrain.autoencoder(5, []), "hidden"),
    (lambda: pretrain.autoencoder(5, [3, -1]), "hidden"),
    (lambda: pretrain.greedy_layerwise(np.zeros((4, 3)), []), "sizes"),
    (lambda: pretrain.greedy_layerwise(np.zeros(4), [2]), "samples, features"),
    (lambda: pretrain.greedy_layerwise(np.zeros((4, 3)), [2, 2], epochs=[1]), "epoch counts"),
], ids=["zero_input", "no_hidden", "negative_hidden", "no_sizes", "1d_X", "epochs_mismatch"])
def test_bad_arguments_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call()
