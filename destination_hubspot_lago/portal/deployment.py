"""Deploy the declared model (``portal/model.py``) into a portal: additive, idempotent, adoptive.

Find what exists, create only what is missing, never delete or retype. Objects and
properties are matched by internal name, so a model deployed by Lago's native
integration is adopted as it is. A second deployment against the same portal reads
and changes nothing. With ``dry_run`` the plan is computed from reads only.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from ..hubspot import HubSpotClient, HubSpotError
from .model import (
    ASSOCIATED_OBJECT_NAMES,
    MODEL,
    CustomObjectSpec,
    HubSpotModel,
    PropertySpec,
    StandardObjectSpec,
)
from .preflight import Portal, PreflightProblem, missing_scopes_message, probe_record_access

logger = logging.getLogger("airbyte")


class ModelConflict(Exception):
    """The portal holds something our model cannot live with; the message says what to do."""


@dataclass
class Deployment:
    """What the model looks like in this portal, and what deploying it did (or would do)."""

    dry_run: bool = False
    portal_id: int | None = None
    object_type_ids: dict[str, str | None] = field(default_factory=dict)
    # (from object key, to object key) -> association type id from -> to, for every pair a
    # custom object's ``associated_with`` names (standard objects or other custom objects)
    association_type_ids: dict[tuple[str, str], int] = field(default_factory=dict)
    created_objects: list[str] = field(default_factory=list)
    adopted_objects: list[str] = field(default_factory=list)
    created_properties: dict[str, list[str]] = field(default_factory=dict)
    updated_properties: dict[str, list[str]] = field(default_factory=dict)
    created_associations: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.created_objects
            or self.created_properties
            or self.updated_properties
            or self.created_associations
        )

    def summary(self) -> str:
        verb = "would create" if self.dry_run else "created"
        parts = []
        if self.created_objects:
            parts.append(f"{verb} " + ", ".join(self.created_objects))
        if self.adopted_objects:
            parts.append("adopted existing " + ", ".join(self.adopted_objects))
        if self.created_properties:
            count = sum(len(v) for v in self.created_properties.values())
            where = ", ".join(f"{k} {len(v)}" for k, v in self.created_properties.items())
            parts.append(f"{'would add' if self.dry_run else 'added'} {count} properties ({where})")
        if self.updated_properties:
            names = ", ".join(f"{k}.{n}" for k, v in self.updated_properties.items() for n in v)
            parts.append(f"{'would add' if self.dry_run else 'added'} options to {names}")
        if self.created_associations:
            parts.append(f"{verb} associations " + ", ".join(self.created_associations))
        if not self.changed:
            parts.append("nothing to change")
        portal = f" on portal {self.portal_id}" if self.portal_id else ""
        prefix = (
            f"Dry run: HubSpot model plan{portal}: "
            if self.dry_run
            else f"HubSpot model ready{portal}: "
        )
        return prefix + "; ".join(parts) + "."


def deploy_model(
    client: HubSpotClient,
    portal: Portal | None = None,
    model: HubSpotModel = MODEL,
    dry_run: bool = False,
) -> Deployment:
    """Deploy ``model``; a 403 ``MISSING_SCOPES`` on any step is a :class:`PreflightProblem`
    naming the scopes HubSpot asked for.

    The record-scope probes of a Service Key (reads of the custom objects — the standard ones
    were read by the preflight — and writes of every object unless this is a dry run) run
    beside the deployment's own reads when every custom object exists already (every sync
    but the first), and as soon as the missing ones are created otherwise (beside their
    properties and associations); after the deployment only in a dry run that would create
    them."""
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="probes") as side:
            early: list[Future[None]] = []

            def start_probes(type_ids: Mapping[str, str]) -> None:
                early.append(side.submit(_probe_access, client, model, type_ids, dry_run))

            deployment = _deploy(client, portal, model, dry_run, start_probes)
            if early:
                early[0].result()
            else:
                _probe_access(client, model, deployment.object_type_ids, dry_run)
    except HubSpotError as error:
        if error.status == 403 and error.missing_scopes:
            raise PreflightProblem(missing_scopes_message([error.missing_scopes])) from None
        raise
    return deployment


def _probe_access(
    client: HubSpotClient, model: HubSpotModel, type_ids: Mapping[str, str | None], dry_run: bool
) -> None:
    custom_ids = [t for s in model.custom if (t := type_ids.get(s.key))]
    standard_ids = [s.object_type_id for s in model.standard]
    writes = [] if dry_run else [*standard_ids, *custom_ids]
    probe_record_access(client, reads=custom_ids, writes=writes)


def _deploy(
    client: HubSpotClient,
    portal: Portal | None,
    model: HubSpotModel,
    dry_run: bool,
    every_object_exists: Callable[[Mapping[str, str]], None] = lambda type_ids: None,
) -> Deployment:
    deployment = Deployment(dry_run=dry_run)
    for standard in model.standard:
        deployment.object_type_ids[standard.key] = standard.object_type_id

    schemas = _list_schemas(client)
    found: dict[str, Any] = {spec.key: _find_schema(schemas, spec) for spec in model.custom}
    missing = [spec for spec in model.custom if found[spec.key] is None]
    _check_capacity(portal, missing)
    reads = _Reads(client)
    if not missing:
        every_object_exists({key: str(schema["objectTypeId"]) for key, schema in found.items()})
    reads.prefetch(_expected_reads(client, schemas, model))
    standard_writes = [
        write
        for standard in model.standard
        if (
            write := _property_writes(
                reads,
                deployment,
                standard,
                standard.object_type_id,
                standard.properties,
                standard.group_name,
            )
        )
        is not None
    ]
    # The standard objects' properties need nothing the custom objects make: their writes go
    # beside the custom objects' properties and associations (a round trip each saved on a
    # first sync) — once every custom object exists, so that a portal refusing to create one
    # (a missing scope, a full portal) is left as it was.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="deploy") as side:
        started: list[Future[None]] = []

        def start_standard_writes() -> None:
            if not started:
                started.extend(side.submit(write) for write in standard_writes)

        def created(type_ids: Mapping[str, str]) -> None:  # every custom object exists now
            every_object_exists(type_ids)
            start_standard_writes()

        if not missing:
            start_standard_writes()
        _deploy_custom(client, reads, deployment, model, schemas, found, missing, created)
        start_standard_writes()  # (a dry run plans them and writes nothing)
        for written in started:
            written.result()
    return deployment


def _deploy_custom(
    client: HubSpotClient,
    reads: _Reads,
    deployment: Deployment,
    model: HubSpotModel,
    schemas: list[dict[str, Any]],
    found: Mapping[str, Any],
    missing: Sequence[CustomObjectSpec],
    created_them: Callable[[Mapping[str, str]], None],
) -> None:
    """The custom objects: created where missing (then ``created_them`` is told every custom
    object's type id), their properties and associations."""
    dry_run = deployment.dry_run
    created = {} if dry_run else _create_schemas(client, missing)
    if created:  # the new objects' properties and their standard pairs' labels, at once
        created_them(
            {
                spec.key: str((found[spec.key] or created[spec.key])["objectTypeId"])
                for spec in model.custom
            }
        )
        reads.prefetch(_expected_reads(client, [*schemas, *created.values()], model))

    deployed: dict[str, Mapping[str, Any]] = {}
    for spec in model.custom:
        schema = found[spec.key]
        if schema is None:
            if dry_run:
                deployment.created_objects.append(spec.name)
                deployment.object_type_ids[spec.key] = None
                continue
            schema = created[spec.key]
            deployment.created_objects.append(f"{spec.name} ({schema['objectTypeId']})")
        else:
            deployment.adopted_objects.append(f"{spec.name} ({schema['objectTypeId']})")
        type_id = str(schema["objectTypeId"])
        deployment.object_type_ids[spec.key] = type_id
        deployed[spec.key] = schema
        write = _property_writes(reads, deployment, spec, type_id, spec.properties, None)
        if write is not None:
            write()
    # After every object exists: an association may join two custom objects.
    for spec in model.custom:
        if spec.key in deployed:
            _ensure_associations(reads, deployment, spec, deployed[spec.key], deployed)


class _Reads:
    """GETs of the deployment, fetched concurrently up front (each costs a round trip)."""

    def __init__(self, client: HubSpotClient) -> None:
        self.client = client
        self._futures: dict[str, Future[Any]] = {}

    def prefetch(self, paths: Iterable[str]) -> None:
        """GET the paths not fetched yet, concurrently (the answers are kept, not shared)."""
        paths = [p for p in dict.fromkeys(paths) if p not in self._futures]
        if not paths:
            return
        with ThreadPoolExecutor(max_workers=min(16, len(paths))) as pool:
            fetched = {path: pool.submit(self.client.get, path) for path in paths}
            wait(fetched.values())
        self._futures.update(fetched)

    def refetch(self, paths: Iterable[str]) -> None:
        """GET ``paths`` again, concurrently (what a write just changed)."""
        for path in paths:
            self._futures.pop(path, None)
        self.prefetch(paths)

    def get(self, path: str, fresh: bool = False) -> Any:
        future = None if fresh else self._futures.get(path)
        return future.result() if future is not None else self.client.get(path)


def _expected_reads(
    client: HubSpotClient, schemas: list[dict[str, Any]], model: HubSpotModel
) -> list[str]:
    """Property lists of every existing object, association labels of existing pairs."""
    paths = [client.paths.properties(s.object_type_id) for s in model.standard]
    existing: dict[str, str] = {
        spec.key: str(schema["objectTypeId"])
        for spec in model.custom
        if (schema := _find_schema(schemas, spec)) is not None
    }
    standard: dict[str, str] = {s.key: s.object_type_id for s in model.standard}
    for spec in model.custom:
        if spec.key not in existing:
            continue
        paths.append(client.paths.properties(existing[spec.key]))
        for other in spec.associated_with:
            other_id = standard.get(other) or existing.get(other)
            if other_id is not None:
                paths.append(client.paths.association_labels(existing[spec.key], other_id))
            if other in existing:  # custom <-> custom: both directions are read
                paths.append(client.paths.association_labels(existing[other], existing[spec.key]))
    return paths


# -- custom object schemas ------------------------------------------------------------


def _list_schemas(client: HubSpotClient) -> list[dict[str, Any]]:
    answer = client.get(client.paths.schemas(), params={"includeAssociationDefinitions": "true"})
    return list((answer or {}).get("results") or [])


def _find_schema(schemas: Iterable[Mapping[str, Any]], spec: CustomObjectSpec) -> Any:
    wanted = spec.name.lower()
    for schema in schemas:
        if schema.get("archived"):
            continue
        name = str(schema.get("name", "")).lower()
        fqn = str(schema.get("fullyQualifiedName", "")).lower()
        if name == wanted or fqn.endswith("_" + wanted):
            return schema
    return None


def _check_capacity(portal: Portal | None, missing: list[CustomObjectSpec]) -> None:
    if not missing or portal is None or portal.custom_object_limit is None:
        return
    limit, usage = portal.custom_object_limit, portal.custom_object_usage or 0
    names = " and ".join(spec.name for spec in missing)
    if limit == 0:
        raise ModelConflict(
            f"This HubSpot portal cannot hold custom objects, which {names} are. Custom "
            "objects need a HubSpot Enterprise plan (e.g. Sales Hub Enterprise): upgrade "
            "the portal or connect an Enterprise portal."
        )
    if usage + len(missing) > limit:
        raise ModelConflict(
            f"This portal already uses {usage} of its {limit} custom objects, so {names} "
            "cannot be created. Delete an unused custom object in HubSpot (Settings > Data "
            "Management > Objects), then run check again."
        )


def _create_schemas(
    client: HubSpotClient, missing: Sequence[CustomObjectSpec]
) -> dict[str, dict[str, Any]]:
    """Create the missing custom objects, in the model's order (HubSpot numbers them in the
    order they arrive: the same portal state gives the same ids); spec key -> its schema as
    read back."""
    created: dict[str, dict[str, Any]] = {}
    for spec in missing:
        schema = _create_schema(client, spec)
        logger.info("Created HubSpot custom object %s (%s)", spec.name, schema.get("objectTypeId"))
        created[spec.key] = schema
    return created


def _create_schema(client: HubSpotClient, spec: CustomObjectSpec) -> dict[str, Any]:
    try:
        created = client.post(client.paths.schemas(), _schema_body(spec))
    except HubSpotError as error:
        if error.status != 409:
            if error.status == 403 and not error.missing_scopes:
                raise ModelConflict(
                    f"HubSpot refused to create the custom object {spec.name} "
                    f"({error.category or 403}: {error.message}). Custom objects need a "
                    "HubSpot Enterprise plan; with OAuth, the authorizing user must be allowed to "
                    "edit the portal's objects (e.g. a Super Admin)."
                ) from None
            raise
        # Someone (another run, Lago's integration) created it meanwhile: adopt theirs.
        existing = _find_schema(_list_schemas(client), spec)
        if existing is None:
            raise
        return dict(existing)
    # HubSpot documents no propagation delay; still, do not use the id before it reads back.
    for delay in (0.0, 0.5, 1.0, 2.0, 4.0):
        time.sleep(delay)
        try:
            return dict(client.get(client.paths.schemas(str(created["objectTypeId"]))))
        except HubSpotError as error:
            if error.status not in (400, 404):
                raise
    return dict(created)


def _schema_body(spec: CustomObjectSpec) -> dict[str, Any]:
    """The ``ObjectSchemaEgg``: associations to standard objects are made with the schema,
    those to other custom objects afterwards (the other may not exist yet). Version 2026-09
    requires ``allowsSensitiveProperties``."""
    standard_only = tuple(k for k in spec.associated_with if k in ASSOCIATED_OBJECT_NAMES)
    body = dataclasses.replace(spec, associated_with=standard_only).create_body()
    body.setdefault("allowsSensitiveProperties", False)
    return body


def _ensure_associations(
    reads: _Reads,
    deployment: Deployment,
    spec: CustomObjectSpec,
    schema: Mapping[str, Any],
    deployed: Mapping[str, Mapping[str, Any]],
) -> None:
    """Make sure ``spec`` can be associated with each object its ``associated_with`` names
    (a standard object key, or another custom object's key) and record the type ids."""
    client = reads.client
    own_id = str(schema["objectTypeId"])
    definitions = list(schema.get("associations") or [])
    for other_key in spec.associated_with:
        other_id = deployment.object_type_ids.get(other_key)
        pair = f"{spec.name}\u2194{other_key}"
        if other_id is None:
            if other_key not in deployment.object_type_ids:
                raise ModelConflict(  # a model bug, caught by the unit tests
                    f"{spec.name} is declared associated with unknown object '{other_key}'."
                )
            deployment.created_associations.append(pair)  # dry run: the other is not there yet
            continue
        other_schema = deployed.get(other_key) or {}
        linked = any(
            {str(d.get("fromObjectTypeId")), str(d.get("toObjectTypeId"))} == {own_id, other_id}
            for d in [*definitions, *(other_schema.get("associations") or [])]
        )
        if not linked and (other_key, spec.key) in deployment.association_type_ids:
            linked = True  # made a moment ago from the other side
        if not linked:
            if deployment.dry_run:
                deployment.created_associations.append(pair)
                continue
            client.post(
                client.paths.schemas(own_id, "associations"),
                {
                    "fromObjectTypeId": own_id,
                    "toObjectTypeId": other_id,
                    "name": f"{spec.name.lower()}_to_{other_key.rstrip('s')}",
                },
            )
            deployment.created_associations.append(pair)
        path = client.paths.association_labels(own_id, other_id)
        back = client.paths.association_labels(other_id, own_id)
        both = other_key not in ASSOCIATED_OBJECT_NAMES  # custom <-> custom: both directions
        if not linked:  # just made: its labels read again, both directions at once
            reads.refetch([path, back] if both else [path])
        type_id = _association_type_id(reads, path)
        if type_id is not None:
            deployment.association_type_ids[(spec.key, other_key)] = type_id
        if both:
            back_id = _association_type_id(reads, back)
            if back_id is not None:
                deployment.association_type_ids[(other_key, spec.key)] = back_id


def _association_type_id(reads: _Reads, labels_path: str) -> int | None:
    """The unlabeled (default) association type of a pair's labels, if any."""
    answer = reads.get(labels_path)
    labels = list((answer or {}).get("results") or [])
    unlabeled = [lbl for lbl in labels if not lbl.get("label")]
    chosen = (unlabeled or labels or [None])[0]
    return int(chosen["typeId"]) if chosen else None


# -- properties -----------------------------------------------------------------------


def _property_writes(
    reads: _Reads,
    deployment: Deployment,
    owner: CustomObjectSpec | StandardObjectSpec,
    type_id: str,
    specs: Iterable[PropertySpec],
    group_name: str | None,
) -> Callable[[], None] | None:
    """Compare ``owner``'s properties in HubSpot with ``specs`` and note in ``deployment``
    what is to change (on the calling thread); answer the writes that change it (HTTP only,
    for any thread; a refusal is a :class:`ModelConflict`), or None when nothing is to write."""
    client = reads.client
    answer = reads.get(client.paths.properties(type_id))
    existing = {p["name"]: p for p in (answer or {}).get("results") or [] if "name" in p}
    conflicts: list[str] = []
    to_create: list[PropertySpec] = []
    patches: list[tuple[str, list[dict[str, Any]]]] = []  # (property, its options as wanted)
    for spec in specs:
        current = existing.get(spec.name)
        if current is None:
            to_create.append(spec)
            continue
        problem = _incompatibility(spec, current, owner.id_property)
        if problem:
            conflicts.append(f"{owner.label}.{spec.name} {problem}")
            continue
        missing_options = _missing_options(spec, current)
        if missing_options:
            deployment.updated_properties.setdefault(owner.label, []).append(spec.name)
            patches.append((spec.name, list(current.get("options") or []) + missing_options))
    if conflicts:
        raise ModelConflict(
            "HubSpot already has properties this connector cannot use: "
            + "; ".join(conflicts)
            + ". HubSpot cannot change a property's type or uniqueness: rename or delete "
            "those properties in HubSpot (Settings > Properties), then run check again."
        )
    if to_create:
        names = [s.name for s in to_create]
        deployment.created_properties.setdefault(owner.label, []).extend(names)
    if deployment.dry_run or not (patches or to_create):
        return None
    group = group_name or _group_of(existing.get(owner.id_property)) or _default_group(owner)
    inputs = [spec.create_body(group) for spec in to_create]

    def write() -> None:
        for name, options in patches:
            client.patch(client.paths.properties(type_id, name), {"options": options})
        if not inputs:
            return
        answer = client.post(client.paths.properties(type_id, "batch/create"), {"inputs": inputs})
        errors = [e for e in (answer or {}).get("errors") or [] if not _already_exists(e)]
        if errors:
            first = errors[0]
            raise ModelConflict(
                f"HubSpot refused to create properties on {owner.label}: "
                f"{first.get('category', '')} {first.get('message', '')}. Check the portal's "
                "custom property limit and the user's permissions, then run check again."
            )
        logger.info("Added %d properties to %s", len(inputs), owner.label)

    return write


def _incompatibility(spec: PropertySpec, current: Mapping[str, Any], id_property: str) -> str:
    have_type = str(current.get("type", ""))
    compatible = have_type == spec.type or (
        # A boolean kept as an enumeration checkbox stores the same "true"/"false" values.
        spec.type == "bool" and have_type == "enumeration"
    )
    if not compatible:
        return f"exists with type '{have_type}', but this connector writes '{spec.type}'"
    metadata = current.get("modificationMetadata") or {}
    if current.get("calculated") or metadata.get("readOnlyValue"):
        return "exists as a read-only (calculated) property"
    if spec.name == id_property and not current.get("hasUniqueValue"):
        return "exists without unique values, so records cannot be upserted by it"
    return ""


def _missing_options(spec: PropertySpec, current: Mapping[str, Any]) -> list[dict[str, Any]]:
    if spec.type != "enumeration":
        return []
    have = {str(o.get("value")) for o in current.get("options") or []}
    start = len(have)
    return [
        {**body, "displayOrder": start + i + 1}
        for i, body in enumerate(b for b in spec.option_bodies() if b["value"] not in have)
    ]


def _group_of(prop: Mapping[str, Any] | None) -> str | None:
    return str(prop["groupName"]) if prop and prop.get("groupName") else None


def _default_group(owner: CustomObjectSpec | StandardObjectSpec) -> str:
    if isinstance(owner, CustomObjectSpec):
        return owner.default_group
    return owner.group_name


def _already_exists(error: Mapping[str, Any]) -> bool:
    return str(error.get("category", "")) == "OBJECT_ALREADY_EXISTS"
