"""Turn worker results into the report: ratio checks against the targets, then the same table as
plain text (stdout), JSON (bench/results.json) and Markdown (bench/RESULTS.md).

Pure formatting and arithmetic: no measuring and no framework imports here.
"""

from __future__ import annotations

import json

from workloads import FRAMEWORKS, Target, Workload

OPS = {">=": ("≥", lambda r, b: r >= b), "<=": ("≤", lambda r, b: r <= b),
       ">": (">", lambda r, b: r > b), "<": ("<", lambda r, b: r < b)}


def _metric(result: dict | None, metric: str):
    if result and result.get("status") == "ok":
        return result.get(metric)
    return None


def evaluate(t: Target, results: dict, reference: dict) -> dict:
    """One check: the ratio metric(a)/metric(b) (or metric(a) when b is None) against its bound."""
    a = _metric(results.get(t.a), t.metric)
    if t.b is None:
        ratio, label = a, FRAMEWORKS[t.a]
        ref = None
    else:
        b = _metric(results.get(t.b), t.metric)
        ratio = a / b if a is not None and b else None
        label = f"{FRAMEWORKS[t.a]} / {FRAMEWORKS[t.b]}"
        ref = (reference[t.a] / reference[t.b]
               if t.metric == "value" and t.a in reference and t.b in reference else None)
    if t.note:
        label += f" ({t.note})"
    met = None
    if t.op is not None and ratio is not None:
        met = bool(OPS[t.op][1](ratio, t.bound))
    return {"label": label, "a": t.a, "b": t.b, "metric": t.metric, "ratio": ratio,
            "op": t.op, "bound": t.bound, "met": met, "reference_ratio": ref}


# Which library each peak worker measured (bench/peak.py).
PEAK_LIBRARIES = {"torch": "MKL (torch)", "gemm": "OpenBLAS (NumPy)", "densekit": "densekit engine"}


def peak_summary(peak: dict) -> dict:
    """The machine's peak: the best 4096² rate among the libraries measured (GFLOP/s)."""
    rates = {fw: r["value"] for fw, r in peak.items() if r.get("status") == "ok"}
    best = max(rates, key=rates.get) if rates else None
    return {"results": peak, "gflops": rates.get(best), "library": PEAK_LIBRARIES.get(best)}


def _add_rates(wl: Workload, res: dict, samples: int | None, peak_gflops: float | None) -> None:
    """Each training result's GFLOP/s (the products' FLOPs per epoch over its s/epoch) and its
    fraction of the peak."""
    if wl.kind != "train" or not samples:
        return
    for r in res.values():
        if r.get("status") == "ok" and r.get("value"):
            r["gflops"] = wl.train_flops_per_sample * samples / r["value"] / 1e9
            if peak_gflops:
                r["peak_fraction"] = r["gflops"] / peak_gflops


def build(workloads: list[Workload], results: dict, settings: dict, machine: dict,
          peak: dict | None = None) -> dict:
    """The whole report as one JSON-able dict."""
    out = {"machine": machine, "settings": settings, "peak": peak_summary(peak or {}),
           "workloads": {}}
    for wl in workloads:
        res = results.get(wl.name, {})
        _add_rates(wl, res, settings["samples"].get(wl.name), out["peak"]["gflops"])
        out["workloads"][wl.name] = {
            "title": wl.title, "kind": wl.kind, "unit": wl.unit, "batch": wl.batch,
            "samples_per_epoch": settings["samples"].get(wl.name) if wl.kind == "train" else None,
            "calls": settings["calls"].get(wl.name) if wl.kind != "train" else None,
            "pending": wl.pending or None,
            "results": res,
            "reference_benchmarks_md": wl.reference,
            "checks": [evaluate(t, res, wl.reference) for t in wl.targets],
        }
    return out


# --- formatting -------------------------------------------------------------------------------


def _fmt_value(v: float, unit: str) -> str:
    if unit == "s/epoch":
        return f"{v:.3f}"
    if unit == "µs":
        return f"{v:.1f}"
    return f"{v / 1000:,.0f}k"  # samples/s


def _cell(result: dict | None, unit: str) -> str:
    if result is None:
        return "–"
    status = result.get("status")
    if status == "ok":
        return _fmt_value(result["value"], unit)
    return "n/a" if status == "unavailable" else "error"


def _fmt_ratio(c: dict) -> str:
    if c["ratio"] is None:
        return "n/a"
    if c["metric"] == "import_s" and c["b"] is None:
        return f"{c['ratio']:.2f} s"
    if c["metric"] == "peak_fraction":
        return f"{100 * c['ratio']:.0f} %"
    return f"{c['ratio']:.2f}×"


def _fmt_target(c: dict) -> str:
    if c["op"] is None:
        return ""
    if c["metric"] == "peak_fraction":
        return f"{OPS[c['op']][0]} {100 * c['bound']:.0f} %"
    suffix = " s" if c["metric"] == "import_s" and c["b"] is None else "×"
    return f"{OPS[c['op']][0]} {c['bound']:.3g}{suffix}"


def _fmt_met(c: dict) -> str:
    if c["op"] is None:
        return ""
    return {True: "yes", False: "NO", None: "n/a"}[c["met"]]


def _columns(report: dict) -> list[str]:
    used = {fw for w in report["workloads"].values() for fw in w["results"]}
    return [fw for fw in FRAMEWORKS if fw in used]


def rows(report: dict) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the main table: one row per check, times on each workload's first."""
    cols = _columns(report)
    header = (["workload", "run", "unit"] + [FRAMEWORKS[c] for c in cols]
              + ["check", "ratio", "target", "met", "ref"])
    body = []
    for name, w in report["workloads"].items():
        if w["kind"] == "train":
            run = f"b{w['batch']} × {w['samples_per_epoch']:,} samples"
        else:
            run = f"b{w['batch']} × {w['calls']:,} calls"
        first = [f"{name} {w['title']}", run, w["unit"]] + [
            _cell(w["results"].get(c), w["unit"]) for c in cols]
        blank = ["", "", ""] + [""] * len(cols)
        for i, c in enumerate(w["checks"] or [None]):
            lead = first if i == 0 else blank
            if c is None:
                body.append(lead + ["", "", "", "", ""])
                continue
            ref = f"{c['reference_ratio']:.2f}×" if c["reference_ratio"] else ""
            body.append(lead + [c["label"], _fmt_ratio(c), _fmt_target(c), _fmt_met(c), ref])
    return header, body


def resource_rows(report: dict) -> tuple[list[str], list[list[str]]]:
    """Import time and peak RSS per worker: 'import s / peak RSS MiB (data MiB)'."""
    cols = _columns(report)
    header = ["workload"] + [FRAMEWORKS[c] for c in cols]
    body = []
    for name, w in report["workloads"].items():
        row = [name]
        for c in cols:
            r = w["results"].get(c)
            if r is None or r.get("status") != "ok":
                row.append(_cell(r, w["unit"]))
            else:
                row.append(f"{r['import_s']:.2f} s / {r['peak_rss_mib']:.0f} MiB "
                           f"({r['data_mib']:.0f})")
        body.append(row)
    return header, body


def peak_rows(report: dict) -> tuple[list[str], list[list[str]]]:
    """The 4096² float32 product per library, then each training workload's GFLOP/s per
    framework and, for densekit, the fraction of the peak."""
    header = ["what"] + [PEAK_LIBRARIES[fw] for fw in PEAK_LIBRARIES] + ["peak"]
    p = report["peak"]
    cells = []
    for fw in PEAK_LIBRARIES:
        r = p["results"].get(fw)
        cells.append(f"{r['value']:.1f}" if r and r.get("status") == "ok" else
                     ("n/a" if r is None or r.get("status") == "unavailable" else "error"))
    best = f"{p['gflops']:.1f} ({p['library']})" if p["gflops"] else "n/a"
    body = [["4096² product, GFLOP/s"] + cells + [best]]
    for name, w in report["workloads"].items():
        d = w["results"].get("densekit") or {}
        if w["kind"] != "train" or "gflops" not in d:
            continue
        frac = f" = {100 * d['peak_fraction']:.0f} % of peak" if "peak_fraction" in d else ""
        others = ", ".join(f"{FRAMEWORKS[fw]} {r['gflops']:.1f}" for fw, r in w["results"].items()
                           if fw != "densekit" and "gflops" in r)
        body.append([f"{name} GFLOP/s", f"densekit {d['gflops']:.1f}{frac}", others, "", ""])
    return header, body


def problems(report: dict) -> list[str]:
    seen, lines = set(), []
    for name, w in report["workloads"].items():
        for fw, r in w["results"].items():
            if r.get("status") != "ok":
                key = (fw, r.get("reason"))
                if key not in seen:
                    seen.add(key)
                    lines.append(f"{FRAMEWORKS[fw]} ({name}, first seen): {r.get('status')}: "
                                 f"{r.get('reason')}")
    return lines


NOISY = 0.25  # foreign load (CPUs busy with other processes) above which a figure is flagged


def noisy(report: dict) -> list[str]:
    """Measurements during which other processes kept the machine busy."""
    out = []
    for name, w in report["workloads"].items():
        for fw, r in w["results"].items():
            load = r.get("foreign_load_cpus")
            if r.get("status") == "ok" and load is not None and load >= NOISY:
                out.append(f"{name} {FRAMEWORKS[fw]} ({load:.2f})")
    return out


def _text_table(header: list[str], body: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]
    fmt = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()
    return "\n".join([fmt(header), fmt(["-" * w for w in widths])] + [fmt(r) for r in body])


def _md_table(header: list[str], body: list[list[str]]) -> str:
    line = lambda r: "| " + " | ".join(c.replace("|", "\\|") for c in r) + " |"
    return "\n".join([line(header), line(["---"] * len(header))] + [line(r) for r in body])


def _settings_line(report: dict) -> str:
    s = report["settings"]
    busy = s.get("busy_processes")
    return (f"{s['threads']} threads; training: median of {s['epochs']} epochs after "
            f"{s['warmup']} warm-up; mode: {s['mode']}"
            + (f"; {busy} foreign busy-looping process{'es' if busy > 1 else ''} running" if busy else ""))


def text(report: dict) -> str:
    m = report["machine"]
    parts = [
        f"densekit benchmarks — {m['cpu_model']}, {m['usable_cpus']} CPUs; {_settings_line(report)}",
        "",
        _text_table(*rows(report)),
        "",
        "peak (float32, 4096² product) and the training workloads' rates:",
        _text_table(*peak_rows(report)),
        "",
        "import time / peak RSS (data) per worker:",
        _text_table(*resource_rows(report)),
    ]
    probs = problems(report)
    if probs:
        parts += ["", "not measured:"] + [f"  {p}" for p in probs]
    busy = noisy(report)
    if busy:
        parts += ["", f"WARNING: other processes kept ≥{NOISY} CPU busy during: {', '.join(busy)}"]
    return "\n".join(parts)


def markdown(report: dict) -> str:
    m = report["machine"]
    s = report["settings"]
    machine = [
        f"- CPU: {m['cpu_model']} ({', '.join(m['cpu_flags']) or 'no AVX2'}); "
        f"{m['logical_cpus']} logical CPUs, {m['usable_cpus']} usable; {m['mem_total_gib']} GiB RAM",
        f"- OS: {m['os']}; load average at start: {m['load_avg_at_start']}",
        f"- Python {m['python']}, NumPy {m['numpy']}, torch {m['torch'] or 'not installed'}, "
        f"ONNX Runtime {m['onnxruntime'] or 'not installed'}, "
        f"densekit {m['densekit'] or 'not installed'} (git {m['git'] or 'n/a'})",
        f"- Threads: {m['threads']}",
        f"- Date: {m['date']}",
    ]
    parts = [
        "# densekit benchmark results",
        "",
        "Written by `python bench/run.py` (see bench/README.md); workloads and targets from "
        "BENCHMARKS.md. Absolute times drift on shared machines; the ratios, all measured in "
        "this one run, are the result. Time columns: the workload's unit (s/epoch for training, "
        "at the sample count shown); `ratio` is the check's left figure over its right one; "
        "`ref` is the same ratio from the peers measured in BENCHMARKS.md.",
        "",
        "## Machine",
        *machine,
        "",
        f"## Results ({_settings_line(report)}; command: `{s['command']}`)",
        "",
        _md_table(*rows(report)),
        "",
        "## The machine's peak and each training workload's rate",
        "",
        "Peak: the best rate of a 4096 × 4096 × 4096 float32 product among the libraries present, "
        "same threads; a workload's rate counts the FLOPs of its products (forward 2·b·in·out per "
        "Dense, backward twice that, no dX for the first layer) over its time per epoch.",
        "",
        _md_table(*peak_rows(report)),
        "",
        "## Import time / peak RSS (data) per worker",
        "",
        _md_table(*resource_rows(report)),
    ]
    probs = problems(report)
    if probs:
        parts += ["", "## Not measured", ""] + [f"- {p}" for p in probs]
    busy = noisy(report)
    if busy:
        parts += ["", f"**Warning:** other processes kept ≥{NOISY} CPU busy (CPUs in brackets) "
                  f"during: {', '.join(busy)}. Those figures are noisy; re-run on a quiet machine."]
    return "\n".join(parts) + "\n"


def write(report: dict, json_path: str, md_path: str) -> None:
    with open(json_path, "w") as f:
        json.dump(report, f, indent=1, ensure_ascii=False)
        f.write("\n")
    with open(md_path, "w") as f:
        f.write(markdown(report))
