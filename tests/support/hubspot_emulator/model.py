"""In-memory data classes of the emulated portal (no behaviour beyond bookkeeping)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .standard_model import StandardType


@dataclass
class Record:
    id: str
    properties: dict[str, str]
    created_at: str
    updated_at: str
    archived: bool = False
    archived_at: str | None = None


@dataclass
class ObjectType:
    """A standard object type or a custom object schema, with its properties and records."""

    type_id: str  # "0-1", "2-50000001"
    name: str  # "contacts" / schema name as created, e.g. "LagoInvoices"
    singular: str  # "contact" / schema name
    create_date_property: str
    modified_date_property: str
    default_read_properties: tuple[str, ...]
    standard: StandardType | None = None
    schema: dict[str, Any] | None = None  # custom schemas: the ObjectSchema metadata fields
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)  # incl. archived
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    records: dict[str, Record] = field(default_factory=dict)
    # property name -> normalised value -> record id, for every unique-valued property.
    unique_index: dict[str, dict[str, str]] = field(default_factory=dict)
    archived: bool = False

    @property
    def is_custom(self) -> bool:
        return self.type_id.startswith("2-")

    def active_property(self, name: str) -> dict[str, Any] | None:
        prop = self.properties.get(name)
        return prop if prop is not None and not prop["archived"] else None

    def unique_properties(self) -> list[str]:
        """Properties that identify a record for upserts and that must not hold duplicates.

        Contacts' ``email`` is not flagged ``hasUniqueValue`` in HubSpot's metadata but HubSpot
        deduplicates contacts by it and accepts it as an upsert ``idProperty``.
        """
        names = [
            n for n, p in self.properties.items() if p.get("hasUniqueValue") and not p["archived"]
        ]
        if self.type_id == "0-1":
            names.append("email")
        return names


@dataclass
class AssociationDefinition:
    type_id: int
    category: str  # HUBSPOT_DEFINED / USER_DEFINED
    from_type_id: str
    to_type_id: str
    label: str | None
    name: str
    inverse_type_id: int
    created_at: str


def normalise_unique(type_id: str, prop: str, value: str) -> str:
    # HubSpot treats contact emails case-insensitively.
    return value.lower() if (type_id == "0-1" and prop == "email") else value
