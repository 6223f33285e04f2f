"""Plan values written after their subscription (docs/product.md §6): a subscription that
arrived before its plan is written without its plan values, and gets them once the ``plans``
stream is complete."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .plans import PlanTerms, subscription_plan_values
from .plans import text_or_none as _text


class DeferredPlanValues:
    """Subscriptions written before their plan arrived, for a second write of their plan values.

    ``add(subscription)`` when :func:`plan_for` found no plan and the ``plans`` stream is not
    complete yet; :meth:`resolve` once it is. Keeps (plan code, status) per subscription.
    """

    def __init__(self) -> None:
        self._waiting: dict[str, tuple[str, str]] = {}

    def add(self, subscription: Mapping[str, Any]) -> bool:
        lago_id = _text(subscription.get("lago_id"))
        nested = subscription.get("plan")
        if lago_id is None or (isinstance(nested, Mapping) and nested):
            return False
        status = (_text(subscription.get("status")) or "").lower()
        self._waiting[lago_id] = (_text(subscription.get("plan_code")) or "", status)
        return True

    def __len__(self) -> int:
        return len(self._waiting)

    def resolve(
        self, plans: Mapping[str, PlanTerms]
    ) -> tuple[list[tuple[str, dict[str, str]]], int]:
        """(subscription lago_id, plan properties) for each whose plan is now known, and how
        many remain unknown ("MRR unknown"). Empties the list."""
        found, unknown = [], 0
        for lago_id, (code, status) in self._waiting.items():
            record = {"plan_code": code, "status": status}
            values = subscription_plan_values(record, plans.get(code) if code else None)
            if values.known:
                found.append((lago_id, values.properties))
            else:
                unknown += 1
        self._waiting.clear()
        return found, unknown
