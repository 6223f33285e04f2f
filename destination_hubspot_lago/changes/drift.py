"""docs/product.md §10's drift guard: does HubSpot still hold what the ledger says it does?

The previous sync kept a uniform random sample of the records it confirmed (up to 100 per
object, ``Ledger.witness``) with exactly the properties it sent. This sync reads them back —
one ``batch/read`` by HubSpot id per object — and compares. A witness HubSpot no longer has,
or whose values differ, is *mismatched*: its entries are distrusted (written again this sync),
and above :data:`MAX_MISMATCH_SHARE` of the sample the whole sync becomes a full rewrite.

HubSpot may answer a value in another spelling than the one sent (a number ``49.00`` as
``49``, a date as midnight in epoch milliseconds, a datetime with milliseconds): values are
compared by what they mean, not by their text (:func:`same_value`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from .ledger import Witness

MAX_MISMATCH_SHARE = 0.01  # above this share of the sample mismatched: a full rewrite


@dataclass(frozen=True)
class DriftResult:
    sampled: int
    mismatched: list[Witness]

    @property
    def share(self) -> float:
        return len(self.mismatched) / self.sampled if self.sampled else 0.0

    @property
    def too_many(self) -> bool:
        return self.share > MAX_MISMATCH_SHARE


def compare(
    witnesses: Sequence[Witness], held: Mapping[str, Mapping[str, Mapping[str, object]]]
) -> DriftResult:
    """``held``: per object, HubSpot id -> the record HubSpot answered (absent: not found)."""
    mismatched = []
    for witness in witnesses:
        record = held.get(witness.obj, {}).get(witness.target)
        if record is None or not same_properties(witness.properties, record):
            mismatched.append(witness)
    return DriftResult(len(witnesses), mismatched)


def same_properties(sent: Mapping[str, str], record: Mapping[str, object]) -> bool:
    properties = record.get("properties")
    if not isinstance(properties, Mapping):
        return False
    return all(same_value(value, properties.get(name)) for name, value in sent.items())


def same_value(sent: object, held: object) -> bool:
    a, b = _text(sent), _text(held)
    if a == b:
        return True
    if not a or not b:
        return False
    if a.lower() in ("true", "false") or b.lower() in ("true", "false"):
        return a.lower() == b.lower()
    number_a, number_b = _number(a), _number(b)
    if number_a is not None and number_b is not None and number_a == number_b:
        return True
    instant_a, instant_b = _instant(a), _instant(b)
    return instant_a is not None and instant_a == instant_b


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _number(text: str) -> Decimal | None:
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _instant(text: str) -> datetime | None:
    """A date, a datetime or epoch milliseconds as an instant (UTC)."""
    if text.isdigit() and len(text) >= 11:
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
