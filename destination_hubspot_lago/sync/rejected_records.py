"""Rejected records kept in an S3-compatible bucket, as Airbyte's data-activation destinations do.

One JSON-lines object per sync and stream, under the configured prefix::

    {bucket_path}/{stream}/{sync start, UTC}_{run id}.jsonl

Each line is one record HubSpot (or the mapping) refused: stream, Lago id, HubSpot object,
HubSpot's category and reason, the mapped properties, when. Never a secret: the properties
are what was sent to HubSpot, and every line also goes through the CDK's secret filter.

Memory stays bounded: each stream's lines go to a spooled temporary file (in memory up to
1 MiB, then on disk), uploaded by :meth:`S3RejectedRecords.flush` at the end of the sync with
boto3's managed transfer (multipart above 8 MiB).

Use::

    store = open_store(config.rejected_records_storage)   # None when none is configured
    store.verify()                                        # check: write + delete a probe
    store.add("customers", lago_id, "VALIDATION_ERROR", reason, properties, "companies")
    keys = store.flush()                                  # end of write
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import IO, Any

import orjson

from ..airbyte.secrets import filter_secrets
from ..changes.s3 import explain_s3_error as _explain
from ..changes.s3 import make_client
from ..config import S3ObjectStorage

SPOOL_BYTES = 1 << 20  # a stream's lines stay in memory up to this, then go to a temp file
FIELD = "object_storage_config"


class StorageProblem(Exception):
    """The bucket cannot be used; the message names the field to fix and how."""


def open_store(storage: S3ObjectStorage | None, **kwargs: Any) -> S3RejectedRecords | None:
    """The store for a configured bucket, or None when rejected records are not stored."""
    return None if storage is None else S3RejectedRecords(storage, **kwargs)


class S3RejectedRecords:
    """Collects rejected records per stream and writes them to the bucket at the end.

    Owned by the message loop (as all sync state is): ``add`` and ``flush`` run on its thread.
    """

    def __init__(
        self,
        storage: S3ObjectStorage,
        sync_started: datetime | None = None,
        run_id: str | None = None,
        client: Any = None,
    ) -> None:
        self.storage = storage
        self.sync_started = (sync_started or datetime.now(UTC)).astimezone(UTC)
        self.run_id = run_id or uuid.uuid4().hex[:8]
        self._client = client or make_client(storage)
        self._files: dict[str, IO[bytes]] = {}
        self._counts: dict[str, int] = {}

    # -- where ----------------------------------------------------------------------------

    def key(self, stream: str) -> str:
        stamp = self.sync_started.strftime("%Y-%m-%dT%H-%M-%SZ")
        name = f"{stream}/{stamp}_{self.run_id}.jsonl"
        return f"{self.storage.bucket_path}/{name}" if self.storage.bucket_path else name

    @property
    def where(self) -> str:
        prefix = f"/{self.storage.bucket_path}" if self.storage.bucket_path else ""
        return f"s3://{self.storage.s3_bucket_name}{prefix}"

    # -- collecting -----------------------------------------------------------------------

    def add(
        self,
        stream: str,
        lago_id: str | None,
        category: str,
        reason: str,
        properties: Mapping[str, Any] | None = None,
        hubspot_object: str | None = None,
    ) -> None:
        line = {
            "stream": stream,
            "lago_id": lago_id,
            "hubspot_object": hubspot_object,
            "category": category,
            "reason": reason,
            "properties": dict(properties or {}),
            "rejected_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "sync_started_at": self.sync_started.isoformat(timespec="seconds"),
        }
        data = filter_secrets(orjson.dumps(line).decode()).encode() + b"\n"
        handle = self._files.get(stream)
        if handle is None:
            handle = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
            self._files[stream] = handle
        handle.write(data)
        self._counts[stream] = self._counts.get(stream, 0) + 1

    @property
    def counts(self) -> dict[str, int]:
        """Rejected records collected so far, per stream."""
        return dict(self._counts)

    # -- writing --------------------------------------------------------------------------

    def flush(self) -> list[str]:
        """Upload each stream's object; return the keys written. Raises StorageProblem."""
        files, self._files = self._files, {}
        written = []
        try:
            for stream, handle in sorted(files.items()):
                handle.seek(0)
                key = self.key(stream)
                try:
                    self._client.upload_fileobj(
                        handle,
                        self.storage.s3_bucket_name,
                        key,
                        ExtraArgs={"ContentType": "application/x-ndjson"},
                    )
                except (
                    Exception
                ) as exc:  # boto3's transfer wraps ClientError in S3UploadFailedError
                    raise StorageProblem(self.explain(exc, "write rejected records to")) from None
                written.append(key)
        finally:
            for handle in files.values():
                handle.close()
        return written

    def verify(self) -> None:
        """Prove the bucket takes writes under the prefix: write a probe object, delete it."""
        key = f"{self.storage.bucket_path}/" if self.storage.bucket_path else ""
        key += f"_airbyte_check_{uuid.uuid4().hex}.txt"
        bucket = self.storage.s3_bucket_name
        try:
            self._client.put_object(Bucket=bucket, Key=key, Body=b"destination-hubspot-lago check")
        except Exception as exc:
            raise StorageProblem(self.explain(exc, "write to")) from None
        try:
            self._client.delete_object(Bucket=bucket, Key=key)
        except Exception as exc:
            raise StorageProblem(
                self.explain(exc, "delete its test object from")
                + f" (the test object {key} was left in the bucket)"
            ) from None

    def explain(self, exc: BaseException, doing: str) -> str:
        return explain_s3_error(exc, self.storage, doing)


def explain_s3_error(exc: BaseException, storage: S3ObjectStorage, doing: str) -> str:
    """What went wrong with the bucket, naming the field of ``object_storage_config`` to fix.

    Never the keys themselves, nor boto's own text (it may quote a request)."""
    return _explain(exc, storage, doing, field=FIELD, what="the rejected-records bucket")
