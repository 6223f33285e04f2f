"""Data sets served by the fake Lago API, as dicts in Lago API v1 shape.

* ``sample_dataset()``: a small, hand-written, deterministic set covering the edge cases the
  destination has to handle (currencies with 0/2/3 decimals, comma-separated emails, a URL
  without scheme, a customer linked to an existing HubSpot record, every subscription and
  invoice status, missing dates...).
* ``synthetic_dataset(...)``: a large generated set. Records are built on access (``LazyRecords``),
  so 20k customers / 200k invoices cost almost no memory and start instantly.

The shapes follow Lago's v1 serializers (customer, subscription, invoice with nested customer).
Fields the fake cannot know for sure are listed as UNVERIFIED in the package docstring.
"""

from __future__ import annotations

import bisect
import random
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, overload

Record = dict[str, Any]

_NAMESPACE = uuid.UUID("6f1c3a52-3f0e-4d8a-9d55-1a2b3c4d5e6f")
# Minor units per currency (ISO 4217): the *_cents fields are in these units.
SUBUNITS = {"EUR": 100, "USD": 100, "GBP": 100, "JPY": 1, "KWD": 1000}
ORG_SLUG = "hooli"
FILE_HOST = "https://api.getlago.example"


def lago_id(*parts: object) -> str:
    """A deterministic UUID for a record (stable across runs)."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(map(str, parts))))


def _ts(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _day(value: date | datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%d")


class LazyRecords(Sequence[Record]):
    """A read-only sequence whose items are built by ``make(index)`` when accessed."""

    def __init__(self, length: int, make: Callable[[int], Record]):
        self._length = length
        self._make = make

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> Record: ...
    @overload
    def __getitem__(self, index: slice) -> list[Record]: ...
    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._make(i) for i in range(*index.indices(self._length))]
        if index < 0:
            index += self._length
        if not 0 <= index < self._length:
            raise IndexError(index)
        return self._make(index)

    def __iter__(self) -> Iterator[Record]:
        return (self._make(i) for i in range(self._length))


@dataclass
class Dataset:
    """Everything the fake serves. Lists may be ``LazyRecords``."""

    customers: Sequence[Record]
    subscriptions: Sequence[Record]
    invoices: Sequence[Record]
    billable_metrics: Sequence[Record] = ()
    plans: Sequence[Record] = ()
    coupons: Sequence[Record] = ()
    add_ons: Sequence[Record] = ()
    fees: Sequence[Record] = ()
    wallets: Sequence[Record] = ()
    _subscription_index: dict[str, list[int]] | None = field(default=None, repr=False)
    _customer_index: dict[str, int] | None = field(default=None, repr=False)
    # Subscriptions changed since the dataset was built (works for LazyRecords too).
    _changed_subscriptions: dict[int, Record] = field(default_factory=dict, repr=False)

    def subscriptions_of(self, external_customer_id: str) -> list[Record]:
        """The subscriptions of one customer (any status), in dataset order."""
        if self._subscription_index is None:
            index: dict[str, list[int]] = {}
            for i, sub in enumerate(self.subscriptions):
                index.setdefault(sub["external_customer_id"], []).append(i)
            self._subscription_index = index
        return [
            self._changed_subscriptions.get(i) or self.subscriptions[i]
            for i in self._subscription_index.get(external_customer_id, [])
        ]

    def terminate_subscription(self, subscription_id: str, at: datetime | None = None) -> Record:
        """Terminate one subscription (by ``external_id`` or ``lago_id``) as Lago does.

        Its status becomes ``terminated`` and ``terminated_at`` is set, so the next list
        without ``status[]`` no longer shows it: what a sync sees when a subscription ended
        between two syncs.
        """
        for i, sub in enumerate(self.subscriptions):
            current = self._changed_subscriptions.get(i) or sub
            if subscription_id in (current["external_id"], current["lago_id"]):
                changed = {
                    **current,
                    "status": "terminated",
                    "terminated_at": _ts(at or datetime.now(UTC).replace(microsecond=0)),
                }
                self._changed_subscriptions[i] = changed
                return changed
        raise KeyError(f"no subscription {subscription_id!r} in the dataset")

    def customer(self, external_id: str) -> Record | None:
        if self._customer_index is None:
            self._customer_index = {c["external_id"]: i for i, c in enumerate(self.customers)}
        i = self._customer_index.get(external_id)
        return None if i is None else self.customers[i]


# ---- record builders --------------------------------------------------------------------------


def customer_record(sequential_id: int, external_id: str, **fields: Any) -> Record:
    """A Lago customer with every serialized field; ``fields`` override the defaults."""
    created = fields.pop("created", datetime(2024, 1, 1, 9, 0, tzinfo=UTC))
    record: Record = {
        "lago_id": lago_id("customer", external_id),
        "external_id": external_id,
        "account_type": "customer",
        "name": None,
        "firstname": None,
        "lastname": None,
        "customer_type": None,
        "sequential_id": sequential_id,
        "slug": f"{ORG_SLUG.upper()}-{sequential_id:04d}",
        "created_at": _ts(created),
        "updated_at": _ts(created + timedelta(days=3, hours=2)),
        "country": None,
        "address_line1": None,
        "address_line2": None,
        "state": None,
        "zipcode": None,
        "email": None,
        "city": None,
        "url": None,
        "phone": None,
        "logo_url": None,
        "legal_name": None,
        "legal_number": None,
        "currency": "USD",
        "net_payment_term": None,
        "tax_identification_number": None,
        "timezone": None,
        "applicable_timezone": "UTC",
        "external_salesforce_id": None,
        "finalize_zero_amount_invoice": "inherit",
        "billing_entity_code": ORG_SLUG,
        "billing_configuration": {
            "invoice_grace_period": None,
            "payment_provider": None,
            "payment_provider_code": None,
            "provider_customer_id": None,
            "sync": False,
            "sync_with_provider": False,
            "document_locale": None,
            "provider_payment_methods": None,
        },
        "shipping_address": {
            "address_line1": None,
            "address_line2": None,
            "city": None,
            "zipcode": None,
            "state": None,
            "country": None,
        },
        "metadata": [],
        "taxes": [],
        "integration_customers": [],
    }
    record.update(fields)
    return record


def hubspot_link(
    customer_external_id: str,
    targeted_object: str,
    external_customer_id: str | None = None,
    sync_with_provider: bool = False,
) -> Record:
    """An ``integration_customers`` entry for the HubSpot integration."""
    return {
        "lago_id": lago_id("integration_customer", customer_external_id),
        "type": "hubspot",
        "integration_code": "hubspot",
        "external_customer_id": external_customer_id,
        "targeted_object": targeted_object,
        "sync_with_provider": sync_with_provider,
        "email": None,
    }


def subscription_record(
    customer: Record, external_id: str, status: str, plan_code: str, **fields: Any
) -> Record:
    record: Record = {
        "lago_id": lago_id("subscription", external_id),
        "external_id": external_id,
        "lago_customer_id": customer["lago_id"],
        "external_customer_id": customer["external_id"],
        "billing_time": "calendar",
        "name": None,
        "plan_code": plan_code,
        "status": status,
        "created_at": None,
        "canceled_at": None,
        "started_at": None,
        "ending_at": None,
        "subscription_at": None,
        "terminated_at": None,
        "trial_ended_at": None,
        "previous_plan_code": None,
        "next_plan_code": None,
        "downgrade_plan_date": None,
        "current_billing_period_started_at": None,
        "current_billing_period_ending_at": None,
    }
    record.update(fields)
    return record


def invoice_record(
    customer: Record,
    number_in_customer: int,
    *,
    status: str,
    payment_status: str,
    fees_amount_cents: int,
    issuing_date: date | None,
    invoice_type: str = "subscription",
    tax_rate: float = 0.2,
    coupons_amount_cents: int = 0,
    payment_due_days: int | None = 30,
    today: date = date(2025, 1, 1),
    **fields: Any,
) -> Record:
    """A Lago invoice (with the full nested customer); amounts are kept consistent."""
    number = f"{customer['slug']}-{number_in_customer:03d}"
    taxes = round((fees_amount_cents - coupons_amount_cents) * tax_rate)
    sub_total_excl = fees_amount_cents - coupons_amount_cents
    total = sub_total_excl + taxes
    paid = status != "voided" and payment_status == "succeeded"
    due_date = (
        issuing_date + timedelta(days=payment_due_days)
        if issuing_date is not None and payment_due_days is not None
        else None
    )
    overdue = status == "finalized" and not paid and due_date is not None and due_date < today
    invoice_id = lago_id("invoice", number)
    record: Record = {
        "lago_id": invoice_id,
        "billing_entity_code": ORG_SLUG,
        "sequential_id": number_in_customer,
        "number": number,
        "issuing_date": _day(issuing_date),
        "payment_dispute_lost_at": None,
        "payment_due_date": _day(due_date),
        "payment_overdue": overdue,
        "net_payment_term": payment_due_days,
        "invoice_type": invoice_type,
        "status": status,
        "payment_status": payment_status,
        "currency": customer["currency"],
        "fees_amount_cents": fees_amount_cents,
        "taxes_amount_cents": taxes,
        "progressive_billing_credit_amount_cents": 0,
        "coupons_amount_cents": coupons_amount_cents,
        "credit_notes_amount_cents": 0,
        "sub_total_excluding_taxes_amount_cents": sub_total_excl,
        "sub_total_including_taxes_amount_cents": total,
        "prepaid_credit_amount_cents": 0,
        "total_amount_cents": total,
        "total_paid_amount_cents": total if paid else 0,
        "total_due_amount_cents": 0 if paid or status == "voided" else total,
        "file_url": (
            None
            if status in ("draft", "pending", "failed")
            else f"{FILE_HOST}/rails/active_storage/blobs/redirect/{invoice_id[:8]}/{number}.pdf"
        ),
        "version_number": 4,
        "self_billed": False,
        "created_at": _ts(datetime.combine(issuing_date or today, datetime.min.time(), UTC)),
        "updated_at": _ts(
            datetime.combine(issuing_date or today, datetime.min.time(), UTC) + timedelta(hours=1)
        ),
        "customer": customer,
        "metadata": [],
        "applied_taxes": [],
    }
    record.update(fields)
    return record


# ---- the small streams (same for every data set) ----------------------------------------------

# (code, name, interval, amount_cents, amount_currency): every interval Lago has, several
# currencies (JPY without minor units, KWD with three).
PLANS = (
    ("startup", "Startup", "monthly", 4900, "EUR"),
    ("business", "Business", "monthly", 19900, "EUR"),
    ("enterprise", "Enterprise", "yearly", 990000, "EUR"),
    ("starter_weekly", "Starter (weekly)", "weekly", 1225, "USD"),
    ("business_jpy", "Business Japan", "quarterly", 1200000, "JPY"),
    ("gulf_semiannual", "Gulf (semiannual)", "semiannual", 753000, "KWD"),
    ("business_gbp", "Business UK", "monthly", 19900, "GBP"),
)


def wallet_record(customer: Record, name: str, credits: str, **fields: Any) -> Record:
    """A Lago wallet (API v1 serializer fields, incl. some the manifest does not declare)."""
    rate = fields.pop("rate_amount", "1.0")
    balance_cents = int(
        round(float(credits) * float(rate) * SUBUNITS.get(customer["currency"] or "EUR", 100))
    )
    record: Record = {
        "lago_id": lago_id("wallet", customer["external_id"], name),
        "lago_customer_id": customer["lago_id"],
        "external_customer_id": customer["external_id"],
        "status": "active",
        "currency": customer["currency"],
        "name": name,
        "priority": 50,
        "rate_amount": rate,
        "credits_balance": credits,
        "credits_ongoing_balance": credits,
        "credits_ongoing_usage_balance": "0.0",
        "balance_cents": balance_cents,
        "ongoing_balance_cents": balance_cents,
        "ongoing_usage_balance_cents": 0,
        "consumed_credits": "0.0",
        "created_at": "2023-12-01T00:00:00Z",
        "expiration_at": None,
        "last_balance_sync_at": None,
        "last_consumed_credit_at": None,
        "last_ongoing_balance_sync_at": None,
        "terminated_at": None,
        "invoice_requires_successful_payment": False,
        "recurring_transaction_rules": [],
    }
    record.update(fields)
    return record


def _catalog_streams(customers: Sequence[Record]) -> dict[str, list[Record]]:
    created = "2023-12-01T00:00:00Z"
    metrics = [
        {
            "lago_id": lago_id("billable_metric", code),
            "name": name,
            "code": code,
            "description": None,
            "aggregation_type": aggregation,
            "weighted_interval": None,
            "recurring": False,
            "rounding_function": None,
            "rounding_precision": None,
            "field_name": field_name,
            "expression": None,
            "created_at": created,
            "filters": [],
            "active_subscriptions_count": 0,
            "draft_invoices_count": 0,
            "plans_count": 2,
        }
        for code, name, aggregation, field_name in (
            ("api_calls", "API calls", "count_agg", None),
            ("storage_gb", "Storage (GB)", "max_agg", "gb"),
        )
    ]
    plans = [
        {
            "lago_id": lago_id("plan", code),
            "name": name,
            "invoice_display_name": name,
            "created_at": created,
            "code": code,
            "interval": interval,
            "description": None,
            "amount_cents": amount,
            "amount_currency": currency,
            "trial_period": 14.0 if code == "startup" else None,
            "pay_in_advance": True,
            "bill_charges_monthly": None,
            "customers_count": 0,
            "active_subscriptions_count": 0,
            "draft_invoices_count": 0,
            "parent_id": None,
            "charges": [],
            "taxes": [],
            "minimum_commitment": None,
            "usage_thresholds": [],
        }
        for code, name, interval, amount, currency in PLANS
    ]
    coupons = [
        {
            "lago_id": lago_id("coupon", "WELCOME10"),
            "name": "Welcome 10%",
            "code": "WELCOME10",
            "description": None,
            "coupon_type": "percentage",
            "amount_cents": None,
            "amount_currency": None,
            "percentage_rate": "10.0",
            "frequency": "once",
            "frequency_duration": None,
            "reusable": False,
            "limited_plans": False,
            "plan_codes": [],
            "limited_billable_metrics": False,
            "billable_metric_codes": [],
            "created_at": created,
            "expiration": "no_expiration",
            "expiration_at": None,
            "terminated_at": None,
        }
    ]
    add_ons = [
        {
            "lago_id": lago_id("add_on", "setup"),
            "name": "Setup fee",
            "invoice_display_name": "Setup fee",
            "code": "setup",
            "amount_cents": 50000,
            "amount_currency": "EUR",
            "description": None,
            "created_at": created,
            "taxes": [],
        }
    ]
    wallets = [wallet_record(c, "Prepaid credits", "100.0") for c in list(customers[:2])]
    return {
        "billable_metrics": metrics,
        "plans": plans,
        "coupons": coupons,
        "add_ons": add_ons,
        "wallets": wallets,
    }


def fee_record(
    invoice: Record, subscription: Record | None, plan_code: str | None, n: int = 1, **fields: Any
) -> Record:
    """A Lago fee of ``invoice``: a subscription fee when ``subscription`` is given (naming it
    by ``lago_subscription_id``), else an add-on/one-off fee. API v1 serializer fields."""
    customer = invoice["customer"]
    plan = next((p for p in PLANS if p[0] == plan_code), None)
    item: Record
    if subscription is not None:
        item = {
            "type": "subscription",
            "code": plan_code,
            "name": plan[1] if plan else plan_code,
            "invoice_display_name": plan[1] if plan else plan_code,
            "filter_invoice_display_name": None,
            "filters": None,
            "lago_item_id": lago_id("plan", plan_code),
            "item_type": "Subscription",
            "grouped_by": {},
        }
    else:
        item = {
            "type": "add_on",
            "code": "setup",
            "name": "Setup fee",
            "invoice_display_name": "Setup fee",
            "filter_invoice_display_name": None,
            "filters": None,
            "lago_item_id": lago_id("add_on", "setup"),
            "item_type": "AddOn",
            "grouped_by": {},
        }
    record: Record = {
        "lago_id": lago_id("fee", invoice["lago_id"], n),
        "lago_charge_id": None,
        "lago_charge_filter_id": None,
        "lago_invoice_id": invoice["lago_id"],
        "lago_true_up_fee_id": None,
        "lago_true_up_parent_fee_id": None,
        "lago_subscription_id": subscription["lago_id"] if subscription else None,
        "lago_customer_id": customer["lago_id"],
        "external_customer_id": customer["external_id"],
        "external_subscription_id": subscription["external_id"] if subscription else None,
        "invoice_display_name": None,
        "amount_cents": invoice["fees_amount_cents"],
        "amount_currency": invoice["currency"],
        "precise_amount": str(invoice["fees_amount_cents"]),
        "precise_total_amount": str(invoice["total_amount_cents"]),
        "taxes_amount_cents": invoice["taxes_amount_cents"],
        "taxes_precise_amount": str(invoice["taxes_amount_cents"]),
        "taxes_rate": 20.0,
        "units": "1.0",
        "precise_unit_amount": str(invoice["fees_amount_cents"]),
        "total_amount_cents": invoice["total_amount_cents"],
        "total_amount_currency": invoice["currency"],
        "events_count": None,
        "event_transaction_id": None,
        "pay_in_advance": False,
        "invoiceable": True,
        "from_date": None,
        "to_date": None,
        "payment_status": invoice["payment_status"],
        "created_at": invoice["created_at"],
        "succeeded_at": None,
        "failed_at": None,
        "refunded_at": None,
        "amount_details": {},
        "item": item,
        "applied_taxes": [],
    }
    record.update(fields)
    return record


def _fees_for(invoices: Sequence[Record], limit: int = 10) -> list[Record]:
    """Add-on style fees of the first ``limit`` invoices (naming no subscription)."""
    return [fee_record(invoice, None, None) for invoice in list(invoices[:limit])]


# ---- sample data set --------------------------------------------------------------------------


def _utc(y: int, m: int, d: int, h: int = 9) -> datetime:
    return datetime(y, m, d, h, 0, tzinfo=UTC)


def sample_dataset() -> Dataset:
    """A small, realistic, deterministic data set (8 customers, 12 subscriptions, 20 invoices)."""
    acme = customer_record(
        1,
        "cust-acme",
        name="Acme Corp",
        customer_type="company",
        legal_name="Acme Corporation SAS",
        legal_number="552100554",
        email="billing@acme.example",
        url="https://www.acme.example/en/",
        phone="+33 1 23 45 67 89",
        address_line1="10 rue de la Paix",
        city="Paris",
        zipcode="75002",
        country="FR",
        currency="EUR",
        tax_identification_number="FR40303265045",
        timezone="Europe/Paris",
        applicable_timezone="Europe/Paris",
        net_payment_term=30,
        created=_utc(2024, 1, 3),
        # Linked by hand to a company that already exists in HubSpot.
        integration_customers=[
            hubspot_link("cust-acme", "companies", external_customer_id="18342759201")
        ],
    )
    globex = customer_record(
        2,
        "cust-globex",
        name="Globex GmbH",
        customer_type="company",
        legal_name="Globex Gesellschaft mbH",
        email="billing@globex.example,finance@globex.example",
        url="globex.example",  # no scheme
        address_line1="Friedrichstrasse 1",
        address_line2="3. OG",
        city="Berlin",
        zipcode="10117",
        country="DE",
        currency="EUR",
        tax_identification_number="DE123456789",
        created=_utc(2024, 1, 15),
        integration_customers=[hubspot_link("cust-globex", "companies", sync_with_provider=True)],
    )
    jane = customer_record(
        3,
        "cust-jane-doe",
        name="Jane Doe",
        firstname="Jane",
        lastname="Doe",
        customer_type="individual",
        email="jane.doe@example.com",
        phone="+1 415 555 0100",
        address_line1="1 Market St",
        city="San Francisco",
        state="CA",
        zipcode="94105",
        country="US",
        currency="USD",
        created=_utc(2024, 2, 1),
    )
    initech = customer_record(
        4,
        "cust-initech-kk",
        name="Initech KK",
        customer_type="company",
        legal_name="株式会社イニテック",
        email="keiri@initech.example",
        url="http://initech.example",
        city="Tokyo",
        country="JP",
        currency="JPY",
        timezone="Asia/Tokyo",
        applicable_timezone="Asia/Tokyo",
        created=_utc(2024, 2, 20),
        integration_customers=[
            hubspot_link("cust-initech-kk", "companies", sync_with_provider=True)
        ],
    )
    gulf = customer_record(
        5,
        "cust-gulf-trading",
        name="Gulf Trading Co.",
        customer_type="company",
        email="accounts@gulftrading.example",
        url="https://gulftrading.example",
        city="Kuwait City",
        country="KW",
        currency="KWD",
        created=_utc(2024, 3, 5),
    )
    brit = customer_record(
        6,
        "cust-brit-ltd",
        name="Brit Widgets Ltd",
        firstname="Oliver",
        lastname="Smith",
        customer_type="company",
        legal_name="Brit Widgets Limited",
        email="oliver@britwidgets.example",
        url="www.britwidgets.example",
        phone="+44 20 7946 0000",
        city="London",
        zipcode="EC1A 1BB",
        country="GB",
        currency="GBP",
        tax_identification_number="GB123456789",
        created=_utc(2024, 3, 18),
        # Targeted at contacts although the customer is a company.
        integration_customers=[hubspot_link("cust-brit-ltd", "contacts", sync_with_provider=True)],
    )
    legacy = customer_record(
        7,
        "cust-legacy-0007",
        name="Legacy customer without type",
        customer_type=None,
        currency="USD",
        created=_utc(2023, 11, 30),
    )
    zoe = customer_record(
        8,
        "cust-zoe",
        name="Zoë Brontë",
        firstname="Zoë",
        lastname="Brontë",
        customer_type="individual",
        email="zoe@bronte.example",
        phone="+44 7700 900123",
        city="Haworth",
        country="GB",
        currency="GBP",
        created=_utc(2024, 4, 2),
        integration_customers=[
            hubspot_link(
                "cust-zoe", "contacts", external_customer_id="90210", sync_with_provider=False
            )
        ],
    )
    customers = [acme, globex, jane, initech, gulf, brit, legacy, zoe]

    def sub(customer, ext, status, plan_code, billing_time="calendar", created=None, **kw):
        created = created or _utc(2024, 4, 1)
        started = kw.pop("started", None if status in ("pending", "canceled") else created)
        return subscription_record(
            customer,
            ext,
            status,
            plan_code,
            billing_time=billing_time,
            created_at=_ts(created),
            started_at=_ts(started),
            subscription_at=_ts(kw.pop("subscription_at", started or created)),
            **kw,
        )

    subscriptions = [
        sub(acme, "sub-acme-business", "active", "business", created=_utc(2024, 1, 3)),
        sub(
            acme,
            "sub-acme-startup-old",
            "terminated",
            "startup",
            created=_utc(2023, 6, 1),
            terminated_at=_ts(_utc(2024, 1, 2)),
            next_plan_code="business",
        ),
        sub(
            globex,
            "sub-globex-enterprise",
            "active",
            "enterprise",
            "anniversary",
            created=_utc(2024, 1, 15),
            name="Globex – Enterprise (yearly)",
            # Lago can nest the plan with the subscription's overrides (a negotiated price).
            plan=_nested_plan("enterprise", amount_cents=900000),
        ),
        sub(
            jane,
            "sub-jane-startup",
            "active",
            "starter_weekly",
            "anniversary",
            created=_utc(2024, 2, 1),
            trial_ended_at=_ts(_utc(2024, 2, 15)),
        ),
        sub(initech, "sub-initech-business", "active", "business_jpy", created=_utc(2024, 2, 20)),
        sub(
            initech,
            "sub-initech-enterprise",
            "pending",
            "enterprise",
            created=_utc(2024, 5, 1),
            subscription_at=_utc(2025, 3, 1),
        ),
        sub(
            gulf,
            "sub-gulf-business",
            "active",
            "gulf_semiannual",
            "anniversary",
            created=_utc(2024, 3, 5),
        ),
        sub(
            brit,
            "sub-brit-startup",
            "canceled",
            "startup",
            created=_utc(2024, 3, 18),
            subscription_at=_utc(2024, 5, 1),
            canceled_at=_ts(_utc(2024, 4, 20)),
        ),
        sub(brit, "sub-brit-business", "active", "business_gbp", created=_utc(2024, 4, 21)),
        sub(
            legacy,
            "sub-legacy-startup",
            "terminated",
            "startup",
            created=_utc(2023, 12, 1),
            terminated_at=_ts(_utc(2024, 6, 30)),
            ending_at=_ts(_utc(2024, 6, 30)),
        ),
        sub(
            zoe,
            "sub-zoe-startup",
            "active",
            "startup",
            created=_utc(2024, 4, 2),
            ending_at=_ts(_utc(2025, 4, 2)),
        ),
        sub(
            zoe,
            "sub-zoe-business",
            "pending",
            "business",
            created=_utc(2024, 9, 1),
            subscription_at=_utc(2025, 6, 1),
        ),
    ]

    def inv(customer, n, status, payment, cents, issued, **kw):
        return invoice_record(
            customer,
            n,
            status=status,
            payment_status=payment,
            fees_amount_cents=cents,
            issuing_date=issued,
            **kw,
        )

    d = date
    invoices = [
        inv(acme, 1, "finalized", "succeeded", 19900, d(2024, 2, 1)),
        inv(
            acme, 2, "finalized", "succeeded", 19900, d(2024, 3, 1), purchase_order_number="PO-7781"
        ),
        inv(acme, 3, "finalized", "pending", 19900, d(2024, 11, 1)),  # overdue
        inv(acme, 4, "draft", "pending", 19900, d(2024, 12, 31), payment_due_days=None),
        inv(
            globex, 1, "finalized", "succeeded", 990000, d(2024, 1, 15), invoice_type="subscription"
        ),
        inv(globex, 2, "voided", "pending", 50000, d(2024, 1, 16), invoice_type="add_on"),
        inv(globex, 3, "finalized", "failed", 12345, d(2024, 6, 1), invoice_type="one_off"),
        inv(jane, 1, "finalized", "succeeded", 4900, d(2024, 3, 1), tax_rate=0.0875),
        inv(jane, 2, "finalized", "pending", 4900, d(2024, 4, 1), tax_rate=0.0875),  # overdue
        inv(jane, 3, "pending", "pending", 4900, d(2024, 12, 1), tax_rate=0.0875),
        inv(initech, 1, "finalized", "succeeded", 1200000, d(2024, 3, 1), tax_rate=0.1),
        inv(initech, 2, "finalized", "pending", 1200000, d(2024, 12, 20), tax_rate=0.1),
        inv(initech, 3, "draft", "pending", 35000, None, tax_rate=0.1, invoice_type="credit"),
        inv(gulf, 1, "finalized", "succeeded", 125500, d(2024, 4, 5), tax_rate=0.0),
        inv(gulf, 2, "finalized", "pending", 125500, d(2024, 5, 5), tax_rate=0.0),  # overdue
        inv(brit, 1, "finalized", "succeeded", 19900, d(2024, 5, 21), coupons_amount_cents=1990),
        inv(brit, 2, "voided", "pending", 19900, d(2024, 6, 21)),
        inv(legacy, 1, "finalized", "succeeded", 4900, d(2024, 1, 1), payment_due_days=None),
        inv(zoe, 1, "finalized", "pending", 4900, d(2024, 5, 2), invoice_type="advance_charges"),
        inv(zoe, 2, "draft", "pending", 0, None, invoice_type="progressive_billing"),
    ]
    small = _catalog_streams(customers)
    small["wallets"] = [
        wallet_record(acme, "Prepaid credits", "100.0"),
        wallet_record(globex, "Prepaid credits", "250.5", rate_amount="2.0"),
        wallet_record(
            globex,
            "Old credits",
            "40.0",
            status="terminated",
            terminated_at=_ts(_utc(2024, 6, 1)),
        ),
        wallet_record(initech, "Credits", "5000.0"),
        wallet_record(gulf, "Credits", "12.125", status="terminated"),
    ]
    return Dataset(
        customers, subscriptions, invoices, fees=_sample_fees(subscriptions, invoices), **small
    )


def _nested_plan(code: str, **overrides: Any) -> Record:
    _, name, interval, amount, currency = next(p for p in PLANS if p[0] == code)
    return {
        "lago_id": lago_id("plan", code),
        "name": name,
        "invoice_display_name": name,
        "code": code,
        "interval": interval,
        "description": None,
        "amount_cents": amount,
        "amount_currency": currency,
        "trial_period": None,
        "pay_in_advance": True,
        "bill_charges_monthly": None,
        "parent_id": None,
        **overrides,
    }


def _sample_fees(subscriptions: Sequence[Record], invoices: Sequence[Record]) -> list[Record]:
    """Each subscription invoice has a fee naming the customer's subscription at that date."""
    fees = []
    for invoice in invoices:
        customer_id = invoice["customer"]["lago_id"]
        if invoice["invoice_type"] not in ("subscription", "advance_charges"):
            fees.append(fee_record(invoice, None, None))  # add-on, one-off, credit: no link
            continue
        issued = invoice["issuing_date"] or "9999"
        owned = [
            s
            for s in subscriptions
            if s["lago_customer_id"] == customer_id
            and s["started_at"] is not None
            and s["started_at"][:10] <= issued
        ]
        if not owned:
            continue
        current = max(owned, key=lambda s: s["started_at"])
        fees.append(fee_record(invoice, current, current["plan_code"]))
        if invoice["customer"]["external_id"] == "cust-acme" and invoice["status"] == "finalized":
            # A second fee (usage) of the same subscription: one association, not two.
            fees.append(fee_record(invoice, current, current["plan_code"], n=2, units="12.0"))
    # A fee naming a subscription Lago no longer syncs (the canceled one).
    canceled = next(s for s in subscriptions if s["status"] == "canceled")
    brit_invoice = next(i for i in invoices if i["customer"]["external_id"] == "cust-brit-ltd")
    fees.append(fee_record(brit_invoice, canceled, canceled["plan_code"], n=3))
    return fees


# ---- synthetic data set -----------------------------------------------------------------------

_COUNTRIES = (
    ("FR", "EUR"),
    ("DE", "EUR"),
    ("US", "USD"),
    ("GB", "GBP"),
    ("JP", "JPY"),
    ("KW", "KWD"),
    ("US", "USD"),
    ("NL", "EUR"),
)
_SUB_STATUSES = (("active", 0.7), ("terminated", 0.15), ("pending", 0.1), ("canceled", 0.05))
_INVOICE_STATUSES = (("finalized", 0.8), ("draft", 0.08), ("voided", 0.07), ("pending", 0.05))
_PLANS = ("startup", "business", "enterprise")
# Customers mostly subscribe to plans in their own currency (EUR plans for the others).
_PLANS_BY_CURRENCY = {
    currency: tuple(code for code, _, _, _, cur in PLANS if cur == currency)
    for currency in {p[4] for p in PLANS}
}
_PLANS_BY_CURRENCY["EUR"] = _PLANS


def _counts(n: int, rate: float, rng: random.Random) -> list[int]:
    """Cumulative counts: how many child records the first i customers have."""
    whole, frac = int(rate), rate - int(rate)
    out, total = [0], 0
    for _ in range(n):
        total += whole + (1 if rng.random() < frac else 0)
        out.append(total)
    return out


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def synthetic_dataset(
    customers: int = 1000,
    subscriptions_per_customer: float = 1.5,
    invoices_per_customer: float = 10.0,
    seed: int = 0,
) -> Dataset:
    """A large deterministic data set; records are generated on access.

    ``subscriptions_per_customer`` and ``invoices_per_customer`` are averages (fractions are
    spread at random, deterministically from ``seed``).
    """
    counts_rng = random.Random(seed)
    sub_bounds = _counts(customers, subscriptions_per_customer, counts_rng)
    inv_bounds = _counts(customers, invoices_per_customer, counts_rng)
    base = datetime(2023, 1, 1, tzinfo=UTC)

    def make_customer(i: int) -> Record:
        rng = random.Random(f"{seed}/customer/{i}")
        country, currency = _COUNTRIES[i % len(_COUNTRIES)]
        ext = f"cust-{seed}-{i:06d}"
        individual = rng.random() < 0.3
        typ = "individual" if individual else rng.choice(("company", "company", None))
        first, last = f"First{i}", f"Last{i}"
        name = f"{first} {last}" if individual else f"Company {i:06d}"
        links = []
        if rng.random() < 0.2:
            links.append(
                hubspot_link(
                    ext,
                    "contacts" if individual else "companies",
                    external_customer_id=str(10_000_000 + i) if rng.random() < 0.5 else None,
                    sync_with_provider=True,
                )
            )
        return customer_record(
            i + 1,
            ext,
            name=name,
            firstname=first if individual else None,
            lastname=last if individual else None,
            customer_type=typ,
            email=f"billing{i}@example.com",
            url=None if individual else f"https://company{i}.example.com",
            country=country,
            currency=currency,
            city="Somewhere",
            created=base + timedelta(minutes=7 * i),
            integration_customers=links,
        )

    def make_subscription(j: int) -> Record:
        ci = bisect.bisect_right(sub_bounds, j) - 1
        rng = random.Random(f"{seed}/subscription/{j}")
        customer = make_customer(ci)
        status = _pick(rng, _SUB_STATUSES)
        created = base + timedelta(days=rng.randrange(700), minutes=j % 1440)
        started = None if status in ("pending", "canceled") else created
        return subscription_record(
            customer,
            f"sub-{seed}-{j:07d}",
            status,
            rng.choice(_PLANS_BY_CURRENCY.get(customer["currency"], _PLANS)),
            billing_time=rng.choice(("calendar", "anniversary")),
            created_at=_ts(created),
            started_at=_ts(started),
            subscription_at=_ts(created),
            terminated_at=_ts(created + timedelta(days=90)) if status == "terminated" else None,
            canceled_at=_ts(created + timedelta(days=2)) if status == "canceled" else None,
        )

    def make_invoice(k: int) -> Record:
        ci = bisect.bisect_right(inv_bounds, k) - 1
        rng = random.Random(f"{seed}/invoice/{k}")
        customer = make_customer(ci)
        status = _pick(rng, _INVOICE_STATUSES)
        subunit = SUBUNITS[customer["currency"]]
        return invoice_record(
            customer,
            k - inv_bounds[ci] + 1,
            status=status,
            payment_status=rng.choice(("succeeded", "succeeded", "pending", "failed")),
            fees_amount_cents=rng.randrange(1, 5000) * subunit,
            issuing_date=(base + timedelta(days=rng.randrange(720))).date(),
        )

    customer_seq = LazyRecords(customers, make_customer)
    invoices = LazyRecords(inv_bounds[-1], make_invoice)
    dataset = Dataset(
        customer_seq,
        LazyRecords(sub_bounds[-1], make_subscription),
        invoices,
        fees=_fees_for(invoices),
        **_catalog_streams(customer_seq),
    )
    # Cheap indexes that need no scan of the lazy records.
    dataset._customer_index = {f"cust-{seed}-{i:06d}": i for i in range(customers)}
    dataset._subscription_index = {
        f"cust-{seed}-{i:06d}": list(range(sub_bounds[i], sub_bounds[i + 1]))
        for i in range(customers)
    }
    return dataset
