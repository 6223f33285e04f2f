"""Before touching the model: are the credentials good, the scopes granted, the plan able?

Each finding a user can fix becomes a :class:`PreflightProblem` whose message says what
to do; only HubSpot outages propagate as :class:`HubSpotError`.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import quote

from .hubspot import HubSpotClient, HubSpotError
from .redaction import update_secrets

logger = logging.getLogger("airbyte")

# What the connector needs (PRODUCT.md §1.0), the same set Lago's own integration asks for.
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


class PreflightProblem(Exception):
    """Something the user must fix in HubSpot or in the connector's settings."""


@dataclass
class Portal:
    portal_id: int | None = None
    time_zone: str | None = None
    ui_domain: str = "app.hubspot.com"
    scopes: list[str] = field(default_factory=list)
    custom_object_limit: int | None = None
    custom_object_usage: int | None = None


def required_scopes(auth_kind: str) -> tuple[str, ...]:
    # `oauth` is granted to OAuth apps only; a Private App has no such checkbox.
    if auth_kind == "oauth":
        return REQUIRED_SCOPES
    return tuple(s for s in REQUIRED_SCOPES if s != "oauth")


def run_preflight(client: HubSpotClient) -> Portal:
    """Credentials, scopes, account details and custom-object capacity, in that order."""
    portal = Portal()
    try:
        token = client.auth.access_token()  # OAuth: the first refresh happens here
        if client.auth.kind == "oauth":
            # HubSpot's introspection takes the token in the path: mask its URL form too.
            update_secrets([quote(token, safe="")])
            info = client.get(f"/oauth/v1/access-tokens/{quote(token, safe='')}")
            portal.portal_id = info.get("hub_id")
        else:
            info = client.post("/oauth/v2/private-apps/get/access-token-info", {"tokenKey": token})
            portal.portal_id = info.get("hubId")
        portal.scopes = [s for s in info.get("scopes") or [] if isinstance(s, str)]
    except HubSpotError as error:
        if error.status in (401, 403) or (error.status == 400 and client.auth.kind == "oauth"):
            raise PreflightProblem(_credentials_refused(client.auth.kind, error)) from None
        if error.status in (404, 405):
            # Tokens of HubSpot's newer app platform have no introspection endpoint here;
            # missing scopes will then surface as 403 MISSING_SCOPES on the calls below.
            logger.info(
                "HubSpot has no scope list for this kind of token (HTTP %s); a missing scope "
                "will be named by the first call that needs it.",
                error.status,
            )
        else:
            raise
    if portal.scopes:
        missing = [s for s in required_scopes(client.auth.kind) if s not in portal.scopes]
        if missing:
            raise PreflightProblem(missing_scopes_message(missing))

    # Two independent reads: one round trip instead of two.
    with ThreadPoolExecutor(max_workers=2) as pool:
        details_future = pool.submit(_read, client, "/account-info/v3/details")
        limits_future = pool.submit(_read, client, "/crm/v3/limits/custom-object-types")
        details, limits = details_future.result(), limits_future.result()
    if details:
        portal.portal_id = details.get("portalId", portal.portal_id)
        portal.time_zone = details.get("timeZone")
        portal.ui_domain = details.get("uiDomain") or portal.ui_domain
        client.portal_timezone = portal.time_zone

    if limits:
        portal.custom_object_limit = limits.get("limit")
        portal.custom_object_usage = limits.get("usage")
    return portal


def _read(client: HubSpotClient, path: str) -> dict | None:
    """A read that helps but is not essential: missing endpoints are tolerated."""
    try:
        result = client.get(path)
    except HubSpotError as error:
        if error.status in (401,):
            raise PreflightProblem(_credentials_refused(client.auth.kind, error)) from None
        if error.status == 403 and error.missing_scopes:
            raise PreflightProblem(missing_scopes_message(error.missing_scopes)) from None
        if error.status in (403, 404, 405):
            logger.info(
                "Skipped %s: HubSpot answered HTTP %s (not needed to go on).", path, error.status
            )
            return None
        raise
    return result if isinstance(result, dict) else None


def missing_scopes_message(scopes: list[str]) -> str:
    return (
        "The HubSpot credentials lack these scopes: "
        + ", ".join(scopes)
        + ". Tick them in the Private App's Scopes tab (or add them to the OAuth app and "
        "re-authenticate), then run check again."
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
        "HubSpot refused the Private App access token "
        f"({error.category or error.status}: {error.message}). Copy the token again from "
        "HubSpot (Settings > Integrations > Private Apps > your app > Access token) and "
        "paste it into the destination's settings."
    )
