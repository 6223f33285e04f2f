"""The batch writer under both ways HubSpot may answer a batch with a refused input (per input
in ``errors[]``, or a 400 for the whole batch): same records written, same rejections, and a
problem with the deployed model stops the write at once in both."""

from __future__ import annotations

import pytest
import requests

from tests.support.harness import PRIVATE_APP_TOKEN, make_emulator, record, stream_state
from tests.support.pipeline import customer, invoice, lago_ids, pipeline, run_all, subscription

MODES = ["per_record", "whole_batch"]


@pytest.fixture(params=MODES)
def emu(request):
    with make_emulator(batch_record_errors=request.param) as emulator:
        yield emulator


def test_a_property_deleted_after_deployment_stops_the_write_after_one_call(emu):
    p, deployment = pipeline(emu)
    inv_type = deployment.object_type_ids["invoices"]
    requests.delete(
        f"{emu.url}/crm/v3/properties/{inv_type}/lago_invoice_currency",
        headers={"Authorization": f"Bearer {PRIVATE_APP_TOKEN}"},
        timeout=5,
    ).raise_for_status()
    emu.clear_log()
    lines = [record("invoices", invoice(i, "c1")) for i in range(100)]
    with pytest.raises(Exception, match="redeploys the model"):
        run_all(p, lines + [stream_state("invoices", 1)])
    upserts = [r for r in emu.requests if r["path"].endswith("/batch/upsert")]
    assert len(upserts) == 1  # neither bisected nor asked again record by record
    assert p.report.rejections == []


def test_refused_records_are_the_same_in_both_modes(emu):
    p, deployment = pipeline(emu)
    subs = [subscription(i, "c1") for i in range(30)]
    for i in (3, 4, 17):
        subs[i]["billing_time"] = "weekly"  # not an option of lago_billing_time
    lines = [record("customers", customer(1))] + [record("subscriptions", s) for s in subs]
    out = run_all(p, lines + [stream_state("subscriptions", 1)])
    assert out[0]["state"]["destinationStats"] == {"recordCount": 30.0, "rejectedRecordCount": 3.0}
    written = lago_ids(emu, deployment.object_type_ids["subscriptions"], "lago_subscription_id")
    assert set(written) == {f"s{i}" for i in range(30)} - {"s3", "s4", "s17"}
    rejected = {r.lago_id: r for r in p.report.rejections}
    assert set(rejected) == {"s3", "s4", "s17"}
    assert all(
        r.category == "VALIDATION_ERROR" and "weekly" in r.message for r in rejected.values()
    )
    upserts = [r for r in emu.requests if r["path"].endswith("/batch/upsert")]
    if emu.store.batch_record_errors == "per_record":  # one call, then each refused one alone
        partial = [r for r in upserts if (r["response"] or {}).get("numErrors")]
        assert partial and partial[0]["status"] == 200 and len(partial[0]["body"]["inputs"]) == 30
    else:
        assert any(r["status"] == 400 for r in upserts)
