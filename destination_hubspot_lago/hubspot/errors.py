"""HubSpot's errors as immutable values, and every decision about what one means.

HubSpot answers every failure with the same JSON envelope (``status``, ``message``,
``correlationId``, ``category``, optional ``errors[]``, ``context``, ``subCategory``;
429s add ``policyName``, a contact 409 adds ``error``). :class:`HubSpotError` carries
those fields as they came and never changes after construction: who can fix it
(:attr:`HubSpotError.failure`) and what to do (``hint``) are settled once, when it is
made. A caller that knows better (the daily quota's reset time) makes a new value with
:func:`dataclasses.replace`.

Every decision on an error's content is a function of this module, made from those
structured fields (:func:`codes`). Message text is read in one place only,
:func:`_codes_in_message_text`, as a documented last resort for answers that carry
their meaning nowhere else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class Failure(StrEnum):
    """Who can fix a failure: mirrors Airbyte's ``FailureType`` without importing it here."""

    CONFIG = "config_error"  # the user: credentials, scopes, plan, portal data
    TRANSIENT = "transient_error"  # nobody: try again later (outage, quota)
    SYSTEM = "system_error"  # us: a bug or an answer we do not understand


@dataclass(frozen=True, eq=False)
class HubSpotError(Exception):
    """A non-success answer from HubSpot (or no answer at all: ``status`` 0)."""

    status: int
    message: str
    category: str = ""
    correlation_id: str = ""
    sub_category: str = ""
    policy_name: str = ""
    code: str = ""  # the top-level ``error`` field (a contact 409: ``CONTACT_EXISTS``)
    errors: tuple[Mapping[str, Any], ...] = ()
    context: Mapping[str, Any] = field(default_factory=dict)
    operation: str = ""  # e.g. "POST /crm/objects/2026-09/2-1/batch/upsert" (never carries a token)
    retry_after: float | None = None
    hint: str = ""  # what the user should do; when not given, the default for this answer
    failure: Failure = field(init=False, default=Failure.SYSTEM)

    def __post_init__(self) -> None:
        failure, hint = _assess(self)
        object.__setattr__(self, "failure", failure)
        object.__setattr__(self, "hint", self.hint or hint)
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
        if not data.get("message"):
            data = {**data, "message": text.strip()[:300] or _reason(status)}
        return cls.from_body(status, data, operation, retry_after)

    @classmethod
    def from_body(
        cls,
        status: int,
        data: Mapping[str, Any],
        operation: str = "",
        retry_after: float | None = None,
    ) -> HubSpotError:
        """One error envelope (a whole answer, or one item of a 207's ``errors[]``)."""
        context = data.get("context")
        return cls(
            status=status,
            message=str(data.get("message") or json.dumps(data)[:300]),
            category=str(data.get("category") or data.get("errorType") or ""),
            correlation_id=str(data.get("correlationId") or ""),
            sub_category=str(data.get("subCategory") or ""),
            policy_name=str(data.get("policyName") or ""),
            code=str(data.get("error") or ""),
            errors=tuple(e for e in data.get("errors") or [] if isinstance(e, Mapping)),
            context=context if isinstance(context, Mapping) else {},
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
    def is_secondly_limit(self) -> bool:
        """The search endpoints' own limit (5 requests a second, no rate-limit headers)."""
        return self.status == 429 and "SECONDLY" in codes(self)

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


@dataclass(frozen=True, eq=False)
class ConnectionFailed(HubSpotError):
    """HubSpot could not be reached or did not answer in time.

    ``retryable`` is decided where the transport caught the cause: a reset or a timeout
    may heal by waiting, a certificate that fails verification never does."""

    retryable: bool = True

    def __str__(self) -> str:
        where = f" for {self.operation}" if self.operation else ""
        hint = f" {self.hint}" if self.hint else ""
        return f"Could not reach HubSpot{where}: {self.message}.{hint}"


# -- decisions on an error's content ------------------------------------------------

CONFLICT_CATEGORIES = frozenset({"CONFLICT", "OBJECT_ALREADY_EXISTS"})


def codes(error: HubSpotError) -> frozenset[str]:
    """HubSpot's machine-readable words for this error, wherever the envelope puts them:
    ``category``, ``subCategory``, ``policyName``, the top-level ``error``, and the
    ``code``/``subCategory``/``error`` of each ``errors[]`` item; then, as a last resort,
    what :func:`_codes_in_message_text` finds."""
    found = {error.category, error.sub_category, error.policy_name.upper(), error.code}
    for item in error.errors:
        for key in ("code", "subCategory", "error"):
            value = item.get(key)
            if isinstance(value, str):
                found.add(value)
    found |= _codes_in_message_text(error.message)
    found.discard("")
    return frozenset(found)


def is_conflict(error: HubSpotError) -> bool:
    """A unique value (an email, a Lago id) already belongs to another record."""
    return error.status == 409 or error.category in CONFLICT_CATEGORIES


def is_not_found(error: HubSpotError) -> bool:
    return error.status == 404 or error.category == "OBJECT_NOT_FOUND"


def refuses_email(error: HubSpotError) -> bool:
    """HubSpot refused a contact because of its email: malformed, or another contact's."""
    found = codes(error)
    if "INVALID_EMAIL" in found or "CONTACT_EXISTS" in found:
        return True
    return is_conflict(error) and "email" in _named_properties(error)


def as_model_problem(error: HubSpotError) -> HubSpotError | None:
    """The error, explained, when it is about the request's shape rather than its records
    (splitting the batch would not help); None when one record may be the cause.

    A property deleted after deployment fails every record the same way; bisecting it
    would cost two calls per record and reject them all."""
    found = codes(error)
    if "PROPERTY_DOESNT_EXIST" in found:
        return replace(
            error,
            hint=(
                "A property this connector deployed is missing in HubSpot (deleted meanwhile?). "
                "Run the sync again: it redeploys the model before writing."
            ),
        )
    if "NON_UNIQUE_ID_PROPERTY" in found:
        return error
    return None


def refusal_reason(error: HubSpotError) -> str:
    """HubSpot's reason for refusing a record (a whole answer or one item of a batch's
    ``errors[]``), its item details included and, under an admin validation rule, the
    property and what to change (≤ 1000 chars)."""
    return explain_rejection(
        error.category, error.sub_category, error.message, error.context, error.errors
    )


def refusal_code(error: HubSpotError) -> str:
    """The structured kind of a refusal, without any record's values: category, sub-category
    or error code, and each refused property with its code (``VALIDATION_ERROR REQUIRED
    industry:REQUIRED``). Two records refused with the same code were refused for one reason."""
    refused = _refused_properties(error.sub_category, error.message, error.context, error.errors)
    parts = [error.category or f"HTTP_{error.status}", error.sub_category or error.code]
    parts += [f"{name}:{code}" for name, code in sorted(refused)]
    return " ".join(p for p in parts if p)


def _named_properties(error: HubSpotError) -> set[str]:
    """Properties the error names: ``errors[].in`` and ``context.propertyName``."""
    names: set[str] = set()
    for ctx in (error.context, *[e.get("context") or {} for e in error.errors]):
        names.update(str(n) for n in ctx.get("propertyName") or [])
    names.update(str(e["in"]) for e in error.errors if e.get("in"))
    return names


_EMBEDDED_CODE = re.compile(r'"error"\s*:\s*"([A-Z_]+)"')


def _codes_in_message_text(message: str) -> frozenset[str]:
    """LAST RESORT, and the only place message text is read: answers that carry their
    meaning nowhere else.

    * "Property values were not valid: [{…"error":"PROPERTY_DOESNT_EXIST"…}]" — older
      answers put the per-property codes only inside the message, as JSON.
    * "Unable to perform update/upsert by non-unique … property …" — a 400
      ``VALIDATION_ERROR`` with no code of its own (``NON_UNIQUE_ID_PROPERTY`` here).
    * "Contact already exists. Existing ID: …" — older contact 409s without ``error``.
    * "You have reached your secondly limit." — search 429s without ``policyName``.
    """
    found = set(_EMBEDDED_CODE.findall(message))
    text = message.lower()
    if "non-unique" in text:
        found.add("NON_UNIQUE_ID_PROPERTY")
    if "contact already exists" in text:
        found.add("CONTACT_EXISTS")
    if "your secondly limit" in text:
        found.add("SECONDLY")
    return frozenset(found)


def _properties_in_message_text(message: str) -> list[tuple[Any, Any]]:
    """LAST RESORT too: (name, code) pairs HubSpot embeds as JSON after "Property values were
    not valid:" when the answer's ``errors[]`` does not name them."""
    if not message.startswith(_INVALID_VALUES_PREFIX):
        return []
    try:
        listed = json.loads(message[len(_INVALID_VALUES_PREFIX) :].strip())
    except ValueError:
        return []
    entries = listed if isinstance(listed, list) else []
    return [(e.get("name"), e.get("error")) for e in entries if isinstance(e, dict)]


# -- who can fix it -------------------------------------------------------------------


def _assess(error: HubSpotError) -> tuple[Failure, str]:
    """Who can fix a HubSpot error, and the default hint saying how."""
    status, category = error.status, error.category
    if status == 0:
        if not getattr(error, "retryable", True):  # e.g. a certificate that fails verification
            return Failure.CONFIG, (
                "Check that api_base_url is right and that nothing between this machine and "
                "HubSpot intercepts TLS (a proxy presenting its own certificate)."
            )
        return Failure.TRANSIENT, (
            "Check that api_base_url is right and that this machine can reach it; "
            "the sync can be retried."
        )
    if status == 401:
        return Failure.CONFIG, (
            "The HubSpot credentials were refused: paste a valid Service Key (or legacy "
            "Private App token), or re-authenticate the OAuth connection."
        )
    if status == 403:
        if category == "MISSING_SCOPES" or error.missing_scopes:
            scopes = ", ".join(error.missing_scopes) or "the scopes listed in the connector docs"
            return Failure.CONFIG, (
                "Grant these scopes to the Service Key, Private App or OAuth app, then "
                f"retry: {scopes}."
            )
        return Failure.CONFIG, (
            "HubSpot refused access: check that the portal's plan allows this (custom "
            "objects need an Enterprise plan) and, for OAuth, that the user who authorized "
            "the app may edit the portal's settings (e.g. a Super Admin)."
        )
    if status == 429:
        if error.is_daily_limit:
            return Failure.TRANSIENT, (
                "The portal's daily API quota is used up; it resets at midnight in the "
                "portal's time zone. The sync can be retried then."
            )
        return Failure.TRANSIENT, ""
    if status in (423, 477) or status >= 500:
        return Failure.TRANSIENT, "HubSpot is unavailable right now; the sync can be retried."
    return Failure.SYSTEM, ""


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


def explain_rejection(
    category: str,
    sub_category: str,
    message: str,
    context: Mapping[str, Any],
    errors: Sequence[Mapping[str, Any]],
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
    sub_category: str, message: str, context: Mapping[str, Any], errors: Sequence[Mapping[str, Any]]
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
    for name, code in _properties_in_message_text(message):
        add(name, code)
    for name in context.get("propertyName") or [] if isinstance(context, Mapping) else []:
        add(name, sub_category)
    return found
