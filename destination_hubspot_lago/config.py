"""The typed configuration (spec.json `connectionSpecification`) with actionable messages."""

from __future__ import annotations

import ipaddress
import typing
from collections.abc import Mapping
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from .hubspot import Auth, OAuthAuth, PrivateAppAuth
from .hubspot.api import API_VERSIONS, Api

DEFAULT_API_BASE_URL = "https://api.hubapi.com"
DEFAULT_LAGO_FRONT_URL = "https://app.getlago.com"


class ConfigError(ValueError):
    """The configuration cannot work; the message names every wrong field, each with its fix."""


class OAuthCredentials(BaseModel):
    model_config = ConfigDict(extra="ignore")
    credentials_title: Literal["OAuth Credentials"]
    client_id: str = Field(min_length=1)
    client_secret: str = Field(min_length=1)
    refresh_token: str = Field(min_length=1)

    def auth(self) -> Auth:
        return OAuthAuth(self.client_id, self.client_secret, self.refresh_token)


class PrivateAppCredentials(BaseModel):
    """A static token: a Service Key, or a legacy Private App token (same bearer use).

    ``credentials_title`` stays ``Private App Credentials`` (spec.json's const) so
    configurations saved before Service Keys existed keep working unchanged; only the
    option's title and help in the UI say "Service Key".
    """

    model_config = ConfigDict(extra="ignore")
    credentials_title: Literal["Private App Credentials"]
    access_token: str = Field(min_length=1)

    def auth(self) -> Auth:
        return PrivateAppAuth(self.access_token)


Credentials = Annotated[
    OAuthCredentials | PrivateAppCredentials, Field(discriminator="credentials_title")
]


class NoObjectStorage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    storage_type: Literal["None"]


class S3ObjectStorage(BaseModel):
    """Where rejected records are stored (shaped as Airbyte's own HubSpot destination)."""

    model_config = ConfigDict(extra="ignore")
    storage_type: Literal["S3"]
    access_key_id: str | None = None
    secret_access_key: str | None = None
    s3_bucket_name: str
    s3_bucket_region: str = ""
    s3_endpoint: str | None = None
    bucket_path: str = ""

    @field_validator("access_key_id", "secret_access_key", "s3_endpoint", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return value.strip() or None if isinstance(value, str) else value

    @field_validator("s3_bucket_name")
    @classmethod
    def _bucket_name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("required for S3 storage: the name of an existing bucket")
        if not 3 <= len(value) <= 63 or any(ch in value for ch in "/\\ ?#:"):
            raise ValueError(
                "must be a bucket name only (3 to 63 characters, no '/', ':' or spaces): "
                "put any folder in bucket_path"
            )
        return value

    @field_validator("s3_bucket_region")
    @classmethod
    def _region(cls, value: str) -> str:
        value = value.strip()
        if value and any(not (ch.isalnum() or ch == "-") for ch in value):
            raise ValueError("must be a region code such as us-east-1 (or empty)")
        return value

    @field_validator("s3_endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                "must be an absolute URL such as https://s3.eu-west-1.amazonaws.com or "
                "http://localhost:9000, or empty for AWS S3"
            )
        if parts.username or parts.password or parts.query or parts.fragment:
            raise ValueError("must not carry credentials, a query string or a fragment")
        return value.rstrip("/")

    @field_validator("bucket_path")
    @classmethod
    def _bucket_path(cls, value: str) -> str:
        return value.strip().strip("/")

    @model_validator(mode="after")
    def _keys_come_in_pairs(self) -> S3ObjectStorage:
        problem = _unpaired_key(self.access_key_id, self.secret_access_key)
        if problem:
            raise ValueError(problem)
        return self


def _unpaired_key(access_key_id: Any, secret_access_key: Any) -> str | None:
    """``"<field>: <fix>"`` when only one of the two keys is given (blank counts as none)."""

    def given(value: Any) -> bool:
        return value is not None and not (isinstance(value, str) and not value.strip())

    if given(access_key_id) == given(secret_access_key):
        return None
    missing, other = (
        ("secret_access_key", "access_key_id")
        if given(access_key_id)
        else ("access_key_id", "secret_access_key")
    )
    return (
        f"{missing}: required with {other} "
        "(give both, or neither to use the environment's AWS credentials)"
    )


ObjectStorage = Annotated[NoObjectStorage | S3ObjectStorage, Field(discriminator="storage_type")]


class _Rewrites(BaseModel):
    """What every change-tracking option shares (issue 19)."""

    # Every this many days, the sync writes every record again (0: never).
    full_rewrite_every_days: int = Field(default=7, ge=0)


class S3ChangeTracking(S3ObjectStorage, _Rewrites):
    """The change-tracking ledger in a bucket: the fields and rules of rejected records' S3."""


class LocalChangeTracking(_Rewrites):
    """The change-tracking ledger in a directory (a volume mounted into the container)."""

    model_config = ConfigDict(extra="ignore")
    storage_type: Literal["Local"]
    path: str

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError(
                "required for Local storage: a directory, e.g. /local/hubspot-lago "
                "(in docker, on a mounted volume)"
            )
        if "\x00" in value:
            raise ValueError("must be a directory path (it holds a NUL character)")
        return value


ChangeTrackingStorage = Annotated[
    S3ChangeTracking | LocalChangeTracking, Field(discriminator="storage_type")
]
ChangeTracking = S3ChangeTracking | LocalChangeTracking


def _tracking_off_is_none(value: Any) -> Any:
    """``{"storage_type": "None"}`` (change tracking off) is the same as no option at all."""
    if isinstance(value, Mapping) and value.get("storage_type") == "None":
        return None
    return value


class DestinationConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")

    credentials: Credentials
    default_targeted_object: Literal["companies", "contacts"] = "companies"
    connection_code: str | None = None
    lago_front_url: str = DEFAULT_LAGO_FRONT_URL
    lago_organization_slug: str | None = None
    # Strict: JSON's true/false only ("yes", "1" or 1 would silently mean true).
    sync_subscriptions: StrictBool = True
    # docs/product.md §8: what to do with LagoSubscriptions records that stopped arriving.
    terminated_subscriptions: Literal["reconcile", "always", "off"] = "reconcile"
    sync_invoices: StrictBool = True
    dry_run: StrictBool = False
    api_base_url: str = DEFAULT_API_BASE_URL
    max_requests_per_10_seconds: StrictInt | None = Field(default=None, ge=1, le=1000)
    object_storage_config: ObjectStorage | None = None
    # Issue 19: where the ledger of what HubSpot already holds is kept; None: every record is
    # written every sync ("None" in spec.json is parsed to None).
    change_tracking: Annotated[
        ChangeTrackingStorage | None, BeforeValidator(_tracking_off_is_none)
    ] = None

    @property
    def rejected_records_storage(self) -> S3ObjectStorage | None:
        """The bucket for rejected records, when one is configured."""
        storage = self.object_storage_config
        return storage if isinstance(storage, S3ObjectStorage) else None

    # hubspot/api.py's API_VERSIONS (a unit test keeps the two and spec.json equal).
    hubspot_api_version: Literal["2026-09", "2026-03"] = "2026-09"

    @property
    def api(self) -> Api:
        """The path builders of the configured HubSpot API version."""
        return Api(self.hubspot_api_version)

    @field_validator("connection_code", "lago_organization_slug", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    @field_validator("lago_organization_slug")
    @classmethod
    def _slug_is_one_segment(cls, value: str | None) -> str | None:
        if value is not None and any(ch in value for ch in "/?#\\ "):
            raise ValueError("must be a single URL path segment (no '/', '?', '#' or spaces)")
        return value

    @field_validator("lago_front_url")
    @classmethod
    def _front_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an absolute http(s) URL such as https://app.getlago.com")
        if parts.query or parts.fragment:
            raise ValueError("must not carry a query string or fragment")
        return value.strip().rstrip("/")

    @field_validator("api_base_url")
    @classmethod
    def _api_base_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an absolute URL such as https://api.hubapi.com")
        if parts.username or parts.password or parts.query or parts.fragment:
            raise ValueError("must not carry credentials, a query string or a fragment")
        if parts.scheme == "http" and not _is_loopback(parts.hostname):
            raise ValueError(
                "must use https (plain http is only allowed for a loopback host such as "
                "127.0.0.1 or localhost, for local testing)"
            )
        return value

    @classmethod
    def parse(
        cls, raw: Mapping[str, Any], spec: Mapping[str, Any] | None = None
    ) -> DestinationConfig:
        """Validate ``raw`` against the model and, when given, spec.json's
        ``connectionSpecification``; raise one :class:`ConfigError` naming every wrong field,
        each with its fix (never a value: it may be a secret)."""
        problems: dict[str, str] = {}
        parsed: DestinationConfig | None = None
        try:
            parsed = cls.model_validate(dict(raw))
        except ValidationError as exc:
            problems.update(_explain(exc))
            # A model validator runs only once its object's fields are valid: name an unpaired
            # key now, with the other mistakes of the object.
            storage = raw.get("object_storage_config")
            if isinstance(storage, Mapping):
                unpaired = _unpaired_key(
                    storage.get("access_key_id"), storage.get("secret_access_key")
                )
                if unpaired:
                    sub, text = unpaired.split(": ", 1)
                    problems.setdefault(f"object_storage_config.{sub}", text)
        if spec is not None:
            for field, text in spec_problems(raw, spec).items():
                # The model's message for a field (or for a field inside it, or around it)
                # already says what to do; the spec's adds a field the model let through.
                if not any(_related(field, named) for named in problems):
                    problems[field] = text
        if problems or parsed is None:
            raise ConfigError(_message(problems))
        return parsed


def _is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(
        ".localhost"
    ):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _tags(union: Any) -> list[str]:
    """The discriminator values of an ``Annotated[A | B, Field(discriminator=...)]`` union."""
    members = typing.get_args(typing.get_args(union)[0])
    found: list[str] = []
    for member in members:
        for name, field in member.model_fields.items():
            if typing.get_origin(field.annotation) is Literal and name in (
                "credentials_title",
                "storage_type",
            ):
                found += [str(v) for v in typing.get_args(field.annotation)]
    return found


CREDENTIAL_TITLES = _tags(Credentials)
STORAGE_TYPES = _tags(ObjectStorage)
TRACKING_TYPES = ["None", *_tags(ChangeTrackingStorage)]
_TAGS = frozenset(CREDENTIAL_TITLES) | frozenset(STORAGE_TYPES) | frozenset(TRACKING_TYPES)
# The choices of each discriminated field: (the tag's name, its values).
_UNIONS = {
    "credentials": ("credentials_title", CREDENTIAL_TITLES),
    "object_storage_config": ("storage_type", STORAGE_TYPES),
    "change_tracking": ("storage_type", TRACKING_TYPES),
}


def _choices(values: list[str]) -> str:
    quoted = [f"'{v}'" for v in values]
    return ", ".join(quoted[:-1]) + " or " + quoted[-1] if len(quoted) > 1 else quoted[0]


# What to do when a field is missing or blank ("required ..." says why it is needed).
_REQUIRED = {
    "credentials": (
        "required: choose how to authenticate with HubSpot (a Service Key, a legacy Private "
        "App access token, or OAuth)"
    ),
    "credentials.credentials_title": "required: choose an authentication method, "
    + _choices(CREDENTIAL_TITLES),
    "credentials.access_token": (
        "required for Service Key / Private App credentials: paste a Service Key, created in "
        "HubSpot under Development > Keys > Service Keys (or a legacy Private App token)"
    ),
    "credentials.client_id": (
        "required for OAuth credentials: the Client ID of your HubSpot app (its Auth tab)"
    ),
    "credentials.client_secret": (
        "required for OAuth credentials: the Client Secret of your HubSpot app (its Auth tab)"
    ),
    "credentials.refresh_token": (
        "required for OAuth credentials: click Authenticate again in the destination's settings"
    ),
    "object_storage_config.storage_type": "required: " + _choices(STORAGE_TYPES),
    "object_storage_config.s3_bucket_name": (
        "required for S3 storage: the name of an existing bucket"
    ),
    "change_tracking.storage_type": "required: " + _choices(TRACKING_TYPES),
    "change_tracking.s3_bucket_name": "required for S3 storage: the name of an existing bucket",
    "change_tracking.path": (
        "required for Local storage: a directory, e.g. /local/hubspot-lago "
        "(in docker, on a mounted volume)"
    ),
}
# What a field must be, whatever was wrong with it (other than a validator's own message).
_MUST_BE = {
    "default_targeted_object": "must be 'companies' or 'contacts'",
    "hubspot_api_version": "must be one of " + ", ".join(f"'{v}'" for v in API_VERSIONS),
    "max_requests_per_10_seconds": (
        "must be a whole number from 1 to 1000, or left empty to use what HubSpot reports"
    ),
    "sync_subscriptions": "must be true or false",
    "sync_invoices": "must be true or false",
    "dry_run": "must be true or false",
    "credentials": "must be an object with credentials_title and the fields of that method",
    "object_storage_config": (
        "must be an object with storage_type " + _choices(STORAGE_TYPES) + " and its fields"
    ),
    "change_tracking": (
        "must be an object with storage_type " + _choices(TRACKING_TYPES) + " and its fields"
    ),
    "change_tracking.full_rewrite_every_days": (
        "must be a whole number of days, 0 or more (0: never write every record again)"
    ),
    "change_tracking.path": "must be text: a directory path",
}
_TYPE_WORDS = {
    "string_type": "must be text",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
}


def _message(problems: Mapping[str, str]) -> str:
    return "Invalid configuration: " + "; ".join(f"{f}: {t}" for f, t in problems.items()) + "."


def _related(field: str, other: str) -> bool:
    """One field path is the other, or inside it."""
    return field == other or field.startswith(other + ".") or other.startswith(field + ".")


def _explain(exc: ValidationError) -> dict[str, str]:
    """Field path (as the Airbyte UI nests it) -> what to do, one per wrong field; never the
    value (it may be a secret)."""
    problems: dict[str, str] = {}
    for err in exc.errors(include_url=False, include_input=False):
        loc = [str(p) for p in err["loc"] if str(p) not in _TAGS]
        field = ".".join(loc) or "config"
        kind = err["type"]
        msg = err["msg"].removeprefix("Value error, ")
        if kind == "union_tag_not_found":
            tag = _UNIONS.get(field, ("storage_type", STORAGE_TYPES))[0]
            field = f"{field}.{tag}"
            text = _REQUIRED.get(field, "is required")
        elif kind == "union_tag_invalid":
            tag, choices = _UNIONS.get(field, ("storage_type", STORAGE_TYPES))
            field = f"{field}.{tag}"
            text = "must be " + _choices(choices)
        elif kind == "missing" or (kind == "string_too_short" and field in _REQUIRED):
            text = _REQUIRED.get(field, "is required")
        elif kind == "value_error" and ": " in msg and msg.split(": ", 1)[0].isidentifier():
            # A model validator naming a field of its own object: "<field>: <what to do>".
            sub, msg = msg.split(": ", 1)
            field, text = f"{field}.{sub}" if field != "config" else sub, msg
        elif kind == "value_error":
            text = msg
        elif field in _MUST_BE:
            text = _MUST_BE[field]
        elif kind in _TYPE_WORDS:
            text = _TYPE_WORDS[kind]
        elif kind == "string_too_short":
            text = "must not be empty"
        elif kind == "literal_error":  # "Input should be 'a', 'b' or 'c'"
            text = "must be " + msg.removeprefix("Input should be ")
        else:
            text = msg[0].lower() + msg[1:] if msg else kind
        problems.setdefault(field, text)
    return problems


_JSON_TYPES = {
    "boolean": "must be true or false",
    "integer": "must be a whole number",
    "number": "must be a number",
    "string": "must be text",
    "object": "must be an object",
    "array": "must be a list",
}


def spec_problems(raw: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, str]:
    """spec.json's own JSON-schema rules: field path -> what to do, for every wrong field
    (never a value: the schema's own messages quote them, so they are not used)."""
    import jsonschema

    problems: dict[str, str] = {}
    for error in jsonschema.Draft7Validator(schema).iter_errors(dict(raw)):
        path = [str(p) for p in error.absolute_path]
        if error.validator == "required" and isinstance(error.instance, Mapping):
            for name in error.validator_value:
                if name not in error.instance:
                    field = ".".join([*path, name])
                    problems.setdefault(field, _REQUIRED.get(field, "required"))
            continue
        field = ".".join(path) or "config"
        problems.setdefault(field, _MUST_BE.get(field) or _spec_fix(error))
    return problems


def _spec_fix(error: Any) -> str:
    """What a value must be for the schema rule it broke, in the words of the rule."""
    rule, value, schema = error.validator, error.validator_value, error.schema
    if rule == "type":
        types = value if isinstance(value, list) else [value]
        return " or ".join(_JSON_TYPES.get(t, f"must be of type {t}") for t in types)
    if rule == "enum":
        return "must be " + _choices([str(v) for v in value])
    if rule == "const":
        return f"must be '{value}'"
    if rule in ("minimum", "maximum"):
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and high is not None:
            return f"must be from {low} to {high}"
        return f"must be at least {low}" if rule == "minimum" else f"must be at most {high}"
    if rule == "pattern":
        if value == "^https?://":
            return "must be an absolute URL starting with https:// (or http://)"
        examples = schema.get("examples") or []
        like = f", such as {examples[0]}" if examples else ""
        return f"must have the form the field's description gives{like}"
    if rule == "minLength":
        return "must not be empty"
    if rule == "oneOf":
        titles = [str(o.get("title")) for o in value if isinstance(o, Mapping) and "title" in o]
        return "must be one of the options " + _choices(titles) if titles else "is not valid"
    return f"breaks the spec's {rule} rule: see the field's description"
