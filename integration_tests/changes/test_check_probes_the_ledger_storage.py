"""`check` proves the change-tracking storage before anything is deployed in HubSpot: a
directory or a bucket the connector cannot use fails the check, naming the field to fix."""

from __future__ import annotations

import os

import pytest

from tests.support.harness import private_app_config, run_connector
from tests.support.s3_server import S3Server


@pytest.fixture(scope="module")
def s3():
    with S3Server() as server:
        yield server


@pytest.fixture(autouse=True)
def empty_bucket(s3):
    s3.clear()


def s3_tracking(s3, **overrides):
    return {**s3.storage_config(), "bucket_path": "hubspot-lago", **overrides}


def test_check_succeeds_with_a_usable_directory_and_leaves_nothing(emulator, tmp_path):
    path = tmp_path / "ledgers"
    config = private_app_config(
        emulator.url, change_tracking={"storage_type": "Local", "path": str(path)}
    )
    run = run_connector("check", config)
    assert run.status["status"] == "SUCCEEDED", run.status
    assert path.is_dir() and os.listdir(path) == []


def test_check_fails_naming_the_path_when_it_is_not_a_directory(emulator, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for dry_run in (False, True):
        config = private_app_config(
            emulator.url,
            dry_run=dry_run,
            change_tracking={"storage_type": "Local", "path": str(blocker / "ledgers")},
        )
        run = run_connector("check", config)
        assert run.status["status"] == "FAILED"
        message = run.status["message"]
        assert message.startswith("change_tracking.path: ") and "not a directory" in message
        assert "Traceback" not in message
    assert emulator.mutating_requests() == []


def test_a_dry_run_check_writes_nothing(emulator, tmp_path):
    path = tmp_path / "not-yet"
    config = private_app_config(
        emulator.url, dry_run=True, change_tracking={"storage_type": "Local", "path": str(path)}
    )
    run = run_connector("check", config)
    assert run.status["status"] == "SUCCEEDED", run.status
    assert not path.exists()


def test_check_succeeds_with_a_usable_bucket_and_leaves_nothing(emulator, s3):
    run = run_connector("check", private_app_config(emulator.url, change_tracking=s3_tracking(s3)))
    assert run.status["status"] == "SUCCEEDED", run.status
    assert s3.objects() == {}


@pytest.mark.parametrize(
    "change, field",
    [
        ({"s3_bucket_name": "no-such-bucket"}, "change_tracking.s3_bucket_name"),
        ({"secret_access_key": "a-wrong-secret-value"}, "change_tracking.secret_access_key"),
        ({"access_key_id": "AKIANOTAKNOWNKEY0000"}, "change_tracking.access_key_id"),
    ],
)
def test_check_fails_naming_the_bucket_field_and_deploys_nothing(emulator, s3, change, field):
    config = private_app_config(emulator.url, change_tracking=s3_tracking(s3, **change))
    run = run_connector("check", config)
    assert run.status["status"] == "FAILED"
    assert field in run.status["message"]
    assert emulator.mutating_requests() == []
    for secret in ("a-wrong-secret-value", s3.writer.secret_access_key):
        assert secret not in run.stdout + run.stderr


def test_a_dry_run_check_of_a_bucket_only_lists_it(emulator, s3):
    # the key that may not delete passes a read-only probe; a real check would fail on it
    no_delete = s3_tracking(
        s3,
        access_key_id=s3.no_delete.access_key_id,
        secret_access_key=s3.no_delete.secret_access_key,
    )
    dry = run_connector(
        "check", private_app_config(emulator.url, dry_run=True, change_tracking=no_delete)
    )
    assert dry.status["status"] == "SUCCEEDED", dry.status
    real = run_connector("check", private_app_config(emulator.url, change_tracking=no_delete))
    assert real.status["status"] == "FAILED"
    assert "s3:DeleteObject" in real.status["message"]
    assert "left in the bucket" in real.status["message"]
