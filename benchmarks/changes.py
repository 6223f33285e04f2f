"""Change-only syncs benchmark (docs/product.md §10): the steady state of a scheduled sync.

    .venv/bin/python benchmarks/changes.py                    # medium: 130k records
    .venv/bin/python benchmarks/changes.py --sizes tiny --ledger-entries 1000000
    .venv/bin/python benchmarks/changes.py --baseline main~3 --rounds 4   # side by side

On one emulator (its own process, HubSpot-like latency, the 190-per-10-s burst budget, as in
benchmarks/run.py) and one ledger directory, in this order:

1. ``first`` — the first sync with change tracking on: a full rewrite (no ledger yet);
2. ``unchanged`` — the same input again, three times: nothing to write;
3. ``1% changed`` — 1 % of the customers, subscriptions and invoices changed;
4. ``full rewrite`` — that same input with change tracking off, on the same portal: what every
   sync costs without a ledger;
5. with ``--ledger-entries N``: ``unchanged, N-entry ledger`` — the ledger padded to N entries
   (entries of records that are not in the input), then the unchanged input again: memory and
   CPU must not grow with the ledger.

Reported: API calls, records written, wall time, CPU time per record and peak RSS of the
connector process; of that CPU, the part an empty sync costs (the input's STATE lines alone,
run just before the step on a copy of its ledger: what a sync costs before any record); and
before each step this machine's speed: the CPU time one invoice line
of the input takes to parse (``orjson.loads``, 500 lines at a time, best of three over
20,000). A shared machine's speed drifts (by 40 % within an hour, seen here): compare CPU
figures of steps or runs taken at the same speed. Writes benchmarks/changes.json and
benchmarks/CHANGES.md.

With ``--baseline REV`` it measures instead the unchanged step of the code at git revision REV
and of the current code side by side: each with its own emulator and ledger, a first sync and
one unchanged sync each, then ``--rounds`` unchanged syncs of one and the other in turn, so
that both meet the machine at the same speed. It prints each round's CPU µs per record and
the ratio current / baseline, and writes ``changes_side_by_side.json`` (not CHANGES.md). A
change worth a few percent shows there long before it shows in two separate runs. Nothing here
asserts anything: these are figures to read, not tests.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.run import (  # noqa: E402
    CORE_STREAMS,
    SIZES,
    TOKEN,
    baseline_code,
    connector_env,
    free_port,
    machine,
    parse_summary,
    start_emulator,
    write_input,
)
from tests.support.harness import catalog, connector_command  # noqa: E402

CHANGED_SHARE = 0.01


@dataclass
class Step:
    size: str
    step: str
    records: int
    written: int
    unchanged: int
    api_calls: int
    wall_seconds: float
    cpu_us_per_record: float
    peak_rss_mb: float
    ledger_entries: int
    parse_us_per_invoice: float  # this machine's speed just before the step (see the text)
    # CPU of an empty sync (the input's STATE lines alone) just before the step, on a copy of
    # the step's ledger, per record of the step: the part of its CPU no record costs
    empty_sync_us_per_record: float = 0.0


def invoice_lines(input_path: Path, lines: int = 20_000) -> list[bytes]:
    """The first ``lines`` invoice lines of ``input_path``: what ``machine_speed`` parses."""
    sample: list[bytes] = []
    with input_path.open("rb") as source:
        for line in source:
            if b'"stream": "invoices"' in line:
                sample.append(line)
                if len(sample) == lines:
                    break
    return sample


def machine_speed(sample: list[bytes]) -> float:
    """CPU µs to parse one of ``sample``'s lines (a speed reading): parsed 500 at a time, each
    500 kept until the next (as the connector's reader hands them over), best of three."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for at in range(0, len(sample), 500):
            chunk = [orjson.loads(line) for line in sample[at : at + 500]]
        del chunk
        best = min(best, time.process_time() - started)
    return round(best / max(len(sample), 1) * 1e6, 2)


def changed_copy(source: Path, target: Path, share: float, seed: int = 7) -> int:
    """``source`` with ``share`` of its customers, subscriptions and invoices changed."""
    rng = random.Random(seed)
    changed = 0
    with source.open() as lines, target.open("w") as out:
        for line in lines:
            if line.startswith('{"type": "RECORD"') and rng.random() < share:
                message = json.loads(line)
                data = message["record"]["data"]
                stream = message["record"]["stream"]
                if stream == "customers":
                    data["name"] = f"{data.get('name')} (renamed)"
                elif stream == "subscriptions":
                    data["name"] = f"{data.get('name') or 'Subscription'} (renamed)"
                elif stream == "invoices":
                    data["payment_status"] = (
                        "failed" if data.get("payment_status") != "failed" else "succeeded"
                    )
                else:
                    out.write(line)
                    continue
                changed += 1
                line = json.dumps(message) + "\n"
            out.write(line)
    return changed


def ledger_entries(ledger_dir: Path) -> int:
    pointers = list(ledger_dir.rglob("CURRENT.json"))
    if not pointers:
        return 0
    return int(json.loads(pointers[0].read_text()).get("entries", 0))


def pad_ledger(ledger_dir: Path, entries: int) -> None:
    """Pad the ledger in force to ``entries`` entries (random keys: records not in the input)
    and fix its pointer's figures, as if it came from a larger account."""
    (pointer,) = ledger_dir.rglob("CURRENT.json")
    header = json.loads(pointer.read_text())
    path = pointer.parent / header["name"]
    rng = random.Random(3)
    with sqlite3.connect(path) as db:
        (have,) = db.execute("SELECT count(*) FROM entries").fetchone()
        missing = max(entries - have, 0)
        for start in range(0, missing, 100_000):
            rows = [
                (rng.getrandbits(63), str(rng.getrandbits(40)), rng.getrandbits(63), None, None)
                for _ in range(min(100_000, missing - start))
            ]
            db.executemany("INSERT OR IGNORE INTO entries VALUES (?, ?, ?, ?, ?)", rows)
    import hashlib

    header["entries"] = entries
    if "bytes" in header:
        header["bytes"] = path.stat().st_size
    if "sha256" in header:
        header["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    pointer.write_text(json.dumps(header, indent=1, sort_keys=True) + "\n")


def stamped(input_path: Path, workdir: Path) -> Path:
    """A copy of ``input_path`` whose records were emitted now, as a source's are each sync:
    the lines of two syncs differ in ``emitted_at`` even where their records do not."""
    now = b'"emitted_at": %d}' % int(time.time() * 1000)
    target = workdir / "stamped.jsonl"
    with input_path.open("rb") as source, target.open("wb") as out:
        for line in source:
            out.write(line.replace(b'"emitted_at": 0}', now))
    return target


def run_write(
    port: int,
    workdir: Path,
    input_path: Path,
    ledger_dir: Path | None,
    records: int,
    code: Path = ROOT,
) -> tuple[dict[str, int], float, float, float, str]:
    """One ``write`` of ``input_path`` (stamped now) by the connector in ``code``."""
    input_path = stamped(input_path, workdir)
    config = {
        "credentials": {"credentials_title": "Private App Credentials", "access_token": TOKEN},
        "api_base_url": f"http://127.0.0.1:{port}",
    }
    if ledger_dir is not None:
        config["change_tracking"] = {"storage_type": "Local", "path": str(ledger_dir)}
    config_path = workdir / "config.json"
    config_path.write_text(json.dumps(config))
    catalog_path = workdir / "catalog.json"
    catalog_path.write_text(json.dumps(catalog(CORE_STREAMS)))
    with input_path.open("rb") as stdin, tempfile.TemporaryFile() as stdout:
        started = time.monotonic()
        proc = subprocess.Popen(
            connector_command("write", config_path, catalog_path),
            stdin=stdin,
            stdout=stdout,
            stderr=subprocess.DEVNULL,
            cwd=code,
            env=connector_env(code),
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
        stdout.seek(0)
        out = stdout.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"the sync failed:\n{out[-3000:]}")
    cpu = (usage.ru_utime + usage.ru_stime) / max(records, 1) * 1e6
    return parse_summary(out), wall, cpu, usage.ru_maxrss / 1024, out


def unchanged_of(out: str) -> int:
    for line in out.splitlines():
        if "unchanged since the last sync" in line:
            text = json.loads(line)["log"]["message"]
            marker = "unchanged since the last sync (not written): "
            start = text.index(marker) + len(marker)
            return int(text[start:].split(" ", 1)[0])
    return 0


def states_only(input_path: Path, target: Path) -> Path:
    """The STATE lines of ``input_path``: an empty sync's input (what a sync costs without a
    record: start-up, the preflight and model check, the drift sample, the ledger)."""
    with input_path.open("rb") as source, target.open("wb") as out:
        for line in source:
            if line.startswith(b'{"type": "STATE"'):
                out.write(line)
    return target


def empty_sync(
    port: int, workdir: Path, states: Path, ledger_dir: Path | None, records: int
) -> float:
    """CPU µs per record (of ``records``) of an empty sync, on a copy of ``ledger_dir`` (which
    an empty sync would leave without witnesses for the next sync's drift sample)."""
    copy = None
    if ledger_dir is not None and ledger_dir.exists():
        copy = workdir / "ledger-of-empty-sync"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(ledger_dir, copy)
    try:
        empty = workdir / "empty"
        empty.mkdir(exist_ok=True)
        return run_write(port, empty, states, copy, records)[2]
    finally:
        if copy is not None:
            shutil.rmtree(copy, ignore_errors=True)


def base_input(size: str, path: Path) -> int:
    """The benchmark's input of ``size`` written to ``path``; its number of records."""
    customers, subs, invoices = SIZES[size]
    write_input(path, customers, subs, invoices, billing=False)
    return sum(1 for line in path.open() if line.startswith('{"type": "RECORD"'))


def run_size(size: str, latency: float, rate_limit: int, pad: int | None) -> list[Step]:
    steps: list[Step] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        base, changed = workdir / "input.jsonl", workdir / "changed.jsonl"
        records = base_input(size, base)
        changed_copy(base, changed, CHANGED_SHARE)
        sample = invoice_lines(base)
        states = states_only(base, workdir / "states.jsonl")
        ledger_dir = workdir / "ledger"
        port = free_port()
        emulator = start_emulator(port, latency, rate_limit)
        try:
            plan: list[tuple[str, Path, Path | None]] = [
                ("first", base, ledger_dir),
                # three times: CPU time on a shared machine varies by some 10 % run to run
                ("unchanged", base, ledger_dir),
                ("unchanged, again", base, ledger_dir),
                ("unchanged, a third time", base, ledger_dir),
                ("1% changed", changed, ledger_dir),
                ("full rewrite", changed, None),
            ]
            if pad:
                plan.append((f"unchanged, {pad}-entry ledger", changed, ledger_dir))
            for name, input_path, ledger in plan:
                if name.endswith("-entry ledger"):
                    pad_ledger(ledger_dir, pad or 0)
                entries_before = ledger_entries(ledger_dir) if ledger else 0
                fixed = empty_sync(port, workdir, states, ledger, records)
                speed = machine_speed(sample)
                figures, wall, cpu, rss, out = run_write(port, workdir, input_path, ledger, records)
                written = sum(
                    figures.get(o, 0)
                    for o in ("companies", "contacts", "subscriptions", "invoices")
                )
                step = Step(
                    size=size,
                    step=name,
                    records=records,
                    written=written,
                    unchanged=unchanged_of(out),
                    api_calls=figures.get("api_calls", 0),
                    wall_seconds=round(wall, 1),
                    cpu_us_per_record=round(cpu, 1),
                    peak_rss_mb=round(rss, 1),
                    ledger_entries=entries_before,
                    parse_us_per_invoice=speed,
                    empty_sync_us_per_record=round(fixed, 1),
                )
                print(step, flush=True)
                steps.append(step)
        finally:
            emulator.terminate()
            emulator.wait()
    return steps


def side_by_side(
    size: str, latency: float, rate_limit: int, baseline: str, rounds: int
) -> dict[str, Any]:
    """The unchanged step of ``baseline`` and of the current code in turn (see the text)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        revision, baseline_dir = baseline_code(baseline, root / "baseline")
        base = root / "input.jsonl"
        records = base_input(size, base)
        sides = {revision: baseline_dir, "current": ROOT}
        emulators: list[subprocess.Popen[bytes]] = []
        figures: dict[str, list[float]] = {name: [] for name in sides}
        try:
            places: dict[str, tuple[int, Path]] = {}
            for name, code in sides.items():
                port = free_port()
                emulators.append(start_emulator(port, latency, rate_limit))
                workdir = root / f"work-{len(places)}"
                workdir.mkdir()
                places[name] = (port, workdir)
                for step in ("first", "unchanged (warm-up)"):
                    _, _, cpu, _, _ = run_write(
                        port, workdir, base, workdir / "ledger", records, code
                    )
                    print(f"{name}: {step}: {cpu:.1f} µs/record", flush=True)
            for number in range(1, rounds + 1):
                for name, code in sides.items():
                    port, workdir = places[name]
                    _, _, cpu, _, _ = run_write(
                        port, workdir, base, workdir / "ledger", records, code
                    )
                    figures[name].append(round(cpu, 1))
                ours, theirs = figures["current"][-1], figures[revision][-1]
                print(
                    f"round {number}: {revision} {theirs} µs/record, current {ours} "
                    f"({ours / theirs:.2f})",
                    flush=True,
                )
        finally:
            for emulator in emulators:
                emulator.terminate()
                emulator.wait()
    ratios = [c / b for c, b in zip(figures["current"], figures[revision], strict=True)]
    return {
        "size": size,
        "records": records,
        "baseline": revision,
        "baseline_cpu_us_per_record": figures[revision],
        "current_cpu_us_per_record": figures["current"],
        "ratio_mean": round(sum(ratios) / len(ratios), 3),
    }


def report(steps: list[Step], latency: float, rate_limit: int) -> str:
    lines = [
        "# Change-only syncs benchmark",
        "",
        "Produced by `.venv/bin/python benchmarks/changes.py` (docs/product.md §10).",
        f"Machine: {machine()}.",
        f"HubSpot emulator in its own process: {latency * 1000:.0f} ms per answer, burst budget "
        f"{rate_limit} requests per 10 s. Input: customers, subscriptions, invoices; the ledger "
        "in a local directory. Steps in order, on one portal: the first sync (no ledger yet), "
        "the same input again, 1 % of the records changed, that input with change tracking "
        "off (what every sync costs without a ledger), and with `--ledger-entries` the "
        "unchanged input against a ledger padded to that many entries. Of each step's CPU per "
        "record, the part an empty sync costs (the input's STATE lines alone, just before the "
        "step, on a copy of its ledger: start-up, the preflight and model check, the drift "
        "sample, the ledger read and saved), per record of the step. The last column is the "
        "machine's speed just before the step: CPU µs to parse one invoice line of the input.",
        "",
        "| size | step | records | ledger entries before | written | unchanged | API calls | "
        "wall s | CPU µs/record | of which an empty sync | peak RSS MB | "
        "speed: µs/invoice parse |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in steps:
        lines.append(
            f"| {s.size} | {s.step} | {s.records} | {s.ledger_entries} | {s.written} | "
            f"{s.unchanged} | {s.api_calls} | {s.wall_seconds} | {s.cpu_us_per_record} | "
            f"{s.empty_sync_us_per_record} | {s.peak_rss_mb} | {s.parse_us_per_invoice} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", nargs="+", default=["medium"], choices=list(SIZES))
    parser.add_argument("--latency", type=float, default=0.15)
    parser.add_argument("--rate-limit", type=int, default=190)
    parser.add_argument("--ledger-entries", type=int, default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks")
    parser.add_argument("--baseline", help="a git revision: its unchanged step side by side")
    parser.add_argument("--rounds", type=int, default=4, help="with --baseline")
    args = parser.parse_args()
    if args.baseline:
        results = [
            side_by_side(size, args.latency, args.rate_limit, args.baseline, args.rounds)
            for size in args.sizes
        ]
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "changes_side_by_side.json").write_text(json.dumps(results, indent=1) + "\n")
        for result in results:
            print(
                f"{result['size']}: current / {result['baseline']} = {result['ratio_mean']} "
                f"(mean of {len(result['current_cpu_us_per_record'])} rounds)"
            )
        return 0
    steps: list[Step] = []
    for size in args.sizes:
        steps += run_size(size, args.latency, args.rate_limit, args.ledger_entries)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "changes.json").write_text(json.dumps([asdict(s) for s in steps], indent=1) + "\n")
    (args.out / "CHANGES.md").write_text(report(steps, args.latency, args.rate_limit))
    print(report(steps, args.latency, args.rate_limit))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
