"""Type stubs for densekit's compiled core, densekit._core (one module for every CPU: its kernels
are chosen at run time).

Generated with pybind11-stubgen from the bound module, then checked by hand (enum members
written as values); tests/test_core_stubs.py fails when the module and this file disagree on a
name. Classes carry their dtype as a suffix (32: float32, 64: float64), enums end in Kind (or
name an option: FanMode, Distribution) and come from cpp/include/densekit/kinds.hpp.
"""
from __future__ import annotations
import collections.abc
import enum
import numpy
import numpy.typing
import typing
__all__: list[str] = ['AccuracyKind', 'ActivationKind', 'ActivationLayer32', 'ActivationLayer64', 'AlphaDropoutLayer32', 'AlphaDropoutLayer64', 'BatchNormLayer32', 'BatchNormLayer64', 'Communicator', 'ConstraintKind', 'DenseLayer32', 'DenseLayer64', 'Distribution', 'DropoutLayer32', 'DropoutLayer64', 'FanMode', 'Layer32', 'Layer64', 'LossKind', 'MPICommunicator', 'Network32', 'Network64', 'NormalizationLayer32', 'NormalizationLayer64', 'OptimizerConfig', 'OptimizerKind', 'QuantizedDenseLayer32', 'activation_backward', 'activation_forward', 'cpu_model', 'get_num_threads', 'int8_path', 'kernel_isa', 'median_forward_seconds', 'orthogonal', 'quantize_weights', 'set_num_threads', 'static_activation_quant', 'variance_scaling']
class ActivationKind(enum.IntEnum):
    """Activation functions (densekit.activations resolves names to these)."""

    linear = 0
    relu = 1
    leaky_relu = 2
    rrelu = 3
    prelu = 4
    elu = 5
    selu = 6
    tanh = 7
    sigmoid = 8
    softmax = 9
    gelu = 10
    swish = 11
    softplus = 12
    mish = 13
    hard_sigmoid = 14
    softsign = 15
    exponential = 16
    relu6 = 17
    # aliases
    silu = 11  # swish
    logistic = 8  # sigmoid
    identity = 0  # linear
class LossKind(enum.IntEnum):
    """Loss functions (densekit.losses)."""

    sparse_categorical_crossentropy = 0
    categorical_crossentropy = 1
    binary_crossentropy = 2
    mse = 3
    mae = 4
    huber = 5
class AccuracyKind(enum.IntEnum):
    """Which accuracy a loss reports (none for regression losses)."""

    none = 0
    sparse_categorical = 1
    categorical = 2
    binary = 3
class OptimizerKind(enum.IntEnum):
    """Optimizer update rules (densekit.optimizers)."""

    sgd = 0
    adagrad = 1
    rmsprop = 2
    adam = 3
    adamax = 4
    nadam = 5
    adamw = 6
class ConstraintKind(enum.IntEnum):
    """Weight constraints (densekit.constraints)."""

    none = 0
    max_norm = 1
    non_neg = 2
    unit_norm = 3
class FanMode(enum.IntEnum):
    """VarianceScaling's fan: fan_in, fan_out or their mean."""

    fan_in = 0
    fan_out = 1
    fan_avg = 2
class Distribution(enum.IntEnum):
    """VarianceScaling's distribution."""

    truncated_normal = 0
    normal = 1
    uniform = 2
    # aliases
    untruncated_normal = 1  # normal
class OptimizerConfig:
    amsgrad: bool
    centered: bool
    kind: OptimizerKind
    nesterov: bool
    def __init__(self) -> None:
        ...
    @property
    def beta_1(self) -> float:
        ...
    @beta_1.setter
    def beta_1(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def beta_2(self) -> float:
        ...
    @beta_2.setter
    def beta_2(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def clipnorm(self) -> float:
        ...
    @clipnorm.setter
    def clipnorm(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def clipvalue(self) -> float:
        ...
    @clipvalue.setter
    def clipvalue(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def epsilon(self) -> float:
        ...
    @epsilon.setter
    def epsilon(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def epsilon_inside_root(self) -> bool:
        ...
    @epsilon_inside_root.setter
    def epsilon_inside_root(self, arg0: bool) -> None:
        ...
    @property
    def global_clipnorm(self) -> float:
        ...
    @global_clipnorm.setter
    def global_clipnorm(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def initial_accumulator_value(self) -> float:
        ...
    @initial_accumulator_value.setter
    def initial_accumulator_value(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def learning_rate(self) -> float:
        ...
    @learning_rate.setter
    def learning_rate(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def momentum(self) -> float:
        ...
    @momentum.setter
    def momentum(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def momentum_decay(self) -> float:
        ...
    @momentum_decay.setter
    def momentum_decay(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def rho(self) -> float:
        ...
    @rho.setter
    def rho(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def weight_decay(self) -> float:
        ...
    @weight_decay.setter
    def weight_decay(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class Communicator:
    """Sums across the ranks of a data-parallel job (runtime/communicator.hpp)"""
    @property
    def rank(self) -> int:
        ...
    @property
    def size(self) -> int:
        ...
    @typing.overload
    def allreduce(self, array: numpy.typing.NDArray[numpy.float32]) -> None:
        ...
    @typing.overload
    def allreduce(self, array: numpy.typing.NDArray[numpy.float64]) -> None:
        ...
class MPICommunicator(Communicator):
    """The core's Communicator over the MPI library mpi4py loaded (densekit.distributed builds it)"""
    def __init__(self, functions: dict, handle_bytes: typing.SupportsInt | typing.SupportsIndex, rank: typing.SupportsInt | typing.SupportsIndex, size: typing.SupportsInt | typing.SupportsIndex, ordered: bool, timeout: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def abort(self, message: str, code: typing.SupportsInt | typing.SupportsIndex = 1) -> None:
        ...
    def arm(self, what: str) -> None:
        ...
    def disarm(self) -> None:
        ...
class Layer32:
    trainable: bool
    def grad(self, name: str) -> numpy.typing.NDArray[numpy.float32]:
        ...
    def mask(self, name: str) -> numpy.typing.NDArray[numpy.uint8] | None:
        """Pruning mask of parameter `name` (1 kept, 0 pruned), a copy, or None."""
    def set_mask(self, name: str, mask: numpy.typing.NDArray[numpy.uint8] | None) -> None:
        """Sets (or with None removes) the pruning mask the training step enforces."""
    def set_constraint(self, name: str, kind: ConstraintKind, value: typing.SupportsFloat | typing.SupportsIndex, axis: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def set_regularizer(self, name: str, l1: typing.SupportsFloat | typing.SupportsIndex, l2: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def value(self, name: str) -> numpy.typing.NDArray[numpy.float32]:
        ...
    @property
    def input_dim(self) -> int:
        ...
    @property
    def kind(self) -> str:
        ...
    @property
    def output_dim(self) -> int:
        ...
    @property
    def param_names(self) -> list[str]:
        ...
    @property
    def seed(self) -> int:
        ...
    @seed.setter
    def seed(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def state_names(self) -> list[str]:
        ...
class DenseLayer32(Layer32):
    def __init__(self, input_dim: typing.SupportsInt | typing.SupportsIndex, units: typing.SupportsInt | typing.SupportsIndex, use_bias: bool, activation: ActivationKind, alpha: typing.SupportsFloat | typing.SupportsIndex, lower: typing.SupportsFloat | typing.SupportsIndex, upper: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def inference_path(self, rows: typing.SupportsInt | typing.SupportsIndex) -> str:
        """The product an inference forward of `rows` rows runs: sparse-grouped, sparse-batched,
        dense-engine or default."""
    @property
    def sparse_zero_fraction(self) -> float:
        ...
class ActivationLayer32(Layer32):
    def __init__(self, units: typing.SupportsInt | typing.SupportsIndex, activation: ActivationKind, alpha: typing.SupportsFloat | typing.SupportsIndex, lower: typing.SupportsFloat | typing.SupportsIndex, upper: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class BatchNormLayer32(Layer32):
    def __init__(self, units: typing.SupportsInt | typing.SupportsIndex, momentum: typing.SupportsFloat | typing.SupportsIndex, epsilon: typing.SupportsFloat | typing.SupportsIndex, center: bool, scale: bool) -> None:
        ...
class NormalizationLayer32(Layer32):
    def __init__(self, units: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class DropoutLayer32(Layer32):
    def __init__(self, units: typing.SupportsInt | typing.SupportsIndex, rate: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class AlphaDropoutLayer32(Layer32):
    def __init__(self, units: typing.SupportsInt | typing.SupportsIndex, rate: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class Network32:
    auto_threads: bool
    optimizer_config: OptimizerConfig
    def __init__(self, layers: collections.abc.Sequence[Layer32]) -> None:
        ...
    def compile(self, loss: LossKind, from_logits: bool, huber_delta: typing.SupportsFloat | typing.SupportsIndex, accuracy: AccuracyKind, optimizer: OptimizerConfig) -> None:
        ...
    def evaluate(self, X: numpy.typing.NDArray[numpy.float32], Y: numpy.typing.NDArray[numpy.float32], sample_weight: numpy.typing.NDArray[numpy.float32] | None, batch_size: typing.SupportsInt | typing.SupportsIndex) -> dict:
        ...
    def gradients(self, X: numpy.typing.NDArray[numpy.float32], Y: numpy.typing.NDArray[numpy.float32], sample_weight: numpy.typing.NDArray[numpy.float32] | None = None) -> float:
        ...
    def optimizer_slots(self) -> numpy.typing.NDArray[numpy.float32]:
        ...
    def penalty(self) -> float:
        ...
    def predict(self, X: numpy.typing.NDArray[numpy.float32], out: numpy.typing.NDArray[numpy.float32], batch_size: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def predict_mc(self, X: numpy.typing.NDArray[numpy.float32], samples: typing.SupportsInt | typing.SupportsIndex, mean: numpy.typing.NDArray[numpy.float32], stddev: numpy.typing.NDArray[numpy.float32], batch_size: typing.SupportsInt | typing.SupportsIndex, key: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def set_learning_rate(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def set_momentum(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def train(self, X: numpy.typing.NDArray[numpy.float32], Y: numpy.typing.NDArray[numpy.float32], sample_weight: numpy.typing.NDArray[numpy.float32] | None, indices: numpy.typing.NDArray[numpy.int64] | None, count: typing.SupportsInt | typing.SupportsIndex, batch_size: typing.SupportsInt | typing.SupportsIndex, learning_rates: numpy.typing.NDArray[numpy.float64] | None = None, momenta: numpy.typing.NDArray[numpy.float64] | None = None, batch_stats: numpy.typing.NDArray[numpy.float64] | None = None, communicator: Communicator | None = None, plan: numpy.typing.NDArray[numpy.int64] | None = None) -> dict:
        ...
    @property
    def input_dim(self) -> int:
        ...
    @property
    def optimizer_iterations(self) -> int:
        ...
    @optimizer_iterations.setter
    def optimizer_iterations(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def optimizer_mu_product(self) -> float:
        ...
    @optimizer_mu_product.setter
    def optimizer_mu_product(self, arg1: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def optimizer_slot_names(self) -> list[str]:
        """Names of the optimizer's slots, in the row order of optimizer_slots()."""
    @property
    def optimizer_offsets(self) -> list[int]:
        ...
    @property
    def output_dim(self) -> int:
        ...
    @property
    def preferred_threads(self) -> int:
        ...
    @property
    def step(self) -> int:
        ...
    @step.setter
    def step(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def thread_costs(self) -> tuple[float, float]:
        ...
class Layer64:
    trainable: bool
    def grad(self, name: str) -> numpy.typing.NDArray[numpy.float64]:
        ...
    def mask(self, name: str) -> numpy.typing.NDArray[numpy.uint8] | None:
        """Pruning mask of parameter `name` (1 kept, 0 pruned), a copy, or None."""
    def set_mask(self, name: str, mask: numpy.typing.NDArray[numpy.uint8] | None) -> None:
        """Sets (or with None removes) the pruning mask the training step enforces."""
    def set_constraint(self, name: str, kind: ConstraintKind, value: typing.SupportsFloat | typing.SupportsIndex, axis: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def set_regularizer(self, name: str, l1: typing.SupportsFloat | typing.SupportsIndex, l2: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def value(self, name: str) -> numpy.typing.NDArray[numpy.float64]:
        ...
    @property
    def input_dim(self) -> int:
        ...
    @property
    def kind(self) -> str:
        ...
    @property
    def output_dim(self) -> int:
        ...
    @property
    def param_names(self) -> list[str]:
        ...
    @property
    def seed(self) -> int:
        ...
    @seed.setter
    def seed(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def state_names(self) -> list[str]:
        ...
class DenseLayer64(Layer64):
    def __init__(self, input_dim: typing.SupportsInt | typing.SupportsIndex, units: typing.SupportsInt | typing.SupportsIndex, use_bias: bool, activation: ActivationKind, alpha: typing.SupportsFloat | typing.SupportsIndex, lower: typing.SupportsFloat | typing.SupportsIndex, upper: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def inference_path(self, rows: typing.SupportsInt | typing.SupportsIndex) -> str:
        """The product an inference forward of `rows` rows runs: sparse-grouped, sparse-batched,
        dense-engine or default."""
    @property
    def sparse_zero_fraction(self) -> float:
        ...
class ActivationLayer64(Layer64):
    def __init__(self, units: typing.SupportsInt | typing.SupportsIndex, activation: ActivationKind, alpha: typing.SupportsFloat | typing.SupportsIndex, lower: typing.SupportsFloat | typing.SupportsIndex, upper: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class BatchNormLayer64(Layer64):
    def __init__(self, units: typing.SupportsInt | typing.SupportsIndex, momentum: typing.SupportsFloat | typing.SupportsIndex, epsilon: typing.SupportsFloat | typing.SupportsIndex, center: bool, scale: bool) -> None:
        ...
class NormalizationLayer64(Layer64):
    def __init__(self, units: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class DropoutLayer64(Layer64):
    def __init__(self, units: typing.SupportsInt | typing.SupportsIndex, rate: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class AlphaDropoutLayer64(Layer64):
    def __init__(self, units: typing.SupportsInt | typing.SupportsIndex, rate: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class Network64:
    auto_threads: bool
    optimizer_config: OptimizerConfig
    def __init__(self, layers: collections.abc.Sequence[Layer64]) -> None:
        ...
    def compile(self, loss: LossKind, from_logits: bool, huber_delta: typing.SupportsFloat | typing.SupportsIndex, accuracy: AccuracyKind, optimizer: OptimizerConfig) -> None:
        ...
    def evaluate(self, X: numpy.typing.NDArray[numpy.float64], Y: numpy.typing.NDArray[numpy.float64], sample_weight: numpy.typing.NDArray[numpy.float64] | None, batch_size: typing.SupportsInt | typing.SupportsIndex) -> dict:
        ...
    def gradients(self, X: numpy.typing.NDArray[numpy.float64], Y: numpy.typing.NDArray[numpy.float64], sample_weight: numpy.typing.NDArray[numpy.float64] | None = None) -> float:
        ...
    def optimizer_slots(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
    def penalty(self) -> float:
        ...
    def predict(self, X: numpy.typing.NDArray[numpy.float64], out: numpy.typing.NDArray[numpy.float64], batch_size: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def predict_mc(self, X: numpy.typing.NDArray[numpy.float64], samples: typing.SupportsInt | typing.SupportsIndex, mean: numpy.typing.NDArray[numpy.float64], stddev: numpy.typing.NDArray[numpy.float64], batch_size: typing.SupportsInt | typing.SupportsIndex, key: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def set_learning_rate(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def set_momentum(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    def train(self, X: numpy.typing.NDArray[numpy.float64], Y: numpy.typing.NDArray[numpy.float64], sample_weight: numpy.typing.NDArray[numpy.float64] | None, indices: numpy.typing.NDArray[numpy.int64] | None, count: typing.SupportsInt | typing.SupportsIndex, batch_size: typing.SupportsInt | typing.SupportsIndex, learning_rates: numpy.typing.NDArray[numpy.float64] | None = None, momenta: numpy.typing.NDArray[numpy.float64] | None = None, batch_stats: numpy.typing.NDArray[numpy.float64] | None = None, communicator: Communicator | None = None, plan: numpy.typing.NDArray[numpy.int64] | None = None) -> dict:
        ...
    @property
    def input_dim(self) -> int:
        ...
    @property
    def optimizer_iterations(self) -> int:
        ...
    @optimizer_iterations.setter
    def optimizer_iterations(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def optimizer_mu_product(self) -> float:
        ...
    @optimizer_mu_product.setter
    def optimizer_mu_product(self, arg1: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def optimizer_slot_names(self) -> list[str]:
        """Names of the optimizer's slots, in the row order of optimizer_slots()."""
    @property
    def optimizer_offsets(self) -> list[int]:
        ...
    @property
    def output_dim(self) -> int:
        ...
    @property
    def preferred_threads(self) -> int:
        ...
    @property
    def step(self) -> int:
        ...
    @step.setter
    def step(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def thread_costs(self) -> tuple[float, float]:
        ...
@typing.overload
def activation_backward(kind: ActivationKind, alpha: typing.SupportsFloat | typing.SupportsIndex, lower: typing.SupportsFloat | typing.SupportsIndex, upper: typing.SupportsFloat | typing.SupportsIndex, z: numpy.typing.NDArray[numpy.float32], a: numpy.typing.NDArray[numpy.float32], g: numpy.typing.NDArray[numpy.float32], key: typing.SupportsInt | typing.SupportsIndex, prelu_alpha: numpy.typing.NDArray[numpy.float32] | None = None) -> tuple[numpy.typing.NDArray[numpy.float32], numpy.typing.NDArray[numpy.float32]]:
    ...
@typing.overload
def activation_backward(kind: ActivationKind, alpha: typing.SupportsFloat | typing.SupportsIndex, lower: typing.SupportsFloat | typing.SupportsIndex, upper: typing.SupportsFloat | typing.SupportsIndex, z: numpy.typing.NDArray[numpy.float64], a: numpy.typing.NDArray[numpy.float64], g: numpy.typing.NDArray[numpy.float64], key: typing.SupportsInt | typing.SupportsIndex, prelu_alpha: numpy.typing.NDArray[numpy.float64] | None = None) -> tuple[numpy.typing.NDArray[numpy.float64], numpy.typing.NDArray[numpy.float64]]:
    ...
@typing.overload
def activation_forward(kind: ActivationKind, alpha: typing.SupportsFloat | typing.SupportsIndex, lower: typing.SupportsFloat | typing.SupportsIndex, upper: typing.SupportsFloat | typing.SupportsIndex, z: numpy.typing.NDArray[numpy.float32], training: bool, key: typing.SupportsInt | typing.SupportsIndex, prelu_alpha: numpy.typing.NDArray[numpy.float32] | None = None) -> numpy.typing.NDArray[numpy.float32]:
    ...
@typing.overload
def activation_forward(kind: ActivationKind, alpha: typing.SupportsFloat | typing.SupportsIndex, lower: typing.SupportsFloat | typing.SupportsIndex, upper: typing.SupportsFloat | typing.SupportsIndex, z: numpy.typing.NDArray[numpy.float64], training: bool, key: typing.SupportsInt | typing.SupportsIndex, prelu_alpha: numpy.typing.NDArray[numpy.float64] | None = None) -> numpy.typing.NDArray[numpy.float64]:
    ...
class QuantizedDenseLayer32(Layer32):
    """An inference-only Dense layer with int8, float16 or float32 (engine-packed) weights."""
    def __init__(self, input_dim: typing.SupportsInt | typing.SupportsIndex, units: typing.SupportsInt | typing.SupportsIndex, use_bias: bool, activation: ActivationKind, alpha: typing.SupportsFloat | typing.SupportsIndex, lower: typing.SupportsFloat | typing.SupportsIndex, upper: typing.SupportsFloat | typing.SupportsIndex, precision: str, weight_bits: typing.SupportsInt | typing.SupportsIndex = 7, activation_bits: typing.SupportsInt | typing.SupportsIndex = 8, dynamic: bool = True, scale: typing.SupportsFloat | typing.SupportsIndex = 0.0, inv_scale: typing.SupportsFloat | typing.SupportsIndex = 0.0, zero_point: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
        ...
    def kernel(self) -> numpy.typing.NDArray[typing.Any]:
        """A copy of the stored kernel: int8, uint16 (float16 bits) or float32, (in, units)."""
    def set_float16(self, kernel_bits: numpy.typing.NDArray[numpy.uint16], bias: numpy.typing.NDArray[numpy.float32] | None = None, alpha: numpy.typing.NDArray[numpy.float32] | None = None) -> None:
        ...
    def set_float32(self, kernel: numpy.typing.NDArray[numpy.float32], bias: numpy.typing.NDArray[numpy.float32] | None = None, alpha: numpy.typing.NDArray[numpy.float32] | None = None) -> None:
        ...
    def set_int8(self, kernel: numpy.typing.NDArray[numpy.int8], kernel_scale: numpy.typing.NDArray[numpy.float32], bias: numpy.typing.NDArray[numpy.float32] | None = None, alpha: numpy.typing.NDArray[numpy.float32] | None = None) -> None:
        ...
    def vector(self, name: str) -> numpy.typing.NDArray[numpy.float32] | None:
        """A (1, units) copy of kernel_scale, bias or alpha (None when the layer has none)."""
    @property
    def activation_bits(self) -> int:
        ...
    @property
    def activation_inv_scale(self) -> float:
        ...
    @property
    def activation_scale(self) -> float:
        ...
    @property
    def activation_zero_point(self) -> int:
        ...
    @property
    def dynamic(self) -> bool:
        ...
    @property
    def packed_bytes(self) -> int:
        ...
    @property
    def precision(self) -> str:
        ...
    @property
    def ready(self) -> bool:
        ...
    @property
    def weight_bits(self) -> int:
        ...
def int8_path() -> str:
    """The int8 kernel path this process runs (portable, avx2, avxvnni, avx512vnni)."""
def median_forward_seconds(layer: Layer32, x: numpy.typing.NDArray[numpy.float32], repeats: typing.SupportsInt | typing.SupportsIndex) -> float:
    """Median wall time of one inference call (the prediction path) of a float32 layer on x."""
def quantize_weights(kernel: numpy.typing.NDArray[numpy.float32], weight_bits: typing.SupportsInt | typing.SupportsIndex) -> tuple:
    """The int8 scheme's weights: (wq int8 (in, out), per-column scales float32 (out,))."""
def static_activation_quant(lo: typing.SupportsFloat | typing.SupportsIndex, hi: typing.SupportsFloat | typing.SupportsIndex, activation_bits: typing.SupportsInt | typing.SupportsIndex) -> tuple:
    """(scale, inv_scale, zero_point) of a layer input calibrated to the range [lo, hi]."""
def cpu_model() -> str:
    """
    The CPU's model name as the operating system reports it ('' where unknown).
    """
def get_num_threads() -> int:
    ...
def kernel_isa() -> str:
    """
    The instruction-set path the kernels run (portable, avx2, avx512): the best this CPU supports, or DENSEKIT_ISA's when it does.
    """
@typing.overload
def orthogonal(w: numpy.typing.NDArray[numpy.float32], gain: typing.SupportsFloat | typing.SupportsIndex, seed: typing.SupportsInt | typing.SupportsIndex) -> None:
    ...
@typing.overload
def orthogonal(w: numpy.typing.NDArray[numpy.float64], gain: typing.SupportsFloat | typing.SupportsIndex, seed: typing.SupportsInt | typing.SupportsIndex) -> None:
    ...
def set_num_threads(n: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Threads used by densekit's kernels (default: OMP_NUM_THREADS or the core count).
    """
@typing.overload
def variance_scaling(w: numpy.typing.NDArray[numpy.float32], scale: typing.SupportsFloat | typing.SupportsIndex, mode: FanMode, distribution: Distribution, seed: typing.SupportsInt | typing.SupportsIndex) -> None:
    ...
@typing.overload
def variance_scaling(w: numpy.typing.NDArray[numpy.float64], scale: typing.SupportsFloat | typing.SupportsIndex, mode: FanMode, distribution: Distribution, seed: typing.SupportsInt | typing.SupportsIndex) -> None:
    ...
