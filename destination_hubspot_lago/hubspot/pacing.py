"""Request budgets for every thread of a sync, one per lane, learned from HubSpot's own answers.

HubSpot counts calls in windows (docs/product.md §9). Most calls fall in the app's burst window:
``X-HubSpot-RateLimit-Max`` requests per ``X-HubSpot-RateLimit-Interval-Milliseconds`` (100,
190 or 250 per 10 s depending on the plan). The 2026-09 specs exempt search and every
associations batch endpoint from that window; search has a published limit of its own (5 per
second), the associations batches none (UNVERIFIED whether they are counted elsewhere, not at
all, or in a window of their own). So each call goes in a lane (``api.lane_of``):

* **burst** — starts at the lowest tier, learns the real figure from the headers, is capped by
  the user's ``max_requests_per_10_seconds`` and keeps a small headroom (HubSpot counts
  arrivals while we count departures);
* **associations** — starts at the burst lane's rate, grows while it sees no 429 of its own,
  halves on one; when its answers carry rate-limit headers it also follows them, so it is safe
  whichever way HubSpot counts these calls;
* **search** — 5 per second, no headers.

Every lane follows HubSpot's count: ``X-HubSpot-RateLimit-Remaining`` says how much of the
window *everyone* using the key has left. What the window holds beyond our own calls of the lane
(another sync on the same key, our other lane when HubSpot counts both together, a killed run's
calls still in the window) is taken off the lane's budget before it costs a 429.

A 429 pauses every caller of its own lane (the window is the app's, not the thread's) and never
another lane. The sliding windows themselves are ``pyrate_limiter``'s; this module only decides
their sizes and pauses.
"""

from __future__ import annotations

import bisect
import contextlib
import math
import threading
import time
from collections import deque
from collections.abc import Mapping
from enum import StrEnum

from pyrate_limiter import InMemoryBucket, Limiter, Rate

DEFAULT_MAX = 100  # the lowest published burst tier (free/starter, OAuth apps)
DEFAULT_INTERVAL_MS = 10_000
HEADROOM = 0.97  # fraction of HubSpot's window we use; the rest absorbs arrival jitter
PENALTY = 0.97  # after a 429 anyway, use this much less (someone else shares the budget)
MIN_SHARE = 0.5
RECOVERY_SECONDS = 60.0  # a minute without 429 gives back one step of the share
SEARCH_PER_SECOND = 5  # HubSpot's published search limit (per account)
ASSOCIATIONS_GROWTH = 1.25  # per GROWTH_SECONDS without a 429 of its own
GROWTH_SECONDS = 1.0
ASSOCIATIONS_CEILING = 2_000  # per 10 s: beyond this the calls in flight are the limit anyway
ASSOCIATIONS_FLOOR = 0.1  # of the starting rate, however many 429s
# A reading of others' use of the window is forgotten after this long without a new one;
# the estimate is the largest reading of the last OTHERS_RECENT_SECONDS.
OTHERS_SECONDS = 1.0
OTHERS_RECENT_SECONDS = 0.25
# A waiting caller sleeps until a slot frees, but asks again at least this often: the budget
# may change meanwhile (HubSpot's count of others, a lane that grows).
MAX_NAP_SECONDS = 0.25
# Burst-lane calls in flight at once, for every thread of a sync. At 100-300 ms an answer 8
# carry 27-80 calls a second, more than any burst window allows (25 a second at most), so more
# only widens the overshoot when other syncs on the same key read the same Remaining and send
# at the same moment. Slower answers get more places (up to BURST_IN_FLIGHT_MOST): as many as
# the lane's budget a second times the answer time, with PLACES_HEADROOM to spare. The
# associations lane has no such cap: its window may be far larger.
BURST_IN_FLIGHT = 8
BURST_IN_FLIGHT_MOST = 16
PLACES_HEADROOM = 1.25
ANSWER_TIME_WEIGHT = 0.2  # of each answer in the lane's running answer time


class Lane(StrEnum):
    BURST = "burst"
    ASSOCIATIONS = "associations"
    SEARCH = "search"


def _headers(headers: Mapping[str, str]) -> tuple[int, int, int | None] | None:
    """(Max, interval ms, Remaining or None) of an answer, or None without usable headers."""
    try:
        hubspot_max = int(headers.get("X-HubSpot-RateLimit-Max", "") or 0)
        interval = int(headers.get("X-HubSpot-RateLimit-Interval-Milliseconds", "") or 0)
        raw = headers.get("X-HubSpot-RateLimit-Remaining", "")
        remaining = int(raw) if raw not in (None, "") else None
    except ValueError:
        return None
    if hubspot_max <= 0 or interval <= 0:
        return None
    return hubspot_max, interval, remaining


class LanePacer:
    """One lane's window: its size, its pause, and what others use of it. Thread-safe."""

    def __init__(
        self,
        lane: Lane,
        limit: int,
        interval_ms: int,
        *,
        cap_per_10_seconds: int | None = None,
        adaptive: bool = False,
        start_from: LanePacer | None = None,
        places: tuple[int, int] | None = None,
    ) -> None:
        self.lane = lane
        # callers between taking a slot and their answer: (fewest, most) places (None: no cap)
        self._places = _Places(*places) if places else None
        self._answer_seconds = 0.0  # running mean of the time an answer takes (0: none yet)
        # The adaptive lane starts at this lane's rate (the burst lane's), until HubSpot names
        # a window of its own in its answers.
        self._start_from = start_from
        self._started = start_from.hubspot_max if start_from is not None else 0
        self._cap = cap_per_10_seconds
        self._adaptive = adaptive  # the associations lane: grows, halves, unknown ceiling
        self._hubspot_max = limit
        self._interval_ms = interval_ms
        self._headers_seen = False
        self._share = 1.0  # lowered by each 429: the budget is evidently shared or jittery
        self._growth = 1.0  # the adaptive lane's factor over its starting rate
        self._last_penalty = 0.0
        self._last_recovery = time.monotonic()
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self._waiting = threading.Lock()  # held by the one caller waiting for a slot
        self._sent: deque[float] = deque()  # our departures in this lane, oldest first
        self._others: deque[tuple[float, int]] = deque()  # (when, others' use) readings
        self._others_now = 0
        self._bucket = InMemoryBucket([self._rate()])
        # No delay of its own: acquire() naps and asks again (the size may change meanwhile).
        self._limiter = Limiter(self._bucket, raise_when_fail=False)

    # -- what the budget is -----------------------------------------------------------

    @property
    def budget(self) -> tuple[int, int]:
        """(requests, interval in ms) the lane currently allows itself."""
        rate = self._bucket.rates[0]
        return rate.limit, rate.interval

    @property
    def hubspot_max(self) -> int:
        """The window's size as HubSpot last named it (before any answer: the lowest tier)."""
        return self._hubspot_max

    @property
    def interval_ms(self) -> int:
        return self._interval_ms

    @property
    def headers_seen(self) -> bool:
        """Whether an answer of this lane named its window."""
        return self._headers_seen

    @property
    def others(self) -> int:
        """Calls in the window HubSpot counted that were not this lane's (latest estimate)."""
        return self._others_now

    def paused_for(self) -> float:
        """Seconds until this lane's callers may send again after a 429 (0: not paused)."""
        return max(0.0, self._paused_until - time.monotonic())

    def _rate(self) -> Rate:
        hubspot_max, interval = self._hubspot_max, self._interval_ms
        if self._start_from is not None and not self._headers_seen:
            hubspot_max, interval = self._start_from.hubspot_max, self._start_from.interval_ms
        base = hubspot_max * HEADROOM * self._share
        if self._adaptive:
            base = base * self._growth
            if not self._headers_seen:
                base = min(base, ASSOCIATIONS_CEILING * interval / 10_000)
        allowed = max(1, int(base) - self._others_now)
        if self._cap:
            allowed = min(allowed, max(1, self._cap * interval // 10_000))
        return Rate(allowed, interval)

    def _resize(self) -> None:
        # In place, under the limiter's lock: a new bucket would forget the calls just made.
        with self._limiter.lock:
            self._bucket.rates = [self._rate()]

    def observe(self, headers: Mapping[str, str], sent_at: float | None = None) -> None:
        """Learn from an answer to a call of this lane sent at ``sent_at`` (``acquire``'s
        value). Answers without rate-limit headers (search, errors) teach nothing but time."""
        now = time.monotonic()
        changed = self._grow_or_recover(now)
        if sent_at is not None and self._places is not None:
            self._fit_places(now - sent_at)
        read = _headers(headers)
        if read is not None:
            hubspot_max, interval, remaining = read
            with self._lock:
                if not self._headers_seen or (hubspot_max, interval) != (
                    self._hubspot_max,
                    self._interval_ms,
                ):
                    if self._adaptive and not self._headers_seen:
                        # HubSpot counts these calls in a window it names: follow that one.
                        self._growth = 1.0
                    self._headers_seen = True
                    self._hubspot_max, self._interval_ms = hubspot_max, interval
                    changed = True
                if remaining is not None and sent_at is not None:
                    changed |= self._read_others(now, sent_at, hubspot_max - remaining)
        else:
            with self._lock:
                changed |= self._forget_others(now)
        if changed:
            self._resize()

    def _fit_places(self, answer_seconds: float) -> None:
        """As many places in flight as the budget a second times the answer time needs."""
        assert self._places is not None
        with self._lock:
            mean = self._answer_seconds
            mean = (
                answer_seconds if not mean else mean + ANSWER_TIME_WEIGHT * (answer_seconds - mean)
            )
            self._answer_seconds = mean
        limit, interval_ms = self.budget
        if interval_ms > 0:
            self._places.fit(limit / (interval_ms / 1000) * mean * PLACES_HEADROOM)

    @property
    def places(self) -> int | None:
        """Calls of this lane that may be in flight at once now (None: no cap)."""
        return None if self._places is None else self._places.limit

    def _read_others(self, now: float, sent_at: float, used: int) -> bool:
        """``used``: the window's calls HubSpot counted, ours included (lock held)."""
        window = self._interval_ms / 1000
        # Ours that HubSpot can have counted: sent within the window before this call, itself
        # included (a later call of ours may arrive first, which only overstates the others).
        start = bisect.bisect_right(self._sent, sent_at - window)
        end = bisect.bisect_right(self._sent, sent_at)
        ours = end - start
        self._others.append((now, max(0, used - ours)))
        return self._forget_others(now)

    def _forget_others(self, now: float) -> bool:
        while self._others and self._others[0][0] < now - OTHERS_SECONDS:
            self._others.popleft()
        # The largest of the latest readings: what others hold of the window changes with
        # every call they make and every call of theirs that leaves it; a call of theirs still
        # on its way makes one reading smaller than the truth.
        recent = now - OTHERS_RECENT_SECONDS
        estimate = max((v for when, v in reversed(self._others) if when >= recent), default=0)
        if not estimate and self._others:
            estimate = self._others[-1][1]
        if estimate == self._others_now:
            return False
        self._others_now = estimate
        return True

    def _grow_or_recover(self, now: float) -> bool:
        """A window without a 429: the adaptive lane grows; a lowered share recovers a step
        each minute."""
        with self._lock:
            if (
                self._adaptive
                and now - max(self._last_penalty, self._last_recovery) >= GROWTH_SECONDS
            ):
                self._last_recovery = now
                ceiling = ASSOCIATIONS_CEILING / max(1, self._hubspot_max * HEADROOM)
                if self._headers_seen:
                    ceiling = 1.0  # HubSpot's own window is the ceiling
                grown = min(ceiling, self._growth * ASSOCIATIONS_GROWTH)
                changed, self._growth = grown != self._growth, grown
                return changed
            if self._share >= 1.0:
                return False
            if now - max(self._last_penalty, self._last_recovery) < RECOVERY_SECONDS:
                return False
            self._last_recovery = now
            self._share = min(1.0, self._share / PENALTY)
            return True

    # -- waiting -----------------------------------------------------------------------

    def _follow_start(self) -> None:
        """The burst lane learnt its window since this lane last sized its own."""
        start = self._start_from
        if start is not None and not self._headers_seen and start.hubspot_max != self._started:
            self._started = start.hubspot_max
            self._resize()

    def acquire(self) -> float:
        """Wait until one more call fits in the lane's budget; when it was let go.

        The budget may change while a caller waits (HubSpot's count of others, a lane that
        grows), so a caller naps until a slot should free, at most MAX_NAP_SECONDS, and asks
        again: never one long sleep on a stale size. One caller at a time waits; the others
        queue behind it on a lock (no CPU spent, no crowd woken for one free slot)."""
        with self._waiting:
            while True:
                wait = self._paused_until - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                    continue
                sent = self.try_acquire()
                if sent is not None:
                    return sent
                if self._grow_or_recover(time.monotonic()):
                    self._resize()
                time.sleep(min(max(self._until_free(), 0.001), MAX_NAP_SECONDS))

    def _until_free(self) -> float:
        """Seconds until the window's oldest call that fills it leaves it (on the limiter's
        clock, milliseconds since the epoch)."""
        with self._limiter.lock:
            rate = self._bucket.rates[0]
            blocking = self._bucket.peek(rate.limit - 1)
        if blocking is None:
            return 0.0
        return (blocking.timestamp + rate.interval) / 1000 - time.time()

    def in_flight(self) -> contextlib.AbstractContextManager[None]:
        """One of the lane's places for a call in flight, from before its wait for the window
        to its answer (waits for one when all are taken)."""
        return self._places if self._places is not None else contextlib.nullcontext()

    def try_acquire(self) -> float | None:
        """One more call if it fits right now (not paused, room in the window), else None;
        never waits."""
        if self.paused_for() > 0:
            return None
        self._follow_start()
        fits = self._limiter.try_acquire(self.lane.value)
        return self._sent_now() if fits else None

    def _sent_now(self) -> float:
        now = time.monotonic()
        with self._lock:
            self._sent.append(now)
            horizon = now - self._interval_ms / 1000 - OTHERS_SECONDS
            while self._sent and self._sent[0] < horizon:
                self._sent.popleft()
        return now

    def pause(self, seconds: float) -> None:
        """Stop every caller of this lane for ``seconds``."""
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def back_off(self, seconds: float) -> None:
        """A 429 of this lane despite pacing: pause all its callers briefly and use less of
        the window for a while (the adaptive lane: half). Several threads seeing the same
        full window count as one penalty."""
        self.pause(seconds)
        now = time.monotonic()
        with self._lock:
            if now - self._last_penalty < seconds:
                return
            self._last_penalty = now
            if self._adaptive:
                self._growth = max(ASSOCIATIONS_FLOOR, self._growth / 2)
            else:
                self._share = max(MIN_SHARE, self._share * PENALTY)
        self._resize()


class _Places:
    """Places for calls in flight: ``fewest`` at first, more while answers are slow enough
    that fewer cannot fill the window (``fit``), ``most`` at most. A place is held in a
    ``with`` block; a class, not a generator: an exception raised inside passes through
    untouched (``contextlib.contextmanager`` sets ``__traceback__`` on it, which a frozen
    dataclass exception refuses)."""

    def __init__(self, fewest: int, most: int) -> None:
        self.fewest, self.most = fewest, most
        self.limit = fewest
        self._taken = 0
        self._freed = threading.Condition(threading.Lock())

    def __enter__(self) -> None:
        with self._freed:
            while self._taken >= self.limit:
                self._freed.wait()
            self._taken += 1

    def __exit__(self, *exc_info: object) -> None:
        with self._freed:
            self._taken -= 1
            self._freed.notify()

    def fit(self, needed: float) -> None:
        limit = min(self.most, max(self.fewest, math.ceil(needed)))
        if limit != self.limit:
            with self._freed:
                grew, self.limit = limit > self.limit, limit
                if grew:
                    self._freed.notify_all()


class Pacer:
    """The sync's lanes (see the module's text). Thread-safe."""

    def __init__(self, cap_per_10_seconds: int | None = None) -> None:
        self.lanes: dict[Lane, LanePacer] = {
            Lane.BURST: LanePacer(
                Lane.BURST,
                DEFAULT_MAX,
                DEFAULT_INTERVAL_MS,
                cap_per_10_seconds=cap_per_10_seconds,
                places=(BURST_IN_FLIGHT, BURST_IN_FLIGHT_MOST),
            ),
            Lane.SEARCH: LanePacer(Lane.SEARCH, SEARCH_PER_SECOND, 1_000),
        }
        self._burst = self.lanes[Lane.BURST]
        self._shared = False  # see associations_share_the_burst_window
        self.lanes[Lane.ASSOCIATIONS] = LanePacer(
            Lane.ASSOCIATIONS,
            DEFAULT_MAX,
            DEFAULT_INTERVAL_MS,
            cap_per_10_seconds=cap_per_10_seconds,
            adaptive=True,
            start_from=self._burst,
        )

    @property
    def budget(self) -> tuple[int, int]:
        """(requests, interval in ms) the burst lane currently allows itself."""
        return self._burst.budget

    @property
    def associations_share_the_burst_window(self) -> bool:
        """Whether HubSpot's answers show association batches counted in the burst window."""
        return self._shared

    def lane(self, lane: Lane = Lane.BURST) -> LanePacer:
        """The window a call of ``lane`` is paced by (one and the same for the associations
        and the burst lane once HubSpot showed it counts both together)."""
        if lane is Lane.ASSOCIATIONS and self._shared:
            return self._burst
        return self.lanes[lane]

    def observe(
        self, headers: Mapping[str, str], lane: Lane = Lane.BURST, sent_at: float | None = None
    ) -> None:
        if lane is Lane.ASSOCIATIONS and not self._shared and self._same_window(headers):
            # An association answer naming the burst window as its own: HubSpot counts these
            # calls there (UNVERIFIED which way it does). From now on both lanes are one
            # window; were it a separate window of the same size, that only costs speed.
            self._shared = True
        self.lane(lane).observe(headers, sent_at)

    def _same_window(self, headers: Mapping[str, str]) -> bool:
        read = _headers(headers)
        burst = self._burst
        return (
            read is not None
            and burst.headers_seen
            and (read[0], read[1]) == (burst.hubspot_max, burst.interval_ms)
        )

    def acquire(self, lane: Lane = Lane.BURST) -> float:
        return self.lane(lane).acquire()

    def in_flight(self, lane: Lane = Lane.BURST) -> contextlib.AbstractContextManager[None]:
        """A place for one call of ``lane`` in flight (see :meth:`LanePacer.in_flight`): the
        caller waits for the window in it (``acquire``), sends, and leaves with its answer."""
        return self.lane(lane).in_flight()

    def pause(self, seconds: float, lane: Lane = Lane.BURST) -> None:
        self.lane(lane).pause(seconds)

    def back_off(self, seconds: float, lane: Lane = Lane.BURST) -> None:
        self.lane(lane).back_off(seconds)
