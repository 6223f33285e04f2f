"""Value conversions from Lago's JSON to HubSpot's property formats. Pure functions.

HubSpot takes every value as a string: ``date`` properties as ``YYYY-MM-DD`` (the UTC
calendar date), numbers as plain decimals without exponent, booleans as
``"true"``/``"false"``. A blank Lago value yields ``None``, which callers leave out of the
request so that it never clears what HubSpot holds.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, urlsplit

import iso4217


class InvalidValue(ValueError):
    """A Lago value that cannot be represented in HubSpot (the record is rejected)."""


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def text(value: Any) -> str | None:
    """A string property; numbers (Lago types some ids as integers) become their digits."""
    if type(value) is str:  # nearly every value: one strip, no other test
        return value.strip() or None
    if blank(value):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (dict, list)):
        raise InvalidValue(f"expected text, got a JSON {type(value).__name__}")
    return str(value).strip()


def first_of_list(value: Any) -> str | None:
    """``"a@x.com, b@x.com"`` -> ``"a@x.com"`` (Lago allows several emails/phones in one field)."""
    raw = text(value)
    if raw is None:
        return None
    for part in re.split(r"[,;]", raw):
        if part.strip():
            return part.strip()
    return None


def utc_date(value: Any, field: str) -> str | None:
    """The UTC calendar date of a Lago timestamp or date, as ``YYYY-MM-DD``."""
    if isinstance(value, str):  # one cached lookup; a blank string is the rare miss
        try:
            return _utc_date_of(value)
        except ValueError:
            if not value.strip():
                return None
            raise InvalidValue(f"{field} is not a valid date: {_show(value)}") from None
    if value is None:
        return None
    raise InvalidValue(f"{field} must be an ISO 8601 date or timestamp, got {_show(value)}")


@functools.lru_cache(maxsize=4096)
def _utc_date_of(value: str) -> str:
    """Cached: a sync's records share few distinct dates (issuing dates, due dates)."""
    parsed: date | datetime
    try:
        # The standard library parses Lago's usual shapes in well under a microsecond;
        # pendulum covers the rest of ISO 8601 (week dates, ordinal dates, ...).
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        # Imported here: a sync whose dates all parse above never pays for pendulum's import
        # (some 40 ms of CPU). Its ParserError is a ValueError: the caller explains it.
        import pendulum

        parsed = pendulum.parse(value.strip(), strict=False)  # type: ignore[assignment]
    if isinstance(parsed, datetime):
        if parsed.tzinfo is None:  # Lago's timestamps are UTC; a naive one is taken as UTC
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC).date().isoformat()
    if isinstance(parsed, date):
        return parsed.isoformat()
    raise ValueError("not a date")


@functools.lru_cache(maxsize=512)
def _exponent(code: str) -> int | None:
    try:
        return iso4217.Currency(code).exponent
    except ValueError:
        return None


def minor_units(currency: Any) -> int:
    """ISO 4217 minor units (EUR 2, JPY 0, KWD 3) from the maintained ``iso4217`` data."""
    code = text(currency)
    if code is None:
        raise InvalidValue("currency is missing, so amounts cannot be converted")
    exponent = _exponent(code.upper())
    if exponent is None:
        raise InvalidValue(f"currency {_show(code)} is not an ISO 4217 currency with minor units")
    return int(exponent)


def cents(value: Any, field: str) -> int | None:
    """Lago's integer amounts in cents; integral strings and floats are accepted too."""
    if type(value) is int:  # what Lago sends
        return value
    if blank(value):
        return None
    if isinstance(value, bool):
        raise InvalidValue(f"{field} must be an integer amount in cents, got {_show(value)}")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidValue(
            f"{field} must be an integer amount in cents, got {_show(value)}"
        ) from None
    if not amount.is_finite() or amount != amount.to_integral_value():
        raise InvalidValue(f"{field} must be an integer amount in cents, got {_show(value)}")
    return int(amount)


def amount(cents_value: int | None, exponent: int) -> str | None:
    """Cents to a major-unit decimal string: (1999, 2) -> "19.99", (1999, 0) -> "1999"."""
    if cents_value is None:
        return None
    if exponent == 0:
        return str(cents_value)
    if exponent > 0:  # integer arithmetic: what Decimal's "f" format gives, without Decimal
        units, minor = divmod(abs(cents_value), 10**exponent)
        return f"{'-' if cents_value < 0 else ''}{units}.{minor:0{exponent}d}"
    return format(Decimal(cents_value).scaleb(-exponent), "f")


def boolean(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    lowered = str(value).strip().lower()
    if lowered in ("true", "1", "yes"):
        return "true"
    if lowered in ("false", "0", "no"):
        return "false"
    if not lowered:
        return None
    raise InvalidValue(f"expected a boolean, got {_show(value)}")


def domain(url: Any) -> str | None:
    """The host of a website URL, scheme optional: ``https://www.acme.com/x`` -> ``acme.com``."""
    raw = text(url)
    if raw is None or " " in raw:
        return None
    if "://" not in raw:
        raw = "http://" + raw
    try:
        host = urlsplit(raw).hostname
    except ValueError:
        return None
    if not host or "." not in host:
        return None
    host = host.rstrip(".").lower()
    # HubSpot identifies companies by their root domain; "www." is noise there.
    return host[4:] if host.startswith("www.") else host


_URL_SAFE = re.compile(r"[A-Za-z0-9._~-]+")


def _segment(value: str) -> str:
    # Lago ids are UUIDs: skip the (comparatively slow) quoting when nothing needs it.
    return value if _URL_SAFE.fullmatch(value) else quote(value, safe="")


def lago_link(front_url: str, slug: str | None, *segments: str) -> str:
    """``{front}[/{slug}]/customer/{id}/…`` with every segment percent-encoded."""
    return "/".join([_link_base(front_url, slug), *map(_segment, segments)])


@functools.lru_cache(maxsize=64)
def _link_base(front_url: str, slug: str | None) -> str:
    base = front_url.rstrip("/")
    return f"{base}/{_segment(slug)}" if slug else base


def compact(properties: Mapping[str, str | None]) -> dict[str, str]:
    """Drop blank values: a blank in Lago never clears a value in HubSpot."""
    return {k: v for k, v in properties.items() if v is not None and v != ""}


def _show(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."
