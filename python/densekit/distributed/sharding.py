"""Which rows of each global batch a rank trains on: pure NumPy arithmetic, no MPI.

A global batch of R rows is split over P ranks as evenly as possible: rank r takes rows
[r·R//P, (r+1)·R//P) of it, so the shares differ by at most one row (when P does not divide R,
the higher ranks take the extra rows) and a share may be empty (R < P). Every rank computes the
whole split, so each knows where its rows sit in the global batch: the core keys dropout and
RReLU masks by that global position and averages the loss over all R rows, which makes the
sharded step the step of one process on the whole batch.

The core reads a run of batches as a plan, one row per batch: (rows here, rows in the global
batch, offset of the first row here). This module must not import mpi4py or anything above the
leaf tier.
"""

import numpy as np

__all__ = ["share_bounds", "run_plan", "global_plan", "LocalStream"]


def share_bounds(rows, size):
    """Bounds (size + 1,) of the ranks' shares of `rows` rows: rank r takes [b[r], b[r+1])."""
    return np.arange(size + 1, dtype=np.int64) * int(rows) // size


def run_plan(count, batch_size, rank, size):
    """The (k, 3) plan of rank `rank` for a run of `count` global rows cut into batches of
    batch_size (the last one may be smaller): rows here, rows in the batch, offset of the first."""
    full, rest = divmod(int(count), int(batch_size))
    rows = np.array([batch_size] * full + ([rest] if rest else []), dtype=np.int64)
    lo = rows * rank // size
    hi = rows * (rank + 1) // size
    return np.ascontiguousarray(np.stack([hi - lo, rows, lo], axis=1))


def global_plan(ids, batch_size, rank, size):
    """This rank's rows of a run of global batches whose rows are `ids` (count,), in order.

    Returns (local_ids, plan): the ids this rank trains on, batch after batch, and its plan."""
    ids = np.asarray(ids, dtype=np.int64)
    plan = run_plan(ids.shape[0], batch_size, rank, size)
    starts = np.arange(plan.shape[0], dtype=np.int64) * batch_size + plan[:, 2]
    picks = [ids[s:s + n] for s, n in zip(starts, plan[:, 0])]
    local = np.concatenate(picks) if picks else np.empty(0, dtype=np.int64)
    return np.ascontiguousarray(local), plan


class LocalStream:
    """Rows of a rank's own shard (MPIStrategy(data="local")), handed out in passes.

    Each pass is a fresh permutation of the shard's `n` rows (or 0..n−1 unshuffled); a request
    takes the next rows and starts a new pass when one runs out. The global batches keep their
    usual sizes and even split, so a rank whose shard is smaller than its share of an epoch
    revisits rows sooner, and a larger one later: an epoch is N = Σ shards global rows."""

    def __init__(self, n, shuffle, seed):
        if n < 1:
            raise ValueError("LocalStream: a shard needs at least one row")
        self._n = int(n)
        self._rng = np.random.default_rng(seed) if shuffle else None
        self._pass = self._next_pass()
        self._at = 0

    def _next_pass(self):
        if self._rng is None:
            return np.arange(self._n, dtype=np.int64)
        return self._rng.permutation(self._n).astype(np.int64)

    def take(self, k):
        """The next k row indices of the shard."""
        out = []
        while k > 0:
            if self._at == self._n:
                self._pass, self._at = self._next_pass(), 0
            step = min(k, self._n - self._at)
            out.append(self._pass[self._at:self._at + step])
            self._at += step
            k -= step
        return np.concatenate(out) if out else np.empty(0, dtype=np.int64)

    def plan(self, count, batch_size, rank, size):
        """(local_ids, plan) for a run of `count` global rows, this rank's share drawn from the
        stream (the batches are cut and split as in global_plan)."""
        plan = run_plan(count, batch_size, rank, size)
        return np.ascontiguousarray(self.take(int(plan[:, 0].sum()))), plan
