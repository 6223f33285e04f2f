"""HubSpot's batch endpoints, with partial failures resolved down to the record.

Two writers share one interface, :class:`Writer`: :class:`BatchWriter` writes,
:class:`DryRunWriter` (dry run) only reads and answers a plan. Objects are named by their
key (``companies``, ``invoices`` …); the writer knows their ``objectTypeId``.

Each write takes up to 100 inputs and answers an :class:`Outcome` that accounts for
every input: written (with its HubSpot id, created or updated) or rejected (with
HubSpot's error). How:

* 200 — results are matched to inputs by value (the id property we sent), never by
  position, since HubSpot does not promise to keep the order.
* 207, or a 2xx that leaves inputs unaccounted for — the missing inputs are sent again
  on their own, so each gets its own answer.
* 400/409 for the whole batch (one bad value or one unique-value conflict fails all
  100) — the batch is split in halves until the offending inputs stand alone, unless
  the error is about the request's shape (``errors.as_model_problem``) — then it stops
  the write, and so does such an error among a 207's (or a 200's) ``errors[]``: a
  property deleted after deployment fails every record alike, per record too.
* A 2xx with neither results nor errors is an error, not a success.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, Self, TypeVar

from . import HubSpotClient, HubSpotError
from .errors import as_model_problem, refusal_reason

MAX_INPUTS = 100
# Whole-batch answers that can be caused by one input (a bad value, a unique-value clash).
RECORD_LEVEL_STATUSES = frozenset({400, 409})


@dataclass(frozen=True)
class Item:
    """One input: ``key`` is how we know it (Lago id, or HubSpot id for updates by id)."""

    key: str
    properties: Mapping[str, str]


@dataclass(frozen=True)
class Written:
    key: str
    hubspot_id: str | None  # None only in a plan: a record that would be created has no id
    created: bool


@dataclass(frozen=True)
class Rejected:
    key: str
    category: str
    message: str
    error: HubSpotError | None = None  # HubSpot's answer, when HubSpot refused it


@dataclass
class Outcome:
    written: list[Written] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    def __add__(self, other: Outcome) -> Outcome:
        return Outcome(self.written + other.written, self.rejected + other.rejected)


Pair = tuple[str | None, str | None]  # (from HubSpot id, to HubSpot id)


@dataclass
class AssociationOutcome:
    made: list[Pair] = field(default_factory=list)
    failed: list[tuple[Pair, str]] = field(default_factory=list)  # (pair, reason)

    def __add__(self, other: AssociationOutcome) -> AssociationOutcome:
        return AssociationOutcome(self.made + other.made, self.failed + other.failed)


@dataclass
class AssociatedPage:
    """One page of associations per input of an association read."""

    # from HubSpot id -> the HubSpot ids of the records it is associated with, on this page
    linked: dict[str, list[str]] = field(default_factory=dict)
    # (from HubSpot id, paging cursor) of the inputs with more pages: read them with it
    more: list[tuple[str, str]] = field(default_factory=list)


class Writer(Protocol):
    """What the pipeline needs of HubSpot. Stateless: safe on any worker thread."""

    # True for the dry run's writer: it reads, and answers what it would write. A caller
    # words its summary by it; it never decides by it whether to write (the writer does).
    dry_run: bool

    def upsert(self, obj: str, id_property: str, items: Sequence[Item]) -> Outcome:
        """Create or update by a unique property (``items[].key`` is its value)."""
        ...

    def update_by_id(self, obj: str, items: Sequence[Item]) -> Outcome:
        """Update existing records by HubSpot id (``items[].key``); never creates."""
        ...

    def read(
        self,
        obj: str,
        values: Sequence[str],
        id_property: str | None = None,
        properties: Sequence[str] = (),
    ) -> dict[str, dict[str, Any]]:
        """Existing records whose ``id_property`` (else HubSpot id) is one of ``values``,
        keyed by that value."""
        ...

    def associate(
        self, from_obj: str, to_obj: str, pairs: Sequence[Pair], type_id: int | None = None
    ) -> AssociationOutcome:
        """Associate each pair, idempotently: typed (``USER_DEFINED`` ``type_id``, the one the
        deployment resolved) when given, else HubSpot's default association."""
        ...

    def deployed(self, obj: str) -> bool:
        """Whether the object exists in HubSpot (a dry run's first sync may lack it)."""
        ...

    def read_associations(
        self, from_obj: str, to_obj: str, inputs: Sequence[tuple[str, str | None]]
    ) -> AssociatedPage:
        """One page of the ``to_obj`` records each input is associated with; an input is
        (HubSpot id of a ``from_obj`` record, the cursor of its next page, None for its
        first). A record without associations reads as none."""
        ...


class BatchWriter:
    dry_run = False

    def __init__(self, client: HubSpotClient, type_ids: Mapping[str, str | None]) -> None:
        self.client = client
        self.type_ids = type_ids

    def deployed(self, obj: str) -> bool:
        return self.type_ids.get(obj) is not None

    def _type(self, obj: str) -> str:
        type_id = self.type_ids.get(obj)
        if type_id is None:
            raise KeyError(f"HubSpot object {obj} is not deployed")
        return type_id

    # -- records --------------------------------------------------------------------

    def upsert(self, obj: str, id_property: str, items: Sequence[Item]) -> Outcome:
        type_id = self._type(obj)

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

        return self._write(items, send, key_of, lambda r: bool(r.get("new")))

    def update_by_id(self, obj: str, items: Sequence[Item]) -> Outcome:
        type_id = self._type(obj)

        def send(batch: Sequence[Item]) -> Any:
            inputs = [{"id": it.key, "properties": it.properties} for it in batch]
            return self.client.post(
                self.client.paths.objects(type_id, "batch/update"), {"inputs": inputs}
            )

        return self._write(items, send, lambda r: str(r.get("id")), lambda r: False)

    def _write(
        self,
        items: Sequence[Item],
        send: Callable[[Sequence[Item]], Any],
        key_of: Callable[[Mapping[str, Any]], str | None],
        created: Callable[[Mapping[str, Any]], bool],
    ) -> Outcome:
        def attempt(batch: Sequence[Item]) -> Outcome:
            results, errors = _results_and_errors(send(batch), "write")
            for item in errors:  # asking one by one would only repeat it for every record
                problem = as_model_problem(HubSpotError.from_body(207, item))
                if problem is not None:
                    raise problem
            by_key = {key_of(r): r for r in results}
            outcome = Outcome()
            missing: list[Item] = []
            for item in batch:
                result = by_key.get(item.key)
                if result is None:
                    missing.append(item)
                else:
                    outcome.written.append(Written(item.key, str(result["id"]), created(result)))
            if not missing:
                return outcome
            if len(batch) == 1:
                error = HubSpotError.from_body(
                    207, errors[0] if errors else {"message": "HubSpot did not write this record"}
                )
                return outcome + Outcome(rejected=[_rejection(batch[0].key, error)])
            # Errors in a 207 rarely say which input they belong to: ask again, one by one.
            for item in missing:
                outcome = outcome + _split_on_refusal([item], attempt, _refused_item)
            return outcome

        if not items:
            return Outcome()
        return _split_on_refusal(items, attempt, _refused_item)

    # -- reads ----------------------------------------------------------------------

    def read(
        self,
        obj: str,
        values: Sequence[str],
        id_property: str | None = None,
        properties: Sequence[str] = (),
    ) -> dict[str, dict[str, Any]]:
        type_id = self._type(obj)
        found: dict[str, dict[str, Any]] = {}
        wanted = list(dict.fromkeys(values))
        base: dict[str, Any] = {"properties": sorted(set(properties)), "propertiesWithHistory": []}
        if id_property is not None:
            base = {"idProperty": id_property, **base}
            base["properties"] = sorted({id_property, *properties})
        for start in range(0, len(wanted), MAX_INPUTS):
            body = {**base, "inputs": [{"id": v} for v in wanted[start : start + MAX_INPUTS]]}
            try:
                answer = self.client.post(self.client.paths.objects(type_id, "batch/read"), body)
            except HubSpotError as error:
                if error.status == 404:  # none of them exists
                    continue
                raise
            for result in (answer or {}).get("results") or []:
                if id_property is None:
                    found[str(result.get("id"))] = result
                    continue
                value = (result.get("properties") or {}).get(id_property)
                if value is not None:
                    found[str(value)] = result
        return found

    def read_associations(
        self, from_obj: str, to_obj: str, inputs: Sequence[tuple[str, str | None]]
    ) -> AssociatedPage:
        """The v4 ``batch/read`` (strongly consistent), ≤ 100 inputs per call. HubSpot answers
        404 when no input has an association, and lists an input without any in ``errors``:
        both read as none."""
        from_type, to_type = self._type(from_obj), self._type(to_obj)
        path = self.client.paths.associations(from_type, to_type, "batch/read")
        page = AssociatedPage()
        wanted = list(dict.fromkeys(inputs))
        for start in range(0, len(wanted), MAX_INPUTS):
            body = {
                "inputs": [
                    {"id": i, **({"after": after} if after else {})}
                    for i, after in wanted[start : start + MAX_INPUTS]
                ]
            }
            try:
                answer = self.client.post(path, body)
            except HubSpotError as error:
                if error.status == 404:  # none of them has an association
                    continue
                raise
            for result in (answer or {}).get("results") or []:
                from_id = str((result.get("from") or {}).get("id") or "")
                if not from_id:
                    continue
                targets = page.linked.setdefault(from_id, [])
                targets += [
                    str(to["toObjectId"])
                    for to in result.get("to") or []
                    if isinstance(to, dict) and to.get("toObjectId") is not None
                ]
                after = ((result.get("paging") or {}).get("next") or {}).get("after")
                if after:
                    page.more.append((from_id, str(after)))
        return page

    # -- associations ---------------------------------------------------------------

    def associate(
        self, from_obj: str, to_obj: str, pairs: Sequence[Pair], type_id: int | None = None
    ) -> AssociationOutcome:
        """With ``type_id``: a typed ``batch/create`` (``USER_DEFINED``), which does not depend
        on HubSpot making default associations for custom objects (unverified); else the
        default association. Both are idempotent."""
        pairs = list(dict.fromkeys(pairs))
        if not pairs:
            return AssociationOutcome()
        from_type, to_type = self._type(from_obj), self._type(to_obj)
        paths = self.client.paths
        if type_id is None:
            path = paths.associations(from_type, to_type, "batch/associate/default")
            types: list[dict[str, Any]] = []
        else:
            path = paths.associations(from_type, to_type, "batch/create")
            types = [{"associationCategory": "USER_DEFINED", "associationTypeId": type_id}]

        def attempt(batch: Sequence[Pair]) -> AssociationOutcome:
            inputs: list[dict[str, Any]] = [{"from": {"id": f}, "to": {"id": t}} for f, t in batch]
            if types:
                inputs = [{**pair, "types": types} for pair in inputs]
            answer = self.client.post(path, {"inputs": inputs})
            results, errors = _results_and_errors(answer, "association")
            made = {_pair_of(r) for r in results}
            reason = (
                refusal_reason(HubSpotError.from_body(207, errors[0]))
                if errors
                else "HubSpot did not make this association"
            )
            return AssociationOutcome(
                made=[p for p in batch if p in made],
                failed=[(p, reason) for p in batch if p not in made],
            )

        def refused(pair: Pair, error: HubSpotError) -> AssociationOutcome:
            return AssociationOutcome(failed=[(pair, refusal_reason(error))])

        return _split_on_refusal(pairs, attempt, refused)


class DryRunWriter:
    """The dry run's writer: reads what exists, writes nothing, and answers the plan.

    A record that would be created is :class:`Written` with ``hubspot_id`` None; an object
    or id property the model has not deployed yet reads as empty."""

    dry_run = True

    def __init__(self, reader: BatchWriter) -> None:
        self.reader = reader

    def read(
        self,
        obj: str,
        values: Sequence[str],
        id_property: str | None = None,
        properties: Sequence[str] = (),
    ) -> dict[str, dict[str, Any]]:
        if not self.reader.deployed(obj):
            return {}  # the object itself would be created by the deployment
        try:
            return self.reader.read(obj, values, id_property, properties)
        except HubSpotError as error:
            if error.status == 400 and as_model_problem(error) is not None:
                return {}  # the id property would be created by the deployment
            raise

    def upsert(self, obj: str, id_property: str, items: Sequence[Item]) -> Outcome:
        existing = self.read(obj, [it.key for it in items], id_property)
        return Outcome(
            written=[
                Written(it.key, _id_of(existing.get(it.key)), it.key not in existing)
                for it in items
            ]
        )

    def update_by_id(self, obj: str, items: Sequence[Item]) -> Outcome:
        found = self.read(obj, [it.key for it in items])
        outcome = Outcome(
            written=[Written(it.key, it.key, False) for it in items if it.key in found]
        )
        for it in items:
            if it.key not in found:
                message = f"no HubSpot record with id {it.key}"
                error = HubSpotError(status=404, message=message, category="OBJECT_NOT_FOUND")
                outcome.rejected.append(_rejection(it.key, error))
        return outcome

    def associate(
        self, from_obj: str, to_obj: str, pairs: Sequence[Pair], type_id: int | None = None
    ) -> AssociationOutcome:
        return AssociationOutcome(made=list(pairs))

    def deployed(self, obj: str) -> bool:
        return self.reader.deployed(obj)

    def read_associations(
        self, from_obj: str, to_obj: str, inputs: Sequence[tuple[str, str | None]]
    ) -> AssociatedPage:
        if not (self.reader.deployed(from_obj) and self.reader.deployed(to_obj)):
            return AssociatedPage()  # an object the deployment would create has no records
        return self.reader.read_associations(from_obj, to_obj, inputs)


# -- one batch, answered -------------------------------------------------------------

T = TypeVar("T")


class _Summable(Protocol):
    def __add__(self, other: Self) -> Self: ...


Summed = TypeVar("Summed", bound=_Summable)


def _split_on_refusal(
    inputs: Sequence[T],
    attempt: Callable[[Sequence[T]], Summed],
    refused: Callable[[T, HubSpotError], Summed],
) -> Summed:
    """Send ``inputs``; when HubSpot refuses the whole batch for what one input may cause,
    split it in halves until the offending inputs stand alone (then ``refused``)."""
    try:
        return attempt(inputs)
    except HubSpotError as error:
        if error.status not in RECORD_LEVEL_STATUSES:
            raise
        problem = as_model_problem(error)
        if problem is not None:
            raise problem from None
        if len(inputs) == 1:
            return refused(inputs[0], error)
    middle = len(inputs) // 2
    return _split_on_refusal(inputs[:middle], attempt, refused) + _split_on_refusal(
        inputs[middle:], attempt, refused
    )


def _results_and_errors(answer: Any, what: str) -> tuple[list[Any], list[Any]]:
    results = list((answer or {}).get("results") or [])
    errors = list((answer or {}).get("errors") or [])
    if not results and not errors:
        raise HubSpotError(
            status=200,
            message=f"HubSpot answered a batch {what} with neither results nor errors",
            category="EMPTY_BATCH_RESPONSE",
        )
    return results, errors


def _refused_item(item: Item, error: HubSpotError) -> Outcome:
    return Outcome(rejected=[_rejection(item.key, error)])


def _rejection(key: str, error: HubSpotError) -> Rejected:
    return Rejected(key, error.category or f"HTTP_{error.status}", refusal_reason(error), error)


def _pair_of(result: Mapping[str, Any]) -> Pair:
    """(from id, to id) of a default (``from``/``to``) or typed (``fromObjectId``) result."""
    if "fromObjectId" in result:
        return str(result.get("fromObjectId")), str(result.get("toObjectId"))
    return str((result.get("from") or {}).get("id")), str((result.get("to") or {}).get("id"))


def _id_of(record: Mapping[str, Any] | None) -> str | None:
    return str(record["id"]) if record is not None else None
