"""Run the BENCHMARKS.md workloads for densekit and its peers in one run; print and save the table.

First the machine's peak: a 4096² float32 product timed with each library present (MKL through
torch, OpenBLAS through NumPy, densekit's engine; bench/peak.py), one worker each; the best is the
peak every training workload's GFLOP/s is reported against. Then for every selected workload, one
fresh worker process (bench/_worker.py) per framework measures it: the GEMM-only limit, densekit,
then the workload's peers. Workers run one after another, with
the same thread count, and hand back JSON; this script computes the ratios against the targets
and writes bench/results.json and bench/RESULTS.md. A framework that cannot be imported shows as
n/a and the run goes on.

    python bench/run.py                          # W1 W2 W5 I1 I2 at full size
    python bench/run.py --workloads W1,W2 --quick
    python bench/run.py --workloads W1 --epochs 5 --samples 30000 --frameworks densekit,torch
    python bench/run.py --workloads W1,W5 --frameworks densekit --quick --busy 1   # contention
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import machine  # noqa: E402
import report  # noqa: E402
from workloads import FRAMEWORKS, WORKLOADS  # noqa: E402

QUICK_SAMPLES = 12_000


def _parse(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = ",".join(n for n, w in WORKLOADS.items() if w.default)
    p.add_argument("--workloads", default=default,
                   help=f"comma-separated, from {','.join(WORKLOADS)} (default {default})")
    p.add_argument("--frameworks", default=",".join(FRAMEWORKS),
                   help="comma-separated subset of " + ",".join(FRAMEWORKS))
    p.add_argument("--epochs", type=int, default=3, help="timed epochs per training figure")
    p.add_argument("--warmup", type=int, default=1, help="untimed warm-up epochs")
    p.add_argument("--samples", type=int, default=None,
                   help="training samples per epoch (default: the workload's, e.g. 60,000)")
    p.add_argument("--calls", type=int, default=None,
                   help="timed inference calls (default: the workload's, e.g. 2000 for I1)")
    p.add_argument("--quick", action="store_true",
                   help=f"{QUICK_SAMPLES:,} samples per epoch unless --samples is given")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--busy", type=int, default=0, metavar="N",
                   help="keep N foreign busy-looping processes running during every measurement "
                        "(BENCHMARKS.md's contention target: <= 2x slowdown with one)")
    p.add_argument("--no-peak", action="store_true",
                   help="skip the 4096² peak measurement (no %% of peak in the report)")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per worker")
    p.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS",
                   help="before each worker, wait up to this long for other processes to leave "
                        "the CPUs idle (shared machines)")
    p.add_argument("--out-dir", default=HERE, help="where results.json and RESULTS.md go")
    args = p.parse_args(argv)
    unknown = [w for w in args.workloads.split(",") if w not in WORKLOADS]
    unknown += [f for f in args.frameworks.split(",") if f not in FRAMEWORKS]
    if unknown:
        p.error(f"unknown: {', '.join(unknown)}")
    if args.epochs < 3:
        print(f"note: --epochs {args.epochs} < 3; BENCHMARKS.md asks for a median of ≥3",
              file=sys.stderr)
    return args


def _worker(framework: str, workload: str, args, samples, calls) -> dict:
    cmd = [sys.executable, os.path.join(HERE, "_worker.py"), "--framework", framework,
           "--workload", workload, "--epochs", str(args.epochs), "--warmup", str(args.warmup),
           "--threads", str(args.threads)]
    if samples:
        cmd += ["--samples", str(samples)]
    if calls:
        cmd += ["--calls", str(calls)]
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(args.threads)
    busy0, child0, t0 = machine.cpu_busy_seconds(), _children_cpu_s(), time.perf_counter()
    try:
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"status": "error", "reason": f"timed out after {args.timeout:.0f} s"}
    wall = time.perf_counter() - t0
    busy1 = machine.cpu_busy_seconds()
    lines = proc.stdout.strip().splitlines()
    try:
        result = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        tail = proc.stderr.strip().splitlines()[-3:]
        return {"status": "error",
                "reason": f"worker exited {proc.returncode}: {' | '.join(tail) or 'no output'}"}
    if busy0 is not None and busy1 is not None:
        # CPUs kept busy by anything other than the worker while it ran: a noise flag.
        foreign = (busy1 - busy0) - (_children_cpu_s() - child0)
        result["foreign_load_cpus"] = round(max(0.0, foreign) / wall, 2)
    result["worker_wall_s"] = round(wall, 2)
    return result


def _wait_quiet(max_wait: float, threshold: float = report.NOISY) -> None:
    """Sleep until, over one second, the CPUs were busy less than `threshold` (or time is up)."""
    deadline = time.perf_counter() + max_wait
    while True:
        b0 = machine.cpu_busy_seconds()
        time.sleep(1.0)
        b1 = machine.cpu_busy_seconds()
        if b0 is None or b1 is None or b1 - b0 < threshold or time.perf_counter() > deadline:
            return


def _children_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main(argv=None) -> int:
    args = _parse(argv)
    wanted = args.frameworks.split(",")
    workloads = [WORKLOADS[n] for n in args.workloads.split(",")]
    samples = {w.name: args.samples or (QUICK_SAMPLES if args.quick else w.samples)
               for w in workloads if w.kind == "train"}
    calls = {w.name: args.calls or w.samples for w in workloads if w.kind != "train"}
    info = machine.describe(args.threads, os.path.dirname(HERE))

    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    try:
        command = "python bench/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
        return _measure(args, wanted, workloads, samples, calls, info, command)
    finally:
        for proc in busy:
            proc.kill()
            proc.wait()


def _measure(args, wanted, workloads, samples, calls, info, command) -> int:
    results: dict[str, dict] = {}
    t_start = time.perf_counter()
    peak: dict[str, dict] = {}
    for fw in ([] if args.no_peak else ["torch", "gemm", "densekit"]):
        if args.wait_quiet > 0:
            _wait_quiet(args.wait_quiet)
        peak[fw] = r = _worker(fw, "peak", args, None, None)
        shown = (f"{r['value']:.1f} GFLOP/s" if r.get("status") == "ok"
                 else f"{r.get('status')}: {r.get('reason')}")
        print(f"[{time.perf_counter() - t_start:6.1f} s] peak (4096² float32) {FRAMEWORKS[fw]}: "
              f"{shown}", file=sys.stderr, flush=True)
    for wl in workloads:
        results[wl.name] = {}
        for fw in ["gemm", "densekit", *wl.peers]:
            if fw not in wanted:
                continue
            if args.wait_quiet > 0:
                _wait_quiet(args.wait_quiet)
            t0 = time.perf_counter()
            r = _worker(fw, wl.name, args, samples.get(wl.name), calls.get(wl.name))
            results[wl.name][fw] = r
            shown = (f"{r['value']:.4g} {wl.unit}" if r.get("status") == "ok"
                     else f"{r.get('status')}: {r.get('reason')}")
            print(f"[{time.perf_counter() - t_start:6.1f} s] {wl.name} {FRAMEWORKS[fw]}: {shown} "
                  f"({time.perf_counter() - t0:.1f} s)", file=sys.stderr, flush=True)

    settings = {
        "threads": args.threads, "epochs": args.epochs, "warmup": args.warmup,
        "samples": samples, "calls": calls,
        "mode": ("quick" if args.quick and not args.samples else
                 "custom size" if args.samples or args.calls else "full"),
        "command": command,
        "busy_processes": args.busy,
        "wall_s": round(time.perf_counter() - t_start, 1),
    }
    info["load_avg_at_end"] = [round(v, 2) for v in os.getloadavg()]
    rep = report.build(workloads, results, settings, info, peak)
    print(report.text(rep))
    os.makedirs(args.out_dir, exist_ok=True)
    report.write(rep, os.path.join(args.out_dir, "results.json"),
                 os.path.join(args.out_dir, "RESULTS.md"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
