"""Soak: fit / predict / save / load in a loop must not grow the process's memory (issue 11, "Keep it
fixed": a soak test shows no memory growth).

Each run is a child process (the test process's own heap would blur the numbers): it warms up,
then repeats the cycle and samples its resident set size (/proc/self/statm) after each round. The
resident size after warm-up may move by allocator noise, bounded here, but must not climb: the
last quarter of the samples may not sit above the first quarter by more than the bound (1 MiB).
Keeping each loaded model alive (~0.5 MiB a cycle) exceeds it by far within the default run's 40
cycles (measured: +18.7 MiB); the slow run (`-m slow`, 2,000 cycles, 4 MiB) catches leaks of a
few KiB per cycle.
"""

import json
import os
import subprocess
import sys

import pytest

import densekit as dk

PYTHONPATH = os.path.dirname(os.path.dirname(dk.__file__))

SOAK = r"""
import gc, json, os, sys, tempfile
import numpy as np
import densekit as dk

cycles, warmup = int(sys.argv[1]), int(sys.argv[2])
page = os.sysconf("SC_PAGE_SIZE")

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page

r = np.random.default_rng(0)
X = r.normal(size=(256, 20)).astype(np.float32)
y = r.integers(0, 4, 256)
L = dk.layers
path = os.path.join(tempfile.mkdtemp(), "soak.dk")
model = dk.Sequential([L.Input(20), L.Dense(64, activation="relu"), L.BatchNormalization(),
                       L.Dropout(0.1), L.Dense(32, activation="elu"), L.Dense(4, activation="softmax")],
                      seed=0)
model.compile(optimizer=dk.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
samples = []
for i in range(warmup + cycles):
    model.fit(X, y, batch_size=32, epochs=1, verbose=0, validation_split=0.25)
    model.predict(X)
    model.save(path)
    loaded = dk.load_model(path)
    loaded.predict(X[:10])
    loaded.evaluate(X, y, verbose=0)
    del loaded
    if i >= warmup:
        gc.collect()
        samples.append(rss())
print(json.dumps({"samples": samples}))
"""


def _soak(cycles, warmup, timeout):
    env = dict(os.environ, PYTHONPATH=PYTHONPATH, OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", SOAK, str(cycles), str(warmup)],
                          capture_output=True, text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])["samples"]


def _check(samples, bound):
    q = max(1, len(samples) // 4)
    first, last = sorted(samples[:q])[q // 2], sorted(samples[-q:])[q // 2]  # medians
    growth = last - first
    assert growth <= bound, (f"resident memory grew by {growth / 2**20:.1f} MiB over "
                             f"{len(samples)} cycles after warm-up (bound {bound / 2**20:.1f} MiB); "
                             f"samples (MiB): {[round(s / 2**20, 1) for s in samples]}")
    return growth


def test_fit_predict_save_load_loop_keeps_memory_flat():
    _check(_soak(cycles=40, warmup=10, timeout=300), bound=2**20)


@pytest.mark.slow
def test_fit_predict_save_load_soak_long():
    _check(_soak(cycles=2000, warmup=100, timeout=3600), bound=4 * 2**20)
