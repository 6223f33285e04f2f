"""Airbyte destination: Lago billing data (customers, subscriptions, invoices) into HubSpot CRM."""

__version__ = "0.2.0"

from .destination import DestinationHubspotLago  # noqa: E402

__all__ = ["DestinationHubspotLago", "__version__"]
