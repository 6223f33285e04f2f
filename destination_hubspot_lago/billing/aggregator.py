"""Billing values on the CRM record (docs/product.md §6). Pure: no HTTP, no clock
(``settings.today``).

Three parts, each usable alone:

* **Plans and MRR of one subscription** — :class:`PlanTerms`, :func:`plan_for`,
  :func:`subscription_plan_values`, :func:`monthly_cents`. The subscription's nested ``plan``
  wins over the ``plans`` stream (matched by ``plan_code`` = ``code``).
* **Roll-ups of one customer** — :class:`BillingAggregator` folds ``customers``,
  ``subscriptions``, ``invoices``, ``plans`` and ``wallets`` records in any order: a small
  fact per subscription, invoice and wallet (the last version of a record wins, kept where
  the caller says: :class:`Facts`), a few values per customer and plan, never the records.
  :meth:`BillingAggregator.finalize` is called once the sync's input is over, with the
  streams that arrived completely; it gives each customer's ready-to-write properties and,
  for each value it cannot give, the reason.
* **Invoice ↔ subscription links** — :func:`fee_link`: the (invoice, subscription) pair a
  ``fees`` record names.

Amounts are Lago's integer minor units (cents) until the very end; MRR is computed with
``Decimal`` and rounded half-up to the currency's minor units (ISO 4217), per subscription
first, then summed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from ..records import values as v
from ..records.base import MappingSettings
from ..records.invoices import payment_overdue
from ..records.plans import (
    ACTIVE,
    PlanTerms,
    subscription_plan_values,
)
from ..records.plans import text_or_none as _text

CUSTOMERS, SUBSCRIPTIONS, INVOICES, PLANS, WALLETS, FEES = (
    "customers",
    "subscriptions",
    "invoices",
    "plans",
    "wallets",
    "fees",
)
BILLING_STREAMS = (CUSTOMERS, SUBSCRIPTIONS, INVOICES, PLANS, WALLETS)

# The streams each roll-up needs complete. ``plans`` is needed only while some active
# subscription of the customer has no nested plan; ``subscriptions`` and ``plans`` for the
# billing currency only when the customer has no ``currency`` of its own (see finalize).
ROLLUP_STREAMS: dict[str, tuple[str, ...]] = {
    "lago_billing_currency": (CUSTOMERS,),
    "lago_mrr": (CUSTOMERS, SUBSCRIPTIONS, PLANS),
    "lago_active_subscriptions": (CUSTOMERS, SUBSCRIPTIONS),
    "lago_outstanding_amount": (CUSTOMERS, INVOICES),
    "lago_overdue_amount": (CUSTOMERS, INVOICES),
    "lago_overdue_invoices": (CUSTOMERS, INVOICES),
    "lago_last_invoice_date": (CUSTOMERS, INVOICES),
    "lago_wallet_credits_balance": (CUSTOMERS, WALLETS),
}
ROLLUP_PROPERTIES = tuple(ROLLUP_STREAMS)


# -- one customer's roll-ups ----------------------------------------------------------------


@dataclass
class _Currency:
    """Per currency: what a customer's records add up to (minor units)."""

    mrr_cents: int = 0
    subscriptions: int = 0  # active subscriptions with a known plan in this currency
    outstanding_cents: int = 0
    overdue_cents: int = 0
    overdue_invoices: int = 0
    finalized_invoices: int = 0


@dataclass
class _Pending:
    """Active subscriptions of one plan code whose plan was not nested (resolved at the end)."""

    count: int = 0
    first: tuple[str, str] | None = None  # (start, lago_id) of the earliest of them


@dataclass
class _Customer:
    seen: bool = False  # in the customers stream of this sync
    currency: str | None = None
    active: int = 0
    by_currency: dict[str, _Currency] = field(default_factory=dict)
    pending: dict[str, _Pending] = field(default_factory=dict)
    first_known: tuple[tuple[str, str], str] | None = None  # ((start, lago_id), currency)
    mrr_unknown: int = 0  # active subscriptions whose nested plan is unusable
    last_invoice_date: str | None = None
    invoice_problem: str | None = None
    wallet_credits: Decimal = Decimal(0)
    wallet_problem: str | None = None

    def currency_slot(self, currency: str) -> _Currency:
        slot = self.by_currency.get(currency)
        if slot is None:
            slot = self.by_currency[currency] = _Currency()
        return slot


@dataclass(frozen=True)
class CustomerBilling:
    """One customer's roll-ups: ``properties`` to write now, ``withheld`` property -> reason."""

    lago_id: str
    properties: dict[str, str]
    withheld: dict[str, str]
    billing_currency: str | None


@dataclass
class BillingSummary:
    """What the sync summary reports about billing values."""

    customers: int = 0  # customers with roll-ups computed (fully or partly)
    mrr_unknown: int = 0  # active subscriptions whose plan is unknown or unusable
    subscriptions_other_currency: int = 0  # active, left out of lago_mrr
    invoices_other_currency: int = 0  # finalized, left out of the amounts
    duplicates: int = 0  # records seen twice in the sync, counted once
    records_without_customer: int = 0  # subscriptions/invoices/wallets naming no customer
    withheld: dict[str, int] = field(default_factory=dict)  # reason -> customers
    examples: dict[str, str] = field(default_factory=dict)  # reason -> the first full message

    def lines(self) -> list[str]:
        out = []
        if self.mrr_unknown:
            out.append(f"{self.mrr_unknown} active subscriptions with MRR unknown (plan not found)")
        if self.subscriptions_other_currency:
            out.append(
                f"{self.subscriptions_other_currency} active subscriptions in another currency "
                "than their customer's billing currency, left out of lago_mrr"
            )
        if self.invoices_other_currency:
            out.append(
                f"{self.invoices_other_currency} invoices in another currency than their "
                "customer's billing currency, left out of the amounts"
            )
        for reason, count in sorted(self.withheld.items()):
            example = self.examples.get(reason, reason)
            more = f" (first: {example})" if example != reason else ""
            out.append(f"{count} customers: billing values not written because {reason}{more}")
        return out


@dataclass(frozen=True)
class BillingResult:
    customers: list[CustomerBilling]
    summary: BillingSummary


class Facts(Protocol):
    """Where :class:`BillingAggregator` keeps what each subscription, invoice and wallet
    record adds to its customer until :meth:`BillingAggregator.finalize`: one fact per
    record, the last version of a record (same stream and key) replacing the earlier ones.
    :class:`MemoryFacts` holds them in a dict; the pipeline passes an on-disk store so that
    memory does not grow with the streams (``billing/facts.py``)."""

    def put(self, stream: str, key: bytes | str, fact: tuple[Any, ...]) -> None: ...

    def items(self) -> Iterable[tuple[str, Sequence[Any]]]:
        """(stream, fact) of each record's last version, in the order records first came."""
        ...

    @property
    def repeated(self) -> int:
        """How many puts replaced an earlier version (known once ``items`` was read)."""
        ...

    def close(self) -> None: ...


class MemoryFacts:
    def __init__(self) -> None:
        self._facts: dict[tuple[str, bytes | str], tuple[Any, ...]] = {}
        self.repeated = 0

    def put(self, stream: str, key: bytes | str, fact: tuple[Any, ...]) -> None:
        where = (stream, key)
        if where in self._facts:
            self.repeated += 1
        self._facts[where] = fact

    def items(self) -> Iterator[tuple[str, Sequence[Any]]]:
        for (stream, _), fact in self._facts.items():
            yield stream, fact

    def close(self) -> None:
        self._facts.clear()


# What a record adds (the second item of its fact; the first is its customer's Lago id).
_NOTHING = 0  # not active / not finalized: adds nothing (but replaces an earlier version)
_MRR_KNOWN = 1  # an active subscription: (start, lago_id), currency, MRR cents
_MRR_UNKNOWN = 2  # an active subscription whose nested plan is unusable
_MRR_PENDING = 3  # an active subscription without a nested plan: (start, lago_id), plan code
_INVOICE = 1  # a finalized invoice: issued, currency, due cents, paid, overdue
_INVOICE_PROBLEM = 2  # a finalized invoice with an unusable value: the problem
_WALLET = 1  # an active wallet: credits (a decimal string, or None when empty)
_WALLET_PROBLEM = 2  # an active wallet with an unreadable balance: the problem


class BillingAggregator:
    """Folds the sync's records into per-customer billing roll-ups (docs/product.md §6).

    Feed every record of the billing streams as it arrives — ``add(stream, record)`` with the
    stream's name without prefix (``customers``, ``subscriptions``, ``invoices``, ``plans``,
    ``wallets``; others are ignored) — then, once the input is over, call
    :meth:`finalize` with the streams that were received completely.

    A record the source sends twice counts once, in its last version (an invoice sent again
    once paid is no longer outstanding). So each subscription, invoice and wallet is kept as
    a small fact until the end (:class:`Facts`: in memory by default, on disk in the
    pipeline); customers and plans are a few values each, the roll-ups a few numbers per
    customer and currency.
    """

    def __init__(self, settings: MappingSettings | None = None, facts: Facts | None = None) -> None:
        self.settings = settings or MappingSettings()
        self._facts: Facts = facts if facts is not None else MemoryFacts()
        self._customers: dict[str, _Customer] = {}
        self._plans: dict[str, PlanTerms] = {}
        self._anonymous = 0  # records without a lago_id: each one its own key
        self._orphans = 0
        self._finalized = False
        self._adders: dict[str, Callable[[Mapping[str, Any]], None]] = {
            CUSTOMERS: self.add_customer,
            SUBSCRIPTIONS: self.add_subscription,
            INVOICES: self.add_invoice,
            PLANS: self.add_plan,
            WALLETS: self.add_wallet,
        }

    @property
    def plans(self) -> Mapping[str, PlanTerms]:
        """The plans received so far by code (for :func:`plan_for`)."""
        return self._plans

    def add(self, stream: str, record: Mapping[str, Any]) -> None:
        adder = self._adders.get(stream)
        if adder is not None:
            adder(record)

    def add_plan(self, plan: Mapping[str, Any]) -> None:
        terms = PlanTerms.from_record(plan)
        if terms.code:
            self._plans[terms.code] = terms

    def add_customer(self, record: Mapping[str, Any]) -> None:
        lago_id = _text(record.get("lago_id"))
        if lago_id is None:
            return
        customer = self._customer(lago_id)
        customer.seen = True
        currency = _text(record.get("currency"))
        customer.currency = currency.upper() if currency else customer.currency

    def add_subscription(self, record: Mapping[str, Any]) -> None:
        lago_id = _text(record.get("lago_id"))
        key = self._key(lago_id)
        owner = _text(record.get("lago_customer_id"))
        if (_text(record.get("status")) or "").lower() != ACTIVE:
            # terminated: MRR 0; pending/canceled: not synced
            self._facts.put(SUBSCRIPTIONS, key, (owner, _NOTHING))
            return
        start, first = _start(record), lago_id or ""
        nested = record.get("plan")
        if isinstance(nested, Mapping) and nested:
            values = subscription_plan_values(record, PlanTerms.from_record(nested))
            if not values.known or values.currency is None or values.mrr_cents is None:
                fact: tuple[Any, ...] = (owner, _MRR_UNKNOWN)
            else:
                fact = (owner, _MRR_KNOWN, start, first, values.currency, values.mrr_cents)
        else:
            fact = (owner, _MRR_PENDING, start, first, _text(record.get("plan_code")) or "")
        self._facts.put(SUBSCRIPTIONS, key, fact)

    def add_invoice(self, record: Mapping[str, Any]) -> None:
        lago_id = _text(record.get("lago_id"))
        key = self._key(lago_id)
        invoice_id = lago_id or "(no lago_id)"
        nested = record.get("customer")
        owner_id = nested.get("lago_id") if isinstance(nested, Mapping) else None
        owner = _text(owner_id or record.get("lago_customer_id"))
        if (_text(record.get("status")) or "").lower() != "finalized":
            self._facts.put(INVOICES, key, (owner, _NOTHING))
            return
        try:
            issued = v.utc_date(record.get("issuing_date"), "issuing_date")
            currency = _text(record.get("currency")) or _text(record.get("total_amount_currency"))
            due = v.cents(record.get("total_due_amount_cents"), "total_due_amount_cents")
            if due is None:
                due = v.cents(record.get("total_amount_cents"), "total_amount_cents")
            overdue = payment_overdue(record, self.settings)
        except v.InvalidValue as error:
            problem = f"invoice {invoice_id}: {error}"
            self._facts.put(INVOICES, key, (owner, _INVOICE_PROBLEM, problem))
            return
        paid = (_text(record.get("payment_status")) or "").lower() == "succeeded"
        fact = (
            owner,
            _INVOICE,
            issued,
            currency.upper() if currency else None,
            due,
            paid,
            overdue,
            invoice_id,
        )
        self._facts.put(INVOICES, key, fact)

    def add_wallet(self, record: Mapping[str, Any]) -> None:
        lago_id = _text(record.get("lago_id"))
        key = self._key(lago_id)
        owner = _text(record.get("lago_customer_id"))
        if (_text(record.get("status")) or "").lower() != ACTIVE:
            self._facts.put(WALLETS, key, (owner, _NOTHING))
            return
        raw = record.get("credits_balance")
        if v.blank(raw):
            self._facts.put(WALLETS, key, (owner, _WALLET, None))  # an empty wallet
            return
        try:
            credits = Decimal(str(raw).strip())
            if not credits.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            problem = (
                f"wallet {lago_id or '(no lago_id)'} has credits_balance {raw!r}, not a decimal"
            )
            self._facts.put(WALLETS, key, (owner, _WALLET_PROBLEM, problem))
            return
        self._facts.put(WALLETS, key, (owner, _WALLET, str(credits)))

    def close(self) -> None:
        """Drop the facts (idempotent); ``finalize`` does it too."""
        self._facts.close()

    # -- the facts, folded once the input is over -------------------------------------------

    def _fold(self) -> None:
        folders = {
            SUBSCRIPTIONS: self._fold_subscription,
            INVOICES: self._fold_invoice,
            WALLETS: self._fold_wallet,
        }
        for stream, fact in self._facts.items():
            if fact[1] == _NOTHING:
                continue
            if fact[0] is None:
                self._orphans += 1
                continue
            folders[stream](self._customer(fact[0]), fact)

    @staticmethod
    def _fold_subscription(customer: _Customer, fact: Sequence[Any]) -> None:
        customer.active += 1
        if fact[1] == _MRR_UNKNOWN:
            customer.mrr_unknown += 1
            return
        key = (fact[2], fact[3])
        if fact[1] == _MRR_KNOWN:
            slot = customer.currency_slot(fact[4])
            slot.mrr_cents += fact[5]
            slot.subscriptions += 1
            if customer.first_known is None or key < customer.first_known[0]:
                customer.first_known = (key, fact[4])
            return
        pending = customer.pending.get(fact[4])
        if pending is None:
            pending = customer.pending[fact[4]] = _Pending()
        pending.count += 1
        if pending.first is None or key < pending.first:
            pending.first = key

    @staticmethod
    def _fold_invoice(customer: _Customer, fact: Sequence[Any]) -> None:
        if fact[1] == _INVOICE_PROBLEM:
            customer.invoice_problem = customer.invoice_problem or fact[2]
            return
        _, _, issued, currency, due, paid, overdue, invoice_id = fact
        if issued and (customer.last_invoice_date is None or issued > customer.last_invoice_date):
            customer.last_invoice_date = issued
        if currency is None:
            customer.invoice_problem = customer.invoice_problem or (
                f"invoice {invoice_id} has no currency"
            )
            return
        slot = customer.currency_slot(currency)
        slot.finalized_invoices += 1
        if paid:
            return
        if due is None:
            customer.invoice_problem = customer.invoice_problem or (
                f"invoice {invoice_id} has neither total_due_amount_cents nor total_amount_cents"
            )
            return
        slot.outstanding_cents += due
        if overdue:
            slot.overdue_cents += due
            slot.overdue_invoices += 1

    @staticmethod
    def _fold_wallet(customer: _Customer, fact: Sequence[Any]) -> None:
        if fact[1] == _WALLET_PROBLEM:
            customer.wallet_problem = customer.wallet_problem or fact[2]
        elif fact[2] is not None:
            customer.wallet_credits += Decimal(fact[2])

    # -- the end ---------------------------------------------------------------------------

    def finalize(self, complete: Collection[str]) -> BillingResult:
        """Each customer of the sync (seen in ``customers``) with what can be written.

        ``complete``: the stream names (without prefix) received completely in this sync —
        selected, not switched off, a STATE after their records, no fatal error. A value whose
        streams are not all complete is withheld with the reason, so HubSpot keeps its
        previous value. Call once, after the last record.
        """
        if self._finalized:
            raise RuntimeError("BillingAggregator.finalize was already called")
        self._finalized = True
        complete = frozenset(complete)
        self._fold()
        summary = BillingSummary(
            duplicates=self._facts.repeated, records_without_customer=self._orphans
        )
        self._facts.close()
        results = []
        for lago_id, customer in self._customers.items():
            if not customer.seen:
                continue  # not a customer of this sync (or its customers stream was not read)
            result = self._finalize_one(lago_id, customer, complete, summary)
            results.append(result)
            summary.customers += 1
            for reason in set(result.withheld.values()):
                # Stream reasons are few; a record's own problem names it: group those.
                kind = reason if "stream" in reason else _problem_kind(reason)
                summary.withheld[kind] = summary.withheld.get(kind, 0) + 1
                summary.examples.setdefault(kind, reason)
        return BillingResult(results, summary)

    def _finalize_one(
        self, lago_id: str, c: _Customer, complete: frozenset[str], summary: BillingSummary
    ) -> CustomerBilling:
        properties: dict[str, str] = {}
        withheld: dict[str, str] = {}

        def missing(*streams: str) -> str | None:
            absent = [s for s in streams if s not in complete]
            if not absent:
                return None
            names = " and ".join(absent)
            verb = "streams were" if len(absent) > 1 else "stream was"
            return f"the {names} {verb} not received completely"

        def withhold(names: Iterable[str], reason: str) -> None:
            for name in names:
                withheld[name] = reason

        if reason := missing(CUSTOMERS):
            withhold(ROLLUP_PROPERTIES, reason)
            return CustomerBilling(lago_id, properties, withheld, None)

        # Subscriptions: resolve the pending plan codes now that plans may be known.
        subs_reason = missing(SUBSCRIPTIONS)
        if c.pending and not subs_reason:
            subs_reason = missing(PLANS)
        mrr_by_currency: dict[str, int] = {}
        counted_by_currency: dict[str, int] = {}
        first = c.first_known
        mrr_unknown = c.mrr_unknown
        for code_, slot in c.by_currency.items():
            mrr_by_currency[code_] = slot.mrr_cents
            counted_by_currency[code_] = slot.subscriptions
        if not subs_reason:
            for code, pending in c.pending.items():
                plan = self._plans.get(code) if code else None
                values = subscription_plan_values({"status": ACTIVE, "plan_code": code}, plan)
                if not values.known or values.currency is None or values.mrr_cents is None:
                    mrr_unknown += pending.count
                    continue
                mrr_by_currency[values.currency] = (
                    mrr_by_currency.get(values.currency, 0) + values.mrr_cents * pending.count
                )
                counted_by_currency[values.currency] = (
                    counted_by_currency.get(values.currency, 0) + pending.count
                )
                if pending.first is not None and (first is None or pending.first < first[0]):
                    first = (pending.first, values.currency)

        # The billing currency: the customer's own, else its first active subscription's plan's.
        currency: str | None = c.currency
        currency_reason: str | None = None
        if currency is None:
            currency_reason = subs_reason
            currency = first[1] if first is not None and not subs_reason else None
        if currency is not None:
            properties["lago_billing_currency"] = currency
        elif currency_reason:
            withheld["lago_billing_currency"] = currency_reason
        exponent = _exponent(currency)

        # MRR and active subscriptions.
        if reason := missing(SUBSCRIPTIONS):
            withhold(("lago_mrr", "lago_active_subscriptions"), reason)
        else:
            properties["lago_active_subscriptions"] = str(c.active)
            if subs_reason:
                withheld["lago_mrr"] = subs_reason
            elif currency_reason:
                withheld["lago_mrr"] = currency_reason
            elif currency is not None and exponent is None:
                withheld["lago_mrr"] = f"currency {currency} has no ISO 4217 minor units"
            else:
                summary.mrr_unknown += mrr_unknown
                own = mrr_by_currency.get(currency, 0) if currency else 0
                summary.subscriptions_other_currency += sum(
                    n for cur, n in counted_by_currency.items() if cur != currency
                )
                properties["lago_mrr"] = _amount(own, exponent)

        # Invoices.
        invoice_props = (
            "lago_outstanding_amount",
            "lago_overdue_amount",
            "lago_overdue_invoices",
            "lago_last_invoice_date",
        )
        if reason := missing(INVOICES):
            withhold(invoice_props, reason)
        elif c.invoice_problem:
            withhold(invoice_props, c.invoice_problem)
        else:
            if c.last_invoice_date:
                properties["lago_last_invoice_date"] = c.last_invoice_date
            invoices_with_amounts = any(slot.finalized_invoices for slot in c.by_currency.values())
            if currency is None and invoices_with_amounts:
                withhold(
                    invoice_props[:3],
                    currency_reason or "the customer has no currency and no active subscription",
                )
            elif currency is not None and exponent is None:
                withhold(invoice_props[:3], f"currency {currency} has no ISO 4217 minor units")
            else:
                own_slot = c.by_currency.get(currency or "") or _Currency()
                summary.invoices_other_currency += sum(
                    slot.finalized_invoices
                    for cur, slot in c.by_currency.items()
                    if cur != currency
                )
                properties["lago_outstanding_amount"] = _amount(
                    own_slot.outstanding_cents, exponent
                )
                properties["lago_overdue_amount"] = _amount(own_slot.overdue_cents, exponent)
                properties["lago_overdue_invoices"] = str(own_slot.overdue_invoices)

        # Wallets.
        if reason := missing(WALLETS):
            withheld["lago_wallet_credits_balance"] = reason
        elif c.wallet_problem:
            withheld["lago_wallet_credits_balance"] = c.wallet_problem
        else:
            properties["lago_wallet_credits_balance"] = _decimal(c.wallet_credits)
        return CustomerBilling(lago_id, properties, withheld, currency)

    # -- helpers ---------------------------------------------------------------------------

    def _customer(self, lago_id: str) -> _Customer:
        customer = self._customers.get(lago_id)
        if customer is None:
            customer = self._customers[lago_id] = _Customer()
        return customer

    def _key(self, lago_id: str | None) -> bytes | str:
        """A record's key among its stream's facts: its Lago id (a UUID in any spelling as
        its 16 bytes), or for a record without one, a key of its own (never a Lago id)."""
        if lago_id is None:
            self._anonymous += 1
            return f"#{self._anonymous}"
        key = _id_key(lago_id)
        return key.to_bytes(16, "big") if type(key) is int else f"={key}"


# -- invoice <-> subscription links ------------------------------------------------------------


def fee_link(fee: Mapping[str, Any]) -> tuple[str, str] | None:
    """The (invoice, subscription) pair a ``fees`` record names (docs/product.md §6), or None for
    a fee that names no subscription (add-ons, one-off charges) or no invoice (not billed
    yet): those are not links. Distinct pairs are kept by ``billing/links.py``."""
    invoice_id = _text(fee.get("lago_invoice_id"))
    subscription_id = _text(fee.get("lago_subscription_id"))
    if invoice_id is None or subscription_id is None:
        return None
    return invoice_id, subscription_id


# -- small helpers ----------------------------------------------------------------------------


def _problem_kind(reason: str) -> str:
    if reason.startswith("invoice"):
        return "an invoice has unusable amounts, dates or currency"
    if reason.startswith("wallet"):
        return "a wallet has an unreadable credits_balance"
    if reason.startswith("currency"):
        return "the billing currency is not an ISO 4217 currency"
    return reason


def _start(record: Mapping[str, Any]) -> str:
    """A sortable start: ``started_at``, else ``subscription_at``, else ``created_at``."""
    for key in ("started_at", "subscription_at", "created_at"):
        value = _text(record.get(key))
        if value:
            return value
    return "9999"  # unknown start sorts last


def _id_key(lago_id: str) -> int | str:
    """A UUID as its 128-bit integer (16 bytes instead of a 36-character string), anything
    else as itself. The canonical 8-4-4-4-12 form is read directly (several times faster
    than ``uuid.UUID``, which the sync would call for every record)."""
    if len(lago_id) == 36 and lago_id[8] == lago_id[13] == lago_id[18] == lago_id[23] == "-":
        digits = lago_id.replace("-", "")
        if len(digits) == 32 and digits.isascii() and digits.isalnum():
            try:
                return int(digits, 16)
            except ValueError:
                pass  # not hexadecimal
    try:
        return uuid.UUID(lago_id).int
    except ValueError:
        return lago_id


def _exponent(currency: str | None) -> int | None:
    if currency is None:
        return 0
    try:
        return v.minor_units(currency)
    except v.InvalidValue:
        return None


def _amount(cents: int, exponent: int | None) -> str:
    return v.amount(cents, exponent or 0) or "0"


def _decimal(value: Decimal) -> str:
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"
