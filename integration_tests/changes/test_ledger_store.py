"""The change-tracking ledger's storage (changes/store.py) over a real directory and a real
S3-compatible server (moto's standalone server on loopback, signatures checked): the same
promises from both, then what is particular to each."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from destination_hubspot_lago.changes import store as store_module
from destination_hubspot_lago.changes.store import (
    LEDGER_NAME,
    POINTER,
    LedgerHeader,
    LedgerStorageProblem,
    LocalLedgerStore,
    S3LedgerStore,
    open_ledger_store,
    scope_of,
)
from destination_hubspot_lago.config import DestinationConfig
from tests.support.s3_server import BUCKET, S3Server

SCOPE = scope_of(123, "hubspot-eu")
OTHER = scope_of(123, "")
HEADER = LedgerHeader(
    portal_id="123",
    connection_code="hubspot-eu",
    model_version="2026.12",
    generation_id=7,
    written_at="2026-12-06T22:00:00Z",
    entries=3,
)


@pytest.fixture(scope="module")
def s3():
    with S3Server() as server:
        yield server


def tracking(raw: dict[str, Any]) -> Any:
    config = {
        "credentials": {"credentials_title": "Private App Credentials", "access_token": "t"},
        "change_tracking": raw,
    }
    parsed = DestinationConfig.parse(config).change_tracking
    assert parsed is not None
    return parsed


def s3_tracking(s3, keys=None, **overrides) -> Any:
    raw = {**s3.storage_config(keys), "bucket_path": "hubspot-lago", **overrides}
    return tracking(raw)


class Local:
    """A LocalLedgerStore and direct access to its files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.store = open_ledger_store(tracking({"storage_type": "Local", "path": str(root)}))
        assert isinstance(self.store, LocalLedgerStore)

    def names(self, scope: str) -> set[str]:
        folder = self.root / scope
        return set(os.listdir(folder)) if folder.is_dir() else set()

    def put(self, scope: str, name: str, data: bytes) -> None:
        (self.root / scope).mkdir(parents=True, exist_ok=True)
        (self.root / scope / name).write_bytes(data)

    def get(self, scope: str, name: str) -> bytes:
        return (self.root / scope / name).read_bytes()

    def delete(self, scope: str, name: str) -> None:
        (self.root / scope / name).unlink()


class Bucket:
    """An S3LedgerStore and direct access to its objects."""

    def __init__(self, s3: S3Server) -> None:
        s3.clear()
        self.s3 = s3
        self.store = open_ledger_store(s3_tracking(s3))
        assert isinstance(self.store, S3LedgerStore)

    def _key(self, scope: str, name: str) -> str:
        return f"hubspot-lago/ledger/{scope}/{name}"

    def names(self, scope: str) -> set[str]:
        prefix = self._key(scope, "")
        return {k[len(prefix) :] for k in self.s3.objects(prefix)}

    def put(self, scope: str, name: str, data: bytes) -> None:
        self.s3.client().put_object(Bucket=BUCKET, Key=self._key(scope, name), Body=data)

    def get(self, scope: str, name: str) -> bytes:
        return self.s3.objects(self._key(scope, name))[self._key(scope, name)]

    def delete(self, scope: str, name: str) -> None:
        self.s3.client().delete_object(Bucket=BUCKET, Key=self._key(scope, name))


@pytest.fixture(params=["local", "s3"])
def where(request, tmp_path):
    if request.param == "local":
        return Local(tmp_path / "ledgers")
    return Bucket(request.getfixturevalue("s3"))


def ledger_file(tmp_path: Path, data: bytes, name: str = "new.sqlite") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# -- the same promises from both --------------------------------------------------------------


def test_no_ledger_yet_is_none(where, tmp_path):
    assert where.store.load(SCOPE, tmp_path / "got.sqlite") is None
    assert not (tmp_path / "got.sqlite").exists()


def test_save_then_load_round_trips_the_bytes_and_the_header(where, tmp_path):
    data = os.urandom(200_000) + b"\x00SQLite format 3\x00"
    saved = where.store.save(SCOPE, HEADER, ledger_file(tmp_path, data))
    assert LEDGER_NAME.match(saved.name)
    assert saved == replace(HEADER, name=saved.name)
    assert where.names(SCOPE) == {saved.name, POINTER}

    got = tmp_path / "got.sqlite"
    assert where.store.load(SCOPE, got) == saved
    assert got.read_bytes() == data


def test_a_second_save_replaces_the_pointer_and_deletes_the_older_ledger(where, tmp_path):
    first = where.store.save(SCOPE, HEADER, ledger_file(tmp_path, b"first"))
    second_header = replace(HEADER, entries=4, generation_id=8)
    second = where.store.save(SCOPE, second_header, ledger_file(tmp_path, b"second", "2.sqlite"))
    assert second.name != first.name
    assert where.names(SCOPE) == {second.name, POINTER}

    got = tmp_path / "got.sqlite"
    assert where.store.load(SCOPE, got) == second
    assert got.read_bytes() == b"second" and second.entries == 4


def test_a_pointer_to_a_missing_ledger_is_a_problem(where, tmp_path):
    saved = where.store.save(SCOPE, HEADER, ledger_file(tmp_path, b"ledger"))
    where.delete(SCOPE, saved.name)
    with pytest.raises(LedgerStorageProblem) as info:
        where.store.load(SCOPE, tmp_path / "got.sqlite")
    message = str(info.value)
    assert message.startswith("change_tracking") and "missing" in message
    assert saved.name in message


def test_a_ledger_that_does_not_match_its_pointer_is_a_problem(where, tmp_path):
    saved = where.store.save(SCOPE, HEADER, ledger_file(tmp_path, b"the whole ledger"))
    where.put(SCOPE, saved.name, b"the whole")  # truncated
    got = tmp_path / "got.sqlite"
    with pytest.raises(LedgerStorageProblem, match="change_tracking: .* does not match"):
        where.store.load(SCOPE, got)
    assert not got.exists(), "a ledger that does not match is not left to be read"


@pytest.mark.parametrize("garbage", [b"{not json", b'{"format": 99}', b"\x00\x01"])
def test_a_garbled_pointer_is_unreadable(where, tmp_path, garbage):
    where.store.save(SCOPE, HEADER, ledger_file(tmp_path, b"ledger"))
    where.put(SCOPE, POINTER, garbage)
    with pytest.raises(LedgerStorageProblem, match="change_tracking: .*unreadable"):
        where.store.load(SCOPE, tmp_path / "got.sqlite")


def test_two_scopes_never_see_each_others_ledgers(where, tmp_path):
    mine = where.store.save(SCOPE, HEADER, ledger_file(tmp_path, b"mine"))
    assert where.store.load(OTHER, tmp_path / "other.sqlite") is None
    theirs_header = replace(HEADER, connection_code="")
    theirs = where.store.save(OTHER, theirs_header, ledger_file(tmp_path, b"theirs", "t.sqlite"))
    # saving one scope deletes none of the other's ledgers
    assert where.names(SCOPE) == {mine.name, POINTER}
    got = tmp_path / "got.sqlite"
    assert where.store.load(SCOPE, got) == mine and got.read_bytes() == b"mine"
    assert where.store.load(OTHER, got) == theirs and got.read_bytes() == b"theirs"


def test_the_probe_leaves_nothing_behind(where):
    where.store.probe()
    where.store.probe(read_only=True)
    if isinstance(where, Local):
        assert os.listdir(where.root) == []
    else:
        assert where.s3.objects() == {}


# -- a directory --------------------------------------------------------------------------------


def test_local_files_are_private_and_no_temporary_file_is_left(tmp_path):
    local = Local(tmp_path / "ledgers")
    saved = local.store.save(SCOPE, HEADER, ledger_file(tmp_path, b"ledger"))
    folder = tmp_path / "ledgers" / SCOPE
    assert set(os.listdir(folder)) == {saved.name, POINTER}
    for name in (saved.name, POINTER):
        assert (folder / name).stat().st_mode & 0o777 == 0o600
    assert folder.stat().st_mode & 0o077 == 0


def test_local_pointer_write_failing_leaves_the_previous_ledger_in_force(tmp_path, monkeypatch):
    local = Local(tmp_path / "ledgers")
    first = local.store.save(SCOPE, HEADER, ledger_file(tmp_path, b"first"))
    real_replace = os.replace

    def refuse_the_pointer(src, dst, *args, **kwargs):
        if Path(dst).name == POINTER:
            raise OSError(28, "No space left on device")
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(store_module.os, "replace", refuse_the_pointer)
    with pytest.raises(LedgerStorageProblem) as info:
        local.store.save(SCOPE, replace(HEADER, entries=9), ledger_file(tmp_path, b"second", "2"))
    assert str(info.value).startswith("change_tracking.path: ") and "disk is full" in str(
        info.value
    )
    monkeypatch.setattr(store_module.os, "replace", real_replace)

    got = tmp_path / "got.sqlite"
    assert local.store.load(SCOPE, got) == first and got.read_bytes() == b"first"
    assert first.name in local.names(SCOPE)
    assert not [n for n in local.names(SCOPE) if n.startswith(".tmp-")]


def test_local_ledger_write_failing_leaves_the_previous_ledger_in_force(tmp_path, monkeypatch):
    local = Local(tmp_path / "ledgers")
    first = local.store.save(SCOPE, HEADER, ledger_file(tmp_path, b"first"))

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store_module.shutil, "copyfileobj", full_disk)
    with pytest.raises(LedgerStorageProblem, match="change_tracking.path: .*disk is full"):
        local.store.save(SCOPE, HEADER, ledger_file(tmp_path, b"second", "2"))
    monkeypatch.undo()
    got = tmp_path / "got.sqlite"
    assert local.store.load(SCOPE, got) == first and got.read_bytes() == b"first"
    assert local.names(SCOPE) == {first.name, POINTER}


def test_local_path_that_is_not_a_directory_names_the_field(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    for path in (blocker, blocker / "ledgers"):
        local = Local(path)
        for read_only in (False, True):
            with pytest.raises(LedgerStorageProblem) as info:
                local.store.probe(read_only=read_only)
            message = str(info.value)
            assert message.startswith("change_tracking.path: cannot ") and str(path) in message
            assert "not a directory" in message
        with pytest.raises(LedgerStorageProblem, match="change_tracking.path: .*not a directory"):
            local.store.save(SCOPE, HEADER, ledger_file(tmp_path, b"x"))
        with pytest.raises(LedgerStorageProblem, match="change_tracking.path: .*not a directory"):
            local.store.load(SCOPE, tmp_path / "got.sqlite")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_local_directory_without_write_permission_names_the_field(tmp_path):
    root = tmp_path / "ledgers"
    root.mkdir(mode=0o500)
    try:
        with pytest.raises(LedgerStorageProblem, match="change_tracking.path: .*permission"):
            Local(root).store.probe()
    finally:
        root.chmod(0o700)


def test_local_probe_creates_the_directory_but_a_read_only_probe_creates_nothing(tmp_path):
    path = tmp_path / "not" / "yet"
    Local(path).store.probe(read_only=True)
    assert not (tmp_path / "not").exists()
    Local(path).store.probe()
    assert path.is_dir() and os.listdir(path) == []


# -- a bucket -------------------------------------------------------------------------------------


class RefusingPointer:
    """The real client, except that a PUT of the pointer is refused (as a bucket policy
    denying it would)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def put_object(self, **kwargs: Any) -> Any:
        if kwargs["Key"].endswith("/" + POINTER):
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "PutObject")
        return self._client.put_object(**kwargs)


def test_s3_pointer_write_refused_leaves_the_previous_ledger_in_force(s3, tmp_path):
    bucket = Bucket(s3)
    first = bucket.store.save(SCOPE, HEADER, ledger_file(tmp_path, b"first"))
    refusing = S3LedgerStore(s3_tracking(s3), client=RefusingPointer(s3.client()))
    with pytest.raises(LedgerStorageProblem) as info:
        refusing.save(SCOPE, replace(HEADER, entries=9), ledger_file(tmp_path, b"second", "2"))
    message = str(info.value)
    assert "access denied" in message and "change_tracking.access_key_id" in message
    assert "s3:PutObject" in message and "arn:aws:s3:::rejected/hubspot-lago/ledger/*" in message

    got = tmp_path / "got.sqlite"
    assert bucket.store.load(SCOPE, got) == first and got.read_bytes() == b"first"
    # the new object, written before the refused pointer, is not left behind
    assert bucket.names(SCOPE) == {first.name, POINTER}


class RefusingUpload(RefusingPointer):
    """The real client, except that the ledger's upload fails half-way."""

    def put_object(self, **kwargs: Any) -> Any:
        return self._client.put_object(**kwargs)

    def upload_file(self, *args: Any, **kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "InternalError", "Message": "no"}}, "UploadPart")


def test_s3_ledger_upload_failing_leaves_the_previous_ledger_in_force(s3, tmp_path):
    bucket = Bucket(s3)
    first = bucket.store.save(SCOPE, HEADER, ledger_file(tmp_path, b"first"))
    refusing = S3LedgerStore(s3_tracking(s3), client=RefusingUpload(s3.client()))
    with pytest.raises(LedgerStorageProblem, match="the service answered InternalError"):
        refusing.save(SCOPE, replace(HEADER, entries=9), ledger_file(tmp_path, b"second", "2"))
    got = tmp_path / "got.sqlite"
    assert bucket.store.load(SCOPE, got) == first and got.read_bytes() == b"first"
    assert bucket.names(SCOPE) == {first.name, POINTER}


def test_s3_a_key_that_may_not_delete_still_saves(s3, tmp_path):
    bucket = Bucket(s3)
    first = bucket.store.save(SCOPE, HEADER, ledger_file(tmp_path, b"first"))
    no_delete = S3LedgerStore(s3_tracking(s3, s3.no_delete))
    second = no_delete.save(SCOPE, HEADER, ledger_file(tmp_path, b"second", "2"))
    got = tmp_path / "got.sqlite"
    assert bucket.store.load(SCOPE, got) == second and got.read_bytes() == b"second"
    assert bucket.names(SCOPE) == {first.name, second.name, POINTER}  # left, not an error
    # ... but check says so: the probe must delete its test object
    with pytest.raises(LedgerStorageProblem) as info:
        no_delete.probe()
    assert "s3:DeleteObject" in str(info.value) and "left in the bucket" in str(info.value)
    no_delete.probe(read_only=True)


def test_s3_a_big_ledger_goes_up_and_down_in_parts(s3, tmp_path):
    bucket = Bucket(s3)
    data = os.urandom(9 * 1024 * 1024)
    saved = bucket.store.save(SCOPE, HEADER, ledger_file(tmp_path, data))
    key = f"hubspot-lago/ledger/{SCOPE}/{saved.name}"
    assert "-" in s3.etag(key).strip('"'), "a multipart upload's ETag ends with -<parts>"
    got = tmp_path / "got.sqlite"
    assert bucket.store.load(SCOPE, got) == saved and got.read_bytes() == data


def test_s3_without_bucket_path_keeps_the_ledger_under_ledger(s3, tmp_path):
    s3.clear()
    store = S3LedgerStore(s3_tracking(s3, bucket_path=""))
    assert store.where == f"s3://{BUCKET}/ledger"
    saved = store.save(SCOPE, HEADER, ledger_file(tmp_path, b"x"))
    assert set(s3.objects()) == {f"ledger/{SCOPE}/{saved.name}", f"ledger/{SCOPE}/{POINTER}"}


WRONG = [
    ({"access_key_id": "AKIANOTAKNOWNKEY0000"}, "change_tracking.access_key_id"),
    ({"secret_access_key": "a-wrong-secret-value"}, "change_tracking.secret_access_key"),
    ({"s3_bucket_name": "no-such-bucket"}, "change_tracking.s3_bucket_name"),
    ({"s3_endpoint": "http://127.0.0.1:9"}, "change_tracking.s3_endpoint"),
]


@pytest.mark.parametrize("change, field", WRONG)
def test_s3_every_operation_names_the_field_to_fix_and_no_secret(s3, tmp_path, change, field):
    s3.clear()
    store = S3LedgerStore(s3_tracking(s3, **change))
    attempts = [
        store.probe,
        lambda: store.probe(read_only=True),
        lambda: store.load(SCOPE, tmp_path / "got.sqlite"),
        lambda: store.save(SCOPE, HEADER, ledger_file(tmp_path, b"x")),
    ]
    for attempt in attempts:
        with pytest.raises(LedgerStorageProblem) as info:
            attempt()
        message = str(info.value)
        assert field in message and "change-tracking bucket" in message
        for secret in ("a-wrong-secret-value", s3.writer.secret_access_key):
            assert secret not in message
        assert "Traceback" not in message
    assert s3.objects() == {}
