"""dk.prune, dk.callbacks.PruningSchedule and sparse inference (SPEC §3, "Low-latency inference").

Magnitude pruning picks exactly the requested fraction (per layer or globally, the smallest
magnitudes, monotone); the mask holds through training with every optimizer (pruned weights stay
exactly 0.0, their slots untouched); the schedule follows Zhu & Gupta's formula at its steps;
inference on sparse layers takes the sparse kernels, gives the dense engine's bits, is
batch-invariant, and never uses a stale sparse form after the weights change through a view.
"""

import numpy as np
import pytest

import densekit as dk
from densekit import pruning


def model(seed=0, out=5, n_in=30, optimizer="adam"):
    m = dk.Sequential([
        dk.layers.Input(n_in),
        dk.layers.Dense(64, activation="relu", kernel_initializer="he_normal"),
        dk.layers.Dense(32, activation="relu", kernel_initializer="he_normal"),
        dk.layers.Dense(out),
    ], seed=seed)
    m.compile(optimizer=optimizer, loss="mse")
    return m


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 30)).astype(np.float32)
    Y = np.tanh(X[:, :5] @ rng.normal(size=(5, 5))).astype(np.float32)
    return X, Y


def kernels(m):
    return [layer.kernel.copy() for layer in m.layers]


def test_layer_scope_prunes_the_smallest_fraction_of_each_kernel():
    m = model()
    before = kernels(m)
    got = dk.prune(m, 0.7, scope="layer")
    for layer, k in zip(m.layers, before):
        n = k.size
        pruned = layer.kernel == 0
        assert pruned.sum() == int(np.floor(0.7 * n + 0.5))
        assert np.abs(k[pruned]).max() <= np.abs(k[~pruned]).min()
        np.testing.assert_array_equal(layer.kernel[~pruned], k[~pruned])
        np.testing.assert_array_equal(layer.weight_mask("kernel"), ~pruned)
        assert got[layer.name] == pytest.approx(pruned.sum() / n)


def test_global_scope_uses_one_threshold():
    m = model()
    before = np.concatenate([np.abs(k).ravel() for k in kernels(m)])
    got = dk.prune(m, 0.8, scope="global")
    after = np.concatenate([layer.kernel.ravel() for layer in m.layers])
    assert (after == 0).sum() == int(np.floor(0.8 * after.size + 0.5))
    assert before[after == 0].max() <= before[after != 0].min()
    assert got["overall"] == pytest.approx((after == 0).mean())
    assert len({round(got[layer.name], 3) for layer in m.layers}) > 1  # layers differ


def test_pruning_is_monotone():
    m = model()
    dk.prune(m, 0.6, scope="layer")
    masks = [layer.weight_mask() for layer in m.layers]
    dk.prune(m, 0.3, scope="layer")  # lower target: nothing comes back
    for layer, mask in zip(m.layers, masks):
        np.testing.assert_array_equal(layer.weight_mask(), mask)
    dk.prune(m, 0.9, scope="layer")
    for layer, mask in zip(m.layers, masks):
        assert not np.any(layer.weight_mask() & ~mask)
        assert (layer.kernel == 0).mean() == pytest.approx(0.9, abs=1e-3)


@pytest.mark.parametrize("optimizer", [
    dk.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
    dk.optimizers.Adam(learning_rate=0.01),
    dk.optimizers.AdamW(learning_rate=0.01, weight_decay=0.1),
    dk.optimizers.Nadam(learning_rate=0.01),
    dk.optimizers.RMSprop(learning_rate=0.01, momentum=0.5, centered=True),
    dk.optimizers.Adagrad(learning_rate=0.05),
    dk.optimizers.Adamax(learning_rate=0.01),
], ids=lambda o: type(o).__name__)
def test_masks_hold_through_training_with_every_optimizer(data, optimizer):
    X, Y = data
    m = model(optimizer=optimizer)
    m.fit(X, Y, epochs=1, verbose=0)  # the slots hold momentum from before pruning
    dk.prune(m, 0.75, scope="layer")
    masks = [layer.weight_mask() for layer in m.layers]
    kept_before = [layer.kernel[mask].copy() for layer, mask in zip(m.layers, masks)]
    m.fit(X, Y, epochs=2, batch_size=16, verbose=0)
    m.train_on_batch(X[:10], Y[:10])
    for layer, mask, kept in zip(m.layers, masks, kept_before):
        k = layer.kernel
        assert np.all(k[~mask] == 0)
        assert not np.array_equal(k[mask], kept)  # the others did train
    # The pruned weights' gradients were dropped before the optimizer: slots written after
    # pruning (Adagrad's accumulator from its initial value on, Adam's v) did not move there.
    state = m.optimizer.get_state()
    if "accumulator" in state["slots"]:
        acc = state["slots"]["accumulator"]["layers.0.kernel"]
        before_prune = acc[~masks[0]]
        m.fit(X, Y, epochs=1, verbose=0)
        np.testing.assert_array_equal(
            m.optimizer.get_state()["slots"]["accumulator"]["layers.0.kernel"][~masks[0]], before_prune)
    assert m.sparsity(exact=True)["overall"] == pytest.approx(0.75, abs=1e-3)


def test_zhu_gupta_schedule(data):
    X, Y = data
    m = model()
    cb = dk.callbacks.PruningSchedule(0.8, begin_step=10, end_step=70, frequency=20)
    m.fit(X, Y, epochs=4, batch_size=16, verbose=0, callbacks=[cb])  # 100 steps
    steps = [s for s, _ in cb.applied]
    assert steps == [10, 30, 50, 70]
    for step, target in cb.applied:
        want = 0.8 + (0.0 - 0.8) * (1 - (step - 10) / 60) ** 3
        assert target == pytest.approx(want)
    assert cb.applied[-1][1] == pytest.approx(0.8)
    assert m.sparsity(exact=True)["overall"] == pytest.approx(0.8, abs=1e-3)
    # Power 1 is linear.
    assert pruning.schedule_sparsity(40, 0.9, 10, 70, 0.3, power=1) == pytest.approx(0.3 + 0.6 * 0.5)


def test_schedule_keeps_runs_of_batches_in_cpp(data, monkeypatch):
    """Between pruning steps the loop hands whole runs to C++ (no batch-by-batch fallback)."""
    X, Y = data
    m = model()
    calls = []
    net = m._net

    class Counting:
        def __getattr__(self, name):
            return getattr(net, name)

        def train(self, *args):
            calls.append(args[4])
            return net.train(*args)

    monkeypatch.setattr(m, "_net", Counting())
    cb = dk.callbacks.PruningSchedule(0.5, begin_step=0, end_step=20, frequency=10)
    m.fit(X, Y, epochs=2, batch_size=8, verbose=0, callbacks=[cb])  # 100 steps
    assert [s for s, _ in cb.applied] == [0, 10, 20]
    assert len(calls) < 20  # one call per run, not one per batch


@pytest.mark.parametrize("bad", [
    lambda m: dk.prune(m, 1.0), lambda m: dk.prune(m, -0.1), lambda m: dk.prune(m, 0.5, scope="x"),
    lambda m: dk.callbacks.PruningSchedule(0.5, begin_step=5, end_step=2),
    lambda m: dk.callbacks.PruningSchedule(0.5, initial_sparsity=0.7),
    lambda m: dk.callbacks.PruningSchedule(0.5, frequency=0),
])
def test_bad_arguments(bad):
    with pytest.raises(ValueError):
        bad(model())


def engine_twin(m):
    """The same network on the dense engine (QuantizedDense kept in float32: gemm_packed)."""
    q = m.quantize("int8", max_error=1e-12, speed_check=False)
    assert all(layer.precision == "float32" for layer in q.layers)
    return q


def test_sparse_inference_gives_the_engine_bits_and_is_batch_invariant(data):
    X, Y = data
    m = model(out=10)
    dk.prune(m, 0.9, scope="layer")
    paths = {r: [layer.inference_path(r) for layer in m.layers] for r in (1, 4, 64, 256)}
    assert all(p.startswith("sparse") for p in paths[1][:2]), paths
    assert all(p != "default" for p in paths[256]), paths
    X = X[:300]
    full = m.predict(X)
    np.testing.assert_array_equal(full, engine_twin(m).predict(X))
    for n in range(1, 301):
        np.testing.assert_array_equal(m.predict(X[:n]), full[:n], err_msg=f"batch {n}")
    perm = np.random.default_rng(2).permutation(300)
    np.testing.assert_array_equal(m.predict(X[perm]), full[perm])


def test_dense_layers_keep_their_ordinary_path():
    m = model()
    dk.prune(m, 0.2, scope="layer")
    assert [layer.inference_path(1) for layer in m.layers] == ["default"] * 3


def test_exact_zeros_from_any_source_take_the_sparse_path(data):
    """An l1-sparse model whose zeros are exact (no mask at all) is served the same way."""
    X, _ = data
    m = model()
    for layer in m.layers:
        k = layer.kernel
        k[np.abs(k) < np.quantile(np.abs(k), 0.85)] = 0.0
        del k
    assert all(layer.weight_mask() is None for layer in m.layers)
    assert m.layers[0].inference_path(1).startswith("sparse")
    np.testing.assert_array_equal(m.predict(X), engine_twin(m).predict(X))


def test_writes_through_a_view_are_seen(data):
    X, _ = data
    m = model()
    dk.prune(m, 0.9, scope="layer")
    before = m.predict(X[:5])
    k = m.layers[0].kernel  # an open writable view: the sparse form is not trusted meanwhile
    k[k != 0] *= 2
    assert m.layers[0].inference_path(1) == "default"
    during = m.predict(X[:5])
    del k
    after = m.predict(X[:5])
    assert m.layers[0].inference_path(1).startswith("sparse")
    assert not np.array_equal(during, before)
    np.testing.assert_allclose(after, during, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(after, engine_twin(m).predict(X[:5]))


def test_training_updates_are_seen_by_sparse_inference(data):
    X, Y = data
    m = model()
    dk.prune(m, 0.9, scope="layer")
    m.predict(X[:5])  # builds the sparse forms
    m.fit(X, Y, epochs=1, verbose=0)
    np.testing.assert_array_equal(m.predict(X[:5]), engine_twin(m).predict(X[:5]))


def test_pruned_then_quantized(data):
    X, Y = data
    m = model()
    dk.prune(m, 0.9, scope="layer")
    m.fit(X, Y, epochs=1, verbose=0)
    q = m.quantize("int8", speed_check=False)
    assert np.mean(q.layers[0].kernel == 0) >= 0.9
    assert np.abs(q.predict(X) - m.predict(X)).max() < 0.1
