"""Unsupervised pretraining (SPEC §3, "Transfer learning and pretraining").

`autoencoder(...)` builds a symmetric dense autoencoder and hands back its encoder layers, which
drop into a supervised model (`Sequential([Input(d), *encoder_layers, Dense(k, ...)])`, sharing
them as Keras does). `greedy_layerwise(...)` trains a stack one shallow autoencoder at a time, each
on the codes of the previous one (Hinton & Salakhutdinov 2006; Bengio et al. 2007).

Tied weights. Properly tied weights (the decoder's kernel *is* the transpose of the encoder's,
one parameter receiving both gradients) need support in the C++ core — a Dense variant that
reads another layer's kernel transposed and accumulates its gradient into it — which densekit
does not have. What `tied=True` does instead, honestly: the decoder starts as the transpose of
the encoder, and after every training step each (encoder, decoder) kernel pair — and its
optimizer slots — is replaced by its average (W_enc + W_decᵀ)/2, so the pair stays tied. For SGD
(plain, momentum or Nesterov, no regularizer or clipping) the update is linear in the gradient
and this is *exactly* tied-weight training at half the learning rate:
W ← W − (η/2)(g_enc + g_decᵀ). For the adaptive optimizers it is tied training only
approximately (a projection onto tied weights after each step). Training then goes batch by batch
through Python (a callback), which costs a little speed. It does not halve the parameter count.
"""

import numpy as np

from . import _native, optimizers
from .callbacks import Callback
from .layers.core import Dense, Input
from .models import Sequential

_HE = {"relu", "leaky_relu", "elu", "prelu", "rrelu", "gelu", "swish", "silu"}


def default_initializer(activation):
    """The chapter's pairing: LeCun for SELU, He for the ReLU family, Glorot otherwise."""
    name = activation if isinstance(activation, str) or activation is None else getattr(activation, "name", None)
    if name == "selu":
        return "lecun_normal"
    if name in _HE:
        return "he_normal"
    return "glorot_uniform"


class TieWeights(Callback):
    """Keeps (encoder, decoder) kernel pairs tied after every training step (see the module
    docstring for what that is exactly)."""

    def __init__(self, pairs):
        super().__init__()
        self.pairs = list(pairs)

    def on_train_batch_end(self, batch, logs=None):
        tie(self.model, self.pairs)


def tie(model, pairs):
    """Averages each (encoder, decoder) kernel pair (W_enc, W_decᵀ) and their optimizer slots
    (every named slot, through the optimizer's live views). A frozen side is kept and copied to
    the other."""
    opt = model.optimizer if model.built else None
    for enc, dec in pairs:
        we, wd = enc.kernel, dec.kernel  # (n, m) and (m, n) zero-copy views
        if enc.trainable and dec.trainable:
            avg = (we + wd.T) * we.dtype.type(0.5)
        elif enc.trainable:
            avg = wd.T.copy()
        else:
            avg = we.copy()
        we[...] = avg
        wd[...] = avg.T
        if opt is not None and enc.trainable and dec.trainable:
            ke, kd = model.variable_key(enc, "kernel"), model.variable_key(dec, "kernel")
            for name in opt.slot_names:
                se, sd = opt.slot(name, ke), opt.slot(name, kd)  # (n, m) and (m, n) views
                s = (se + sd.T) * we.dtype.type(0.5)
                se[...] = s
                sd[...] = s.T


class Autoencoder(Sequential):
    """A Sequential autoencoder that knows its encoder and decoder layers.

    encoder_layers / decoder_layers: the Dense layers of each half (shared with the model).
    encoder(): a Sequential over the encoder layers (shared, not copied); encode(X) = its output.
    With tied=True, fit and train_on_batch keep the kernel pairs tied (module docstring). Saved
    with save_model, it loads back as a plain Sequential (the tie is not part of the file).
    """

    def __init__(self, layers, encoder_layers, decoder_layers, tied=False, **kwargs):
        self.encoder_layers = list(encoder_layers)
        self.decoder_layers = list(decoder_layers)
        self.tied = bool(tied)
        super().__init__(layers, **kwargs)

    @property
    def tied_pairs(self):
        return list(zip(self.encoder_layers, reversed(self.decoder_layers))) if self.tied else []

    def fit(self, x=None, y=None, *args, callbacks=None, **kwargs):
        callbacks = list(callbacks or [])
        if self.tied:
            callbacks.append(TieWeights(self.tied_pairs))
        return super().fit(x, y, *args, callbacks=callbacks, **kwargs)

    def train_on_batch(self, x, y, *args, **kwargs):
        out = super().train_on_batch(x, y, *args, **kwargs)
        if self.tied:
            tie(self, self.tied_pairs)
        return out

    def encoder(self):
        return Sequential([Input(self.input_dim)] + self.encoder_layers, seed=self.seed,
                          dtype=self.dtype, name=self.name + "_encoder")

    def encode(self, x, batch_size=None):
        return self.encoder().predict(x, batch_size=batch_size)


def _fresh_optimizer(optimizer):
    """A new optimizer instance per model: a name, a factory, or a copy of an instance's config."""
    if isinstance(optimizer, optimizers.Optimizer):
        return type(optimizer).from_config(optimizer.get_config())
    if callable(optimizer) and not isinstance(optimizer, str):
        return optimizer()
    return optimizers.get(optimizer)


def autoencoder(input_dim, hidden, activation="selu", output_activation=None, tied=False,
                kernel_initializer=None, loss="mse", optimizer="adam", dtype="float32",
                seed=None, compile=True, name="autoencoder"):
    """A symmetric dense autoencoder input_dim → hidden[0] → … → hidden[-1] → … → input_dim.

    Returns (model, encoder_layers): `model` is an `Autoencoder` (a Sequential), compiled with
    `loss` and `optimizer` unless compile=False; train it with model.fit(X, X).
    `encoder_layers` are its first len(hidden) Dense layers — put them in a supervised model to
    reuse what they learned (they are shared with the autoencoder, as in Keras).
    Every hidden layer (the codings included) uses `activation`; the reconstruction layer uses
    `output_activation` (None: linear; "sigmoid" with binary cross-entropy suits [0, 1] data).
    kernel_initializer=None picks LeCun/He/Glorot to match the activation. tied=True ties each
    decoder kernel to its encoder kernel's transpose (see the module docstring for how).
    """
    if not (isinstance(input_dim, (int, np.integer)) and input_dim > 0):
        raise ValueError(f"autoencoder: input_dim must be a positive int, got {input_dim!r}")
    hidden = list(hidden) if not isinstance(hidden, (int, np.integer)) else [hidden]
    if not hidden or not all(isinstance(h, (int, np.integer)) and h > 0 for h in hidden):
        raise ValueError(f"autoencoder: hidden must be a non-empty list of positive ints, got {hidden!r}")
    hidden = [int(h) for h in hidden]
    init = kernel_initializer or default_initializer(activation)
    enc = [Dense(h, activation=activation, kernel_initializer=init, name=f"{name}_enc_{i}")
           for i, h in enumerate(hidden)]
    widths = [int(input_dim)] + hidden
    dec = []
    for i, units in enumerate(reversed(widths[:-1])):
        last = i == len(hidden) - 1
        act = output_activation if last else activation
        dec.append(Dense(units, activation=act,
                         kernel_initializer=(kernel_initializer or default_initializer(act)) if last else init,
                         name=f"{name}_dec_{i}"))
    model = Autoencoder([Input(int(input_dim))] + enc + dec, enc, dec, tied=tied, seed=seed,
                        dtype=dtype, name=name)
    if tied:
        for e, d in model.tied_pairs:
            d.kernel[...] = e.kernel.T
    if compile:
        model.compile(optimizer=_fresh_optimizer(optimizer), loss=loss)
    return model, list(enc)


def greedy_layerwise(X, sizes, epochs=10, activation="selu", output_activation=None, tied=False,
                     kernel_initializer=None, loss="mse", code_loss="mse", optimizer="adam",
                     batch_size=32, dtype="float32", seed=None, verbose=0, return_histories=False):
    """Greedy layer-wise pretraining of a stack of encoders on unlabeled X (n, features).

    Stage k trains a shallow autoencoder d_k → sizes[k] → d_k on the codes of stages < k (stage 0
    on X, with `output_activation` and `loss` on its reconstruction; later stages reconstruct
    codes with a linear output and `code_loss`), for `epochs` epochs (an int, or one per stage). Returns the trained encoder
    Dense layers, built for the chain of widths, ready for
    `Sequential([Input(features), *layers, Dense(classes, activation="softmax")], dtype=dtype)`;
    with return_histories=True, (layers, [History per stage]).
    optimizer: a name, a zero-argument factory, or an instance whose config is copied per stage.
    """
    X = np.ascontiguousarray(X, dtype=_native.resolve_dtype(dtype))
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"greedy_layerwise: X must be a non-empty (samples, features) array, got shape {X.shape}")
    sizes = list(sizes)
    if not sizes:
        raise ValueError("greedy_layerwise: sizes must list at least one layer width")
    stage_epochs = list(epochs) if isinstance(epochs, (list, tuple)) else [epochs] * len(sizes)
    if len(stage_epochs) != len(sizes):
        raise ValueError(f"greedy_layerwise: {len(stage_epochs)} epoch counts for {len(sizes)} stages")
    if seed is None:
        seed = int(np.random.SeedSequence().entropy) & ((1 << 63) - 1)
    layers, histories = [], []
    codes = X
    for k, (size, ep) in enumerate(zip(sizes, stage_epochs)):
        ae, enc = autoencoder(codes.shape[1], [size], activation=activation,
                              output_activation=output_activation if k == 0 else None, tied=tied,
                              kernel_initializer=kernel_initializer,
                              loss=loss if k == 0 else code_loss,
                              optimizer=optimizer, dtype=dtype,
                              seed=_native.derive_seed(seed, k) & ((1 << 63) - 1),
                              name=f"pretrain_{k}")
        histories.append(ae.fit(codes, codes, epochs=ep, batch_size=batch_size, verbose=verbose))
        layers.append(enc[0])
        codes = ae.encode(codes)
    return (layers, histories) if return_histories else layers
