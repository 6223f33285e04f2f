"""Property value validation and normalisation for record writes (notes §3.7/§3.8).

Values are stored as strings.  Each invalid value yields one item of HubSpot's
"Property values were not valid: [...]" family: ``{isValid, message, error, name}``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from .errors import ApiError, iso_from_datetime
from .model import ObjectType
from .schemas import compact_json

MAX_STRING_LENGTH = 65_536
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NUMBER_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)$")  # "digits and at most one decimal" [DOC]
_INT_RE = re.compile(r"^-?\d+$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def as_string(value: Any) -> str:
    """JSON numbers/booleans are accepted and stored as strings; null clears (UNVERIFIED)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value
    return compact_json(value)


def invalid(name: str, error: str, message: str) -> dict[str, Any]:
    return {"isValid": False, "message": message, "error": error, "name": name}


def _clock(moment: datetime) -> str:
    return moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def _parse_iso_datetime(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _normalise_date(name: str, value: str) -> tuple[str | None, dict[str, Any] | None]:
    if _INT_RE.match(value):
        moment = _EPOCH + timedelta(milliseconds=int(value))
        if moment.time() != datetime.min.time():
            # Verbatim shape from hubspot-api-php #74: "1635535865 is at 22:18:55.865 UTC, ..."
            return None, invalid(
                name, "INVALID_DATE", f"{value} is at {_clock(moment)} UTC, not midnight!"
            )
        return moment.date().isoformat(), None
    if _DATE_RE.match(value):
        try:
            return date.fromisoformat(value).isoformat(), None
        except ValueError:
            pass
    else:
        moment_or_none = _parse_iso_datetime(value)
        if moment_or_none is not None:
            moment = moment_or_none.astimezone(UTC)
            if moment.time() != datetime.min.time():
                return None, invalid(
                    name, "INVALID_DATE", f"{value} is at {_clock(moment)} UTC, not midnight!"
                )
            return moment.date().isoformat(), None
    return None, invalid(name, "INVALID_DATE", f"{value} is not a valid date")  # UNVERIFIED


def _normalise_datetime(name: str, value: str) -> tuple[str | None, dict[str, Any] | None]:
    if _INT_RE.match(value):
        return iso_from_datetime(_EPOCH + timedelta(milliseconds=int(value))), None
    moment = _parse_iso_datetime(value)
    if moment is None:
        return None, invalid(  # UNVERIFIED code/wording
            name, "INVALID_DATETIME", f"{value} is not a valid datetime"
        )
    return iso_from_datetime(moment), None


def _check_options(
    name: str, prop: dict[str, Any], value: str
) -> tuple[str | None, dict[str, Any] | None]:
    allowed = [o["value"] for o in prop["options"]]
    if prop["type"] == "bool":
        lowered = value.lower()
        if lowered in ("true", "false"):
            return lowered, None
    # Multi-select checkboxes hold several option values joined with ';'.
    parts = value.split(";") if prop["fieldType"] == "checkbox" else [value]
    for part in parts:
        if part not in allowed:
            return None, invalid(
                name,
                "INVALID_OPTION",
                f"{part} was not one of the allowed options: [{', '.join(allowed)}]",
            )
    return value, None


def normalise_value(
    ot: ObjectType, name: str, raw: Any
) -> tuple[str | None, dict[str, Any] | None]:
    """Return (stored string, None) or (None, invalid-item)."""
    prop = ot.active_property(name)
    if prop is None:
        return None, invalid(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
    if prop["modificationMetadata"]["readOnlyValue"] or prop.get("calculated"):
        return None, invalid(  # UNVERIFIED code/wording
            name, "READ_ONLY_VALUE", f"{name} is a read only property; its value cannot be set."
        )
    value = as_string(raw)
    if value == "":
        return "", None  # empty string clears the value [SPEC PATCH description]
    type_ = prop["type"]
    if type_ in ("string", "phone_number"):
        if len(value) > MAX_STRING_LENGTH:
            return None, invalid(  # UNVERIFIED code/wording
                name,
                "INVALID_STRING_LENGTH",
                f"{name} is {len(value)} characters long; the maximum is {MAX_STRING_LENGTH}",
            )
        if ot.type_id == "0-1" and name == "email" and not _EMAIL_RE.match(value):
            return None, invalid(name, "INVALID_EMAIL", f"Email address {value} is invalid")
        return value, None
    if type_ == "number":
        if not _NUMBER_RE.match(value.strip()):
            return None, invalid(name, "INVALID_FLOAT", f"{value} was not a valid number.")
        return value.strip(), None
    if type_ == "date":
        return _normalise_date(name, value)
    if type_ == "datetime":
        return _normalise_datetime(name, value)
    if type_ in ("enumeration", "bool"):
        return _check_options(name, prop, value)
    return value, None


def normalise_properties(
    ot: ObjectType, properties: Any
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    if not isinstance(properties, dict):
        return {}, [invalid("properties", "INVALID_INPUT", "properties must be an object")]
    values: dict[str, str] = {}
    problems: list[dict[str, Any]] = []
    for name, raw in properties.items():
        value, problem = normalise_value(ot, str(name), raw)
        if problem is not None:
            problems.append(problem)
        elif value is not None:
            values[str(name)] = value
    return values, problems


def property_values_error(
    problems: list[dict[str, Any]], *, context: dict | None = None
) -> ApiError:
    """The 400 "Property values were not valid" error (envelope verbatim from php #74)."""
    return ApiError(
        400,
        "VALIDATION_ERROR",
        f"Property values were not valid: {compact_json(problems)}",
        errors=[
            {
                "message": p["message"],
                "code": p["error"],
                "context": {"propertyName": [p["name"]]},
            }
            for p in problems
        ],
        context=context,
    )


def validation_rule_error(ot: ObjectType, names: list[str]) -> ApiError:
    """An admin validation rule refused the write (enforced from API 2026-09).

    The envelope is HubSpot's documented property-validation answer (changelog "Property
    Validations Rules will be enforced for APIs", 2023): 400 ``VALIDATION_ERROR`` with the
    per-property list in ``message``; ``errors[]`` carries the same per property, as newer
    answers do. The ``REQUIRED`` code and wording are UNVERIFIED.
    """
    problems = [
        {
            "isValid": False,
            "message": f"{(ot.properties.get(n) or {}).get('label', n)} is required",
            "error": "REQUIRED",
            "name": n,
        }
        for n in names
    ]
    return ApiError(
        400,
        "VALIDATION_ERROR",
        f"Property values were not valid: {compact_json(problems)}",
        errors=[
            {
                "message": f"A validation rule of this portal requires '{n}'",
                "code": "REQUIRED",
                "in": n,
                "context": {"propertyName": [n]},
            }
            for n in names
        ],
    )


def missing_required_error(ot: ObjectType, names: list[str]) -> ApiError:
    # supaglue matches "Some required properties were not set"; formie saw
    # "Required field '2-21479350/x' is missing" (notes §3.8).  Combined, UNVERIFIED.
    return ApiError(
        400,
        "VALIDATION_ERROR",
        f"Some required properties were not set: [{', '.join(names)}]",
        errors=[
            {
                "message": f"Required field '{ot.type_id}/{n}' is missing",
                "code": "REQUIRED_FIELD",
                "context": {"propertyName": [n]},
            }
            for n in names
        ],
    )


def comparable(prop: dict[str, Any] | None, value: str) -> Any:
    """Sort/compare key for search filters: numbers numerically, dates as epoch ms."""
    if prop is None:
        return value.lower()
    try:
        if prop["type"] == "number":
            return float(value)
        if prop["type"] in ("date", "datetime"):
            if _INT_RE.match(value):
                return int(value)
            moment = _parse_iso_datetime(value)
            if moment is not None:
                return int((moment - _EPOCH).total_seconds() * 1000)
    except ValueError:
        pass
    return value.lower()
