"""The program tests/test_distributed.py runs under mpiexec: data-parallel fits whose results the
test compares with one process.

`python mpi_worker.py SCENARIO OUT_DIR [TIMEOUT]`, every rank alike:
- "main": a float64 Dense/BN/Dropout/RReLU model fitted with the global batch (including a
  batch size the ranks do not divide and a last batch smaller than the rank count), evaluate
  over the ranks, a data="local" fit, callbacks that write files, a float32 fit, and a refusal
  (bad labels on rank 1 only) after which the job goes on. Each rank saves its results to
  OUT_DIR/rank{r}.npz (the worker's own files; densekit writes only from rank 0).
- "float32": the float32 fit alone (run twice: identical bits).
- "raise", "kill", "hang": rank 1 raises, is SIGKILLed, or stops answering in epoch 2; the job
  must end with an error, never hang.
The model and data builders are imported by the test too.
"""

import os
import signal
import sys
import time

import numpy as np

import densekit as dk

BATCH = 30          # 2 and 4 ranks: 15/15 and 7/8/7/8 rows (4 does not divide 30)
TRAIN_ROWS = 153    # 5 full batches, then 3 rows: on 4 ranks one rank gets none
VAL_ROWS = 41
EPOCHS = 2


def data(seed=0):
    r = np.random.default_rng(seed)
    X = r.normal(0.5, 1.5, size=(TRAIN_ROWS + VAL_ROWS, 6))
    y = (X[:, 0] + X[:, 1] ** 2 > 1.0).astype(np.int64) + (X[:, 2] > 0.8)
    return X[:TRAIN_ROWS], y[:TRAIN_ROWS], X[TRAIN_ROWS:], y[TRAIN_ROWS:]


def model(dtype="float64", seed=3):
    m = dk.Sequential([
        dk.layers.Input(6),
        # No bias before BN (SPEC's example): BN cancels it, so its gradient is rounding noise,
        # which Adam would scale up to full steps and any summation order would decide.
        dk.layers.Dense(16, use_bias=False, kernel_regularizer=dk.regularizers.l2(1e-3)),
        dk.layers.BatchNormalization(),
        dk.layers.Activation("elu"),
        dk.layers.Dropout(0.3),
        dk.layers.Dense(12),
        dk.layers.RReLU(),
        dk.layers.BatchNormalization(),
        dk.layers.Dense(3, activation="softmax"),
    ], seed=seed, dtype=dtype)
    m.compile(optimizer=dk.optimizers.Adam(learning_rate=3e-2, global_clipnorm=5.0),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def local_order(rows_per_rank, size, epochs=1):
    """The single-process order equal to data="local" with shuffle=False on equal shards of
    rows_per_rank rows (shard r = rows [r·n, (r+1)·n) of the whole), as MPIStrategy documents
    it: a global batch of R rows takes R·(r+1)//P − R·r//P rows from shard r, rank after rank,
    each shard read in order and from its start again when it runs out."""
    total = rows_per_rank * size
    at = [0] * size
    order = []
    for _ in range(epochs):
        for start in range(0, total, BATCH):
            rows = min(BATCH, total - start)
            for r in range(size):
                for _ in range(rows * (r + 1) // size - rows * r // size):
                    order.append(r * rows_per_rank + at[r])
                    at[r] = (at[r] + 1) % rows_per_rank
    return np.array(order)


LOCAL_ROWS = 37  # rows of each rank's shard: the shares of 30 do not fit 37 evenly


def main_scenario(strategy, out):
    X, y, Xv, yv = data()
    results = {}
    m = model()
    h = m.fit(X, y, batch_size=BATCH, epochs=EPOCHS, verbose=2, validation_data=(Xv, yv),
              strategy=strategy)
    results["weights"] = np.array(m.get_weights(), dtype=object)
    results["history"] = np.array([h.history[k] for k in sorted(h.history)])
    results["history_keys"] = np.array(sorted(h.history))
    ev = m.evaluate(Xv, yv, strategy=strategy, return_dict=True)
    results["evaluate"] = np.array([ev["loss"], ev["accuracy"]])

    # data="local": rank r holds shard r of equal shards; unshuffled, as local_order says.
    local = dk.distributed.MPIStrategy(data="local", timeout=strategy.timeout)
    n = LOCAL_ROWS
    shard = slice(local.rank * n, (local.rank + 1) * n)
    ml = model()
    ml.fit(X[shard], y[shard], batch_size=BATCH, epochs=1, verbose=0, shuffle=False,
           strategy=local)
    results["local_weights"] = np.array(ml.get_weights(), dtype=object)

    # Callbacks: files from rank 0 only; every rank stops at the same epoch.
    mc = model()
    hc = mc.fit(X, y, batch_size=BATCH, epochs=5, verbose=0, strategy=strategy, callbacks=[
        dk.callbacks.ModelCheckpoint(os.path.join(out, f"ckpt_rank{strategy.rank}.dk"),
                                     monitor="loss"),
        dk.callbacks.CSVLogger(os.path.join(out, f"log_rank{strategy.rank}.csv")),
        dk.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=10.0)])
    results["stopped_after"] = np.array(len(hc.history["loss"]))

    # A refusal: rank 1's labels are out of range; every rank raises, the job goes on.
    bad = y.copy()
    if strategy.rank == 1:
        bad[7] = 9
    try:
        model().fit(X, bad, batch_size=BATCH, epochs=1, verbose=0, strategy=strategy)
        results["refusal"] = np.array("no error")
    except Exception as exc:  # noqa: BLE001 (recorded for the test)
        results["refusal"] = np.array(f"{type(exc).__name__}: {exc}")

    results["float32_weights"] = float32_fit(strategy)
    results["threads"] = np.array([strategy.threads, dk.get_num_threads()])
    summed = strategy.allreduce(np.array([strategy.rank + 1.0, 0.5], dtype=np.float32))
    try:
        strategy.allreduce(np.arange(3))
        refused = "no error"
    except TypeError as exc:
        refused = str(exc)
    results["allreduce"] = np.array([float(summed[0]), float(summed[1])])
    results["allreduce_refused"] = np.array(refused)
    np.savez(os.path.join(out, f"rank{strategy.rank}.npz"), **results)


def float32_fit(strategy):
    X, y, _, _ = data()
    m = model("float32")
    m.fit(X, y, batch_size=BATCH, epochs=EPOCHS, verbose=0, strategy=strategy)
    return np.concatenate([w.ravel() for w in m.get_weights()])


def fault_scenario(kind, strategy):
    class Fault(dk.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch != 1 or strategy.rank != 1:
                return
            print(f"fault {kind} at {time.time():.3f}", file=sys.stderr, flush=True)
            if kind == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            elif kind == "raise":
                raise RuntimeError("injected failure on rank 1")
            elif kind == "hang":
                time.sleep(3600)

    X, y, _, _ = data()
    model("float32").fit(X, y, batch_size=BATCH, epochs=1000, verbose=0, strategy=strategy,
                         callbacks=[Fault()])


def main():
    scenario, out = sys.argv[1], sys.argv[2]
    timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 60.0
    strategy = dk.distributed.MPIStrategy(timeout=timeout)
    if scenario == "main":
        main_scenario(strategy, out)
    elif scenario == "float32":
        np.save(os.path.join(out, f"float32_rank{strategy.rank}.npy"), float32_fit(strategy))
    else:
        fault_scenario(scenario, strategy)


if __name__ == "__main__":
    main()
