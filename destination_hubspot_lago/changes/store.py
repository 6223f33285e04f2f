"""Where the change-tracking ledger lives between syncs (issue 19): a directory or an
S3-compatible bucket, per HubSpot portal and connection code (a *scope*).

Each scope holds ledger files, one per successful sync, each under a new unique name, and one
pointer, ``CURRENT.json``, naming the ledger in force with its header::

    <path>/<scope>/ledger-<stamp>-<uuid>.sqlite              (Local)
    <bucket_path>/ledger/<scope>/ledger-<stamp>-<uuid>.sqlite (S3)
    ... /<scope>/CURRENT.json

:meth:`LedgerStore.save` writes the new ledger first and the pointer second, each in one
atomic step (``os.replace`` of a complete temporary file; one S3 PUT): a reader sees the old
ledger or the new one, never half of one, and a save that fails leaves the old one in force.
Only then are the scope's older ledgers deleted, best effort.

The pointer also records the ledger's size and SHA-256, so a truncated or swapped ledger is
refused on :meth:`LedgerStore.load`, not read. Every problem is a
:class:`LedgerStorageProblem` naming the ``change_tracking`` field to fix, never a secret.

This module stores bytes: what the SQLite file holds is the pipeline's business.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from ..config import ChangeTracking, LocalChangeTracking, S3ChangeTracking
from .s3 import error_code, explain_s3_error, make_client

logger = logging.getLogger("airbyte")

FIELD = "change_tracking"
POINTER = "CURRENT.json"
POINTER_FORMAT = 1  # the pointer's own layout; another number is refused as unreadable
LEDGER_NAME = re.compile(r"^ledger-[0-9]{8}T[0-9]{12}Z-[0-9a-f]{32}\.sqlite$")
S3_GRANTS = "s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject"
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
_MAX_SEGMENT = 120  # longer encodings become a prefix and a SHA-256 (file names: 255 bytes)


class LedgerStorageProblem(Exception):
    """The ledger's storage cannot be used; the message names the config field to fix."""


@dataclass(frozen=True)
class LedgerHeader:
    """What the pointer says of the ledger in force."""

    portal_id: str
    connection_code: str  # "" when none
    model_version: str
    generation_id: int | None
    written_at: str  # ISO-8601 UTC, e.g. "2026-12-06T22:00:00Z"
    entries: int
    name: str = ""  # the ledger object's/file's name in the store (set by save)
    # When the sync that started this ledger from nothing (a full rewrite) ran: each later
    # sync's ledger carries it on, and full_rewrite_every_days counts from it. "": a pointer
    # written before this field (its written_at stands in).
    rewritten_at: str = ""


class LedgerStore(Protocol):
    where: str  # for messages: "s3://bucket/prefix" or the directory; never a secret

    def probe(self, *, read_only: bool = False) -> None:
        """check: the storage can be used (raises LedgerStorageProblem)."""

    def load(self, scope: str, into: Path) -> LedgerHeader | None:
        """The ledger in force copied to ``into`` and its header; None: no ledger yet."""

    def save(self, scope: str, header: LedgerHeader, file: Path) -> LedgerHeader:
        """``file`` as the scope's new ledger; the header returned has ``name`` set."""


def open_ledger_store(tracking: ChangeTracking | None) -> LedgerStore | None:
    """The store of the configured ``change_tracking``; None when changes are not tracked."""
    if tracking is None:
        return None
    if isinstance(tracking, LocalChangeTracking):
        return LocalLedgerStore(Path(tracking.path))
    if isinstance(tracking, S3ChangeTracking):
        return S3LedgerStore(tracking)
    raise TypeError(f"unknown change_tracking storage {type(tracking).__name__}")


# -- scopes ----------------------------------------------------------------------------------


def _encode(text: str) -> str:
    """An injective, path-safe spelling of ``text``: lower-case letters, digits and '-' stay,
    every other UTF-8 byte becomes ``_xx`` (so ``A`` and ``a`` differ on a case-insensitive
    file system too). Too long: a readable prefix, ``~`` and the SHA-256 of the text."""
    out = "".join(
        chr(b) if chr(b) in _SAFE else f"_{b:02x}" for b in text.encode("utf-8", "surrogatepass")
    )
    if len(out) > _MAX_SEGMENT:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        out = out[:50] + "~" + digest
    return out


def scope_of(portal_id: int | str, connection_code: str | None) -> str:
    """``portal-<id>/code-<code>`` (``portal-<id>/_`` without a code), each part encoded so
    that different inputs never share a scope and none can climb out of it."""
    portal = str(portal_id).strip()
    if not portal:
        raise ValueError("a ledger scope needs the HubSpot portal id")
    code = "_" if not connection_code else "code-" + _encode(connection_code)
    return f"portal-{_encode(portal)}/{code}"


def _check_scope(scope: str) -> list[str]:
    parts = scope.split("/")
    if not parts or any(not p or p in (".", "..") or "\\" in p for p in parts):
        raise ValueError(f"not a ledger scope: {scope!r} (make it with scope_of)")
    return parts


# -- the pointer -----------------------------------------------------------------------------


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _new_name() -> str:
    return f"ledger-{_stamp()}-{uuid.uuid4().hex}.sqlite"


def _digest(file: Path) -> tuple[int, str]:
    sha = hashlib.sha256()
    size = 0
    with file.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            sha.update(chunk)
            size += len(chunk)
    return size, sha.hexdigest()


def _pointer_bytes(header: LedgerHeader, size: int, sha256: str) -> bytes:
    body = {"format": POINTER_FORMAT, **asdict(header), "bytes": size, "sha256": sha256}
    return json.dumps(body, sort_keys=True, indent=1).encode() + b"\n"


_TYPES: dict[str, tuple[type, ...]] = {
    "portal_id": (str,),
    "connection_code": (str,),
    "model_version": (str,),
    "written_at": (str,),
    "entries": (int,),
    "name": (str,),
    "bytes": (int,),
    "sha256": (str,),
}


def _parse_pointer(raw: bytes, where: str) -> tuple[LedgerHeader, int, str]:
    """(header, size, sha256) of a pointer; LedgerStorageProblem when it is not one we wrote."""
    unreadable = (
        f"{FIELD}: the ledger pointer {where} is unreadable (not written by this connector, "
        "or damaged). The next sync writes every record again; to start afresh now, delete "
        "it."
    )
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise LedgerStorageProblem(unreadable) from None
    if not isinstance(body, dict) or body.get("format") != POINTER_FORMAT:
        raise LedgerStorageProblem(unreadable)
    for key, types in _TYPES.items():
        value = body.get(key)
        if not isinstance(value, types) or isinstance(value, bool):
            raise LedgerStorageProblem(unreadable)
    generation = body.get("generation_id")
    if generation is not None and (not isinstance(generation, int) or isinstance(generation, bool)):
        raise LedgerStorageProblem(unreadable)
    if not LEDGER_NAME.match(body["name"]) or body["bytes"] < 0 or body["entries"] < 0:
        raise LedgerStorageProblem(unreadable)
    rewritten_at = body.get("rewritten_at", "")
    if not isinstance(rewritten_at, str):
        raise LedgerStorageProblem(unreadable)
    header = LedgerHeader(
        portal_id=body["portal_id"],
        connection_code=body["connection_code"],
        model_version=body["model_version"],
        generation_id=generation,
        written_at=body["written_at"],
        entries=body["entries"],
        name=body["name"],
        rewritten_at=rewritten_at,
    )
    return header, body["bytes"], body["sha256"]


def _verify_copy(into: Path, size: int, sha256: str, what: str) -> None:
    if _digest(into) != (size, sha256):
        with contextlib.suppress(OSError):
            into.unlink()
        raise LedgerStorageProblem(
            f"{FIELD}: the ledger {what} does not match its pointer (truncated or replaced). "
            "The next sync writes every record again."
        )


# -- a directory -----------------------------------------------------------------------------


def _os_reason(exc: OSError) -> str:
    code = exc.errno
    if code in (errno.EACCES, errno.EPERM):
        return (
            "permission denied: make it writable by the connector's user (in docker, mount a "
            "volume there the container may write)"
        )
    if code in (errno.ENOTDIR, errno.EEXIST, errno.EISDIR):
        return "it, or a folder on its way, is not a directory: choose a directory path"
    if code == errno.EROFS:
        return "the file system is read-only: mount a writable volume there"
    if code in (errno.ENOSPC, errno.EDQUOT):
        return "the disk is full: free space, or choose a directory on a larger volume"
    if code == errno.ENOENT:
        return "it does not exist (a folder on its way is missing)"
    name = errno.errorcode.get(code or 0, type(exc).__name__)
    return f"{exc.strerror or 'system error'} ({name})"


class LocalLedgerStore:
    """The ledger in a directory: ``<path>/<scope>/``. Files 0600, directories 0700."""

    def __init__(self, path: Path) -> None:
        self.path = Path(os.path.expanduser(str(path)))
        self.where = str(self.path)

    def _problem(self, exc: OSError, doing: str) -> LedgerStorageProblem:
        return LedgerStorageProblem(
            f"{FIELD}.path: cannot {doing} {self.where}: {_os_reason(exc)}."
        )

    def _dir(self, scope: str) -> Path:
        return self.path.joinpath(*_check_scope(scope))

    def probe(self, *, read_only: bool = False) -> None:
        """Write, read back, list and delete a small file in the directory (creating it when
        missing). ``read_only`` (a dry run): only list it and check it may be read and
        written, creating nothing; a directory not there yet is fine when its nearest
        existing parent is a directory."""
        if read_only:
            self._probe_read_only()
            return
        try:
            self._mkdir(self.path)
            probe = self.path / f".probe-{uuid.uuid4().hex}"
            _write_file(probe, b"destination-hubspot-lago check")
            try:
                if probe.read_bytes() != b"destination-hubspot-lago check":
                    raise OSError(errno.EIO, "the test file read back differently")
                if probe.name not in os.listdir(self.path):
                    raise OSError(errno.EIO, "the test file is not listed")
            finally:
                probe.unlink()
        except OSError as exc:
            raise self._problem(exc, "write the ledger to") from None

    def _probe_read_only(self) -> None:
        target = self.path
        try:
            while not target.exists():
                if target.parent == target:
                    break
                target = target.parent
            if not target.is_dir():
                raise OSError(errno.ENOTDIR, "not a directory")
            os.listdir(target)
            if not os.access(target, os.R_OK | os.W_OK | os.X_OK):
                raise OSError(errno.EACCES, "permission denied")
        except OSError as exc:
            raise self._problem(exc, "use") from None

    def load(self, scope: str, into: Path) -> LedgerHeader | None:
        folder = self._dir(scope)
        pointer = folder / POINTER
        try:
            raw = pointer.read_bytes()
        except FileNotFoundError:
            return None
        except NotADirectoryError as exc:
            raise self._problem(exc, "read the ledger from") from None
        except OSError as exc:
            raise self._problem(exc, "read the ledger pointer in") from None
        header, size, sha256 = _parse_pointer(raw, str(pointer))
        source = folder / header.name
        try:
            shutil.copyfile(source, into)
        except FileNotFoundError:
            raise LedgerStorageProblem(
                f"{FIELD}.path: the ledger {source} its pointer names is missing (deleted "
                f"from {self.where}?). The next sync writes every record again."
            ) from None
        except OSError as exc:
            raise self._problem(exc, "read the ledger from") from None
        _verify_copy(into, size, sha256, str(source))
        return header

    def save(self, scope: str, header: LedgerHeader, file: Path) -> LedgerHeader:
        folder = self._dir(scope)
        name = _new_name()
        saved = replace(header, name=name)
        try:
            self._mkdir(folder)
            size, sha256 = _digest(file)
            # 1. the ledger, under its own new name (a reader of the old pointer is unaffected)
            _copy_atomically(file, folder / name)
            # 2. the pointer: one os.replace swaps the old ledger for the new one
            _write_file(folder / POINTER, _pointer_bytes(saved, size, sha256))
        except OSError as exc:
            raise self._problem(exc, "save the ledger in") from None
        # 3. the older ledgers, best effort: a leftover costs disk, not correctness.
        try:
            for entry in os.listdir(folder):
                if entry != name and LEDGER_NAME.match(entry):
                    with contextlib.suppress(OSError):
                        (folder / entry).unlink()
        except OSError:
            pass
        return saved

    def _mkdir(self, folder: Path) -> None:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not folder.is_dir():
            raise OSError(errno.ENOTDIR, "not a directory")


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a directory be fsynced
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_file(target: Path, data: bytes) -> None:
    """``data`` as ``target``, atomically: a complete temporary file, fsynced, replaced."""
    _atomically(target, lambda handle: handle.write(data))


def _copy_atomically(source: Path, target: Path) -> None:
    def copy(handle: Any) -> None:
        with source.open("rb") as reading:
            shutil.copyfileobj(reading, handle, 1 << 20)

    _atomically(target, copy)


def _atomically(target: Path, fill: Callable[[Any], object]) -> None:
    """``target`` as ``fill`` writes it: a private temporary file next to it, fsynced, then
    renamed over it (a reader sees the old file or the new one, never half of one)."""
    temp = target.with_name(f".tmp-{uuid.uuid4().hex}-{target.name}")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            fill(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    _fsync_dir(target.parent)


# -- an S3-compatible bucket -----------------------------------------------------------------


class S3LedgerStore:
    """The ledger in a bucket: ``<bucket_path>/ledger/<scope>/``; boto3's managed transfer
    (multipart for big files) both ways. An S3 PUT is atomic, so the pointer is one PUT."""

    def __init__(self, storage: S3ChangeTracking, client: Any = None) -> None:
        self.storage = storage
        self.prefix = f"{storage.bucket_path}/ledger" if storage.bucket_path else "ledger"
        self.where = f"s3://{storage.s3_bucket_name}/{self.prefix}"
        self._client = client or make_client(storage)

    def _key(self, scope: str, name: str) -> str:
        return "/".join([self.prefix, *_check_scope(scope), name])

    def _problem(self, exc: BaseException, doing: str) -> LedgerStorageProblem:
        return LedgerStorageProblem(
            explain_s3_error(
                exc,
                self.storage,
                doing,
                field=FIELD,
                what="the change-tracking bucket",
                grants=S3_GRANTS,
                key_prefix=self.prefix,
            )
        )

    def probe(self, *, read_only: bool = False) -> None:
        """List the prefix, then write, read back and delete a small object under it.
        ``read_only`` (a dry run): only list the prefix, writing nothing."""
        bucket = self.storage.s3_bucket_name
        try:
            self._client.list_objects_v2(Bucket=bucket, Prefix=self.prefix + "/", MaxKeys=1)
        except Exception as exc:
            raise self._problem(exc, "list the ledger in") from None
        if read_only:
            return
        key = f"{self.prefix}/_airbyte_check_{uuid.uuid4().hex}.txt"
        body = b"destination-hubspot-lago check"
        try:
            self._client.put_object(Bucket=bucket, Key=key, Body=body)
        except Exception as exc:
            raise self._problem(exc, "write the ledger to") from None
        try:
            read = self._client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except Exception as exc:
            raise LedgerStorageProblem(
                self._problem(exc, "read the ledger from").args[0]
                + f" (the test object {key} was left in the bucket)"
            ) from None
        try:
            self._client.delete_object(Bucket=bucket, Key=key)
        except Exception as exc:
            raise LedgerStorageProblem(
                self._problem(exc, "delete its test object from").args[0]
                + f" (the test object {key} was left in the bucket)"
            ) from None
        if read != body:
            raise LedgerStorageProblem(
                f"{FIELD}.s3_endpoint: the bucket {bucket} returned other bytes than were "
                "written; check that the endpoint is an S3-compatible service."
            )

    def load(self, scope: str, into: Path) -> LedgerHeader | None:
        bucket = self.storage.s3_bucket_name
        pointer = self._key(scope, POINTER)
        try:
            raw = self._client.get_object(Bucket=bucket, Key=pointer)["Body"].read()
        except Exception as exc:
            if error_code(exc)[0] in ("NoSuchKey", "404"):
                return None
            raise self._problem(exc, "read the ledger pointer from") from None
        header, size, sha256 = _parse_pointer(raw, f"s3://{bucket}/{pointer}")
        key = self._key(scope, header.name)
        try:
            self._client.download_file(bucket, key, str(into))
        except Exception as exc:
            if error_code(exc)[0] in ("NoSuchKey", "404"):
                raise LedgerStorageProblem(
                    f"{FIELD}: the ledger s3://{bucket}/{key} its pointer names is missing "
                    f"(deleted, or a lifecycle rule on {FIELD}.bucket_path?). The next sync "
                    "writes every record again."
                ) from None
            raise self._problem(exc, "read the ledger from") from None
        _verify_copy(into, size, sha256, f"s3://{bucket}/{key}")
        return header

    def save(self, scope: str, header: LedgerHeader, file: Path) -> LedgerHeader:
        bucket = self.storage.s3_bucket_name
        name = _new_name()
        saved = replace(header, name=name)
        try:
            size, sha256 = _digest(file)
        except OSError as exc:
            raise LedgerStorageProblem(
                f"{FIELD}: cannot read the new ledger {file}: {_os_reason(exc)}"
            ) from None
        # 1. the ledger, under its own new name
        try:
            self._client.upload_file(
                str(file),
                bucket,
                self._key(scope, name),
                ExtraArgs={"ContentType": "application/vnd.sqlite3"},
            )
        except Exception as exc:  # boto3's transfer wraps ClientError in S3UploadFailedError
            raise self._problem(exc, "write the ledger to") from None
        # 2. the pointer, one PUT: the old ledger or the new one, never half of one
        try:
            self._client.put_object(
                Bucket=bucket,
                Key=self._key(scope, POINTER),
                Body=_pointer_bytes(saved, size, sha256),
                ContentType="application/json",
            )
        except Exception as exc:
            problem = self._problem(exc, "write the ledger pointer to")
            with contextlib.suppress(Exception):  # the new object is an orphan now
                self._client.delete_object(Bucket=bucket, Key=self._key(scope, name))
            raise problem from None
        # 3. the older ledgers, best effort
        self._delete_older(scope, name)
        return saved

    def _delete_older(self, scope: str, keep: str) -> None:
        bucket = self.storage.s3_bucket_name
        folder = self._key(scope, "")
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=folder
            )
            for page in pages:
                for item in page.get("Contents", []):
                    name = item["Key"][len(folder) :]
                    if name != keep and LEDGER_NAME.match(name):
                        self._client.delete_object(Bucket=bucket, Key=item["Key"])
        except Exception as exc:
            logger.warning(
                "Older ledgers were left in the bucket (they cost storage, not correctness): "
                + self._problem(exc, "delete older ledgers from").args[0]
            )
