"""Which Lago stream is which kind (docs/product.md §2): the six kinds this destination
consumes, by the end of the stream's name (a connection may prefix its streams)."""

from __future__ import annotations

CUSTOMERS, SUBSCRIPTIONS, INVOICES = "customers", "subscriptions", "invoices"
PLANS, FEES, WALLETS = "plans", "fees", "wallets"
# Written to HubSpot as records of their own; the other three feed the billing values only.
WRITTEN_KINDS = (CUSTOMERS, SUBSCRIPTIONS, INVOICES)
KINDS = (*WRITTEN_KINDS, PLANS, FEES, WALLETS)


def stream_kind(name: str) -> str | None:
    """One of :data:`KINDS`, also behind a connection prefix (``lago_customers``); None for a
    stream this destination does not consume."""
    for kind in KINDS:
        if name == kind or name.endswith(kind):
            return kind
    return None
