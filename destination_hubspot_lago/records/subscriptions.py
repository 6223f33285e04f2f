"""Lago subscription -> LagoSubscriptions record (docs/product.md §2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import values as v
from .base import InvalidRecord, MappingSettings, RecordUpsert, synced_identity

SYNCED_STATUSES = frozenset({"active", "terminated"})  # as Lago's own integration

DATE_FIELDS = {
    "lago_subscription_created_at": "created_at",
    "lago_subscription_started_at": "started_at",
    "lago_subscription_ending_at": "ending_at",
    "lago_subscription_at": "subscription_at",
    "lago_subscription_terminated_at": "terminated_at",
    "lago_subscription_trial_ended_at": "trial_ended_at",
}


def subscription_customer_id(subscription: Mapping[str, Any]) -> str | None:
    """The Lago customer a subscription belongs to."""
    return v.text(subscription.get("lago_customer_id"))


def map_subscription(subscription: Mapping[str, Any], settings: MappingSettings) -> RecordUpsert:
    """The subscription's own properties; its plan values (docs/product.md §6) are the billing
    part's (``billing/plans.py``), added by the subscription sink."""
    lago_id, status = synced_identity(subscription, "subscription", SYNCED_STATUSES)
    try:
        customer_id = subscription_customer_id(subscription)
        properties: dict[str, str | None] = {
            "lago_subscription_id": lago_id,
            "lago_external_subscription_id": v.text(subscription.get("external_id")),
            "lago_subscription_name": v.text(subscription.get("name")),
            "lago_subscription_plan_code": v.text(subscription.get("plan_code")),
            "lago_subscription_status": status,
            "lago_billing_time": (v.text(subscription.get("billing_time")) or "").lower() or None,
            "lago_customer_id": customer_id,
        }
        for prop, field in DATE_FIELDS.items():
            properties[prop] = v.utc_date(subscription.get(field), field)
        if customer_id:
            properties["lago_subscription_link"] = v.lago_link(
                settings.lago_front_url,
                settings.lago_organization_slug,
                "customer",
                customer_id,
                "subscription",
                lago_id,
                "overview",
            )
    except v.InvalidValue as exc:
        raise InvalidRecord(str(exc)) from None
    return RecordUpsert(lago_id, "subscriptions", v.compact(properties), customer_id)
