"""Before touching the model: are the credentials good, the scopes granted, the plan able?

Scopes are verified by what HubSpot answers. An OAuth token is introspected
(``POST /oauth/{version}/token/introspect``) and its scope list trusted when it comes in a
form we know. A Service Key (or legacy Private App token) has no introspection on the
date-based API: its read scopes are probed with harmless reads (one record of companies,
contacts and each custom object), its schema scopes by the deployment's own reads and
writes, its record-write scopes by an empty ``batch/update`` per object (nothing to write;
UNVERIFIED whether HubSpot checks scopes before it looks at the empty input — if it does
not, the first real write's 403 stops the sync instead). Every 403 ``MISSING_SCOPES`` names
the scopes HubSpot wanted (``errors[].context.requiredGranularScopes``); a scope HubSpot
did not refuse is never reported missing.

Each finding a user can fix becomes a :class:`PreflightProblem` whose message says what
to do; only HubSpot outages propagate as :class:`HubSpotError`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..hubspot import HubSpotClient, HubSpotError, OAuthAuth
from .model import COMPANIES_TYPE_ID, CONTACTS_TYPE_ID

logger = logging.getLogger("airbyte")

# What the connector needs (docs/product.md §1.0), the same set Lago's own integration asks for.
REQUIRED_SCOPES: tuple[str, ...] = (
    "oauth",
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.custom.read",
    "crm.objects.custom.write",
    "crm.schemas.companies.read",
    "crm.schemas.companies.write",
    "crm.schemas.contacts.read",
    "crm.schemas.contacts.write",
    "crm.schemas.custom.read",
    "crm.schemas.custom.write",
)

# Standard objects whose records we read (adoption by email, customer look-ups).
PROBED_STANDARD_OBJECTS = (COMPANIES_TYPE_ID, CONTACTS_TYPE_ID)


class PreflightProblem(Exception):
    """Something the user must fix in HubSpot or in the connector's settings."""


@dataclass
class Portal:
    portal_id: int | None = None
    time_zone: str | None = None
    ui_domain: str = "app.hubspot.com"
    scopes: list[str] = field(default_factory=list)  # as introspection listed them, if it did
    custom_object_limit: int | None = None
    custom_object_usage: int | None = None


def required_scopes(auth_kind: str) -> tuple[str, ...]:
    # `oauth` is granted to OAuth apps only; a Service Key has no such checkbox.
    if auth_kind == "oauth":
        return REQUIRED_SCOPES
    return tuple(s for s in REQUIRED_SCOPES if s != "oauth")


def run_preflight(client: HubSpotClient) -> Portal:
    """Credentials, scopes, account details and custom-object capacity, in that order."""
    portal = Portal()
    try:
        token = client.auth.access_token()  # OAuth: the first refresh happens here
    except HubSpotError as error:
        if error.status in (400, 401, 403):
            raise PreflightProblem(_credentials_refused(client.auth.kind, error)) from None
        raise
    if isinstance(client.auth, OAuthAuth):
        listed = _introspected_scopes(client, client.auth, token, portal)
        if listed is not None:
            portal.scopes = listed
            missing = [s for s in required_scopes("oauth") if s not in listed]
            if missing:
                raise PreflightProblem(missing_scopes_message(missing))

    # Independent reads in one round trip: details, limits, and the record-read probes.
    paths = client.paths
    with ThreadPoolExecutor(max_workers=4) as pool:
        details_future = pool.submit(_read, client, paths.account_details, None)
        limits_future = pool.submit(_read, client, paths.custom_object_limits, None)
        probes = [
            pool.submit(_read, client, paths.objects(type_id), {"limit": "1"})
            for type_id in PROBED_STANDARD_OBJECTS
        ]
        answers = [f.result() for f in (details_future, limits_future, *probes)]
    _raise_refusals(client, answers)
    (details, _), (limits, _) = answers[0], answers[1]
    if details:
        portal.portal_id = details.get("portalId", portal.portal_id)
        portal.time_zone = details.get("timeZone")
        portal.ui_domain = details.get("uiDomain") or portal.ui_domain
        client.portal_timezone = portal.time_zone

    if limits:
        portal.custom_object_limit = limits.get("limit")
        portal.custom_object_usage = limits.get("usage")
    return portal


def probe_record_access(
    client: HubSpotClient, reads: Iterable[str] = (), writes: Iterable[str] = ()
) -> None:
    """Read one record of each of ``reads``; send an empty ``batch/update`` to each of
    ``writes`` (it cannot change anything). A 403 names the scope the token lacks; any other
    answer to the empty write (200, or a 400 about the empty input) proves nothing missing."""
    paths = client.paths
    calls: list[Callable[[], Any]] = [
        functools.partial(client.get, paths.objects(t), params={"limit": "1"})
        for t in dict.fromkeys(reads)
    ]
    calls += [
        functools.partial(client.post, paths.objects(t, "batch/update"), {"inputs": []})
        for t in dict.fromkeys(writes)
    ]
    if not calls:
        return
    # All at once: one round trip (the client's pool holds 16 connections).
    with ThreadPoolExecutor(max_workers=min(8, len(calls))) as pool:
        answers = [f.result() for f in [pool.submit(_probe, call) for call in calls]]
    _raise_refusals(client, answers)


def _probe(call: Callable[[], Any]) -> Answer:
    try:
        call()
    except HubSpotError as error:
        if error.status in (401, 403):
            return None, error
        if 400 <= error.status < 500:
            return None, None  # e.g. "inputs must not be empty": the scope was not refused
        raise
    return None, None


Answer = tuple[dict[str, Any] | None, HubSpotError | None]


def _read(client: HubSpotClient, path: str, params: Mapping[str, str] | None) -> Answer:
    """A read whose refusal is a finding (returned), not a crash; outages propagate."""
    try:
        result = client.get(path, params=params)
    except HubSpotError as error:
        if error.status in (401, 403):
            return None, error
        if error.status in (404, 405):
            logger.info(
                "Skipped %s: HubSpot answered HTTP %s (not needed to go on).", path, error.status
            )
            return None, None
        raise
    return (result if isinstance(result, dict) else None), None


def _raise_refusals(client: HubSpotClient, answers: Sequence[Answer]) -> None:
    """Every refusal at once: bad credentials first, then every scope HubSpot asked for."""
    refusals = [error for _, error in answers if error is not None]
    for error in refusals:
        if error.status == 401:
            raise PreflightProblem(_credentials_refused(client.auth.kind, error))
    # Per refused call, the scopes HubSpot accepts for it ("one or more of the following").
    groups = [error.missing_scopes for error in refusals if error.missing_scopes]
    if groups:
        raise PreflightProblem(missing_scopes_message(groups))
    for error in refusals:  # a 403 that names no scope: the plan or the user's rights
        raise error


def _introspected_scopes(
    client: HubSpotClient, auth: OAuthAuth, token: str, portal: Portal
) -> list[str] | None:
    """The token's scopes as HubSpot lists them; None when it does not say (in a known form)."""
    try:
        info = client.post_form(client.paths.token_introspect, auth.introspection_form(token))
    except HubSpotError as error:
        if error.status in (400, 401, 403):
            raise PreflightProblem(_credentials_refused("oauth", error)) from None
        if error.status in (404, 405):
            logger.info("HubSpot has no token introspection here; scopes will be probed.")
            return None
        raise
    if info.get("active") is False:
        raise PreflightProblem(
            "HubSpot says the OAuth access token is not active. Re-authenticate the "
            "connection with the Authenticate button, then run check again."
        )
    hub_id = info.get("hub_id", info.get("hubId"))
    portal.portal_id = hub_id if isinstance(hub_id, int) else portal.portal_id
    raw = info.get("scopes", info.get("scope"))
    if isinstance(raw, str):
        raw = raw.split()
    if not isinstance(raw, list):
        logger.info("HubSpot's token introspection lists no scopes; scopes will be probed.")
        return None
    scopes = [s for s in raw if isinstance(s, str)]
    if not set(scopes) & set(REQUIRED_SCOPES):
        # Granted scopes under names we do not know: trust only HubSpot's refusals.
        logger.info("HubSpot's token introspection lists scopes in an unknown form; probing.")
        return None
    return scopes


def missing_scopes_message(missing: Sequence[str | Sequence[str]]) -> str:
    """``missing``: scope names, or per refused call the scopes HubSpot accepts (any one)."""
    named: list[str] = []
    for item in missing:
        text = item if isinstance(item, str) else " or ".join(item)
        if text and text not in named:
            named.append(text)
    return (
        "The HubSpot credentials lack these scopes: "
        + ", ".join(named)
        + ". Add them to the Service Key (Development > Keys > Service Keys > your key > "
        "Scopes) or the legacy Private App's Scopes tab, or add them to the OAuth app and "
        "re-authenticate; then run check again."
    )


def _credentials_refused(kind: str, error: HubSpotError) -> str:
    if kind == "oauth":
        return (
            "HubSpot refused the OAuth credentials "
            f"({error.category or error.status}: {error.message}). Re-authenticate the "
            "connection with the Authenticate button, or check the client ID, client secret "
            "and refresh token."
        )
    return (
        "HubSpot refused the Service Key / Private App access token "
        f"({error.category or error.status}: {error.message}). Copy the key again from "
        "HubSpot (Development > Keys > Service Keys, or Settings > Integrations > Private "
        "Apps > your app > Access token) and paste it into the destination's settings."
    )
