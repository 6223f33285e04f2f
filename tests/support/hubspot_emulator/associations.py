"""v4 associations between records, association definitions and labels (notes §4).

Every association is stored in both directions: the forward type id and the inverse type id of
its definition.  Writing an existing (pair, type) again changes nothing, which makes ``default``
and ``batch/create`` idempotent as HubSpot's are.
"""

from __future__ import annotations

from typing import Any

from .errors import ApiError, missing_json_fields, not_found, validation_error
from .model import AssociationDefinition, ObjectType
from .schemas import batch_response
from .state import PortalState

MAX_READ_INPUTS = 1_000  # since 2025-02-10 [DOC changelog]
MAX_PAGE = 500  # GET .../associations/{toObjectType}: "Limit 500 per call" [SPEC]
# v4 batch/read pages each input's associations (result ``paging``, input ``after``) [SPEC];
# the page size is UNVERIFIED, taken as the single-record list's.
BATCH_READ_PAGE = MAX_PAGE
MAX_LABELS_PER_PAIR = 10  # [DOC v4 guide]


def _spec(d: AssociationDefinition) -> dict[str, Any]:
    return {"associationCategory": d.category, "associationTypeId": d.type_id}


def _spec_with_label(d: AssociationDefinition) -> dict[str, Any]:
    # HubSpot returns "label": null for unlabelled types (the spec types it as a plain string).
    return {"category": d.category, "typeId": d.type_id, "label": d.label}


def _object_id(raw: Any) -> str:
    if isinstance(raw, dict) and raw.get("id") not in (None, ""):
        return str(raw["id"])
    raise missing_json_fields("PublicObjectId", ["id"])


class AssociationOps(PortalState):
    # ------------------------------------------------------------------- definitions ---

    def _definitions(self, from_t: str, to_t: str) -> list[AssociationDefinition]:
        return [d for d in self.assoc_defs if d.from_type_id == from_t and d.to_type_id == to_t]

    def _definition(self, from_t: str, to_t: str, spec: Any) -> AssociationDefinition:
        if not isinstance(spec, dict):
            raise missing_json_fields(
                "AssociationSpec", ["associationCategory", "associationTypeId"]
            )
        for d in self._definitions(from_t, to_t):
            if d.type_id == spec.get("associationTypeId") and d.category == spec.get(
                "associationCategory"
            ):
                return d
        raise validation_error(  # UNVERIFIED wording
            f"Association type {spec.get('associationCategory')}/{spec.get('associationTypeId')}"
            f" is not valid between {from_t} and {to_t}",
            context={"associationTypeId": [str(spec.get("associationTypeId"))]},
        )

    def _default_definition(self, from_t: str, to_t: str) -> AssociationDefinition:
        """The "most generic" type of a pair: the unlabelled HubSpot-defined one, else the
        unlabelled definition created with the schema (category USER_DEFINED — UNVERIFIED)."""
        candidates = [d for d in self._definitions(from_t, to_t) if d.label is None]
        candidates.sort(key=lambda d: d.category != "HUBSPOT_DEFINED")
        if not candidates:
            raise validation_error(  # UNVERIFIED wording
                f"No default association type exists between {from_t} and {to_t}"
            )
        return candidates[0]

    def _inverse(self, d: AssociationDefinition) -> AssociationDefinition:
        return next(
            (
                x
                for x in self.assoc_defs
                if x.type_id == d.inverse_type_id
                and x.from_type_id == d.to_type_id
                and x.to_type_id == d.from_type_id
            ),
            d,
        )

    # ------------------------------------------------------------------------ storage ---

    def _link(
        self, from_t: str, from_id: str, to_t: str, to_id: str, type_id: int, category: str
    ) -> bool:
        definition = next(d for d in self._definitions(from_t, to_t) if d.type_id == type_id)
        inverse = self._inverse(definition)
        forward_key = (from_t, from_id, to_t, to_id, type_id)
        created = forward_key not in self.assoc
        self.assoc[forward_key] = category
        self.assoc[(to_t, to_id, from_t, from_id, inverse.type_id)] = inverse.category
        return created

    def _unlink(self, from_t: str, from_id: str, to_t: str, to_id: str, type_id: int) -> None:
        definition = next(
            (d for d in self._definitions(from_t, to_t) if d.type_id == type_id), None
        )
        self.assoc.pop((from_t, from_id, to_t, to_id, type_id), None)
        if definition is not None:
            inverse = self._inverse(definition)
            self.assoc.pop((to_t, to_id, from_t, from_id, inverse.type_id), None)

    def _pair_types(self, from_t: str, from_id: str, to_t: str, to_id: str) -> list[int]:
        return sorted(self.assoc.targets(from_t, from_id, to_t).get(to_id, ()))

    def _exists(self, ot: ObjectType, rec_id: str) -> bool:
        rec = ot.records.get(rec_id)
        return rec is not None and not rec.archived

    def _missing_record_error(self, ot: ObjectType, rec_id: str, side: str) -> ApiError:
        return validation_error(  # UNVERIFIED wording
            f"{ot.type_id} object with id {rec_id} does not exist",
            context={f"{side}ObjectId": [rec_id]},
        )

    def _labels_between(self, from_t: str, from_id: str, to_t: str, to_id: str) -> list[str]:
        labels = []
        for type_id in self._pair_types(from_t, from_id, to_t, to_id):
            d = next((x for x in self._definitions(from_t, to_t) if x.type_id == type_id), None)
            if d is not None and d.label:
                labels.append(d.label)
        return labels

    def _pair_view(self, from_ot: ObjectType, from_id: str, to_ot: ObjectType, to_id: str) -> dict:
        return {
            "fromObjectTypeId": from_ot.type_id,
            "fromObjectId": from_id,
            "toObjectTypeId": to_ot.type_id,
            "toObjectId": to_id,
            "labels": self._labels_between(from_ot.type_id, from_id, to_ot.type_id, to_id),
        }

    # ----------------------------------------------------------------- default / labelled ---

    def _associate_default(
        self, from_ot: ObjectType, from_id: str, to_ot: ObjectType, to_id: str
    ) -> list[dict[str, Any]]:
        if not self._exists(from_ot, from_id):
            raise self._missing_record_error(from_ot, from_id, "from")
        if not self._exists(to_ot, to_id):
            raise self._missing_record_error(to_ot, to_id, "to")
        custom = from_ot.type_id.startswith("2-") or to_ot.type_id.startswith("2-")
        if custom and self.refuse_default_custom_associations:
            raise validation_error(  # UNVERIFIED wording: the switch models "no default type"
                f"There is no default association type from {from_ot.type_id} to "
                f"{to_ot.type_id}; create the association with an explicit associationTypeId."
            )
        definition = self._default_definition(from_ot.type_id, to_ot.type_id)
        self._link(
            from_ot.type_id, from_id, to_ot.type_id, to_id, definition.type_id, definition.category
        )
        inverse = self._inverse(definition)
        # The default endpoints report both directions (UNVERIFIED; HubSpot docs' example).
        return [
            {"from": {"id": from_id}, "to": {"id": to_id}, "associationSpec": _spec(definition)},
            {"from": {"id": to_id}, "to": {"id": from_id}, "associationSpec": _spec(inverse)},
        ]

    def associate_default(
        self, from_ref: str, from_id: str, to_ref: str, to_id: str
    ) -> dict[str, Any]:
        with self.lock:
            from_ot, to_ot = self.resolve_type(from_ref), self.resolve_type(to_ref)
            started = self.timestamp()
            results = self._associate_default(from_ot, from_id, to_ot, to_id)
            return batch_response(results, [], started, self.timestamp(), ok_status=200)[1]

    def batch_associate_default(
        self, from_ref: str, to_ref: str, body: Any
    ) -> tuple[int, dict[str, Any]]:
        with self.lock:
            from_ot, to_ot = self.resolve_type(from_ref), self.resolve_type(to_ref)
            inputs = _inputs(body)
            started = self.timestamp()
            results: list[dict[str, Any]] = []
            errors: list[dict[str, Any]] = []
            for item in inputs:
                if not isinstance(item, dict):
                    raise missing_json_fields("PublicDefaultAssociationMultiPost", ["from", "to"])
                try:
                    results += self._associate_default(
                        from_ot, _object_id(item.get("from")), to_ot, _object_id(item.get("to"))
                    )
                except ApiError as exc:
                    errors.append(exc.as_standard_error())
            _, response = batch_response(results, errors, started, self.timestamp(), ok_status=200)
            # BatchResponsePublicDefaultAssociation carries errors but is always 200 [SPEC].
            return 200, response

    def associate_labelled(
        self, from_ref: str, from_id: str, to_ref: str, to_id: str, body: Any
    ) -> dict[str, Any]:
        with self.lock:
            from_ot, to_ot = self.resolve_type(from_ref), self.resolve_type(to_ref)
            if not isinstance(body, list):
                raise validation_error("Request body must be an array of AssociationSpec")
            definitions = [self._definition(from_ot.type_id, to_ot.type_id, s) for s in body]
            if not self._exists(from_ot, from_id):
                raise self._missing_record_error(from_ot, from_id, "from")
            if not self._exists(to_ot, to_id):
                raise self._missing_record_error(to_ot, to_id, "to")
            for d in definitions:
                self._link(from_ot.type_id, from_id, to_ot.type_id, to_id, d.type_id, d.category)
            return self._pair_view(from_ot, from_id, to_ot, to_id)

    def delete_pair(self, from_ref: str, from_id: str, to_ref: str, to_id: str) -> None:
        with self.lock:
            from_ot, to_ot = self.resolve_type(from_ref), self.resolve_type(to_ref)
            for type_id in self._pair_types(from_ot.type_id, from_id, to_ot.type_id, to_id):
                self._unlink(from_ot.type_id, from_id, to_ot.type_id, to_id, type_id)

    # -------------------------------------------------------------------------- reads ---

    def _associated(
        self, from_ot: ObjectType, from_id: str, to_ot: ObjectType
    ) -> list[dict[str, Any]]:
        grouped: dict[str, list[dict[str, Any]]] = {}
        definitions = self._definitions(from_ot.type_id, to_ot.type_id)
        for to_id, type_ids in self.assoc.targets(from_ot.type_id, from_id, to_ot.type_id).items():
            for type_id in sorted(type_ids):
                d = next(x for x in definitions if x.type_id == type_id)
                grouped.setdefault(to_id, []).append(_spec_with_label(d))
        return [
            {"toObjectId": to_id, "associationTypes": types}
            for to_id, types in sorted(grouped.items(), key=lambda kv: int(kv[0]))
        ]

    def list_associations(
        self,
        from_ref: str,
        from_id: str,
        to_ref: str,
        *,
        limit: int = MAX_PAGE,
        after: str | None = None,
    ) -> dict[str, Any]:
        with self.lock:
            from_ot, to_ot = self.resolve_type(from_ref), self.resolve_type(to_ref)
            if limit < 1 or limit > MAX_PAGE:
                raise validation_error(f"limit must be between 1 and {MAX_PAGE}")
            items = self._associated(from_ot, from_id, to_ot)
            if after:
                if not after.isdigit():
                    raise validation_error(f"Invalid paging cursor: {after}")
                items = [i for i in items if int(i["toObjectId"]) > int(after)]
            body: dict[str, Any] = {"results": items[:limit]}
            if len(items) > limit:
                body["paging"] = {"next": {"after": items[limit - 1]["toObjectId"]}}
            return body

    def batch_read_associations(
        self, from_ref: str, to_ref: str, body: Any
    ) -> tuple[int, dict[str, Any]]:
        with self.lock:
            from_ot, to_ot = self.resolve_type(from_ref), self.resolve_type(to_ref)
            inputs = _inputs(body)
            if len(inputs) > MAX_READ_INPUTS:
                raise validation_error(
                    f"The maximum number of inputs supported in a batch request is "
                    f"{MAX_READ_INPUTS}"
                )
            started = self.timestamp()
            results, errors = [], []
            for item in inputs:
                from_id = _object_id(item)
                to = self._associated(from_ot, from_id, to_ot)
                after = item.get("after") if isinstance(item, dict) else None
                if after:
                    if not str(after).isdigit():
                        raise validation_error(f"Invalid paging cursor: {after}")
                    to = [i for i in to if int(i["toObjectId"]) > int(after)]
                if to:
                    result: dict[str, Any] = {"from": {"id": from_id}, "to": to[:BATCH_READ_PAGE]}
                    if len(to) > BATCH_READ_PAGE:
                        cursor = to[BATCH_READ_PAGE - 1]["toObjectId"]
                        result["paging"] = {"next": {"after": cursor}}
                    results.append(result)
                else:
                    errors.append(
                        not_found(  # v3-style wording, UNVERIFIED for v4
                            f"No {to_ot.singular} is associated with {from_ot.singular} {from_id}.",
                            context={"fromObjectId": [from_id]},
                        ).as_standard_error()
                    )
            return batch_response(results, errors, started, self.timestamp(), ok_status=200)

    # ------------------------------------------------------------------ batch writes ---

    def batch_create_associations(
        self, from_ref: str, to_ref: str, body: Any
    ) -> tuple[int, dict[str, Any]]:
        with self.lock:
            from_ot, to_ot = self.resolve_type(from_ref), self.resolve_type(to_ref)
            inputs = _inputs(body)
            started = self.timestamp()
            results, errors = [], []
            for item in inputs:
                if not isinstance(item, dict):
                    raise missing_json_fields("PublicAssociationMultiPost", ["from", "to", "types"])
                try:
                    from_id, to_id = _object_id(item.get("from")), _object_id(item.get("to"))
                    definitions = [
                        self._definition(from_ot.type_id, to_ot.type_id, s)
                        for s in item.get("types") or []
                    ]
                    if not definitions:
                        raise missing_json_fields("PublicAssociationMultiPost", ["types"])
                    if not self._exists(from_ot, from_id):
                        raise self._missing_record_error(from_ot, from_id, "from")
                    if not self._exists(to_ot, to_id):
                        raise self._missing_record_error(to_ot, to_id, "to")
                except ApiError as exc:
                    errors.append(exc.as_standard_error())
                    continue
                for d in definitions:
                    self._link(
                        from_ot.type_id, from_id, to_ot.type_id, to_id, d.type_id, d.category
                    )
                results.append(self._pair_view(from_ot, from_id, to_ot, to_id))
            return batch_response(results, errors, started, self.timestamp(), ok_status=201)

    def batch_archive_associations(self, from_ref: str, to_ref: str, body: Any) -> None:
        with self.lock:
            from_ot, to_ot = self.resolve_type(from_ref), self.resolve_type(to_ref)
            for item in _inputs(body):
                from_id = _object_id((item or {}).get("from"))
                for to in (item or {}).get("to") or []:
                    to_id = _object_id(to)
                    for type_id in self._pair_types(from_ot.type_id, from_id, to_ot.type_id, to_id):
                        self._unlink(from_ot.type_id, from_id, to_ot.type_id, to_id, type_id)

    def batch_archive_labels(self, from_ref: str, to_ref: str, body: Any) -> None:
        with self.lock:
            from_ot, to_ot = self.resolve_type(from_ref), self.resolve_type(to_ref)
            for item in _inputs(body):
                from_id = _object_id((item or {}).get("from"))
                to_id = _object_id((item or {}).get("to"))
                for spec in (item or {}).get("types") or []:
                    d = self._definition(from_ot.type_id, to_ot.type_id, spec)
                    self._unlink(from_ot.type_id, from_id, to_ot.type_id, to_id, d.type_id)

    # ------------------------------------------------------------------------- labels ---

    def list_labels(self, from_ref: str, to_ref: str) -> dict[str, Any]:
        with self.lock:
            from_ot, to_ot = self.resolve_type(from_ref), self.resolve_type(to_ref)
            return {
                "results": [
                    _spec_with_label(d) for d in self._definitions(from_ot.type_id, to_ot.type_id)
                ]
            }

    def create_label(self, from_ref: str, to_ref: str, body: Any) -> dict[str, Any]:
        with self.lock:
            from_ot, to_ot = self.resolve_type(from_ref), self.resolve_type(to_ref)
            if not isinstance(body, dict):
                raise validation_error("Invalid input JSON: expected an object")
            missing = [f for f in ("label", "name") if not body.get(f)]
            if missing:
                raise missing_json_fields("PublicAssociationDefinitionCreateRequest", missing)
            existing = self._definitions(from_ot.type_id, to_ot.type_id)
            if any(d.name == body["name"] for d in existing):
                raise ApiError(
                    409,
                    "OBJECT_ALREADY_EXISTS",
                    f"An association label named '{body['name']}' already exists.",
                )  # UNVERIFIED
            if sum(1 for d in existing if d.label) >= MAX_LABELS_PER_PAIR:
                raise validation_error(
                    f"At most {MAX_LABELS_PER_PAIR} association labels are allowed between "
                    f"{from_ot.type_id} and {to_ot.type_id}."
                )
            ts = self.timestamp()
            forward_id = self.next_assoc_type_id()
            symmetric = from_ot is to_ot and not body.get("inverseLabel")
            inverse_id = forward_id if symmetric else self.next_assoc_type_id()
            forward = AssociationDefinition(
                forward_id,
                "USER_DEFINED",
                from_ot.type_id,
                to_ot.type_id,
                str(body["label"]),
                str(body["name"]),
                inverse_id,
                ts,
            )
            self.assoc_defs.append(forward)
            created = [forward]
            if not symmetric:
                inverse = AssociationDefinition(
                    inverse_id,
                    "USER_DEFINED",
                    to_ot.type_id,
                    from_ot.type_id,
                    str(body.get("inverseLabel") or body["label"]),
                    f"{body['name']}_inverse",
                    forward_id,
                    ts,
                )
                self.assoc_defs.append(inverse)
                if body.get("inverseLabel"):
                    created.append(inverse)
            return {"results": [_spec_with_label(d) for d in created]}

    def update_label(self, from_ref: str, to_ref: str, body: Any) -> None:
        with self.lock:
            from_ot, to_ot = self.resolve_type(from_ref), self.resolve_type(to_ref)
            if not isinstance(body, dict) or "associationTypeId" not in body or "label" not in body:
                raise missing_json_fields(
                    "PublicAssociationDefinitionUpdateRequest", ["associationTypeId", "label"]
                )
            d = self._definition(
                from_ot.type_id,
                to_ot.type_id,
                {
                    "associationCategory": "USER_DEFINED",
                    "associationTypeId": body["associationTypeId"],
                },
            )
            d.label = str(body["label"])
            if body.get("inverseLabel"):
                self._inverse(d).label = str(body["inverseLabel"])

    def delete_label(self, from_ref: str, to_ref: str, type_id: str) -> None:
        with self.lock:
            from_ot, to_ot = self.resolve_type(from_ref), self.resolve_type(to_ref)
            d = next(
                (
                    x
                    for x in self._definitions(from_ot.type_id, to_ot.type_id)
                    if str(x.type_id) == type_id and x.category == "USER_DEFINED"
                ),
                None,
            )
            if d is None:
                raise not_found(f"Association type {type_id} not found")  # UNVERIFIED
            drop = {d.type_id, d.inverse_type_id}
            for key in [k for k in self.assoc if k[4] in drop]:
                self.assoc.pop(key)
            self.assoc_defs = [x for x in self.assoc_defs if x.type_id not in drop]


def _inputs(body: Any) -> list[Any]:
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        raise missing_json_fields("BatchInput", ["inputs"])
    return list(body["inputs"])
