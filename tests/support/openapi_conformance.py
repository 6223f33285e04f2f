"""Check HTTP requests and responses against HubSpot's official OpenAPI 3.0 specs.

The specs are not part of this repository. They are read from the directory named by the
environment variable ``HUBSPOT_OPENAPI_DIR``, or by default from
``<repo>/../shared/reference/hubspot-openapi``: the legacy v1/v3/v4 specs at its top, the
date-based ones in a folder per version (``OpenApiCatalog.load_version("2026-09")``).

Typical use (for example in a fake HubSpot server, or around recorded traffic)::

    catalog = OpenApiCatalog.load()
    problems = catalog.validate_request("POST", "/crm/v3/objects/2-123/batch/upsert", body)
    problems += catalog.validate_response("POST", "/crm/v3/objects/2-123/batch/upsert", 200, resp)

``validate_*`` return a list of human-readable problems; an empty list means "conforms".
``find`` returns ``None`` for endpoints that are not in the specs; callers decide what that means.

OpenAPI 3.0 schema objects are converted to JSON Schema draft 7: ``nullable`` becomes a
``"null"`` type, ``example`` and other annotation-only keys are dropped, and boolean
``exclusiveMinimum``/``exclusiveMaximum`` become numeric. ``format`` (int64, date-time, uuid...)
is not enforced. Schema ``$ref``s are resolved by ``jsonschema``; OpenAPI-level ``$ref``s
(``components/responses``, ``components/requestBodies``) are resolved here.

The specs mark some fields required that HubSpot tolerates omitting; such problems are reported
as the spec says, and callers may filter them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError, best_match

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Paths HubSpot serves under two prefixes while the specs describe only one.
PATH_ALIASES = (("/crm/v3/schemas", "/crm-object-schemas/v3/schemas"),)

JSON_MEDIA_TYPES = ("application/json", "*/*")
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"

# Keys of an OpenAPI schema object that hold one subschema, a list of them, or a map of them.
_SUBSCHEMA_KEYS = ("items", "not", "additionalProperties")
_SUBSCHEMA_LIST_KEYS = ("allOf", "anyOf", "oneOf")
_SUBSCHEMA_MAP_KEYS = ("properties",)
# OpenAPI-only keys with no JSON Schema meaning.
_DROPPED_KEYS = ("nullable", "example", "discriminator", "xml", "externalDocs", "deprecated")

_MAX_MESSAGE = 300


class SpecsMissing(Exception):
    """The directory with HubSpot's OpenAPI specs does not exist (or holds no spec)."""


def default_spec_dir() -> Path:
    """``$HUBSPOT_OPENAPI_DIR`` if set, else ``<repo>/../shared/reference/hubspot-openapi``."""
    override = os.environ.get("HUBSPOT_OPENAPI_DIR")
    if override:
        return Path(override)
    repo = Path(__file__).resolve().parents[2]
    return repo.parent / "shared" / "reference" / "hubspot-openapi"


@dataclass(frozen=True)
class Operation:
    """One ``method`` + templated ``path`` from one spec file."""

    method: str  # upper case, e.g. "POST"
    path: str  # template, e.g. "/crm/v3/objects/{objectType}/batch/upsert"
    spec_file: str  # file name the operation was read from
    operation: dict[str, Any] = field(repr=False, compare=False)
    document: dict[str, Any] = field(repr=False, compare=False)

    @property
    def operation_id(self) -> str | None:
        return self.operation.get("operationId")

    @property
    def segments(self) -> list[str]:
        return _segments(self.path)

    def path_params(self, concrete_path: str) -> dict[str, str]:
        """Values of the ``{params}`` of this template in a matching concrete path."""
        pairs = zip(self.segments, _segments(_clean_path(concrete_path)), strict=False)
        return {t[1:-1]: c for t, c in pairs if _is_param(t)}


class OpenApiCatalog:
    """All operations of all spec files in one directory."""

    def __init__(self, operations: list[Operation]):
        self.operations = operations
        self._validators: dict[tuple[str, ...], Draft7Validator] = {}
        self._components: dict[str, dict[str, Any]] = {}  # spec file -> converted schemas

    @classmethod
    def load_version(cls, version: str, directory: Path | None = None) -> OpenApiCatalog:
        """The specs of one date-based API version (``<spec dir>/<version>/*.json``)."""
        base = Path(directory) if directory is not None else default_spec_dir()
        return cls.load(base / version)

    @classmethod
    def load(cls, directory: Path | None = None) -> OpenApiCatalog:
        directory = Path(directory) if directory is not None else default_spec_dir()
        if not directory.is_dir():
            raise SpecsMissing(f"HubSpot OpenAPI specs not found in {directory}")
        files = sorted(directory.glob("*.json"))
        if not files:
            raise SpecsMissing(f"no *.json OpenAPI specs in {directory}")
        operations = []
        for spec_file in files:
            document = json.loads(spec_file.read_text(encoding="utf-8"))
            for template, path_item in document.get("paths", {}).items():
                for method, operation in path_item.items():
                    if method in HTTP_METHODS:
                        operations.append(
                            Operation(method.upper(), template, spec_file.name, operation, document)
                        )
        return cls(operations)

    # ---- path matching -------------------------------------------------------------------

    def find(self, method: str, path: str) -> Operation | None:
        """The operation serving a concrete path (full URL or path, query string ignored).

        Templates are matched segment by segment; a literal segment beats a ``{param}``, from
        left to right. Known path aliases (``/crm/v3/schemas``) are tried when the path as
        given matches nothing.
        """
        path = _clean_path(path)
        for candidate in (path, *_aliases_of(path)):
            found = self._find_exact(method.upper(), _segments(candidate))
            if found is not None:
                return found
        return None

    def _find_exact(self, method: str, segments: list[str]) -> Operation | None:
        best: Operation | None = None
        best_rank: tuple[bool, ...] = ()
        for op in self.operations:
            if op.method != method or not _template_matches(op.segments, segments):
                continue
            rank = tuple(not _is_param(s) for s in op.segments)  # True (literal) > False
            if best is None or rank > best_rank:
                best, best_rank = op, rank
        return best

    # ---- validation ----------------------------------------------------------------------

    def validate_request(
        self, method: str, path: str, body: Any, content_type: str | None = None
    ) -> list[str]:
        """Problems with a request body (parsed JSON, a form dict/string, or None)."""
        op = self.find(method, path)
        if op is None:
            return [f"{method.upper()} {_clean_path(path)}: not described by the OpenAPI specs"]
        where = f"{op.method} {op.path} request"
        request_body = _deref(op.document, op.operation.get("requestBody"))
        if request_body is None:
            return [] if body is None else [f"{where}: the operation takes no request body"]
        if body is None:
            return [f"{where}: a body is required"] if request_body.get("required") else []

        content = request_body.get("content", {})
        media = _pick_request_media(content, body, content_type)
        if media is None:
            return [f"{where}: no declared media type fits (declared: {sorted(content)})"]
        if media == FORM_MEDIA_TYPE:
            body = _form_fields(body)
        schema = content[media].get("schema")
        if schema is None:
            return []
        return self._check(op, "request", media, schema, body, where)

    def validate_response(self, method: str, path: str, status: int, body: Any) -> list[str]:
        """Problems with a response body (parsed JSON or None) for an HTTP status."""
        op = self.find(method, path)
        if op is None:
            return [f"{method.upper()} {_clean_path(path)}: not described by the OpenAPI specs"]
        where = f"{op.method} {op.path} response {status}"
        responses = op.operation.get("responses", {})
        declared = sorted(k for k in responses if k != "default")
        key = str(status)
        if key not in responses:
            if "default" not in responses:
                return [f"{where}: status not declared (declared: {declared})"]
            default = _deref(op.document, responses["default"])
            if status < 400 and _is_error_response(default):
                return [
                    f"{where}: status not declared (declared: {declared}); "
                    "`default` only describes errors"
                ]
            key = "default"

        response = _deref(op.document, responses[key])
        content = response.get("content") or {}
        if not content:
            return [] if body in (None, "", b"") else [f"{where}: no body expected"]
        media = next((m for m in JSON_MEDIA_TYPES if m in content), None)
        if media is None:
            return []  # non-JSON responses are not checked
        schema = content[media].get("schema")
        if schema is None:
            return []
        if body is None:
            return [f"{where}: a JSON body is expected"]
        return self._check(op, key, media, schema, body, where)

    def _check(
        self, op: Operation, part: str, media: str, schema: dict, instance: Any, where: str
    ) -> list[str]:
        cache_key = (op.spec_file, op.method, op.path, part, media)
        validator = self._validators.get(cache_key)
        if validator is None:
            if op.spec_file not in self._components:
                schemas = op.document.get("components", {}).get("schemas", {})
                self._components[op.spec_file] = {n: to_json_schema(s) for n, s in schemas.items()}
            validator = _validator_for(self._components[op.spec_file], schema)
            self._validators[cache_key] = validator
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.path)))
        return [f"{where}: {_describe(e)}" for e in errors]


# ---- helpers -------------------------------------------------------------------------------


def _clean_path(path: str) -> str:
    path = urlsplit(path).path or "/"
    return path if path == "/" else path.rstrip("/")


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def _is_param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def _template_matches(template: list[str], concrete: list[str]) -> bool:
    return len(template) == len(concrete) and all(
        _is_param(t) or t == c for t, c in zip(template, concrete, strict=True)
    )


def _aliases_of(path: str) -> list[str]:
    out = []
    for alias, canonical in PATH_ALIASES:
        if path == alias or path.startswith(alias + "/"):
            out.append(canonical + path[len(alias) :])
    return out


def _deref(document: dict, obj: Any) -> Any:
    """Follow OpenAPI-level local ``$ref``s (responses, requestBodies, parameters)."""
    seen = set()
    while isinstance(obj, dict) and "$ref" in obj:
        ref = obj["$ref"]
        if not ref.startswith("#/") or ref in seen:
            raise ValueError(f"unsupported or cyclic $ref {ref!r}")
        seen.add(ref)
        obj = document
        for part in ref[2:].split("/"):
            obj = obj[part.replace("~1", "/").replace("~0", "~")]
    return obj


def _is_error_response(response: dict) -> bool:
    for media in (response.get("content") or {}).values():
        ref = (media.get("schema") or {}).get("$ref", "")
        if ref.endswith("/Error"):
            return True
    return False


def _pick_request_media(content: dict, body: Any, content_type: str | None) -> str | None:
    if content_type:
        wanted = content_type.split(";")[0].strip().lower()
        return wanted if wanted in content else None
    if isinstance(body, (str, bytes)) and FORM_MEDIA_TYPE in content:
        return FORM_MEDIA_TYPE
    for media in (*JSON_MEDIA_TYPES, FORM_MEDIA_TYPE):
        if media in content:
            return media
    return None


def _form_fields(body: Any) -> Any:
    """A form body as a dict of strings (a repeated field keeps its last value)."""
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    if isinstance(body, str):
        return dict(parse_qsl(body, keep_blank_values=True))
    return body


def to_json_schema(schema: Any) -> Any:
    """Convert an OpenAPI 3.0 schema object (recursively) to JSON Schema draft 7."""
    if not isinstance(schema, dict):
        return schema
    out = {k: v for k, v in schema.items() if k not in _DROPPED_KEYS}
    for key in _SUBSCHEMA_KEYS:
        if isinstance(out.get(key), dict):
            out[key] = to_json_schema(out[key])
    for key in _SUBSCHEMA_LIST_KEYS:
        if key in out:
            out[key] = [to_json_schema(s) for s in out[key]]
    for key in _SUBSCHEMA_MAP_KEYS:
        if key in out:
            out[key] = {name: to_json_schema(s) for name, s in out[key].items()}
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        exclusive = out.get(bound)
        if isinstance(exclusive, bool):  # OpenAPI 3.0 / draft 4 style: a flag on the limit
            del out[bound]
            if exclusive and limit in out:
                out[bound] = out.pop(limit)
    if schema.get("nullable") is True and "$ref" not in out:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


def _validator_for(components: dict[str, Any], schema: dict) -> Draft7Validator:
    """A validator for ``schema`` whose ``#/components/schemas/...`` refs resolve.

    The root is a wrapper: ``allOf`` holds the schema, and ``components`` (an unknown keyword,
    so ignored by validation) is the target of the spec's local ``$ref``s.
    """
    root = {"allOf": [to_json_schema(schema)], "components": {"schemas": components}}
    return Draft7Validator(root)


def _describe(error: ValidationError) -> str:
    """``$.a[0].b: message``; for oneOf/anyOf, the closest alternative's first problem."""
    message = error.message
    if error.validator in ("oneOf", "anyOf"):
        message = f"matches none of the {error.validator} alternatives"
        closest = best_match(error.context) if error.context else None
        if closest is not None:
            message += f" (closest: {_json_path(closest.absolute_path)}: {closest.message})"
    return f"{_json_path(error.absolute_path)}: {_short(message)}"


def _json_path(path) -> str:
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _short(message: str) -> str:
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 3] + "..."
