"""HubSpot's errors as one exception type, and what each means for a sync.

HubSpot answers every failure with the same JSON envelope (``status``, ``message``,
``correlationId``, ``category``, optional ``errors[]``, ``context``, ``subCategory``;
429s add ``policyName``). :class:`HubSpotError` carries those fields as they came, so
callers decide on HubSpot's own words, never on parsed message text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Failure(StrEnum):
    """Who can fix a failure: mirrors Airbyte's ``FailureType`` without importing it here."""

    CONFIG = "config_error"  # the user: credentials, scopes, plan, portal data
    TRANSIENT = "transient_error"  # nobody: try again later (outage, quota)
    SYSTEM = "system_error"  # us: a bug or an answer we do not understand


@dataclass(eq=False)
class HubSpotError(Exception):
    """A non-success answer from HubSpot (or no answer at all: ``status`` 0)."""

    status: int
    message: str
    category: str = ""
    correlation_id: str = ""
    sub_category: str = ""
    policy_name: str = ""
    errors: list[dict[str, Any]] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)
    operation: str = ""  # e.g. "POST /crm/v3/objects/2-1/batch/upsert" (never carries a token)
    retry_after: float | None = None
    hint: str = ""  # what the user should do; filled by classify()

    def __post_init__(self) -> None:
        classify(self)  # fills in the hint
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f" on {self.operation}" if self.operation else ""
        cat = f" {self.category}" if self.category else ""
        corr = f" (correlationId {self.correlation_id})" if self.correlation_id else ""
        hint = f" {self.hint}" if self.hint else ""
        return f"HubSpot answered {self.status}{cat}{where}: {self.message}{corr}.{hint}"

    @classmethod
    def from_response(
        cls, status: int, body: bytes | str | None, operation: str, retry_after: float | None = None
    ) -> HubSpotError:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
        try:
            data = json.loads(text) if text else {}
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        message = str(data.get("message") or text.strip()[:300] or _reason(status))
        context = data.get("context")
        return cls(
            status=status,
            message=message,
            category=str(data.get("category") or data.get("errorType") or ""),
            correlation_id=str(data.get("correlationId") or ""),
            sub_category=str(data.get("subCategory") or ""),
            policy_name=str(data.get("policyName") or ""),
            errors=[e for e in data.get("errors") or [] if isinstance(e, dict)],
            context=context if isinstance(context, dict) else {},
            operation=operation,
            retry_after=retry_after,
        )

    # -- what kind of failure is this ------------------------------------------------

    @property
    def is_daily_limit(self) -> bool:
        return self.status == 429 and self.policy_name.upper() == "DAILY"

    @property
    def is_burst_limit(self) -> bool:
        return self.status == 429 and not self.is_daily_limit

    @property
    def is_expired_token(self) -> bool:
        return self.status == 401 and self.category == "EXPIRED_AUTHENTICATION"

    @property
    def missing_scopes(self) -> list[str]:
        """Scopes HubSpot says this call needed (403 MISSING_SCOPES)."""
        found: list[str] = []
        sources = [self.context, *[e.get("context") or {} for e in self.errors]]
        for ctx in sources:
            for key in ("requiredGranularScopes", "missingScopes", "requiredScopes"):
                for scope in ctx.get(key) or []:
                    if isinstance(scope, str) and scope not in found:
                        found.append(scope)
        return found

    @property
    def failure(self) -> Failure:
        return classify(self)


class ConnectionFailed(HubSpotError):
    """HubSpot could not be reached or did not answer in time (after retries)."""

    def __str__(self) -> str:
        where = f" for {self.operation}" if self.operation else ""
        hint = f" {self.hint}" if self.hint else ""
        return f"Could not reach HubSpot{where}: {self.message}.{hint}"


def classify(error: HubSpotError) -> Failure:
    """Map a HubSpot error to who can fix it, and attach a hint saying how."""
    status, category = error.status, error.category
    if status == 0:
        error.hint = error.hint or (
            "Check that api_base_url is right and that this machine can reach it; "
            "the sync can be retried."
        )
        return Failure.TRANSIENT
    if status == 401:
        error.hint = error.hint or (
            "The HubSpot credentials were refused: paste a valid Private App access token, "
            "or re-authenticate the OAuth connection."
        )
        return Failure.CONFIG
    if status == 403:
        if category == "MISSING_SCOPES" or error.missing_scopes:
            scopes = ", ".join(error.missing_scopes) or "the scopes listed in the connector docs"
            error.hint = error.hint or (
                "Grant these scopes to the Service Key, Private App or OAuth app, then "
                f"retry: {scopes}."
            )
        else:
            error.hint = error.hint or (
                "HubSpot refused access: check that the portal's plan allows this (custom "
                "objects need an Enterprise plan) and, for OAuth, that the user who authorized "
                "the app may edit the portal's settings (e.g. a Super Admin)."
            )
        return Failure.CONFIG
    if status == 429:
        if error.is_daily_limit:
            error.hint = error.hint or (
                "The portal's daily API quota is used up; it resets at midnight in the "
                "portal's time zone. The sync can be retried then."
            )
        return Failure.TRANSIENT
    if status in (423, 477) or status >= 500:
        error.hint = error.hint or "HubSpot is unavailable right now; the sync can be retried."
        return Failure.TRANSIENT
    return Failure.SYSTEM


def _reason(status: int) -> str:
    return {
        0: "no response",
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        409: "Conflict",
        423: "Locked",
        429: "Too Many Requests",
        477: "Migration In Progress",
        500: "Internal Server Error",
        502: "Bad Gateway",
        503: "Service Unavailable",
        504: "Gateway Timeout",
    }.get(status, "HTTP error")


# -- why HubSpot refused one record ------------------------------------------------------

_INVALID_VALUES_PREFIX = "Property values were not valid:"
_REQUIRED_CODES = frozenset({"REQUIRED", "REQUIRED_FIELD", "REQUIRED_PROPERTY", "MISSING_REQUIRED"})
_MAX_REASON = 1000


def rejection_reason(error: HubSpotError) -> str:
    """The reason a whole-request refusal gives for the one record it was about."""
    return explain_rejection(
        error.category, error.sub_category, error.message, error.context, error.errors
    )


def item_reason(item: Mapping[str, Any]) -> str:
    """The reason one ``errors[]`` item of a batch answer gives for its record."""
    context = item.get("context")
    details = item.get("errors")
    return explain_rejection(
        str(item.get("category") or ""),
        str(item.get("subCategory") or ""),
        str(item.get("message") or json.dumps(item)[:300]),
        context if isinstance(context, dict) else {},
        [e for e in details if isinstance(e, dict)] if isinstance(details, list) else [],
    )


def explain_rejection(
    category: str,
    sub_category: str,
    message: str,
    context: Mapping[str, Any],
    errors: list[dict[str, Any]],
) -> str:
    """HubSpot's own words, plus — for a ``VALIDATION_ERROR`` — each refused property and
    what to change (a portal's admin-configured validation rules are enforced on writes
    from API version 2026-09). Pure: built from the structured fields of the answer (and
    the JSON list HubSpot embeds after "Property values were not valid:")."""
    text = message
    details = [str(e["message"]) for e in errors if e.get("message")]
    if details and not any(d in text for d in details):
        text += " (" + "; ".join(details[:3]) + ")"
    if category != "VALIDATION_ERROR":
        return text[:_MAX_REASON]
    refused = _refused_properties(sub_category, message, context, errors)
    if not refused:
        return text[:_MAX_REASON]
    required = [name for name, code in refused if code in _REQUIRED_CODES]
    other = [name for name, code in refused if code not in _REQUIRED_CODES]
    advice = []
    if required:
        names = ", ".join(f"'{n}'" for n in required)
        advice.append(
            f"HubSpot requires {names} on this record (a validation rule or required "
            "property set by a HubSpot admin). Either give the record a value for it in Lago, "
            f"or have an admin relax the rule in HubSpot (Settings > Properties > {required[0]} "
            "> Rules, or Settings > Objects > the object > Record creation)."
        )
    if other:
        names = ", ".join(f"'{n}'" for n in other)
        codes = sorted({code for name, code in refused if name in other and code})
        kind = f" ({', '.join(codes)})" if codes else ""
        advice.append(
            f"HubSpot refused the value of {names}{kind}. Correct the value in Lago, or have a "
            f"HubSpot admin change the property's validation rule (Settings > Properties > "
            f"{other[0]} > Rules)."
        )
    return (text[: _MAX_REASON // 2] + " — " + " ".join(advice))[:_MAX_REASON]


def _refused_properties(
    sub_category: str, message: str, context: Mapping[str, Any], errors: list[dict[str, Any]]
) -> list[tuple[str, str]]:
    """(property name, error code) pairs named by the answer, in order, without repeats."""
    found: list[tuple[str, str]] = []

    def add(name: Any, code: Any) -> None:
        if isinstance(name, str) and name and all(n != name for n, _ in found):
            found.append((name, str(code or sub_category or "").upper()))

    for item in errors:
        ctx = item.get("context") if isinstance(item.get("context"), dict) else {}
        names = (ctx or {}).get("propertyName") or []
        for name in names if isinstance(names, list) else [names]:
            add(name, item.get("code") or item.get("subCategory"))
        if not names and item.get("in"):
            add(item.get("in"), item.get("code") or item.get("subCategory"))
    if message.startswith(_INVALID_VALUES_PREFIX):
        try:
            listed = json.loads(message[len(_INVALID_VALUES_PREFIX) :].strip())
        except ValueError:
            listed = []
        for entry in listed if isinstance(listed, list) else []:
            if isinstance(entry, dict):
                add(entry.get("name"), entry.get("error"))
    for name in context.get("propertyName") or [] if isinstance(context, Mapping) else []:
        add(name, sub_category)
    return found
