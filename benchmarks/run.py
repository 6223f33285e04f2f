"""Throughput benchmark: synthetic Lago data -> `destination-hubspot-lago write` -> emulator.

    .venv/bin/python benchmarks/run.py            # the three sizes, writes benchmarks/RESULTS.md
    .venv/bin/python benchmarks/run.py --sizes small --latency 0.15

The emulator runs in its own process with HubSpot-like latency and a 190-per-10-s burst
budget; the connector runs as Airbyte runs it (a process reading stdin). Reported per size:

* efficiency = ideal time / actual time, ideal = minimum calls / budget, where the minimum
  is one upsert per 100 records of each object plus one association call per 100
  subscriptions/invoices (per customer object type);
* API calls per record, 429s, CPU time per record and peak RSS of the connector process.

Nothing here asserts wall time: these are figures to read, not tests.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from integration_tests.fake_lago import synthetic_dataset  # noqa: E402
from integration_tests.harness import catalog, connector_command  # noqa: E402

TOKEN = "pat-na1-bench-0000-0000-0000-000000000000"
SIZES = {  # customers, subscriptions per customer, invoices per customer
    "small": (5_000, 2.0, 10.0),
    "medium": (10_000, 2.0, 10.0),
    "large": (20_000, 2.0, 10.0),
}


@dataclass
class Result:
    size: str
    customers: int
    subscriptions: int
    invoices: int
    records_written: int
    wall_seconds: float
    min_calls: int
    api_calls: int
    rate_limited: int
    ideal_seconds: float
    efficiency: float
    calls_per_record: float
    cpu_us_per_record: float
    peak_rss_mb: float


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_input(path: Path, customers: int, subs: float, invoices: float) -> tuple[int, int, int]:
    dataset = synthetic_dataset(customers, subs, invoices, seed=42)
    counts = {}
    with path.open("w") as out:
        for stream, records in (
            ("customers", dataset.customers),
            ("subscriptions", dataset.subscriptions),
            ("invoices", dataset.invoices),
        ):
            n = 0
            for data in records:
                if stream == "customers":
                    # A first sync of a fresh portal: no links to pre-existing HubSpot records.
                    for entry in data.get("integration_customers") or []:
                        entry["external_customer_id"] = None
                record = {"stream": stream, "data": data, "emitted_at": 0}
                out.write(json.dumps({"type": "RECORD", "record": record}) + "\n")
                n += 1
            state = {
                "type": "STREAM",
                "id": len(counts) + 1,
                "stream": {"stream_descriptor": {"name": stream}, "stream_state": {}},
            }
            out.write(json.dumps({"type": "STATE", "state": state}) + "\n")
            counts[stream] = n
    return counts["customers"], counts["subscriptions"], counts["invoices"]


def start_emulator(port: int, latency: float, rate_limit: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "integration_tests.hubspot_emulator",
            "--port",
            str(port),
            "--token",
            TOKEN,
            "--latency",
            str(latency),
            "--rate-limit",
            str(rate_limit),
            "--daily-limit",
            "100000000",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the emulator did not start")


def parse_summary(stdout: str) -> dict[str, int]:
    figures: dict[str, int] = {}
    for line in stdout.splitlines():
        if '"Sync summary' not in line:
            continue
        text = json.loads(line)["log"]["message"]
        for obj in ("companies", "contacts", "subscriptions", "invoices"):
            m = re.search(rf"^{obj}\s+(\d+)\s+(\d+)\s+(\d+)", text, re.M)
            if m:
                figures[obj] = int(m.group(1)) + int(m.group(2))
        figures["api_calls"] = int(re.search(r"API calls: (\d+)", text).group(1))  # type: ignore[union-attr]
        figures["rate_limited"] = int(re.search(r"429s: (\d+)", text).group(1))  # type: ignore[union-attr]
        figures["associations"] = int(re.search(r"associations made: (\d+)", text).group(1))  # type: ignore[union-attr]
    return figures


def run_size(name: str, latency: float, rate_limit: int, workdir: Path) -> Result:
    customers, subs, invoices = SIZES[name]
    input_path = workdir / f"{name}.jsonl"
    n_customers, n_subs, n_invoices = write_input(input_path, customers, subs, invoices)
    port = free_port()
    emulator = start_emulator(port, latency, rate_limit)
    try:
        config = workdir / "config.json"
        config.write_text(
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
        catalog_path = workdir / "catalog.json"
        catalog_path.write_text(json.dumps(catalog()))
        with input_path.open("rb") as stdin, tempfile.TemporaryFile() as stdout:
            started = time.monotonic()
            proc = subprocess.Popen(
                connector_command("write", config, catalog_path),
                stdin=stdin,
                stdout=stdout,
                stderr=subprocess.DEVNULL,
                cwd=ROOT,
            )
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.monotonic() - started
            proc.returncode = os.waitstatus_to_exitcode(status)
            stdout.seek(0)
            out = stdout.read().decode()
    finally:
        emulator.terminate()
        emulator.wait()
    figures = parse_summary(out)
    if not figures:
        raise RuntimeError(f"{name}: no summary in the connector output:\n{out[-3000:]}")
    objects = ("companies", "contacts", "subscriptions", "invoices")
    written = sum(figures.get(o, 0) for o in objects)
    min_calls = sum(math.ceil(figures.get(o, 0) / 100) for o in objects)
    min_calls += math.ceil(figures["associations"] / 100)
    budget_per_second = rate_limit / 10
    ideal = min_calls / budget_per_second
    records = n_customers + n_subs + n_invoices
    return Result(
        size=name,
        customers=n_customers,
        subscriptions=n_subs,
        invoices=n_invoices,
        records_written=written,
        wall_seconds=round(wall, 1),
        min_calls=min_calls,
        api_calls=figures["api_calls"],
        rate_limited=figures["rate_limited"],
        ideal_seconds=round(ideal, 1),
        efficiency=round(ideal / wall, 3),
        calls_per_record=round(figures["api_calls"] / records, 4),
        cpu_us_per_record=round((usage.ru_utime + usage.ru_stime) / records * 1e6, 1),
        peak_rss_mb=round(usage.ru_maxrss / 1024, 1),
    )


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    system = f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu})"
    return f"{system}, Python {platform.python_version()}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--latency", type=float, default=0.15, help="seconds per HubSpot answer")
    parser.add_argument("--rate-limit", type=int, default=190, help="burst budget per 10 s")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results.json")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            result = run_size(size, args.latency, args.rate_limit, Path(tmp))
            print(json.dumps(asdict(result)), flush=True)
            results.append(result)
    args.out.write_text(
        json.dumps(
            {
                "machine": machine(),
                "latency_seconds": args.latency,
                "rate_limit_per_10s": args.rate_limit,
                "results": [asdict(r) for r in results],
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
