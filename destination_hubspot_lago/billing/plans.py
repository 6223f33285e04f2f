"""A subscription's plan values (docs/product.md §6): which plan it has, and what that plan
makes of it (``lago_plan_*``, currency, MRR). Pure; the billing part hands them to the
subscription sink (``BillingValues.plan_values``), the roll-ups sum their MRR.

The subscription's nested ``plan`` wins over the ``plans`` stream (matched by ``plan_code`` =
``code``). MRR is computed with ``Decimal`` and rounded half-up to the currency's minor units
(ISO 4217).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ..records import values as v

# Monthly value of one billing period: amount × numerator / denominator.
INTERVAL_TO_MONTHLY: dict[str, tuple[int, int]] = {
    "weekly": (52, 12),
    "monthly": (1, 1),
    "quarterly": (1, 3),
    "semiannual": (1, 6),
    "yearly": (1, 12),
}

ACTIVE = "active"
TERMINATED = "terminated"


# -- one subscription's plan ----------------------------------------------------------------


@dataclass(frozen=True)
class PlanTerms:
    """The parts of a Lago plan (or a subscription's nested plan) that billing values use."""

    code: str | None
    name: str | None
    interval: str | None
    amount_cents: Any  # as Lago sent it; validated by subscription_plan_values
    currency: str | None

    @classmethod
    def from_record(cls, plan: Mapping[str, Any]) -> PlanTerms:
        def text(key: str) -> str | None:
            try:
                return v.text(plan.get(key))
            except v.InvalidValue:
                return None

        interval, currency = text("interval"), text("amount_currency")
        return cls(
            code=text("code"),
            name=text("name"),
            interval=interval.lower() if interval else None,
            amount_cents=plan.get("amount_cents"),
            currency=currency.upper() if currency else None,
        )


def plan_for(
    subscription: Mapping[str, Any], plans: Mapping[str, PlanTerms] | None
) -> PlanTerms | None:
    """The subscription's nested ``plan`` when it has one, else the plan of its ``plan_code``."""
    nested = subscription.get("plan")
    if isinstance(nested, Mapping) and nested:
        return PlanTerms.from_record(nested)
    code = text_or_none(subscription.get("plan_code"))
    if code is None or plans is None:
        return None
    return plans.get(code)


def monthly_cents(amount_cents: int, interval: str) -> int:
    """A plan amount per ``interval`` as a monthly amount, rounded half-up to whole minor units.

    >>> monthly_cents(990000, "yearly"), monthly_cents(1000, "weekly")
    (82500, 4333)
    """
    numerator, denominator = INTERVAL_TO_MONTHLY[interval]
    exact = Decimal(amount_cents) * numerator / denominator  # exact, or not a tie
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class PlanValues:
    """A subscription's plan properties, or why it has none (``problem``)."""

    properties: dict[str, str]
    currency: str | None = None
    mrr_cents: int | None = None  # 0 for a terminated subscription
    problem: str | None = None

    @property
    def known(self) -> bool:
        return self.problem is None


def subscription_plan_values(subscription: Mapping[str, Any], plan: PlanTerms | None) -> PlanValues:
    """The LagoSubscriptions plan properties of §6 (``lago_plan_*``, currency, MRR).

    Without a usable plan the subscription gets none of them ("MRR unknown").
    """
    if plan is None:
        code = text_or_none(subscription.get("plan_code"))
        return PlanValues({}, problem=f"plan {code or '(no plan_code)'} unknown")
    if plan.interval not in INTERVAL_TO_MONTHLY:
        return PlanValues({}, problem=f"plan {plan.code} has interval {plan.interval!r}")
    try:
        cents = v.cents(plan.amount_cents, "amount_cents")
        exponent = v.minor_units(plan.currency)
    except v.InvalidValue as error:
        return PlanValues({}, problem=f"plan {plan.code}: {error}")
    if cents is None:
        return PlanValues({}, problem=f"plan {plan.code} has no amount_cents")
    status = (text_or_none(subscription.get("status")) or "").lower()
    mrr = monthly_cents(cents, plan.interval) if status == ACTIVE else 0
    properties = v.compact(
        {
            "lago_plan_name": plan.name,
            "lago_plan_interval": plan.interval,
            "lago_plan_amount": v.amount(cents, exponent),
            "lago_subscription_currency": plan.currency,
            "lago_subscription_mrr": v.amount(mrr, exponent),
        }
    )
    return PlanValues(properties, plan.currency, mrr)


def text_or_none(value: Any) -> str | None:
    """A text value stripped, None when blank or not a text."""
    if type(value) is str:  # nearly every value
        return value.strip() or None
    try:
        return v.text(value)
    except v.InvalidValue:
        return None
