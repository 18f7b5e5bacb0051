"""Data-parallel training over MPI (SPEC §3 "Scale-out"; densekit/distributed).

The sharding arithmetic is tested in this process. Everything else runs the worker
(tests/support/mpi_worker.py) under `mpiexec -n P` and compares with one process training with
the global batch, the oracle SPEC names: in float64 the weights after the epochs agree to 1e-10
relative (dropout and RReLU masks keyed by global rows, BatchNormalization on global statistics,
penalties and global clipping included); float32 runs repeat bit for bit; faults end the job
with an error, never a hang. Default runs use 2 ranks and small data (a few seconds); -n 1 and
-n 4 (oversubscribed) and the hang test are marked slow. Skipped without mpi4py or mpiexec.
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import densekit as dk
from densekit.distributed.sharding import LocalStream, global_plan, run_plan, share_bounds

SUPPORT = Path(__file__).parent / "support"
sys.path.insert(0, str(SUPPORT))
import mpi_worker  # noqa: E402  (the worker's model and data builders)

TOLERANCE = 1e-10


# -- the sharding arithmetic (no MPI) --------------------------------------------------------
@pytest.mark.parametrize("rows,size", [(30, 4), (3, 4), (0, 2), (32, 2), (7, 1)])
def test_shares_are_even_and_cover_the_batch(rows, size):
    b = share_bounds(rows, size)
    assert b[0] == 0 and b[-1] == rows
    sizes = np.diff(b)
    assert sizes.min() >= 0 and sizes.max() - sizes.min() <= (1 if rows else 0)


@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_global_plans_cover_every_row_once_in_batch_order(size):
    ids = np.random.default_rng(0).permutation(95)
    parts = [global_plan(ids, 30, r, size) for r in range(size)]
    for local, plan in parts:
        assert plan.shape == (4, 3) and plan[:, 0].sum() == local.shape[0]
        np.testing.assert_array_equal(plan[:, 1], [30, 30, 30, 5])
    # Batch by batch, rank after rank, the slices rebuild the global order.
    rebuilt, cursors = [], [0] * size
    for b in range(4):
        for r, (local, plan) in enumerate(parts):
            rows, _, offset = plan[b]
            assert offset == plan[b, 1] * r // size
            rebuilt.extend(local[cursors[r]:cursors[r] + rows])
            cursors[r] += rows
    np.testing.assert_array_equal(rebuilt, ids)


def test_local_stream_cycles_through_fresh_passes():
    s = LocalStream(5, shuffle=True, seed=[1, 0])
    first, second = s.take(5), s.take(5)
    assert sorted(first) == sorted(second) == list(range(5))
    assert not np.array_equal(first, second)  # reshuffled each pass (5! orders)
    np.testing.assert_array_equal(LocalStream(4, False, None).take(10), [0, 1, 2, 3] * 2 + [0, 1])
    local, plan = LocalStream(3, False, None).plan(7, 4, 1, 2)
    np.testing.assert_array_equal(plan, run_plan(7, 4, 1, 2))
    np.testing.assert_array_equal(local, [0, 1, 2, 0])


def test_importing_densekit_does_not_import_mpi4py():
    code = "import sys, densekit; print('mpi4py' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- under mpiexec -------------------------------------------------------------------------
def _mpiexec():
    pytest.importorskip("mpi4py")
    here = Path(sys.executable).parent / "mpiexec"
    exe = str(here) if here.exists() else shutil.which("mpiexec")
    if exe is None:
        pytest.skip("no mpiexec (pip install 'densekit[mpi]')")
    version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
    # Open MPI refuses root and more ranks than cores unless told; MPICH's Hydra needs neither.
    extra = ["--oversubscribe"] if "Open MPI" in version or "OpenRTE" in version else []
    return [exe] + extra


def run_mpi(ranks, *args, timeout=120):
    """Runs the worker on `ranks` ranks; returns (returncode, combined output, seconds)."""
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", PYTHONUNBUFFERED="1")
    cmd = _mpiexec() + ["-n", str(ranks), sys.executable, str(SUPPORT / "mpi_worker.py")]
    start = time.perf_counter()
    proc = subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True,
                          env=env, timeout=timeout)
    return proc.returncode, proc.stdout + proc.stderr, time.perf_counter() - start


def relative_difference(got, want):
    """Largest |got − want| over largest |want|, per tensor, over all tensors."""
    return max(float(np.max(np.abs(np.asarray(a, np.float64) - b)) / max(np.max(np.abs(b)), 1e-300))
               for a, b in zip(got, want))


def one_process(X, y, order=None, **fit):
    m = mpi_worker.model()
    if order is not None:
        X, y = X[order], y[order]
    h = m.fit(X, y, batch_size=mpi_worker.BATCH, verbose=0, **fit)
    return m, h


@pytest.fixture(scope="module", params=[2, pytest.param(1, marks=pytest.mark.slow),
                                        pytest.param(4, marks=pytest.mark.slow)])
def main_run(request, tmp_path_factory):
    ranks = request.param
    out = tmp_path_factory.mktemp(f"mpi{ranks}")
    code, log, seconds = run_mpi(ranks, "main", out)
    assert code == 0, log
    results = [dict(np.load(out / f"rank{r}.npz", allow_pickle=True)) for r in range(ranks)]
    return ranks, out, results, log, seconds


def test_weights_follow_one_process_with_the_global_batch(main_run):
    ranks, _, results, _, _ = main_run
    X, y, Xv, yv = mpi_worker.data()
    ref, h = one_process(X, y, epochs=mpi_worker.EPOCHS, validation_data=(Xv, yv))
    got = list(results[0]["weights"])
    diff = relative_difference(got, ref.get_weights())
    print(f"{ranks} ranks: max relative difference {diff:.2e}")
    assert diff <= TOLERANCE
    for r in range(1, ranks):  # every replica holds the same bits
        for a, b in zip(results[r]["weights"], got):
            np.testing.assert_array_equal(a, b)
    keys = list(results[0]["history_keys"])
    assert keys == sorted(h.history)
    np.testing.assert_allclose(results[0]["history"], [h.history[k] for k in keys], rtol=1e-10)
    ev = ref.evaluate(Xv, yv, return_dict=True)
    np.testing.assert_allclose(results[0]["evaluate"], [ev["loss"], ev["accuracy"]], rtol=1e-10)
    for r in range(1, ranks):  # identical logs on every rank
        np.testing.assert_array_equal(results[r]["history"], results[0]["history"])


def test_local_shards_follow_one_process_in_the_documented_order(main_run):
    ranks, _, results, _, _ = main_run
    X, y, _, _ = mpi_worker.data()
    order = mpi_worker.local_order(mpi_worker.LOCAL_ROWS, ranks)
    ref, _ = one_process(X, y, order=order, epochs=1, shuffle=False)
    assert relative_difference(list(results[0]["local_weights"]), ref.get_weights()) <= TOLERANCE


def test_rank_0_alone_prints_and_writes_files_and_all_stop_together(main_run):
    ranks, out, results, log, _ = main_run
    assert log.count("Epoch 1/2") == 1  # the verbose=2 fit printed once
    assert (out / "ckpt_rank0.dk").exists() and (out / "log_rank0.csv").exists()
    for r in range(1, ranks):
        assert not (out / f"ckpt_rank{r}.dk").exists()
        assert not (out / f"log_rank{r}.csv").exists()
    stops = {int(res["stopped_after"]) for res in results}
    assert stops == {2}  # EarlyStopping(patience=0) ended every rank after epoch 2


def test_each_rank_caps_its_threads_at_its_share_of_the_cores(main_run):
    ranks, _, results, _, _ = main_run
    share = max(1, (os.cpu_count() or 1) // ranks)
    for res in results:
        threads, now = res["threads"]
        assert 1 <= threads <= share and now == threads


def test_strategy_allreduce_sums_arrays_over_the_ranks(main_run):
    ranks, _, results, _, _ = main_run
    for res in results:
        np.testing.assert_array_equal(res["allreduce"], [ranks * (ranks + 1) / 2, ranks * 0.5])
        assert "float32 or float64" in str(res["allreduce_refused"])


def test_a_refusal_on_one_rank_raises_on_every_rank(main_run):
    ranks, _, results, _, _ = main_run
    messages = [str(res["refusal"]) for res in results]
    if ranks == 1:
        assert messages == ["no error"]
        return
    assert messages[1].startswith("ValueError") and "not a class id" in messages[1]
    for r in [0] + list(range(2, ranks)):
        assert messages[r].startswith("DistributedError") and "rank 1 of" in messages[r]


def test_float32_runs_repeat_bit_for_bit(main_run, tmp_path):
    ranks, _, results, _, _ = main_run
    if ranks != 2:
        pytest.skip("one repeat, at 2 ranks")
    code, log, _ = run_mpi(2, "float32", tmp_path)
    assert code == 0, log
    for r in range(2):
        np.testing.assert_array_equal(np.load(tmp_path / f"float32_rank{r}.npy"),
                                      results[0]["float32_weights"])


# raise and kill end the job without the watchdog (MPI_Abort; the launcher sees the death), so
# they run with a long timeout; hang needs the watchdog: 3 s.
@pytest.mark.parametrize("kind,watchdog,limit", [
    ("raise", 60, 30), ("kill", 60, 30), pytest.param("hang", 3, 30, marks=pytest.mark.slow)])
def test_a_failing_rank_ends_the_job_with_an_error(kind, watchdog, limit, tmp_path):
    code, log, seconds = run_mpi(2, kind, tmp_path, watchdog, timeout=limit + 60)
    print(f"{kind}: exit {code} after {seconds:.1f} s")
    assert code != 0 and f"fault {kind}" in log
    assert seconds < limit
    if kind == "raise":
        assert "rank 1 of 2 raised RuntimeError: injected failure on rank 1" in log
    elif kind == "hang":
        assert "rank 0 of 2 has waited" in log and "aborting every rank" in log.lower()


def test_strategy_arguments_are_checked():
    pytest.importorskip("mpi4py")
    with pytest.raises(ValueError, match="data must be one of"):
        dk.distributed.MPIStrategy(data="shards")
    with pytest.raises(ValueError, match="reduction"):
        dk.distributed.MPIStrategy(reduction="fast")
    with pytest.raises(ValueError, match="timeout"):
        dk.distributed.MPIStrategy(timeout=-1)
    with pytest.raises(ValueError, match="threads"):
        dk.distributed.MPIStrategy(threads=0)
