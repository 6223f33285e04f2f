"""Billing values on the CRM record (docs/product.md §6). Pure: no HTTP, no clock
(``settings.today``).

Two parts, each usable alone (one subscription's plan values and MRR are ``billing/plans.py``'s):

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
from typing import Any, NamedTuple, Protocol

from msgspec import UNSET

from ..records import values as v
from ..records.base import MappingSettings
from ..records.invoices import given, invoice_fields, nested_lago_id, payment_overdue
from ..records.streams import CUSTOMERS, INVOICES, PLANS, SUBSCRIPTIONS, WALLETS
from .plans import (
    ACTIVE,
    PlanTerms,
    subscription_plan_values,
)
from .plans import text_or_none as _text

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


@dataclass(slots=True)
class _Currency:
    """Per currency: what a customer's records add up to (minor units)."""

    mrr_cents: int = 0
    subscriptions: int = 0  # active subscriptions with a known plan in this currency
    outstanding_cents: int = 0
    overdue_cents: int = 0
    overdue_invoices: int = 0
    finalized_invoices: int = 0


@dataclass(slots=True)
class _Pending:
    """Active subscriptions of one plan code whose plan was not nested (resolved at the end)."""

    count: int = 0
    first: tuple[str, str] | None = None  # (start, lago_id) of the earliest of them


@dataclass(slots=True)
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


_ACTIVE_WORDS = ("active subscription", "active subscriptions")


def counted(count: int, singular: str, plural: str) -> str:
    """``1 invoice``, ``2 invoices``: summary lines read as sentences."""
    return f"{count} {singular if count == 1 else plural}"


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
        records = ("subscription, invoice or wallet", "subscriptions, invoices or wallets")
        if self.mrr_unknown:
            out.append(
                f"{counted(self.mrr_unknown, *_ACTIVE_WORDS)} with MRR unknown (plan not found)"
            )
        if self.subscriptions_other_currency:
            out.append(
                f"{counted(self.subscriptions_other_currency, *_ACTIVE_WORDS)} in another currency "
                "than the customer's billing currency, left out of lago_mrr (no exchange rates "
                "are applied)"
            )
        if self.invoices_other_currency:
            out.append(
                f"{counted(self.invoices_other_currency, 'invoice', 'invoices')} in another "
                "currency than the customer's billing currency, left out of the amounts"
            )
        if self.duplicates:
            out.append(
                f"{counted(self.duplicates, *records)} sent more than once by the source: each "
                "counted once, in its last version"
            )
        if self.records_without_customer:
            out.append(
                f"{counted(self.records_without_customer, *records)} naming no customer: left "
                "out of the roll-ups"
            )
        for reason, count in sorted(self.withheld.items()):
            example = self.examples.get(reason, reason)
            more = f" (first: {example})" if example != reason else ""
            out.append(
                f"{counted(count, 'customer', 'customers')}: billing values not written "
                f"because {reason}{more}"
            )
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
        """How many puts replaced an earlier version (known once ``items`` or ``distinct``
        was read)."""
        ...

    def distinct(self) -> bool:
        """True when no key was put twice: ``items`` would give every fact as it was put, in
        that order (so a caller that folded each fact as it put it holds the fold already)."""
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

    def distinct(self) -> bool:
        return self.repeated == 0

    def close(self) -> None:
        self._facts.clear()


# What a record adds to its customer (a fact's ``adds``).
NOTHING = 0  # not active / not finalized: adds nothing (but replaces an earlier version)
MRR_KNOWN = 1  # an active subscription whose (nested) plan gives its MRR
MRR_UNKNOWN = 2  # an active subscription whose nested plan is unusable
MRR_PENDING = 3  # an active subscription without a nested plan: its plan code, resolved last
INVOICE = 1  # a finalized invoice
INVOICE_PROBLEM = 2  # a finalized invoice with an unusable value
WALLET = 1  # an active wallet
WALLET_PROBLEM = 2  # an active wallet with an unreadable balance


class SubscriptionFact(NamedTuple):
    """What one subscription adds to its customer's roll-ups."""

    customer: str | None  # its customer's Lago id
    adds: int  # NOTHING, MRR_KNOWN, MRR_UNKNOWN or MRR_PENDING
    start: str | None = None  # sortable start (the first active one sets the currency)
    lago_id: str | None = None
    currency: str | None = None  # MRR_KNOWN
    mrr_cents: int | None = None  # MRR_KNOWN
    plan_code: str | None = None  # MRR_PENDING


class InvoiceFact(NamedTuple):
    """What one invoice adds to its customer's roll-ups."""

    customer: str | None
    adds: int  # NOTHING, INVOICE or INVOICE_PROBLEM
    issued: str | None = None  # the issuing date, YYYY-MM-DD
    currency: str | None = None
    due_cents: int | None = None  # total_due_amount_cents, else total_amount_cents
    paid: bool = False
    overdue: bool = False
    invoice_id: str | None = None
    problem: str | None = None  # INVOICE_PROBLEM: what is unusable


class WalletFact(NamedTuple):
    """What one wallet adds to its customer's roll-ups."""

    customer: str | None
    adds: int  # NOTHING, WALLET or WALLET_PROBLEM
    credits: str | None = None  # a decimal string; None for an empty wallet
    problem: str | None = None  # WALLET_PROBLEM


Fact = SubscriptionFact | InvoiceFact | WalletFact
FACT_SHAPES: dict[str, type[SubscriptionFact] | type[InvoiceFact] | type[WalletFact]] = {
    SUBSCRIPTIONS: SubscriptionFact,
    INVOICES: InvoiceFact,
    WALLETS: WalletFact,
}
FACT_WIDTH = max(len(shape._fields) for shape in FACT_SHAPES.values())
_tuple_new = tuple.__new__
_fromhex = bytes.fromhex
_ADDS_NOTHING = InvoiceFact(None, NOTHING)[1:]  # an invoice fact adding nothing, past its owner


INVOICE_PROPERTIES = (
    "lago_outstanding_amount",
    "lago_overdue_amount",
    "lago_overdue_invoices",
    "lago_last_invoice_date",
)


@dataclass
class _Rollups:
    """One customer's roll-ups as they are decided: written, or withheld with the reason."""

    complete: frozenset[str]
    properties: dict[str, str] = field(default_factory=dict)
    withheld: dict[str, str] = field(default_factory=dict)

    def missing(self, *streams: str) -> str | None:
        """Why values of ``streams`` cannot be written (some not complete), else None."""
        absent = [s for s in streams if s not in self.complete]
        if not absent:
            return None
        names = " and ".join(absent)
        verb = "streams were" if len(absent) > 1 else "stream was"
        return f"the {names} {verb} not received completely"

    def withhold(self, names: Iterable[str], reason: str) -> None:
        for name in names:
            self.withheld[name] = reason


@dataclass
class _Mrr:
    """A customer's active subscriptions by currency, once its pending plans are resolved."""

    reason: str | None  # why MRR cannot be known (a stream not complete)
    first: tuple[tuple[str, str], str] | None  # ((start, lago_id), currency) of the first one
    unknown: int  # active subscriptions whose plan is unknown or unusable
    cents: dict[str, int]  # currency -> MRR in minor units
    counted: dict[str, int]  # currency -> active subscriptions counted in it


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
    customer and currency. Each fact is also folded as it comes: when no record came twice
    (``Facts.distinct``, nearly every sync), that fold is the result and the facts are never
    read back.
    """

    def __init__(self, settings: MappingSettings | None = None, facts: Facts | None = None) -> None:
        self.settings = settings or MappingSettings()
        self._facts: Facts = facts if facts is not None else MemoryFacts()
        self._customers: dict[str, _Customer] = {}
        self._plans: dict[str, PlanTerms] = {}
        self._anonymous = 0  # records without a lago_id: each one its own key
        self._orphans = 0
        # Each fact folded as it comes, into customers of their own (their order is that of
        # their first fact); ``_fold`` takes them when no record came twice.
        self._folded: dict[str, _Customer] = {}
        self._orphans_now = 0
        self._folders: dict[str, Callable[[_Customer, Any], None]] = {
            SUBSCRIPTIONS: self._fold_subscription,
            INVOICES: self._fold_invoice,
            WALLETS: self._fold_wallet,
        }
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
            self._put(SUBSCRIPTIONS, key, SubscriptionFact(owner, NOTHING))
            return
        start, first = _start(record), lago_id or ""
        nested = record.get("plan")
        if isinstance(nested, Mapping) and nested:
            values = subscription_plan_values(record, PlanTerms.from_record(nested))
            if not values.known or values.currency is None or values.mrr_cents is None:
                fact = SubscriptionFact(owner, MRR_UNKNOWN)
            else:
                fact = SubscriptionFact(
                    owner, MRR_KNOWN, start, first, values.currency, values.mrr_cents
                )
        else:
            code = _text(record.get("plan_code")) or ""
            fact = SubscriptionFact(owner, MRR_PENDING, start, first, plan_code=code)
        self._put(SUBSCRIPTIONS, key, fact)

    def add_invoice(self, record: Mapping[str, Any]) -> None:
        # the fields it reads, without reading the rest of an invoice that came as text
        invoice = invoice_fields(record)
        lago_id = _given_text(invoice.lago_id)
        key = self._key(lago_id)
        invoice_id = lago_id or "(no lago_id)"
        owner = _text(nested_lago_id(invoice.customer) or given(invoice.lago_customer_id))
        status = _given_text(invoice.status)
        if status is None or status.lower() != "finalized":
            self._put(INVOICES, key, _tuple_new(InvoiceFact, (owner, *_ADDS_NOTHING)))
            return
        try:
            issued = v.utc_date(given(invoice.issuing_date), "issuing_date")
            currency = _given_text(invoice.currency) or _given_text(invoice.total_amount_currency)
            due = v.cents(given(invoice.total_due_amount_cents), "total_due_amount_cents")
            if due is None:
                due = v.cents(given(invoice.total_amount_cents), "total_amount_cents")
            overdue = payment_overdue(invoice, self.settings)
        except v.InvalidValue as error:
            problem = f"invoice {invoice_id}: {error}"
            self._put(INVOICES, key, InvoiceFact(owner, INVOICE_PROBLEM, problem=problem))
            return
        paid = (_given_text(invoice.payment_status) or "").lower() == "succeeded"
        # the NamedTuple's fields in order, without its Python-level __new__
        fact = (owner, INVOICE, issued, currency.upper() if currency else None, due, paid, overdue)
        self._put(INVOICES, key, _tuple_new(InvoiceFact, (*fact, invoice_id, None)))

    def add_wallet(self, record: Mapping[str, Any]) -> None:
        lago_id = _text(record.get("lago_id"))
        key = self._key(lago_id)
        owner = _text(record.get("lago_customer_id"))
        if (_text(record.get("status")) or "").lower() != ACTIVE:
            self._put(WALLETS, key, WalletFact(owner, NOTHING))
            return
        raw = record.get("credits_balance")
        if v.blank(raw):
            self._put(WALLETS, key, WalletFact(owner, WALLET))  # an empty wallet
            return
        try:
            credits = Decimal(str(raw).strip())
            if not credits.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            problem = (
                f"wallet {lago_id or '(no lago_id)'} has credits_balance {raw!r}, not a decimal"
            )
            self._put(WALLETS, key, WalletFact(owner, WALLET_PROBLEM, problem=problem))
            return
        self._put(WALLETS, key, WalletFact(owner, WALLET, str(credits)))

    def close(self) -> None:
        """Drop the facts (idempotent); ``finalize`` does it too."""
        self._facts.close()
        self._folded.clear()

    # -- the facts, folded once the input is over -------------------------------------------

    def _put(self, stream: str, key: bytes | str, fact: Fact) -> None:
        """Keep the fact, and fold it into ``_folded`` now: when no record came twice (nearly
        every sync), that is the fold ``finalize`` needs, without reading the facts back."""
        self._facts.put(stream, key, fact)
        if fact[1] != NOTHING:  # adds
            self._orphans_now += self._fold_one(self._folded, stream, fact)

    def _fold(self) -> None:
        """The facts' last versions folded into the customers (``finalize``): the folds made
        as they came, when every fact was its record's only version; else read back."""
        customers = self._customers
        if self._facts.distinct():
            for owner, folded in self._folded.items():
                customer = customers.get(owner)
                if customer is not None:  # the customers stream's fields, then its folds
                    folded.seen, folded.currency = customer.seen, customer.currency
                    customers[owner] = folded
            self._orphans = self._orphans_now
            return
        self._folded.clear()
        for stream, values in self._facts.items():
            # A store may hand back plain (padded) values: the fact again, by its stream's shape.
            shape = FACT_SHAPES[stream]
            if type(values) is shape:
                fact = values
            elif len(values) == len(shape._fields):  # as it was put: no Python-level _make
                fact = _tuple_new(shape, values)
            else:
                fact = shape._make(values[: len(shape._fields)])
            if fact[1] != NOTHING:
                self._orphans += self._fold_one(customers, stream, fact)

    def _fold_one(self, customers: dict[str, _Customer], stream: str, fact: Fact) -> int:
        """Fold a fact that adds something into its customer in ``customers``; 1 for a fact
        of no customer (an orphan), else 0."""
        owner = fact[0]
        if owner is None:
            return 1
        customer = customers.get(owner)
        if customer is None:
            customer = customers[owner] = _Customer()
        self._folders[stream](customer, fact)
        return 0

    @staticmethod
    def _fold_subscription(customer: _Customer, fact: SubscriptionFact) -> None:
        customer.active += 1
        if fact.adds == MRR_UNKNOWN:
            customer.mrr_unknown += 1
            return
        key = (fact.start or "", fact.lago_id or "")
        if fact.adds == MRR_KNOWN:
            currency = fact.currency or ""
            slot = customer.currency_slot(currency)
            slot.mrr_cents += fact.mrr_cents or 0
            slot.subscriptions += 1
            if customer.first_known is None or key < customer.first_known[0]:
                customer.first_known = (key, currency)
            return
        code = fact.plan_code or ""
        pending = customer.pending.get(code)
        if pending is None:
            pending = customer.pending[code] = _Pending()
        pending.count += 1
        if pending.first is None or key < pending.first:
            pending.first = key

    @staticmethod
    def _fold_invoice(customer: _Customer, fact: InvoiceFact) -> None:
        _, adds, issued, currency, due_cents, paid, overdue, invoice_id, problem = fact
        if adds == INVOICE_PROBLEM:
            customer.invoice_problem = customer.invoice_problem or problem
            return
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
        if due_cents is None:
            customer.invoice_problem = customer.invoice_problem or (
                f"invoice {invoice_id} has neither total_due_amount_cents nor total_amount_cents"
            )
            return
        slot.outstanding_cents += due_cents
        if overdue:
            slot.overdue_cents += due_cents
            slot.overdue_invoices += 1

    @staticmethod
    def _fold_wallet(customer: _Customer, fact: WalletFact) -> None:
        if fact.adds == WALLET_PROBLEM:
            customer.wallet_problem = customer.wallet_problem or fact.problem
        elif fact.credits is not None:
            customer.wallet_credits += Decimal(fact.credits)

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
        out = _Rollups(complete)
        if reason := out.missing(CUSTOMERS):
            out.withhold(ROLLUP_PROPERTIES, reason)
            return CustomerBilling(lago_id, out.properties, out.withheld, None)
        mrr = self._mrr(c, out)
        currency, currency_reason = self._billing_currency(c, mrr, out)
        exponent = _exponent(currency)
        self._mrr_values(c, mrr, currency, currency_reason, exponent, out, summary)
        self._invoice_values(c, currency, currency_reason, exponent, out, summary)
        self._wallet_values(c, out)
        return CustomerBilling(lago_id, out.properties, out.withheld, currency)

    def _mrr(self, c: _Customer, out: _Rollups) -> _Mrr:
        """The customer's active subscriptions by currency, the plan codes left pending
        resolved against the plans stream now that it may be known."""
        mrr = _Mrr(
            reason=out.missing(SUBSCRIPTIONS),
            first=c.first_known,
            unknown=c.mrr_unknown,
            cents={code: slot.mrr_cents for code, slot in c.by_currency.items()},
            counted={code: slot.subscriptions for code, slot in c.by_currency.items()},
        )
        if c.pending and not mrr.reason:
            mrr.reason = out.missing(PLANS)
        if mrr.reason:
            return mrr
        for code, pending in c.pending.items():
            plan = self._plans.get(code) if code else None
            values = subscription_plan_values({"status": ACTIVE, "plan_code": code}, plan)
            if not values.known or values.currency is None or values.mrr_cents is None:
                mrr.unknown += pending.count
                continue
            mrr.cents[values.currency] = (
                mrr.cents.get(values.currency, 0) + values.mrr_cents * pending.count
            )
            mrr.counted[values.currency] = mrr.counted.get(values.currency, 0) + pending.count
            if pending.first is not None and (mrr.first is None or pending.first < mrr.first[0]):
                mrr.first = (pending.first, values.currency)
        return mrr

    @staticmethod
    def _billing_currency(c: _Customer, mrr: _Mrr, out: _Rollups) -> tuple[str | None, str | None]:
        """The customer's own currency, else its first active subscription's plan's; and why
        there is none, when that is for want of a complete stream."""
        currency, reason = c.currency, None
        if currency is None:
            reason = mrr.reason
            currency = mrr.first[1] if mrr.first is not None and not mrr.reason else None
        if currency is not None:
            out.properties["lago_billing_currency"] = currency
        elif reason:
            out.withheld["lago_billing_currency"] = reason
        return currency, reason

    @staticmethod
    def _mrr_values(
        c: _Customer,
        mrr: _Mrr,
        currency: str | None,
        currency_reason: str | None,
        exponent: int | None,
        out: _Rollups,
        summary: BillingSummary,
    ) -> None:
        if reason := out.missing(SUBSCRIPTIONS):
            out.withhold(("lago_mrr", "lago_active_subscriptions"), reason)
            return
        out.properties["lago_active_subscriptions"] = str(c.active)
        if mrr.reason:
            out.withheld["lago_mrr"] = mrr.reason
        elif currency_reason:
            out.withheld["lago_mrr"] = currency_reason
        elif currency is not None and exponent is None:
            out.withheld["lago_mrr"] = f"currency {currency} has no ISO 4217 minor units"
        else:
            summary.mrr_unknown += mrr.unknown
            own = mrr.cents.get(currency, 0) if currency else 0
            summary.subscriptions_other_currency += sum(
                n for cur, n in mrr.counted.items() if cur != currency
            )
            out.properties["lago_mrr"] = _amount(own, exponent)

    @staticmethod
    def _invoice_values(
        c: _Customer,
        currency: str | None,
        currency_reason: str | None,
        exponent: int | None,
        out: _Rollups,
        summary: BillingSummary,
    ) -> None:
        if reason := out.missing(INVOICES):
            out.withhold(INVOICE_PROPERTIES, reason)
            return
        if c.invoice_problem:
            out.withhold(INVOICE_PROPERTIES, c.invoice_problem)
            return
        if c.last_invoice_date:
            out.properties["lago_last_invoice_date"] = c.last_invoice_date
        amounts = INVOICE_PROPERTIES[:3]
        if currency is None and any(slot.finalized_invoices for slot in c.by_currency.values()):
            reason = currency_reason or "the customer has no currency and no active subscription"
            out.withhold(amounts, reason)
            return
        if currency is not None and exponent is None:
            out.withhold(amounts, f"currency {currency} has no ISO 4217 minor units")
            return
        own = c.by_currency.get(currency or "") or _Currency()
        summary.invoices_other_currency += sum(
            slot.finalized_invoices for cur, slot in c.by_currency.items() if cur != currency
        )
        out.properties["lago_outstanding_amount"] = _amount(own.outstanding_cents, exponent)
        out.properties["lago_overdue_amount"] = _amount(own.overdue_cents, exponent)
        out.properties["lago_overdue_invoices"] = str(own.overdue_invoices)

    @staticmethod
    def _wallet_values(c: _Customer, out: _Rollups) -> None:
        if reason := out.missing(WALLETS):
            out.withheld["lago_wallet_credits_balance"] = reason
        elif c.wallet_problem:
            out.withheld["lago_wallet_credits_balance"] = c.wallet_problem
        else:
            out.properties["lago_wallet_credits_balance"] = _decimal(c.wallet_credits)

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
        return key if isinstance(key, bytes) else f"={key}"


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


def _given_text(value: Any) -> str | None:
    """``text_or_none(given(value))`` of a field of ``InvoiceFields``, in one call."""
    if type(value) is str:  # nearly every value
        return value.strip() or None
    return None if value is UNSET else _text(value)


def _start(record: Mapping[str, Any]) -> str:
    """A sortable start: ``started_at``, else ``subscription_at``, else ``created_at``."""
    for key in ("started_at", "subscription_at", "created_at"):
        value = _text(record.get(key))
        if value:
            return value
    return "9999"  # unknown start sorts last


def _id_key(lago_id: str) -> bytes | str:
    """A UUID as its 16 bytes (instead of a 36-character string), anything else as itself.
    The canonical 8-4-4-4-12 form, nearly every id, is read by ``bytes.fromhex`` (in C, some
    ten times faster than ``uuid.UUID``, which the sync would call for every record); what
    does not come out of it as exactly 16 bytes is left to ``uuid.UUID``."""
    if len(lago_id) == 36 and lago_id[8] == lago_id[13] == lago_id[18] == lago_id[23] == "-":
        try:
            packed = _fromhex(lago_id.replace("-", ""))
        except ValueError:
            packed = b""  # not hexadecimal
        if len(packed) == 16:
            return packed
    try:
        return uuid.UUID(lago_id).bytes
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
