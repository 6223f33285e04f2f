"""A job: HTTP work for a worker thread, and how its outcome is folded into sync state.

``work`` runs on a worker and only talks to HubSpot: it reads nothing the loop may
change and changes nothing, and *returns* its outcome. ``fold`` runs later on the
message loop thread with that outcome; it is the only place an outcome touches sync
state, and it may answer more jobs (a second step of the same records, or association
batches that became full).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

RecordKey = tuple[str, str]  # (what kind of record, its Lago id): a version's identity
StreamKey = tuple[str | None, str]  # (namespace, stream name), as the protocol names it


@dataclass(frozen=True, eq=False)
class Job:
    # The records this job writes: a newer version of one waits until this job is folded.
    keys: Sequence[RecordKey]
    work: Callable[[], Any]
    fold: Callable[[Any], Sequence[Job]]


NO_JOBS: tuple[Job, ...] = ()
