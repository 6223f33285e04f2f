"""The S3 client and the explanation of its errors, shared by every bucket the connector
writes to: the rejected records (``object_storage_config``, ``sync/rejected_records.py``) and
the change-tracking ledger (``change_tracking``, ``store.py``).

Every explanation names the config field to fix, never a key nor boto's own text (it may
quote a request)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..config import S3ObjectStorage


def make_client(storage: S3ObjectStorage) -> Any:
    """A boto3 S3 client for ``storage``: its endpoint, region and keys, else the
    environment's credentials; boto3 itself honours AWS_CA_BUNDLE and the other AWS_*
    variables."""
    # boto3 is imported here, when a bucket is configured: it costs ~0.3 s of start-up.
    import boto3
    from botocore.config import Config

    options: dict[str, Any] = {
        "region_name": storage.s3_bucket_region or None,
        "endpoint_url": storage.s3_endpoint,
        "config": Config(
            connect_timeout=10,
            read_timeout=60,
            retries={"max_attempts": 4, "mode": "standard"},
            # S3-compatible servers (MinIO, Ceph, ...) rarely serve bucket subdomains.
            s3={"addressing_style": "path" if storage.s3_endpoint else "auto"},
        ),
    }
    if storage.access_key_id and storage.secret_access_key:
        options["aws_access_key_id"] = storage.access_key_id
        options["aws_secret_access_key"] = storage.secret_access_key
    return boto3.session.Session().client("s3", **options)


def error_code(exc: BaseException) -> tuple[str, Mapping[str, Any]]:
    """(error code, response) of a ClientError, also when boto3's transfer wrapped it."""
    from botocore.exceptions import ClientError

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ClientError):
            return str(seen.response.get("Error", {}).get("Code", "")), seen.response
        seen = seen.__cause__ or seen.__context__
    return "", {}


def explain_s3_error(
    exc: BaseException,
    storage: S3ObjectStorage,
    doing: str,
    *,
    field: str = "object_storage_config",
    what: str = "the rejected-records bucket",
    grants: str = "s3:PutObject and s3:DeleteObject",
    key_prefix: str | None = None,
) -> str:
    """What went wrong with the bucket, naming the field of ``field`` to fix.

    ``what`` names the bucket's use, ``grants`` the actions the key needs on
    ``key_prefix``/* (default: ``bucket_path``). Never the keys themselves, nor boto's text."""
    from botocore.exceptions import (
        BotoCoreError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
    )

    bucket = storage.s3_bucket_name
    at = f" at {storage.s3_endpoint}" if storage.s3_endpoint else ""
    head = f"Could not {doing} {what} {bucket}{at}: "
    code, response = error_code(exc)
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return head + (
            f"no AWS credentials. Set {field}.access_key_id and {field}.secret_access_key, or "
            "run where the environment provides credentials."
        )
    if isinstance(exc, EndpointConnectionError) or (
        not code and isinstance(exc, BotoCoreError) and "connect" in type(exc).__name__.lower()
    ):
        return head + (
            f"the endpoint cannot be reached. Check {field}.s3_endpoint (empty for AWS S3) and "
            f"{field}.s3_bucket_region, and that the network allows it."
        )
    if code in ("InvalidAccessKeyId", "InvalidClientTokenId", "InvalidToken"):
        return head + (
            f"the service does not know this access key. Check {field}.access_key_id "
            "(and that it is not deactivated)."
        )
    if code == "SignatureDoesNotMatch":
        return head + (
            f"the secret does not match the access key. Paste {field}.secret_access_key again."
        )
    if code == "NoSuchBucket":
        return head + (
            f"the bucket does not exist. Create it, or correct {field}.s3_bucket_name "
            f"(and {field}.s3_endpoint / s3_bucket_region if it lives elsewhere)."
        )
    if code in (
        "PermanentRedirect",
        "AuthorizationHeaderMalformed",
        "IllegalLocationConstraintException",
        "301",
        "InvalidRegion",
    ):
        actual = (response.get("ResponseMetadata", {}).get("HTTPHeaders", {}) or {}).get(
            "x-amz-bucket-region"
        ) or response.get("Error", {}).get("Region")
        hint = f" (the bucket is in {actual})" if actual else ""
        return head + (
            f"the bucket is in another region{hint}. Set {field}.s3_bucket_region to the "
            f"bucket's region, or check {field}.s3_endpoint."
        )
    if code in ("AccessDenied", "403", "AllAccessDisabled"):
        prefix = storage.bucket_path if key_prefix is None else key_prefix
        path = f"{prefix}/*" if prefix else "*"
        return head + (
            f"access denied. Grant the access key {grants} on "
            f"arn:aws:s3:::{bucket}/{path}, or check {field}.access_key_id."
        )
    if code:
        return head + f"the service answered {code}. Check the fields of {field}."
    return head + f"{type(exc).__name__}. Check the fields of {field}."
