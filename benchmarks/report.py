"""Turn benchmarks/results.json into benchmarks/RESULTS.md and benchmarks/results.png."""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

TARGETS = {
    "efficiency": (">=", 0.90),
    "calls_per_record": ("<=", 0.021),
    "cpu_us_per_record": ("<=", 50.0),
    "peak_rss_mb": ("<", 200.0),
}


def met(metric: str, value: float) -> bool:
    op, target = TARGETS[metric]
    return {">=": value >= target, "<=": value <= target, "<": value < target}[op]


def plot(results: list[dict], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    results = [
        r
        for r in results
        if r.get("code", "current") == "current"
        and r["size"] != "fixed"
        and r.get("streams", "billing") == "core"
    ]
    records = [r["customers"] + r["subscriptions"] + r["invoices"] for r in results]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    panels = (
        ("efficiency", "efficiency (ideal / actual)", 0.90),
        ("cpu_us_per_record", "CPU µs per record", 50.0),
        ("peak_rss_mb", "peak RSS (MB)", 200.0),
    )
    for ax, (key, title, target) in zip(axes, panels, strict=True):
        ax.plot(records, [r[key] for r in results], marker="o")
        ax.axhline(target, color="red", linestyle="--", linewidth=1, label=f"target {target:g}")
        ax.set_xscale("log")
        ax.set_xlabel("records in the sync")
        ax.set_title(title)
        ax.set_ylim(bottom=0)
        ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def fixed_and_ratio(results: list[dict], baseline: str | None) -> list[str]:
    """The fixed cost of a sync, and current CPU / baseline CPU per size (same run)."""
    lines: list[str] = []
    for r in results:
        if r["size"] == "fixed":
            lines += [
                "",
                f"Fixed cost of a sync ({r.get('code', 'current')}: no records, model already "
                "deployed; start-up, preflight, deployment check, three checkpoints, exit): "
                f"{r['wall_seconds']} s "
                f"wall, {r['api_calls']} API calls.",
            ]
    if not baseline:
        return lines
    lines += [
        "",
        f"CPU side by side with revision `{baseline}` (alternating runs, same machine, same "
        "emulator; target ratio ≤ 0.6):",
        "",
        "| size | records | baseline CPU µs/record | current CPU µs/record | ratio |"
        " baseline calls | current calls |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    by_key = {(r["size"], r.get("code", "current"), r.get("streams")): r for r in results}
    for r in results:
        old = by_key.get((r["size"], baseline, "core"))
        if (
            r.get("code", "current") != "current"
            or r.get("streams") != "core"
            or old is None
            or r["size"] == "fixed"
        ):
            continue
        records = r["customers"] + r["subscriptions"] + r["invoices"]
        ratio = r["cpu_us_per_record"] / old["cpu_us_per_record"]
        lines.append(
            f"| {r['size']} | {records} | {old['cpu_us_per_record']} | "
            f"{r['cpu_us_per_record']} | {ratio:.2f}{'' if ratio <= 0.6 else ' ✗'} | "
            f"{old['api_calls']} | {r['api_calls']} |"
        )
    return lines + billing_cost(results)


def billing_cost(results: list[dict]) -> list[str]:
    """What docs/product.md §6 adds: the current code on the input with plans, fees and wallets
    against the same code on the input without them."""
    by_key = {(r["size"], r.get("streams")): r for r in results if r.get("code") == "current"}
    rows = []
    for (size, streams), full in by_key.items():
        core = by_key.get((size, "core"))
        if streams != "billing" or core is None or size == "fixed":
            continue
        extra_calls = full["api_calls"] - core["api_calls"]
        share = 100 * extra_calls / max(core["api_calls"], 1)
        rows.append(
            f"| {size} | {full['billing_records']} | {full['rollups']} | "
            f"{full['late_plan_values']} | {full['invoice_links']} | {core['api_calls']} | "
            f"{full['api_calls']} | +{extra_calls} ({share:.0f} %) | "
            f"{core['wall_seconds']} | {full['wall_seconds']} | "
            f"+{full['wall_seconds'] - core['wall_seconds']:.1f} |"
        )
    if not rows:
        return []
    return [
        "",
        "What the billing values cost (current code; the same input with and without the "
        "plans, fees and wallets streams; roll-ups are computed from customers, subscriptions "
        "and invoices in both, the links and late plan values need the billing streams):",
        "",
        "| size | billing records | roll-ups | late plan values | invoice links | calls without "
        "| calls with | extra calls | wall s without | wall s with | extra wall s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
    ]


def main() -> int:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "results.json"
    data = json.loads(source.read_text())
    results = data["results"]
    has_plot = plot(results, HERE / "results.png")
    lines = [
        "# Benchmark results",
        "",
        "Produced by `./scripts/benchmark` (benchmarks/run.py, then benchmarks/report.py).",
        f"Machine: {data['machine']}.",
        f"HubSpot emulator in its own process: {data['latency_seconds'] * 1000:.0f} ms per answer, "
        f"burst budget {data['rate_limit_per_10s']} requests per 10 s.",
        "",
        "| size | code | input | customers | subscriptions | invoices | wall s | ideal s | "
        "efficiency | API calls | calls/record | 429s | CPU µs/record | peak RSS MB |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        if r["size"] == "fixed":
            continue
        flags = {k: "" if met(k, r[k]) else " ✗" for k in TARGETS}
        lines.append(
            f"| {r['size']} | {r.get('code', 'current')} | {r.get('streams', 'billing')} | "
            f"{r['customers']} | "
            f"{r['subscriptions']} | {r['invoices']} | "
            f"{r['wall_seconds']} | {r['ideal_seconds']} | "
            f"{r['efficiency']}{flags['efficiency']} | "
            f"{r['api_calls']} | {r['calls_per_record']}{flags['calls_per_record']} | "
            f"{r['rate_limited']} | {r['cpu_us_per_record']}{flags['cpu_us_per_record']} | "
            f"{r['peak_rss_mb']}{flags['peak_rss_mb']} |"
        )
    lines += fixed_and_ratio(results, data.get("baseline"))
    lines += [
        "",
        "Targets: efficiency ≥ 0.90, calls per record ≤ 0.021, CPU ≤ 50 µs per record, "
        "peak RSS < 200 MB and flat as the sync grows (✗ marks a miss).",
        "",
        "Definitions: *ideal* = minimum calls ÷ budget, the minimum being one upsert per 100 "
        "written records of each object plus one association call per 100 associations; "
        "*efficiency* = ideal ÷ wall time of the whole `write` process (start-up, model "
        "deployment and checkpoints included); CPU and RSS are the connector process's own "
        "(`wait4` rusage), per record received.",
    ]
    if has_plot:
        lines += ["", "![efficiency, CPU and memory by size](results.png)"]
    notes = HERE / "NOTES.md"
    if notes.exists():
        lines += ["", notes.read_text().strip()]
    (HERE / "RESULTS.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {HERE / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
