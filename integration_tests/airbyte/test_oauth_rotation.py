"""A refresh token HubSpot rotates in the middle of a sync reaches the platform from the thread
that prints the sync's messages, in order with them, never from a worker thread."""

from __future__ import annotations

import sys
import threading
import time

from destination_hubspot_lago import connector
from destination_hubspot_lago.airbyte.incoming import parse_catalog, parse_lines, to_json
from tests.support.harness import (
    OAUTH_REFRESH_TOKEN,
    catalog,
    make_emulator,
    oauth_config,
    record,
    stream_state,
)
from tests.support.pipeline import customer


class ThreadWatchingStdout:
    """stdout that remembers which threads printed a CONTROL message (log lines may come from
    any thread)."""

    def __init__(self, real):
        self.real = real
        self.control_writers: set[str] = set()

    def write(self, text):
        if (b'"CONTROL"' if isinstance(text, bytes) else '"CONTROL"') in text:
            self.control_writers.add(threading.current_thread().name)
        return len(text)

    def flush(self):
        self.real.flush()

    @property
    def buffer(self):
        return self

    def __getattr__(self, name):
        return getattr(self.real, name)


def test_a_token_rotated_by_a_worker_is_yielded_by_the_loop(monkeypatch):
    # Access tokens live one second: the workers refresh them (and HubSpot rotates the refresh
    # token) while the sync runs: each STATE waits for its batch, and each answer takes 0.3 s.
    with make_emulator(
        rotate_refresh_tokens=True, access_token_ttl_seconds=1, latency_seconds=0.3
    ) as emu:
        config = oauth_config(emu.url)

        def lines():
            # A quiet source after the first STATE, longer than an access token lives: the
            # STATE is echoed meanwhile, and the next batches' workers refresh the token.
            for batch in range(6):
                yield from [record("customers", customer(batch * 100 + i)) for i in range(100)]
                yield stream_state("customers", batch)
                if batch == 0:
                    time.sleep(1.5)

        watched = ThreadWatchingStdout(sys.stdout)
        monkeypatch.setattr(sys, "stdout", watched)
        out = list(
            connector.write(config, parse_catalog(catalog(["customers"])), parse_lines(lines()))
        )
        kinds = [to_json(m)["type"] for m in out]
        controls = [to_json(m)["control"] for m in out if to_json(m)["type"] == "CONTROL"]

        assert kinds.count("STATE") == 6
        # the preflight's refresh, and at least one by a worker in the middle of the sync
        assert len(controls) >= 2, kinds
        assert kinds.index("CONTROL") < kinds.index("STATE")
        assert any(k == "CONTROL" for k in kinds[kinds.index("STATE") :]), kinds
        newest = controls[-1]["connectorConfig"]["config"]["credentials"]["refresh_token"]
        assert newest != OAUTH_REFRESH_TOKEN
        # the platform stores the newest token: the next sync starts with it
        again = oauth_config(emu.url, refresh_token=newest)
        assert connector.check(again).succeeded
        # no CONTROL was printed behind the sync's back (from a worker, or at all: printing
        # the yielded messages is the caller's)
        assert not watched.control_writers
