"""docs/product.md §10 end to end: `write` with change tracking over a real directory, against
the emulator. Each case compares HubSpot's final contents with a full rewrite of the same input
on a fresh portal."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.support import pipeline
from tests.support.harness import (
    make_emulator,
    private_app_config,
    record,
    run_connector,
    stream_state,
)
from tests.support.scenario import hubspot_state

N_CUSTOMERS = 100


def customer(i):
    kind = "company" if i % 3 else "individual"
    return pipeline.customer(i, customer_type=kind, email=f"c{i}@example.com", currency="EUR")


def subscription(i):
    return pipeline.subscription(i, f"c{i % N_CUSTOMERS}")


def invoice(i):
    return pipeline.invoice(i, f"c{i % N_CUSTOMERS}")


def lines(changes=None, drop=()):
    """The input: 100 customers, 200 subscriptions, 500 invoices; ``changes``: Lago id ->
    fields changed; ``drop``: Lago ids left out."""
    changes = changes or {}
    out = []
    for stream, make, n in (
        ("customers", customer, N_CUSTOMERS),
        ("subscriptions", subscription, 2 * N_CUSTOMERS),
        ("invoices", invoice, 5 * N_CUSTOMERS),
    ):
        for i in range(n):
            data = make(i)
            if data["lago_id"] in drop:
                continue
            data.update(changes.get(data["lago_id"], {}))
            out.append(record(stream, data))
        out.append(stream_state(stream, 1))
    return out


STREAMS = ["customers", "subscriptions", "invoices"]


def config(emu, ledger_dir: Path, **extra):
    tracking = {"storage_type": "Local", "path": str(ledger_dir)}
    return private_app_config(emu.url, change_tracking=tracking, **extra)


def sync(emu, ledger_dir, input_lines, generation_id=None, **extra):
    emu.requests.clear()
    run = run_connector(
        "write",
        config(emu, ledger_dir, **extra),
        input_lines,
        streams=STREAMS,
        generation_id=generation_id,
    )
    assert run.returncode == 0, run.stderr[-3000:] + run.stdout[-3000:]
    return run


def written_inputs(emu) -> list[dict]:
    """Every input of every call that changed HubSpot (batch bodies), with its path."""
    out = []
    for entry in emu.mutating_requests():
        body = entry["body"] or {}
        for item in body.get("inputs", [body]):
            out.append({"path": entry["path"], **item})
    return out


def full_rewrite(input_lines):
    """HubSpot's contents after one sync of this input on a fresh portal, no ledger."""
    with make_emulator() as fresh:
        run = run_connector("write", private_app_config(fresh.url), input_lines, streams=STREAMS)
        assert run.returncode == 0, run.stdout[-3000:]
        return hubspot_state(fresh)


def summary(run) -> str:
    return next(line for line in run.logs if line.startswith(("Sync summary", "Dry run plan")))


@pytest.fixture
def ledger_dir(tmp_path):
    return tmp_path / "ledger"


def test_an_unchanged_input_makes_no_write_and_few_calls(ledger_dir):
    with make_emulator() as emu:
        first = sync(emu, ledger_dir, lines())
        assert "full rewrite, because there is no ledger yet" in summary(first)
        first_calls = len(emu.requests)
        second = sync(emu, ledger_dir, lines())
        assert emu.mutating_requests() == []
        assert len(emu.requests) <= 25, sorted({e["path"] for e in emu.requests})
        assert first_calls > 25
        text = summary(second)
        assert "unchanged since the last sync (not written): 800 records" in text
        # STATE recordCount still counts every record
        counts = [s["destinationStats"]["recordCount"] for s in second.states]
        assert counts == [100.0, 200.0, 500.0]
        assert hubspot_state(emu) == full_rewrite(lines())


def test_an_unchanged_sync_keeps_the_ledger_for_the_next(ledger_dir):
    """What an unchanged sync confirms nothing about (§8's reconciled sets, every record)
    stays in its ledger: a third sync is as cheap as the second."""
    with make_emulator() as emu:
        sync(emu, ledger_dir, lines())
        sync(emu, ledger_dir, lines())
        second = sorted(e["path"] for e in emu.requests)
        third = sync(emu, ledger_dir, lines())
        assert emu.mutating_requests() == []
        assert sorted(e["path"] for e in emu.requests) == second
        assert "unchanged since the last sync (not written): 800 records" in summary(third)
        assert hubspot_state(emu) == full_rewrite(lines())


def test_only_what_changed_is_written(ledger_dir):
    changed = {
        "c7": {"name": "Renamed 7"},
        "s3": {"plan_code": "premium"},
        "i11": {"payment_status": "failed"},
        "i12": {"total_amount_cents": 99},
    }
    with make_emulator() as emu:
        sync(emu, ledger_dir, lines())
        sync(emu, ledger_dir, lines(changed))
        inputs = written_inputs(emu)
        keys = {
            i.get("idProperty") and i.get("id") or i.get("id") or i.get("from", {}).get("id")
            for i in inputs
        }
        upserted = sorted(i["id"] for i in inputs if i["path"].endswith("/batch/upsert"))
        assert upserted == sorted(changed), inputs
        # no association is made again: both ends kept their HubSpot ids
        assert not [i for i in inputs if "/associations/" in i["path"]], keys
        assert len(emu.requests) <= 25 + 10
        assert hubspot_state(emu) == full_rewrite(lines(changed))


def test_invoices_looked_up_many_at_a_time_come_out_as_one_at_a_time(ledger_dir):
    """Invoices wait for their ledger entries LOOKUP_BATCH at a time (sync/sinks.py). In one
    such batch: an invoice sent twice (the second version changed), one the mapping rejects
    and one it skips; the last batch is not full (the STATE buffers it). Each comes out as
    if looked up alone, and the STATE after them counts them."""
    from destination_hubspot_lago.sync.sinks import LOOKUP_BATCH

    assert 5 * N_CUSTOMERS % LOOKUP_BATCH  # the last batch waits for the STATE
    bad = {"i9": {"issuing_date": "not a date"}, "i10": {"status": "draft"}}
    with make_emulator() as emu:
        sync(emu, ledger_dir, lines())
        second = lines(bad)
        again = record("invoices", {**invoice(20), "payment_status": "failed"})
        at = next(n for n, line in enumerate(second) if '"lago_id": "i30"' in line)
        second.insert(at, again)
        run = sync(emu, ledger_dir, second)
        upserts = [i for i in written_inputs(emu) if i["path"].endswith("/batch/upsert")]
        assert [i["id"] for i in upserts] == ["i20"]
        assert upserts[0]["properties"]["lago_invoice_payment_status"] == "failed"
        assert "i9" in run.stdout  # rejected, reported
        assert "unchanged since the last sync (not written): 798 records" in summary(run)
        stats = [s["destinationStats"] for s in run.states]
        assert [s["recordCount"] for s in stats] == [100.0, 200.0, 501.0]
        assert stats[2].get("rejectedRecordCount") == 1.0


def test_customers_looked_up_many_at_a_time_come_out_as_one_at_a_time(ledger_dir):
    """Customers, mapped and claimed as they come, wait for their ledger entries LOOKUP_BATCH
    at a time (companies and contacts in one batch). Every customer comes twice, so the first
    batch is full and holds c20 twice, its second version changed; the last batch waits for
    the STATE. Each comes out as if looked up alone: only the changed versions are sent, the
    last version of c20 wins, and HubSpot holds what a full rewrite of the input holds."""
    from destination_hubspot_lago.sync.sinks import LOOKUP_BATCH

    def twice(input_lines, renamed=None):
        customers = input_lines[:N_CUSTOMERS]  # the records, then their STATE
        assert all('"stream": "customers"' in line for line in customers)
        again = list(customers)
        if renamed is not None:
            again[20] = record("customers", {**customer(20), "name": renamed})
        return customers + again + input_lines[N_CUSTOMERS:]

    assert N_CUSTOMERS < LOOKUP_BATCH < 2 * N_CUSTOMERS
    c5 = {"c5": {"name": "Renamed 5"}}
    with make_emulator() as emu:
        sync(emu, ledger_dir, twice(lines()))
        second = twice(lines(c5), renamed="Renamed 20")
        run = sync(emu, ledger_dir, second)
        upserts = [i for i in written_inputs(emu) if i["path"].endswith("/batch/upsert")]
        assert sorted(i["id"] for i in upserts) == ["c20", "c5"]  # once each: one buffer
        names = {i["id"]: i["properties"]["name"] for i in upserts if i["id"] == "c20"}
        assert names == {"c20": "Renamed 20"}
        assert not [i for i in written_inputs(emu) if "/associations/" in i["path"]]
        # every record but the three changed versions (c5 twice, c20's second) was compared
        assert "unchanged since the last sync (not written): 897 records" in summary(run)
        assert [s["destinationStats"]["recordCount"] for s in run.states] == [200.0, 200.0, 500.0]
        assert hubspot_state(emu) == full_rewrite(second)


def test_a_failed_sync_leaves_the_previous_ledger_and_the_next_sends_the_rest(ledger_dir):
    changed = {f"i{i}": {"payment_status": "failed"} for i in range(0, 500, 5)}
    with make_emulator() as emu:
        sync(emu, ledger_dir, lines())
        pointers = sorted(p.read_bytes() for p in ledger_dir.rglob("CURRENT.json"))
        # the invoices' second batch is refused for good: the sync fails
        emu.inject_fault(403, "POST", r"/2-\d+/batch/upsert$", times=1000)
        failed = run_connector("write", config(emu, ledger_dir), lines(changed), streams=STREAMS)
        assert failed.returncode != 0
        assert sorted(p.read_bytes() for p in ledger_dir.rglob("CURRENT.json")) == pointers
        emu._rules.clear()
        sync(emu, ledger_dir, lines(changed))
        upserted = sorted(i["id"] for i in written_inputs(emu) if i["path"].endswith("upsert"))
        assert upserted == sorted(changed)
        assert hubspot_state(emu) == full_rewrite(lines(changed))


def test_a_rejected_record_is_sent_again_by_the_next_sync(ledger_dir):
    bad = {"i5": {"issuing_date": "not a date"}}
    with make_emulator() as emu:
        first = sync(emu, ledger_dir, lines(bad))
        assert "i5" in first.stdout  # rejected (by the mapping), reported
        sync(emu, ledger_dir, lines())
        upserted = [i["id"] for i in written_inputs(emu) if i["path"].endswith("upsert")]
        assert upserted == ["i5"]
        assert hubspot_state(emu) == full_rewrite(lines())


def test_a_record_deleted_in_hubspot_is_repaired_by_the_sample(ledger_dir):
    with make_emulator() as emu:
        sync(emu, ledger_dir, lines())
        witnessed = _witnessed_invoice(ledger_dir)
        type_id = next(
            s["objectTypeId"] for s in emu.store.schemas() if s["name"] == "LagoInvoices"
        )
        emu.store.archive_record(type_id, witnessed)
        second = sync(emu, ledger_dir, lines())
        assert "1 of" in second.stdout and "written again" in second.stdout
        assert hubspot_state(emu) == full_rewrite(lines())


def test_a_refresh_in_airbyte_rewrites_everything(ledger_dir):
    with make_emulator() as emu:
        sync(emu, ledger_dir, lines(), generation_id=1)
        with emu.store.lock:  # a HubSpot-side deletion the sample may not see
            type_id = next(
                s["objectTypeId"] for s in emu.store.schemas() if s["name"] == "LagoInvoices"
            )
            records = emu.store.types[type_id].records
            witnesses = _witnesses(ledger_dir)
            for hubspot_id in [i for i in records if i not in witnesses][:3]:
                emu.store.archive_record(type_id, hubspot_id)
        again = sync(emu, ledger_dir, lines(), generation_id=1)
        assert "full rewrite" not in summary(again)
        refreshed = sync(emu, ledger_dir, lines(), generation_id=2)
        assert "generation_id rose" in summary(refreshed)
        assert hubspot_state(emu) == full_rewrite(lines())


def test_a_ledger_of_another_portal_is_ignored(ledger_dir, tmp_path):
    with make_emulator() as one:
        sync(one, ledger_dir, lines())
    with make_emulator(portal_id=777) as other:
        run = sync(other, ledger_dir, lines())
        assert "full rewrite" in summary(run)
        assert hubspot_state(other) == full_rewrite(lines())


def test_a_lost_ledger_means_a_full_rewrite(ledger_dir):
    with make_emulator() as emu:
        sync(emu, ledger_dir, lines())
        for path in ledger_dir.rglob("*.sqlite"):
            path.unlink()
        run = sync(emu, ledger_dir, lines())
        assert "could not be read" in run.stdout
        assert "full rewrite" in summary(run)
        writes = [i for i in written_inputs(emu) if i["path"].endswith(("upsert", "update"))]
        assert len({i["id"] for i in writes}) >= 800
        assert hubspot_state(emu) == full_rewrite(lines())


def test_a_dry_run_says_what_it_would_skip_and_saves_nothing(ledger_dir):
    with make_emulator() as emu:
        sync(emu, ledger_dir, lines())
        pointers = sorted(p.read_bytes() for p in ledger_dir.rglob("CURRENT.json"))
        run = sync(emu, ledger_dir, lines({"c1": {"name": "New"}}), dry_run=True)
        assert emu.mutating_requests() == []
        assert "unchanged since the last sync (would skip): 799 records" in summary(run)
        assert sorted(p.read_bytes() for p in ledger_dir.rglob("CURRENT.json")) == pointers


def _witnesses(ledger_dir: Path) -> set[str]:
    """The HubSpot ids of the invoices the ledger's sample holds."""
    (path,) = list(ledger_dir.rglob("*.sqlite"))
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT target FROM witness WHERE obj = 'invoices'").fetchall()
    return {str(target) for (target,) in rows}


def _witnessed_invoice(ledger_dir: Path) -> str:
    return sorted(_witnesses(ledger_dir))[0]


def test_terminated_subscriptions_are_still_reconciled(ledger_dir):
    with make_emulator() as emu:
        sync(emu, ledger_dir, lines())
        run = sync(emu, ledger_dir, lines(drop={"s4"}))
        assert "terminated" in summary(run) or "Marked 1" in run.stdout
        assert hubspot_state(emu) == _after_termination(lines(), lines(drop={"s4"}))


def _after_termination(before, after):
    with make_emulator() as fresh:
        for input_lines in (before, after):
            run = run_connector(
                "write", private_app_config(fresh.url), input_lines, streams=STREAMS
            )
            assert run.returncode == 0
        return hubspot_state(fresh)


def test_a_record_hubspot_refused_is_sent_again_with_the_same_input(ledger_dir):
    refused = {"s5": {"billing_time": "weekly"}}  # not an option of the property: HubSpot refuses
    with make_emulator() as emu:
        first = sync(emu, ledger_dir, lines(refused))
        assert "subscriptions s5: VALIDATION_ERROR" in summary(first)
        second = sync(emu, ledger_dir, lines(refused))
        upserted = [i["id"] for i in written_inputs(emu) if i["path"].endswith("upsert")]
        assert upserted == ["s5"]
        assert "subscriptions s5: VALIDATION_ERROR" in summary(second)
