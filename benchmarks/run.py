"""Throughput benchmark: synthetic Lago data -> `destination-hubspot-lago write` -> emulator.

    .venv/bin/python benchmarks/run.py            # every size, writes benchmarks/results.json
    .venv/bin/python benchmarks/run.py --sizes small --latency 0.15
    .venv/bin/python benchmarks/run.py --baseline main~5   # that revision side by side

The emulator runs in its own process with HubSpot-like latency and a 190-per-10-s burst
budget; the connector runs as Airbyte runs it (a process reading stdin). Reported per size:

* efficiency = ideal time / actual time, ideal = minimum calls / budget, where the minimum
  is one upsert per 100 records of each object plus one association call per 100
  subscriptions/invoices (per customer object type), and for §6 (the input also has plans,
  fees and wallets) one roll-up update per 100 customers, one late plan-value upsert per 100
  subscriptions written before their plan and one create per 100 invoice-subscription links;
* API calls per record, 429s, CPU time per record and peak RSS of the connector process.

With ``--baseline REV`` every size also runs the connector as it was at git revision REV
(exported to a temporary folder, same interpreter, same emulator), alternating with the
current code, so both are measured on the same machine in the same minutes; the report then
gives the CPU ratio current / baseline. Absolute CPU figures do not carry across machines or
days; the ratio does. A ``fixed`` run (no records) measures the fixed cost of a sync:
start-up, preflight, model deployment, checkpoint and exit.

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
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.fake_lago import synthetic_dataset  # noqa: E402
from tests.support.fake_lago.data import fee_record, wallet_record  # noqa: E402
from tests.support.harness import catalog, connector_command  # noqa: E402

TOKEN = "pat-na1-bench-0000-0000-0000-000000000000"
CORE_STREAMS = ("customers", "subscriptions", "invoices")
INPUT_STREAMS = (*CORE_STREAMS, "plans", "fees", "wallets")
# "core": the three streams every revision writes (a like-for-like input for the CPU ratio);
# "billing": the same plus plans, fees and wallets (docs/product.md §6; its extra cost).
INPUTS = {"core": CORE_STREAMS, "billing": INPUT_STREAMS}
SIZES = {  # customers, subscriptions per customer, invoices per customer
    "tiny": (2_000, 2.0, 10.0),
    "small": (5_000, 2.0, 10.0),
    "medium": (10_000, 2.0, 10.0),
    "large": (20_000, 2.0, 10.0),
}


@dataclass
class Result:
    size: str
    code: str  # "current" or the baseline revision
    streams: str  # "core" or "billing" (see INPUTS)
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
    # docs/product.md §6 after the last checkpoint (0 for revisions without it).
    assoc_lane: str = "shared"  # how the emulator counted association batches (see --assoc-lane)
    billing_records: int = 0  # plans, fees, wallets in the input
    rollups: int = 0  # customers whose roll-ups were written
    late_plan_values: int = 0  # subscriptions written before their plan, updated after it
    invoice_links: int = 0  # invoice <-> subscription associations


def connector_env(code_dir: Path) -> dict[str, str]:
    """The environment a connector runs in here: ``code_dir``'s package first, and its bytecode
    cached as an installed package's is (pip compiles it; this shell may say not to)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPATH": str(code_dir)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def billing_streams(dataset: Any) -> list[tuple[str, Iterable[dict[str, Any]]]]:
    """docs/product.md §6's streams, in the source's order (after subscriptions and invoices, so
    plan values of subscriptions without a nested plan are a late update): the plans, a
    subscription fee per subscription invoice (naming the customer's first subscription),
    and a wallet for every third customer."""
    subscriptions_of = dataset._subscription_index  # external id -> subscription indexes

    def fees() -> Iterator[dict[str, Any]]:
        for invoice in dataset.invoices:
            owned = subscriptions_of.get(invoice["customer"]["external_id"]) or []
            if invoice.get("invoice_type") != "subscription" or not owned:
                yield fee_record(invoice, None, None)
                continue
            subscription = dataset.subscriptions[owned[0]]
            yield fee_record(invoice, subscription, subscription["plan_code"])

    def wallets() -> Iterator[dict[str, Any]]:
        for i, customer in enumerate(dataset.customers):
            if i % 3 == 0:
                yield wallet_record(customer, "Prepaid credits", f"{i % 500}.5")

    return [("plans", dataset.plans), ("fees", fees()), ("wallets", wallets())]


def write_input(
    path: Path,
    customers: int,
    subs: float,
    invoices: float,
    billing: bool = True,
    seed: int = 42,
) -> tuple[int, int, int]:
    dataset = synthetic_dataset(customers, subs, invoices, seed=seed)
    counts = {}
    with path.open("w") as out:
        for stream, records in [
            ("customers", dataset.customers),
            ("subscriptions", dataset.subscriptions),
            ("invoices", dataset.invoices),
            *(billing_streams(dataset) if billing else []),
        ]:
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


def start_emulator(
    port: int, latency: float, rate_limit: int, assoc_lane: str = "shared"
) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.hubspot_emulator",
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
            "--assoc-lane",
            assoc_lane,
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
        # The summary's wording may differ between revisions: a figure not found counts 0.
        for key, pattern in (
            ("api_calls", r"API calls: (\d+)"),
            ("rate_limited", r"429s: (\d+)"),
            ("associations", r"associations made: (\d+)"),
            ("rollups", r"roll-ups of (\d+) customers"),
            ("late_plan_values", r"plan values of (\d+) subscriptions"),
            ("invoice_links", r"(\d+) invoice-subscription associations"),
        ):
            found = re.search(pattern, text)
            figures[key] = int(found.group(1)) if found else 0
    return figures


def baseline_code(rev: str, into: Path) -> tuple[str, Path]:
    """(short revision, its exported tree in ``into``): the baseline a run compares with."""
    revision = subprocess.run(
        ["git", "rev-parse", "--short", rev], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    return revision, export_revision(rev, into)


def export_revision(rev: str, into: Path) -> Path:
    """The tree of ``rev`` in ``into`` (git archive: no checkout of ours is touched)."""
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", "--format=tar", rev], cwd=ROOT, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def run_size(
    name: str,
    latency: float,
    rate_limit: int,
    workdir: Path,
    code_dir: Path = ROOT,
    code: str = "current",
    streams: str = "billing",
    assoc_lane: str = "shared",
) -> Result:
    customers, subs, invoices = SIZES[name] if name != "fixed" else (0, 0.0, 0.0)
    input_path = workdir / f"{name}-{streams}.jsonl"
    if not input_path.exists() or name == "fixed":
        write_input(input_path, customers, subs, invoices, billing=streams == "billing")
    n_customers, n_subs, n_invoices = count_input(input_path)
    port = free_port()
    emulator = start_emulator(port, latency, rate_limit, assoc_lane)
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
        catalog_path.write_text(json.dumps(catalog(INPUTS[streams])))
        env = connector_env(code_dir)
        if name == "fixed":
            # The fixed cost of a sync on a portal that has the model already (every sync but
            # the first): deploy it with a check, then time an empty write.
            subprocess.run(
                connector_command("check", config),
                cwd=code_dir,
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        with input_path.open("rb") as stdin, tempfile.TemporaryFile() as stdout:
            started = time.monotonic()
            # Module form from ``code_dir``: its package shadows the installed one.
            proc = subprocess.Popen(
                connector_command("write", config, catalog_path),
                stdin=stdin,
                stdout=stdout,
                stderr=subprocess.DEVNULL,
                cwd=code_dir,
                env=env,
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
    # The burst budget bounds the ideal; association batches count in it only when HubSpot
    # counts them there (the emulator's --assoc-lane shared, today's model).
    if assoc_lane == "shared":
        min_calls += math.ceil(figures["associations"] / 100)
    # §6: roll-ups per object (companies/contacts; counted together here), late plan values,
    # and one create per 100 invoice-subscription links (both ends were written by this sync,
    # which knows their HubSpot ids).
    min_calls += math.ceil(figures["rollups"] / 100) + math.ceil(figures["late_plan_values"] / 100)
    min_calls += math.ceil(figures["invoice_links"] / 100)
    budget_per_second = rate_limit / 10
    ideal = min_calls / budget_per_second
    records = max(n_customers + n_subs + n_invoices, 1)
    return Result(
        size=name,
        code=code,
        streams=streams,
        customers=n_customers,
        subscriptions=n_subs,
        invoices=n_invoices,
        records_written=written,
        wall_seconds=round(wall, 1),
        min_calls=min_calls,
        api_calls=figures["api_calls"],
        rate_limited=figures["rate_limited"],
        ideal_seconds=round(ideal, 1),
        efficiency=round(ideal / wall, 3) if min_calls else 0.0,
        calls_per_record=round(figures["api_calls"] / records, 4),
        cpu_us_per_record=round((usage.ru_utime + usage.ru_stime) / records * 1e6, 1),
        peak_rss_mb=round(usage.ru_maxrss / 1024, 1),
        assoc_lane=assoc_lane,
        billing_records=count_billing(input_path),
        rollups=figures["rollups"],
        late_plan_values=figures["late_plan_values"],
        invoice_links=figures["invoice_links"],
    )


def count_billing(path: Path) -> int:
    with path.open() as lines:
        return sum(
            1
            for line in lines
            if line.startswith('{"type": "RECORD"')
            and json.loads(line)["record"]["stream"] in ("plans", "fees", "wallets")
        )


def count_input(path: Path) -> tuple[int, int, int]:
    counts = {"customers": 0, "subscriptions": 0, "invoices": 0}
    with path.open() as lines:
        for line in lines:
            if line.startswith('{"type": "RECORD"'):
                stream = json.loads(line)["record"]["stream"]
                counts[stream] = counts.get(stream, 0) + 1
    return counts["customers"], counts["subscriptions"], counts["invoices"]


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
    parser.add_argument("--sizes", nargs="+", default=["fixed", *SIZES], choices=["fixed", *SIZES])
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also run the connector of this git revision, alternating with the current code",
    )
    parser.add_argument(
        "--inputs",
        nargs="+",
        default=list(INPUTS),
        choices=list(INPUTS),
        help="core: customers, subscriptions, invoices (the baseline runs this one only); "
        "billing: also plans, fees, wallets",
    )
    parser.add_argument("--latency", type=float, default=0.15, help="seconds per HubSpot answer")
    parser.add_argument("--rate-limit", type=int, default=190, help="burst budget per 10 s")
    parser.add_argument(
        "--assoc-lane",
        default="shared",
        help="how the emulator counts association batch calls: shared (in the burst window), "
        "exempt, or separate:N (a window of N per 10 s of their own)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results.json")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        codes: list[tuple[str, Path]] = [("current", ROOT)]
        if args.baseline:
            codes.insert(0, baseline_code(args.baseline, Path(tmp, "baseline")))
        for size in args.sizes:
            runs = [
                (code, code_dir, streams)
                for streams in args.inputs
                for code, code_dir in codes
                if code == "current" or streams == "core"
            ]
            if size == "fixed":  # an empty input: the catalog is all there is to choose
                runs = [(c, d, "core" if c != "current" else "billing") for c, d in codes]
            for code, code_dir, streams in runs:
                result = run_size(
                    size,
                    args.latency,
                    args.rate_limit,
                    Path(tmp),
                    code_dir,
                    code,
                    streams,
                    args.assoc_lane,
                )
                print(json.dumps(asdict(result)), flush=True)
                results.append(result)
    args.out.write_text(
        json.dumps(
            {
                "machine": machine(),
                "latency_seconds": args.latency,
                "rate_limit_per_10s": args.rate_limit,
                "baseline": codes[0][0] if args.baseline else None,
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
