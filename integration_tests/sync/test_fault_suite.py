"""Faults a long sync meets: a killed process, an exhausted daily quota (real processes, seeded)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from tests.support.harness import (
    ROOT,
    catalog,
    connector_command,
    make_emulator,
    private_app_config,
    record,
    run_connector,
    stream_state,
)
from tests.support.scenario import hubspot_state


def synthetic_lines(n_customers=60, per_customer=5):
    lines, state_id = [], 1
    for i in range(n_customers):
        lines.append(
            record(
                "customers",
                {
                    "lago_id": f"c{i}",
                    "name": f"Customer {i}",
                    "customer_type": "company" if i % 3 else "individual",
                    "email": f"c{i}@example.com",
                },
            )
        )
    lines.append(stream_state("customers", state_id))
    for i in range(n_customers * per_customer):
        customer = f"c{i % n_customers}"
        lines.append(
            record(
                "subscriptions",
                {
                    "lago_id": f"s{i}",
                    "lago_customer_id": customer,
                    "status": "active",
                    "plan_code": "pro",
                    "created_at": "2024-01-01T00:00:00Z",
                },
            )
        )
        lines.append(
            record(
                "invoices",
                {
                    "lago_id": f"i{i}",
                    "number": f"N{i}",
                    "status": "finalized",
                    "currency": "EUR",
                    "total_amount_cents": i,
                    "customer": {"lago_id": customer},
                },
            )
        )
        if i % 97 == 96:
            state_id += 1
            lines.append(stream_state("invoices", state_id))
    state_id += 1
    lines.append(stream_state("invoices", state_id))
    return lines


def _feed(pipe, lines):
    try:
        pipe.write(("\n".join(lines) + "\n").encode())
        pipe.close()
    except BrokenPipeError:
        pass  # killed before it read everything


def test_a_sync_killed_at_a_random_point_then_rerun_ends_as_a_clean_run():
    lines = synthetic_lines(per_customer=10)
    with make_emulator() as clean:
        assert run_connector("write", private_app_config(clean.url), lines).returncode == 0
        expected = hubspot_state(clean)
        upserts = sum(1 for r in clean.requests if r["path"].endswith("/batch/upsert"))

    rng = random.Random(20261126)
    with make_emulator(latency_seconds=0.2) as emu, tempfile.TemporaryDirectory() as tmp:
        config, cat = Path(tmp, "config.json"), Path(tmp, "catalog.json")
        config.write_text(json.dumps(private_app_config(emu.url)))
        cat.write_text(json.dumps(catalog()))
        proc = subprocess.Popen(
            connector_command("write", config, cat),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=ROOT,
        )
        assert proc.stdin is not None
        feeder = threading.Thread(target=_feed, args=(proc.stdin, lines), daemon=True)
        feeder.start()  # the pipe holds 64 KB: feeding must not wait for the connector
        # Killed once HubSpot answered a random number of the sync's record writes: not
        # before the first, and while some are still to come.
        kill_after = rng.randint(1, upserts - 2)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            done = sum(1 for r in list(emu.requests) if r["path"].endswith("/batch/upsert"))
            if done >= kill_after:
                break
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
        out = proc.stdout.read().decode() if proc.stdout else ""
        proc.wait()
        echoed = [json.loads(line)["state"] for line in out.splitlines() if '"STATE"' in line]
        # Every state echoed before the kill was fully committed: its records are in HubSpot.
        at_kill = hubspot_state(emu)
        for state in echoed:
            position = lines.index(next(line for line in lines if f'"id": {state["id"]},' in line))
            for line in lines[:position]:
                message = json.loads(line)
                if message["type"] == "RECORD" and message["record"]["stream"] == "invoices":
                    assert ("LagoInvoices", message["record"]["data"]["lago_id"]) in at_kill
        assert at_kill != expected, "the kill came too late to test anything"

        rerun = run_connector("write", private_app_config(emu.url), lines)
        assert rerun.returncode == 0, rerun.stdout[-3000:]
        assert hubspot_state(emu) == expected
        for type_id in {s["objectTypeId"] for s in emu.store.schemas()}:
            pairs = [(a[1], a[3]) for a in emu.store.associations(type_id)]
            assert len(pairs) == len(set(pairs))  # no duplicate associations


def test_daily_quota_ends_with_a_transient_error_and_only_committed_states():
    lines = synthetic_lines(n_customers=30, per_customer=8)
    with make_emulator(daily_limit=30) as emu:
        run = run_connector("write", private_app_config(emu.url), lines)
        assert run.returncode != 0
        (error,) = run.errors
        assert error["failure_type"] == "transient_error"
        assert "daily API quota" in error["message"] and "UTC" in error["message"]
        stored = hubspot_state(emu)
        for state in run.states:
            position = lines.index(next(line for line in lines if f'"id": {state["id"]},' in line))
            for line in lines[:position]:
                message = json.loads(line)
                if message["type"] == "RECORD" and message["record"]["stream"] == "invoices":
                    assert ("LagoInvoices", message["record"]["data"]["lago_id"]) in stored
        assert len(run.states) < sum(1 for line in lines if '"STATE"' in line)
