"""The W1 model the Q1–Q3 benchmarks quantize, prune and hand to the peers: the same trained
weights in every worker process (BENCHMARKS.md: "on the same trained weights").

W1 (784-300-100-10 ReLU, He-normal, softmax) built by densekit with seed 0 and trained for one
epoch of Adam on the benchmark's seeded synthetic data (timing.synthetic_data): deterministic on
a given machine and thread count, so every worker gets the same weights without any file passing
between them. Speed does not depend on what the weights learned; accuracy is measured on MNIST
by bench/quantization.py. Only densekit's public API is used.
"""

from __future__ import annotations

import numpy as np

import densekit as dk

from timing import synthetic_data
from workloads import WORKLOADS

TRAIN_ROWS = 6000
CALIBRATION_ROWS = 256


def trained_w1() -> dk.Sequential:
    import fw_densekit
    model = fw_densekit.build(WORKLOADS["I1"])
    x, y = synthetic_data(TRAIN_ROWS, 784)
    model.fit(x, y, epochs=1, batch_size=32, verbose=0, shuffle=True)
    return model


def calibration_rows() -> np.ndarray:
    """Rows to calibrate static int8 scales with (the peers' static variants use the same)."""
    return synthetic_data(CALIBRATION_ROWS + 1, 784)[0][1:]


def pruned_w1(sparsity: float = 0.9) -> dk.Sequential:
    """W1 magnitude-pruned per layer to `sparsity` zero kernel weights."""
    model = trained_w1()
    dk.prune(model, sparsity, scope="layer")
    return model


def weights(model: dk.Sequential) -> list[tuple[np.ndarray, np.ndarray]]:
    """(kernel (in, out), bias (out,)) per Dense, float32."""
    return [(np.asarray(layer.kernel, np.float32).copy(), np.asarray(layer.bias, np.float32).copy())
            for layer in model.layers]
