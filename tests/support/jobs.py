"""Running a sync part's jobs as the message loop runs them, for tests of one part.

``work`` runs on worker threads, ``fold`` on the calling thread as each job finishes, and the
jobs a fold answers are submitted in turn, until none is left (or ``until`` holds after a
fold: then the jobs answered but not started are returned, for the test to run later).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from destination_hubspot_lago.sync.jobs import Job


def run_jobs(
    jobs: Iterable[Job], workers: int = 4, until: Callable[[], bool] | None = None
) -> list[Job]:
    waiting = list(jobs)
    stopped = False
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="test-job") as pool:
        running: dict[Future[Any], Job] = {}
        while running or (waiting and not stopped):
            while waiting and not stopped:
                job = waiting.pop(0)
                running[pool.submit(job.work)] = job
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                waiting += running.pop(future).fold(future.result())
                if until is not None and until():
                    stopped = True
    return waiting
