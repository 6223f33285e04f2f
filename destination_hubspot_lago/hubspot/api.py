"""HubSpot's date-based API: the version and every path we call, in one place.

Since 2026-03-30 HubSpot's REST APIs carry a date version in the path instead of
``v1``/``v3``/``v4`` (``/crm/objects/2026-09/{objectType}/batch/upsert``). The connector
calls only those paths; the version is chosen once, by the advanced config field
``hubspot_api_version``, and reaches every caller through ``client.paths``::

    paths = client.paths                      # an ``Api``, e.g. Api("2026-09")
    client.post(paths.objects(type_id, "batch/upsert"), {"inputs": [...]})
    client.get(paths.properties(type_id))
    client.post(paths.associations(from_type, to_type, "batch/create"), body)

Each builder returns a path (no host, no query string). ``tail`` arguments are joined
with ``/`` and may be empty. Object type arguments are ``objectTypeId``s (``0-2``,
``2-123``) or fully qualified names; they are inserted as given (they never need quoting).

Nothing here sends anything; :class:`~destination_hubspot_lago.hubspot.client.HubSpotClient`
does. Adding a version means adding it to ``API_VERSIONS`` (and ``spec.json``'s enum).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .pacing import Lane

# Newest first; the first is the default (docs/product.md §5).
API_VERSIONS: tuple[str, ...] = ("2026-09", "2026-03")
DEFAULT_API_VERSION = API_VERSIONS[0]


# Which window HubSpot counts a call in (docs/product.md §9): the 2026-09 specs mark search and
# every associations batch operation ``x-hubspot-rate-limit-exemptions: ["ten-secondly"]``.
# First match wins; everything else (objects, properties, schemas, account, limits) is burst.
LANES: tuple[tuple[re.Pattern[str], Lane], ...] = (
    (re.compile(r"^/crm/objects/[^/]+/[^/]+/search$"), Lane.SEARCH),
    (re.compile(r"^/crm/associations/[^/]+/[^/]+/[^/]+/batch/"), Lane.ASSOCIATIONS),
)


def lane_of(path: str) -> Lane:
    """The lane of a call to ``path`` (no query string)."""
    for pattern, lane in LANES:
        if pattern.match(path):
            return lane
    return Lane.BURST


def _join(*parts: str) -> str:
    return "/" + "/".join(p.strip("/") for p in parts if p and p.strip("/"))


@dataclass(frozen=True)
class Api:
    """Path builders for one date-based API version (``Api("2026-09")``)."""

    version: str = DEFAULT_API_VERSION

    def __post_init__(self) -> None:
        if self.version not in API_VERSIONS:
            raise ValueError(
                f"unsupported HubSpot API version {self.version!r}; "
                f"choose one of {', '.join(API_VERSIONS)}"
            )

    # -- auth and account ----------------------------------------------------------

    @property
    def token(self) -> str:
        """``POST`` form: the OAuth token endpoint (refresh-token grant)."""
        return _join("oauth", self.version, "token")

    @property
    def token_introspect(self) -> str:
        """``POST`` form ``token=…``: what HubSpot knows of an OAuth access token."""
        return _join("oauth", self.version, "token", "introspect")

    @property
    def account_details(self) -> str:
        return _join("account-info", self.version, "details")

    @property
    def custom_object_limits(self) -> str:
        return _join("crm", "limits", self.version, "custom-object-types")

    # -- model ---------------------------------------------------------------------

    def schemas(self, object_type: str = "", tail: str = "") -> str:
        """``/crm-object-schemas/{v}/schemas[/{objectType}[/{tail}]]``."""
        return _join("crm-object-schemas", self.version, "schemas", object_type, tail)

    def properties(self, object_type: str, tail: str = "") -> str:
        """``/crm/properties/{v}/{objectType}[/{tail}]`` (a property name, ``batch/create``)."""
        return _join("crm", "properties", self.version, object_type, tail)

    def association_labels(self, from_type: str, to_type: str) -> str:
        """``/crm/associations/{v}/{from}/{to}/labels``: association types of a pair."""
        return _join("crm", "associations", self.version, from_type, to_type, "labels")

    # -- records -------------------------------------------------------------------

    def objects(self, object_type: str, tail: str = "") -> str:
        """``/crm/objects/{v}/{objectType}[/{tail}]`` (tail: ``batch/upsert``, a record id …)."""
        return _join("crm", "objects", self.version, object_type, tail)

    def associations(self, from_type: str, to_type: str, tail: str) -> str:
        """``/crm/associations/{v}/{from}/{to}/{tail}`` (``batch/create``,
        ``batch/associate/default``, ``batch/read``)."""
        return _join("crm", "associations", self.version, from_type, to_type, tail)
