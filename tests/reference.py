"""NumPy reference for densekit: the test oracle.

Written from the specification's formulas (SPEC §3), NOT from the implementation. Keep it naive and
obviously correct: plain float64 NumPy, one small function per formula, no tricks, no speed.
The library's C++ results are compared against these functions; the functions themselves are
checked against PyTorch and finite differences in ``tests/test_reference_selfcheck.py``.

Conventions used throughout:
  * a batch is on axis 0: x (B, IN), kernel W (IN, OUT), bias b (OUT,), output (B, OUT);
  * "gradient wrt the network output" of a loss already includes the 1/B of the batch mean
    (and the 1/K of the mean over output units where the loss has one);
  * optimizers update the parameter arrays IN PLACE and keep one step counter t (from 1) that
    advances once per ``step`` call, never once per tensor;
  * where SPEC leaves something open this file says so in a comment marked "SPEC-open".

This module must not import densekit.
"""

import math

import numpy as np

# ----------------------------------------------------------------------------------------------
# constants from SPEC
# ----------------------------------------------------------------------------------------------
SELU_LAMBDA = 1.0507009873554805
SELU_ALPHA = 1.6732632423543772
RRELU_LOWER = 1.0 / 8.0
RRELU_UPPER = 1.0 / 3.0
PRELU_ALPHA_INIT = 0.25
LEAKY_RELU_ALPHA = 0.01
ELU_ALPHA = 1.0
# stddev of a standard normal truncated to [-2, 2]
TRUNC_NORMAL_STD_FACTOR = 0.87962566103423978
CLIP_EPS = 1e-7  # Keras backend epsilon, used to clip probabilities in cross-entropies


def _f64(a):
    return np.asarray(a, dtype=np.float64)


# ----------------------------------------------------------------------------------------------
# 1. Activations
# ----------------------------------------------------------------------------------------------
def sigmoid(z):
    """1/(1+e^-z), written so that neither branch overflows."""
    z = _f64(z)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def softplus(z):
    """log(1 + e^z) = max(z, 0) + log1p(e^-|z|)   (stable for any z)."""
    z = _f64(z)
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def softmax(z):
    """Row-wise softmax over the last axis."""
    z = _f64(z)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(z):
    z = _f64(z)
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def erf(z):
    return np.vectorize(math.erf, otypes=[np.float64])(_f64(z))


def std_normal_cdf(z):
    return 0.5 * (1.0 + erf(_f64(z) / math.sqrt(2.0)))


def std_normal_pdf(z):
    z = _f64(z)
    return np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def rrelu_inference_slope(lower=RRELU_LOWER, upper=RRELU_UPPER):
    return (lower + upper) / 2.0


def _negative_slope(name, z, params):
    """Slope used for z <= 0 by the piecewise-linear family (broadcast against z)."""
    if name == "leaky_relu":
        return params.get("alpha", LEAKY_RELU_ALPHA)
    if name == "prelu":
        # one alpha per unit = per column of z (last axis)
        return _f64(params.get("alpha", PRELU_ALPHA_INIT))
    if name == "rrelu":
        if params.get("training", False):
            # training: slope drawn ~ U(lower, upper) per element; the caller passes it
            slope = params.get("slope")
            if slope is None:
                raise ValueError("rrelu training mode needs an explicit slope array")
            return _f64(slope)
        return rrelu_inference_slope(params.get("lower", RRELU_LOWER),
                                     params.get("upper", RRELU_UPPER))
    raise KeyError(name)


def activation_forward(name, z, **params):
    """A = f(Z), elementwise (softmax: row-wise over the last axis).

    params: alpha (leaky_relu, elu, prelu), training/slope/lower/upper (rrelu).
    """
    z = _f64(z)
    if name == "linear":
        return z.copy()
    if name == "relu":
        return np.where(z > 0, z, 0.0)
    if name in ("leaky_relu", "prelu", "rrelu"):
        return np.where(z > 0, z, _negative_slope(name, z, params) * z)
    if name == "elu":
        alpha = params.get("alpha", ELU_ALPHA)
        return np.where(z > 0, z, alpha * (np.exp(np.minimum(z, 0.0)) - 1.0))
    if name == "selu":
        return SELU_LAMBDA * np.where(z > 0, z, SELU_ALPHA * (np.exp(np.minimum(z, 0.0)) - 1.0))
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return sigmoid(z)
    if name == "softmax":
        return softmax(z)
    if name == "gelu":
        # exact form: x * Phi(x)  (torch default, keras approximate=False)
        return z * std_normal_cdf(z)
    if name in ("swish", "silu"):
        return z * sigmoid(z)
    if name == "softplus":
        return softplus(z)
    if name == "mish":
        return z * np.tanh(softplus(z))
    if name == "hard_sigmoid":  # Keras 3's: relu6(z + 3) / 6
        return np.clip(z + 3.0, 0.0, 6.0) / 6.0
    if name == "softsign":
        return z / (1.0 + np.abs(z))
    if name == "exponential":
        return np.exp(z)
    if name == "relu6":
        return np.clip(z, 0.0, 6.0)
    raise ValueError(f"unknown activation {name!r}")


def activation_grad(name, z, **params):
    """Elementwise derivative dA/dZ evaluated at z (same shape as z).

    At the kink z == 0 the piecewise-linear family uses the z <= 0 branch for the slope
    (relu -> 0, leaky/prelu/rrelu -> alpha), as TF and torch do.
    Softmax has no elementwise derivative: use ``softmax_backward``.
    """
    z = _f64(z)
    if name == "linear":
        return np.ones_like(z)
    if name == "relu":
        return np.where(z > 0, 1.0, 0.0)
    if name in ("leaky_relu", "prelu", "rrelu"):
        return np.where(z > 0, 1.0, _negative_slope(name, z, params) * np.ones_like(z))
    if name == "elu":
        alpha = params.get("alpha", ELU_ALPHA)
        return np.where(z > 0, 1.0, alpha * np.exp(np.minimum(z, 0.0)))
    if name == "selu":
        return SELU_LAMBDA * np.where(z > 0, 1.0, SELU_ALPHA * np.exp(np.minimum(z, 0.0)))
    if name == "tanh":
        return 1.0 - np.tanh(z) ** 2
    if name == "sigmoid":
        s = sigmoid(z)
        return s * (1.0 - s)
    if name == "gelu":
        return std_normal_cdf(z) + z * std_normal_pdf(z)
    if name in ("swish", "silu"):
        s = sigmoid(z)
        return s + z * s * (1.0 - s)
    if name == "softplus":
        return sigmoid(z)
    if name == "mish":
        t = np.tanh(softplus(z))
        return t + z * sigmoid(z) * (1.0 - t * t)
    if name == "hard_sigmoid":  # the kinks at -3 and 3 take the flat side, as torch
        return np.where((z > -3.0) & (z < 3.0), 1.0 / 6.0, 0.0)
    if name == "softsign":
        return 1.0 / (1.0 + np.abs(z)) ** 2
    if name == "exponential":
        return np.exp(z)
    if name == "relu6":  # the kinks at 0 and 6 take the flat side, as torch
        return np.where((z > 0.0) & (z < 6.0), 1.0, 0.0)
    if name == "softmax":
        raise ValueError("softmax is not elementwise: use softmax_backward(z, dout)")
    raise ValueError(f"unknown activation {name!r}")


def activation_backward(name, z, dout, **params):
    """dL/dZ given dL/dA (= dout)."""
    if name == "softmax":
        return softmax_backward(z, dout)
    return _f64(dout) * activation_grad(name, z, **params)


def softmax_backward(z, dout):
    """Jacobian-vector product of row-wise softmax: dZ = p * (dout - sum(dout * p))."""
    p = softmax(z)
    dout = _f64(dout)
    return p * (dout - (dout * p).sum(axis=-1, keepdims=True))


def prelu_alpha_grad(z, dout):
    """dL/dalpha for PReLU with one alpha per unit (last axis): sum over the batch of
    dout * z where z <= 0 (0 elsewhere)."""
    z = _f64(z)
    dout = _f64(dout)
    contrib = np.where(z > 0, 0.0, dout * z)
    return contrib.reshape(-1, z.shape[-1]).sum(axis=0)


# ----------------------------------------------------------------------------------------------
# 2. Losses and metrics
# ----------------------------------------------------------------------------------------------
def _batch_weights(sample_weight, batch):
    if sample_weight is None:
        return np.ones(batch)
    w = _f64(sample_weight).reshape(-1)
    if w.shape[0] != batch:
        raise ValueError("sample_weight must have one entry per sample")
    return w


def _reduce(per_sample, sample_weight):
    """Keras 'sum_over_batch_size': mean over the batch of w_i * l_i (divide by B, not sum w)."""
    batch = per_sample.shape[0]
    w = _batch_weights(sample_weight, batch)
    return float(np.sum(w * per_sample) / batch), w


def _clipped(p):
    """Clip probabilities into [eps, 1-eps]; also return where the clip is inactive (the
    derivative of clip is 1 inside [min, max] and 0 outside, as TF's clip_by_value)."""
    p = _f64(p)
    inside = (p >= CLIP_EPS) & (p <= 1.0 - CLIP_EPS)
    return np.clip(p, CLIP_EPS, 1.0 - CLIP_EPS), inside


def sparse_to_onehot(y, num_classes):
    y = np.asarray(y).reshape(-1).astype(np.int64)
    out = np.zeros((y.shape[0], num_classes))
    out[np.arange(y.shape[0]), y] = 1.0
    return out


def categorical_crossentropy(y_true, y_pred, sample_weight=None, from_logits=False):
    """l_i = -sum_k y_ik log p_ik.  y_true (B, K) one-hot or soft labels.

    Probabilities: p = clip(y_pred, 1e-7, 1-1e-7)  (SPEC-open: Keras additionally renormalises
    y_pred by its row sum before clipping; this oracle does not, the two agree whenever the rows
    of y_pred sum to 1, which is the case after softmax).
    Logits: l_i = -sum_k y_ik log_softmax(z)_ik; dl/dz = p * sum_k y_ik - y_i.
    Returns (mean loss, gradient wrt y_pred).
    """
    y = _f64(y_true)
    out = _f64(y_pred)
    batch = out.shape[0]
    if from_logits:
        per_sample = -(y * log_softmax(out)).sum(axis=1)
        dl = softmax(out) * y.sum(axis=1, keepdims=True) - y
    else:
        p, inside = _clipped(out)
        per_sample = -(y * np.log(p)).sum(axis=1)
        dl = np.where(inside, -y / p, 0.0)
    loss, w = _reduce(per_sample, sample_weight)
    return loss, dl * w[:, None] / batch


def sparse_categorical_crossentropy(y_true, y_pred, sample_weight=None, from_logits=False):
    """As categorical_crossentropy with integer labels y_true (B,) (or (B, 1))."""
    onehot = sparse_to_onehot(y_true, _f64(y_pred).shape[1])
    return categorical_crossentropy(onehot, y_pred, sample_weight, from_logits)


def softmax_crossentropy_grad(y_true, logits, sample_weight=None):
    """Fused softmax + cross-entropy gradient wrt logits: w_i (p - y) / B.
    y_true: integer labels (B,) or one-hot (B, K)."""
    logits = _f64(logits)
    y = np.asarray(y_true)
    if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1 and logits.shape[1] != 1):
        y = sparse_to_onehot(y, logits.shape[1])
    y = _f64(y)
    batch = logits.shape[0]
    w = _batch_weights(sample_weight, batch)
    return (softmax(logits) - y) * w[:, None] / batch


def _as_2d(a):
    a = _f64(a)
    return a.reshape(a.shape[0], -1)


def binary_crossentropy(y_true, y_pred, sample_weight=None, from_logits=False):
    """Elementwise l = -(y log p + (1-y) log(1-p)), mean over output units, then the batch.

    Probabilities: p clipped to [1e-7, 1-1e-7] (SPEC-open: older tf.keras also added 1e-7 inside
    each log; Keras 3 only clips).
    Logits: stable form l = max(z, 0) - z y + log(1 + e^-|z|), dl/dz = sigmoid(z) - y.
    Returns (mean loss, gradient wrt y_pred, same shape as y_pred).
    """
    shape = _f64(y_pred).shape
    out = _as_2d(y_pred)
    y = _as_2d(y_true)
    batch, units = out.shape
    if from_logits:
        elem = np.maximum(out, 0.0) - out * y + np.log1p(np.exp(-np.abs(out)))
        dl = sigmoid(out) - y
    else:
        p, inside = _clipped(out)
        elem = -(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))
        dl = np.where(inside, -y / p + (1.0 - y) / (1.0 - p), 0.0)
    loss, w = _reduce(elem.mean(axis=1), sample_weight)
    return loss, (dl * w[:, None] / (batch * units)).reshape(shape)


def mse(y_true, y_pred, sample_weight=None):
    """l_i = mean_k (p_ik - y_ik)^2;  dl/dp = 2 (p - y) / (B K)."""
    shape = _f64(y_pred).shape
    p, y = _as_2d(y_pred), _as_2d(y_true)
    batch, units = p.shape
    r = p - y
    loss, w = _reduce((r * r).mean(axis=1), sample_weight)
    return loss, (2.0 * r * w[:, None] / (batch * units)).reshape(shape)


def mae(y_true, y_pred, sample_weight=None):
    """l_i = mean_k |p_ik - y_ik|;  dl/dp = sign(p - y) / (B K)  (0 where p == y)."""
    shape = _f64(y_pred).shape
    p, y = _as_2d(y_pred), _as_2d(y_true)
    batch, units = p.shape
    r = p - y
    loss, w = _reduce(np.abs(r).mean(axis=1), sample_weight)
    return loss, (np.sign(r) * w[:, None] / (batch * units)).reshape(shape)


def huber(y_true, y_pred, sample_weight=None, delta=1.0):
    """Elementwise 0.5 r^2 if |r| <= delta else delta (|r| - 0.5 delta), r = p - y;
    mean over units, then batch.  dl/dr = r if |r| <= delta else delta sign(r)."""
    shape = _f64(y_pred).shape
    p, y = _as_2d(y_pred), _as_2d(y_true)
    batch, units = p.shape
    r = p - y
    small = np.abs(r) <= delta
    elem = np.where(small, 0.5 * r * r, delta * (np.abs(r) - 0.5 * delta))
    dl = np.where(small, r, delta * np.sign(r))
    loss, w = _reduce(elem.mean(axis=1), sample_weight)
    return loss, (dl * w[:, None] / (batch * units)).reshape(shape)


LOSSES = {
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "binary_crossentropy": binary_crossentropy,
    "mse": mse,
    "mae": mae,
    "huber": huber,
}


def loss_and_grad(name, y_true, y_pred, sample_weight=None, **kwargs):
    return LOSSES[name](y_true, y_pred, sample_weight=sample_weight, **kwargs)


def _metric_mean(values, sample_weight):
    """Keras metrics average a weighted value as sum(w m) / sum(w) (unlike losses)."""
    values = _f64(values)
    if sample_weight is None:
        return float(values.mean())
    w = _f64(sample_weight).reshape(-1)
    return float(np.sum(w * values) / np.sum(w))


def sparse_categorical_accuracy(y_true, y_pred, sample_weight=None):
    hits = np.argmax(_f64(y_pred), axis=1) == np.asarray(y_true).reshape(-1)
    return _metric_mean(hits.astype(np.float64), sample_weight)


def categorical_accuracy(y_true, y_pred, sample_weight=None):
    hits = np.argmax(_f64(y_pred), axis=1) == np.argmax(_f64(y_true), axis=1)
    return _metric_mean(hits.astype(np.float64), sample_weight)


def binary_accuracy(y_true, y_pred, sample_weight=None, threshold=0.5):
    """Prediction is 1 where y_pred > threshold (strictly, as Keras); per-sample mean over units."""
    p, y = _as_2d(y_pred), _as_2d(y_true)
    hits = ((p > threshold).astype(np.float64) == y).astype(np.float64)
    return _metric_mean(hits.mean(axis=1), sample_weight)


def mse_metric(y_true, y_pred, sample_weight=None):
    r = _as_2d(y_pred) - _as_2d(y_true)
    return _metric_mean((r * r).mean(axis=1), sample_weight)


def mae_metric(y_true, y_pred, sample_weight=None):
    r = _as_2d(y_pred) - _as_2d(y_true)
    return _metric_mean(np.abs(r).mean(axis=1), sample_weight)


# ----------------------------------------------------------------------------------------------
# 3. Dense layer
# ----------------------------------------------------------------------------------------------
def dense_forward(x, W, b=None):
    """x (B, IN), W (IN, OUT), b (OUT,) -> z (B, OUT) = x @ W + b."""
    z = _f64(x) @ _f64(W)
    if b is not None:
        z = z + _f64(b)
    return z


def dense_backward(x, W, dz):
    """-> (dx (B, IN), dW (IN, OUT), db (OUT,)):
    dW = x.T @ dz,  db = sum over the batch of dz,  dx = dz @ W.T."""
    x, W, dz = _f64(x), _f64(W), _f64(dz)
    return dz @ W.T, x.T @ dz, dz.sum(axis=0)


# ----------------------------------------------------------------------------------------------
# 4. Initializers
# ----------------------------------------------------------------------------------------------
NAMED_INITIALIZERS = {
    # name: (scale, mode, distribution)
    "glorot_uniform": (1.0, "fan_avg", "uniform"),
    "glorot_normal": (1.0, "fan_avg", "truncated_normal"),
    "he_normal": (2.0, "fan_in", "truncated_normal"),
    "he_uniform": (2.0, "fan_in", "uniform"),
    "lecun_normal": (1.0, "fan_in", "truncated_normal"),
    "lecun_uniform": (1.0, "fan_in", "uniform"),
}


def fans(shape):
    """Kernel (IN, OUT): fan_in = IN, fan_out = OUT."""
    fan_in, fan_out = shape
    return float(fan_in), float(fan_out)


def variance_scaling_target(fan_in, fan_out, scale=1.0, mode="fan_in",
                            distribution="truncated_normal"):
    """What a VarianceScaling draw must look like, per SPEC.

    Returns a dict:
      variance  sigma^2 = scale / n   (n = fan_in, fan_out or (fan_in + fan_out) / 2)
      mean      0
      normal:            stddev = sqrt(sigma^2); unbounded
      truncated_normal:  stddev = sqrt(sigma^2) / 0.87962566103423978 of the underlying normal,
                         values beyond +-2*stddev re-drawn, so |w| <= bound = 2*stddev and the
                         resulting variance is sigma^2
      uniform:           limit = sqrt(3 sigma^2), w ~ U(-limit, limit), variance sigma^2
    """
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[mode]
    var = scale / n
    out = {"variance": var, "mean": 0.0, "distribution": distribution}
    if distribution == "normal":
        out["stddev"] = math.sqrt(var)
        out["bound"] = math.inf
    elif distribution == "truncated_normal":
        out["stddev"] = math.sqrt(var) / TRUNC_NORMAL_STD_FACTOR
        out["bound"] = 2.0 * out["stddev"]
    elif distribution == "uniform":
        out["limit"] = math.sqrt(3.0 * var)
        out["bound"] = out["limit"]
    else:
        raise ValueError(f"unknown distribution {distribution!r}")
    return out


def initializer_target(name, shape, **kwargs):
    """Target statistics for a named initializer of a kernel of the given (IN, OUT) shape.
    name may also be "variance_scaling" with scale/mode/distribution kwargs, or
    zeros / ones / constant(value=...)."""
    fan_in, fan_out = fans(shape)
    if name in NAMED_INITIALIZERS:
        scale, mode, dist = NAMED_INITIALIZERS[name]
        return variance_scaling_target(fan_in, fan_out, scale, mode, dist)
    if name == "variance_scaling":
        return variance_scaling_target(fan_in, fan_out, **kwargs)
    if name in ("zeros", "ones", "constant"):
        value = {"zeros": 0.0, "ones": 1.0}.get(name, kwargs.get("value", 0.0))
        return {"variance": 0.0, "mean": float(value), "distribution": "constant",
                "bound": abs(float(value))}
    raise ValueError(f"unknown initializer {name!r}")


def sample_initializer(name, shape, rng, **kwargs):
    """A naive sampler following the SPEC recipe (for checking the targets, not bit-parity:
    the library's RNG stream is its own)."""
    t = initializer_target(name, shape, **kwargs)
    if t["distribution"] == "constant":
        return np.full(shape, t["mean"])
    if t["distribution"] == "normal":
        return rng.normal(0.0, t["stddev"], size=shape)
    if t["distribution"] == "uniform":
        return rng.uniform(-t["limit"], t["limit"], size=shape)
    w = rng.normal(0.0, t["stddev"], size=shape)
    bad = np.abs(w) > t["bound"]
    while bad.any():  # re-draw values beyond +-2 stddev
        w[bad] = rng.normal(0.0, t["stddev"], size=int(bad.sum()))
        bad = np.abs(w) > t["bound"]
    return w


def is_orthogonal(W, gain=1.0, tol=1e-6):
    """Orthogonal init: columns (if IN >= OUT) or rows orthonormal, times gain."""
    W = _f64(W) / gain
    if W.shape[0] >= W.shape[1]:
        g = W.T @ W
    else:
        g = W @ W.T
    return bool(np.allclose(g, np.eye(g.shape[0]), atol=tol))


# ----------------------------------------------------------------------------------------------
# 6. Gradient clipping
# ----------------------------------------------------------------------------------------------
def clip_by_value(grads, clipvalue):
    return [np.clip(_f64(g), -clipvalue, clipvalue) for g in grads]


def clip_by_norm(grads, clipnorm):
    """Per variable: g * c / ||g|| when ||g|| > c."""
    out = []
    for g in grads:
        g = _f64(g)
        n = math.sqrt(float(np.sum(g * g)))
        out.append(g * (clipnorm / n) if n > clipnorm else g.copy())
    return out


def global_norm(grads):
    return math.sqrt(sum(float(np.sum(_f64(g) ** 2)) for g in grads))


def clip_by_global_norm(grads, global_clipnorm):
    """All grads scaled by c / global_norm when global_norm > c."""
    n = global_norm(grads)
    if n > global_clipnorm:
        return [_f64(g) * (global_clipnorm / n) for g in grads]
    return [_f64(g).copy() for g in grads]


def clip_gradients(grads, clipvalue=None, clipnorm=None, global_clipnorm=None):
    given = [c for c in (clipvalue, clipnorm, global_clipnorm) if c is not None]
    if len(given) > 1:
        # SPEC-open: the order/combination of several clipping options is not specified.
        raise NotImplementedError("SPEC does not define combining clipping options")
    if clipvalue is not None:
        return clip_by_value(grads, clipvalue)
    if clipnorm is not None:
        return clip_by_norm(grads, clipnorm)
    if global_clipnorm is not None:
        return clip_by_global_norm(grads, global_clipnorm)
    return [_f64(g).copy() for g in grads]


# ----------------------------------------------------------------------------------------------
# 5. Optimizers (SPEC section 3 "Optimizers"; epsilon where Keras puts it: inside the square
#    root for Adagrad and RMSprop, outside it for Adam, AdamW and Nadam, added to u for Adamax;
#    the Adam family's epsilon_inside_root=True is the rule of model files of format version 1)
# ----------------------------------------------------------------------------------------------
class Optimizer:
    """Hyperparameters + per-parameter state + one ``_update`` per parameter.

    ``step`` clips the gradients (if asked), advances t once, then updates every parameter in
    place. ``learning_rate`` (and ``momentum`` where there is one) may be changed between steps.
    """

    def __init__(self, learning_rate, clipvalue=None, clipnorm=None, global_clipnorm=None):
        self.learning_rate = learning_rate
        self.clipvalue = clipvalue
        self.clipnorm = clipnorm
        self.global_clipnorm = global_clipnorm
        self.t = 0
        self.state = None

    def _init_state(self, p):
        return {}

    def step(self, params, grads):
        grads = clip_gradients(grads, self.clipvalue, self.clipnorm, self.global_clipnorm)
        if self.state is None:
            self.state = [self._init_state(_f64(p)) for p in params]
        self.t += 1
        for p, g, s in zip(params, grads, self.state):
            self._update(p, g, s)

    def _update(self, p, g, s):
        raise NotImplementedError


class SGD(Optimizer):
    """theta <- theta - eta g.
    momentum beta:  m <- beta m - eta g;  theta <- theta + m.
    nesterov:       m <- beta m - eta g;  theta <- theta + beta m - eta g."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **clip):
        super().__init__(learning_rate, **clip)
        self.momentum = momentum
        self.nesterov = nesterov

    def _init_state(self, p):
        return {"m": np.zeros_like(p)}

    def _update(self, p, g, s):
        eta, beta = self.learning_rate, self.momentum
        if beta == 0.0 and not self.nesterov:
            p -= eta * g
            return
        s["m"] = beta * s["m"] - eta * g
        if self.nesterov:
            p += beta * s["m"] - eta * g
        else:
            p += s["m"]


class Adagrad(Optimizer):
    """s <- s + g^2;  theta <- theta - eta g / sqrt(s + eps);  s starts at 0.1."""

    def __init__(self, learning_rate=1e-3, initial_accumulator_value=0.1, epsilon=1e-7, **clip):
        super().__init__(learning_rate, **clip)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def _init_state(self, p):
        return {"s": np.full_like(p, self.initial_accumulator_value)}

    def _update(self, p, g, s):
        s["s"] = s["s"] + g * g
        p -= self.learning_rate * g / np.sqrt(s["s"] + self.epsilon)


class RMSprop(Optimizer):
    """s <- rho s + (1 - rho) g^2;  theta <- theta - eta g / sqrt(s + eps).
    centered: gbar <- rho gbar + (1 - rho) g and s - gbar^2 replaces s.
    momentum mu: m <- mu m + eta g / sqrt(. + eps);  theta <- theta - m."""

    def __init__(self, learning_rate=1e-3, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, **clip):
        super().__init__(learning_rate, **clip)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def _init_state(self, p):
        return {"s": np.zeros_like(p), "gbar": np.zeros_like(p), "m": np.zeros_like(p)}

    def _update(self, p, g, s):
        rho = self.rho
        s["s"] = rho * s["s"] + (1.0 - rho) * g * g
        denom = s["s"]
        if self.centered:
            s["gbar"] = rho * s["gbar"] + (1.0 - rho) * g
            denom = s["s"] - s["gbar"] ** 2
        increment = self.learning_rate * g / np.sqrt(denom + self.epsilon)
        if self.momentum > 0.0:
            s["m"] = self.momentum * s["m"] + increment
            p -= s["m"]
        else:
            p -= increment


def adam_denominator(s_hat, epsilon, inside_root):
    """sqrt(shat) + eps (Keras, PyTorch), or sqrt(shat + eps) (format version 1)."""
    return np.sqrt(s_hat + epsilon) if inside_root else np.sqrt(s_hat) + epsilon


class Adam(Optimizer):
    """m <- b1 m + (1-b1) g;  s <- b2 s + (1-b2) g^2;  mhat = m/(1-b1^t);  shat = s/(1-b2^t);
    theta <- theta - eta mhat / (sqrt(shat) + eps)   (inside_root: / sqrt(shat + eps)).
    amsgrad: shat uses smax <- max(smax, s) in place of s (Reddi et al. 2018)."""

    def __init__(self, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, epsilon_inside_root=False, **clip):
        super().__init__(learning_rate, **clip)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad
        self.epsilon_inside_root = epsilon_inside_root

    def _init_state(self, p):
        return {"m": np.zeros_like(p), "s": np.zeros_like(p), "smax": np.zeros_like(p)}

    def _update(self, p, g, s):
        b1, b2, t = self.beta_1, self.beta_2, self.t
        s["m"] = b1 * s["m"] + (1.0 - b1) * g
        s["s"] = b2 * s["s"] + (1.0 - b2) * g * g
        second = s["s"]
        if self.amsgrad:
            s["smax"] = np.maximum(s["smax"], s["s"])
            second = s["smax"]
        m_hat = s["m"] / (1.0 - b1 ** t)
        s_hat = second / (1.0 - b2 ** t)
        p -= self.learning_rate * m_hat / adam_denominator(s_hat, self.epsilon,
                                                           self.epsilon_inside_root)


class AdamW(Adam):
    """Adam with decoupled weight decay applied first: theta <- theta - eta lambda theta
    (Loshchilov & Hutter 2019); weight_decay default 0.004 as Keras."""

    def __init__(self, learning_rate=1e-3, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, epsilon_inside_root=False, **clip):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, epsilon_inside_root,
                         **clip)
        self.weight_decay = weight_decay

    def _update(self, p, g, s):
        p -= self.learning_rate * self.weight_decay * p
        super()._update(p, g, s)


class Adamax(Optimizer):
    """m as Adam;  u <- max(b2 u, |g|);  theta <- theta - eta/(1-b1^t) * m / (u + eps)."""

    def __init__(self, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **clip):
        super().__init__(learning_rate, **clip)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def _init_state(self, p):
        return {"m": np.zeros_like(p), "u": np.zeros_like(p)}

    def _update(self, p, g, s):
        b1, b2, t = self.beta_1, self.beta_2, self.t
        s["m"] = b1 * s["m"] + (1.0 - b1) * g
        s["u"] = np.maximum(b2 * s["u"], np.abs(g))
        p -= self.learning_rate / (1.0 - b1 ** t) * s["m"] / (s["u"] + self.epsilon)


class Nadam(Optimizer):
    """Dozat (2016), as PyTorch NAdam / tf.keras 2:
    mu_t = b1 (1 - 0.5 * 0.96^(psi t)),  psi = momentum_decay = 0.004;  m, s as Adam;
    mhat = mu_{t+1} m / (1 - prod_{i<=t+1} mu_i) + (1 - mu_t) g / (1 - prod_{i<=t} mu_i);
    shat = s / (1 - b2^t);  theta <- theta - eta mhat / (sqrt(shat) + eps)
    (inside_root: / sqrt(shat + eps))."""

    def __init__(self, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 momentum_decay=0.004, epsilon_inside_root=False, **clip):
        super().__init__(learning_rate, **clip)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.momentum_decay = momentum_decay
        self.epsilon_inside_root = epsilon_inside_root

    def mu(self, t):
        return self.beta_1 * (1.0 - 0.5 * 0.96 ** (self.momentum_decay * t))

    def mu_product(self, t):
        """prod_{i=1..t} mu_i (recomputed from scratch: naive on purpose)."""
        prod = 1.0
        for i in range(1, t + 1):
            prod *= self.mu(i)
        return prod

    def _init_state(self, p):
        return {"m": np.zeros_like(p), "s": np.zeros_like(p)}

    def _update(self, p, g, s):
        b1, b2, t = self.beta_1, self.beta_2, self.t
        s["m"] = b1 * s["m"] + (1.0 - b1) * g
        s["s"] = b2 * s["s"] + (1.0 - b2) * g * g
        mu_t, mu_next = self.mu(t), self.mu(t + 1)
        m_hat = (mu_next * s["m"] / (1.0 - self.mu_product(t + 1))
                 + (1.0 - mu_t) * g / (1.0 - self.mu_product(t)))
        s_hat = s["s"] / (1.0 - b2 ** t)
        p -= self.learning_rate * m_hat / adam_denominator(s_hat, self.epsilon,
                                                           self.epsilon_inside_root)


OPTIMIZERS = {
    "sgd": SGD, "adagrad": Adagrad, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW,
    "adamax": Adamax, "nadam": Nadam,
}


# ----------------------------------------------------------------------------------------------
# 7. Regularizers and constraints
# ----------------------------------------------------------------------------------------------
def l1_penalty(w, l1=0.01):
    return l1 * float(np.sum(np.abs(_f64(w))))


def l1_grad(w, l1=0.01):
    return l1 * np.sign(_f64(w))  # subgradient 0 at w == 0


def l2_penalty(w, l2=0.01):
    return l2 * float(np.sum(_f64(w) ** 2))


def l2_grad(w, l2=0.01):
    return 2.0 * l2 * _f64(w)


def l1_l2_penalty(w, l1=0.0, l2=0.0):
    return l1_penalty(w, l1) + l2_penalty(w, l2)


def l1_l2_grad(w, l1=0.0, l2=0.0):
    return l1_grad(w, l1) + l2_grad(w, l2)


def max_norm(W, max_value, axis=0):
    """Every slice along ``axis`` (axis=0: each column of an (IN, OUT) kernel = one neuron's
    incoming weights) whose L2 norm exceeds max_value is rescaled to norm max_value exactly;
    the others are untouched.  (Keras instead multiplies by clip(n)/(n + 1e-7).)"""
    W = _f64(W)
    n = np.sqrt(np.sum(W * W, axis=axis, keepdims=True))
    factor = np.where(n > max_value, max_value / np.where(n > 0, n, 1.0), 1.0)
    return W * factor


def non_neg(W):
    W = _f64(W)
    return np.where(W >= 0, W, 0.0)


def unit_norm(W, axis=0):
    """Each slice along ``axis`` divided by its L2 norm.
    SPEC-open: an all-zero slice is left at zero here."""
    W = _f64(W)
    n = np.sqrt(np.sum(W * W, axis=axis, keepdims=True))
    return W / np.where(n > 0, n, 1.0)


# ----------------------------------------------------------------------------------------------
# 8. Batch normalization, dropout, AlphaDropout, BN folding
# ----------------------------------------------------------------------------------------------
def bn_forward_train(x, gamma=None, beta=None, epsilon=1e-3):
    """x (B, F). Biased batch statistics.  Returns (out, cache); cache holds
    mean, var (biased), xhat, inv_std, gamma for the backward pass and the moving update."""
    x = _f64(x)
    feats = x.shape[1]
    gamma = np.ones(feats) if gamma is None else _f64(gamma)
    beta = np.zeros(feats) if beta is None else _f64(beta)
    mean = x.mean(axis=0)
    var = ((x - mean) ** 2).mean(axis=0)
    inv_std = 1.0 / np.sqrt(var + epsilon)
    xhat = (x - mean) * inv_std
    out = gamma * xhat + beta
    cache = {"mean": mean, "var": var, "xhat": xhat, "inv_std": inv_std, "gamma": gamma}
    return out, cache


def bn_moving_update(moving_mean, moving_var, batch_mean, batch_var, momentum=0.99):
    """moving <- moving * momentum + batch * (1 - momentum), batch var biased.
    Returns new (moving_mean, moving_var)."""
    new_mean = _f64(moving_mean) * momentum + _f64(batch_mean) * (1.0 - momentum)
    new_var = _f64(moving_var) * momentum + _f64(batch_var) * (1.0 - momentum)
    return new_mean, new_var


def bn_forward_inference(x, moving_mean, moving_var, gamma=None, beta=None, epsilon=1e-3):
    x = _f64(x)
    feats = x.shape[1]
    gamma = np.ones(feats) if gamma is None else _f64(gamma)
    beta = np.zeros(feats) if beta is None else _f64(beta)
    return gamma * (x - _f64(moving_mean)) / np.sqrt(_f64(moving_var) + epsilon) + beta


def bn_backward(dout, cache):
    """Exact backward of the training forward.  -> (dx, dgamma, dbeta)."""
    dout = _f64(dout)
    xhat, inv_std, gamma = cache["xhat"], cache["inv_std"], cache["gamma"]
    batch = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dxhat = dout * gamma
    dx = (inv_std / batch) * (batch * dxhat - dxhat.sum(axis=0)
                              - xhat * (dxhat * xhat).sum(axis=0))
    return dx, dgamma, dbeta


def dropout_forward(x, keep_mask, rate):
    """Inverted dropout in training: kept units scaled by 1/(1-rate). keep_mask: bool array."""
    return _f64(x) * _f64(keep_mask) / (1.0 - rate)


def dropout_backward(dout, keep_mask, rate):
    return _f64(dout) * _f64(keep_mask) / (1.0 - rate)


def dropout_inference(x):
    return _f64(x).copy()


def alpha_dropout_constants(rate):
    """alpha' = -lambda alpha;  a = ((1-p)(1 + p alpha'^2))^-1/2;  b = -a alpha' p."""
    alpha_p = -SELU_LAMBDA * SELU_ALPHA
    a = ((1.0 - rate) * (1.0 + rate * alpha_p ** 2)) ** -0.5
    b = -a * alpha_p * rate
    return a, b, alpha_p


def alpha_dropout_forward(x, keep_mask, rate):
    """Dropped units set to alpha', then a x + b."""
    a, b, alpha_p = alpha_dropout_constants(rate)
    keep = _f64(keep_mask)
    return a * (_f64(x) * keep + alpha_p * (1.0 - keep)) + b


def alpha_dropout_backward(dout, keep_mask, rate):
    a, _, _ = alpha_dropout_constants(rate)
    return a * _f64(dout) * _f64(keep_mask)


def fold_batchnorm(W, b, gamma, beta, moving_mean, moving_var, epsilon=1e-3):
    """Dense (W (IN, OUT), b (OUT,) or None) followed by inference BN -> one Dense:
    W' = W * gamma / sqrt(var + eps) per output column;
    b' = (b - mean) * gamma / sqrt(var + eps) + beta."""
    W = _f64(W)
    out = W.shape[1]
    b = np.zeros(out) if b is None else _f64(b)
    gamma = np.ones(out) if gamma is None else _f64(gamma)
    beta = np.zeros(out) if beta is None else _f64(beta)
    k = gamma / np.sqrt(_f64(moving_var) + epsilon)
    return W * k[None, :], (b - _f64(moving_mean)) * k + beta


# ----------------------------------------------------------------------------------------------
# 9. Learning-rate schedules (t = step or epoch count, from 0)
# ----------------------------------------------------------------------------------------------
def power_decay(eta0, t, s, c=1.0):
    return eta0 / (1.0 + t / s) ** c


def exponential_decay(eta0, t, s, decay_rate=0.1):
    return eta0 * decay_rate ** (t / s)


def piecewise_constant(t, boundaries, values):
    """Keras PiecewiseConstantDecay: values[0] for t <= boundaries[0], values[i] for
    boundaries[i-1] < t <= boundaries[i], values[-1] for t > boundaries[-1]."""
    if len(values) != len(boundaries) + 1:
        raise ValueError("need len(values) == len(boundaries) + 1")
    for i, bound in enumerate(boundaries):
        if t <= bound:
            return values[i]
    return values[-1]


# ---------------------------------------------------------------------------------------------
# int8 inference (model.quantize): the scheme of cpp/include/densekit/kernels/qgemm.hpp, every
# float operation a single float32 operation (NumPy rounds each to nearest even, as the kernels)
# ---------------------------------------------------------------------------------------------
def quantize_weights(w, weight_bits):
    """(wq int8 (in, out), scales float32 (out,)): per-column symmetric, round half to even."""
    w = np.asarray(w, dtype=np.float32)
    wmax = np.float32(127 if weight_bits == 8 else 63)
    scales = (np.abs(w).max(axis=0) / wmax).astype(np.float32)
    safe = np.where(scales > 0, scales, np.float32(1))
    q = np.where(scales > 0, np.rint(w / safe), np.float32(0))
    return np.clip(q, -wmax, wmax).astype(np.int8), scales


def activation_quant_params(lo, hi, act_max):
    """(scale, inv_scale, zero_point) of a range, as float32 arithmetic."""
    lo, hi, amax = np.float32(min(lo, 0.0)), np.float32(max(hi, 0.0)), np.float32(act_max)
    rng_ = np.float32(hi - lo)
    if not rng_ > 0:
        return np.float32(0), np.float32(0), 0
    with np.errstate(over="ignore"):
        inv = np.float32(amax / rng_)
    if not np.isfinite(inv):
        return np.float32(0), np.float32(0), 0
    zp = int(min(max(np.rint(np.float32(-lo * inv)), 0), act_max))
    return np.float32(rng_ / amax), inv, zp


def quantized_dense(x, wq, scales, bias, act_max, relu=False, static=None):
    """z (B, out) of the int8 layer on x (B, in) float32: per-row (or `static` (scale, inv,
    zero_point)) unsigned activations, exact integer sums, the float32 epilogue without FMA."""
    x = np.asarray(x, dtype=np.float32)
    out = np.empty((x.shape[0], wq.shape[1]), dtype=np.float32)
    colsum = wq.astype(np.int64).sum(axis=0)
    for i, row in enumerate(x):
        if static is None:
            sx, inv, zp = activation_quant_params(float(row.min()), float(row.max()), act_max)
        else:
            sx, inv, zp = static
        t = np.clip((row * np.float32(inv)).astype(np.float32), np.float32(-zp), np.float32(act_max - zp))
        q = np.rint(t).astype(np.int64) + zp
        d = q @ wq.astype(np.int64) - zp * colsum
        v = d.astype(np.float32) * (np.float32(sx) * scales).astype(np.float32)
        if bias is not None:
            v = (v + np.asarray(bias, dtype=np.float32)).astype(np.float32)
        out[i] = np.maximum(v, np.float32(0)) if relu else v
    return out
