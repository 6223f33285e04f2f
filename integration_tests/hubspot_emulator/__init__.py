"""A local HubSpot CRM API emulator for integration tests (standard library only).

    from integration_tests.hubspot_emulator import HubSpotEmulator, ALL_SCOPES

    with HubSpotEmulator(private_app_tokens={"pat-na1-good": ALL_SCOPES}) as emu:
        requests.get(f"{emu.url}/crm/v3/schemas", headers={"Authorization": "Bearer pat-na1-good"})

Modules: ``server`` (HTTP, pipeline, faults, log), ``routes`` (routing, scopes, handlers),
``auth`` (tokens, OAuth, rate limits), ``store`` (portal state facade) built from ``state``,
``schemas`` (schemas/properties/groups), ``records`` (objects, batches, search), ``values``
(property value validation), ``associations`` (v4 associations and labels), ``standard_model``
(seeded companies/contacts).
"""

from .auth import ALL_SCOPES
from .errors import ApiError
from .server import HubSpotEmulator
from .store import Store

__all__ = ["ALL_SCOPES", "ApiError", "HubSpotEmulator", "Store"]
