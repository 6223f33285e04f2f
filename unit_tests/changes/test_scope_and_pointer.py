"""The ledger's scope names and its pointer (changes/store.py), without any storage."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from destination_hubspot_lago.changes.store import (
    LEDGER_NAME,
    LedgerHeader,
    LedgerStorageProblem,
    _parse_pointer,
    _pointer_bytes,
    scope_of,
)

SEGMENT = re.compile(r"^[a-z0-9_~-]+$")
HEADER = LedgerHeader(
    portal_id="123",
    connection_code="hubspot-eu",
    model_version="2026.12",
    generation_id=4,
    written_at="2026-12-06T22:00:00Z",
    entries=65_000,
    name="ledger-20261206T220000123456Z-" + "a" * 32 + ".sqlite",
)


def test_a_scope_is_the_portal_then_the_code():
    assert scope_of(123, "") == "portal-123/_"
    assert scope_of("123", None) == "portal-123/_"
    assert scope_of(123, "hubspot") == "portal-123/code-hubspot"


CODES = [
    "",
    "_",
    "code-",
    "a/b",
    "a_2fb",
    "a_b",
    "A",
    "a",
    "..",
    ".",
    "a b",
    "a%2Fb",
    "é",
    "e\u0301",
    "x" * 200,
    "x" * 199 + "y",
    "x" * 50 + "~" + "0" * 64,
    "\\",
]


def test_different_inputs_never_share_a_scope_and_every_segment_is_safe():
    scopes = {}
    for portal in (1, 12, "1_2"):
        for code in CODES:
            scope = scope_of(portal, code)
            assert scope not in scopes, f"{(portal, code)} and {scopes[scope]} share {scope}"
            scopes[scope] = (portal, code)
            parts = scope.split("/")
            assert len(parts) == 2
            for part in parts:
                assert SEGMENT.match(part), scope
                assert len(part) <= 130, scope


def test_a_scope_needs_a_portal():
    with pytest.raises(ValueError):
        scope_of("", "x")


def test_the_pointer_round_trips_the_header_size_and_digest():
    raw = _pointer_bytes(HEADER, 1234, "f" * 64)
    assert json.loads(raw)["format"] == 1
    assert _parse_pointer(raw, "here") == (HEADER, 1234, "f" * 64)
    none = LedgerHeader("9", "", "1", None, "2026-12-06T22:00:00Z", 0, HEADER.name)
    assert _parse_pointer(_pointer_bytes(none, 0, "0" * 64), "here")[0] == none
    assert LEDGER_NAME.match(HEADER.name)
    dated = replace(HEADER, rewritten_at="2026-12-01T00:00:00Z")
    assert _parse_pointer(_pointer_bytes(dated, 1, "f" * 64), "here")[0] == dated
    older = json.loads(_pointer_bytes(HEADER, 1, "f" * 64))
    del older["rewritten_at"]  # a pointer from before the field reads as ""
    assert _parse_pointer(json.dumps(older).encode(), "here")[0].rewritten_at == ""


def _changed(**change):
    body = json.loads(_pointer_bytes(HEADER, 1234, "f" * 64))
    body.update(change)
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\xff\xfe",
        b"not json",
        b"[]",
        b'"CURRENT"',
        _changed(format=2),
        _changed(format=None),
        _changed(entries="many"),
        _changed(entries=True),
        _changed(entries=-1),
        _changed(generation_id="4"),
        _changed(portal_id=123),
        _changed(name="../../etc/passwd"),
        _changed(name="ledger-x.sqlite"),
        _changed(bytes=None),
        _changed(rewritten_at=5),
    ],
)
def test_a_pointer_we_did_not_write_is_unreadable_naming_the_field(raw):
    with pytest.raises(LedgerStorageProblem) as info:
        _parse_pointer(raw, "/local/portal-1/_/CURRENT.json")
    message = str(info.value)
    assert message.startswith("change_tracking: ") and "unreadable" in message
    assert "/local/portal-1/_/CURRENT.json" in message
