"""Whatever constructs must save and reload; bad values are refused where they enter (issue 11,
items 5 and 9; SPEC "Bad input": anything that can be constructed, trained or loaded can be saved
and loaded again).

- save refuses a model holding NaN/Inf (BN's moving variance overflowing on ~1e30 inputs) with an
  error naming the tensor, and leaves the previous file alone;
- Sequential's seed, optimizers' hyperparameters (unknown names and ranges), units, widths and
  batch sizes (at most 2**31 - 1), class_weight keys, sample weights overflowing the training
  dtype, activation parameters, regularizer factors, initializer constants and names holding
  lone surrogates are refused at construction or at the call, with what was given;
- the limits themselves are accepted and round-trip through a file.
"""

import math
import warnings

import numpy as np
import pytest

import densekit as dk

L = dk.layers
O = dk.optimizers
BIG = 2**31 - 1


def _small(seed=0, dtype="float32", **compile_kwargs):
    model = dk.Sequential([L.Input(4), L.Dense(5, activation="relu"), L.Dense(3, activation="softmax")],
                          seed=seed, dtype=dtype)
    model.compile(optimizer=compile_kwargs.pop("optimizer", "adam"),
                  loss="sparse_categorical_crossentropy", **compile_kwargs)
    return model


def _data(n=32, seed=0):
    r = np.random.default_rng(seed)
    return r.normal(size=(n, 4)), r.integers(0, 3, n)


def _round_trip(model, tmp_path, name="m.dk"):
    path = tmp_path / name
    model.save(path)
    loaded = dk.load_model(path)
    loaded.save(tmp_path / ("re-" + name))
    return loaded


# ---------------------------------------------------------------------------------------------
# item 5: non-finite state, seed, optimizer hyperparameters
# ---------------------------------------------------------------------------------------------
def test_bn_overflow_to_inf_is_refused_by_save_naming_the_tensor(tmp_path):
    model = dk.Sequential([L.Input(4), L.BatchNormalization(name="bn"), L.Dense(2)], seed=0)
    model.compile(optimizer="sgd", loss="mse")
    path = tmp_path / "m.dk"
    model.save(path)
    before = path.read_bytes()
    X = np.full((64, 4), 1e30, np.float32)
    X[::2] *= -1  # finite inputs whose variance (1e60) overflows float32
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            model.fit(X, np.zeros((64, 2)), epochs=1, verbose=0)
        except (ValueError, FloatingPointError, ArithmeticError):
            pass  # a core that refuses the step leaves the model finite: then save must work
    if np.all(np.isfinite(model.layers[0].moving_variance)):
        _round_trip(model, tmp_path, "finite.dk")
    else:
        with pytest.raises(ValueError, match=r"'layers\.0\.moving_variance' \(layer 'bn'\).*non-finite"):
            model.save(path)
    assert path.read_bytes() == before


@pytest.mark.parametrize("tensor", ["kernel", "moving_variance", "slot"])
def test_non_finite_state_is_refused_by_save(tensor, tmp_path):
    model = dk.Sequential([L.Input(4), L.Dense(3), L.BatchNormalization()], seed=0)
    model.compile(optimizer="adam", loss="mse")
    X, _ = _data()
    model.fit(X, np.zeros((len(X), 3)), epochs=1, verbose=0)
    if tensor == "kernel":
        model.layers[0].kernel[1, 2] = np.nan
        key = "layers.0.kernel"
    elif tensor == "moving_variance":
        model.layers[1].moving_variance[0] = np.inf
        key = "layers.1.moving_variance"
    else:
        model.optimizer.slot("v", "layers.0.kernel")[0, 0] = np.inf
        key = "optimizer.slots"
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        model.save(tmp_path / "m.dk")
    assert not (tmp_path / "m.dk").exists()
    # Without the optimizer's state, a model whose weights are finite still saves.
    if tensor == "slot":
        model.save(tmp_path / "m.dk", include_optimizer=False)
        dk.load_model(tmp_path / "m.dk")


@pytest.mark.parametrize("seed", [2**63, -1, 1.5, True, "1"])
def test_seed_out_of_range_is_refused_at_construction(seed):
    with pytest.raises(ValueError, match=r"seed must be an int in \[0, 2\*\*63\)"):
        dk.Sequential([L.Input(2), L.Dense(1)], seed=seed)


@pytest.mark.parametrize("seed", [0, 2**63 - 1, np.uint64(2**63 - 1)])
def test_seed_limits_round_trip(seed, tmp_path):
    model = dk.Sequential([L.Input(2), L.Dense(1)], seed=seed)
    assert _round_trip(model, tmp_path).seed == int(seed)


@pytest.mark.parametrize("make,unknown", [
    (lambda: O.RMSprop(beta_1=2.0), "beta_1"),
    (lambda: O.SGD(rho=0.5), "rho"),
    (lambda: O.Adam(momentum=0.9), "momentum"),
    (lambda: O.Adagrad(beta_2=0.9), "beta_2"),
    (lambda: O.Nadam(amsgrad=True), "amsgrad"),
    (lambda: O.Adamax(lr=0.1), "lr"),
])
def test_optimizers_refuse_hyperparameters_they_do_not_have(make, unknown):
    with pytest.raises(TypeError, match=f"unexpected keyword argument.*'{unknown}'"):
        make()


@pytest.mark.parametrize("make,what", [
    (lambda: O.SGD(learning_rate=-1e-3), "learning_rate"),
    (lambda: O.SGD(learning_rate=math.inf), "learning_rate"),
    (lambda: O.Adam(learning_rate=math.nan), "learning_rate"),
    (lambda: O.SGD(momentum=1.0), "momentum"),
    (lambda: O.SGD(momentum=-0.1), "momentum"),
    (lambda: O.RMSprop(rho=1.0), "rho"),
    (lambda: O.RMSprop(momentum=math.nan), "momentum"),
    (lambda: O.Adam(beta_1=2.0), "beta_1"),
    (lambda: O.Adam(beta_2=1.0), "beta_2"),
    (lambda: O.Adam(epsilon=-1e-7), "epsilon"),
    (lambda: O.Adam(epsilon=math.inf), "epsilon"),
    (lambda: O.SGD(clipnorm=0.0), "clipnorm"),
    (lambda: O.SGD(clipvalue=-1.0), "clipvalue"),
    (lambda: O.SGD(global_clipnorm=math.nan), "global_clipnorm"),
    (lambda: O.AdamW(weight_decay=-0.1), "weight_decay"),
    (lambda: O.Nadam(momentum_decay=math.inf), "momentum_decay"),
    (lambda: O.Adagrad(initial_accumulator_value=-1.0), "initial_accumulator_value"),
])
def test_optimizer_hyperparameter_ranges_are_checked_at_construction(make, what):
    with pytest.raises(ValueError, match=what):
        make()


@pytest.mark.parametrize("make", [
    lambda: O.SGD(0.1, momentum=0.999999, nesterov=True, clipnorm=1e-6),
    lambda: O.RMSprop(0.0, rho=0.0, momentum=0.5, epsilon=1e30, centered=True),
    lambda: O.Adam(1e3, beta_1=0.0, beta_2=0.999999, amsgrad=True, global_clipnorm=1e30),
    lambda: O.AdamW(weight_decay=0.0, clipvalue=1e-30),
    lambda: O.Adamax(beta_1=0.5),
    lambda: O.Nadam(momentum_decay=0.0),
    lambda: O.Adagrad(initial_accumulator_value=0.0, epsilon=1e-30),
])
def test_any_constructible_optimizer_saves_and_reloads(make, tmp_path):
    model = _small(optimizer=make())
    X, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a huge rate may diverge: still saveable
        model.fit(X, y, epochs=1, verbose=0)
    loaded = _round_trip(model, tmp_path)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()


# ---------------------------------------------------------------------------------------------
# item 9: sizes, weights, activation and regularizer values, names
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("units", [2**63, 2**62, 2**31, 0, -1, 2.0, True])
def test_dense_units_beyond_the_bound_are_refused(units):
    with pytest.raises(ValueError, match=r"Dense: units must be a positive int <= 2147483647"):
        L.Dense(units)


@pytest.mark.parametrize("shape", [2**63, (2**31,), (70_000, 70_000)])
def test_input_width_beyond_the_bound_is_refused(shape):
    with pytest.raises(ValueError, match=r"number of features must be a positive int <= 2147483647"):
        L.Input(shape=shape)
    with pytest.raises(ValueError, match=r"<= 2147483647"):
        L.Dense(3, input_shape=shape if isinstance(shape, tuple) else (shape,))


def test_the_size_bound_itself_is_accepted():
    assert L.Dense(BIG).units == BIG
    assert L.Input(BIG).units == BIG


@pytest.mark.parametrize("batch_size", [2**63, 2**31, 0, 1.0])
@pytest.mark.parametrize("call", ["fit", "evaluate", "predict"])
def test_batch_size_beyond_the_bound_is_refused(call, batch_size):
    model = _small()
    X, y = _data()
    with pytest.raises(ValueError, match=f"{call}: batch_size must be a positive int <= 2147483647"):
        if call == "predict":
            model.predict(X, batch_size=batch_size)
        else:
            getattr(model, call)(X, y, batch_size=batch_size, verbose=0)


def test_largest_batch_size_trains():
    model = _small()
    X, y = _data()
    model.fit(X, y, batch_size=BIG, epochs=1, verbose=0)
    assert model.predict(X, batch_size=BIG).shape == (len(X), 3)


@pytest.mark.parametrize("class_weight,match", [
    ({10**12: 1.0}, r"class_weight key 1000000000000 is not a class id in \[0, 3\)"),
    ({3: 1.0}, r"key 3 is not a class id in \[0, 3\)"),
    ({-1: 1.0}, r"key -1"),
    ({"0": 1.0}, r"key '0'"),
    ({0: math.inf}, r"class_weight\[0\] must be a finite number >= 0"),
    ({0: math.nan}, r"class_weight\[0\]"),
    ({1: -2.0}, r"class_weight\[1\]"),
])
def test_class_weight_keys_must_be_class_ids_of_the_outputs(class_weight, match):
    model = _small()
    X, y = _data()
    with pytest.raises(ValueError, match=match):
        model.fit(X, y, class_weight=class_weight, epochs=1, verbose=0)


def test_class_weight_for_binary_crossentropy_takes_classes_0_and_1():
    model = dk.Sequential([L.Input(4), L.Dense(1, activation="sigmoid")], seed=0)
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    X, y = _data()
    y = (y > 0).astype(float)
    model.fit(X, y, class_weight={0: 1.0, 1: 3.0}, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"key 2 is not a class id in \[0, 2\)"):
        model.fit(X, y, class_weight={2: 1.0}, epochs=1, verbose=0)


def test_sample_weight_overflowing_float32_is_refused():
    X, y = _data()
    w = np.ones(len(X))
    w[5] = 1e39  # finite in float64, Inf in float32
    with pytest.raises(ValueError, match=r"sample 5 \(1e\+39.*overflows float32"):
        _small().fit(X, y, sample_weight=w, epochs=1, verbose=0)
    # The product with class_weight is what must fit.
    w[5] = 1e38
    with pytest.raises(ValueError, match="overflows float32"):
        _small().fit(X, np.full(len(X), 1), sample_weight=w, class_weight={1: 10.0}, epochs=1, verbose=0)
    # float64 holds it.
    _small(dtype="float64").fit(X, y, sample_weight=w, epochs=1, verbose=0)


@pytest.mark.parametrize("make,match", [
    (lambda: L.LeakyReLU(alpha=math.nan), "alpha"),
    (lambda: L.ELU(alpha=math.inf), "alpha"),
    (lambda: L.Dense(3, activation={"name": "elu", "alpha": math.nan}), "alpha"),
    (lambda: L.Activation("leaky_relu", alpha=-math.inf), "alpha"),
    (lambda: L.RReLU(lower=math.nan), "lower"),
    (lambda: L.RReLU(upper=math.inf), "upper"),
])
def test_activation_parameters_must_be_finite(make, match):
    with pytest.raises(ValueError, match=f"({match}|slope) must be a finite number"):
        make()


@pytest.mark.parametrize("make,match", [
    (lambda: dk.regularizers.l2(math.inf), "l2"),
    (lambda: dk.regularizers.l1(math.nan), "l1"),
    (lambda: dk.regularizers.l1_l2(l1=0.1, l2=-1.0), "l2"),
    (lambda: dk.initializers.Constant(math.nan), "Constant"),
    (lambda: dk.initializers.Constant(-math.inf), "Constant"),
    (lambda: dk.initializers.Orthogonal(gain=math.inf), "Orthogonal"),
    (lambda: dk.initializers.VarianceScaling(scale=math.inf), "scale"),
    (lambda: dk.initializers.VarianceScaling(scale=math.nan), "scale"),
])
def test_regularizer_and_initializer_values_must_be_finite(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("make", [
    lambda: L.Dense(3, name="dense\ud800"),
    lambda: L.BatchNormalization(name="\udc80bn"),
    lambda: dk.Sequential([L.Input(2), L.Dense(1)], name="model\ud83d"),
])
def test_names_with_lone_surrogates_are_refused_at_construction(make):
    with pytest.raises(ValueError, match="lone surrogate"):
        make()


def test_a_name_changed_to_a_lone_surrogate_is_refused_by_save(tmp_path):
    model = _small()
    model.layers[0].name = "renamed\ud800"  # after construction: save still refuses it
    with pytest.raises(ValueError, match=r"save_model: .*lone surrogate"):
        model.save(tmp_path / "m.dk")
    assert not (tmp_path / "m.dk").exists()


def test_non_ascii_names_and_extreme_valid_values_round_trip(tmp_path):
    model = dk.Sequential([
        L.Input(3),
        L.Dense(4, activation={"name": "leaky_relu", "alpha": -1e300}, name="dichte_Schicht_ü_😀",
                kernel_regularizer=dk.regularizers.l1_l2(1e300, 0.0),
                bias_initializer=dk.initializers.Constant(-1e-300)),
        L.ELU(alpha=1e-300), L.RReLU(lower=0.0, upper=1e300), L.Dense(2)],
        seed=2**63 - 1, name="modèle 模型")
    model.compile(optimizer="sgd", loss="mse")
    loaded = _round_trip(model, tmp_path)
    assert loaded.name == "modèle 模型"
    assert loaded.layers[0].name == "dichte_Schicht_ü_😀"
    assert loaded.get_config() == model.get_config()


@pytest.mark.parametrize("layer", [
    lambda: L.Activation("sigmoid", alpha=9.223372036854776e18),  # found by the loader's fuzzer
    lambda: L.Activation("tanh", lower=0.0, upper=2.0),
    lambda: L.ReLU(alpha=0.5),
])
def test_activation_layers_keep_every_parameter_in_their_config(layer, tmp_path):
    model = dk.Sequential([L.Input(3), L.Dense(3), layer()], seed=0)
    loaded = _round_trip(model, tmp_path)
    assert loaded.layers[1].get_config() == model.layers[1].get_config()
    x = np.linspace(-2, 2, 12).reshape(4, 3)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
