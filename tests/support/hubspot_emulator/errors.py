"""Error type and small helpers shared by the emulator modules.

Every non-2xx answer of the emulator is built from an ``ApiError`` so that all bodies share
HubSpot's envelope: ``{"status": "error", "message", "correlationId", "category"}`` plus
``errors``/``context``/``links`` where relevant (spec schema ``Error``).  The correlation id is
added by the server when the response is written, so the same id ends up in the body and in the
``x-hubspot-correlation-id`` header.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def now_iso() -> str:
    """Timestamp in HubSpot's format: ISO 8601, UTC, millisecond precision, ``Z`` suffix."""
    return iso_from_datetime(datetime.now(UTC))


def iso_from_datetime(moment: datetime) -> str:
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


class ApiError(Exception):
    """An HTTP error answer.

    ``extra`` holds top-level body fields outside the common envelope (``error``,
    ``policyName``...).  ``context`` values must be lists of strings (spec: ``context`` is
    ``object{array[string]}``).
    """

    def __init__(
        self,
        status: int,
        category: str,
        message: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        context: dict[str, list[str]] | None = None,
        links: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.category = category
        self.message = message
        self.errors = errors
        self.context = context
        self.links = links
        self.extra = extra or {}
        self.headers = headers or {}

    def body(self, correlation_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": "error",
            "message": self.message,
            "correlationId": correlation_id,
            "category": self.category,
        }
        if self.errors is not None:
            body["errors"] = self.errors
        if self.context is not None:
            body["context"] = self.context
        if self.links is not None:
            body["links"] = self.links
        body.update(self.extra)
        return body

    def as_standard_error(self) -> dict[str, Any]:
        """The same error as a batch ``errors[]`` item (spec ``StandardError``: all of
        status/category/message/context/errors/links are required there)."""
        return {
            "status": "error",
            "category": self.category,
            "message": self.message,
            "context": self.context or {},
            "errors": self.errors or [],
            "links": self.links or {},
        }


def validation_error(message: str, **kwargs: Any) -> ApiError:
    return ApiError(400, "VALIDATION_ERROR", message, **kwargs)


def not_found(message: str, **kwargs: Any) -> ApiError:
    return ApiError(404, "OBJECT_NOT_FOUND", message, **kwargs)


def missing_json_fields(type_name: str, missing: list[str]) -> ApiError:
    # HubSpot deserialises bodies into immutable Java types; a missing required field surfaces as
    # this Jackson/Immutables message (UNVERIFIED wording, seen in integrator reports).
    return validation_error(
        f"Invalid input JSON on line 1, column 1: Cannot build {type_name}, some of required "
        f"attributes are not set [{', '.join(missing)}]"
    )
