"""No oversubscription: densekit's thread pool under threadpoolctl and inside joblib workers.

The busy-thread counts are measured, not assumed: a sampler reads every thread's CPU time from
/proc/<pid>/task/<tid>/stat (Linux) for this process and all its descendants while the work runs.
"""

import importlib
import os
import sys
import threading
import time

import numpy as np
import pytest

pytest.importorskip("sklearn")
threadpoolctl = pytest.importorskip("threadpoolctl")

import densekit as dk  # noqa: E402
import densekit.threadpool  # noqa: E402,F401  (registers the controller)
from densekit.sklearn import MLPClassifier  # noqa: E402

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _stat_fields(path):
    with open(path) as f:
        text = f.read()
    return text[text.rindex(")") + 2:].split()  # after "pid (comm) "


def _processes(root):
    """root and all its descendants (pids)."""
    parent = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parent[int(entry)] = int(_stat_fields(f"/proc/{entry}/stat")[1])
            except (OSError, ValueError, IndexError):
                pass
    found, frontier = {root}, [root]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parent.items() if pp == p and c not in found]
        found.update(kids)
        frontier += kids
    return found


def _thread_cpu_ticks(pids):
    """{(pid, tid): utime + stime in clock ticks} for every thread of `pids`."""
    out = {}
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                fields = _stat_fields(f"/proc/{pid}/task/{tid}/stat")
                out[(pid, int(tid))] = int(fields[11]) + int(fields[12])
            except (OSError, ValueError, IndexError):
                pass
    return out


class BusyThreads:
    """Context manager: samples the CPU time of every thread of this process and its children
    while the block runs; `busy(fraction)` lists the threads that used at least that fraction of
    the busiest thread's CPU time (the sampler's own thread excluded). Relative, so that the count
    does not depend on how much of the machine other processes take: a worker's extra OpenMP
    thread would carry a share of the work comparable to its main thread, while joblib's
    bookkeeping threads stay near zero."""

    def __enter__(self):
        self.before = _thread_cpu_ticks(_processes(os.getpid()))
        self.seen = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self.start = time.perf_counter()
        self._thread.start()
        return self

    def _sample(self):
        self.sampler_tid = threading.get_native_id()
        while not self._stop.wait(0.05):
            for key, ticks in _thread_cpu_ticks(_processes(os.getpid())).items():
                self.seen[key] = max(ticks, self.seen.get(key, 0))

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.start
        self._stop.set()
        self._thread.join()
        for key, ticks in _thread_cpu_ticks(_processes(os.getpid())).items():
            self.seen[key] = max(ticks, self.seen.get(key, 0))

    def cpu_seconds(self):
        hz = os.sysconf("SC_CLK_TCK")
        return {key: (ticks - self.before.get(key, 0)) / hz for key, ticks in self.seen.items()
                if key[1] != self.sampler_tid}

    def busy(self, fraction):
        cpu = self.cpu_seconds()
        top = max(cpu.values(), default=0.0)
        assert top > 0, "no thread was seen using the CPU"
        return sorted(k for k, s in cpu.items() if s >= fraction * top)


def test_densekit_is_listed_and_capped_by_threadpool_limits():
    info = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "densekit"]
    assert len(info) == 1 and info[0]["num_threads"] == dk.get_num_threads()
    before = dk.get_num_threads()
    with threadpoolctl.threadpool_limits(limits=1):
        assert dk.get_num_threads() == 1
    with threadpoolctl.threadpool_limits(limits=1, user_api="densekit"):
        assert dk.get_num_threads() == 1
    assert dk.get_num_threads() == before


@linux_only
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_threadpool_limits_one_means_one_busy_thread_in_a_real_fit():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4096, 256)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    est = MLPClassifier(hidden_layer_sizes=(256, 256), batch_size=256, max_iter=3, random_state=0)
    with threadpoolctl.threadpool_limits(limits=1):
        with BusyThreads() as probe:
            deadline = time.perf_counter() + 0.6
            while time.perf_counter() < deadline:
                est.fit(X, y)
    assert len(probe.busy(0.25)) == 1, probe.cpu_seconds()


@linux_only
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_grid_search_n_jobs_2_runs_at_most_2_busy_threads():
    """GridSearchCV(n_jobs=2) on this 2-core machine: joblib's two workers each run densekit
    with one thread (joblib limits its workers' thread pools to cores // n_jobs, and densekit
    honours it), so at most two threads are busy at a time — not 2 workers × 2 OpenMP threads."""
    joblib = pytest.importorskip("joblib")
    from sklearn.datasets import load_digits
    from sklearn.model_selection import GridSearchCV

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    # Start the two workers (joblib reuses them for GridSearchCV) and ask what densekit itself
    # will use in each; the imports happen here, outside the measured block.
    parallel = joblib.Parallel(n_jobs=2)
    parallel(joblib.delayed(importlib.import_module)("densekit.sklearn") for _ in range(2))
    assert parallel(joblib.delayed(dk.get_num_threads)() for _ in range(4)) == [1, 1, 1, 1]
    # refit=False: the refit runs afterwards in this process alone (densekit's own threads, no
    # workers), so the measured block is the parallel phase. Enough work per fit that the
    # parent's dispatching (fixed per task) stays a small share.
    grid = GridSearchCV(MLPClassifier(max_iter=30, learning_rate_init=1e-2, random_state=0),
                        {"hidden_layer_sizes": [(128,), (256,)]}, cv=3, n_jobs=2, refit=False)
    with BusyThreads() as probe:
        grid.fit(X, y)
    busy = probe.busy(0.25)
    assert len(busy) <= 2, (busy, probe.cpu_seconds(), probe.wall)
    workers = {pid for pid, _ in busy} - {os.getpid()}
    assert len(workers) == len(busy), "the busy threads are the two workers' main threads"
    assert grid.best_score_ > 0.85
