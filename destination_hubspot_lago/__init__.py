"""Airbyte destination: Lago billing data (customers, subscriptions, invoices) into HubSpot CRM."""

from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .destination import DestinationHubspotLago

__all__ = ["DestinationHubspotLago", "__version__"]


def __getattr__(name: str) -> Any:
    # The CDK Destination class imports the CDK (seconds of CPU): only for those who ask.
    if name == "DestinationHubspotLago":
        from .destination import DestinationHubspotLago

        return DestinationHubspotLago
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
