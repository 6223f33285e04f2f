"""Shared portal state and object-type resolution.

``PortalState`` owns every mutable structure and the single re-entrant lock around them; the
operation mix-ins (``schemas.py``, ``records.py``, ``associations.py``) inherit from it and take
the lock in their public entry points.  Timestamps and ids come from here so they are monotonic
across all mix-ins.
"""

from __future__ import annotations

import contextvars
import itertools
import re
import threading
from typing import Any

from .errors import ApiError, now_iso, validation_error
from .model import AssociationDefinition, ObjectType
from .standard_model import (
    HUBSPOT_DEFINED_ASSOCIATIONS,
    STANDARD_ALIASES,
    STANDARD_TYPES,
    StandardType,
)

_TYPE_ID_RE = re.compile(r"^(\d+)-(\d+)$")

# Read-only system properties every custom object gets (brief + notes §1.3 [UNVERIFIED list]).
CUSTOM_DEFAULT_PROPERTIES = (
    ("hs_object_id", "Record ID", "number", "number"),
    ("hs_createdate", "Object create date/time", "datetime", "date"),
    ("hs_lastmodifieddate", "Object last modified date/time", "datetime", "date"),
)


def base_property(
    name: str,
    label: str,
    type_: str,
    field_type: str,
    group: str,
    *,
    hubspot_defined: bool,
    read_only_value: bool = False,
    timestamp: str,
) -> dict[str, Any]:
    """A ``Property`` dict with every field HubSpot returns (spec-required ones included)."""
    prop: dict[str, Any] = {
        "name": name,
        "label": label,
        "type": type_,
        "fieldType": field_type,
        "description": "",
        "groupName": group,
        "options": [],
        "displayOrder": -1,
        "calculated": False,
        "externalOptions": False,
        "hasUniqueValue": False,
        "hidden": False,
        "formField": False,
        "archived": False,
        "createdAt": timestamp,
        "updatedAt": timestamp,
        "dataSensitivity": "non_sensitive",
        "modificationMetadata": {
            "archivable": not hubspot_defined,
            "readOnlyDefinition": hubspot_defined,
            "readOnlyValue": read_only_value,
        },
    }
    if hubspot_defined:
        prop["hubspotDefined"] = True
    if type_ == "bool":
        prop["options"] = default_bool_options()
    return prop


def default_bool_options() -> list[dict[str, Any]]:
    return [
        {"label": "True", "value": "true", "displayOrder": 0, "hidden": False, "description": ""},
        {"label": "False", "value": "false", "displayOrder": 1, "hidden": False, "description": ""},
    ]


# The date-based API version of the request being handled (None on v1/v3/v4 paths); set by
# the router around each handler call (one thread per connection).
REQUEST_API_VERSION: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "REQUEST_API_VERSION", default=None
)
# Admin-configured validation rules are enforced on writes from this version on [PRODUCT §5].
VALIDATION_RULES_FROM = "2026-09"


def validation_rules_apply() -> bool:
    version = REQUEST_API_VERSION.get()
    return version is not None and version >= VALIDATION_RULES_FROM


class PortalState:
    def __init__(self, portal_id: int, custom_object_limit: int) -> None:
        self.lock = threading.RLock()
        # Admin validation rules: object type id -> properties required when a record is
        # created (Settings > Objects > Record creation; enforced from API 2026-09).
        self.required_on_create: dict[str, list[str]] = {}
        # HubSpot may have no default association type between a custom object and
        # companies/contacts (UNVERIFIED either way): when True, default associations that
        # involve a custom object are refused and only typed ones work.
        self.refuse_default_custom_associations = False
        # How batch/upsert and batch/update answer a refused input: "per_record" or
        # "whole_batch" (records.BATCH_RECORD_ERRORS says why per record is the default).
        self.batch_record_errors = "per_record"
        self.portal_id = portal_id
        self.custom_object_limit = custom_object_limit
        self.types: dict[str, ObjectType] = {}
        self.assoc_defs: list[AssociationDefinition] = []
        # (from_type_id, from_id, to_type_id, to_id, association_type_id) -> category.  Both
        # directions are stored explicitly, as HubSpot reads them back from either side.
        self.assoc = AssociationMap()
        self._record_ids = itertools.count(17_628_700)
        self._schema_ids = itertools.count(50_000_001)
        # Portal-specific association type ids start around 600 (Lago's fixture shows 625-628).
        self._assoc_type_ids = itertools.count(600)
        self._last_ts = ""
        self._seed_standard_model()

    # -- ids and clocks -------------------------------------------------------------------

    def next_record_id(self) -> str:
        return str(next(self._record_ids))

    def next_schema_id(self) -> int:
        return next(self._schema_ids)

    def next_assoc_type_id(self) -> int:
        return next(self._assoc_type_ids)

    def timestamp(self) -> str:
        return now_iso()

    # -- seeding ----------------------------------------------------------------------------

    def _seed_standard_model(self) -> None:
        ts = self.timestamp()
        for std in STANDARD_TYPES:
            self.types[std.type_id] = self._standard_object_type(std, ts)
        for from_t, to_t, type_id, label, inverse in HUBSPOT_DEFINED_ASSOCIATIONS:
            singular = {t.type_id: t.singular for t in STANDARD_TYPES}
            name = f"{singular[from_t]}_to_{singular[to_t]}"
            if label:
                name = f"{name}_{label.lower()}"
            self.assoc_defs.append(
                AssociationDefinition(
                    type_id=type_id,
                    category="HUBSPOT_DEFINED",
                    from_type_id=from_t,
                    to_type_id=to_t,
                    label=label,
                    name=name.upper(),
                    inverse_type_id=inverse,
                    created_at=ts,
                )
            )

    @staticmethod
    def _standard_object_type(std: StandardType, ts: str) -> ObjectType:
        ot = ObjectType(
            type_id=std.type_id,
            name=std.name,
            singular=std.singular,
            create_date_property=std.create_date_property,
            modified_date_property=std.modified_date_property,
            default_read_properties=std.default_read_properties,
            standard=std,
        )
        ot.groups[std.group] = {
            "name": std.group,
            "label": std.group_label,
            "displayOrder": 0,
            "archived": False,
        }
        for name, label, type_, field_type, read_only in std.properties:
            ot.properties[name] = base_property(
                name,
                label,
                type_,
                field_type,
                std.group,
                hubspot_defined=True,
                read_only_value=read_only,
                timestamp=ts,
            )
        ot.unique_index = {p: {} for p in ot.unique_properties()}
        return ot

    # -- object type resolution ------------------------------------------------------------

    def custom_types(self, *, archived: bool = False) -> list[ObjectType]:
        return [t for t in self.types.values() if t.is_custom and t.archived == archived]

    def find_type(self, ref: str) -> ObjectType | None:
        """Resolve a path ``{objectType}`` the way HubSpot does, or None.

        Accepted: standard names (plural/singular, any case) and ids, ``2-<n>`` ids, the
        fully-qualified name ``p<portal>_<name>`` and the short-hand ``p_<name>``.  A bare custom
        base name is *not* accepted (removed by HubSpot on 2025-06-24).
        """
        key = ref.strip()
        std = STANDARD_ALIASES.get(key.lower())
        if std:
            return self.types[std]
        if _TYPE_ID_RE.match(key):
            ot = self.types.get(key)
            return ot if ot is not None and not ot.archived else None
        lowered = key.lower()
        fqn_prefix = f"p{self.portal_id}_"
        for prefix in (fqn_prefix, "p_"):
            if lowered.startswith(prefix):
                wanted = lowered[len(prefix) :]
                for ot in self.custom_types():
                    if ot.name.lower() == wanted:
                        return ot
        return None

    def resolve_type(self, ref: str) -> ObjectType:
        ot = self.find_type(ref)
        if ot is None:
            # HubSpot answers unknown object types (and, since June 2025, bare custom base names)
            # with 400 "Unable to infer object type from: x" (UNVERIFIED exact wording).
            raise validation_error(f"Unable to infer object type from: {ref}")
        return ot

    def resolve_type_for_schema(self, ref: str) -> ObjectType:
        """Schema endpoints: unknown ids are 404, unresolvable names 400 (UNVERIFIED split)."""
        ot = self.find_type(ref)
        if ot is not None:
            return ot
        if _TYPE_ID_RE.match(ref) or ref.lower().startswith(("p_", f"p{self.portal_id}_")):
            raise ApiError(
                404,
                "OBJECT_NOT_FOUND",
                f"Unable to find object type for {ref}",
                context={"objectType": [ref]},
            )
        raise validation_error(f"Unable to infer object type from: {ref}")

    def type_for_association_target(self, ref: Any) -> ObjectType | None:
        """``associatedObjects`` entries: COMPANY/CONTACT (any case, singular/plural) or ids."""
        if not isinstance(ref, str):
            return None
        return self.find_type(ref)


AssociationKey = tuple[str, str, str, str, int]


class AssociationMap(dict[AssociationKey, str]):
    """``(from type, from id, to type, to id, type id) -> category``, indexed by its source
    record and target type, so that reading one record's associations (or checking one pair)
    costs what it costs HubSpot, not a scan of every association in the portal."""

    def __init__(self) -> None:
        super().__init__()
        self._by_source: dict[tuple[str, str, str], dict[str, set[int]]] = {}

    def __setitem__(self, key: AssociationKey, value: str) -> None:
        super().__setitem__(key, value)
        self._by_source.setdefault(key[:3], {}).setdefault(key[3], set()).add(key[4])

    def pop(self, key: AssociationKey, *default: str | None) -> str | None:  # type: ignore[override]
        if key in self:
            targets = self._by_source.get(key[:3], {})
            types = targets.get(key[3], set())
            types.discard(key[4])
            if not types:
                targets.pop(key[3], None)
        return super().pop(key, *default)

    def __delitem__(self, key: AssociationKey) -> None:
        self.pop(key)

    def targets(self, from_t: str, from_id: str, to_t: str) -> dict[str, set[int]]:
        """to id -> association type ids, for one source record and target object type."""
        return self._by_source.get((from_t, from_id, to_t), {})
