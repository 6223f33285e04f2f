"""Run the real connector as a process, the way Airbyte does, and read what it says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
STREAMS = ("customers", "subscriptions", "invoices")

PRIVATE_APP_TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
OAUTH_CLIENT_ID = "hubspot-lago-client-id"
OAUTH_CLIENT_SECRET = "hubspot-lago-client-secret-value"
OAUTH_REFRESH_TOKEN = "hubspot-lago-refresh-token-value"
SECRETS = (PRIVATE_APP_TOKEN, OAUTH_CLIENT_SECRET, OAUTH_REFRESH_TOKEN)


def private_app_config(url: str, token: str = PRIVATE_APP_TOKEN, **extra: Any) -> dict[str, Any]:
    return {
        "credentials": {"credentials_title": "Private App Credentials", "access_token": token},
        "api_base_url": url,
        **extra,
    }


def oauth_config(
    url: str, refresh_token: str = OAUTH_REFRESH_TOKEN, **extra: Any
) -> dict[str, Any]:
    return {
        "credentials": {
            "credentials_title": "OAuth Credentials",
            "client_id": OAUTH_CLIENT_ID,
            "client_secret": OAUTH_CLIENT_SECRET,
            "refresh_token": refresh_token,
        },
        "api_base_url": url,
        **extra,
    }


def catalog(streams: Iterable[str] = STREAMS, generation_id: int | None = None) -> dict[str, Any]:
    """``generation_id``: what Airbyte sets on every stream (an Airbyte Refresh raises it)."""
    generation = {} if generation_id is None else {"generation_id": generation_id}
    return {
        "streams": [
            {
                "stream": {
                    "name": name,
                    "json_schema": {},
                    "supported_sync_modes": ["full_refresh"],
                },
                "sync_mode": "full_refresh",
                "destination_sync_mode": "append_dedup",
                "primary_key": [["lago_id"]],
                **generation,
            }
            for name in streams
        ]
    }


def record(stream: str, data: Mapping[str, Any]) -> str:
    """A RECORD line as a source prints it: emitted now (two syncs' lines differ in it)."""
    emitted_at = time.time_ns() // 1_000_000
    return json.dumps(
        {"type": "RECORD", "record": {"stream": stream, "data": data, "emitted_at": emitted_at}}
    )


def stream_state(stream: str, state_id: int, count: float | None = None) -> str:
    state: dict[str, Any] = {
        "type": "STREAM",
        "id": state_id,
        "stream": {
            "stream_descriptor": {"name": stream},
            "stream_state": {"__ab_no_cursor_state_message": True},
        },
    }
    if count is not None:
        state["sourceStats"] = {"recordCount": count}
    return json.dumps({"type": "STATE", "state": state})


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def messages(self) -> list[dict[str, Any]]:
        out = []
        for line in self.stdout.splitlines():
            line = line.strip()
            if line.startswith("{"):
                out.append(json.loads(line))
        return out

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("type") == kind]

    @property
    def status(self) -> dict[str, Any]:
        statuses = self.of_type("CONNECTION_STATUS")
        assert len(statuses) == 1, self.stdout[-3000:]
        return statuses[0]["connectionStatus"]

    @property
    def states(self) -> list[dict[str, Any]]:
        return [m["state"] for m in self.of_type("STATE")]

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [m["trace"]["error"] for m in self.of_type("TRACE") if m["trace"]["type"] == "ERROR"]

    @property
    def logs(self) -> list[str]:
        return [m["log"]["message"] for m in self.of_type("LOG")]


def connector_command(
    command: str, config_path: Path, catalog_path: Path | None = None
) -> list[str]:
    """The connector's command line (module form, so no PATH is needed)."""
    args = [
        sys.executable,
        "-m",
        "destination_hubspot_lago.run",
        command,
        "--config",
        str(config_path),
    ]
    if catalog_path is not None:
        args += ["--catalog", str(catalog_path)]
    return args


def run_connector(
    command: str,
    config: Mapping[str, Any] | None = None,
    lines: Iterable[str] = (),
    streams: Iterable[str] = STREAMS,
    timeout: float = 300,
    env: Mapping[str, str] | None = None,
    preexec: Callable[[], None] | None = None,
    generation_id: int | None = None,
) -> Run:
    """``destination-hubspot-lago <command>`` in a subprocess (module form: no PATH needed);
    ``preexec`` runs in the child before it starts (resource limits)."""
    with tempfile.TemporaryDirectory() as tmp:
        args = [sys.executable, "-m", "destination_hubspot_lago.run", command]
        if config is not None:
            config_path = Path(tmp, "config.json")
            config_path.write_text(json.dumps(config))
            catalog_path = None
            if command == "write":
                catalog_path = Path(tmp, "catalog.json")
                catalog_path.write_text(json.dumps(catalog(streams, generation_id)))
            args = connector_command(command, config_path, catalog_path)
        proc = subprocess.run(
            args,
            input="\n".join(lines) + "\n",
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            preexec_fn=preexec,
        )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def make_emulator(**kwargs: Any) -> Any:
    """A HubSpot emulator that knows this harness's Service Key and OAuth client (every scope)."""
    from .hubspot_emulator import ALL_SCOPES, HubSpotEmulator

    options: dict[str, Any] = {
        "private_app_tokens": {PRIVATE_APP_TOKEN: ALL_SCOPES},
        "oauth_clients": {OAUTH_CLIENT_ID: OAUTH_CLIENT_SECRET},
        "refresh_tokens": {OAUTH_REFRESH_TOKEN: (OAUTH_CLIENT_ID, ALL_SCOPES)},
    }
    options.update(kwargs)
    return HubSpotEmulator(**options)


def most_at_once(requests: Iterable[Mapping[str, Any]]) -> int:
    """The largest number of the emulator's logged ``requests`` it was answering at the same
    moment (an answer sent before the next call arrives counts once)."""
    requests = list(requests)
    edges = sorted([(r["started"], 1) for r in requests] + [(r["finished"], -1) for r in requests])
    now = most = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most
