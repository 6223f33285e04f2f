"""The HubSpot data model this connector owns, declared once as data (docs/product.md §1).

Names, labels and types are the ones Lago's native HubSpot integration deploys, so a
portal that used it is adopted as it is. Nothing here talks to HubSpot: see
``portal/deployment.py`` for that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ObjectKey = Literal["companies", "contacts", "subscriptions", "invoices"]
CustomerObjectKey = Literal["companies", "contacts"]

COMPANIES_TYPE_ID = "0-2"
CONTACTS_TYPE_ID = "0-1"


@dataclass(frozen=True)
class PropertySpec:
    name: str
    label: str
    type: str  # HubSpot property type: string, number, date, bool, enumeration …
    field_type: str  # how HubSpot's UI edits it: text, number, date, booleancheckbox, radio, file
    unique: bool = False
    options: tuple[tuple[str, str], ...] = ()  # (value, label) for enumerations and booleans

    def create_body(self, group_name: str) -> dict[str, Any]:
        """A ``PropertyCreate`` body for the Properties API."""
        body: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "groupName": group_name,
            "hasUniqueValue": self.unique,
            "formField": True,
        }
        if self.options:
            body["options"] = self.option_bodies()
        return body

    def option_bodies(self) -> list[dict[str, Any]]:
        return [
            {"label": label, "value": value, "displayOrder": i + 1, "hidden": False}
            for i, (value, label) in enumerate(self.options)
        ]


def text(name: str, label: str, unique: bool = False) -> PropertySpec:
    return PropertySpec(name, label, "string", "text", unique)


def date(name: str, label: str) -> PropertySpec:
    return PropertySpec(name, label, "date", "date")


def number(name: str, label: str) -> PropertySpec:
    return PropertySpec(name, label, "number", "number")


def link(name: str, label: str) -> PropertySpec:
    return PropertySpec(name, label, "string", "file")


@dataclass(frozen=True)
class StandardObjectSpec:
    """Companies or Contacts: HubSpot's own objects, to which we only add properties."""

    key: CustomerObjectKey
    object_type_id: str
    group_name: str
    properties: tuple[PropertySpec, ...]
    id_property: str = "lago_customer_id"

    @property
    def label(self) -> str:
        return self.key.capitalize()


@dataclass(frozen=True)
class CustomObjectSpec:
    """A custom object schema we create (or adopt) by ``name``."""

    key: Literal["subscriptions", "invoices"]
    name: str
    singular: str
    plural: str
    description: str
    id_property: str
    primary_display: str
    secondary_display: tuple[str, ...]
    searchable: tuple[str, ...]
    required: tuple[str, ...]
    properties: tuple[PropertySpec, ...]
    # Companies/contacts, and other custom objects of this model by key (e.g. "subscriptions").
    associated_with: tuple[ObjectKey, ...] = ("companies", "contacts")

    @property
    def label(self) -> str:
        return self.name

    @property
    def default_group(self) -> str:
        # Where HubSpot puts the properties of a schema created through the Schemas API.
        return f"{self.name.lower()}_information"

    def create_body(self) -> dict[str, Any]:
        """An ``ObjectSchemaEgg`` for ``POST /crm-object-schemas/{version}/schemas``."""
        return {
            "name": self.name,
            "description": self.description,
            "labels": {"singular": self.singular, "plural": self.plural},
            "primaryDisplayProperty": self.primary_display,
            "secondaryDisplayProperties": list(self.secondary_display),
            "searchableProperties": list(self.searchable),
            "requiredProperties": list(self.required),
            "properties": [_schema_property(p) for p in self.properties],
            # Only HubSpot's own objects can be named at creation; an association with another
            # custom object of the model is defined once both exist (portal/deployment.py).
            "associatedObjects": [
                ASSOCIATED_OBJECT_NAMES[k]
                for k in self.associated_with
                if k in ASSOCIATED_OBJECT_NAMES
            ],
        }


def _schema_property(spec: PropertySpec) -> dict[str, Any]:
    body = spec.create_body(group_name="")
    body.pop("groupName")  # schema-created properties land in the object's default group
    return body


ASSOCIATED_OBJECT_NAMES: dict[str, str] = {
    "companies": "COMPANY",
    "contacts": "CONTACT",
}


def enumeration(
    name: str, label: str, options: tuple[tuple[str, str], ...], field_type: str = "select"
) -> PropertySpec:
    return PropertySpec(name, label, "enumeration", field_type, options=options)


# docs/product.md §6: billing roll-ups of a customer's own records (billing/aggregator.py).
BILLING_ROLLUP_PROPERTIES: tuple[PropertySpec, ...] = (
    text("lago_billing_currency", "Lago Billing Currency"),
    number("lago_mrr", "Lago MRR"),
    number("lago_active_subscriptions", "Lago Active Subscriptions"),
    number("lago_outstanding_amount", "Lago Outstanding Amount"),
    number("lago_overdue_amount", "Lago Overdue Amount"),
    number("lago_overdue_invoices", "Lago Overdue Invoices"),
    date("lago_last_invoice_date", "Lago Last Invoice Date"),
    number("lago_wallet_credits_balance", "Lago Wallet Credits Balance"),
)

PLAN_INTERVALS: tuple[tuple[str, str], ...] = (
    ("weekly", "Weekly"),
    ("monthly", "Monthly"),
    ("quarterly", "Quarterly"),
    ("semiannual", "Semiannual"),
    ("yearly", "Yearly"),
)


def _customer_properties(external_id_unique: bool) -> tuple[PropertySpec, ...]:
    return (
        text("lago_customer_id", "Lago Customer Id", unique=True),
        text("lago_customer_external_id", "Lago Customer External Id", unique=external_id_unique),
        text("lago_billing_email", "Lago Billing Email"),
        text("lago_tax_identification_number", "Lago Tax Identification Number"),
        text("lago_customer_link", "Lago Customer Link"),
        *BILLING_ROLLUP_PROPERTIES,
    )


COMPANIES = StandardObjectSpec(
    key="companies",
    object_type_id=COMPANIES_TYPE_ID,
    group_name="companyinformation",
    properties=_customer_properties(external_id_unique=False),
)

CONTACTS = StandardObjectSpec(
    key="contacts",
    object_type_id=CONTACTS_TYPE_ID,
    group_name="contactinformation",
    # Unique on contacts, as Lago's own integration deploys it.
    properties=_customer_properties(external_id_unique=True),
)

SUBSCRIPTIONS = CustomObjectSpec(
    key="subscriptions",
    name="LagoSubscriptions",
    singular="LagoSubscription",
    plural="LagoSubscriptions",
    description="Subscriptions synced from Lago billing",
    id_property="lago_subscription_id",
    primary_display="lago_subscription_id",
    secondary_display=("lago_external_subscription_id",),
    searchable=("lago_subscription_id", "lago_external_subscription_id"),
    required=("lago_subscription_id",),
    properties=(
        text("lago_subscription_id", "Lago Subscription Id", unique=True),
        text("lago_external_subscription_id", "Lago External Subscription Id"),
        text("lago_subscription_name", "Lago Subscription Name"),
        text("lago_subscription_plan_code", "Lago Subscription Plan Code"),
        text("lago_subscription_status", "Lago Subscription Status"),
        date("lago_subscription_created_at", "Lago Subscription Created At"),
        date("lago_subscription_started_at", "Lago Subscription Started At"),
        date("lago_subscription_ending_at", "Lago Subscription Ending At"),
        date("lago_subscription_at", "Lago Subscription At"),
        date("lago_subscription_terminated_at", "Lago Subscription Terminated At"),
        date("lago_subscription_trial_ended_at", "Lago Subscription Trial Ended At"),
        link("lago_subscription_link", "Lago Subscription Link"),
        PropertySpec(
            "lago_billing_time",
            "Lago Billing Time",
            "enumeration",
            "radio",
            options=(("calendar", "Calendar"), ("anniversary", "Anniversary")),
        ),
        # docs/product.md §6: the customer, and the plan's values (billing/aggregator.py).
        text("lago_customer_id", "Lago Customer Id"),
        text("lago_plan_name", "Lago Plan Name"),
        enumeration("lago_plan_interval", "Lago Plan Interval", PLAN_INTERVALS),
        number("lago_plan_amount", "Lago Plan Amount"),
        text("lago_subscription_currency", "Lago Subscription Currency"),
        number("lago_subscription_mrr", "Lago Subscription MRR"),
    ),
)

INVOICES = CustomObjectSpec(
    key="invoices",
    name="LagoInvoices",
    singular="LagoInvoice",
    plural="LagoInvoices",
    description="Invoices issued by Lago billing",
    id_property="lago_invoice_id",
    primary_display="lago_invoice_number",
    secondary_display=("lago_invoice_status", "lago_invoice_id"),
    searchable=("lago_invoice_number", "lago_invoice_id"),
    required=("lago_invoice_id",),
    properties=(
        text("lago_invoice_id", "Lago Invoice Id", unique=True),
        text("lago_invoice_number", "Lago Invoice Number"),
        date("lago_invoice_issuing_date", "Lago Invoice Issuing Date"),
        date("lago_invoice_payment_due_date", "Lago Invoice Payment Due Date"),
        PropertySpec(
            "lago_invoice_payment_overdue",
            "Lago Invoice Payment Overdue",
            "bool",
            "booleancheckbox",
            options=(("true", "True"), ("false", "False")),
        ),
        text("lago_invoice_type", "Lago Invoice Type"),
        text("lago_invoice_status", "Lago Invoice Status"),
        text("lago_invoice_payment_status", "Lago Invoice Payment Status"),
        text("lago_invoice_currency", "Lago Invoice Currency"),
        number("lago_invoice_total_amount", "Lago Invoice Total Amount"),
        number("lago_invoice_subtotal_excluding_taxes", "Lago Invoice Subtotal Excluding Taxes"),
        link("lago_invoice_file_url", "Lago Invoice File URL"),
        link("lago_invoice_url", "Lago Invoice Link"),
        number("lago_invoice_total_due_amount", "Lago Invoice Total Due Amount"),
        text("lago_invoice_purchase_order_number", "Lago Purchase Order Number"),
        text("lago_customer_id", "Lago Customer Id"),  # docs/product.md §6
    ),
    # docs/product.md §6: an invoice is associated with the subscriptions its fees name.
    associated_with=("companies", "contacts", "subscriptions"),
)


@dataclass(frozen=True)
class HubSpotModel:
    companies: StandardObjectSpec = COMPANIES
    contacts: StandardObjectSpec = CONTACTS
    subscriptions: CustomObjectSpec = SUBSCRIPTIONS
    invoices: CustomObjectSpec = INVOICES
    standard: tuple[StandardObjectSpec, ...] = field(init=False)
    custom: tuple[CustomObjectSpec, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "standard", (self.companies, self.contacts))
        object.__setattr__(self, "custom", (self.subscriptions, self.invoices))


MODEL = HubSpotModel()
