"""A local HubSpot CRM API emulator for integration tests (standard library only).

    from tests.support.hubspot_emulator import HubSpotEmulator, ALL_SCOPES

    with HubSpotEmulator(service_keys={"sk-good": ALL_SCOPES}) as emu:
        requests.get(
            f"{emu.url}/crm-object-schemas/2026-09/schemas",
            headers={"Authorization": "Bearer sk-good"},
        )

It serves HubSpot's date-based paths (``/crm/objects/2026-09/…``, with that version's
statuses: partial failures are 200s) and still the legacy v1/v3/v4 ones. Switches:
``service_keys`` (static tokens without introspection), ``introspection_lists_scopes``,
``required_on_create`` (admin validation rules, enforced from 2026-09),
``refuse_default_custom_associations`` (or ``HUBSPOT_EMULATOR_REFUSE_DEFAULT_ASSOCIATIONS=1``),
``batch_record_errors`` (``"per_record"``, the default, or ``"whole_batch"``: how batch
upsert/update answer a refused input; or ``HUBSPOT_EMULATOR_BATCH_RECORD_ERRORS``),
``keep_alive_timeout`` (idle seconds before a connection is closed). Faults:
``inject_fault`` (a status, ``"reset"`` or ``"timeout"``), ``drop_batch_results`` (a batch
answer leaves some inputs unaccounted); ``connections_opened`` counts TCP connections.

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
