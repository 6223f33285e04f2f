"""Pacing by HubSpot's own rules over real HTTP (docs/product.md §9): association batches in a
lane of their own, HubSpot's Remaining count followed when several clients share one key.
Against the HubSpot emulator, its log read by arrival times (the emulator's own clock)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from destination_hubspot_lago.hubspot import HubSpotClient, HubSpotError, Pacer, PrivateAppAuth
from destination_hubspot_lago.hubspot.pacing import BURST_IN_FLIGHT, BURST_IN_FLIGHT_MOST, Lane
from tests.support.harness import PRIVATE_APP_TOKEN, make_emulator, most_at_once

BURST_PATH = "/account-info/2026-09/details"
ASSOCIATIONS_PATH = "/crm/associations/2026-09/0-2/0-1/batch/read"


def client(emu) -> HubSpotClient:
    return HubSpotClient(emu.url, PrivateAppAuth(PRIVATE_APP_TOKEN), Pacer(), max_attempts=20)


def associations_read(c: HubSpotClient) -> None:
    try:
        c.post(ASSOCIATIONS_PATH, {"inputs": [{"id": "1"}]})
    except HubSpotError as error:
        assert error.status == 404  # none of the inputs exists: an answer all the same


def test_association_batches_do_not_wait_for_a_full_burst_window():
    # A burst window of 10 per 10 s; association batches exempt from it, as the 2026-09
    # specs declare them.
    with make_emulator(
        rate_limit_max=10, rate_limit_interval_ms=10_000, associations_lane="exempt"
    ) as emu:
        c = client(emu)
        for _ in range(9):  # the burst lane's whole budget (97 % of 10)
            c.get(BURST_PATH)
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda _: associations_read(c), range(20)))
        log = list(emu.requests)
        first = min(e["started"] for e in log)
        associations = [e["started"] for e in log if e["path"] == ASSOCIATIONS_PATH]
        assert len(associations) == 20
        # Counted in the burst window, they would have waited for it to roll over (10 s).
        assert max(associations) - first < 9.5, round(max(associations) - first, 2)
        assert not [e for e in log if e["status"] == 429]


def test_two_clients_on_one_key_follow_hubspots_count_instead_of_meeting_429s():
    # Two syncs on one Service Key: one window of 20 per 2 s for both.
    with make_emulator(rate_limit_max=20, rate_limit_interval_ms=2_000) as emu:
        clients = [client(emu), client(emu)]
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as pool:
            jobs = [pool.submit(clients[i % 2].get, BURST_PATH) for i in range(100)]
            for job in jobs:
                job.result()
        log = list(emu.requests)
        limited = [e for e in log if e["status"] == 429]
        # Each alone would allow itself 19 per 2 s, 38 together: without following
        # X-HubSpot-RateLimit-Remaining every window would overflow by about half (dozens of
        # 429s). A loaded machine delays the answers whose headers tell the count, so a few
        # may slip through at a window's start: at most 8.
        assert len(limited) <= 8, len(limited)
        assert time.monotonic() - started >= 2 * (100 / 20 - 1)  # the window held them back


def test_a_separate_window_for_associations_is_followed_from_its_headers():
    with make_emulator(
        rate_limit_max=100, rate_limit_interval_ms=2_000, associations_lane="separate:10"
    ) as emu:
        c = client(emu)
        c.get(BURST_PATH)
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda _: associations_read(c), range(30)))
        log = list(emu.requests)
        limited = [e for e in log if e["status"] == 429]
        assert len(limited) <= 4, len(limited)  # the first window, before its headers came
        limit, interval = c.pacer.lane(Lane.ASSOCIATIONS).budget
        assert limit <= int(10 * 0.97) and interval == 2_000
        assert c.pacer.budget == (97, 2_000)  # the burst lane kept its own window


def test_a_clients_threads_have_at_most_burst_in_flight_burst_calls_at_once():
    """However many threads a sync runs, the burst lane's calls in flight are capped (their
    window allows far fewer a second than they could send); association batches are not."""
    with make_emulator(latency_seconds=0.2, associations_lane="exempt") as emu:
        c = client(emu)
        with ThreadPoolExecutor(max_workers=2 * BURST_IN_FLIGHT) as pool:
            list(pool.map(lambda _: c.get("/crm/objects/2026-09/0-2", {"limit": "1"}), range(48)))
            reads = [r for r in emu.requests if r["path"] == "/crm/objects/2026-09/0-2"]
            assert most_at_once(reads) == BURST_IN_FLIGHT
            emu.requests.clear()
            list(pool.map(lambda _: associations_read(c), range(48)))
        associations = [r for r in emu.requests if "/associations/" in r["path"]]
        assert most_at_once(associations) > BURST_IN_FLIGHT


def test_slow_answers_give_a_clients_threads_more_burst_calls_in_flight():
    """At 0.8 s an answer, 8 calls in flight would fill under half of a 190-per-10-s window:
    the lane gives more places (up to BURST_IN_FLIGHT_MOST), so its budget, not the cap, is
    the limit."""
    with make_emulator(latency_seconds=0.8) as emu:
        c = client(emu)
        with ThreadPoolExecutor(max_workers=2 * BURST_IN_FLIGHT_MOST) as pool:
            list(pool.map(lambda _: c.get("/crm/objects/2026-09/0-2", {"limit": "1"}), range(64)))
        reads = [r for r in emu.requests if r["path"] == "/crm/objects/2026-09/0-2"]
        assert BURST_IN_FLIGHT < most_at_once(reads) <= BURST_IN_FLIGHT_MOST
        assert not [r for r in emu.requests if r["status"] == 429]
