"""Custom object schemas, properties and property groups.

Validation follows notes §1.5/§2.2–2.4 and the ``ObjectSchemaEgg``/``PropertyCreate`` schemas.
Exact error wordings HubSpot uses here were not observed; every message marked UNVERIFIED is a
plausible default, while status codes and categories follow the notes.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from .errors import ApiError, missing_json_fields, not_found, validation_error
from .model import AssociationDefinition, ObjectType
from .state import CUSTOM_DEFAULT_PROPERTIES, PortalState, base_property, default_bool_options

SCHEMA_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
PROPERTY_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
GROUP_NAME_RE = re.compile(r"^[a-z0-9_]+$")
MAX_UNIQUE_PROPERTIES = 10

# Valid ``fieldType`` values per property ``type`` [DOC properties guide, notes §2.3].
FIELD_TYPES_BY_TYPE: dict[str, set[str]] = {
    "bool": {"booleancheckbox", "calculation_equation"},
    "enumeration": {"booleancheckbox", "checkbox", "radio", "select", "calculation_equation"},
    "date": {"date"},
    "datetime": {"date"},
    "string": {"text", "textarea", "file", "html", "phonenumber"},
    "number": {"number", "calculation_equation"},
    "phone_number": {"phonenumber"},
}
ALL_FIELD_TYPES = sorted(set().union(*FIELD_TYPES_BY_TYPE.values()))
# Unique values are supported on single/multi-line text and number fields [2ND, notes §1.5].
UNIQUE_CAPABLE = {("string", "text"), ("string", "textarea"), ("number", "number")}

# Optional PropertyCreate fields copied through as given.
_PASSTHROUGH_FIELDS = (
    "numberDisplayHint",
    "textDisplayHint",
    "showCurrencySymbol",
    "referencedObjectType",
    "calculationFormula",
    "currencyPropertyName",
    "externalOptions",
)
_UPDATABLE_FIELDS = (
    "label",
    "description",
    "displayOrder",
    "hidden",
    "formField",
    "type",
    "fieldType",
    "groupName",
    "options",
    *_PASSTHROUGH_FIELDS,
)


def _normalise_options(raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise validation_error("options must be an array")  # UNVERIFIED wording
    options = []
    for index, option in enumerate(raw):
        if not isinstance(option, dict) or "label" not in option or "value" not in option:
            raise missing_json_fields("OptionInput", ["label", "value"])
        # Lago's payloads omit ``hidden`` although the spec marks it required; HubSpot accepts
        # that, so it defaults to false here.
        options.append(
            {
                "label": str(option["label"]),
                "value": str(option["value"]),
                "displayOrder": int(option.get("displayOrder", index)),
                "hidden": bool(option.get("hidden", False)),
                "description": str(option.get("description") or ""),
            }
        )
    return options


def _check_type_pair(type_: Any, field_type: Any) -> None:
    if type_ not in FIELD_TYPES_BY_TYPE:
        raise validation_error(  # UNVERIFIED wording (Jackson enum error in reality)
            f"Invalid input JSON: '{type_}' is not a valid property type; expected one of "
            f"{sorted(FIELD_TYPES_BY_TYPE)}"
        )
    if field_type not in ALL_FIELD_TYPES:
        raise validation_error(
            f"Invalid input JSON: '{field_type}' is not a valid fieldType; expected one of "
            f"{ALL_FIELD_TYPES}"
        )
    if field_type not in FIELD_TYPES_BY_TYPE[type_]:
        raise validation_error(  # UNVERIFIED wording
            f"Property type '{type_}' is not compatible with fieldType '{field_type}'. Valid "
            f"fieldTypes for '{type_}': {sorted(FIELD_TYPES_BY_TYPE[type_])}"
        )


class SchemaOps(PortalState):
    # ---------------------------------------------------------------- property building ---

    def _build_property(
        self, ot: ObjectType, body: Any, *, schema_mode: bool, default_group: str | None = None
    ) -> dict[str, Any]:
        """Validate a ``PropertyCreate`` (or ``ObjectTypePropertyCreate`` when ``schema_mode``)
        and return the full ``Property`` dict.  Does not store it."""
        if not isinstance(body, dict):
            raise validation_error("Invalid input JSON: expected an object")
        required = ["name", "label", "type", "fieldType"] + ([] if schema_mode else ["groupName"])
        missing = [f for f in required if body.get(f) in (None, "")]
        if missing:
            kind = "ObjectTypePropertyCreate" if schema_mode else "PropertyCreate"
            raise missing_json_fields(kind, missing)
        name, type_, field_type = body["name"], body["type"], body["fieldType"]
        if not isinstance(name, str) or not PROPERTY_NAME_RE.match(name) or len(name) > 100:
            raise validation_error(  # UNVERIFIED wording
                f"Property name '{name}' is invalid: internal names must start with a lowercase "
                "letter and contain only lowercase letters, numbers and underscores."
            )
        _check_type_pair(type_, field_type)
        group = body.get("groupName")
        if schema_mode:
            # Schema-created properties land in "{name}_information"; an explicit groupName is
            # lower-cased and the group created on the fly (Lago's "LagoInvoices" became
            # "lagoinvoices" in a real portal, notes lago_hubspot §2).
            group = str(group).lower() if group else default_group
        elif group not in ot.groups or ot.groups[group]["archived"]:
            raise validation_error(  # UNVERIFIED wording
                f"Property group '{group}' does not exist for object type {ot.type_id}.",
                context={"groupName": [str(group)]},
            )
        unique = bool(body.get("hasUniqueValue", False))
        if unique and (type_, field_type) not in UNIQUE_CAPABLE:
            raise validation_error(  # UNVERIFIED wording
                f"Property '{name}' cannot have unique values: only single-line text, multi-line "
                "text and number properties support hasUniqueValue."
            )
        prop = base_property(
            name,
            str(body["label"]),
            type_,
            field_type,
            str(group),
            hubspot_defined=False,
            timestamp=self.timestamp(),
        )
        options = _normalise_options(body.get("options"))
        if type_ == "bool" and not options:
            options = default_bool_options()
        prop.update(
            description=str(body.get("description") or ""),
            options=options,
            displayOrder=int(body.get("displayOrder", -1)),
            hasUniqueValue=unique,
            hidden=bool(body.get("hidden", False)),
            formField=bool(body.get("formField", False)),
        )
        for key in _PASSTHROUGH_FIELDS:
            if key in body:
                prop[key] = body[key]
        if body.get("dataSensitivity") in ("sensitive", "highly_sensitive"):
            prop["dataSensitivity"] = body["dataSensitivity"]
        return prop

    def _ensure_group(self, ot: ObjectType, name: str, label: str | None = None) -> None:
        if name not in ot.groups:
            ot.groups[name] = {
                "name": name,
                "label": label or name,
                "displayOrder": -1,
                "archived": False,
            }

    def _store_property(self, ot: ObjectType, prop: dict[str, Any]) -> None:
        ot.properties[prop["name"]] = prop
        if prop.get("hasUniqueValue"):
            ot.unique_index.setdefault(prop["name"], {})

    def _check_new_property(self, ot: ObjectType, prop: dict[str, Any]) -> None:
        if prop["name"] in ot.properties:
            # Archived properties keep their name reserved until purged (UNVERIFIED).
            raise ApiError(
                409,
                "OBJECT_ALREADY_EXISTS",
                f"Property named '{prop['name']}' already exists.",
                context={"name": [prop["name"]]},
            )
        if (
            prop.get("hasUniqueValue")
            and len(ot.unique_properties()) - (1 if ot.type_id == "0-1" else 0)
            >= MAX_UNIQUE_PROPERTIES
        ):
            raise validation_error(  # UNVERIFIED wording
                f"Object type {ot.type_id} already has the maximum of {MAX_UNIQUE_PROPERTIES} "
                "unique value properties."
            )

    # ---------------------------------------------------------------------- schemas ---

    def _schema_view(
        self,
        ot: ObjectType,
        *,
        properties: bool = True,
        associations: bool = True,
        audit: bool = True,
    ) -> dict[str, Any]:
        """``ObjectSchema`` for a custom type (standard types get a synthesised equivalent)."""
        assert ot.schema is not None
        view = {k: copy.deepcopy(v) for k, v in ot.schema.items()}
        if not audit:
            for key in ("createdAt", "updatedAt", "createdByUserId", "updatedByUserId"):
                view.pop(key, None)
        view["archived"] = ot.archived
        view["properties"] = (
            [copy.deepcopy(p) for p in ot.properties.values() if not p["archived"]]
            if properties
            else []
        )
        view["associations"] = (
            [self._association_definition_view(d) for d in self._schema_assoc_defs(ot)]
            if associations
            else []
        )
        return view

    def _schema_assoc_defs(self, ot: ObjectType) -> list[AssociationDefinition]:
        return [
            d
            for d in self.assoc_defs
            if d.category == "USER_DEFINED"
            and d.label is None
            and ot.type_id in (d.from_type_id, d.to_type_id)
        ]

    @staticmethod
    def _association_definition_view(d: AssociationDefinition) -> dict[str, Any]:
        return {
            "id": str(d.type_id),
            "fromObjectTypeId": d.from_type_id,
            "toObjectTypeId": d.to_type_id,
            "name": d.name,
            "createdAt": d.created_at,
            "updatedAt": d.created_at,
        }

    def _standard_schema_view(self, ot: ObjectType) -> dict[str, Any]:
        # GET /crm/v3/schemas/contacts is used as a connection check by Airbyte; the shape for
        # standard objects is synthesised (UNVERIFIED field values).
        assert ot.standard is not None
        std = ot.standard
        return {
            "id": ot.type_id,
            "objectTypeId": ot.type_id,
            "name": std.name,
            "fullyQualifiedName": std.singular,
            "labels": {"singular": std.label_singular, "plural": std.label_plural},
            "requiredProperties": [],
            "searchableProperties": [],
            "secondaryDisplayProperties": [],
            "primaryDisplayProperty": "email" if ot.type_id == "0-1" else "name",
            "archived": False,
            "metaType": "HUBSPOT",
            "properties": [copy.deepcopy(p) for p in ot.properties.values() if not p["archived"]],
            "associations": [],
        }

    def _feature_check(self) -> None:
        if self.custom_object_limit <= 0:
            # Portal without custom objects (no Enterprise).  UNVERIFIED status/body.
            raise ApiError(
                403,
                "FORBIDDEN",
                f"Portal {self.portal_id} does not have access to custom objects. Custom objects "
                "require a HubSpot Enterprise subscription.",
                errors=[{"message": "Custom objects are not available for this portal."}],
            )

    def list_schemas(
        self,
        *,
        archived: bool = False,
        properties: bool = True,
        associations: bool = True,
        audit: bool = True,
    ) -> dict[str, Any]:
        with self.lock:
            return {
                "results": [
                    self._schema_view(
                        ot, properties=properties, associations=associations, audit=audit
                    )
                    for ot in self.custom_types(archived=archived)
                ]
            }

    def get_schema(self, ref: str, **flags: bool) -> dict[str, Any]:
        with self.lock:
            ot = self.resolve_type_for_schema(ref)
            if ot.schema is None:
                return self._standard_schema_view(ot)
            return self._schema_view(ot, **flags)

    def create_schema(self, body: Any) -> dict[str, Any]:
        with self.lock:
            self._feature_check()
            if not isinstance(body, dict):
                raise validation_error("Invalid input JSON: expected an object")
            required = ["name", "labels", "properties", "requiredProperties", "associatedObjects"]
            missing = [f for f in required if body.get(f) is None]
            if missing:
                raise missing_json_fields("ObjectSchemaEgg", missing)
            name = body["name"]
            if not isinstance(name, str) or not SCHEMA_NAME_RE.match(name):
                raise validation_error(  # message from the docs' naming rule; wording UNVERIFIED
                    f"Invalid object type name '{name}': the name can only contain letters, "
                    "numbers, and underscores, and the first character must be a letter."
                )
            labels = body["labels"]
            if (
                not isinstance(labels, dict)
                or not labels.get("singular")
                or not labels.get("plural")
            ):
                raise validation_error("labels.singular and labels.plural are required.")
            if not isinstance(body["properties"], list) or not body["properties"]:
                raise validation_error("At least one property must be defined.")

            default_group = f"{name.lower()}_information"
            scratch = ObjectType(
                type_id="2-0",
                name=name,
                singular=name,
                create_date_property="hs_createdate",
                modified_date_property="hs_lastmodifieddate",
                default_read_properties=("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
            )
            props: list[dict[str, Any]] = []
            seen: set[str] = set()
            for raw in body["properties"]:
                prop = self._build_property(
                    scratch, raw, schema_mode=True, default_group=default_group
                )
                if prop["name"] in seen:
                    raise validation_error(f"Duplicate property name '{prop['name']}'.")
                seen.add(prop["name"])
                props.append(prop)
            self._check_schema_property_refs(body, seen)
            if sum(1 for p in props if p["hasUniqueValue"]) > MAX_UNIQUE_PROPERTIES:
                raise validation_error(
                    f"An object type can have at most {MAX_UNIQUE_PROPERTIES} unique value "
                    "properties."
                )
            targets = self._resolve_associated_objects(body["associatedObjects"])
            for existing in self.types.values():
                if existing.is_custom and existing.name.lower() == name.lower():
                    # Notes §1.5 default body; status from integrator reports.
                    raise ApiError(
                        409,
                        "OBJECT_ALREADY_EXISTS",
                        f"Object type with name '{name}' already exists",
                        context={"name": [name]},
                    )
            if len(self.custom_types()) >= self.custom_object_limit:
                raise validation_error(  # UNVERIFIED wording
                    f"Portal {self.portal_id} has reached its limit of "
                    f"{self.custom_object_limit} custom object types."
                )
            return self._create_schema_unchecked(body, name, default_group, props, targets)

    def _check_schema_property_refs(self, body: dict[str, Any], names: set[str]) -> None:
        refs: list[tuple[str, list[Any]]] = [
            ("requiredProperties", body.get("requiredProperties") or []),
            ("searchableProperties", body.get("searchableProperties") or []),
            ("secondaryDisplayProperties", body.get("secondaryDisplayProperties") or []),
        ]
        if body.get("primaryDisplayProperty"):
            refs.append(("primaryDisplayProperty", [body["primaryDisplayProperty"]]))
        for field_name, values in refs:
            if not isinstance(values, list):
                raise validation_error(f"{field_name} must be an array")
            unknown = [v for v in values if v not in names]
            if unknown:
                raise validation_error(  # UNVERIFIED wording
                    f"{field_name} references properties that are not defined: "
                    f"{', '.join(map(str, unknown))}",
                    context={field_name: [str(v) for v in unknown]},
                )

    def _resolve_associated_objects(self, raw: Any) -> list[ObjectType]:
        if not isinstance(raw, list):
            raise validation_error("associatedObjects must be an array")
        targets: list[ObjectType] = []
        for entry in raw:
            ot = self.type_for_association_target(entry)
            if ot is None:
                raise validation_error(f"Unable to infer object type from: {entry}")
            if ot not in targets:
                targets.append(ot)
        return targets

    def _create_schema_unchecked(
        self,
        body: dict[str, Any],
        name: str,
        default_group: str,
        props: list[dict[str, Any]],
        targets: list[ObjectType],
    ) -> dict[str, Any]:
        numeric_id = self.next_schema_id()
        type_id = f"2-{numeric_id}"
        ts = self.timestamp()
        ot = ObjectType(
            type_id=type_id,
            name=name,
            singular=name,
            create_date_property="hs_createdate",
            modified_date_property="hs_lastmodifieddate",
            default_read_properties=("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
        )
        ot.schema = {
            "id": str(numeric_id),
            "objectTypeId": type_id,
            "fullyQualifiedName": f"p{self.portal_id}_{name}",
            "name": name,
            "labels": {
                "singular": body["labels"]["singular"],
                "plural": body["labels"]["plural"],
            },
            "description": body.get("description") or "",
            "requiredProperties": list(body["requiredProperties"]),
            "searchableProperties": list(body.get("searchableProperties") or []),
            "secondaryDisplayProperties": list(body.get("secondaryDisplayProperties") or []),
            "allowsSensitiveProperties": bool(body.get("allowsSensitiveProperties", False)),
            "metaType": "PORTAL_SPECIFIC",
            "createdAt": ts,
            "updatedAt": ts,
        }
        if body.get("primaryDisplayProperty"):
            ot.schema["primaryDisplayProperty"] = body["primaryDisplayProperty"]
        self._ensure_group(ot, default_group, f"{body['labels']['singular']} information")
        for prop_name, label, type_, field_type in CUSTOM_DEFAULT_PROPERTIES:
            ot.properties[prop_name] = base_property(
                prop_name,
                label,
                type_,
                field_type,
                default_group,
                hubspot_defined=True,
                read_only_value=True,
                timestamp=ts,
            )
        for prop in props:
            self._ensure_group(ot, prop["groupName"])
            self._store_property(ot, prop)
        self.types[type_id] = ot
        for target in targets:
            self._add_schema_association(ot, target)
        return self._schema_view(ot)

    def _add_schema_association(
        self, ot: ObjectType, target: ObjectType, name: str | None = None
    ) -> AssociationDefinition:
        """Create the definition pair custom→target and target→custom (ids from the counter)."""
        forward_id = self.next_assoc_type_id()
        inverse_id = self.next_assoc_type_id() if target is not ot else forward_id
        ts = self.timestamp()
        forward_name = name or f"{ot.singular.lower()}_to_{target.singular.lower()}"
        forward = AssociationDefinition(
            forward_id,
            "USER_DEFINED",
            ot.type_id,
            target.type_id,
            None,
            forward_name,
            inverse_id,
            ts,
        )
        self.assoc_defs.append(forward)
        if target is not ot:
            self.assoc_defs.append(
                AssociationDefinition(
                    inverse_id,
                    "USER_DEFINED",
                    target.type_id,
                    ot.type_id,
                    None,
                    f"{target.singular.lower()}_to_{ot.singular.lower()}",
                    forward_id,
                    ts,
                )
            )
        return forward

    def create_schema_association(self, ref: str, body: Any) -> dict[str, Any]:
        with self.lock:
            ot = self.resolve_type_for_schema(ref)
            if not isinstance(body, dict):
                raise validation_error("Invalid input JSON: expected an object")
            missing = [f for f in ("fromObjectTypeId", "toObjectTypeId") if not body.get(f)]
            if missing:
                raise missing_json_fields("AssociationDefinitionEgg", missing)
            source = self.resolve_type(str(body["fromObjectTypeId"]))
            target = self.resolve_type(str(body["toObjectTypeId"]))
            if ot not in (source, target):
                raise validation_error(
                    f"fromObjectTypeId or toObjectTypeId must be {ot.type_id}"
                )  # UNVERIFIED
            definition = self._add_schema_association(source, target, body.get("name"))
            return self._association_definition_view(definition)

    def delete_schema_association(self, ref: str, association_id: str) -> None:
        with self.lock:
            ot = self.resolve_type_for_schema(ref)
            ids = {str(d.type_id) for d in self._schema_assoc_defs(ot)}
            if association_id not in ids:
                raise not_found(f"Association definition {association_id} not found")
            target = next(d for d in self.assoc_defs if str(d.type_id) == association_id)
            drop = {target.type_id, target.inverse_type_id}
            self.assoc_defs = [d for d in self.assoc_defs if d.type_id not in drop]

    def patch_schema(self, ref: str, body: Any) -> dict[str, Any]:
        with self.lock:
            ot = self.resolve_type_for_schema(ref)
            if ot.schema is None:
                raise validation_error(f"Object type {ot.type_id} is not a custom object type.")
            if not isinstance(body, dict):
                raise validation_error("Invalid input JSON: expected an object")
            if "name" in body and body["name"] != ot.name:
                raise validation_error("The name of an object type cannot be changed.")
            defined = {n for n, p in ot.properties.items() if not p["archived"]}
            self._check_schema_property_refs(body, defined)
            if "labels" in body:
                labels = body["labels"]
                if not isinstance(labels, dict):
                    raise validation_error("labels must be an object")
                if labels == ot.schema["labels"]:
                    # supaglue found PATCHing unchanged labels errors (wording UNVERIFIED).
                    raise validation_error("The object type labels are unchanged.")
                ot.schema["labels"] = {**ot.schema["labels"], **labels}
            for key in (
                "requiredProperties",
                "searchableProperties",
                "secondaryDisplayProperties",
                "primaryDisplayProperty",
                "description",
                "allowsSensitiveProperties",
            ):
                if key in body:
                    ot.schema[key] = copy.deepcopy(body[key])
            if body.get("clearDescription"):
                ot.schema["description"] = ""
            ot.schema["updatedAt"] = self.timestamp()
            view = {k: copy.deepcopy(v) for k, v in ot.schema.items()}
            view["portalId"] = self.portal_id
            view["archived"] = ot.archived
            return view  # ObjectTypeDefinition: no properties/associations arrays

    def delete_schema(self, ref: str, *, purge: bool = False) -> None:
        with self.lock:
            if purge:
                ot = next(
                    (t for t in self.types.values() if t.is_custom and t.type_id == ref), None
                ) or self.resolve_type_for_schema(ref)
            else:
                ot = self.resolve_type_for_schema(ref)
            if ot.schema is None:
                raise validation_error(f"Object type {ot.type_id} is not a custom object type.")
            if any(not r.archived for r in ot.records.values()):
                raise validation_error(  # documented rule; wording UNVERIFIED
                    f"Object type {ot.type_id} still has records; delete all records before "
                    "deleting the schema."
                )
            if purge:
                del self.types[ot.type_id]
                self.assoc_defs = [
                    d for d in self.assoc_defs if ot.type_id not in (d.from_type_id, d.to_type_id)
                ]
            else:
                ot.archived = True

    def custom_object_limits(self) -> dict[str, Any]:
        with self.lock:
            usage = len(self.custom_types())
            limit = max(self.custom_object_limit, 0)
            return {
                "limit": limit,
                "usage": usage,
                "percentage": round(100.0 * usage / limit, 2) if limit else 0.0,
            }

    # ------------------------------------------------------------------- properties ---

    def list_properties(self, ref: str, *, archived: bool = False) -> dict[str, Any]:
        with self.lock:
            ot = self.resolve_type(ref)
            return {
                "results": [
                    copy.deepcopy(p) for p in ot.properties.values() if p["archived"] == archived
                ]
            }

    def _property_or_404(self, ot: ObjectType, name: str, archived: bool = False) -> dict:
        prop = ot.properties.get(name)
        if prop is None or prop["archived"] != archived:
            raise not_found(  # UNVERIFIED wording
                f"Property {name} does not exist", context={"propertyName": [name]}
            )
        return prop

    def get_property(self, ref: str, name: str, *, archived: bool = False) -> dict[str, Any]:
        with self.lock:
            ot = self.resolve_type(ref)
            return copy.deepcopy(self._property_or_404(ot, name, archived))

    def create_property(self, ref: str, body: Any) -> dict[str, Any]:
        with self.lock:
            ot = self.resolve_type(ref)
            prop = self._build_property(ot, body, schema_mode=False)
            self._check_new_property(ot, prop)
            self._store_property(ot, prop)
            return copy.deepcopy(prop)

    def batch_create_properties(self, ref: str, body: Any) -> tuple[int, dict[str, Any]]:
        with self.lock:
            ot = self.resolve_type(ref)
            inputs = _inputs(body)
            started = self.timestamp()
            results, errors = [], []
            for raw in inputs:
                try:
                    prop = self._build_property(ot, raw, schema_mode=False)
                    self._check_new_property(ot, prop)
                except ApiError as exc:
                    # Partial success: valid inputs are created, the rest reported (UNVERIFIED
                    # whether HubSpot is all-or-nothing here).
                    errors.append(exc.as_standard_error())
                    continue
                self._store_property(ot, prop)
                results.append(copy.deepcopy(prop))
            return batch_response(results, errors, started, self.timestamp(), ok_status=201)

    def batch_read_properties(self, ref: str, body: Any) -> tuple[int, dict[str, Any]]:
        with self.lock:
            ot = self.resolve_type(ref)
            inputs = _inputs(body)
            archived = bool(body.get("archived", False))
            started = self.timestamp()
            results, missing = [], []
            for item in inputs:
                name = item.get("name") if isinstance(item, dict) else None
                prop = ot.properties.get(str(name))
                if prop is None or prop["archived"] != archived:
                    missing.append(str(name))
                else:
                    results.append(copy.deepcopy(prop))
            errors = []
            if missing:
                errors.append(
                    not_found(
                        f"Could not find properties: {', '.join(missing)}",
                        context={"names": missing},
                    ).as_standard_error()
                )
            return batch_response(results, errors, started, self.timestamp(), ok_status=200)

    def update_property(self, ref: str, name: str, body: Any) -> dict[str, Any]:
        with self.lock:
            ot = self.resolve_type(ref)
            prop = self._property_or_404(ot, name)
            if not isinstance(body, dict):
                raise validation_error("Invalid input JSON: expected an object")
            if "name" in body and body["name"] != name:
                raise validation_error("Property names cannot be changed.")  # UNVERIFIED
            if "hasUniqueValue" in body and bool(body["hasUniqueValue"]) != prop["hasUniqueValue"]:
                raise validation_error(  # SPEC: "Once set, this can't be changed"
                    "hasUniqueValue cannot be changed after a property is created."
                )
            if prop["modificationMetadata"]["readOnlyDefinition"]:
                raise validation_error(f"Property {name} is read-only and cannot be modified.")
            type_ = body.get("type", prop["type"])
            field_type = body.get("fieldType", prop["fieldType"])
            _check_type_pair(type_, field_type)
            group = body.get("groupName", prop["groupName"])
            if group not in ot.groups:
                raise validation_error(f"Property group '{group}' does not exist.")
            updated = dict(prop)
            for key in _UPDATABLE_FIELDS:
                if key in body:
                    updated[key] = body[key]
            if "options" in body:  # options replace the whole list [SPEC PATCH semantics]
                updated["options"] = _normalise_options(body["options"])
            updated["updatedAt"] = self.timestamp()
            ot.properties[name] = updated
            return copy.deepcopy(updated)

    def archive_property(self, ref: str, name: str) -> None:
        with self.lock:
            ot = self.resolve_type(ref)
            prop = self._property_or_404(ot, name)
            if not prop["modificationMetadata"]["archivable"]:
                raise validation_error(f"Property {name} cannot be archived.")  # UNVERIFIED
            prop["archived"] = True
            prop["archivedAt"] = self.timestamp()
            ot.unique_index.pop(name, None)

    def batch_archive_properties(self, ref: str, body: Any) -> None:
        with self.lock:
            ot = self.resolve_type(ref)
            # 204 "regardless of the initial state (active, already archived, non-existent)".
            for item in _inputs(body):
                name = str(item.get("name")) if isinstance(item, dict) else ""
                prop = ot.properties.get(name)
                if prop and not prop["archived"] and prop["modificationMetadata"]["archivable"]:
                    prop["archived"] = True
                    prop["archivedAt"] = self.timestamp()
                    ot.unique_index.pop(name, None)

    # ------------------------------------------------------------------------ groups ---

    def list_groups(self, ref: str) -> dict[str, Any]:
        with self.lock:
            ot = self.resolve_type(ref)
            return {"results": [dict(g) for g in ot.groups.values() if not g["archived"]]}

    def _group_or_404(self, ot: ObjectType, name: str) -> dict[str, Any]:
        group = ot.groups.get(name)
        if group is None or group["archived"]:
            raise not_found(f"Property group {name} does not exist")  # UNVERIFIED wording
        return group

    def get_group(self, ref: str, name: str) -> dict[str, Any]:
        with self.lock:
            return dict(self._group_or_404(self.resolve_type(ref), name))

    def create_group(self, ref: str, body: Any) -> dict[str, Any]:
        with self.lock:
            ot = self.resolve_type(ref)
            if not isinstance(body, dict):
                raise validation_error("Invalid input JSON: expected an object")
            missing = [f for f in ("name", "label") if not body.get(f)]
            if missing:
                raise missing_json_fields("PropertyGroupCreate", missing)
            name = str(body["name"])
            if not GROUP_NAME_RE.match(name):
                raise validation_error(f"Property group name '{name}' is invalid.")  # UNVERIFIED
            if name in ot.groups:
                raise ApiError(
                    409,
                    "OBJECT_ALREADY_EXISTS",
                    f"Property group named '{name}' already exists.",
                    context={"name": [name]},
                )
            ot.groups[name] = {
                "name": name,
                "label": str(body["label"]),
                "displayOrder": int(body.get("displayOrder", -1)),
                "archived": False,
            }
            return dict(ot.groups[name])

    def update_group(self, ref: str, name: str, body: Any) -> dict[str, Any]:
        with self.lock:
            group = self._group_or_404(self.resolve_type(ref), name)
            if isinstance(body, dict):
                if "label" in body:
                    group["label"] = str(body["label"])
                if "displayOrder" in body:
                    group["displayOrder"] = int(body["displayOrder"])
            return dict(group)

    def archive_group(self, ref: str, name: str) -> None:
        with self.lock:
            self._group_or_404(self.resolve_type(ref), name)["archived"] = True


def _inputs(body: Any) -> list[Any]:
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        raise missing_json_fields("BatchInput", ["inputs"])
    return list(body["inputs"])


def batch_response(
    results: list[dict[str, Any]],
    errors: list[dict[str, Any]],
    started: str,
    completed: str,
    *,
    ok_status: int,
) -> tuple[int, dict[str, Any]]:
    """``BatchResponse*`` (all-success, ``ok_status``) or ``…WithErrors`` (207)."""
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": started,
        "completedAt": completed,
    }
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
        return 207, body
    return ok_status, body


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
