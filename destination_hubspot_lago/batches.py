"""HubSpot's batch endpoints, with partial failures resolved down to the record.

Each call takes up to 100 inputs and answers an :class:`Outcome` that accounts for
every input: written (with its HubSpot id, created or updated) or rejected (with
HubSpot's category and message). How:

* 200 — results are matched to inputs by value (the id property we sent), never by
  position, since HubSpot does not promise to keep the order.
* 207, or a 2xx that leaves inputs unaccounted for — the missing inputs are sent again
  on their own, so each gets its own answer.
* 400/404/409 for the whole batch (one bad value or one unique-value conflict fails
  all 100) — the batch is split in halves until the offending inputs stand alone.
* A 2xx with neither results nor errors is an error, not a success.

In dry-run mode nothing is written: upserts are replaced by reads that tell which
inputs would be created and which updated.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .hubspot import HubSpotClient, HubSpotError
from .hubspot.errors import item_reason, rejection_reason

MAX_INPUTS = 100
# Whole-batch answers that can be caused by one input (a bad value, a unique-value clash).
RECORD_LEVEL_STATUSES = frozenset({400, 409})
DRY_RUN_ID_PREFIX = "dry-run:"


@dataclass(frozen=True)
class Item:
    """One input: ``key`` is how we know it (Lago id, or HubSpot id for updates by id)."""

    key: str
    properties: Mapping[str, str]


@dataclass(frozen=True)
class Written:
    key: str
    hubspot_id: str
    created: bool


@dataclass(frozen=True)
class Rejected:
    key: str
    category: str
    message: str


@dataclass
class Outcome:
    written: list[Written] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    def __add__(self, other: Outcome) -> Outcome:
        return Outcome(self.written + other.written, self.rejected + other.rejected)


Pair = tuple[str, str]  # (from HubSpot id, to HubSpot id)


@dataclass
class AssociationOutcome:
    made: list[Pair] = field(default_factory=list)
    failed: list[tuple[Pair, str]] = field(default_factory=list)  # (pair, reason)

    def __add__(self, other: AssociationOutcome) -> AssociationOutcome:
        return AssociationOutcome(self.made + other.made, self.failed + other.failed)


class BatchWriter:
    def __init__(self, client: HubSpotClient, dry_run: bool = False) -> None:
        self.client = client
        self.dry_run = dry_run

    # -- records --------------------------------------------------------------------

    def upsert(self, type_id: str, id_property: str, items: Sequence[Item]) -> Outcome:
        """Create or update by a unique property (``items[].key`` is its value)."""
        if not items:
            return Outcome()
        if self.dry_run:
            return self._plan_upsert(type_id, id_property, items)

        def send(batch: Sequence[Item]) -> Any:
            inputs = [
                {"idProperty": id_property, "id": it.key, "properties": it.properties}
                for it in batch
            ]
            return self.client.post(
                self.client.paths.objects(type_id, "batch/upsert"), {"inputs": inputs}
            )

        def key_of(result: Mapping[str, Any]) -> str | None:
            value = (result.get("properties") or {}).get(id_property)
            return str(value) if value is not None else None

        return self._resolve(items, send, key_of, lambda r: bool(r.get("new")))

    def update_by_id(self, type_id: str, items: Sequence[Item]) -> Outcome:
        """Update existing records by HubSpot id (``items[].key``); never creates."""
        if not items:
            return Outcome()
        if self.dry_run:
            found = self.read_ids(type_id, [it.key for it in items])
            return Outcome(
                written=[Written(it.key, it.key, False) for it in items if it.key in found],
                rejected=[
                    Rejected(it.key, "OBJECT_NOT_FOUND", f"no HubSpot record with id {it.key}")
                    for it in items
                    if it.key not in found
                ],
            )

        def send(batch: Sequence[Item]) -> Any:
            inputs = [{"id": it.key, "properties": it.properties} for it in batch]
            return self.client.post(
                self.client.paths.objects(type_id, "batch/update"), {"inputs": inputs}
            )

        return self._resolve(items, send, lambda r: str(r.get("id")), lambda r: False)

    def _resolve(
        self,
        items: Sequence[Item],
        send: Callable[[Sequence[Item]], Any],
        key_of: Callable[[Mapping[str, Any]], str | None],
        created: Callable[[Mapping[str, Any]], bool],
    ) -> Outcome:
        try:
            answer = send(items)
        except HubSpotError as error:
            if error.status not in RECORD_LEVEL_STATUSES or _is_model_level(error):
                raise
            if len(items) == 1:
                return Outcome(rejected=[_rejection(items[0].key, error)])
            middle = len(items) // 2
            return self._resolve(items[:middle], send, key_of, created) + self._resolve(
                items[middle:], send, key_of, created
            )
        results = list((answer or {}).get("results") or [])
        errors = list((answer or {}).get("errors") or [])
        if not results and not errors:
            raise HubSpotError(
                status=200,
                message="HubSpot answered a batch write with neither results nor errors",
                category="EMPTY_BATCH_RESPONSE",
            )
        by_key = {key_of(r): r for r in results}
        outcome = Outcome()
        missing: list[Item] = []
        for item in items:
            result = by_key.get(item.key)
            if result is None:
                missing.append(item)
            else:
                outcome.written.append(Written(item.key, str(result["id"]), created(result)))
        if not missing:
            return outcome
        if len(missing) == 1 and len(items) == 1:
            reason = errors[0] if errors else {"message": "HubSpot did not write this record"}
            outcome.rejected.append(
                Rejected(
                    missing[0].key, str(reason.get("category") or "ERROR"), item_reason(reason)
                )
            )
            return outcome
        # Errors in a 207 rarely say which input they belong to: ask again, one by one.
        for item in missing:
            outcome = outcome + self._resolve([item], send, key_of, created)
        return outcome

    def _plan_upsert(self, type_id: str, id_property: str, items: Sequence[Item]) -> Outcome:
        existing = self.read_by_property(type_id, id_property, [it.key for it in items], [])
        return Outcome(
            written=[
                Written(
                    it.key,
                    str(existing[it.key]["id"])
                    if it.key in existing
                    else DRY_RUN_ID_PREFIX + it.key,
                    it.key not in existing,
                )
                for it in items
            ]
        )

    # -- reads ----------------------------------------------------------------------

    def read_by_property(
        self, type_id: str, id_property: str, values: Sequence[str], properties: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """Existing records whose ``id_property`` is one of ``values``, keyed by that value."""
        found: dict[str, dict[str, Any]] = {}
        if type_id.startswith(DRY_RUN_ID_PREFIX):
            return found  # dry run: the object itself does not exist yet
        wanted = list(dict.fromkeys(values))
        for start in range(0, len(wanted), MAX_INPUTS):
            chunk = wanted[start : start + MAX_INPUTS]
            body = {
                "idProperty": id_property,
                "properties": sorted({id_property, *properties}),
                "propertiesWithHistory": [],
                "inputs": [{"id": value} for value in chunk],
            }
            try:
                answer = self.client.post(self.client.paths.objects(type_id, "batch/read"), body)
            except HubSpotError as error:
                if error.status == 404:  # none of them exists
                    continue
                if self.dry_run and error.status == 400 and _is_model_level(error):
                    return found  # dry run: the id property is not deployed yet
                raise
            for result in (answer or {}).get("results") or []:
                value = (result.get("properties") or {}).get(id_property)
                if value is not None:
                    found[str(value)] = result
        return found

    def read_ids(self, type_id: str, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        wanted = list(dict.fromkeys(ids))
        for start in range(0, len(wanted), MAX_INPUTS):
            chunk = wanted[start : start + MAX_INPUTS]
            body = {
                "properties": [],
                "propertiesWithHistory": [],
                "inputs": [{"id": i} for i in chunk],
            }
            try:
                answer = self.client.post(self.client.paths.objects(type_id, "batch/read"), body)
            except HubSpotError as error:
                if error.status == 404:
                    continue
                raise
            found.update(str(r.get("id")) for r in (answer or {}).get("results") or [])
        return found

    # -- associations ---------------------------------------------------------------

    def associate(
        self,
        from_type: str,
        to_type: str,
        pairs: Sequence[Pair],
        type_id: int | None = None,
    ) -> AssociationOutcome:
        """Associate each pair, idempotently.

        With ``type_id`` (the association type the deployment resolved for this pair of
        objects): a typed ``batch/create`` with that ``USER_DEFINED`` type, which does not
        depend on HubSpot having a default association for custom objects. Without it: the
        default (unlabeled) association.
        """
        pairs = list(dict.fromkeys(pairs))
        if self.dry_run or not pairs:
            return AssociationOutcome(made=pairs)
        paths = self.client.paths
        if type_id is None:
            path = paths.associations(from_type, to_type, "batch/associate/default")
            body: dict[str, Any] = {
                "inputs": [{"from": {"id": f}, "to": {"id": t}} for f, t in pairs]
            }
        else:
            path = paths.associations(from_type, to_type, "batch/create")
            types = [{"associationCategory": "USER_DEFINED", "associationTypeId": type_id}]
            body = {
                "inputs": [{"from": {"id": f}, "to": {"id": t}, "types": types} for f, t in pairs]
            }
        try:
            answer = self.client.post(path, body)
        except HubSpotError as error:
            if error.status not in RECORD_LEVEL_STATUSES:
                raise
            if len(pairs) == 1:
                return AssociationOutcome(failed=[(pairs[0], _reason(error))])
            middle = len(pairs) // 2
            return self.associate(from_type, to_type, pairs[:middle], type_id) + self.associate(
                from_type, to_type, pairs[middle:], type_id
            )
        results = (answer or {}).get("results") or []
        errors = (answer or {}).get("errors") or []
        if not results and not errors:
            raise HubSpotError(
                status=200,
                message="HubSpot answered a batch association with neither results nor errors",
                category="EMPTY_BATCH_RESPONSE",
            )
        made = {_pair_of(r) for r in results}
        outcome = AssociationOutcome(made=[p for p in pairs if p in made])
        reason = _message(errors[0]) if errors else "HubSpot did not make this association"
        outcome.failed = [(p, reason) for p in pairs if p not in made]
        return outcome


def _pair_of(result: Mapping[str, Any]) -> Pair:
    """(from id, to id) of a default (``from``/``to``) or typed (``fromObjectId``) result."""
    if "fromObjectId" in result:
        return str(result.get("fromObjectId")), str(result.get("toObjectId"))
    return str((result.get("from") or {}).get("id")), str((result.get("to") or {}).get("id"))


def _is_model_level(error: HubSpotError) -> bool:
    """Errors about the request's shape, not its records: splitting would not help.

    A property deleted after deployment fails every record the same way; bisecting it
    would cost two calls per record and reject them all.
    """
    text = error.message.lower()
    if "non-unique" in text:
        return True
    if "property_doesnt_exist" in text or "does not exist" in text and "property" in text:
        error.hint = (
            "A property this connector deployed is missing in HubSpot (deleted meanwhile?). "
            "Run the sync again: it redeploys the model before writing."
        )
        return True
    return False


def _rejection(key: str, error: HubSpotError) -> Rejected:
    return Rejected(key, error.category or f"HTTP_{error.status}", rejection_reason(error))


def _reason(error: HubSpotError) -> str:
    details = [e.get("message") for e in error.errors if e.get("message")]
    text = error.message
    if details and not any(str(d) in text for d in details):
        text += " (" + "; ".join(str(d) for d in details[:3]) + ")"
    return text[:1000]


def _message(error: Mapping[str, Any]) -> str:
    text = str(error.get("message") or json.dumps(error)[:300])
    return text[:1000]
