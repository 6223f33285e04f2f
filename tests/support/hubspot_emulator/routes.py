"""URL routing table, per-endpoint scope requirements and the handlers that call the store.

Scopes are derived from a small table rather than the specs' ``security`` lists (those list
every object family as an alternative): record reads/writes need
``crm.objects.{family}.read/write``, property reads ``crm.schemas.{family}.read`` (or the object
read scope), property writes ``crm.schemas.{family}.write``, schema reads
``crm.schemas.custom.read`` (or ``crm.objects.custom.read``), schema writes
``crm.schemas.custom.write``; association calls need the object scope of both sides.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .auth import AuthRegistry, RateLimiter
from .errors import validation_error
from .records import split_property_names
from .store import REQUEST_API_VERSION, Store

Groups = list[list[str]]


@dataclass
class Request:
    method: str
    path: str
    params: tuple[str, ...]
    query: dict[str, list[str]]
    body: Any
    base_url: str

    def q(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def flag(self, name: str, default: bool) -> bool:
        value = self.q(name)
        return default if value is None else value.lower() == "true"

    def int_q(self, name: str, default: int) -> int:
        value = self.q(name)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise validation_error(f"{name} must be an integer") from None


Result = tuple[int, Any]  # (status, JSON body or None)


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: str
    mutating: bool = False
    public: bool = False  # authenticated by the token in the path/body, not a bearer header
    search: bool = False
    scopes: Callable[[Store, tuple[str, ...]], Groups] | None = None


def _family(store: Store, ref: str) -> str | None:
    ot = store.find_type(ref)
    if ot is None:
        return None  # unknown type: let the handler answer 400
    return {"0-1": "contacts", "0-2": "companies"}.get(ot.type_id, "custom")


def _objects(mode: str, index: int = 0) -> Callable[[Store, tuple[str, ...]], Groups]:
    def groups(store: Store, params: tuple[str, ...]) -> Groups:
        fam = _family(store, params[index])
        return [[f"crm.objects.{fam}.{mode}"]] if fam else []

    return groups


def _properties(mode: str) -> Callable[[Store, tuple[str, ...]], Groups]:
    def groups(store: Store, params: tuple[str, ...]) -> Groups:
        fam = _family(store, params[0])
        if not fam:
            return []
        if mode == "read":
            return [[f"crm.schemas.{fam}.read", f"crm.objects.{fam}.read"]]
        return [[f"crm.schemas.{fam}.write"]]

    return groups


def _schemas(mode: str) -> Callable[[Store, tuple[str, ...]], Groups]:
    def groups(store: Store, params: tuple[str, ...]) -> Groups:
        if mode == "read":
            return [["crm.schemas.custom.read", "crm.objects.custom.read"]]
        return [["crm.schemas.custom.write"]]

    return groups


def _pair(mode: str, from_index: int, to_index: int) -> Callable[[Store, tuple[str, ...]], Groups]:
    def groups(store: Store, params: tuple[str, ...]) -> Groups:
        result = []
        for index in (from_index, to_index):
            fam = _family(store, params[index])
            if fam:
                scopes = [f"crm.objects.{fam}.{mode}"]
                if mode == "read":
                    scopes.append(f"crm.objects.{fam}.write")
                result.append(scopes)
        return result

    return groups


def _any_custom(store: Store, params: tuple[str, ...]) -> Groups:
    return [
        [
            "crm.schemas.custom.read",
            "crm.objects.custom.read",
            "crm.schemas.custom.write",
            "crm.objects.custom.write",
        ]
    ]


_SEG = r"([^/]+)"
# HubSpot's date-based versions (2026-03, 2026-09, …) put the version where v1/v3/v4 were,
# after the API's name: /crm/objects/2026-09/… for /crm/v3/objects/…  Both are served.
_V = r"20\d\d-\d\d"
DATED_PATH = re.compile(rf"/({_V})(?:/|$)")
_SCHEMAS = rf"(?:/crm-object-schemas/(?:v3|{_V})/schemas|/crm/v3/schemas)"
_PROPS = rf"/crm/(?:v3/properties|properties/{_V})/{_SEG}"
_OBJS = rf"/crm/(?:v3/objects|objects/{_V})/{_SEG}"
_V4_OBJ = rf"/crm/(?:v4/objects|objects/{_V})/{_SEG}/{_SEG}/associations"
_V4_PAIR = rf"/crm/(?:v4/associations|associations/{_V})/{_SEG}/{_SEG}"
_LABELS = rf"/crm/(?:v4/associations|associations/v4|associations/{_V})/{_SEG}/{_SEG}/labels"

# Success statuses the date-based specs declare where the legacy ones differ: partial
# failures are a 200 (objects' batch/create: 201) carrying ``errors`` and ``numErrors``,
# and batch creates of properties and associations answer 200 [SPEC 2026-09].
DATED_STATUS: dict[str, dict[int, int]] = {
    "batch_create": {207: 201},
    "batch_read": {207: 200},
    "batch_update": {207: 200},
    "batch_upsert": {207: 200},
    "batch_create_properties": {201: 200, 207: 200},
    "batch_read_properties": {207: 200},
    "batch_create_associations": {201: 200, 207: 200},
    "batch_read_associations": {207: 200},
}


def api_version(path: str) -> str | None:
    """The date-based version in ``path`` (``2026-09``), None for a v1/v3/v4 path."""
    found = DATED_PATH.search(path)
    return found.group(1) if found else None


def dated_status(route: Route, path: str, status: int) -> int:
    if api_version(path) is None:
        return status
    return DATED_STATUS.get(route.handler, {}).get(status, status)


def _r(method: str, pattern: str, handler: str, **kwargs: Any) -> Route:
    return Route(method, re.compile(f"^{pattern}/?$"), handler, **kwargs)


ROUTES: list[Route] = [
    # OAuth and token info: no bearer header, no rate-limit headers.
    _r("POST", rf"/oauth/(?:v1|{_V})/token", "oauth_token", public=True),
    _r("POST", rf"/oauth/{_V}/token/introspect", "introspect_token", public=True),
    _r("GET", rf"/oauth/v1/access-tokens/{_SEG}", "access_token_info", public=True),
    _r("GET", rf"/oauth/v1/refresh-tokens/{_SEG}", "refresh_token_info", public=True),
    _r("DELETE", rf"/oauth/v1/refresh-tokens/{_SEG}", "revoke_refresh_token", public=True),
    _r("POST", "/oauth/v2/private-apps/get/access-token-info", "private_app_info", public=True),
    # Account and limits.
    _r("GET", rf"/account-info/(?:v3|{_V})/details", "account_details"),
    _r("GET", rf"/account-info/(?:v3|{_V})/api-usage/daily/private-apps", "api_usage"),
    _r(
        "GET",
        rf"/crm/(?:v3/limits|limits/{_V})/custom-object-types",
        "custom_object_limits",
        scopes=_any_custom,
    ),
    # Schemas.
    _r("GET", _SCHEMAS, "list_schemas", scopes=_schemas("read")),
    _r("POST", _SCHEMAS, "create_schema", mutating=True, scopes=_schemas("write")),
    _r("POST", rf"{_SCHEMAS}/batch/read", "batch_read_schemas", scopes=_schemas("read")),
    _r("GET", rf"{_SCHEMAS}/{_SEG}", "get_schema", scopes=_schemas("read")),
    _r("PATCH", rf"{_SCHEMAS}/{_SEG}", "patch_schema", mutating=True, scopes=_schemas("write")),
    _r("DELETE", rf"{_SCHEMAS}/{_SEG}", "delete_schema", mutating=True, scopes=_schemas("write")),
    _r(
        "POST",
        rf"{_SCHEMAS}/{_SEG}/associations",
        "create_schema_association",
        mutating=True,
        scopes=_schemas("write"),
    ),
    _r(
        "DELETE",
        rf"{_SCHEMAS}/{_SEG}/associations/{_SEG}",
        "delete_schema_association",
        mutating=True,
        scopes=_schemas("write"),
    ),
    # Properties and groups (groups before "{propertyName}").
    _r("GET", _PROPS, "list_properties", scopes=_properties("read")),
    _r("POST", _PROPS, "create_property", mutating=True, scopes=_properties("write")),
    _r(
        "POST",
        rf"{_PROPS}/batch/create",
        "batch_create_properties",
        mutating=True,
        scopes=_properties("write"),
    ),
    _r("POST", rf"{_PROPS}/batch/read", "batch_read_properties", scopes=_properties("read")),
    _r(
        "POST",
        rf"{_PROPS}/batch/archive",
        "batch_archive_properties",
        mutating=True,
        scopes=_properties("write"),
    ),
    _r("GET", rf"{_PROPS}/groups", "list_groups", scopes=_properties("read")),
    _r("POST", rf"{_PROPS}/groups", "create_group", mutating=True, scopes=_properties("write")),
    _r("GET", rf"{_PROPS}/groups/{_SEG}", "get_group", scopes=_properties("read")),
    _r(
        "PATCH",
        rf"{_PROPS}/groups/{_SEG}",
        "update_group",
        mutating=True,
        scopes=_properties("write"),
    ),
    _r(
        "DELETE",
        rf"{_PROPS}/groups/{_SEG}",
        "archive_group",
        mutating=True,
        scopes=_properties("write"),
    ),
    _r("GET", rf"{_PROPS}/{_SEG}", "get_property", scopes=_properties("read")),
    _r("PATCH", rf"{_PROPS}/{_SEG}", "update_property", mutating=True, scopes=_properties("write")),
    _r(
        "DELETE",
        rf"{_PROPS}/{_SEG}",
        "archive_property",
        mutating=True,
        scopes=_properties("write"),
    ),
    # Records.
    _r("GET", _OBJS, "list_records", scopes=_objects("read")),
    _r("POST", _OBJS, "create_record", mutating=True, scopes=_objects("write")),
    _r("POST", rf"{_OBJS}/batch/create", "batch_create", mutating=True, scopes=_objects("write")),
    _r("POST", rf"{_OBJS}/batch/read", "batch_read", scopes=_objects("read")),
    _r("POST", rf"{_OBJS}/batch/update", "batch_update", mutating=True, scopes=_objects("write")),
    _r("POST", rf"{_OBJS}/batch/upsert", "batch_upsert", mutating=True, scopes=_objects("write")),
    _r("POST", rf"{_OBJS}/batch/archive", "batch_archive", mutating=True, scopes=_objects("write")),
    _r("POST", rf"{_OBJS}/search", "search", search=True, scopes=_objects("read")),
    _r("GET", rf"{_OBJS}/{_SEG}", "get_record", scopes=_objects("read")),
    _r("PATCH", rf"{_OBJS}/{_SEG}", "update_record", mutating=True, scopes=_objects("write")),
    _r("DELETE", rf"{_OBJS}/{_SEG}", "archive_record", mutating=True, scopes=_objects("write")),
    # v4 associations.
    _r(
        "PUT",
        rf"{_V4_OBJ}/default/{_SEG}/{_SEG}",
        "associate_default",
        mutating=True,
        scopes=_pair("write", 0, 2),
    ),
    _r(
        "PUT",
        rf"{_V4_OBJ}/{_SEG}/{_SEG}",
        "associate_labelled",
        mutating=True,
        scopes=_pair("write", 0, 2),
    ),
    _r(
        "DELETE",
        rf"{_V4_OBJ}/{_SEG}/{_SEG}",
        "delete_pair",
        mutating=True,
        scopes=_pair("write", 0, 2),
    ),
    _r("GET", rf"{_V4_OBJ}/{_SEG}", "list_associations", scopes=_pair("read", 0, 2)),
    _r(
        "POST",
        rf"{_V4_PAIR}/batch/associate/default",
        "batch_associate_default",
        mutating=True,
        scopes=_pair("write", 0, 1),
    ),
    _r(
        "POST",
        rf"{_V4_PAIR}/batch/create",
        "batch_create_associations",
        mutating=True,
        scopes=_pair("write", 0, 1),
    ),
    _r("POST", rf"{_V4_PAIR}/batch/read", "batch_read_associations", scopes=_pair("read", 0, 1)),
    _r(
        "POST",
        rf"{_V4_PAIR}/batch/archive",
        "batch_archive_associations",
        mutating=True,
        scopes=_pair("write", 0, 1),
    ),
    _r(
        "POST",
        rf"{_V4_PAIR}/batch/labels/archive",
        "batch_archive_labels",
        mutating=True,
        scopes=_pair("write", 0, 1),
    ),
    _r("GET", _LABELS, "list_labels", scopes=_pair("read", 0, 1)),
    _r("POST", _LABELS, "create_label", mutating=True, scopes=_pair("write", 0, 1)),
    _r("PUT", _LABELS, "update_label", mutating=True, scopes=_pair("write", 0, 1)),
    _r("DELETE", rf"{_LABELS}/{_SEG}", "delete_label", mutating=True, scopes=_pair("write", 0, 1)),
]


def match_route(method: str, path: str) -> tuple[Route, tuple[str, ...]] | None:
    for route in ROUTES:
        if route.method == method:
            found = route.pattern.match(path)
            if found:
                return route, tuple(found.groups())
    return None


class Handlers:
    """One method per route name; each returns (status, body)."""

    def __init__(self, store: Store, auth: AuthRegistry, limiter: RateLimiter) -> None:
        self.store = store
        self.auth = auth
        self.limiter = limiter

    def dispatch(self, route: Route, req: Request) -> Result:
        handler: Callable[[Request], Result] = getattr(self, route.handler)
        marker = REQUEST_API_VERSION.set(api_version(req.path))
        try:
            status, body = handler(req)
        finally:
            REQUEST_API_VERSION.reset(marker)
        return dated_status(route, req.path, status), body

    # OAuth / account --------------------------------------------------------------------
    def oauth_token(self, req: Request) -> Result:
        form = req.body if isinstance(req.body, dict) else {}
        return 200, self.auth.token({k: str(v) for k, v in form.items()})

    def introspect_token(self, req: Request) -> Result:
        form = req.body if isinstance(req.body, dict) else {}
        return 200, self.auth.introspect({k: str(v) for k, v in form.items()})

    def access_token_info(self, req: Request) -> Result:
        return 200, self.auth.access_token_info(req.params[0])

    def refresh_token_info(self, req: Request) -> Result:
        return 200, self.auth.refresh_token_info(req.params[0])

    def revoke_refresh_token(self, req: Request) -> Result:
        self.auth.revoke_refresh_token(req.params[0])
        return 204, None

    def private_app_info(self, req: Request) -> Result:
        return 200, self.auth.private_app_info(req.body)

    def account_details(self, req: Request) -> Result:
        return 200, {
            "portalId": self.store.portal_id,
            "accountType": "STANDARD",
            "timeZone": "US/Eastern",
            "companyCurrency": "USD",
            "additionalCurrencies": [],
            "utcOffset": "-05:00",
            "utcOffsetMilliseconds": -18_000_000,
            "uiDomain": "app.hubspot.com",
            "dataHostingLocation": "na1",
        }

    def api_usage(self, req: Request) -> Result:
        return 200, self.limiter.usage_report()

    def custom_object_limits(self, req: Request) -> Result:
        return 200, self.store.custom_object_limits()

    # Schemas --------------------------------------------------------------------------------
    def _schema_flags(self, req: Request) -> dict[str, bool]:
        return {
            "properties": req.flag("includePropertyDefinitions", True),
            "associations": req.flag("includeAssociationDefinitions", True),
            "audit": req.flag("includeAuditMetadata", True),
        }

    def list_schemas(self, req: Request) -> Result:
        return 200, self.store.list_schemas(
            archived=req.flag("archived", False), **self._schema_flags(req)
        )

    def create_schema(self, req: Request) -> Result:
        return 201, self.store.create_schema(req.body)

    def batch_read_schemas(self, req: Request) -> Result:
        inputs = req.body.get("inputs") if isinstance(req.body, dict) else None
        refs = [i.get("id") if isinstance(i, dict) else i for i in (inputs or [])]
        results = []
        for ref in refs:
            if self.store.find_type(str(ref)) is not None:
                results.append(self.store.get_schema(str(ref)))
        return 200, {"results": results}

    def get_schema(self, req: Request) -> Result:
        return 200, self.store.get_schema(req.params[0], **self._schema_flags(req))

    def patch_schema(self, req: Request) -> Result:
        return 200, self.store.patch_schema(req.params[0], req.body)

    def delete_schema(self, req: Request) -> Result:
        self.store.delete_schema(req.params[0], purge=req.flag("archived", False))
        return 204, None

    def create_schema_association(self, req: Request) -> Result:
        return 201, self.store.create_schema_association(req.params[0], req.body)

    def delete_schema_association(self, req: Request) -> Result:
        self.store.delete_schema_association(req.params[0], req.params[1])
        return 204, None

    # Properties -----------------------------------------------------------------------------
    def list_properties(self, req: Request) -> Result:
        return 200, self.store.list_properties(req.params[0], archived=req.flag("archived", False))

    def create_property(self, req: Request) -> Result:
        return 201, self.store.create_property(req.params[0], req.body)

    def batch_create_properties(self, req: Request) -> Result:
        return self.store.batch_create_properties(req.params[0], req.body)

    def batch_read_properties(self, req: Request) -> Result:
        return self.store.batch_read_properties(req.params[0], req.body)

    def batch_archive_properties(self, req: Request) -> Result:
        self.store.batch_archive_properties(req.params[0], req.body)
        return 204, None

    def list_groups(self, req: Request) -> Result:
        return 200, self.store.list_groups(req.params[0])

    def create_group(self, req: Request) -> Result:
        return 201, self.store.create_group(req.params[0], req.body)

    def get_group(self, req: Request) -> Result:
        return 200, self.store.get_group(req.params[0], req.params[1])

    def update_group(self, req: Request) -> Result:
        return 200, self.store.update_group(req.params[0], req.params[1], req.body)

    def archive_group(self, req: Request) -> Result:
        self.store.archive_group(req.params[0], req.params[1])
        return 204, None

    def get_property(self, req: Request) -> Result:
        return 200, self.store.get_property(
            req.params[0], req.params[1], archived=req.flag("archived", False)
        )

    def update_property(self, req: Request) -> Result:
        return 200, self.store.update_property(req.params[0], req.params[1], req.body)

    def archive_property(self, req: Request) -> Result:
        self.store.archive_property(req.params[0], req.params[1])
        return 204, None

    # Records --------------------------------------------------------------------------------
    def list_records(self, req: Request) -> Result:
        return 200, self.store.list_records(
            req.params[0],
            limit=req.int_q("limit", 10),
            after=req.q("after"),
            properties=split_property_names(req.query.get("properties")),
            archived=req.flag("archived", False),
            base_url=req.base_url,
        )

    def create_record(self, req: Request) -> Result:
        return 201, self.store.create_record(req.params[0], req.body)

    def batch_create(self, req: Request) -> Result:
        return self.store.batch_create(req.params[0], req.body)

    def batch_read(self, req: Request) -> Result:
        return self.store.batch_read(req.params[0], req.body, archived=req.flag("archived", False))

    def batch_update(self, req: Request) -> Result:
        return self.store.batch_update(req.params[0], req.body)

    def batch_upsert(self, req: Request) -> Result:
        return self.store.batch_upsert(
            req.params[0], req.body, query_id_property=req.q("idProperty")
        )

    def batch_archive(self, req: Request) -> Result:
        self.store.batch_archive(req.params[0], req.body)
        return 204, None

    def search(self, req: Request) -> Result:
        return 200, self.store.search(req.params[0], req.body)

    def get_record(self, req: Request) -> Result:
        return 200, self.store.get_record(
            req.params[0],
            req.params[1],
            id_property=req.q("idProperty"),
            properties=split_property_names(req.query.get("properties")),
            archived=req.flag("archived", False),
        )

    def update_record(self, req: Request) -> Result:
        return 200, self.store.update_record(
            req.params[0], req.params[1], req.body, id_property=req.q("idProperty")
        )

    def archive_record(self, req: Request) -> Result:
        self.store.archive_record(req.params[0], req.params[1])
        return 204, None

    # Associations ---------------------------------------------------------------------------
    def associate_default(self, req: Request) -> Result:
        f, fid, t, tid = req.params
        return 200, self.store.associate_default(f, fid, t, tid)

    def associate_labelled(self, req: Request) -> Result:
        f, fid, t, tid = req.params
        return 201, self.store.associate_labelled(f, fid, t, tid, req.body)

    def delete_pair(self, req: Request) -> Result:
        f, fid, t, tid = req.params
        self.store.delete_pair(f, fid, t, tid)
        return 204, None

    def list_associations(self, req: Request) -> Result:
        f, fid, t = req.params
        return 200, self.store.list_associations(
            f, fid, t, limit=req.int_q("limit", 500), after=req.q("after")
        )

    def batch_associate_default(self, req: Request) -> Result:
        return self.store.batch_associate_default(req.params[0], req.params[1], req.body)

    def batch_create_associations(self, req: Request) -> Result:
        return self.store.batch_create_associations(req.params[0], req.params[1], req.body)

    def batch_read_associations(self, req: Request) -> Result:
        return self.store.batch_read_associations(req.params[0], req.params[1], req.body)

    def batch_archive_associations(self, req: Request) -> Result:
        started = self.store.timestamp()
        self.store.batch_archive_associations(req.params[0], req.params[1], req.body)
        return self._archived(req, started)

    def batch_archive_labels(self, req: Request) -> Result:
        started = self.store.timestamp()
        self.store.batch_archive_labels(req.params[0], req.params[1], req.body)
        return self._archived(req, started)

    def _archived(self, req: Request, started: str) -> Result:
        """Association archives: v4 answers 204; the date-based versions 200 with a
        ``BatchResponseVoid`` (status, empty results, startedAt, completedAt) [SPEC 2026-09].
        Objects' and properties' ``batch/archive`` stay 204 on both (their specs say so)."""
        if api_version(req.path) is None:
            return 204, None
        return 200, {
            "status": "COMPLETE",
            "results": [],
            "startedAt": started,
            "completedAt": self.store.timestamp(),
        }

    def list_labels(self, req: Request) -> Result:
        return 200, self.store.list_labels(req.params[0], req.params[1])

    def create_label(self, req: Request) -> Result:
        return 200, self.store.create_label(req.params[0], req.params[1], req.body)

    def update_label(self, req: Request) -> Result:
        self.store.update_label(req.params[0], req.params[1], req.body)
        return 204, None

    def delete_label(self, req: Request) -> Result:
        self.store.delete_label(req.params[0], req.params[1], req.params[2])
        return 204, None
