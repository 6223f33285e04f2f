"""A ten-secondly 429 pauses every thread of the client, not only the one that got it:
the burst budget is the app's. Against the HubSpot emulator; times are the emulator's
arrival times, and only lower bounds are asserted (a pause never ends early)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from destination_hubspot_lago.hubspot import HubSpotClient, Pacer, PrivateAppAuth
from tests.support.harness import PRIVATE_APP_TOKEN

PATH = "/account-info/v3/details"
PAUSE_SECONDS = 1.0  # what the client pauses everyone for after a burst 429
OTHER_THREADS = 3


def wait_for(condition, what: str, deadline_seconds: float = 60.0) -> None:
    """Wait for something to have happened (a guard against hanging, not a time bound)."""
    give_up = time.monotonic() + deadline_seconds
    while not condition():
        assert time.monotonic() < give_up, f"never happened: {what}"
        time.sleep(0.005)


def test_a_burst_429_holds_every_threads_next_request_until_the_pause_is_over(emulator):
    c = HubSpotClient(emulator.url, PrivateAppAuth(PRIVATE_APP_TOKEN), Pacer())  # one pacer
    emulator.inject_fault(429, method="GET", path_regex=PATH, times=1)  # ten-secondly

    with ThreadPoolExecutor(max_workers=1 + OTHER_THREADS) as pool:
        first = pool.submit(c.get, PATH)
        # The client has handled the 429 (the pause is set) once it counts the retry.
        wait_for(lambda: c.stats.retries >= 1, "the client retried after the 429")
        others = [pool.submit(c.get, PATH) for _ in range(OTHER_THREADS)]
        answers = [f.result() for f in (first, *others)]

    assert all(a["portalId"] for a in answers)
    # The emulator logs an exchange just after answering it: the last may trail the answer.
    expected = 1 + (1 + OTHER_THREADS)  # the 429, its retry, one call of each other thread
    wait_for(lambda: len(emulator.requests) >= expected, "the emulator logged every call")
    log = list(emulator.requests)
    limited = [e for e in log if e["status"] == 429]
    assert len(limited) == 1 and len(log) == expected
    # The 429 arrived before the client paused, so no request may arrive before this.
    not_before = limited[0]["started"] + PAUSE_SECONDS
    later = sorted(e["started"] for e in log if e["status"] != 429)
    assert all(arrival >= not_before for arrival in later), [
        round(arrival - limited[0]["started"], 3) for arrival in later
    ]
    assert c.stats.rate_limited == 1
