"""Warnings about the input itself: fields the mapping relies on that never arrived, and sync
modes that mean something else here. Pure: no I/O, no logging; the caller logs the texts.

Lago's API always sends every field of its objects (``null`` when empty), so a field that is
absent *as a key* was dropped on the way: a source whose declared schema lacks it (as
``source-getlago``'s lacks ``customer_type`` or ``payment_overdue``), or a tool in between that
rebuilds records from that schema (PyAirbyte's cache does). Without the field the mapping falls
back to something else, silently; these warnings say which fields and what follows.

Airbyte's declarative sources (``source-getlago`` among them) leave out fields whose value is
null, so a field absent from *some* records is a null, not a loss: only a field absent from
every record of a stream is named, and not when the stream's schema in the configured catalog
declares it (a declared field is dropped only when null; a cache drops undeclared ones).

Use::

    watch = FieldWatch(default_targeted_object="companies")
    for each record:  watch.observe("customers", record.data)   # one subset test per record
    at the end:       for text in watch.warnings(): logger.warning(text)
    and once:         for text in sync_mode_warnings(catalog): logger.warning(text)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airbyte_protocol_dataclasses.models import ConfiguredAirbyteCatalog

from ..airbyte.incoming import RecordData
from ..records.invoices import absent_fields, invoice_fields
from ..records.streams import INVOICES, stream_kind

# Per stream kind: each top-level field the mapping (destination_hubspot_lago/mapping/) reads
# and what the sync does without it. Fields read only as a fallback of another (an invoice's
# ``lago_customer_id`` beside ``customer``, ``total_amount_currency`` beside ``currency``) are
# not listed: their absence changes nothing. Nor is ``purchase_order_number``: not every Lago
# version sends it.
RELIED_ON: dict[str, dict[str, str]] = {
    "customers": {
        "lago_id": "the record is rejected (it is the upsert key)",
        "integration_customers": (
            "customers linked to HubSpot records in Lago will be written as new records, and "
            "the targeted object set in Lago is ignored"
        ),
        "customer_type": (
            "individuals are no longer sent to Contacts: default_targeted_object decides"
        ),
        "firstname": "contacts get their first name from splitting name",
        "lastname": "contacts get their last name from splitting name",
        "external_id": "lago_customer_external_id is not written",
        "name": "companies are written without a name",
        "legal_name": "contacts are written without company",
        "email": "contacts cannot be matched by email, and lago_billing_email is not written",
        "url": "companies are written without domain",
        "phone": "phone is not written",
        "address_line1": "address is not written",
        "address_line2": "address2 is not written",
        "city": "city is not written",
        "state": "state is not written",
        "zipcode": "zip is not written",
        "country": "country is not written",
        "tax_identification_number": "lago_tax_identification_number is not written",
    },
    "subscriptions": {
        "lago_id": "the record is rejected (it is the upsert key)",
        "status": "the record is skipped (only active and terminated subscriptions are written)",
        "lago_customer_id": "the subscription is not associated with its customer",
        "external_id": "lago_external_subscription_id is not written",
        "name": "lago_subscription_name is not written",
        "plan_code": "lago_subscription_plan_code is not written",
        "billing_time": "lago_billing_time is not written",
        "created_at": "lago_subscription_created_at is not written",
        "started_at": "lago_subscription_started_at is not written",
        "ending_at": "lago_subscription_ending_at is not written",
        "subscription_at": "lago_subscription_at is not written",
        "terminated_at": "lago_subscription_terminated_at is not written",
        "trial_ended_at": "lago_subscription_trial_ended_at is not written",
    },
    "invoices": {
        "lago_id": "the record is rejected (it is the upsert key)",
        "status": "the record is skipped (only finalized and voided invoices are written)",
        "customer": "the invoice is not associated with its customer (unless lago_customer_id)",
        "payment_overdue": (
            "lago_invoice_payment_overdue is computed (finalized, unpaid and past due) instead "
            "of Lago's own value, and may contradict Lago"
        ),
        "total_due_amount_cents": "lago_invoice_total_due_amount is not written",
        "total_amount_cents": "lago_invoice_total_amount is not written",
        "sub_total_excluding_taxes_amount_cents": (
            "lago_invoice_subtotal_excluding_taxes is not written"
        ),
        "currency": "amounts cannot be converted (unless total_amount_currency)",
        "number": "lago_invoice_number is not written",
        "issuing_date": "lago_invoice_issuing_date is not written",
        "payment_due_date": "lago_invoice_payment_due_date is not written, nor can overdue be",
        "invoice_type": "lago_invoice_type is not written",
        "payment_status": "lago_invoice_payment_status is not written",
        "file_url": "lago_invoice_file_url is not written",
    },
}
WATCHED: dict[str, frozenset[str]] = {kind: frozenset(f) for kind, f in RELIED_ON.items()}
CUSTOMER_TYPES = frozenset({"company", "individual"})
KNOWN_SYNC_MODES = frozenset({"append", "append_dedup"})


@dataclass
class _Seen:
    records: int = 0
    missing: dict[str, int] = field(default_factory=dict)


class FieldWatch:
    """Counts, per stream kind, the records lacking each field the mapping relies on.

    ``observe`` is cheap on the usual path (a complete record): one ``frozenset <= keys``
    test. Call it from one thread (the pipeline's main loop).
    """

    def __init__(
        self,
        default_targeted_object: str = "companies",
        declared: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        """``declared``: per stream kind, the fields the catalog's schema declares (a kind
        whose schema lists no properties is left out)."""
        self.default_targeted_object = default_targeted_object
        self.declared = dict(declared or {})
        self._seen: dict[str, _Seen] = {}
        self._customers_by_default = 0  # neither a HubSpot link nor a customer_type decided

    def observe(self, kind: str, data: Mapping[str, Any]) -> None:
        watched = WATCHED.get(kind)
        if watched is None:
            return
        seen = self._seen.get(kind)
        if seen is None:
            seen = self._seen[kind] = _Seen()
        seen.records += 1
        if type(data) is RecordData and kind == INVOICES:  # its fields, the rest not read
            lacking: Iterable[str] = absent_fields(invoice_fields(data), watched)
            if not lacking:
                return
        else:
            keys = data.keys()
            if watched <= keys:
                return
            lacking = watched - keys
        for name in lacking:
            seen.missing[name] = seen.missing.get(name, 0) + 1
        if (
            kind == "customers"
            and "integration_customers" not in data
            and str(data.get("customer_type") or "").lower() not in CUSTOMER_TYPES
        ):
            self._customers_by_default += 1

    def missing(self, kind: str) -> dict[str, int]:
        """Field -> number of records of ``kind`` that lacked it."""
        seen = self._seen.get(kind)
        return dict(seen.missing) if seen else {}

    def lost(self, kind: str) -> dict[str, int]:
        """The fields of ``kind`` the way in dropped: absent from every record, undeclared."""
        seen = self._seen.get(kind)
        if seen is None:
            return {}
        declared = self.declared.get(kind, frozenset())
        return {
            name: count
            for name, count in seen.missing.items()
            if count == seen.records and name not in declared
        }

    def warnings(self) -> list[str]:
        """One text per stream kind that lost fields (the prominent one first)."""
        texts = []
        customers = self._seen.get("customers")
        if (
            customers is not None
            and "integration_customers" in self.lost("customers")
            and self._customers_by_default == customers.records
        ):
            texts.append(
                f"No customer of this sync carries integration_customers or a customer_type, "
                f"so default_targeted_object ({self.default_targeted_object}) decided where "
                f"every one of the {customers.records} customers went, and customers linked "
                f"to HubSpot records in Lago were written as new records. The source or a tool "
                f"in between dropped these fields (PyAirbyte's cache keeps only the fields the "
                f"source declares): send the source's records unchanged."
            )
        for kind in RELIED_ON:
            seen = self._seen.get(kind)
            lost = self.lost(kind)
            if seen is None or not lost:
                continue
            parts = [
                f"{name} (absent from every record: {RELIED_ON[kind][name]})"
                for name in RELIED_ON[kind]  # in the mapping's order, not the set's
                if name in lost
            ]
            texts.append(
                f"{seen.records} {kind} records arrived without field(s) the mapping relies "
                f"on, so the source or a tool in between dropped them: " + "; ".join(parts) + "."
            )
        return texts


def sync_mode_warnings(catalog: Any) -> list[str]:
    """A warning per configured stream whose ``destination_sync_mode`` is not an upsert here.

    ``catalog`` is a ConfiguredAirbyteCatalog or its JSON (a mapping with ``streams``)."""
    texts = []
    for name, mode in _stream_modes(catalog):
        if mode in KNOWN_SYNC_MODES:
            continue
        if mode == "overwrite":
            texts.append(
                f"Stream {name}: destination_sync_mode overwrite is treated as an upsert "
                f"(append_dedup): nothing in HubSpot is deleted or emptied first, and records "
                f"missing from this sync stay in HubSpot."
            )
        else:
            texts.append(
                f"Stream {name}: destination_sync_mode {mode or '(none)'} is not a mode this "
                f"destination knows; it is treated as an upsert (append_dedup) and nothing in "
                f"HubSpot is deleted."
            )
    return texts


def _stream_modes(catalog: Any) -> Iterable[tuple[str, str]]:
    streams = catalog.get("streams", []) if isinstance(catalog, Mapping) else catalog.streams
    for entry in streams or []:
        if isinstance(entry, Mapping):
            name = str((entry.get("stream") or {}).get("name", "?"))
            mode: Any = entry.get("destination_sync_mode")
        else:
            name, mode = entry.stream.name, entry.destination_sync_mode
        yield name, str(getattr(mode, "value", mode) or "")


def declared_fields(catalog: ConfiguredAirbyteCatalog | None) -> dict[str, frozenset[str]]:
    """Per stream kind, the fields its schema in the catalog declares (when it lists any)."""
    declared: dict[str, frozenset[str]] = {}
    for configured in catalog.streams if catalog else []:
        kind = stream_kind(configured.stream.name)
        properties = (configured.stream.json_schema or {}).get("properties")
        if kind is not None and isinstance(properties, dict) and properties:
            declared[kind] = declared.get(kind, frozenset()) | frozenset(properties)
    return declared
