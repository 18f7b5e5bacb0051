"""One measurement in a fresh process: one framework, one workload; a JSON object on stdout.

run.py starts one of these per (framework, workload), so thread pools, allocators and caches of
one framework never disturb another's figures, and peak RSS and import time are per framework.
The framework's import is timed first, cold, before anything else heavy is imported (so it
includes e.g. NumPy if the framework pulls it in). Anything the framework itself prints goes to
stderr: the JSON result is the only thing written to the real stdout.

    python bench/_worker.py --framework torch --workload W1 --samples 12000 --epochs 3
    python bench/_worker.py --framework gemm --workload peak   # the 4096² product (peak.py)
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
import traceback

ADAPTERS = {  # framework -> (adapter module, extra keyword arguments for train() / infer())
    "densekit": ("fw_densekit", {}),
    "densekit_fp32": ("fw_densekit", {"precision": "float32"}),
    "torch": ("fw_torch", {}),
    "torch_fused": ("fw_torch", {"fused": True}),
    "torch_int8": ("fw_torch_int8", {}),
    "onnxruntime": ("fw_onnxruntime", {}),
    "onnxruntime_int8": ("fw_ort_int8", {}),
    "gemm": ("fw_gemm", {}),
}


# framework -> the function of peak.py measuring its library's 4096² product ("gemm" is NumPy's
# BLAS, as for the GEMM-only limit).
PEAKS = {"gemm": "numpy_peak", "torch": "torch_peak", "densekit": "densekit_peak"}


def _parse(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--framework", required=True, choices=sorted(ADAPTERS))
    p.add_argument("--workload", required=True)
    p.add_argument("--samples", type=int, default=None, help="training samples per epoch")
    p.add_argument("--epochs", type=int, default=3, help="timed epochs (after warm-up)")
    p.add_argument("--warmup", type=int, default=1, help="untimed warm-up epochs")
    p.add_argument("--calls", type=int, default=None, help="timed inference calls")
    p.add_argument("--threads", type=int, default=2)
    return p.parse_args(argv)


def measure(args) -> dict:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(args.threads))

    from workloads import IMPORTS, WORKLOADS  # stdlib-only module

    if args.workload == "peak" and args.framework not in PEAKS:
        return {"status": "unavailable", "reason": f"no peak measurement for {args.framework}"}
    t0 = time.perf_counter()
    try:
        importlib.import_module(IMPORTS[args.framework])
    except ImportError as e:
        return {"status": "unavailable", "reason": f"{type(e).__name__}: {e}"}
    import_s = time.perf_counter() - t0

    import timing

    module, extra = ADAPTERS[args.framework]
    adapter = importlib.import_module(module)
    info = adapter.setup(args.threads)
    if args.workload == "peak":
        import peak as peak_product
        return {**getattr(peak_product, PEAKS[args.framework])(), "threads": args.threads, "info": info}

    wl = WORKLOADS[args.workload]
    rows = (args.samples or wl.samples) if wl.kind == "train" else wl.batch
    x, y = timing.synthetic_data(rows, wl.n_in)
    data_mib = (x.nbytes + y.nbytes) / 2**20
    if wl.kind == "train":
        result = adapter.train(wl, x, y, args.epochs, args.warmup, **extra)
    else:
        calls = args.calls or wl.samples
        result = adapter.infer(wl, x, calls, max(100, calls // 10), **extra)
    peak = timing.peak_rss_mib()
    return {
        "status": "ok",
        **result,
        "import_s": import_s,
        "peak_rss_mib": peak,
        "data_mib": data_mib,
        "extra_rss_mib": peak - data_mib,
        "threads": args.threads,
        "info": info,
    }


def main(argv=None) -> int:
    args = _parse(argv)
    # Keep the real stdout for the result; send everything else (framework chatter) to stderr.
    result_fd = os.dup(1)
    os.dup2(2, 1)
    try:
        out = measure(args)
    except Exception as e:  # reported, not raised: the run goes on with the other frameworks
        traceback.print_exc()
        out = {"status": "error", "reason": f"{type(e).__name__}: {e}"}
    out.update(framework=args.framework, workload=args.workload)
    sys.stdout.flush()
    with os.fdopen(result_fd, "w") as f:
        f.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
