"""The emulated portal's state, with direct (no HTTP, no auth) access for tests.

``Store`` combines the operation mix-ins; the HTTP layer calls the same methods, so seeding
through ``emu.store`` goes through exactly the validation HubSpot applies to API calls.
"""

from __future__ import annotations

import copy
from typing import Any

from .associations import AssociationOps
from .records import RecordOps
from .schemas import SchemaOps
from .state import REQUEST_API_VERSION

__all__ = ["REQUEST_API_VERSION", "Store"]


class Store(SchemaOps, AssociationOps, RecordOps):
    """All portal state behind one re-entrant lock (``self.lock``)."""

    # SchemaOps.create_schema(body) and create_property(object_type, body) are public as-is.

    def require_on_create(self, object_type: str, *properties: str) -> None:
        """An admin validation rule: ``properties`` are required to create a record."""
        with self.lock:
            type_id = self.resolve_type(object_type).type_id
            self.required_on_create.setdefault(type_id, []).extend(properties)

    def schemas(self) -> list[dict[str, Any]]:
        return list(self.list_schemas()["results"])

    def properties(self, object_type: str) -> list[dict[str, Any]]:
        return list(self.list_properties(object_type)["results"])

    def objects(self, object_type: str) -> list[dict[str, Any]]:
        """Every record of the type, archived ones included (see their ``archived`` flag)."""
        with self.lock:
            ot = self.resolve_type(object_type)
            return [
                self.copy_record(r) for r in sorted(ot.records.values(), key=lambda r: int(r.id))
            ]

    def create_object(self, object_type: str, properties: dict[str, Any]) -> dict[str, Any]:
        """Seed an existing HubSpot record (same validation as ``POST /crm/v3/objects``)."""
        return self.create_record(object_type, {"properties": dict(properties), "associations": []})

    def associations(
        self, from_type: str, from_id: str | None = None
    ) -> list[tuple[str, str, str, str, int, str]]:
        """(from_type_id, from_id, to_type_id, to_id, association_type_id, category) tuples."""
        with self.lock:
            type_id = self.resolve_type(from_type).type_id
            return sorted(
                (k[0], k[1], k[2], k[3], k[4], category)
                for k, category in self.assoc.items()
                if k[0] == type_id and (from_id is None or k[1] == str(from_id))
            )

    def snapshot(self) -> dict[str, Any]:
        """Deep copy of records and associations, e.g. to assert that a call changed nothing."""
        with self.lock:
            return copy.deepcopy(
                {
                    "records": {
                        t: {i: (r.properties, r.archived) for i, r in ot.records.items()}
                        for t, ot in self.types.items()
                    },
                    "associations": dict(self.assoc),
                    "schemas": sorted(self.types),
                    "properties": {
                        t: sorted(n for n, p in ot.properties.items() if not p["archived"])
                        for t, ot in self.types.items()
                    },
                }
            )
