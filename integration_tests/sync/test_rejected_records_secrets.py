"""A stored rejected record never holds a secret of the run: every line written to the bucket
goes through the secret filter, even when the record's own data quotes a secret. Through the
real connector process, over a real S3-compatible server (moto's, on loopback)."""

from __future__ import annotations

import json

import pytest

from tests.support.harness import (
    PRIVATE_APP_TOKEN,
    make_emulator,
    private_app_config,
    record,
    run_connector,
    stream_state,
)
from tests.support.pipeline import customer, subscription
from tests.support.s3_server import S3Server


@pytest.fixture(scope="module")
def s3():
    with S3Server() as server:
        yield server


def test_a_secret_in_a_rejected_records_data_is_masked_in_the_stored_line(s3):
    secret_key = s3.writer.secret_access_key
    # Someone pasted credentials into a Lago field; HubSpot refuses the record for another
    # reason (an option lago_billing_time lacks), so its properties are stored.
    refused = subscription(
        1, "c1", name=f"Plan {PRIVATE_APP_TOKEN} / {secret_key}", billing_time="weekly"
    )
    lines = [
        record("customers", customer(1)),
        stream_state("customers", 1),
        record("subscriptions", refused),
        stream_state("subscriptions", 2),
    ]
    with make_emulator() as emu:
        config = private_app_config(emu.url, object_storage_config=s3.storage_config())
        run = run_connector("write", config, lines)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    ((key, body),) = s3.objects().items()
    assert key.split("/")[-2] == "subscriptions"
    (line,) = [json.loads(text) for text in body.decode().splitlines()]
    assert line["lago_id"] == "s1" and line["category"] == "VALIDATION_ERROR"
    assert line["properties"]["lago_subscription_name"] == "Plan **** / ****"
    stored = body.decode()
    assert PRIVATE_APP_TOKEN not in stored and secret_key not in stored
