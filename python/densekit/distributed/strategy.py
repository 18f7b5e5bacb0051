"""MPIStrategy: data-parallel synchronous training, `model.fit(..., strategy=MPIStrategy())`.

Every rank runs the same script. The strategy is what the training loop consults (training.py
calls `begin_fit` / `begin_evaluate`; Sequential wraps the call in `run`):
- before the first step, the ranks agree: each sends what shapes the collective work ahead (the
  model's layout, dtype, batch size, epochs, its row counts, a fingerprint of its data) and any
  error it met while checking its arguments, so a mismatch or an error on one rank raises a
  clear exception on every rank instead of hanging; then rank 0's state (weights, optimizer
  state, step counter, shuffling RNG) is broadcast through the get_state/set_state contract;
- each step, this rank trains on its slice of the global batch (sharded_network.py) and the core
  all-reduces the gradients once, with the GIL released;
- rank 0 alone prints and writes files: the other ranks run with verbose=0, their standard
  output silenced, and without ModelCheckpoint, CSVLogger or any callback marked `root_only`;
  every rank sees the same logs, so EarlyStopping, ReduceLROnPlateau and schedules act alike;
- after fit, the ranks compare digests of their weights: replicas that drifted apart raise.
Faults: an exception on one rank once training has started aborts every rank (MPI_Abort) with
the rank and the error; a rank that waits longer than `timeout` in any collective (another rank
died, hung or left early) aborts the job too (the core's watchdog); launchers also end a job
when a rank is killed.
"""

import contextlib
import hashlib
import os
import sys
import traceback
import warnings

import numpy as np

from .. import _native
from ..callbacks import CSVLogger, ModelCheckpoint
from . import mpi_runtime
from .sharded_network import ShardedNetwork

__all__ = ["MPIStrategy", "DistributedError"]

_DATA_MODES = ("global", "local")
_REDUCTIONS = ("ordered", "mpi")
_ROOT_ONLY = (ModelCheckpoint, CSVLogger)  # callbacks that write files


class DistributedError(RuntimeError):
    """Another rank failed, or the ranks disagree about what to run."""


class MPIStrategy:
    """Data-parallel training over MPI (mpi4py with Open MPI, MPICH or a cluster's MPI).

    `model.fit(x, y, batch_size=B, ..., strategy=MPIStrategy())`, run by every rank of
    `mpiexec -n P python script.py`: B is the global batch, split over the ranks as evenly as
    possible (rank r takes rows [r·R//P, (r+1)·R//P) of a batch of R rows; when P does not divide
    B the shares differ by one row, the gradient is still the mean over all B rows, and the ranks
    with the smaller share wait for the others). In float64 the weights follow the trajectory of
    one process training with batch size B (dropout and RReLU masks are keyed by the row's
    position in the global batch; BatchNormalization uses the global batch's statistics).

    comm: the mpi4py communicator (default MPI.COMM_WORLD).
    data: "global" (default) — every rank is handed the same arrays and trains on its slice of
        each global batch; "local" — the arrays each rank is handed are its own shard (shards
        may differ in size); the epoch is then Σ shards global rows, each rank cycling through
        its shard (reshuffled every pass) for its share of each global batch.
        Validation data follows the same rule and is evaluated over all ranks.
    timeout: seconds a rank may wait in a collective before it aborts the job (0: never).
    threads: "auto" (default) caps this process's threads at its share of the cores (the
        CPUs it may run on, shared with the ranks on the same node that may run there too);
        an int sets them; None leaves them alone.
    reduction: "ordered" (default) sums every gradient in rank order 0, 1, ..., P−1 whatever the
        MPI library's algorithm, so runs repeat bit for bit and every rank holds the same
        weights; "mpi" calls MPI_Allreduce (the library's own order; see bench/DISTRIBUTED.md).

    Callbacks: rank 0 alone runs ModelCheckpoint, CSVLogger and any callback with a true
    `root_only` attribute; the others run everywhere, on the same logs. After fit, write files
    where `strategy.is_root`."""

    def __init__(self, comm=None, data="global", timeout=300.0, threads="auto",
                 reduction="ordered"):
        if data not in _DATA_MODES:
            raise ValueError(f"MPIStrategy: data must be one of {_DATA_MODES}, got {data!r}")
        if reduction not in _REDUCTIONS:
            raise ValueError(f"MPIStrategy: reduction must be one of {_REDUCTIONS}, "
                             f"got {reduction!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or \
                not timeout >= 0 or timeout == float("inf"):
            raise ValueError(f"MPIStrategy: timeout must be a finite number of seconds >= 0, "
                             f"got {timeout!r}")
        if not (threads is None or threads == "auto"
                or (isinstance(threads, int) and not isinstance(threads, bool) and threads >= 1)):
            raise ValueError(f"MPIStrategy: threads must be 'auto', an int >= 1 or None, "
                             f"got {threads!r}")
        MPI = mpi_runtime.mpi4py_MPI()
        self.comm = MPI.COMM_WORLD if comm is None else comm  # the mpi4py communicator
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.data, self.timeout, self.reduction = data, float(timeout), reduction
        self._native = mpi_runtime.native_communicator(MPI, self.comm, reduction == "ordered",
                                                       self.timeout)
        if threads == "auto":
            share = mpi_runtime.cores_per_rank(MPI, self.comm)
            _native.set_num_threads(max(1, min(_native.get_num_threads(), share)))
        elif threads is not None:
            _native.set_num_threads(threads)
        self.threads = _native.get_num_threads()
        self._agreed, self._refused = True, False  # outside run(): nobody waits for an agreement

    @property
    def is_root(self):
        return self.rank == 0

    def allreduce(self, array):
        """Sums a C-contiguous float32 or float64 NumPy array over the ranks, in place, as a
        training step sums its gradients (same reduction, same watchdog); returns it."""
        if not (isinstance(array, np.ndarray) and array.dtype in (np.float32, np.float64)
                and array.flags.c_contiguous and array.flags.writeable):
            raise TypeError("MPIStrategy.allreduce: expected a writeable C-contiguous float32 or "
                            f"float64 ndarray, got {type(array).__name__} "
                            f"{getattr(array, 'dtype', '')}")
        self._native.allreduce(array)
        return array

    def __repr__(self):
        return (f"MPIStrategy(rank={self.rank}, size={self.size}, data={self.data!r}, "
                f"reduction={self.reduction!r}, threads={self.threads})")

    # -- what Sequential.fit / evaluate wrap around the loop ----------------------------------
    def run(self, where, model, call):
        """Runs call() — the training or evaluation loop — as this rank's part of the job.

        Non-root ranks print nothing. An exception before the ranks agreed (argument checks) is
        sent to the others, which raise DistributedError, and re-raised here; one after it
        aborts every rank, since the others are waiting in a collective."""
        self._agreed = self._refused = False
        try:
            with contextlib.ExitStack() as stack:
                if not self.is_root:
                    stack.enter_context(contextlib.redirect_stdout(
                        stack.enter_context(open(os.devnull, "w"))))
                    stack.enter_context(warnings.catch_warnings())
                    warnings.simplefilter("ignore")
                result = call()
        except BaseException as exc:
            if self.size == 1 or self._refused:  # every rank raises the same refusal
                raise
            if not self._agreed:
                self._agree(where, error=exc)  # raises DistributedError on the other ranks
                raise
            self._abort(where, exc)
        if where == "fit":
            self._check_replicas(model)
        return result

    def begin_fit(self, model, network, rng, arrays, batch_size, verbose, callbacks, settings):
        """Called by the training loop once its arguments are checked and converted: agrees with
        the other ranks, broadcasts rank 0's state, and returns this rank's network view, its
        verbosity and its callbacks."""
        X, Y, W = arrays
        shards = self._agree("fit", model=model, arrays=arrays, batch_size=batch_size,
                             settings=settings)
        state = model.get_state() if self.is_root else None
        state = self._collective("broadcasting the model state from rank 0",
                                 self.comm.bcast, state, 0)
        if not self.is_root:
            model.set_state(state)
        seed = None
        if self.data == "local":  # drawn on every rank alike: the RNG states stay equal
            seed = [int(rng.integers(1 << 63)), self.rank]
        net = ShardedNetwork(network, self._native, self.data,
                             sum(shards) if self.data == "local" else X.shape[0],
                             arrays if self.data == "local" else None,
                             settings.get("shuffle", True), seed)
        if not self.is_root:
            verbose = 0
            callbacks = [c for c in callbacks
                         if not (isinstance(c, _ROOT_ONLY) or getattr(c, "root_only", False))]
        return net, verbose, callbacks

    def begin_evaluate(self, model, network, arrays):
        """The network view evaluate() uses: each rank evaluates its share, the sums add up."""
        self._agree("evaluate", model=model, arrays=arrays)
        return ShardedNetwork(network, self._native, self.data, arrays[0].shape[0])

    # -- collectives ------------------------------------------------------------------------
    def _collective(self, what, fn, *args):
        """fn(*args), an mpi4py collective, under the core's watchdog."""
        self._native.arm(what)
        try:
            return fn(*args)
        finally:
            self._native.disarm()

    def _agree(self, where, model=None, arrays=None, batch_size=None, settings=None, error=None):
        """The ranks' first collective of a fit or evaluate: every rank sends what must match
        (or the error it met); raises on every rank when anything differs or failed. Returns
        the ranks' row counts."""
        if error is not None:
            mine = {"error": f"{type(error).__name__}: {error}"}
        else:
            mine = {"layout": _layout(model), "rows": int(arrays[0].shape[0]),
                    "batch_size": batch_size, "settings": settings,
                    "fingerprint": _fingerprint(arrays) if self.data == "global" else None}
        everyone = self._collective(f"the ranks' agreement before {where}",
                                    self.comm.allgather, mine)
        self._agreed = True
        # From here every rank judges the same list, so a refusal is raised by all of them.
        self._refused = True
        failed = [(r, e["error"]) for r, e in enumerate(everyone) if "error" in e]
        if failed:
            if error is not None:
                return None  # this rank re-raises its own error
            r, message = failed[0]
            raise DistributedError(f"{where}: rank {r} of {self.size} failed before training "
                                   f"started: {message}")
        first = everyone[0]
        for key, what in (("layout", "model (layers, shapes, trainable flags, dtype, optimizer, "
                                     "loss)"),
                          ("batch_size", "batch_size"), ("settings", "fit arguments"),
                          ("fingerprint", "data (data='global' needs the same arrays on every "
                                          "rank; use MPIStrategy(data='local') for shards)")):
            for r, other in enumerate(everyone[1:], start=1):
                if other[key] != first[key]:
                    raise DistributedError(f"{where}: rank {r}'s {what} differs from rank 0's: "
                                           f"{other[key]!r} != {first[key]!r}")
        rows = [e["rows"] for e in everyone]
        if self.data == "local" and min(rows) < 1:
            raise DistributedError(f"{where}: with data='local' every rank needs at least one "
                                   f"row; the ranks hold {rows}")
        self._refused = False
        return rows

    def _check_replicas(self, model):
        """Raises when the ranks' weights differ after fit (they must stay bit-identical)."""
        digest = hashlib.sha256()
        for key, value in sorted(model.get_state(include_optimizer=False)["variables"].items()):
            digest.update(key.encode())
            digest.update(np.ascontiguousarray(value).tobytes())
        digests = self._collective("comparing the ranks' weights after fit",
                                   self.comm.allgather, digest.hexdigest())
        differ = [r for r, d in enumerate(digests) if d != digests[0]]
        if differ:
            raise DistributedError(f"fit: the weights of ranks {differ} differ from rank 0's "
                                   f"after training (the MPI library returned different sums "
                                   f"on different ranks?); MPIStrategy(reduction='ordered') "
                                   f"rules that out")

    def _abort(self, where, exc):
        """Ends every rank after an exception in the middle of a collective run."""
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        sys.stderr.write(f"densekit.distributed: rank {self.rank} of {self.size} failed during "
                         f"{where}:\n{text}")
        sys.stderr.flush()
        self._native.abort(f"densekit.distributed: rank {self.rank} of {self.size} raised "
                           f"{type(exc).__name__}: {exc} during {where}; aborting every rank.", 1)


def _layout(model):
    """What every rank's model must share for the collectives to line up."""
    layers = [(type(layer).__name__, bool(layer.trainable),
               [(name, tuple(layer.variable(name).shape)) for name in layer.parameter_names])
              for layer in model.layers]
    return (str(np.dtype(model.dtype)), layers, type(model.optimizer).__name__,
            getattr(model.loss, "name", str(model.loss)))


def _fingerprint(arrays, rows=64):
    """A digest of up to `rows` evenly spaced rows of each array (data='global' must be handed
    the same data on every rank)."""
    digest = hashlib.sha256()
    for a in arrays:
        if a is None:
            digest.update(b"none")
            continue
        pick = np.linspace(0, a.shape[0] - 1, num=min(rows, a.shape[0])).astype(np.int64)
        digest.update(str(a.shape).encode())
        digest.update(np.ascontiguousarray(a[pick]).tobytes())
    return digest.hexdigest()
