"""Pure Lago record -> HubSpot properties mapping, one module per stream (PRODUCT.md §2)."""

from .billing import (
    BillingAggregator,
    BillingResult,
    BillingSummary,
    CustomerBilling,
    DeferredPlanValues,
    Facts,
    MemoryFacts,
    PlanTerms,
    fee_link,
)
from .customers import map_customer, target_object
from .invoices import map_invoice
from .records import (
    CustomerUpsert,
    InvalidRecord,
    MappingSettings,
    RecordUpsert,
    Skipped,
)
from .subscriptions import map_subscription

__all__ = [
    "BillingAggregator",
    "BillingResult",
    "BillingSummary",
    "CustomerBilling",
    "DeferredPlanValues",
    "Facts",
    "MemoryFacts",
    "PlanTerms",
    "CustomerUpsert",
    "InvalidRecord",
    "MappingSettings",
    "RecordUpsert",
    "Skipped",
    "map_customer",
    "map_invoice",
    "map_subscription",
    "target_object",
    "fee_link",
]
