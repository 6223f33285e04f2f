"""The typed configuration (spec.json `connectionSpecification`) with actionable messages."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .hubspot import Auth, OAuthAuth, PrivateAppAuth
from .hubspot.api import API_VERSIONS, Api

DEFAULT_API_BASE_URL = "https://api.hubapi.com"
DEFAULT_LAGO_FRONT_URL = "https://app.getlago.com"


class ConfigError(ValueError):
    """The configuration cannot work; the message says which field and how to fix it."""


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


class DestinationConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")

    credentials: Credentials
    default_targeted_object: Literal["companies", "contacts"] = "companies"
    connection_code: str | None = None
    lago_front_url: str = DEFAULT_LAGO_FRONT_URL
    lago_organization_slug: str | None = None
    sync_subscriptions: bool = True
    sync_invoices: bool = True
    dry_run: bool = False
    api_base_url: str = DEFAULT_API_BASE_URL
    max_requests_per_10_seconds: int | None = Field(default=None, ge=1, le=1000)
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
    def parse(cls, raw: Mapping[str, Any]) -> DestinationConfig:
        """Validate ``raw``; raise :class:`ConfigError` naming each bad field."""
        try:
            return cls.model_validate(dict(raw))
        except ValidationError as exc:
            raise ConfigError(_explain(exc)) from None


def _is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(
        ".localhost"
    ):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _explain(exc: ValidationError) -> str:
    """One line per problem, naming the field the way the Airbyte UI shows it; never values."""
    problems = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = [str(p) for p in err["loc"] if not str(p).endswith("Credentials")]
        field = ".".join(loc) or "config"
        kind = err["type"]
        if kind == "union_tag_invalid" or kind == "union_tag_not_found":
            msg = (
                "choose an authentication method: credentials_title must be "
                "'Private App Credentials' (a Service Key or legacy Private App token) or "
                "'OAuth Credentials'"
            )
        elif kind == "missing":
            msg = "is required"
        elif kind == "literal_error" and field == "default_targeted_object":
            msg = "must be 'companies' or 'contacts'"
        elif kind == "literal_error" and field == "hubspot_api_version":
            msg = "must be one of " + ", ".join(f"'{v}'" for v in API_VERSIONS)
        else:
            msg = err["msg"].removeprefix("Value error, ")
        problems.append(f"{field}: {msg}")
    return "Invalid configuration: " + "; ".join(problems) + "."
