"""sync/inbox.py: the input read on a thread of its own, handed to the loop in order, at most
MAX_AHEAD messages ahead of it, with what reading it raised raised on the loop's side."""

from __future__ import annotations

import threading

import pytest

from destination_hubspot_lago.sync import inbox as inbox_module
from destination_hubspot_lago.sync.inbox import Inbox


def take_all(inbox):
    taken = []
    while (chunk := inbox.take()) != []:
        taken += chunk
    return taken


def test_every_message_comes_in_order_then_the_end():
    box = Inbox(iter(range(1234)))
    assert take_all(box) == list(range(1234))
    assert box.take() == [] and box.take(timeout=0) == []


def test_nothing_yet_is_none_when_the_loop_does_not_wait():
    gate = threading.Event()

    def quiet():
        gate.wait(5)
        yield "late"

    box = Inbox(quiet())
    assert box.take(timeout=0) is None
    assert box.take(timeout=0.05) is None
    gate.set()
    assert take_all(box) == ["late"]
    box.close()


def test_what_reading_raised_is_raised_after_the_messages_before_it():
    def broken():
        yield 1
        yield 2
        raise OSError("stdin went away")

    box = Inbox(broken())
    taken = []
    with pytest.raises(OSError, match="stdin went away"):
        while (chunk := box.take()) != []:
            taken += chunk
    assert taken == [1, 2]


def test_the_input_is_read_at_most_max_ahead_messages_ahead(monkeypatch):
    monkeypatch.setattr(inbox_module, "MAX_AHEAD", 3)
    asked = []

    def source():
        for n in range(10):
            asked.append(n)
            yield n

    box = Inbox(source())
    first = box.take()  # waits for the first message only
    threading.Event().wait(0.2)  # time for the reader to run ahead as far as it may
    # Taken so far: ``first``; read beyond it: at most 3 more (and the one being asked for).
    assert len(asked) <= len(first) + 3 + 1
    assert first + take_all(box) == list(range(10))


def test_a_closed_inbox_stops_a_reader_waiting_for_room(monkeypatch):
    monkeypatch.setattr(inbox_module, "MAX_AHEAD", 1)
    before = {t for t in threading.enumerate() if t.name == "input"}
    box = Inbox(iter(range(100)))
    box.take()
    (reader,) = {t for t in threading.enumerate() if t.name == "input"} - before
    box.close()
    reader.join(timeout=5)
    assert not reader.is_alive()
