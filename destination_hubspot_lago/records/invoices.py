"""Lago invoice -> LagoInvoices record (docs/product.md §2)."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from ..airbyte.incoming import RecordData
from . import values as v
from .base import (
    InvalidRecord,
    MappingSettings,
    RecordUpsert,
    synced_identity,
    synced_identity_of,
)

SYNCED_STATUSES = frozenset({"finalized", "voided"})  # drafts and unfinished stay out

AMOUNT_FIELDS = {
    "lago_invoice_total_amount": "total_amount_cents",
    "lago_invoice_subtotal_excluding_taxes": "sub_total_excluding_taxes_amount_cents",
    "lago_invoice_total_due_amount": "total_due_amount_cents",
}


def map_invoice(invoice: Mapping[str, Any], settings: MappingSettings) -> RecordUpsert:
    lago_id, status = synced_identity(invoice, "invoice", SYNCED_STATUSES)
    try:
        return _map(invoice, lago_id, status, settings)
    except v.InvalidValue as exc:
        raise InvalidRecord(str(exc)) from None


class CustomerRef(msgspec.Struct):
    """An invoice's nested customer, of which only its id is read."""

    lago_id: Any = None


class InvoiceFields(msgspec.Struct):
    """The fields of an invoice that a sync reads of every invoice, changed or not: its
    customer, §6's roll-ups (``billing/aggregator.py``) and the fields ``input_checks`` watches
    (a test holds the two lists together). UNSET: the record has no such field (``given``).
    Read from an input line's text (``RecordData.view``), the rest of the invoice skipped;
    mapping an invoice reads all of it."""

    lago_id: Any = UNSET
    status: Any = UNSET
    customer: CustomerRef | Any = UNSET  # CustomerRef when read from text; else as it came
    lago_customer_id: Any = UNSET
    payment_status: Any = UNSET
    payment_overdue: Any = UNSET
    payment_due_date: Any = UNSET
    issuing_date: Any = UNSET
    currency: Any = UNSET
    total_amount_currency: Any = UNSET
    total_due_amount_cents: Any = UNSET
    total_amount_cents: Any = UNSET
    sub_total_excluding_taxes_amount_cents: Any = UNSET
    number: Any = UNSET
    invoice_type: Any = UNSET
    file_url: Any = UNSET


class _TextFields(InvoiceFields):
    customer: CustomerRef | None | UnsetType = UNSET  # a customer that is not an object: fails


_FROM_TEXT = msgspec.json.Decoder(_TextFields)
_WHOLE: msgspec.json.Decoder[dict[str, Any]] = msgspec.json.Decoder(dict[str, Any])
INVOICE_FIELD_NAMES = frozenset(InvoiceFields.__struct_fields__)


def invoice_fields(invoice: Mapping[str, Any]) -> InvoiceFields:
    """``InvoiceFields`` of an invoice: from a line's text without reading the rest, when it
    has the usual shape; else from the whole record (the same values)."""
    if type(invoice) is RecordData:
        try:
            fields: InvoiceFields = invoice.view(_FROM_TEXT)
            return fields
        except msgspec.ValidationError:  # e.g. a customer that is not an object
            invoice = invoice.view(_WHOLE)  # as the first reading took it (mapping may refuse)
    # in C, the other keys ignored; every field is Any, so no value is refused or changed
    converted: InvoiceFields = msgspec.convert(
        invoice if type(invoice) is dict else dict(invoice), InvoiceFields
    )
    return converted


def synced_invoice_identity(fields: InvoiceFields) -> tuple[str, str]:
    """``map_invoice``'s first check by the invoice's fields: (lago_id, status) of an invoice
    that belongs in the CRM; ``Skipped`` for a draft (so it is skipped before the rest of it
    is read), ``InvalidRecord`` without a lago_id."""
    lago_id, status = given(fields.lago_id), given(fields.status)
    return synced_identity_of(lago_id, status, "invoice", SYNCED_STATUSES)


def absent_fields(fields: InvoiceFields, names: Iterable[str]) -> list[str]:
    """Which of ``names`` (fields ``InvoiceFields`` declares) the invoice lacks, in the
    order of ``names``. Names given as a frozenset or tuple (``FieldWatch``'s, for every
    invoice) are read in one C call, which usually says "none"."""
    if not isinstance(names, (frozenset, tuple)) or len(names) < 2:
        return [name for name in names if getattr(fields, name) is UNSET]
    reader = _READERS.get(names)
    if reader is None:
        ordered = tuple(names)
        reader = _READERS[names] = (ordered, operator.attrgetter(*ordered))
    ordered, read = reader
    values = read(fields)
    if UNSET not in values:
        return []
    return [name for name, value in zip(ordered, values, strict=True) if value is UNSET]


# absent_fields' readers by the names they read: the names in order, and a getter of them
_READERS: dict[
    frozenset[str] | tuple[str, ...], tuple[tuple[str, ...], Callable[[InvoiceFields], Any]]
] = {}


def given(value: Any) -> Any:
    """A field of ``InvoiceFields`` as ``invoice.get`` would answer it (UNSET: None)."""
    return None if value is UNSET else value


def invoice_customer_id(invoice: Mapping[str, Any]) -> str | None:
    """The Lago customer an invoice belongs to: its nested customer's, else its own field."""
    if type(invoice) is RecordData:
        return customer_of(invoice_fields(invoice))
    return _nested_id(invoice.get("customer")) or v.text(invoice.get("lago_customer_id"))


def customer_of(fields: InvoiceFields) -> str | None:
    """``invoice_customer_id`` of the invoice these fields are of."""
    return _nested_id(fields.customer) or v.text(given(fields.lago_customer_id))


def _nested_id(customer: Any) -> str | None:
    return v.text(nested_lago_id(customer))


def nested_lago_id(customer: Any) -> Any:
    """The ``lago_id`` of an invoice's nested customer as it came (read from text: a
    ``CustomerRef``; read whole: a mapping), None when it has none."""
    if type(customer) is CustomerRef:
        return customer.lago_id
    return customer.get("lago_id") if isinstance(customer, Mapping) else None


def _map(
    invoice: Mapping[str, Any], lago_id: str, status: str, settings: MappingSettings
) -> RecordUpsert:
    customer_id = invoice_customer_id(invoice)
    currency = v.text(invoice.get("currency")) or v.text(invoice.get("total_amount_currency"))
    amounts = {prop: v.cents(invoice.get(field), field) for prop, field in AMOUNT_FIELDS.items()}
    exponent = v.minor_units(currency) if any(c is not None for c in amounts.values()) else 0
    due_date = v.utc_date(invoice.get("payment_due_date"), "payment_due_date")
    properties: dict[str, str | None] = {
        "lago_invoice_id": lago_id,
        "lago_invoice_number": v.text(invoice.get("number")),
        "lago_invoice_issuing_date": v.utc_date(invoice.get("issuing_date"), "issuing_date"),
        "lago_invoice_payment_due_date": due_date,
        "lago_invoice_payment_overdue": _overdue(
            invoice.get("payment_overdue"),
            invoice.get("payment_status"),
            status,
            due_date,
            settings,
        ),
        "lago_invoice_type": v.text(invoice.get("invoice_type")),
        "lago_invoice_status": status,
        "lago_invoice_payment_status": v.text(invoice.get("payment_status")),
        "lago_invoice_currency": currency.upper() if currency else None,
        "lago_invoice_file_url": v.text(invoice.get("file_url")),
        "lago_invoice_purchase_order_number": v.text(invoice.get("purchase_order_number")),
        "lago_customer_id": customer_id,
        **{prop: v.amount(c, exponent) for prop, c in amounts.items()},
    }
    if customer_id:
        properties["lago_invoice_url"] = v.lago_link(
            settings.lago_front_url,
            settings.lago_organization_slug,
            "customer",
            customer_id,
            "invoice",
            lago_id,
            "overview",
        )
    return RecordUpsert(lago_id, "invoices", v.compact(properties), customer_id)


def _overdue(
    lago_flag: Any,
    payment_status: Any,
    status: str,
    due_date: str | None,
    settings: MappingSettings,
) -> str | None:
    """Lago's ``payment_overdue`` when present; else finalized, unpaid and past due."""
    flag = v.boolean(lago_flag)
    if flag is not None:
        return flag
    paid = (v.text(payment_status) or "").lower() == "succeeded"
    if status != "finalized" or paid or due_date is None:
        return "false"
    return "true" if due_date < settings.today.isoformat() else "false"


def payment_overdue(invoice: InvoiceFields, settings: MappingSettings) -> bool:
    """The §2 overdue rule for any invoice record. Raises ``InvalidValue`` on a bad date/flag."""
    status = (v.text(given(invoice.status)) or "").lower()
    due_date = v.utc_date(given(invoice.payment_due_date), "payment_due_date")
    flag, payment_status = given(invoice.payment_overdue), given(invoice.payment_status)
    return _overdue(flag, payment_status, status, due_date, settings) == "true"
