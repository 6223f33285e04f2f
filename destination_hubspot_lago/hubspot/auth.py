"""Credentials: a static token (Service Key or legacy Private App), or OAuth refreshed
before HubSpot's 30-minute expiry.

Every secret that passes through here is registered with the connector's secret registry
(``redaction.update_secrets``), including access tokens minted at run time, so nothing we
(or the CDK, when it is loaded) print can carry one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from ..airbyte.secrets import update_secrets
from .errors import HubSpotError

# Refresh this long before expiry (HubSpot: "refresh proactively"; a 401 is not a signal).
REFRESH_MARGIN_SECONDS = 60


TokenExchange = Callable[[dict[str, str]], Mapping[str, Any]]


class Auth(Protocol):
    kind: str

    def attach(self, exchange: TokenExchange) -> None:
        """Give the auth a way to call the token endpoint (the client's own transport)."""

    def access_token(self) -> str: ...

    def on_expired(self, token: str) -> None:
        """HubSpot said ``token`` expired (401 EXPIRED_AUTHENTICATION)."""


class PrivateAppAuth:
    """A static bearer token: a Service Key or a legacy Private App access token.

    Both are sent the same way and never expire; neither has an introspection endpoint on
    HubSpot's date-based API, so their scopes are learnt from what HubSpot answers.
    """

    kind = "private_app"

    def __init__(self, token: str) -> None:
        self._token = token.strip()
        update_secrets([self._token])

    def attach(self, exchange: TokenExchange) -> None:
        return None

    def access_token(self) -> str:
        return self._token

    def on_expired(self, token: str) -> None:
        # Static tokens do not expire; a 401 means the key was rotated or revoked.
        return None


class OAuthAuth:
    """Refresh-token grant; the HTTP exchange itself is the client's (same retries).

    One refresh at a time for all threads; a thread that saw an expired token only
    forces a refresh if nobody replaced that token meanwhile. HubSpot may rotate the
    refresh token, so the newest one is kept.
    """

    kind = "oauth"

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        clock: Callable[[], float] = time.monotonic,
        on_rotation: Callable[[str], None] | None = None,
    ) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self._clock = clock
        # Called with a new refresh token HubSpot issued, on the thread that refreshed, after
        # the lock is released; it must not print (only the message loop prints).
        self.on_rotation = on_rotation
        self._lock = threading.Lock()
        self._exchange: TokenExchange | None = None
        self._token: str | None = None
        self._expires_at = 0.0
        update_secrets([client_secret, refresh_token])

    def attach(self, exchange: TokenExchange) -> None:
        self._exchange = exchange

    def introspection_form(self, token: str) -> dict[str, str]:
        """The form of ``POST /oauth/{version}/token/introspect`` for ``token``."""
        return {
            "token": token,
            "token_type_hint": "access_token",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
        }

    def access_token(self) -> str:
        rotated = None
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at:
                rotated = self._refresh()
            token = self._token
        assert token is not None
        if rotated is not None and self.on_rotation is not None:
            # Outside the lock: the other threads need not wait for whoever is told.
            self.on_rotation(rotated)
        return token

    def on_expired(self, token: str) -> None:
        with self._lock:
            if token == self._token:
                self._token = None

    def _refresh(self) -> str | None:
        """Get a new access token; the new refresh token when HubSpot rotated it."""
        if self._exchange is None:
            raise RuntimeError("OAuthAuth used before a client attached its token exchange")
        data = self._exchange(
            {
                "grant_type": "refresh_token",
                "client_id": self._client_id,
                "client_secret": self._client_secret,
                "refresh_token": self._refresh_token,
            }
        )
        token = data.get("access_token")
        try:
            lifetime = float(data.get("expires_in") or 1800)
        except (TypeError, ValueError):
            lifetime = 1800.0
        if not isinstance(token, str) or not token:
            raise HubSpotError(
                status=200,
                message="HubSpot's token endpoint answered without an access token",
                operation="POST the OAuth token endpoint",
                hint="Re-authenticate the connection; if it persists, HubSpot may be degraded.",
            )
        update_secrets([token])
        self._token = token
        # Short-lived tokens (tests) keep 90% of their life; real ones refresh 60 s early.
        self._expires_at = self._clock() + lifetime - min(REFRESH_MARGIN_SECONDS, lifetime / 10)
        rotated = data.get("refresh_token")
        if rotated and rotated != self._refresh_token:
            update_secrets([str(rotated)])
            self._refresh_token = str(rotated)
            return self._refresh_token
        return None
