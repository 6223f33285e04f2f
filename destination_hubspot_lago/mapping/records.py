"""What mapping produces and how it says no."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

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
