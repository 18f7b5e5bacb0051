"""Out of memory in the C++ core: a clean MemoryError, and the model works as before after it.

Every grow-only buffer (activations, gradients, per-thread inference and product workspaces,
packed weights) allocates its new block before it lets go of the old one, so a failed growth
leaves the old, valid state; and nothing allocates inside a parallel region, where an exception
cannot be caught and the OpenMP runtime ends the process. Each case runs in a child process
under an address-space limit (RLIMIT_AS), so the failing allocation is deterministic and costs
nothing (issue 11, items 1 and 3).
"""

import pytest

from support.limited_run import describe, run_python

# Input(8) -> Dense(100_000) -> Dense(1): a 20,000-row batch needs 8 GB of activations, far over
# the 1 GiB the child may add; 10 rows need 4 MB.
MODEL = '''
import numpy as np
import densekit as dk

L = dk.layers
X = np.random.default_rng(0).normal(size=(20_000, 8)).astype(np.float32)
Y = np.random.default_rng(1).normal(size=(20_000, 1)).astype(np.float32)

def expect_memory_error(*calls):
    for call in calls:
        try:
            call()
        except MemoryError:
            pass
        else:
            raise SystemExit("no MemoryError")

def wide_model():
    m = dk.Sequential([L.Input(8), L.Dense(100_000, activation="relu"), L.Dense(1)], seed=3)
    m.compile(optimizer="adam", loss="mse")
    return m
'''


def run_checked(code, threads):
    proc = run_python(MODEL, code, env={"OMP_NUM_THREADS": str(threads)})
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), describe(proc)


@pytest.mark.parametrize("threads", [1, 2])
def test_predict_after_memory_error_gives_the_same_result(threads):
    run_checked('''
        m = wide_model()
        before = m.predict(X[:10])
        limit_address_space(1 << 30)
        for _ in range(2):
            expect_memory_error(lambda: m.predict(X, batch_size=20_000))
            np.testing.assert_array_equal(m.predict(X[:10]), before)
        print("ok")
    ''', threads)


@pytest.mark.parametrize("threads", [1, 2])
def test_training_and_evaluate_after_memory_error_match_an_untroubled_model(threads):
    run_checked('''
        m, ref = wide_model(), wide_model()
        m.train_on_batch(X[:16], Y[:16])
        ref.train_on_batch(X[:16], Y[:16])
        limit_address_space(1 << 30)
        expect_memory_error(lambda: m.train_on_batch(X, Y),
                            lambda: m.evaluate(X, Y, batch_size=20_000),
                            lambda: m.fit(X, Y, batch_size=20_000, epochs=1, verbose=0))
        # The failed calls changed nothing: the next steps match the model that never failed.
        for model in (m, ref):
            model.train_on_batch(X[16:32], Y[16:32])
        for a, b in zip(m.get_weights(), ref.get_weights()):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(m.evaluate(X[:64], Y[:64]), ref.evaluate(X[:64], Y[:64]))
        np.testing.assert_array_equal(m.predict(X[:10]), ref.predict(X[:10]))
        print("ok")
    ''', threads)


def test_two_threads_under_a_memory_limit_raise_memory_error_instead_of_exiting():
    # The first parallel region starts under the limit (no room for a thread's stack), then one
    # from a new Python thread (OpenMP keeps a team per calling thread): densekit runs the parts
    # on the calling thread instead (the same bits), and what cannot be allocated is a
    # MemoryError, not the OpenMP runtime's exit(1).
    run_checked('''
        import threading
        import resource
        m = dk.Sequential([L.Input(8), L.Dense(2000, activation="relu"), L.Dense(1)], seed=3)
        m.compile(optimizer="adam", loss="mse")
        unlimited = resource.getrlimit(resource.RLIMIT_AS)
        go = threading.Event()
        limited = []
        worker = threading.Thread(target=lambda: go.wait() and limited.append(m.predict(X[:64])))
        worker.start()  # before the limit: a Python thread needs its stack too
        limit_address_space(4 << 20)
        limited.append(m.predict(X[:64]))
        expect_memory_error(lambda: m.predict(X, batch_size=20_000),
                            lambda: m.fit(X, Y, batch_size=20_000, verbose=0))
        go.set()
        worker.join()
        resource.setrlimit(resource.RLIMIT_AS, unlimited)
        free = m.predict(X[:64])
        assert len(limited) == 2, "the thread's predict failed"
        for got in limited:
            np.testing.assert_array_equal(got, free)
        print("ok")
    ''', threads=2)
