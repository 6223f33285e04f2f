"""Pure Lago record -> HubSpot properties mapping, one module per stream (docs/product.md §2):
``customers.py``, ``subscriptions.py``, ``invoices.py``; ``values.py`` (dates, ISO 4217
amounts, links); ``base.py`` (what a mapping answers); ``streams.py`` (which stream is which
kind). A subscription's plan values are §6's, in ``billing/plans.py``."""

from .base import CustomerUpsert, InvalidRecord, MappingSettings, RecordUpsert, Skipped
from .customers import map_customer, target_object
from .invoices import map_invoice
from .subscriptions import map_subscription

__all__ = [
    "CustomerUpsert",
    "InvalidRecord",
    "MappingSettings",
    "RecordUpsert",
    "Skipped",
    "map_customer",
    "map_invoice",
    "map_subscription",
    "target_object",
]
