"""The fields an unchanged invoice is read by (``InvoiceFields``, docs/product.md §10): read
from its line's text, the rest skipped, they are what the whole record holds, for every shape
an invoice comes in; and they cover every invoice field the input checks watch."""

from __future__ import annotations

import json
from datetime import date

import pytest

from destination_hubspot_lago.airbyte.incoming import RecordData, parse_lines
from destination_hubspot_lago.records.base import MappingSettings
from destination_hubspot_lago.records.invoices import (
    INVOICE_FIELD_NAMES,
    InvoiceFields,
    absent_fields,
    customer_of,
    given,
    invoice_customer_id,
    invoice_fields,
    map_invoice,
    payment_overdue,
    synced_invoice_identity,
)
from destination_hubspot_lago.sync.input_checks import WATCHED

FULL = {
    "lago_id": "i1",
    "number": "N-1",
    "status": "finalized",
    "payment_status": "pending",
    "payment_overdue": None,
    "payment_due_date": "2026-12-01",
    "issuing_date": "2026-11-01T10:00:00Z",
    "currency": "eur",
    "total_due_amount_cents": 1200,
    "total_amount_cents": 1500,
    "sub_total_excluding_taxes_amount_cents": 1250,
    "invoice_type": "subscription",
    "file_url": "https://example.com/i1.pdf",
    "customer": {"lago_id": "c1", "name": "Acme", "metadata": [{"key": "k"}]},
    "fees": [{"lago_id": "f1", "amount_cents": 100}],  # not declared: skipped
}
SHAPES = [
    FULL,
    {**FULL, "customer": None, "lago_customer_id": "c2"},
    {**FULL, "customer": "c3"},  # not an object: read whole instead
    {**FULL, "customer": ["c4"], "lago_customer_id": 7},
    {**FULL, "customer": {"name": "no id"}, "lago_customer_id": " c5 "},
    {**FULL, "customer": {"lago_id": 42}},
    {**FULL, "payment_overdue": True, "total_due_amount_cents": "12"},
    {"lago_id": "bare"},
    {},
    {k: v for k, v in FULL.items() if k not in ("customer", "status", "currency")},
    {**FULL, "status": " Draft "},
    {**FULL, "status": "voided", "lago_id": 17},
    {**FULL, "lago_id": "  "},
]
SETTINGS = MappingSettings(today=date(2026, 12, 7))


def from_text(invoice: dict) -> RecordData:
    line = json.dumps({"type": "RECORD", "record": {"stream": "invoices", "data": invoice}})
    (message,) = parse_lines([line.encode()])
    assert message.record is not None and type(message.record.data) is RecordData
    return message.record.data


@pytest.mark.parametrize("invoice", SHAPES)
def test_read_from_text_they_are_what_the_whole_record_holds(invoice):
    text, whole = invoice_fields(from_text(invoice)), invoice_fields(invoice)
    assert isinstance(text, InvoiceFields)
    for name in INVOICE_FIELD_NAMES - {"customer"}:
        assert given(getattr(text, name)) == invoice.get(name), name
        assert given(getattr(whole, name)) == invoice.get(name), name
    assert customer_of(text) == customer_of(whole) == invoice_customer_id(invoice)
    assert invoice_customer_id(from_text(invoice)) == invoice_customer_id(invoice)
    names = sorted(INVOICE_FIELD_NAMES)
    assert absent_fields(text, names) == absent_fields(whole, names)
    assert absent_fields(text, names) == [n for n in names if n not in invoice]
    for kept in (frozenset(names), tuple(names), frozenset(names) - {"lago_id"}):
        # as FieldWatch asks (a frozenset, read in one call): the same names, in its order
        assert absent_fields(text, kept) == [n for n in kept if n not in invoice]
        assert absent_fields(whole, kept) == absent_fields(text, kept)
    assert payment_overdue(text, SETTINGS) == payment_overdue(whole, SETTINGS)


@pytest.mark.parametrize("invoice", SHAPES)
def test_its_fields_skip_or_refuse_an_invoice_as_its_mapping_does(invoice):
    """A draft is skipped by its fields before the rest of it is read (``InvoiceSink.map``):
    the same outcome, and the same message, as mapping the whole invoice."""

    def outcome(check):
        try:
            check()
        except Exception as error:  # Skipped, InvalidRecord
            return type(error).__name__, str(error)
        return "mapped"

    mapped = outcome(lambda: map_invoice(invoice, SETTINGS))
    by_fields = outcome(lambda: synced_invoice_identity(invoice_fields(from_text(invoice))))
    if by_fields == "mapped":  # it belongs in the CRM: mapping may still refuse a value
        assert mapped == "mapped" or mapped[0] == "InvalidRecord"
    else:
        assert by_fields == mapped


def test_the_rest_of_the_record_is_not_read():
    data = from_text(FULL)
    assert customer_of(invoice_fields(data)) == "c1"
    assert data._whole is None
    assert data == FULL  # used as a mapping, it is all of it


def test_they_cover_every_invoice_field_the_input_checks_watch():
    assert WATCHED["invoices"] <= INVOICE_FIELD_NAMES
