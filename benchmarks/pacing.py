"""Pacing benchmark (docs/product.md §9): the same sync under each way HubSpot may count
association batches, two syncs sharing one key, and a rerun right after a killed sync.

    .venv/bin/python benchmarks/pacing.py --baseline 8f4c32b            # tiny and small
    .venv/bin/python benchmarks/pacing.py --sizes tiny --lanes exempt

Writes benchmarks/pacing.json and benchmarks/PACING.md. The emulator runs in its own process
with HubSpot-like latency and a 190-per-10-s burst budget, as in benchmarks/run.py; its
``--assoc-lane`` decides how it counts association batch calls:

* ``shared`` — in the burst window (how the connector used to assume HubSpot counts them);
* ``exempt`` — not at all (what the 2026-09 specs' ``x-hubspot-rate-limit-exemptions`` say);
* ``separate:N`` — in a window of N per 10 s of their own.

Scenarios, each current code and, with ``--baseline``, that revision alternating with it:

* ``lanes`` — one sync per lane and size;
* ``two-syncs`` — two syncs at once on one key (different customers), shared lane: their calls
  together against the ceiling (calls HubSpot accepted / (wall × budget per second));
* ``rerun-after-kill`` — a sync SIGKILLed once its window is full, and at once a rerun on the
  same key: the rerun's 429s.

Nothing here asserts wall time: these are figures to read, not tests.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.run import (  # noqa: E402
    INPUTS,
    SIZES,
    TOKEN,
    baseline_code,
    connector_env,
    count_input,
    free_port,
    machine,
    parse_summary,
    run_size,
    start_emulator,
    write_input,
)
from tests.support.harness import catalog, connector_command  # noqa: E402

KILL_AFTER_SECONDS = 12.0  # long enough for the window to be full


@dataclass
class Together:
    scenario: str
    size: str
    code: str
    records: int  # per sync
    wall_seconds: float  # the later of the two to finish (the rerun's own, after a kill)
    api_calls: int
    rate_limited: int
    ceiling_share: float  # accepted calls / (wall × budget per second)


def _config(workdir: Path, port: int, name: str) -> Path:
    path = workdir / f"config-{name}.json"
    path.write_text(
        json.dumps(
            {
                "credentials": {
                    "credentials_title": "Private App Credentials",
                    "access_token": TOKEN,
                },
                "api_base_url": f"http://127.0.0.1:{port}",
            }
        )
    )
    return path


def _input(workdir: Path, size: str, seed: int) -> Path:
    path = workdir / f"{size}-core-{seed}.jsonl"
    if not path.exists():
        customers, subs, invoices = SIZES[size]
        write_input(path, customers, subs, invoices, billing=False, seed=seed)
    return path


def _start(code_dir: Path, config: Path, catalog_path: Path, stdin: Path, out: Any) -> Any:
    return subprocess.Popen(
        connector_command("write", config, catalog_path),
        stdin=stdin.open("rb"),
        stdout=out,
        stderr=subprocess.DEVNULL,
        cwd=code_dir,
        env=connector_env(code_dir),
    )


def _figures(out: Any) -> dict[str, int]:
    out.seek(0)
    return parse_summary(out.read().decode())


def two_syncs(size: str, latency: float, rate: int, workdir: Path, code: str, code_dir: Path):
    port = free_port()
    emulator = start_emulator(port, latency, rate, "shared")
    catalog_path = workdir / "catalog.json"
    catalog_path.write_text(json.dumps(catalog(INPUTS["core"])))
    inputs = [_input(workdir, size, seed) for seed in (42, 43)]
    try:
        outs = [tempfile.TemporaryFile() for _ in inputs]  # noqa: SIM115 - closed with the run
        started = time.monotonic()
        procs = [
            _start(code_dir, _config(workdir, port, f"s{i}"), catalog_path, path, out)
            for i, (path, out) in enumerate(zip(inputs, outs, strict=True))
        ]
        for proc in procs:
            proc.wait()
        wall = time.monotonic() - started
        figures = [_figures(out) for out in outs]
    finally:
        emulator.terminate()
        emulator.wait()
    calls = sum(f.get("api_calls", 0) for f in figures)
    limited = sum(f.get("rate_limited", 0) for f in figures)
    records = sum(count_input(inputs[0]))
    return Together(
        "two-syncs",
        size,
        code,
        records,
        round(wall, 1),
        calls,
        limited,
        round((calls - limited) / (wall * rate / 10), 3),
    )


def rerun_after_kill(
    size: str, latency: float, rate: int, workdir: Path, code: str, code_dir: Path
) -> Together:
    port = free_port()
    emulator = start_emulator(port, latency, rate, "shared")
    catalog_path = workdir / "catalog.json"
    catalog_path.write_text(json.dumps(catalog(INPUTS["core"])))
    path = _input(workdir, size, 42)
    config = _config(workdir, port, "kill")
    try:
        with tempfile.TemporaryFile() as first:
            killed = _start(code_dir, config, catalog_path, path, first)
            time.sleep(KILL_AFTER_SECONDS)
            killed.send_signal(signal.SIGKILL)
            killed.wait()
        with tempfile.TemporaryFile() as out:
            started = time.monotonic()
            _start(code_dir, config, catalog_path, path, out).wait()
            wall = time.monotonic() - started
            figures = _figures(out)
    finally:
        emulator.terminate()
        emulator.wait()
    calls, limited = figures.get("api_calls", 0), figures.get("rate_limited", 0)
    return Together(
        "rerun-after-kill",
        size,
        code,
        sum(count_input(path)),
        round(wall, 1),
        calls,
        limited,
        round((calls - limited) / (wall * rate / 10), 3),
    )


def report(data: dict[str, Any]) -> str:
    lines = [
        "# Pacing benchmark",
        "",
        "Produced by `.venv/bin/python benchmarks/pacing.py` (docs/product.md §9).",
        f"Machine: {data['machine']}.",
        f"HubSpot emulator in its own process: {data['latency'] * 1000:.0f} ms per answer, burst "
        f"budget {data['rate']} requests per 10 s. Input: customers, subscriptions, invoices.",
        "",
        "## One sync per way of counting association batches",
        "",
        "| size | lane | code | records | wall s | API calls | 429s | CPU µs/record "
        "| wall vs baseline |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    runs = data["lanes"]
    for r in runs:
        base = next(
            (
                b
                for b in runs
                if b["size"] == r["size"]
                and b["assoc_lane"] == r["assoc_lane"]
                and b["code"] == data["baseline"]
            ),
            None,
        )
        ratio = f"{r['wall_seconds'] / base['wall_seconds']:.2f}" if base and r is not base else ""
        records = r["customers"] + r["subscriptions"] + r["invoices"]
        lines.append(
            f"| {r['size']} | {r['assoc_lane']} | {r['code']} | {records} | {r['wall_seconds']} | "
            f"{r['api_calls']} | {r['rate_limited']} | {r['cpu_us_per_record']} | {ratio} |"
        )
    lines += [
        "",
        "## Syncs sharing one key (shared lane)",
        "",
        "`two-syncs`: two syncs at once, each its own customers; the ceiling share is the calls "
        "HubSpot accepted from both over the wall time of the later one, against the budget. "
        f"`rerun-after-kill`: a sync killed after {KILL_AFTER_SECONDS:g} s, then at once a "
        "rerun of the same input; its own figures.",
        "",
        "| scenario | size | code | records per sync | wall s | API calls | 429s | ceiling share |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for t in data["together"]:
        lines.append(
            f"| {t['scenario']} | {t['size']} | {t['code']} | {t['records']} | "
            f"{t['wall_seconds']} | {t['api_calls']} | {t['rate_limited']} | "
            f"{t['ceiling_share']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", nargs="+", default=["tiny", "small"], choices=list(SIZES))
    parser.add_argument("--lanes", nargs="+", default=["shared", "exempt", "separate:100"])
    parser.add_argument(
        "--scenarios",
        nargs="+",
        default=["lanes", "two-syncs", "rerun-after-kill"],
        choices=["lanes", "two-syncs", "rerun-after-kill"],
    )
    parser.add_argument("--baseline", metavar="REV")
    parser.add_argument("--latency", type=float, default=0.15)
    parser.add_argument("--rate-limit", type=int, default=190)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "pacing.json")
    args = parser.parse_args()
    data: dict[str, Any] = {
        "machine": machine(),
        "latency": args.latency,
        "rate": args.rate_limit,
        "baseline": None,
        "lanes": [],
        "together": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        codes: list[tuple[str, Path]] = [("current", ROOT)]
        if args.baseline:
            codes.insert(0, baseline_code(args.baseline, Path(tmp, "baseline")))
            data["baseline"] = codes[0][0]
        work = Path(tmp)
        for size in args.sizes:
            if "lanes" in args.scenarios:
                for lane in args.lanes:
                    for code, code_dir in codes:
                        result = run_size(
                            size, args.latency, args.rate_limit, work, code_dir, code, "core", lane
                        )
                        print(json.dumps(asdict(result)), flush=True)
                        data["lanes"].append(asdict(result))
            for scenario, run in (("two-syncs", two_syncs), ("rerun-after-kill", rerun_after_kill)):
                if scenario not in args.scenarios:
                    continue
                for code, code_dir in codes:
                    together = run(size, args.latency, args.rate_limit, work, code, code_dir)
                    print(json.dumps(asdict(together)), flush=True)
                    data["together"].append(asdict(together))
    args.out.write_text(json.dumps(data, indent=2) + "\n")
    (ROOT / "benchmarks" / "PACING.md").write_text(report(data))
    print(f"wrote {args.out} and benchmarks/PACING.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
