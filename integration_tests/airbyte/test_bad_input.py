"""Bad input never crashes the sync nor costs a good record: each gets a clear reason."""

from __future__ import annotations

import json

from tests.support.harness import (
    make_emulator,
    private_app_config,
    record,
    run_connector,
    stream_state,
)
from tests.support.scenario import hubspot_state

GOOD_CUSTOMER = {"lago_id": "good", "name": "Good Co", "customer_type": "company"}
GOOD_INVOICE = {
    "lago_id": "inv-good",
    "number": "G-1",
    "status": "finalized",
    "currency": "EUR",
    "total_amount_cents": 100,
    "customer": {"lago_id": "good"},
}


def bad_lines() -> list[str]:
    def invoice(lago_id: str, **patch):
        return record("invoices", {**GOOD_INVOICE, "lago_id": lago_id, **patch})

    return [
        "{this is not json",
        '{"type": "RECORD", "record": {"stream": "invoices"}}',  # no data
        record("customers", GOOD_CUSTOMER),
        record("customers", {"name": "no id"}),
        invoice("inv-cents-string", total_amount_cents="12.50"),
        invoice("inv-date-number", issuing_date=1700000000),
        invoice("inv-impossible-date", payment_due_date="2024-02-30"),
        invoice("inv-unknown-currency", currency="ZZZ"),
        record("customers", {"lago_id": "long", "name": "x" * 70_000}),
        record("customers", {"lago_id": "weird", "name": "Tab\tNul\u0000Emoji \U0001f680 Ünïcödé"}),
        invoice("inv-orphan", customer={"lago_id": "never-seen"}),
        record("coupons", {"lago_id": "coupon-1"}),
        record("customer_usage", {"amount_cents": 5}),
        record("invoices", GOOD_INVOICE),
        stream_state("invoices", 1),
    ]


def test_each_bad_record_gets_a_clear_rejection_and_good_ones_are_written():
    with make_emulator() as emu:
        run = run_connector("write", private_app_config(emu.url), bad_lines())
        # Rejected records and unreadable lines do not fail the sync (docs/product.md §7).
        assert run.returncode == 0, run.stdout[-3000:]
        assert run.errors == []
        (state,) = run.states  # the invoices state counts the 4 invoices the mapping refused
        assert state["destinationStats"] == {"recordCount": 6.0, "rejectedRecordCount": 4.0}
        message = next(line for line in run.logs if line.startswith("Sync summary"))
        assert "rejected records: 6 (customers 2, invoices 4)" in message
        assert "unreadable input lines" in message and "(lines 1, 2)" in message
        logs = "\n".join(run.logs)
        expectations = {
            "customers ?": "lago_id",
            "invoices inv-cents-string": "total_amount_cents must be an integer",
            "invoices inv-date-number": "issuing_date must be an ISO 8601 date",
            "invoices inv-impossible-date": "payment_due_date is not a valid date",
            "invoices inv-unknown-currency": "not an ISO 4217 currency",
            "customers long": "VALIDATION_ERROR",
            "unreadable input lines": "lines 1, 2",
        }
        for who, why in expectations.items():
            line = next((entry for entry in logs.splitlines() if who in entry), None)
            assert line is not None and why in line or (who in message and why in message), (
                who,
                logs,
            )
        # Good records (and the oddly-encoded one) are in HubSpot, exactly as sent.
        state = hubspot_state(emu)
        assert ("companies", "good") in state
        assert state[("companies", "weird")]["name"] == "Tab\tNul\u0000Emoji \U0001f680 Ünïcödé"
        assert ("LagoInvoices", "inv-good") in state
        assert ("LagoInvoices", "inv-orphan") in state  # written; its association is reported
        assert any("never-seen" in line for line in run.logs)
        assert run.states and run.states[0]["id"] == 1
        assert "Skipping stream coupons" in logs and "Skipping stream customer_usage" in logs
        # The user-facing message is ours, not a Python traceback.
        assert not message.startswith("Traceback") and "Error:" not in message.split(".")[0]
        assert "Traceback" not in run.stdout + run.stderr


def test_an_input_of_only_garbage_fails_clearly():
    with make_emulator() as emu:
        run = run_connector(
            "write",
            private_app_config(emu.url),
            ["garbage", "[1, 2]", json.dumps({"no": "type"})],
        )
        assert run.returncode == 1
        (error,) = run.errors
        assert error["failure_type"] == "config_error"
        assert "unreadable" in error["message"] and "lines 1, 2, 3" in error["message"]


def test_a_full_or_unwritable_temporary_directory_fails_with_what_to_do_not_a_traceback():
    """The §6 facts and link state spill to a temporary SQLite file once its page cache is
    full. Here files may not grow beyond 4 KB (as on a full disk): the sync stops with a
    config error that names TMPDIR, on stdout only, no traceback."""
    import resource

    def no_room() -> None:  # Python ignores SIGXFSZ: writes past the limit fail (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    invoices = (
        record("invoices", {**GOOD_INVOICE, "lago_id": f"inv-{n:06d}", "number": f"N-{n}"})
        for n in range(40_000)
    )
    with make_emulator() as emu:
        run = run_connector(
            "write",
            private_app_config(emu.url),
            [record("customers", GOOD_CUSTOMER), *invoices, stream_state("invoices", 1)],
            preexec=no_room,
        )
    assert run.returncode == 1
    assert [e["failure_type"] for e in run.errors] == ["config_error"]
    assert "temporary file" in run.errors[0]["message"]
    assert "set TMPDIR" in run.errors[0]["message"]
    assert "Traceback" not in run.stderr and "set TMPDIR" not in run.stderr


def test_a_record_only_a_whole_reading_refuses_is_an_unreadable_line_as_before():
    """A RECORD's data is read when it is used, and of an unchanged invoice only the fields it
    needs (docs/product.md §10): the first reading skips the rest without judging every
    number. A number beyond a double's range deep in a record (orjson refuses it, as it refused
    the whole line before) still makes its line unreadable: reported by number, not a record,
    and §8 holds back, since it may have been a subscription. No traceback."""

    def beyond(stream: str, data: dict) -> str:
        return record(stream, data).replace('"deep": 0', '"deep": 1e400')

    lines = [
        record("customers", GOOD_CUSTOMER),
        beyond("customers", {**GOOD_CUSTOMER, "lago_id": "huge", "metadata": [{"deep": 0}]}),
        beyond("invoices", {**GOOD_INVOICE, "lago_id": "inv-huge", "customer": {"deep": 0}}),
        record("invoices", GOOD_INVOICE),
        beyond("subscriptions", {"lago_id": "sub-huge", "status": "active", "deep": 0}),
        stream_state("invoices", 1),
    ]
    with make_emulator() as emu:
        run = run_connector("write", private_app_config(emu.url), lines)
        assert run.returncode == 0, run.stdout[-3000:]
        logs = "\n".join(run.logs)
        for number in (2, 3, 5):
            assert f"Input line {number} is not a valid Airbyte message" in logs, logs
        message = next(line for line in run.logs if line.startswith("Sync summary"))
        assert "unreadable input lines" in message and "(lines 2, 3, 5)" in message
        assert "3 input line(s) could not be read" in logs  # §8 held back
        state = hubspot_state(emu)
        assert ("companies", "good") in state and ("LagoInvoices", "inv-good") in state
        assert ("companies", "huge") not in state and ("LagoInvoices", "inv-huge") not in state
        assert "Traceback" not in run.stdout + run.stderr
