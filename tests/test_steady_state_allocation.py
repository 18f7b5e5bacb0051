"""SPEC §1: no allocation in steady state. Every malloc-family call is counted (an LD_PRELOAD
shim, tests/support/malloc_counter.c) around C++ calls of 4 and of 40 batches; once buffers are
sized, the longer call must not allocate more than the shorter one. Covers every layer kind,
both dtypes, several optimizers and options, products big enough for Eigen's blocked GEMM, and
train / predict / predict_mc / evaluate."""
import json
import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SUPPORT = os.path.join(HERE, "support")

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="LD_PRELOAD shim is Linux-only")


@pytest.fixture(scope="module")
def allocation_counts(tmp_path_factory):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler to build the malloc counter")
    lib = str(tmp_path_factory.mktemp("malloc_counter") / "libmalloc_counter.so")
    subprocess.run([cc, "-shared", "-fPIC", "-O2", "-o", lib, os.path.join(SUPPORT, "malloc_counter.c")],
                   check=True)
    env = dict(os.environ, LD_PRELOAD=lib)
    proc = subprocess.run([sys.executable, os.path.join(SUPPORT, "allocation_probe.py"), lib],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_probe_covers_every_entry_point(allocation_counts):
    for entry in ("train", "train+weights", "predict", "predict_mc", "evaluate"):
        assert sum(key.endswith("/" + entry) for key in allocation_counts) == 12, entry
    # The counter really counts: each call allocates its small fixed things (result dict, ...).
    assert all(short > 0 for short, _ in allocation_counts.values())


def test_no_allocation_per_batch(allocation_counts):
    grows = {k: v for k, v in allocation_counts.items() if v[1] != v[0]}
    assert not grows, f"allocations grow with the number of batches ([4 batches, 40 batches]): {grows}"
