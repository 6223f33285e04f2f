"""HubSpot client: auth, pacing, retries, errors. Knows HTTP, not Lago."""

from .auth import Auth, OAuthAuth, PrivateAppAuth
from .client import ClientStats, HubSpotClient
from .errors import ConnectionFailed, Failure, HubSpotError
from .pacing import Pacer
from .retry import RetryPolicy

__all__ = [
    "Auth",
    "ClientStats",
    "ConnectionFailed",
    "Failure",
    "HubSpotClient",
    "HubSpotError",
    "OAuthAuth",
    "Pacer",
    "PrivateAppAuth",
    "RetryPolicy",
]
