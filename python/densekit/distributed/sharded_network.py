"""One rank's view of the network during a data-parallel fit: the loop's global batches in, this
rank's slice of each through the core, sums over every rank out.

The training loop (training.py) runs unchanged on every rank and calls `train` and `evaluate`
as it would on the core's network. `train` cuts the run of global batches into this rank's
slices (sharding.py) and makes one core call with the communicator and the plan: the core then
all-reduces once per step, so the statistics it returns already describe the global batches and
are the same on every rank. `evaluate` runs this rank's share of the rows and sums the
statistics over the ranks. It reads the network through its public methods only.
"""

import numpy as np

from .sharding import LocalStream, global_plan, share_bounds

__all__ = ["ShardedNetwork"]

# The entries of the core's statistics dicts that add up over ranks (evaluate).
_SUMMED = ("loss_sum", "weighted_loss", "correct", "sq_error", "abs_error", "samples", "batches")


class ShardedNetwork:
    """The core network as seen by one rank of `communicator`.

    data="global": every rank holds the same arrays; the loop passes the global batches' row ids
    (or contiguous slices) and this rank trains on its share of each batch.
    data="local": the arrays given at construction are this rank's shard of a dataset of
    `samples` rows in all; its share of each global batch comes from a LocalStream over the
    shard, and the arrays the loop passes only say how many global rows a call covers."""

    def __init__(self, network, communicator, data, samples, local_arrays=None, shuffle=True,
                 seed=None):
        self._net = network
        self._comm = communicator
        self.rank, self.size = communicator.rank, communicator.size
        self.data = data
        self.samples = int(samples)  # rows in an epoch, over all ranks
        self._local = local_arrays
        self._stream = (LocalStream(local_arrays[0].shape[0], shuffle, seed)
                        if data == "local" else None)

    def train(self, X, Y, W, idx, count, batch_size, lrs=None, momenta=None, batch_stats=None):
        if self._stream is None:
            ids = idx if idx is not None else np.arange(count, dtype=np.int64)
            local, plan = global_plan(ids[:count], batch_size, self.rank, self.size)
        else:
            X, Y, W = self._local
            local, plan = self._stream.plan(count, batch_size, self.rank, self.size)
        # One call, GIL released: forward/backward on this rank's rows, one all-reduce per step.
        return self._net.train(X, Y, W, local, local.shape[0], batch_size, lrs, momenta,
                               batch_stats, self._comm, plan)

    def evaluate(self, X, Y, W, batch_size):
        """The core's evaluate statistics of all ranks' rows (global data: this rank evaluates
        its share of X; local data: all of its own X), summed over the ranks."""
        if self.data == "global":
            bounds = share_bounds(X.shape[0], self.size)
            lo, hi = bounds[self.rank], bounds[self.rank + 1]
            X, Y = X[lo:hi], Y[lo:hi]
            W = None if W is None else W[lo:hi]
        stats = self._net.evaluate(X, Y, W, batch_size)
        totals = np.array([float(stats[k]) for k in _SUMMED])
        self._comm.allreduce(totals)
        out = dict(stats)
        out.update(zip(_SUMMED, totals.tolist()))
        out["samples"] = int(out["samples"])
        out["batches"] = int(out["batches"])
        return out
