"""The table of benchmark workloads and their targets (BENCHMARKS.md, "Workloads" and "Targets").

This file is data only: network descriptions, batch sizes, which peers run each workload, and the
checks the report makes. It must not import any framework; the adapters (`fw_*.py`) translate the
layer descriptions below into each framework's objects. Adding a workload = adding a row here (and,
for a new layer kind, a case in each adapter).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# --- layer descriptions (framework-neutral) ---------------------------------------------------


@dataclass(frozen=True)
class Dense:
    units: int
    activation: str | None = None  # "relu", "selu", "softmax", or None (linear)
    init: str = "he_normal"  # kernel initializer name, Keras spelling
    use_bias: bool = True


@dataclass(frozen=True)
class BatchNorm:
    momentum: float = 0.99  # Keras convention (torch: momentum = 1 - this)
    epsilon: float = 1e-3


@dataclass(frozen=True)
class Activation:
    name: str  # "elu", ...


@dataclass(frozen=True)
class AlphaDropout:
    rate: float


@dataclass(frozen=True)
class Optimizer:
    name: str  # "adam", "nadam", "sgd"
    learning_rate: float
    momentum: float = 0.0
    nesterov: bool = False


# --- targets ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One line of the report: ratio = metric(a) / metric(b) (or metric(a) alone when b is None),
    compared with `bound` by `op` ("<=", ">=", or None for an informational ratio)."""

    a: str
    b: str | None
    op: str | None = None
    bound: float | None = None
    metric: str = "value"  # "value" (the workload's unit), "extra_rss_mib", "import_s"
    note: str = ""


# Display names of the frameworks (columns of the report), in column order.
FRAMEWORKS = {
    "densekit": "densekit",
    "densekit_fp32": "densekit float32",
    "torch": "torch eager",
    "torch_fused": "torch fused Adam",
    "torch_int8": "torch dynamic int8",
    "onnxruntime": "ONNX Runtime",
    "onnxruntime_int8": "ONNX Runtime int8 (best)",
    "gemm": "GEMM-only",
}

# The Python module whose import time is measured for each framework.
IMPORTS = {
    "densekit": "densekit",
    "densekit_fp32": "densekit",
    "torch": "torch",
    "torch_fused": "torch",
    "torch_int8": "torch",
    "onnxruntime": "onnxruntime",
    "onnxruntime_int8": "onnxruntime",
    "gemm": "numpy",
}


def _cpu_has_vnni() -> bool:
    """AVX512-VNNI or AVX-VNNI (Q2's target is 3× with VNNI, 1.8× on AVX2 only)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool({"avx512_vnni", "avx_vnni"} & flags)
    except OSError:
        pass
    return False


Q2_BOUND = 3.0 if _cpu_has_vnni() else 1.8

UNITS = {"train": "s/epoch", "latency": "µs", "throughput": "samples/s"}


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    kind: str  # "train" (s/epoch), "latency" (µs per call), "throughput" (samples/s)
    n_in: int
    layers: tuple
    batch: int
    samples: int  # training: samples per epoch; inference: number of timed calls
    optimizer: Optimizer | None = None
    peers: tuple[str, ...] = ("torch",)
    targets: tuple[Target, ...] = ()
    reference: dict = field(default_factory=dict)  # peers measured in BENCHMARKS.md, same unit
    default: bool = True  # run when --workloads is not given
    pending: str = ""  # why densekit cannot run it yet (informational)

    @property
    def unit(self) -> str:
        return UNITS[self.kind]

    @property
    def train_flops_per_sample(self) -> float:
        """FLOPs one training sample costs in the products: forward 2·in·out per Dense, backward
        twice that (dW and dX), minus the first layer's dX (BENCHMARKS.md, "The limit")."""
        return float(sum(2 * i * o * (2 if l == 0 else 3) for l, (i, o) in enumerate(self.dense_shapes)))

    @property
    def dense_shapes(self) -> list[tuple[int, int]]:
        """(in, out) of every Dense layer, in order: what the GEMM-only limit multiplies."""
        shapes, n = [], self.n_in
        for layer in self.layers:
            if isinstance(layer, Dense):
                shapes.append((n, layer.units))
                n = layer.units
        return shapes


ADAM = Optimizer("adam", 1e-3)
NADAM = Optimizer("nadam", 1e-3)
SGD_NESTEROV = Optimizer("sgd", 1e-2, momentum=0.9, nesterov=True)

MLP = (
    Dense(300, "relu"),
    Dense(100, "relu"),
    Dense(10, "softmax", init="glorot_uniform"),
)
DEEP_BN = tuple(
    x for _ in range(20) for x in (Dense(100, None, use_bias=False), BatchNorm(), Activation("elu"))
) + (Dense(10, "softmax", init="glorot_uniform"),)
DEEP_SELU = tuple(Dense(100, "selu", init="lecun_normal") for _ in range(20)) + (
    AlphaDropout(0.1),
    Dense(10, "softmax", init="glorot_uniform"),
)
WIDE = (
    Dense(1024, "relu"),
    Dense(1024, "relu"),
    Dense(10, "softmax", init="glorot_uniform"),
)


def _train_targets(peer_bound: float, gemm_bound: float, extra=(),
                   peak_bound: float | None = None) -> tuple[Target, ...]:
    return (
        Target("torch", "densekit", ">=", peer_bound),
        *extra,
        Target("densekit", "gemm", "<=", gemm_bound),
        Target("torch", "gemm", note="peer off the limit"),
        # densekit's GFLOP/s over the machine's peak (a 4096² product, the best library; peak.py)
        Target("densekit", None, ">=" if peak_bound else None, peak_bound,
               metric="peak_fraction", note="of the machine's peak"),
    )


def _latency_targets() -> tuple[Target, ...]:
    # Latencies: a peer's time over densekit's is densekit's speed-up, as for training.
    return (
        Target("torch", "densekit", ">=", 3.0),
        Target("onnxruntime", "densekit", ">", 1.0),
        Target("densekit", "gemm", note="off the limit"),
    )


WORKLOADS = {
    w.name: w
    for w in [
        Workload(
            "W1", "mlp", "train", 784, MLP, batch=32, samples=60_000, optimizer=ADAM,
            peers=("torch", "torch_fused"),
            targets=_train_targets(5.0, 1.5, extra=(Target("torch_fused", "densekit", ">=", 4.0),))
            + (
                Target("densekit", "torch", "<=", 0.25, metric="extra_rss_mib",
                       note="peak RSS over the data"),
                Target("densekit", None, "<=", 0.3, metric="import_s", note="import time, s"),
            ),
            reference={"torch": 4.7, "torch_fused": 3.7, "gemm": 0.56},
        ),
        Workload(
            "W2", "mlp-b256", "train", 784, MLP, batch=256, samples=60_000, optimizer=ADAM,
            targets=_train_targets(1.4, 1.3, peak_bound=0.70),
            reference={"torch": 1.03, "gemm": 0.44},
        ),
        Workload(
            "W3", "deep-bn", "train", 3072, DEEP_BN, batch=32, samples=50_000, optimizer=NADAM,
            targets=_train_targets(5.0, 2.0),
            reference={"torch": 22.0, "gemm": 1.47},
        ),
        Workload(
            "W4", "deep-selu", "train", 3072, DEEP_SELU, batch=32, samples=50_000, optimizer=NADAM,
            targets=_train_targets(5.0, 2.0),
            reference={"torch": 14.4, "gemm": 1.47},
        ),
        Workload(
            "W5", "wide", "train", 784, WIDE, batch=256, samples=60_000, optimizer=SGD_NESTEROV,
            targets=_train_targets(1.4, 1.15, peak_bound=0.70),
            reference={"torch": 5.7, "gemm": 3.46},
        ),
        Workload(
            "I1", "predict b1 (W1 model)", "latency", 784, MLP, batch=1, samples=2000,
            peers=("torch", "onnxruntime"),
            targets=_latency_targets(),
            reference={"torch": 62.0, "onnxruntime": 42.0, "gemm": 22.0},
        ),
        Workload(
            "I2", "predict b256 (W1 model)", "throughput", 784, MLP, batch=256, samples=300,
            peers=("torch", "onnxruntime"),
            targets=(
                Target("densekit", "onnxruntime", ">", 1.0),
                Target("densekit", "torch", note="speed-up"),
                Target("gemm", "densekit", note="off the limit"),
            ),
            reference={"torch": 185_000.0, "onnxruntime": 248_000.0, "gemm": 303_000.0},
        ),
        Workload(
            "Q1", "predict b1 (W1 model, int8)", "latency", 784, MLP, batch=1, samples=2000,
            peers=("densekit_fp32", "onnxruntime_int8", "torch_int8"),
            targets=(
                Target("densekit", "densekit_fp32", "<=", 0.5, note="int8 vs float32 I1"),
                Target("densekit", "onnxruntime_int8", "<", 1.0),
                Target("torch_int8", "densekit", note="speed-up"),
            ),
        ),
        Workload(
            "Q2", "predict b256 (W1 model, int8)", "throughput", 784, MLP, batch=256, samples=300,
            peers=("densekit_fp32", "onnxruntime_int8", "torch_int8"),
            targets=(
                Target("densekit", "densekit_fp32", ">=", Q2_BOUND,
                       note="int8 vs float32 I2; 3× with VNNI, 1.8× on AVX2 only"),
                Target("densekit", "onnxruntime_int8", ">", 1.0),
                Target("densekit", "torch_int8", note="speed-up"),
            ),
        ),
        Workload(
            "Q3", "predict b1 (W1 model, 90 % pruned)", "latency", 784, MLP, batch=1, samples=2000,
            peers=("densekit_fp32",),
            targets=(Target("densekit", "densekit_fp32", "<=", 0.5, note="pruned vs dense I1"),),
        ),
        Workload(
            "I3", "predict b1 (W3 model, BN folded)", "latency", 3072, DEEP_BN, batch=1,
            samples=2000, peers=("torch", "onnxruntime"),
            targets=_latency_targets(),
            reference={"torch": 834.0, "onnxruntime": 109.0, "gemm": 59.0},
        ),
    ]
}
