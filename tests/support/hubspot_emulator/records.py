"""CRM records: single and batch create/read/update/upsert/archive, list and search.

Batch semantics follow notes §3.4–3.6 and §7: 100 inputs per call; a refused input (a bad
value, a missing required property, an admin validation rule) is reported per input in
``errors[]`` while the others are written, or fails the whole batch with 400 — see
``BATCH_RECORD_ERRORS`` for which, and why per input is the default for upsert/update; a
unique-value collision fails the whole batch with 409 and nothing is applied; duplicate ids in
one batch are rejected.  Writes are planned first and applied only when the batch is accepted.
"""

from __future__ import annotations

import copy
import fnmatch
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, missing_json_fields, not_found, validation_error
from .model import ObjectType, Record, normalise_unique
from .schemas import batch_response
from .state import PortalState, validation_rules_apply
from .values import (
    comparable,
    missing_required_error,
    normalise_properties,
    property_values_error,
    validation_rule_error,
)

MAX_BATCH_INPUTS = 100
MAX_HISTORY_INPUTS = 50
MAX_LIST_LIMIT = 100
MAX_SEARCH_LIMIT = 200
MAX_SEARCH_RESULTS = 10_000
MAX_FILTER_GROUPS, MAX_FILTERS_PER_GROUP, MAX_FILTERS_TOTAL = 5, 6, 18

# How batch/upsert and batch/update answer an input HubSpot refuses (``batch_record_errors``):
#
# * ``"per_record"`` (default): the refused input is an item of ``errors[]`` (category, message,
#   the per-property ``errors``; its ``context`` names no input unless it carried an
#   ``objectWriteTraceId``), every other input is written and in ``results``; 207 on v3 paths,
#   200 with ``numErrors`` on the date-based ones.
# * ``"whole_batch"``: the first refused input fails the whole batch with a 400 and nothing is
#   written (what the emulator did before, and what many integrators describe).
#
# Why per record by default: the one captured HubSpot answer to a batch upsert with a bad value
# (HubSpot/hubspot-api-ruby#403, a number property, no objectWriteTraceId) is a 207 with
# ``"status":"COMPLETE"``, the error in ``errors[]`` and ``numErrors``; HubSpot's changelog
# "Simplifying batch update response codes" promises 207 when one or more batch updates fail;
# and the 2026-09 specs give the upsert/update success answers ``errors``/``numErrors`` (no 207
# any more). Which fields of ``context`` HubSpot fills there is not known (the capture is cut
# before them), so an error names its input only by an ``objectWriteTraceId`` the client sent.
# batch/create keeps its documented rule in both modes: per input only when every input carries
# an ``objectWriteTraceId``, else the whole batch fails (error-handling page, notes §3.6).
BATCH_RECORD_ERRORS = ("per_record", "whole_batch")


@dataclass
class _Write:
    """One planned record write inside a batch."""

    index: int
    values: dict[str, str]
    record: Record | None  # None: create
    trace_id: str | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)
    error: ApiError | None = None
    associations: list[tuple[str, str, int, str]] = field(default_factory=list)


def _object_not_found(ref: str) -> ApiError:
    # Wording as seen in HubSpot 404s for single-object reads (UNVERIFIED double space kept).
    return not_found("Object not found.  objectId are usually numeric.", context={"id": [ref]})


def _check_batch_size(inputs: list[Any]) -> None:
    if len(inputs) > MAX_BATCH_INPUTS:
        raise validation_error(  # limit [2ND/ISSUE]; wording modelled on the history-limit one
            f"The maximum number of inputs supported in a batch request is {MAX_BATCH_INPUTS}",
            context={"inputs": [str(len(inputs))]},
        )


def _inputs(body: Any) -> list[Any]:
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        raise missing_json_fields("BatchInput", ["inputs"])
    return list(body["inputs"])


def split_property_names(raw: Any) -> list[str] | None:
    """``properties`` from a query (list of comma-joined strings) or a JSON array."""
    if raw is None:
        return None
    items = raw if isinstance(raw, list) else [raw]
    names = [n.strip() for item in items for n in str(item).split(",") if n.strip()]
    return names or None


class RecordOps(PortalState):
    # --------------------------------------------------------------------- helpers ---

    def _system_properties(self, ot: ObjectType) -> tuple[str, ...]:
        extra = ("hs_lastmodifieddate",) if ot.type_id == "0-1" else ()
        return ("hs_object_id", ot.create_date_property, ot.modified_date_property, *extra)

    def record_view(
        self,
        ot: ObjectType,
        rec: Record,
        requested: list[str] | None = None,
        *,
        all_values: bool = False,
        trace_id: str | None = None,
    ) -> dict[str, Any]:
        """``SimplePublicObject``.

        Reads return the requested properties (unknown names ignored, unset ones as ``null`` as
        HubSpot does) plus the id/create/modified system properties; without a list the type's
        default read set.  Writes (``all_values``) return every stored value.
        """
        if all_values:
            props: dict[str, Any] = dict(rec.properties)
        else:
            names = list(requested) if requested else list(ot.default_read_properties)
            names += [n for n in self._system_properties(ot) if n not in names]
            props = {n: rec.properties.get(n) for n in names if n in ot.properties}
        view: dict[str, Any] = {
            "id": rec.id,
            "properties": props,
            "createdAt": rec.created_at,
            "updatedAt": rec.updated_at,
            "archived": rec.archived,
        }
        if rec.archived and rec.archived_at:
            view["archivedAt"] = rec.archived_at
        if trace_id is not None:
            view["objectWriteTraceId"] = trace_id
        return view

    def _check_id_property(self, ot: ObjectType, id_property: str) -> None:
        if id_property not in ot.unique_properties():
            raise validation_error(  # verbatim family from segmentio PR #3957 / nodejs #548
                f"Unable to perform update/upsert by non-unique {ot.type_id} property "
                f"{id_property} in portal ID {self.portal_id}"
            )

    def _find(self, ot: ObjectType, ident: str, id_property: str | None) -> Record | None:
        if id_property and id_property != "hs_object_id":
            rec_id = ot.unique_index.get(id_property, {}).get(
                normalise_unique(ot.type_id, id_property, ident)
            )
            rec = ot.records.get(rec_id) if rec_id else None
        else:
            rec = ot.records.get(ident)
        return rec if rec is not None and not rec.archived else None

    def _apply_batch(
        self,
        ot: ObjectType,
        writes: list[_Write],
        per_record: bool,
        conflicts_per_input: bool,
        with_new: bool = False,
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Decide the batch's fate, then apply the writes that survived it (all batch writes)."""
        errors = self._resolve_outcome(ot, writes, per_record=per_record)
        self._settle_conflicts(ot, writes, errors, conflicts_per_input)
        results = []
        for write in writes:
            if write.error is None and not write.problems:
                rec, created = self._apply(ot, write)
                view = self.record_view(ot, rec, all_values=True, trace_id=write.trace_id)
                if with_new:
                    view["new"] = created
                results.append(view)
        return results, errors

    def _apply(self, ot: ObjectType, write: _Write) -> tuple[Record, bool]:
        """Store a validated write; returns (record, created)."""
        ts = self.timestamp()
        created = write.record is None
        if write.record is None:
            rec_id = self.next_record_id()
            rec = Record(id=rec_id, properties={}, created_at=ts, updated_at=ts)
            rec.properties["hs_object_id"] = rec_id
            rec.properties[ot.create_date_property] = ts
            ot.records[rec_id] = rec
        else:
            rec = write.record
        for name, value in write.values.items():
            old = rec.properties.get(name)
            if name in ot.unique_index and old:
                ot.unique_index[name].pop(normalise_unique(ot.type_id, name, old), None)
            if value == "":
                rec.properties.pop(name, None)
            else:
                rec.properties[name] = value
                if name in ot.unique_index:
                    ot.unique_index[name][normalise_unique(ot.type_id, name, value)] = rec.id
        rec.updated_at = ts
        for name in self._system_properties(ot)[2:]:
            rec.properties[name] = ts
        for to_type, to_id, type_id, category in write.associations:
            self._link(ot.type_id, rec.id, to_type, to_id, type_id, category)
        return rec, created

    def _link(
        self, from_t: str, from_id: str, to_t: str, to_id: str, type_id: int, category: str
    ) -> bool:
        raise NotImplementedError  # provided by AssociationOps

    def _conflict(
        self, ot: ObjectType, writes: list[_Write]
    ) -> tuple[_Write, str, str, str] | None:
        """First unique-value collision of the planned writes with other records or with each
        other: (write, property, value, existing record id)."""
        claimed: dict[tuple[str, str], tuple[str, _Write]] = {}
        for write in writes:
            if write.error is not None or write.problems:
                continue
            own = write.record.id if write.record else f"new#{write.index}"
            for name in ot.unique_properties():
                value = write.values.get(name)
                if not value:
                    continue
                key = (name, normalise_unique(ot.type_id, name, value))
                holder = ot.unique_index.get(name, {}).get(key[1])
                if holder is not None and holder != own and not ot.records[holder].archived:
                    return write, name, value, holder
                if key in claimed and claimed[key][0] != own:
                    other = claimed[key][0]
                    return write, name, value, other if not other.startswith("new#") else ""
                claimed[key] = (own, write)
        return None

    def _conflict_error(self, ot: ObjectType, prop: str, value: str, existing: str) -> ApiError:
        if ot.type_id == "0-1" and prop == "email":
            # Newer contact 409 shape (notes §3.6); older portals send category CONFLICT.
            return ApiError(
                409,
                "OBJECT_ALREADY_EXISTS",
                f"Contact already exists. Existing ID: {existing}",
                errors=[
                    {
                        "message": f"A contact with email {value} already exists. "
                        f"Existing ID: {existing}",
                        "in": "email",
                    }
                ],
                extra={"error": "CONTACT_EXISTS"},
            )
        return ApiError(  # UNVERIFIED wording; status/whole-batch behaviour from airbyte #76340
            409,
            "CONFLICT",
            f"A {ot.singular} with {prop} '{value}' already exists. Existing ID: {existing}",
            errors=[{"message": f"Duplicate value for unique property {prop}", "in": prop}],
            context={"propertyName": [prop], "existingId": [existing]},
        )

    def _missing_required(self, ot: ObjectType, values: dict[str, str]) -> list[str]:
        required = (ot.schema or {}).get("requiredProperties", [])
        return [n for n in required if not values.get(n)]

    def _plan_values(self, ot: ObjectType, write: _Write, properties: Any) -> None:
        values, problems = normalise_properties(ot, properties)
        write.values.update(values)
        write.problems.extend(problems)
        if write.record is None and not problems:
            missing = self._missing_required(ot, write.values)
            if missing:
                write.error = missing_required_error(ot, missing)
            elif validation_rules_apply():
                ruled = [
                    n
                    for n in self.required_on_create.get(ot.type_id, [])
                    if not write.values.get(n)
                ]
                if ruled:
                    write.error = validation_rule_error(ot, ruled)

    def _resolve_outcome(
        self, ot: ObjectType, writes: list[_Write], *, per_record: bool
    ) -> list[dict[str, Any]]:
        """Turn per-write failures into batch errors (``per_record``) or raise the first one.

        An error names its input only by the ``objectWriteTraceId`` the input carried."""
        errors: list[dict[str, Any]] = []
        for write in writes:
            failure = write.error
            if failure is None and write.problems:
                failure = property_values_error(write.problems)
            if failure is None:
                continue
            if not per_record:
                raise failure
            item = failure.as_standard_error()
            if write.trace_id:
                item["context"] = {**item["context"], "objectWriteTraceId": [str(write.trace_id)]}
            errors.append(item)
        return errors

    def _per_record(self, trace_mode: bool) -> bool:
        """batch/upsert and batch/update: are refused inputs reported one by one?"""
        return trace_mode or self.batch_record_errors == "per_record"

    # ----------------------------------------------------------------- single record ---

    def list_records(
        self,
        ref: str,
        *,
        limit: int = 10,
        after: str | None = None,
        properties: list[str] | None = None,
        archived: bool = False,
        base_url: str = "",
    ) -> dict[str, Any]:
        with self.lock:
            ot = self.resolve_type(ref)
            if limit < 1 or limit > MAX_LIST_LIMIT:
                raise validation_error(f"limit must be between 1 and {MAX_LIST_LIMIT}")
            records = sorted(
                (r for r in ot.records.values() if r.archived == archived), key=lambda r: int(r.id)
            )
            if after:
                if not after.isdigit():
                    raise validation_error(f"Invalid paging cursor: {after}")
                records = [r for r in records if int(r.id) >= int(after)]
            page = records[:limit]
            body: dict[str, Any] = {"results": [self.record_view(ot, r, properties) for r in page]}
            if len(records) > limit:
                next_after = str(int(page[-1].id) + 1)
                body["paging"] = {
                    "next": {
                        "after": next_after,
                        "link": f"{base_url}/crm/v3/objects/{ref}?after={next_after}",
                    }
                }
            return body

    def get_record(
        self,
        ref: str,
        ident: str,
        *,
        id_property: str | None = None,
        properties: list[str] | None = None,
        archived: bool = False,
    ) -> dict[str, Any]:
        with self.lock:
            ot = self.resolve_type(ref)
            if id_property and id_property != "hs_object_id":
                self._check_id_property(ot, id_property)
            rec = self._find_any(ot, ident, id_property, archived)
            if rec is None:
                raise _object_not_found(ident)
            return self.record_view(ot, rec, properties)

    def _find_any(
        self, ot: ObjectType, ident: str, id_property: str | None, archived: bool
    ) -> Record | None:
        if not archived:
            return self._find(ot, ident, id_property)
        rec = ot.records.get(ident)
        return rec if rec is not None and rec.archived else None

    def create_record(self, ref: str, body: Any) -> dict[str, Any]:
        with self.lock:
            ot = self.resolve_type(ref)
            if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
                raise missing_json_fields("SimplePublicObjectInputForCreate", ["properties"])
            write = _Write(index=0, values={}, record=None)
            self._plan_values(ot, write, body["properties"])
            self._plan_associations(ot, write, body.get("associations"))
            self._resolve_outcome(ot, [write], per_record=False)
            conflict = self._conflict(ot, [write])
            if conflict:
                raise self._conflict_error(ot, *conflict[1:])
            rec, _ = self._apply(ot, write)
            return self.record_view(ot, rec, all_values=True)

    def update_record(
        self, ref: str, ident: str, body: Any, *, id_property: str | None = None
    ) -> dict[str, Any]:
        with self.lock:
            ot = self.resolve_type(ref)
            if id_property and id_property != "hs_object_id":
                self._check_id_property(ot, id_property)
            rec = self._find(ot, ident, id_property)
            if rec is None:
                raise _object_not_found(ident)
            if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
                raise missing_json_fields("SimplePublicObjectInput", ["properties"])
            write = _Write(index=0, values={}, record=rec)
            self._plan_values(ot, write, body["properties"])
            self._resolve_outcome(ot, [write], per_record=False)
            conflict = self._conflict(ot, [write])
            if conflict:
                raise self._conflict_error(ot, *conflict[1:])
            self._apply(ot, write)
            return self.record_view(ot, rec, all_values=True)

    def archive_record(self, ref: str, ident: str) -> None:
        with self.lock:
            ot = self.resolve_type(ref)
            rec = ot.records.get(ident)
            if rec is not None and not rec.archived:  # 204 even when missing [ISSUE n8n#3219]
                self._archive(ot, rec)

    def _archive(self, ot: ObjectType, rec: Record) -> None:
        rec.archived = True
        rec.archived_at = self.timestamp()
        # Archived records free their unique values so a new record can take them (UNVERIFIED).
        for name, index in ot.unique_index.items():
            value = rec.properties.get(name)
            if value:
                index.pop(normalise_unique(ot.type_id, name, value), None)

    # ------------------------------------------------------------------------ batches ---

    def batch_read(
        self, ref: str, body: Any, *, archived: bool = False
    ) -> tuple[int, dict[str, Any]]:
        with self.lock:
            ot = self.resolve_type(ref)
            inputs = _inputs(body)
            _check_batch_size(inputs)
            history = body.get("propertiesWithHistory") or []
            if history and len(inputs) > MAX_HISTORY_INPUTS:
                raise validation_error(  # verbatim [ISSUE PipedreamHQ #8462]
                    "The maximum number of inputs supported in a batch request for property "
                    f"histories is {MAX_HISTORY_INPUTS}"
                )
            id_property = body.get("idProperty")
            if id_property and id_property != "hs_object_id":
                self._check_id_property(ot, id_property)
            requested = split_property_names(body.get("properties"))
            started = self.timestamp()
            results, missing, seen = [], [], set()
            for item in inputs:
                ident = str(item.get("id")) if isinstance(item, dict) else ""
                if ident in seen:
                    continue
                seen.add(ident)
                rec = self._find_any(ot, ident, id_property, archived)
                if rec is None:
                    missing.append(ident)
                else:
                    results.append(self.record_view(ot, rec, requested))
            message = (
                f"Could not get some {ot.type_id} objects, they may be deleted or not exist. "
                "Check that ids are valid."
            )  # wording UNVERIFIED, category confirmed [2ND]
            if missing and not results:
                # One connector observed 404 when nothing is found (ingestr PR #1203).
                raise not_found(message, context={"ids": missing})
            errors = [not_found(message, context={"ids": missing}).as_standard_error()]
            return batch_response(
                results, errors if missing else [], started, self.timestamp(), ok_status=200
            )

    def batch_create(self, ref: str, body: Any) -> tuple[int, dict[str, Any]]:
        with self.lock:
            ot = self.resolve_type(ref)
            inputs = _inputs(body)
            _check_batch_size(inputs)
            started = self.timestamp()
            trace_mode = bool(inputs) and all(
                isinstance(i, dict) and i.get("objectWriteTraceId") for i in inputs
            )
            writes = []
            for index, item in enumerate(inputs):
                if not isinstance(item, dict) or not isinstance(item.get("properties"), dict):
                    raise missing_json_fields(
                        "SimplePublicObjectInputForCreate", ["properties", "associations"]
                    )
                write = _Write(index, {}, None, trace_id=item.get("objectWriteTraceId"))
                self._plan_values(ot, write, item["properties"])
                if write.error is None and not write.problems:
                    try:
                        self._plan_associations(ot, write, item.get("associations"))
                    except ApiError as exc:
                        write.error = exc
                writes.append(write)
            results, errors = self._apply_batch(ot, writes, trace_mode, trace_mode)
            return batch_response(results, errors, started, self.timestamp(), ok_status=201)

    def _settle_conflicts(
        self, ot: ObjectType, writes: list[_Write], errors: list[dict[str, Any]], trace_mode: bool
    ) -> None:
        """Unique collisions: 409 for the whole batch, except per-input in trace mode on
        batch/create (HubSpot names only the first duplicate [ISSUE python #51])."""
        while True:
            conflict = self._conflict(ot, writes)
            if conflict is None:
                return
            write, prop, value, existing = conflict
            exc = self._conflict_error(ot, prop, value, existing)
            if not trace_mode:
                raise exc
            write.error = exc
            item = exc.as_standard_error()
            item["context"] = {**item["context"], "objectWriteTraceId": [str(write.trace_id)]}
            errors.append(item)

    def batch_update(self, ref: str, body: Any) -> tuple[int, dict[str, Any]]:
        with self.lock:
            ot = self.resolve_type(ref)
            inputs = _inputs(body)
            _check_batch_size(inputs)
            started = self.timestamp()
            trace_mode = bool(inputs) and all(
                isinstance(i, dict) and i.get("objectWriteTraceId") for i in inputs
            )
            writes, not_found_ids, seen = [], [], set()
            for index, item in enumerate(inputs):
                if not isinstance(item, dict) or "id" not in item or "properties" not in item:
                    raise missing_json_fields("SimplePublicObjectBatchInput", ["id", "properties"])
                id_property = item.get("idProperty")
                if id_property and id_property != "hs_object_id":
                    self._check_id_property(ot, id_property)
                ident = str(item["id"])
                key = normalise_unique(ot.type_id, id_property or "", ident)
                if (id_property, key) in seen:
                    raise self._duplicate_ids_error(ident)
                seen.add((id_property, key))
                rec = self._find(ot, ident, id_property)
                if rec is None:
                    not_found_ids.append(ident)
                    continue
                write = _Write(index, {}, rec, trace_id=item.get("objectWriteTraceId"))
                self._plan_values(ot, write, item["properties"])
                writes.append(write)
            results, errors = self._apply_batch(ot, writes, self._per_record(trace_mode), False)
            if not_found_ids:  # per-input 207 entry (UNVERIFIED for batch/update)
                errors.append(
                    not_found(
                        f"Could not get some {ot.type_id} objects, they may be deleted or not "
                        "exist. Check that ids are valid.",
                        context={"ids": not_found_ids},
                    ).as_standard_error()
                )
            return batch_response(results, errors, started, self.timestamp(), ok_status=200)

    @staticmethod
    def _duplicate_ids_error(ident: str) -> ApiError:
        # Rejected and not retryable [ISSUE segmentio PR #3969]; wording UNVERIFIED.
        return validation_error(
            f"Duplicate IDs found in batch input: [{ident}]. IDs must be unique",
            context={"ids": [ident]},
        )

    def batch_upsert(
        self, ref: str, body: Any, *, query_id_property: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        with self.lock:
            ot = self.resolve_type(ref)
            inputs = _inputs(body)
            _check_batch_size(inputs)
            started = self.timestamp()
            trace_mode = bool(inputs) and all(
                isinstance(i, dict) and i.get("objectWriteTraceId") for i in inputs
            )
            writes: list[_Write] = []
            seen: set[tuple[str, str]] = set()
            for index, item in enumerate(inputs):
                if not isinstance(item, dict) or "id" not in item or "properties" not in item:
                    raise missing_json_fields(
                        "SimplePublicObjectBatchInputUpsert", ["id", "properties"]
                    )
                # idProperty belongs in each input; the query parameter is a fallback (notes §3.4).
                id_property = item.get("idProperty") or query_id_property
                if not id_property:
                    raise validation_error(  # UNVERIFIED wording
                        "idProperty is required for batch upsert; it must name a unique property."
                    )
                self._check_id_property(ot, id_property)
                ident = str(item["id"])
                key = (id_property, normalise_unique(ot.type_id, id_property, ident))
                if key in seen:
                    raise self._duplicate_ids_error(ident)
                seen.add(key)
                rec = self._find(ot, ident, id_property)
                write = _Write(index, {}, rec, trace_id=item.get("objectWriteTraceId"))
                props = item["properties"]
                if rec is None and isinstance(props, dict):
                    # A new record takes the input id as its id-property value.
                    props = {**props, id_property: ident}
                self._plan_values(ot, write, props)
                writes.append(write)
            # upsert: a unique-value conflict is a 409 for the whole batch
            results, errors = self._apply_batch(
                ot, writes, self._per_record(trace_mode), False, with_new=True
            )
            return batch_response(results, errors, started, self.timestamp(), ok_status=200)

    def batch_archive(self, ref: str, body: Any) -> None:
        with self.lock:
            ot = self.resolve_type(ref)
            inputs = _inputs(body)
            _check_batch_size(inputs)
            for item in inputs:
                rec = ot.records.get(str(item.get("id"))) if isinstance(item, dict) else None
                if rec is not None and not rec.archived:
                    self._archive(ot, rec)

    # ------------------------------------------------------------------------- search ---

    def search(self, ref: str, body: Any) -> dict[str, Any]:
        with self.lock:
            ot = self.resolve_type(ref)
            if not isinstance(body, dict):
                raise validation_error("Invalid input JSON: expected an object")
            groups = body.get("filterGroups") or []
            if not isinstance(groups, list):
                raise validation_error("filterGroups must be an array")
            total_filters = sum(len(g.get("filters") or []) for g in groups if isinstance(g, dict))
            if (
                len(groups) > MAX_FILTER_GROUPS
                or any(len(g.get("filters") or []) > MAX_FILTERS_PER_GROUP for g in groups)
                or total_filters > MAX_FILTERS_TOTAL
            ):
                raise validation_error(  # limits [2ND], wording UNVERIFIED
                    f"Too many filters: at most {MAX_FILTER_GROUPS} filterGroups with "
                    f"{MAX_FILTERS_PER_GROUP} filters each and {MAX_FILTERS_TOTAL} filters in total"
                    " are allowed."
                )
            limit = body.get("limit") or 10
            if not isinstance(limit, int) or limit < 1 or limit > MAX_SEARCH_LIMIT:
                raise validation_error(f"limit must be between 1 and {MAX_SEARCH_LIMIT}")
            after = str(body.get("after") or "0")
            if not after.isdigit():
                raise validation_error(f"Invalid paging cursor: {after}")
            offset = int(after)
            if offset + limit > MAX_SEARCH_RESULTS:
                raise validation_error(
                    f"Search results are limited to {MAX_SEARCH_RESULTS} records per query."
                )
            matches = [
                r
                for r in ot.records.values()
                if not r.archived
                and self._matches_groups(ot, r, groups)
                and self._matches_query(r, body.get("query"))
            ]
            matches = self._sorted(ot, matches, body.get("sorts") or [])
            page = matches[offset : offset + limit]
            requested = split_property_names(body.get("properties"))
            result: dict[str, Any] = {
                "total": len(matches),
                "results": [self.record_view(ot, r, requested) for r in page],
            }
            if offset + limit < len(matches):
                result["paging"] = {"next": {"after": str(offset + limit)}}
            return result

    def _matches_groups(self, ot: ObjectType, rec: Record, groups: list[Any]) -> bool:
        if not groups:
            return True
        return any(
            all(self._matches_filter(ot, rec, f) for f in (g.get("filters") or []))
            for g in groups
            if isinstance(g, dict)
        )

    def _matches_filter(self, ot: ObjectType, rec: Record, flt: Any) -> bool:
        if not isinstance(flt, dict) or "propertyName" not in flt or "operator" not in flt:
            raise missing_json_fields("Filter", ["propertyName", "operator"])
        name, operator = str(flt["propertyName"]), str(flt["operator"])
        prop = ot.properties.get(name)
        actual = rec.properties.get(name) if name != "hs_object_id" else rec.id
        if operator == "HAS_PROPERTY":
            return bool(actual)
        if operator == "NOT_HAS_PROPERTY":
            return not actual
        values = [str(v) for v in (flt.get("values") or [])]
        if operator in ("IN", "NOT_IN"):
            inside = actual is not None and any(
                comparable(prop, actual) == comparable(prop, v) for v in values
            )
            return inside if operator == "IN" else not inside
        target = str(flt.get("value", ""))
        if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
            pattern = target.lower()
            text = (actual or "").lower()
            found = fnmatch.fnmatch(text, pattern) if "*" in pattern else pattern in text.split()
            return found if operator == "CONTAINS_TOKEN" else not found
        if operator == "NEQ":
            return actual is None or comparable(prop, actual) != comparable(prop, target)
        if actual is None:
            return False
        left, right = comparable(prop, actual), comparable(prop, target)
        try:
            if operator == "EQ":
                return bool(left == right)
            if operator == "LT":
                return bool(left < right)
            if operator == "LTE":
                return bool(left <= right)
            if operator == "GT":
                return bool(left > right)
            if operator == "GTE":
                return bool(left >= right)
            if operator == "BETWEEN":
                high = comparable(prop, str(flt.get("highValue", "")))
                return bool(right <= left <= high)
        except TypeError:
            return False
        raise validation_error(f"Unsupported filter operator: {operator}")

    @staticmethod
    def _matches_query(rec: Record, query: Any) -> bool:
        if not query:
            return True
        needle = str(query).lower()
        return any(needle in v.lower() for v in rec.properties.values())

    @staticmethod
    def _sorted(ot: ObjectType, records: list[Record], sorts: list[Any]) -> list[Record]:
        ordered = sorted(records, key=lambda r: int(r.id))
        for spec in reversed(sorts):
            if isinstance(spec, str):  # the spec types sorts as strings: "-name" / "name"
                name, descending = spec.lstrip("-"), spec.startswith("-")
            elif isinstance(spec, dict):
                name = str(spec.get("propertyName"))
                descending = str(spec.get("direction", "ASCENDING")).upper() == "DESCENDING"
            else:
                continue
            prop = ot.properties.get(name)

            def key(r: Record, name: str = name, prop: Any = prop) -> tuple[int, Any]:
                value = r.properties.get(name)
                return (0, comparable(prop, value)) if value else (1, "")

            ordered.sort(key=key, reverse=descending)
        return ordered

    # ---------------------------------------------------------- inline associations ---

    def _plan_associations(self, ot: ObjectType, write: _Write, raw: Any) -> None:
        """Validate ``associations`` of a create input; the target type is implied by the
        association type id (notes §4.3)."""
        if not raw:
            return
        if not isinstance(raw, list):
            raise validation_error("associations must be an array")
        for assoc in raw:
            to_id = str(((assoc or {}).get("to") or {}).get("id", ""))
            for spec in (assoc or {}).get("types") or []:
                definition = next(
                    (
                        d
                        for d in self.assoc_defs
                        if d.from_type_id == ot.type_id
                        and d.type_id == spec.get("associationTypeId")
                        and d.category == spec.get("associationCategory")
                    ),
                    None,
                )
                target = self.types.get(definition.to_type_id) if definition else None
                rec = target.records.get(to_id) if target else None
                if definition is None or rec is None or rec.archived:
                    raise validation_error(  # wording [ISSUE supaglue handleErr]
                        "one or more associations are not valid",
                        context={"toObjectId": [to_id]},
                    )
                write.associations.append(
                    (definition.to_type_id, to_id, definition.type_id, definition.category)
                )

    def copy_record(self, rec: Record) -> dict[str, Any]:
        return copy.deepcopy(
            {
                "id": rec.id,
                "properties": rec.properties,
                "createdAt": rec.created_at,
                "updatedAt": rec.updated_at,
                "archived": rec.archived,
            }
        )
