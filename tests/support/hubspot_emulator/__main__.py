"""Run the emulator standalone: ``python -m tests.support.hubspot_emulator --port 8765``."""

from __future__ import annotations

import argparse
import threading

from .auth import ALL_SCOPES
from .server import HubSpotEmulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local HubSpot CRM API emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--portal-id", type=int, default=62515)
    parser.add_argument(
        "--token", action="append", default=None, help="private-app token (repeatable)"
    )
    parser.add_argument("--oauth-client", nargs=2, metavar=("CLIENT_ID", "SECRET"))
    parser.add_argument("--refresh-token", help="refresh token for --oauth-client")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per response")
    parser.add_argument("--rate-limit", type=int, default=190, help="calls per interval per app")
    parser.add_argument("--rate-interval-ms", type=int, default=10_000)
    parser.add_argument("--daily-limit", type=int, default=1_000_000)
    parser.add_argument("--custom-object-limit", type=int, default=10)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--fault-seed", type=int, default=0)
    parser.add_argument(
        "--assoc-lane",
        default="shared",
        help="association batch calls: shared (in the burst window), exempt, or separate:N",
    )
    args = parser.parse_args(argv)

    tokens = args.token or ["pat-na1-demo"]
    clients = dict([args.oauth_client]) if args.oauth_client else {}
    refresh = (
        {args.refresh_token: (args.oauth_client[0], ALL_SCOPES)}
        if args.refresh_token and args.oauth_client
        else {}
    )
    emulator = HubSpotEmulator(
        portal_id=args.portal_id,
        private_app_tokens={t: ALL_SCOPES for t in tokens},
        oauth_clients=clients,
        refresh_tokens=refresh,
        custom_object_limit=args.custom_object_limit,
        rate_limit_max=args.rate_limit,
        rate_limit_interval_ms=args.rate_interval_ms,
        daily_limit=args.daily_limit,
        latency_seconds=args.latency,
        fault_rate=args.fault_rate,
        fault_seed=args.fault_seed,
        associations_lane=args.assoc_lane,
        host=args.host,
        port=args.port,
    )
    url = emulator.start()
    print(f"HubSpot emulator listening on {url} (tokens: {', '.join(tokens)})", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
