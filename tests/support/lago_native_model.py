"""The model Lago's own HubSpot integration deploys (its exact payloads), for adoption tests."""

from __future__ import annotations

from typing import Any


def _p(
    name: str, label: str, type_: str = "string", field_type: str = "text", **extra: Any
) -> dict:
    return {"name": name, "label": label, "type": type_, "fieldType": field_type, **extra}


LAGO_SUBSCRIPTIONS_V1 = {
    "secondaryDisplayProperties": ["lago_external_subscription_id"],
    "requiredProperties": ["lago_subscription_id"],
    "searchableProperties": ["lago_subscription_id", "lago_external_subscription_id"],
    "name": "LagoSubscriptions",
    "associatedObjects": ["COMPANY", "CONTACT"],
    "properties": [
        _p("lago_subscription_id", "Lago Subscription Id", hasUniqueValue=True),
        _p("lago_external_subscription_id", "Lago External Subscription Id"),
        _p("lago_subscription_name", "Lago Subscription Name"),
        _p("lago_subscription_plan_code", "Lago Subscription Plan Code"),
        _p("lago_subscription_status", "Lago Subscription Status"),
        _p("lago_subscription_created_at", "Lago Subscription Created At", "date", "date"),
        _p("lago_subscription_started_at", "Lago Subscription Started At", "date", "date"),
        _p("lago_subscription_ending_at", "Lago Subscription Ending At", "date", "date"),
        _p("lago_subscription_at", "Lago Subscription At", "date", "date"),
        _p("lago_subscription_terminated_at", "Lago Subscription Terminated At", "date", "date"),
        _p("lago_subscription_trial_ended_at", "Lago Subscription Trial Ended At", "date", "date"),
        _p(
            "lago_billing_time",
            "Lago Billing Time",
            "enumeration",
            "radio",
            options=[
                {"label": "Calendar", "value": "calendar", "displayOrder": 1},
                {"label": "Anniversary", "value": "anniversary", "displayOrder": 2},
            ],
        ),
    ],
    "labels": {"singular": "LagoSubscription", "plural": "LagoSubscriptions"},
    "primaryDisplayProperty": "lago_subscription_id",
    "description": "string",
}

LAGO_INVOICES_V3 = {
    "name": "LagoInvoices",
    "description": "Invoices issued by Lago billing engine",
    "requiredProperties": ["lago_invoice_id"],
    "labels": {"singular": "LagoInvoice", "plural": "LagoInvoices"},
    "primaryDisplayProperty": "lago_invoice_number",
    "secondaryDisplayProperties": ["lago_invoice_status", "lago_invoice_id"],
    "searchableProperties": ["lago_invoice_number", "lago_invoice_id"],
    "properties": [
        _p("lago_invoice_id", "Lago Invoice Id", hasUniqueValue=True),
        _p("lago_invoice_number", "Lago Invoice Number"),
        _p("lago_invoice_purchase_order_number", "Lago Purchase Order Number"),
        _p("lago_invoice_issuing_date", "Lago Invoice Issuing Date", "date", "date"),
        _p("lago_invoice_payment_due_date", "Lago Invoice Payment Due Date", "date", "date"),
        _p(
            "lago_invoice_payment_overdue",
            "Lago Invoice Payment Overdue",
            "bool",
            "booleancheckbox",
            groupName="LagoInvoices",
            options=[{"label": "True", "value": "true"}, {"label": "False", "value": "false"}],
        ),
        _p("lago_invoice_type", "Lago Invoice Type"),
        _p("lago_invoice_status", "Lago Invoice Status"),
        _p("lago_invoice_payment_status", "Lago Invoice Payment Status"),
        _p("lago_invoice_currency", "Lago Invoice Currency"),
        _p("lago_invoice_total_amount", "Lago Invoice Total Amount", "number", "number"),
        _p(
            "lago_invoice_subtotal_excluding_taxes",
            "Lago Invoice Subtotal Excluding Taxes",
            "number",
            "number",
        ),
        _p("lago_invoice_file_url", "Lago Invoice File URL", "string", "file"),
        _p("lago_invoice_url", "Lago Invoice URL"),
    ],
    "associatedObjects": ["COMPANY", "CONTACT"],
}

COMPANY_PROPERTIES = [
    _p("lago_customer_id", "Lago Customer Id", groupName="companyinformation", hasUniqueValue=True),
    _p("lago_customer_external_id", "Lago Customer External Id", groupName="companyinformation"),
    _p("lago_billing_email", "Lago Billing Email", groupName="companyinformation"),
    _p(
        "lago_tax_identification_number",
        "Lago Tax Identification Number",
        groupName="companyinformation",
    ),
    _p("lago_customer_link", "Lago Customer Link", groupName="companyinformation"),
]

# Lago does not deploy lago_tax_identification_number on contacts.
CONTACT_PROPERTIES = [
    _p("lago_customer_id", "Lago Customer Id", groupName="contactinformation", hasUniqueValue=True),
    _p(
        "lago_customer_external_id",
        "Lago Customer External Id",
        groupName="contactinformation",
        hasUniqueValue=True,
    ),
    _p("lago_billing_email", "Lago Billing Email", groupName="contactinformation"),
    _p("lago_customer_link", "Lago Customer Link", groupName="contactinformation"),
]


def seed_lago_native_model(store: Any) -> dict[str, str]:
    """Deploy Lago's native model into an emulator store; returns objectTypeIds by name."""
    ids = {}
    for schema in (LAGO_INVOICES_V3, LAGO_SUBSCRIPTIONS_V1):
        created = store.create_schema(schema)
        ids[schema["name"]] = created["objectTypeId"]
    store.create_property(
        ids["LagoInvoices"],
        _p(
            "lago_invoice_total_due_amount",
            "Lago Invoice Total Due Amount",
            "number",
            "number",
            groupName="lagoinvoices_information",
        ),
    )
    for prop in COMPANY_PROPERTIES:
        store.create_property("companies", prop)
    for prop in CONTACT_PROPERTIES:
        store.create_property("contacts", prop)
    return ids
