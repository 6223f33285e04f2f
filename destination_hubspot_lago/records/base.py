"""What mapping produces and how it says no."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

CustomerObject = Literal["companies", "contacts"]
CustomObject = Literal["subscriptions", "invoices"]


class Skipped(Exception):
    """A valid record that stays out of the CRM (e.g. a draft invoice): counted, not rejected."""


class InvalidRecord(Exception):
    """A record we cannot write; reported as rejected with this message."""


@dataclass(frozen=True)
class MappingSettings:
    """The parts of the configuration mapping depends on (plus today's date, for purity)."""

    default_targeted_object: CustomerObject = "companies"
    connection_code: str | None = None
    lago_front_url: str = "https://app.getlago.com"
    lago_organization_slug: str | None = None
    today: date = field(default_factory=date.today)


@dataclass(frozen=True)
class CustomerUpsert:
    """A Lago customer as a HubSpot company or contact."""

    lago_id: str
    object_key: CustomerObject
    properties: dict[str, str]
    # Linked in Lago to an existing HubSpot record: update that record, never create one.
    hubspot_id: str | None = None
    # Contacts: the email HubSpot deduplicates on (the first of Lago's list), if any.
    email: str | None = None


@dataclass(frozen=True)
class RecordUpsert:
    """A Lago subscription or invoice as a record of our custom object."""

    lago_id: str
    object_key: CustomObject
    properties: dict[str, str]
    customer_lago_id: str | None


def synced_identity(
    record: Mapping[str, Any], kind: str, synced_statuses: frozenset[str]
) -> tuple[str, str]:
    """(lago_id, status) of a subscription or invoice that belongs in the CRM.

    Raises :class:`InvalidRecord` without a lago_id, :class:`Skipped` for a status that
    stays out of the CRM (as in Lago's own integration).
    """
    return synced_identity_of(record.get("lago_id"), record.get("status"), kind, synced_statuses)


def synced_identity_of(
    lago_id: Any, status: Any, kind: str, synced_statuses: frozenset[str]
) -> tuple[str, str]:
    """``synced_identity`` of a record whose ``lago_id`` and ``status`` fields are these
    (None: the record has no such field)."""
    if lago_id is None or not str(lago_id).strip():
        raise InvalidRecord(f"{kind} has no lago_id")
    status = str(status or "").strip().lower()
    if status not in synced_statuses:
        raise Skipped(f"status {status or 'missing'}")
    return str(lago_id).strip(), status
