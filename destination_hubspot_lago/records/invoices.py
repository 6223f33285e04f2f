"""Lago invoice -> LagoInvoices record (docs/product.md §2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import values as v
from .base import InvalidRecord, MappingSettings, RecordUpsert, synced_identity

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


def invoice_customer_id(invoice: Mapping[str, Any]) -> str | None:
    """The Lago customer an invoice belongs to: its nested customer's, else its own field."""
    customer = invoice.get("customer")
    customer_id = v.text(customer.get("lago_id")) if isinstance(customer, Mapping) else None
    return customer_id or v.text(invoice.get("lago_customer_id"))


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
        "lago_invoice_payment_overdue": _overdue(invoice, status, due_date, settings),
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
    invoice: Mapping[str, Any], status: str, due_date: str | None, settings: MappingSettings
) -> str | None:
    """Lago's ``payment_overdue`` when present; else finalized, unpaid and past due."""
    given = v.boolean(invoice.get("payment_overdue"))
    if given is not None:
        return given
    paid = (v.text(invoice.get("payment_status")) or "").lower() == "succeeded"
    if status != "finalized" or paid or due_date is None:
        return "false"
    return "true" if due_date < settings.today.isoformat() else "false"


def payment_overdue(invoice: Mapping[str, Any], settings: MappingSettings) -> bool:
    """The §2 overdue rule for any invoice record. Raises ``InvalidValue`` on a bad date/flag."""
    status = (v.text(invoice.get("status")) or "").lower()
    due_date = v.utc_date(invoice.get("payment_due_date"), "payment_due_date")
    return _overdue(invoice, status, due_date, settings) == "true"
