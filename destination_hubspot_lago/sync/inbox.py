"""The sync's input, read on a thread of its own.

The message loop does not wait for its input while a STATE waits for its writes: a STATE
whose records are in HubSpot is echoed at once, also while the source is quiet (a slow page,
the next stream's first request). So the input is read by one thread, the *reader*, which
does nothing else: it takes the messages from their iterator (stdin, parsed) and appends each
to a queue as it comes — it touches no sync state. The loop takes what has come with
:meth:`Inbox.take`, waiting as long as it likes.

Two queues and no lock: the messages go one way, and the loop's *credits* the other (it hands
back as many as it took): a reader out of credits waits for some, so the input is read at
most MAX_AHEAD messages ahead of the loop. A message costs well under a microsecond to hand
over.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator

from airbyte_protocol_dataclasses.models import AirbyteMessage

MAX_AHEAD = 2_000  # messages read and not taken yet, at most
TAKE = 500  # messages taken at once, at most


class _End:
    """The input is over; ``error``: what reading it raised, for the loop to raise."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


class Inbox:
    """The messages of ``messages``, read ahead on the reader thread (see the module's text)."""

    def __init__(self, messages: Iterable[AirbyteMessage]) -> None:
        self._items: queue.SimpleQueue[AirbyteMessage | _End] = queue.SimpleQueue()
        self._credits: queue.SimpleQueue[int] = queue.SimpleQueue()  # taken, or 0: stop
        self._end: _End | None = None  # taken: the input is over
        self._reader = threading.Thread(
            target=self._read, args=(iter(messages),), name="input", daemon=True
        )
        self._reader.start()

    # -- the reader thread ------------------------------------------------------------

    def _read(self, messages: Iterator[AirbyteMessage]) -> None:
        put, credits = self._items.put, MAX_AHEAD
        try:
            for message in messages:
                put(message)
                credits -= 1
                if not credits and not (credits := self._wait_for_credits()):
                    return  # the loop takes no more
        except BaseException as error:  # handed to the loop, which raises it
            put(_End(error))
            return
        put(_End())

    def _wait_for_credits(self) -> int:
        """The credits the loop handed back (waiting for the first); 0 once it stopped."""
        got = [self._credits.get()]
        while True:
            try:
                got.append(self._credits.get_nowait())
            except queue.Empty:
                break
        return 0 if 0 in got else sum(got)

    # -- the loop's side ----------------------------------------------------------------

    def take(self, timeout: float | None = None) -> list[AirbyteMessage] | None:
        """What has come (at most TAKE messages); [] once the input is over; None when
        nothing came within ``timeout`` seconds (None: wait for it). Raises what reading the
        input raised, once the messages read before it were taken."""
        if self._end is not None:
            if self._end.error is not None:
                raise self._end.error
            return []
        items = self._items
        try:
            item = items.get(timeout=timeout) if timeout != 0 else items.get_nowait()
        except queue.Empty:
            return None
        taken: list[AirbyteMessage] = []
        while True:
            if isinstance(item, _End):
                self._end = item
                return taken if taken else self.take()
            taken.append(item)
            if len(taken) >= TAKE:
                break
            try:
                item = items.get_nowait()
            except queue.Empty:
                break
        self._credits.put(len(taken))
        return taken

    def close(self) -> None:
        """The loop takes no more: a reader waiting for credits stops (one waiting for a line
        of input stops once it has read MAX_AHEAD more; it is a daemon thread)."""
        self._credits.put(0)
