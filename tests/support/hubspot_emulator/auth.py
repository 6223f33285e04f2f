"""Authentication (Service Keys, private-app and OAuth bearer tokens), scopes and rate limits.

Service Keys are static bearer tokens like private-app tokens, but have no introspection
(the private-app token-info endpoint does not know them, and the date-based API has none).

Private-app tokens never expire.  OAuth access tokens are minted by ``POST /oauth/v1/token``
from a refresh token, are opaque (never derived from the refresh token) and expire after
``access_token_ttl_seconds``.  Each private-app token is its own "app" for the burst limit; all
OAuth tokens of one client id share one app.  The daily quota is per portal (notes §5.1, §7.10).
"""

from __future__ import annotations

import base64
import bisect
import collections
import re
import secrets
import threading
import time
import uuid
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .errors import ApiError, iso_from_datetime, not_found

ALL_SCOPES = [
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
]

_INVALID_AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)
_SCOPES_LINK = "https://developers.hubspot.com/scopes"
USER_ID = 7_654_321
USER_EMAIL = "emulator-user@example.com"
HUB_DOMAIN = "emulator.hubspot.local"


def _stable_id(text: str) -> int:
    return zlib.crc32(text.encode()) % 9_000_000 + 1_000_000


@dataclass
class Principal:
    token: str
    kind: str  # "private_app" | "service_key" | "oauth"
    app_key: str
    scopes: list[str]


@dataclass
class _AccessToken:
    client_id: str
    scopes: list[str]
    expires_at: float  # wall clock (time.time), used for the "expire time" context


def _oauth_error(code: str, message: str) -> ApiError:
    # OAuth endpoint errors put the code in "status" (e.g. BAD_REFRESH_TOKEN) rather than
    # "error" (UNVERIFIED beyond the "missing or invalid refresh token" message [ISSUE supaglue]).
    return ApiError(400, code, message, extra={"status": code, "requestId": str(uuid.uuid4())})


class AuthRegistry:
    def __init__(
        self,
        portal_id: int,
        private_app_tokens: dict[str, list[str]],
        oauth_clients: dict[str, str],
        refresh_tokens: dict[str, tuple[str, list[str]]],
        access_token_ttl_seconds: int,
        rotate_refresh_tokens: bool,
        service_keys: dict[str, list[str]] | None = None,
        introspection_lists_scopes: bool = True,
    ) -> None:
        self._lock = threading.Lock()
        self.portal_id = portal_id
        self.private_app_tokens = {t: list(s) for t, s in private_app_tokens.items()}
        self.service_keys = {t: list(s) for t, s in (service_keys or {}).items()}
        # False: token introspection answers only {"active": true} (the spec's one required
        # field), so a client must learn scopes from 403s.
        self.introspection_lists_scopes = introspection_lists_scopes
        self.oauth_clients = dict(oauth_clients)
        self.refresh_tokens = {t: (c, list(s)) for t, (c, s) in refresh_tokens.items()}
        self.ttl = access_token_ttl_seconds
        self.rotate = rotate_refresh_tokens
        self.access_tokens: dict[str, _AccessToken] = {}

    # ------------------------------------------------------------------ bearer auth ---

    def authenticate(self, header: str | None) -> Principal:
        token = ""
        if header and header.lower().startswith("bearer "):
            token = header[7:].strip()
        with self._lock:
            if token in self.private_app_tokens:
                return Principal(
                    token, "private_app", f"pat:{token}", self.private_app_tokens[token]
                )
            if token in self.service_keys:
                return Principal(token, "service_key", f"key:{token}", self.service_keys[token])
            issued = self.access_tokens.get(token)
        if issued is None:
            raise ApiError(
                401,
                "INVALID_AUTHENTICATION",
                _INVALID_AUTH_MESSAGE,
                headers={"x-hubspot-auth-failure": "401 Unauthorized"},
            )
        now = time.time()
        if now >= issued.expires_at:
            expired_for = int(now - issued.expires_at)
            expire_time = iso_from_datetime(datetime.fromtimestamp(issued.expires_at, UTC))
            raise ApiError(  # body verbatim from airbytehq/airbyte #74726
                401,
                "EXPIRED_AUTHENTICATION",
                f"The OAuth token used to make this call expired {expired_for} second(s) ago.",
                context={"expire time": [expire_time]},
                headers={"x-hubspot-auth-failure": "401 Unauthorized"},
            )
        return Principal(token, "oauth", f"oauth:{issued.client_id}", issued.scopes)

    @staticmethod
    def require_scopes(principal: Principal, groups: list[list[str]]) -> None:
        """Each group is a list of alternatives; every group needs one granted scope."""
        granted = set(principal.scopes)
        missing = [g for g in groups if not granted.intersection(g)]
        if missing:
            required = [s for g in missing for s in g]
            raise ApiError(
                403,
                "MISSING_SCOPES",
                "This app hasn't been granted all required scopes to make this call. Read more "
                f"about required scopes here: {_SCOPES_LINK}.",
                errors=[
                    {
                        "message": "One or more of the following scopes are required.",
                        "context": {"requiredGranularScopes": required},
                    }
                ],
                links={"scopes": _SCOPES_LINK},
            )

    def expire_access_tokens(self) -> None:
        with self._lock:
            now = time.time()
            for issued in self.access_tokens.values():
                issued.expires_at = min(issued.expires_at, now)

    # ------------------------------------------------------------------------ OAuth ---

    def token(self, form: dict[str, str]) -> dict[str, Any]:
        grant = form.get("grant_type")
        if grant != "refresh_token":
            raise _oauth_error("BAD_GRANT_TYPE", f"unsupported grant type: {grant}")
        client_id = form.get("client_id", "")
        with self._lock:
            if client_id not in self.oauth_clients:
                raise _oauth_error("BAD_CLIENT_ID", "missing or unknown client id")
            if form.get("client_secret") != self.oauth_clients[client_id]:
                raise _oauth_error("BAD_CLIENT_SECRET", "missing or invalid client secret")
            refresh = form.get("refresh_token", "")
            owner = self.refresh_tokens.get(refresh)
            if owner is None or owner[0] != client_id:
                raise _oauth_error("BAD_REFRESH_TOKEN", "missing or invalid refresh token")
            scopes = owner[1]
            if self.rotate:
                del self.refresh_tokens[refresh]
                refresh = f"na1-{secrets.token_hex(2)}-{uuid.uuid4()}"
                self.refresh_tokens[refresh] = (client_id, scopes)
            # Opaque, ~160 characters like real HubSpot access tokens (never derived from the
            # refresh token, so clients cannot "guess" one).
            access = "C" + base64.urlsafe_b64encode(secrets.token_bytes(118)).decode().rstrip("=")
            self.access_tokens[access] = _AccessToken(client_id, scopes, time.time() + self.ttl)
        return {
            "token_type": "bearer",
            "refresh_token": refresh,
            "access_token": access,
            "expires_in": self.ttl,
            "token_use": "access_token",
            "hub_id": self.portal_id,
            "user_id": USER_ID,
            "scopes": list(scopes),
        }

    def introspect(self, form: dict[str, str]) -> dict[str, Any]:
        """``POST /oauth/{version}/token/introspect`` (RFC 7662 style; the spec requires only
        ``active``). Client credentials are checked; field names beyond ``active`` UNVERIFIED."""
        client_id = form.get("client_id", "")
        with self._lock:
            if form.get("client_secret") != self.oauth_clients.get(client_id, object()):
                raise _oauth_error("BAD_CLIENT_ID", "missing or invalid client credentials")
            issued = self.access_tokens.get(form.get("token", ""))
        if issued is None or time.time() >= issued.expires_at or issued.client_id != client_id:
            return {"active": False}
        answer: dict[str, Any] = {"active": True}
        if self.introspection_lists_scopes:
            answer.update(
                scope=" ".join(issued.scopes),
                client_id=client_id,
                hub_id=self.portal_id,
                user_id=USER_ID,
                token_type="access_token",
                exp=int(issued.expires_at),
            )
        return answer

    def access_token_info(self, token: str) -> dict[str, Any]:
        with self._lock:
            issued = self.access_tokens.get(token)
        if issued is None or time.time() >= issued.expires_at:
            raise not_found("Token not found")  # UNVERIFIED status/body
        return {
            "token": token,
            "user": USER_EMAIL,
            "hub_domain": HUB_DOMAIN,
            "scopes": list(issued.scopes),
            "hub_id": self.portal_id,
            "app_id": _stable_id(issued.client_id),
            "expires_in": int(issued.expires_at - time.time()),
            "user_id": USER_ID,
            "token_type": "access",
        }

    def refresh_token_info(self, token: str) -> dict[str, Any]:
        with self._lock:
            owner = self.refresh_tokens.get(token)
        if owner is None:
            raise not_found("Token not found")  # UNVERIFIED status/body
        return {
            "token": token,
            "user": USER_EMAIL,
            "hub_domain": HUB_DOMAIN,
            "scopes": list(owner[1]),
            "hub_id": self.portal_id,
            "client_id": owner[0],
            "user_id": USER_ID,
            "token_type": "refresh",
        }

    def revoke_refresh_token(self, token: str) -> None:
        with self._lock:
            if self.refresh_tokens.pop(token, None) is None:
                raise not_found("Token not found")

    def private_app_info(self, body: Any) -> dict[str, Any]:
        # UNVERIFIED: not in the specs; fields per the private-apps doc page (notes §6.2).
        token = body.get("tokenKey") if isinstance(body, dict) else None
        with self._lock:
            scopes = self.private_app_tokens.get(str(token))
        if scopes is None:
            raise ApiError(401, "INVALID_AUTHENTICATION", "The access token is invalid.")
        return {
            "userId": USER_ID,
            "hubId": self.portal_id,
            "appId": _stable_id(str(token)),
            "scopes": list(scopes),
        }


class RateLimiter:
    """Rolling ten-secondly window per app, a per-portal daily quota and the search limit.

    Accepted calls count toward both windows, whatever their final status (a 400/403/404 still
    cost a call); calls rejected with 429 do not count, so a client that waits out the interval
    recovers (UNVERIFIED, documented choice).  Unauthenticated calls cannot be attributed to an
    app and are not counted.
    """

    def __init__(
        self,
        max_requests: int,
        interval_ms: int,
        daily_limit: int,
        search_per_second: int,
        associations_lane: str = "shared",
    ) -> None:
        self._lock = threading.Lock()
        # How association batch calls are counted (UNVERIFIED at HubSpot; the 2026-09 specs
        # mark them exempt from the ten-secondly window): "shared" — in the burst window, with
        # its headers; "exempt" — not counted, no rate-limit headers (as search answers);
        # "separate:N" — in a window of N per interval of their own, with its own headers.
        self.associations_lane, self.associations_max = _associations_lane(associations_lane)
        self._association_windows: dict[str, collections.deque[float]] = collections.defaultdict(
            collections.deque
        )
        self.max = max_requests
        self.interval_ms = interval_ms
        self.daily_limit = daily_limit
        self.search_per_second = search_per_second
        self.daily_used = 0
        self._windows: dict[str, collections.deque[float]] = collections.defaultdict(
            collections.deque
        )
        self._search: collections.deque[float] = collections.deque()

    def exhaust_daily(self) -> None:
        with self._lock:
            self.daily_used = self.daily_limit

    def check(
        self, principal: Principal, *, search: bool, at: float | None = None, path: str = ""
    ) -> dict[str, str]:
        """Count the call or raise a 429; returns the rate-limit headers to send.

        ``at`` is when the request arrived (monotonic): the window counts arrivals, not the
        moment a busy emulator thread gets round to checking.
        """
        now = time.monotonic() if at is None else at
        with self._lock:
            window = self._windows[principal.app_key]
            while window and now - window[0] >= self.interval_ms / 1000:
                window.popleft()
            if self.daily_used >= self.daily_limit:
                raise self._limit_error(
                    "DAILY", "You have reached your daily limit.", principal, len(window)
                )
            if search:
                while self._search and now - self._search[0] >= 1.0:
                    self._search.popleft()
                if len(self._search) >= self.search_per_second:
                    # Search answers carry no rate-limit headers [ISSUE/2ND]; message [SDK].
                    raise ApiError(
                        429,
                        "RATE_LIMITS",
                        "You have reached your secondly limit.",
                        extra={
                            "errorType": "RATE_LIMIT",
                            "policyName": "SECONDLY",
                            "requestId": str(uuid.uuid4()),
                        },
                    )
                self._search.append(now)
                self.daily_used += 1
                return {}
            if self.associations_lane != "shared" and ASSOCIATION_BATCH.match(path):
                return self._association_call(principal, now)
            if len(window) >= self.max:
                raise self._limit_error(
                    "TEN_SECONDLY_ROLLING",
                    "You have reached your ten_secondly_rolling limit.",
                    principal,
                    window_len=len(window),
                )
            # Arrivals checked out of order (threads) still keep the window sorted.
            if window and now < window[-1]:
                items = list(window)
                bisect.insort(items, now)
                window.clear()
                window.extend(items)
            else:
                window.append(now)
            self.daily_used += 1
            return self._headers(principal, len(window))

    def _association_call(self, principal: Principal, now: float) -> dict[str, str]:
        """An association batch call outside the burst window (lock held)."""
        self.daily_used += 1
        if self.associations_lane == "exempt":
            return {}
        window = self._association_windows[principal.app_key]
        while window and now - window[0] >= self.interval_ms / 1000:
            window.popleft()
        headers = {
            "X-HubSpot-RateLimit-Max": str(self.associations_max),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(self.interval_ms),
        }
        if len(window) >= self.associations_max:
            self.daily_used -= 1
            raise ApiError(
                429,
                "RATE_LIMITS",
                "You have reached your ten_secondly_rolling limit.",
                extra={
                    "errorType": "RATE_LIMIT",
                    "policyName": "TEN_SECONDLY_ROLLING",
                    "requestId": str(uuid.uuid4()),
                },
                headers={**headers, "X-HubSpot-RateLimit-Remaining": "0"},
            )
        if window and now < window[-1]:
            bisect.insort(window, now)
        else:
            window.append(now)
        remaining = max(self.associations_max - len(window), 0)
        return {**headers, "X-HubSpot-RateLimit-Remaining": str(remaining)}

    def headers_now(self, principal: Principal) -> dict[str, str]:
        with self._lock:
            return self._headers(principal, len(self._windows[principal.app_key]))

    def _headers(self, principal: Principal, used: int) -> dict[str, str]:
        headers = {
            "X-HubSpot-RateLimit-Max": str(self.max),
            "X-HubSpot-RateLimit-Remaining": str(max(self.max - used, 0)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(self.interval_ms),
        }
        if principal.kind != "oauth":  # OAuth calls get no daily headers [DOC]
            headers["X-HubSpot-RateLimit-Daily"] = str(self.daily_limit)
            headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(
                max(self.daily_limit - self.daily_used, 0)
            )
        return headers

    def _limit_error(
        self, policy: str, message: str, principal: Principal, window_len: int | None = None
    ) -> ApiError:
        used = self.max if window_len is None else window_len
        # Body per notes §5.3 (usage-guidelines page) plus the newer "category" field.
        return ApiError(
            429,
            "RATE_LIMITS",
            message,
            extra={"errorType": "RATE_LIMIT", "policyName": policy, "requestId": str(uuid.uuid4())},
            headers=self._headers(principal, used),
        )

    def usage_report(self) -> dict[str, Any]:
        now = datetime.now(UTC)
        midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        with self._lock:
            used = self.daily_used
        return {
            "results": [
                {
                    "name": "private-apps-api-calls-daily",
                    "usageLimit": self.daily_limit,
                    "currentUsage": used,
                    "collectedAt": iso_from_datetime(now),
                    "fetchStatus": "SUCCESS",
                    "resetsAt": iso_from_datetime(midnight),
                }
            ]
        }


# Association batch operations (create, associate/default, read, archive, labels/archive) on
# any version's path: the ones the 2026-09 specs exempt from the ten-secondly window.
ASSOCIATION_BATCH = re.compile(
    r"^/crm/(?:associations/[\w-]+|v\d+/associations)/[^/]+/[^/]+/batch/"
)


def _associations_lane(mode: str) -> tuple[str, int]:
    if mode in ("shared", "exempt"):
        return mode, 0
    name, _, size = mode.partition(":")
    if name == "separate" and size.isdigit() and int(size) > 0:
        return "separate", int(size)
    raise ValueError(f"associations lane {mode!r}: use shared, exempt or separate:N")
