"""Pacing by HubSpot's own rules (docs/product.md §9): which window each call is counted in, one
budget per lane, HubSpot's count followed, a 429 pausing its own lane only."""

from __future__ import annotations

import threading
import time

import pytest

from destination_hubspot_lago.hubspot.api import Api, lane_of
from destination_hubspot_lago.hubspot.pacing import (
    ASSOCIATIONS_GROWTH,
    BURST_IN_FLIGHT,
    BURST_IN_FLIGHT_MOST,
    HEADROOM,
    Lane,
    LanePacer,
    Pacer,
)

API = Api()


def headers(hubspot_max=190, interval=10_000, remaining=None):
    out = {
        "X-HubSpot-RateLimit-Max": str(hubspot_max),
        "X-HubSpot-RateLimit-Interval-Milliseconds": str(interval),
    }
    if remaining is not None:
        out["X-HubSpot-RateLimit-Remaining"] = str(remaining)
    return out


@pytest.mark.parametrize(
    "path, lane",
    [
        (API.associations("2-1", "0-2", "batch/create"), Lane.ASSOCIATIONS),
        (API.associations("2-1", "0-2", "batch/associate/default"), Lane.ASSOCIATIONS),
        (API.associations("0-2", "2-1", "batch/read"), Lane.ASSOCIATIONS),
        (API.associations("2-1", "0-2", "batch/archive"), Lane.ASSOCIATIONS),
        (API.associations("2-1", "0-2", "batch/labels/archive"), Lane.ASSOCIATIONS),
        (API.objects("2-1", "search"), Lane.SEARCH),
        (API.objects("2-1", "batch/upsert"), Lane.BURST),
        (API.objects("0-2", "batch/read"), Lane.BURST),
        (API.properties("0-2", "batch/create"), Lane.BURST),
        (API.association_labels("2-1", "0-2"), Lane.BURST),  # labels: not a batch operation
        (API.schemas(), Lane.BURST),
        (API.account_details, Lane.BURST),
    ],
)
def test_each_call_goes_in_the_lane_the_2026_09_specs_give_it(path, lane):
    assert lane_of(path) is lane


def test_a_full_burst_window_does_not_hold_back_association_calls():
    p = Pacer()
    p.observe(headers(5, 1000))
    burst = p.lane(Lane.BURST)
    assert burst.budget == (4, 1000)
    assert all(burst.try_acquire() is not None for _ in range(4))
    assert burst.try_acquire() is None  # the burst window is full for a second
    associations = p.lane(Lane.ASSOCIATIONS)  # a window of its own, at the burst lane's rate
    assert all(associations.try_acquire() is not None for _ in range(4))


def test_what_others_use_of_the_window_comes_off_our_budget():
    p = Pacer()
    burst = p.lane(Lane.BURST)
    sent = burst.acquire()
    # HubSpot counted 100 calls in the window; one of them was ours.
    p.observe(headers(190, remaining=90), Lane.BURST, sent)
    assert burst.others == 99
    assert p.budget == (int(190 * HEADROOM) - 99, 10_000)


def test_others_are_the_largest_recent_reading_and_leave_with_their_window(monkeypatch):
    import destination_hubspot_lago.hubspot.pacing as pacing

    p = Pacer()
    for remaining in (150, 90, 120):  # a call of theirs on its way makes one reading smaller
        p.observe(headers(190, remaining=remaining), Lane.BURST, p.acquire())
    assert p.lane(Lane.BURST).others == 190 - 90 - 2  # two of ours by then
    monkeypatch.setattr(pacing, "OTHERS_SECONDS", 0.0)
    monkeypatch.setattr(pacing, "OTHERS_RECENT_SECONDS", 0.0)
    p.observe(headers(190, remaining=186), Lane.BURST, p.acquire())  # they are gone
    assert p.lane(Lane.BURST).others == 0
    assert p.budget == (int(190 * HEADROOM), 10_000)


def test_the_users_cap_still_bounds_the_budget():
    p = Pacer(cap_per_10_seconds=50)
    p.observe(headers(190, remaining=189), Lane.BURST, p.acquire())
    assert p.budget == (50, 10_000)


def test_a_429_pauses_its_own_lane_and_no_other():
    p = Pacer()
    p.back_off(1.0, Lane.ASSOCIATIONS)
    assert p.lane(Lane.ASSOCIATIONS).paused_for() > 0.5
    assert p.lane(Lane.BURST).paused_for() == 0
    assert p.lane(Lane.BURST).try_acquire() is not None
    assert p.lane(Lane.ASSOCIATIONS).try_acquire() is None
    p.back_off(1.0, Lane.BURST)
    assert p.lane(Lane.BURST).paused_for() > 0.5
    assert p.lane(Lane.SEARCH).paused_for() == 0


def test_a_429_pauses_every_caller_of_its_lane():
    p = Pacer()
    p.back_off(0.3, Lane.ASSOCIATIONS)
    start = time.monotonic()
    p.acquire(Lane.ASSOCIATIONS)
    assert time.monotonic() - start >= 0.29


def test_the_associations_lane_starts_at_the_burst_lanes_learnt_rate():
    p = Pacer()
    p.observe(headers(190))  # a burst answer
    associations = p.lane(Lane.ASSOCIATIONS)
    associations.acquire()
    assert associations.budget == (int(190 * HEADROOM), 10_000)


def test_the_associations_lane_starts_at_the_burst_rate_grows_and_halves(monkeypatch):
    import destination_hubspot_lago.hubspot.pacing as pacing

    monkeypatch.setattr(pacing, "GROWTH_SECONDS", 0.1)
    lane = LanePacer(Lane.ASSOCIATIONS, 10, 100, adaptive=True)  # 10 per 0.1 s
    start = lane.budget[0]
    assert start == int(10 * HEADROOM)
    time.sleep(0.11)
    lane.observe({})  # a whole window without a 429 of its own
    grown = lane.budget[0]
    assert grown == int(10 * HEADROOM * ASSOCIATIONS_GROWTH)
    time.sleep(0.11)
    lane.observe({})
    assert lane.budget[0] > grown
    before = lane.budget[0]
    lane.back_off(0.01)
    assert lane.budget[0] <= before // 2 + 1


def test_the_associations_lane_follows_a_window_hubspot_names_for_it():
    p = Pacer()
    associations = p.lane(Lane.ASSOCIATIONS)
    p.observe(headers(100, 10_000, remaining=99), Lane.ASSOCIATIONS, associations.acquire())
    assert associations.budget == (int(100 * HEADROOM), 10_000)
    assert p.budget == (97, 10_000)  # the burst lane learnt nothing from it


def test_association_answers_naming_the_burst_window_make_both_lanes_one():
    p = Pacer()
    p.observe(headers(190, remaining=189), Lane.BURST, p.acquire())
    sent = p.acquire(Lane.ASSOCIATIONS)
    p.observe(headers(190, remaining=187), Lane.ASSOCIATIONS, sent)
    assert p.associations_share_the_burst_window
    assert p.lane(Lane.ASSOCIATIONS) is p.lane(Lane.BURST)
    # a window of another size is one of their own
    q = Pacer()
    q.observe(headers(190, remaining=189), Lane.BURST, q.acquire())
    q.observe(headers(100, remaining=99), Lane.ASSOCIATIONS, q.acquire(Lane.ASSOCIATIONS))
    assert not q.associations_share_the_burst_window


def test_at_most_burst_in_flight_burst_calls_are_in_flight_and_associations_are_not_capped():
    """§9: the burst lane's calls in flight are capped for every thread of a sync (more only
    widens the overshoot of syncs sharing a key); the associations lane's are not."""
    p = Pacer()
    held, let_go = threading.Barrier(BURST_IN_FLIGHT + 1), threading.Event()
    entered = []

    def call(lane):
        with p.in_flight(lane):
            entered.append(lane)
            if lane is Lane.BURST and len(entered) <= BURST_IN_FLIGHT:
                held.wait(5)
            let_go.wait(5)

    threads = [threading.Thread(target=call, args=(Lane.BURST,)) for _ in range(BURST_IN_FLIGHT)]
    for t in threads:
        t.start()
    held.wait(5)  # BURST_IN_FLIGHT callers are in flight ...
    extra = threading.Thread(target=call, args=(Lane.BURST,))
    extra.start()
    extra.join(0.3)
    assert entered.count(Lane.BURST) == BURST_IN_FLIGHT  # ... and one more waits for a place
    others = threading.Barrier(2 * BURST_IN_FLIGHT + 1)

    def association():
        with p.in_flight(Lane.ASSOCIATIONS):
            others.wait(5)  # all of them in flight at once, beside the burst lane's
            let_go.wait(5)

    more = [threading.Thread(target=association) for _ in range(2 * BURST_IN_FLIGHT)]
    for t in more:
        t.start()
    others.wait(5)  # raises BrokenBarrierError if the associations lane were capped
    let_go.set()
    for t in [*threads, extra, *more]:
        t.join(5)
    assert entered.count(Lane.BURST) == BURST_IN_FLIGHT + 1  # the one waiting got its place


def test_an_error_raised_in_a_place_in_flight_reaches_the_caller_as_itself_and_frees_the_place():
    """HubSpot's errors are frozen dataclasses: leaving a place in flight must neither touch
    them (a generator-based context manager sets ``__traceback__``, which they refuse) nor
    keep the place."""
    from destination_hubspot_lago.hubspot.errors import ConnectionFailed

    p = Pacer()
    refused = ConnectionFailed(0, "Could not reach HubSpot: check api_base_url")
    for _ in range(BURST_IN_FLIGHT + 1):  # one more than there are places: each was freed
        with pytest.raises(ConnectionFailed) as caught, p.in_flight(Lane.BURST):
            raise refused
        assert caught.value is refused


def test_slow_answers_get_the_burst_lane_more_places_in_flight_and_fast_ones_give_them_back():
    """§9: 8 places fill a burst window only while answers are fast; when an answer takes as
    long as real batch upserts may (0.8 s), the lane allows as many calls in flight as its
    budget a second times that (with headroom), up to BURST_IN_FLIGHT_MOST."""
    p = Pacer()
    burst = p.lane(Lane.BURST)
    p.observe(headers(), Lane.BURST, time.monotonic() - 0.1)
    assert burst.places == BURST_IN_FLIGHT  # 18 a second x 0.1 s: 8 are plenty
    for _ in range(30):
        p.observe(headers(), Lane.BURST, time.monotonic() - 0.8)
    places = burst.places
    assert places is not None and BURST_IN_FLIGHT < places <= BURST_IN_FLIGHT_MOST
    assert p.lane(Lane.ASSOCIATIONS).places is None  # never capped
    everyone_in, let_go = threading.Barrier(places + 1), threading.Event()

    def call():
        with p.in_flight(Lane.BURST):
            everyone_in.wait(5)
            let_go.wait(5)

    threads = [threading.Thread(target=call) for _ in range(places)]
    for t in threads:
        t.start()
    everyone_in.wait(5)  # raises BrokenBarrierError if fewer places were given
    let_go.set()
    for t in threads:
        t.join(5)
    for _ in range(60):
        p.observe(headers(), Lane.BURST, time.monotonic() - 0.05)
    assert burst.places == BURST_IN_FLIGHT
