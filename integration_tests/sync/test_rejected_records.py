"""Rejected records in an S3-compatible bucket, over HTTP against a real server (moto's
standalone server on loopback, signatures checked), and `check` proving the bucket writable."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError

from destination_hubspot_lago.config import DestinationConfig, S3ObjectStorage
from destination_hubspot_lago.sync.rejected_records import (
    S3RejectedRecords,
    StorageProblem,
    explain_s3_error,
    open_store,
)
from tests.support.harness import (
    PRIVATE_APP_TOKEN,
    make_emulator,
    private_app_config,
    record,
    run_connector,
    stream_state,
)
from tests.support.pipeline import customer, invoice, subscription
from tests.support.s3_server import S3Server

STARTED = datetime(2026, 12, 1, 21, 30, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def s3():
    with S3Server() as server:
        yield server


@pytest.fixture(autouse=True)
def empty_bucket(s3):
    s3.clear()


def storage(s3, keys=None, **overrides) -> S3ObjectStorage:
    config = {
        "credentials": {"credentials_title": "Private App Credentials", "access_token": "t"},
        "object_storage_config": s3.storage_config(keys, **overrides),
    }
    parsed = DestinationConfig.parse(config).rejected_records_storage
    assert parsed is not None
    return parsed


def lines(body: bytes) -> list[dict]:
    return [json.loads(line) for line in body.decode().splitlines()]


def test_no_storage_configured_means_no_store():
    parsed = DestinationConfig.parse(
        {
            "credentials": {"credentials_title": "Private App Credentials", "access_token": "t"},
            "object_storage_config": {"storage_type": "None"},
        }
    )
    assert open_store(parsed.rejected_records_storage) is None


def test_one_json_lines_object_per_stream_under_the_prefix_with_the_sync_time(s3):
    store = S3RejectedRecords(storage(s3), sync_started=STARTED, run_id="run1")
    store.add(
        "customers",
        "c-1",
        "VALIDATION_ERROR",
        "Property values were not valid: email",
        {"lago_customer_id": "c-1", "email": "not-an-email"},
        "contacts",
    )
    store.add("invoices", "i-1", "INVALID_RECORD", "issuing_date must be an ISO 8601 date", {})
    store.add("customers", "c-2", "VALIDATION_ERROR", "name too long", {"name": "x" * 10})
    assert store.counts == {"customers": 2, "invoices": 1}

    keys = store.flush()

    expected = {
        "hubspot-lago/rejected/customers/2026-12-01T21-30-05Z_run1.jsonl",
        "hubspot-lago/rejected/invoices/2026-12-01T21-30-05Z_run1.jsonl",
    }
    assert set(keys) == expected
    objects = s3.objects()
    assert set(objects) == expected
    customers = lines(objects["hubspot-lago/rejected/customers/2026-12-01T21-30-05Z_run1.jsonl"])
    assert [c["lago_id"] for c in customers] == ["c-1", "c-2"]
    first = customers[0]
    assert first["stream"] == "customers" and first["hubspot_object"] == "contacts"
    assert first["category"] == "VALIDATION_ERROR"
    assert first["reason"] == "Property values were not valid: email"
    assert first["properties"] == {"lago_customer_id": "c-1", "email": "not-an-email"}
    assert first["sync_started_at"] == "2026-12-01T21:30:05+00:00"
    datetime.fromisoformat(first["rejected_at"])


def test_a_large_stream_is_uploaded_whole_in_parts(s3):
    store = S3RejectedRecords(storage(s3, bucket_path=""), sync_started=STARTED, run_id="big")
    count = 24_000  # ~10 MiB of lines: past the in-memory spool and the multipart threshold
    for i in range(count):
        store.add("invoices", f"i-{i}", "VALIDATION_ERROR", "r" * 300, {"n": str(i)})
    (key,) = store.flush()
    assert key == "invoices/2026-12-01T21-30-05Z_big.jsonl"
    body = s3.objects()[key]
    assert len(body) > 8 * 1024 * 1024
    got = lines(body)
    assert len(got) == count and got[-1]["lago_id"] == f"i-{count - 1}"
    assert "-" in s3.etag(key).strip('"'), "a multipart upload's ETag ends with -<parts>"


def test_nothing_rejected_writes_nothing(s3):
    assert S3RejectedRecords(storage(s3)).flush() == []
    assert s3.objects() == {}


def test_verify_writes_and_deletes_a_probe(s3):
    S3RejectedRecords(storage(s3)).verify()
    assert s3.objects() == {}


@pytest.mark.parametrize(
    "change, field",
    [
        ({"access_key_id": "AKIANOTAKNOWNKEY0000"}, "object_storage_config.access_key_id"),
        ({"secret_access_key": "wrong-secret"}, "object_storage_config.secret_access_key"),
        ({"s3_bucket_name": "no-such-bucket"}, "object_storage_config.s3_bucket_name"),
        ({"s3_endpoint": "http://127.0.0.1:9"}, "object_storage_config.s3_endpoint"),
    ],
)
def test_verify_names_the_field_to_fix(s3, change, field):
    store = S3RejectedRecords(storage(s3, **change))
    with pytest.raises(StorageProblem) as info:
        store.verify()
    message = str(info.value)
    assert field in message
    assert s3.writer.secret_access_key not in message and "wrong-secret" not in message


def test_verify_fails_when_the_key_may_write_but_not_delete(s3):
    with pytest.raises(StorageProblem) as info:
        S3RejectedRecords(storage(s3, s3.no_delete)).verify()
    message = str(info.value)
    assert "delete" in message and "s3:DeleteObject" in message
    assert "left in the bucket" in message


def test_flush_to_a_missing_bucket_names_the_field(s3):
    store = S3RejectedRecords(storage(s3, s3_bucket_name="gone-bucket"))
    store.add("customers", "c-1", "VALIDATION_ERROR", "bad", {})
    with pytest.raises(StorageProblem, match="object_storage_config.s3_bucket_name"):
        store.flush()


def test_a_bucket_in_another_region_names_the_region_field(s3):
    # moto does not redirect across regions; this is the answer AWS S3 gives.
    error = ClientError(
        {
            "Error": {"Code": "PermanentRedirect", "Message": "...", "Region": "us-west-2"},
            "ResponseMetadata": {"HTTPHeaders": {"x-amz-bucket-region": "us-west-2"}},
        },
        "PutObject",
    )
    message = explain_s3_error(error, storage(s3), "write to")
    assert "object_storage_config.s3_bucket_region" in message and "us-west-2" in message


def test_check_proves_the_bucket_before_deploying(emulator, s3):
    good = run_connector(
        "check", private_app_config(emulator.url, object_storage_config=s3.storage_config())
    )
    assert good.status["status"] == "SUCCEEDED", good.status
    assert s3.objects() == {}

    emulator.clear_log()
    bad_secret = s3.storage_config(secret_access_key="a-wrong-secret-value")
    bad = run_connector("check", private_app_config(emulator.url, object_storage_config=bad_secret))
    assert bad.status["status"] == "FAILED"
    assert "object_storage_config.secret_access_key" in bad.status["message"]
    assert emulator.mutating_requests() == []
    for secret in ("a-wrong-secret-value", s3.writer.secret_access_key):
        assert secret not in bad.stdout + bad.stderr


# -- a whole sync through the command line (docs/product.md §7) ---------------------------------


def type_id(emu, name):
    return next(s["objectTypeId"] for s in emu.store.schemas() if s["name"] == name)


def in_hubspot(emu, object_type, prop):
    return {r["properties"].get(prop) for r in emu.store.objects(object_type)} - {None}


def partly_refused_sync():
    """3 customers; 10 subscriptions of which HubSpot refuses 3 (an option lago_billing_time
    lacks); 4 invoices of which the mapping refuses 1 (amount not in cents)."""
    subs = [subscription(i, f"c{i % 3}") for i in range(10)]
    for i in (2, 5, 7):
        subs[i]["billing_time"] = "weekly"
    invoices = [invoice(i, f"c{i % 3}") for i in range(4)]
    invoices[1]["total_amount_cents"] = "12.5"
    return (
        [record("customers", customer(i)) for i in range(3)]
        + [stream_state("customers", 1)]
        + [record("subscriptions", s) for s in subs]
        + [stream_state("subscriptions", 2)]
        + [record("invoices", i) for i in invoices]
        + [stream_state("invoices", 3)]
    )


# How HubSpot answers a batch with a refused input: per input in errors[] (the others written;
# 207 on v3, 200 on the date-based paths), or a 400 for the whole batch. The connector must give
# the same result either way.
BATCH_MODES = ["per_record", "whole_batch"]


@pytest.fixture(params=BATCH_MODES)
def refusing(request):
    with make_emulator(batch_record_errors=request.param) as emu:
        yield emu


def answered_as(emu, mode):
    """The mode really shaped the answers: some batch upsert said so."""
    upserts = [r for r in emu.requests if r["path"].endswith("/batch/upsert")]
    if mode == "per_record":
        return any(r["status"] == 200 and (r["response"] or {}).get("numErrors") for r in upserts)
    return any(r["status"] == 400 for r in upserts)


def test_a_sync_where_hubspot_refuses_some_records_succeeds_counts_and_stores_them(refusing, s3):
    emulator = refusing
    config = private_app_config(emulator.url, object_storage_config=s3.storage_config())
    run = run_connector("write", config, partly_refused_sync())
    assert answered_as(emulator, emulator.store.batch_record_errors)

    assert run.returncode == 0 and run.errors == [], run.stdout[-3000:] + run.stderr[-2000:]
    counts = {s["stream"]["stream_descriptor"]["name"]: s["destinationStats"] for s in run.states}
    assert counts == {  # each state counts only its own stream's records and rejections
        "customers": {"recordCount": 3.0, "rejectedRecordCount": 0.0},
        "subscriptions": {"recordCount": 10.0, "rejectedRecordCount": 3.0},
        "invoices": {"recordCount": 4.0, "rejectedRecordCount": 1.0},
    }
    # Every other record is in HubSpot.
    assert in_hubspot(emulator, "companies", "lago_customer_id") == {"c0", "c1", "c2"}
    subs = in_hubspot(emulator, type_id(emulator, "LagoSubscriptions"), "lago_subscription_id")
    assert subs == {f"s{i}" for i in range(10)} - {"s2", "s5", "s7"}
    invoices = in_hubspot(emulator, type_id(emulator, "LagoInvoices"), "lago_invoice_id")
    assert invoices == {"i0", "i2", "i3"}
    # The rejected ones are in the bucket, one object per stream, and the summary says where.
    objects = s3.objects()
    by_stream = {key.split("/")[-2]: lines(body) for key, body in objects.items()}
    assert sorted(by_stream) == ["invoices", "subscriptions"]
    refused = {line["lago_id"]: line for line in by_stream["subscriptions"]}
    assert set(refused) == {"s2", "s5", "s7"}
    assert refused["s5"]["category"] == "VALIDATION_ERROR" and "weekly" in refused["s5"]["reason"]
    assert refused["s5"]["hubspot_object"] == "subscriptions"
    assert refused["s5"]["properties"]["lago_subscription_id"] == "s5"
    ((unmappable),) = by_stream["invoices"]
    assert unmappable["lago_id"] == "i1" and "total_amount_cents" in unmappable["reason"]
    summary = next(line for line in run.logs if line.startswith("Sync summary"))
    assert "rejected records: 4 (invoices 1, subscriptions 3)" in summary
    assert "subscriptions s2: VALIDATION_ERROR" in summary
    for key in objects:
        assert f"s3://rejected/{key}" in summary
    stored = b"".join(objects.values()).decode()
    for secret in (PRIVATE_APP_TOKEN, s3.writer.secret_access_key, s3.writer.access_key_id):
        assert secret not in stored


@pytest.mark.parametrize("mode", BATCH_MODES)
def test_every_record_of_a_stream_refused_for_one_reason_fails_the_sync_after_every_state(s3, mode):
    # An admin rule requires a property the connector never sends: every company is refused.
    with make_emulator(
        required_on_create={"companies": ["industry"]}, batch_record_errors=mode
    ) as emu:
        config = private_app_config(emu.url, object_storage_config=s3.storage_config())
        sync = [record("customers", customer(i)) for i in range(6)]
        sync += [stream_state("customers", 1)]
        sync += [record("invoices", invoice(i, f"c{i}")) for i in range(2)]
        sync += [stream_state("invoices", 2)]
        run = run_connector("write", config, sync)
        assert run.returncode == 1
        (error,) = run.errors
        assert error["failure_type"] == "config_error"
        message = error["message"]
        assert "Every one of the 6 customers records was rejected for the same reason" in message
        assert "industry" in message
        # ... after every state was echoed, and with the rejected records stored.
        assert [s["destinationStats"]["rejectedRecordCount"] for s in run.states] == [6, 0]
        assert run.stdout.rstrip().splitlines()[-1].startswith('{"type":"TRACE"')
        ((key, body),) = s3.objects().items()
        assert key.split("/")[-2] == "customers" and len(lines(body)) == 6
        assert "invoices" in {s["stream"]["stream_descriptor"]["name"] for s in run.states}


def test_a_bucket_that_fails_at_the_end_is_a_config_error_after_every_state(emulator, s3):
    storage_config = s3.storage_config(s3_bucket_name="gone-bucket")
    config = private_app_config(emulator.url, object_storage_config=storage_config)
    run = run_connector("write", config, partly_refused_sync())
    assert run.returncode == 1 and len(run.states) == 3
    (error,) = run.errors
    assert error["failure_type"] == "config_error"
    assert "object_storage_config.s3_bucket_name" in error["message"]


def test_a_sync_that_stops_on_a_fatal_error_still_stores_what_was_rejected_before(emulator, s3):
    config = private_app_config(emulator.url, object_storage_config=s3.storage_config())
    assert run_connector("check", config).status["status"] == "SUCCEEDED"  # deploys the model
    invoices_type = type_id(emulator, "LagoInvoices")
    emulator.inject_fault(
        status=401,
        method="POST",
        path_regex=rf"/crm/objects/[^/]+/{invoices_type}/batch/upsert$",
        times=100,
        body={
            "status": "error",
            "message": "Authentication credentials not found.",
            "category": "INVALID_AUTHENTICATION",
            "correlationId": "x",
        },
    )
    run = run_connector("write", config, partly_refused_sync())
    assert run.returncode == 1 and run.errors
    assert [s["stream"]["stream_descriptor"]["name"] for s in run.states] == [
        "customers",
        "subscriptions",
    ]
    stored = {key.split("/")[-2]: lines(body) for key, body in s3.objects().items()}
    assert {line["lago_id"] for line in stored["subscriptions"]} == {"s2", "s5", "s7"}


# -- a record a batch answer leaves unaccounted for ------------------------------------------


def test_a_record_a_batch_answer_leaves_unaccounted_is_rejected_never_counted_written(emulator, s3):
    """HubSpot answers the batch with the other records' results and an error that names no
    input, and answers the same when s4 is sent alone: s4 is rejected, with its Lago id and
    HubSpot's reason, and counted in the state — it was not written."""
    emulator.drop_batch_results(["s4"])
    config = private_app_config(emulator.url, object_storage_config=s3.storage_config())
    sync = [record("customers", customer(i)) for i in range(3)]
    sync += [record("subscriptions", subscription(i, f"c{i % 3}")) for i in range(10)]
    sync += [stream_state("subscriptions", 1)]
    run = run_connector("write", config, sync)

    assert run.returncode == 0 and run.errors == [], run.stdout[-3000:] + run.stderr[-2000:]
    ((state),) = run.states
    assert state["destinationStats"] == {"recordCount": 10.0, "rejectedRecordCount": 1.0}
    subs = in_hubspot(emulator, type_id(emulator, "LagoSubscriptions"), "lago_subscription_id")
    assert subs == {f"s{i}" for i in range(10)} - {"s4"}
    alone = [
        r
        for r in emulator.requests
        if r["path"].endswith("/batch/upsert") and [i["id"] for i in r["body"]["inputs"]] == ["s4"]
    ]
    assert alone and alone[-1]["response"]["results"] == []  # asked again, alone: no result
    ((key, body),) = s3.objects().items()
    assert key.split("/")[-2] == "subscriptions"
    ((rejected),) = lines(body)
    assert rejected["lago_id"] == "s4" and rejected["category"] == "INTERNAL_ERROR"
    assert "internal error occurred while processing an input" in rejected["reason"]
    summary = next(line for line in run.logs if line.startswith("Sync summary"))
    assert "rejected records: 1 (subscriptions 1)" in summary
