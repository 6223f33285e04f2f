"""The ledger file (docs/product.md §10): what enters it, what a later sync finds unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from destination_hubspot_lago.changes.ledger import (
    RECORD,
    ROLLUP,
    WITNESSES,
    Ledger,
    LedgerFileProblem,
)

VERSION = "0.2.0+test"


def saved(tmp_path: Path, fill, name: str = "a") -> Path:
    work = tmp_path / name
    work.mkdir()
    ledger = Ledger(None, work, VERSION)
    fill(ledger)
    path = ledger.finish()
    ledger.close()
    return path


def reopened(tmp_path: Path, previous: Path, **kw) -> Ledger:
    work = tmp_path / "next"
    work.mkdir(exist_ok=True)
    return Ledger(previous, work, VERSION, **kw)


def test_a_confirmed_write_is_unchanged_next_time_with_its_hubspot_id(tmp_path):
    props = {"name": "Acme", "lago_customer_id": "c1"}

    def fill(ledger):
        ledger.confirm("companies", "c1", RECORD, "101", ledger.digest(props))

    ledger = reopened(tmp_path, saved(tmp_path, fill))
    assert ledger.unchanged("companies", "c1", RECORD, ledger.digest(props)) == "101"
    assert (
        ledger.unchanged("companies", "c1", RECORD, ledger.digest({**props, "name": "B"})) is None
    )
    assert ledger.unchanged("contacts", "c1", RECORD, ledger.digest(props)) is None
    assert ledger.unchanged("companies", "c1", ROLLUP, ledger.digest(props)) is None
    # a target given must be the one confirmed
    assert ledger.unchanged("companies", "c1", RECORD, ledger.digest(props), "999") is None


def test_the_model_version_is_in_every_digest(tmp_path):
    a = Ledger(None, tmp_path, "1").digest({"x": "1"})
    b = Ledger(None, tmp_path, "2").digest({"x": "1"})
    assert a != b
    # and key order does not matter
    ledger = Ledger(None, tmp_path, "1")
    assert ledger.digest({"x": "1", "y": "2"}) == ledger.digest({"y": "2", "x": "1"})


def test_how_digests_are_made_is_in_the_model_version(monkeypatch):
    """A ledger whose keys and digests were made another way (SHA-256, before XXH3) is not
    trusted: its model version differs, so the next sync is a full rewrite."""
    from destination_hubspot_lago import connector

    now = connector.model_version()
    monkeypatch.setattr(connector, "LEDGER_DIGESTS", "sha256-64")
    assert connector.model_version() != now


def test_a_digest_is_64_bits_of_xxh3_of_the_model_version_and_the_sorted_json(tmp_path):
    """The ledger's format (``DIGESTS``): what a digest is made of, short and long values
    alike, as a signed 64-bit integer (SQLite's INTEGER). Made another way, the digests of a
    stored ledger would all differ without its model version saying so."""
    import orjson
    import xxhash

    ledger = Ledger(None, tmp_path, "1")
    for size in (10, 1999, 2000, 2001, 4000, 10_000):
        value = {"x": "a" * size, "a": size}
        whole = b"1" + orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        expected = xxhash.xxh3_64_intdigest(whole) - (1 << 63)
        assert ledger.digest(value) == expected, size
        assert -(1 << 63) <= expected < (1 << 63)


def test_many_entries_in_one_query_are_those_of_one_each(tmp_path):
    """previous_of: the entries previous gives one by one (none for a record without one, a
    forgotten one or one the drift guard distrusts), whatever the number asked at once."""

    def fill(ledger):
        for n in range(300):
            ledger.confirm("invoices", f"i{n}", RECORD, str(n), n, n + 1)
        ledger.confirm("subscriptions", "i7", RECORD, "x", 1)  # same Lago id, other object
        ledger.forget("invoices", "i3", RECORD)

    ledger = reopened(tmp_path, saved(tmp_path, fill))
    ledger.distrust([("invoices", "i4", RECORD)])
    asked = [f"i{n}" for n in range(0, 320, 1)] + ["i2", "nobody"]
    one_each = {i: ledger.previous("invoices", i) for i in asked}
    expected = {i: p for i, p in one_each.items() if p is not None}
    assert len(expected) == 298 and "i3" not in expected and "i4" not in expected
    assert expected["i7"] == ("7", 7, 8, None)
    for size in (1, 2, 128, len(asked)):
        got = {}
        for start in range(0, len(asked), size):
            got.update(ledger.previous_of("invoices", asked[start : start + size]))
        assert got == expected, size
    assert ledger.previous_of("invoices", []) == {}
    assert Ledger(None, tmp_path, VERSION).previous_of("invoices", asked) == {}


def test_entries_stay_unless_written_again(tmp_path):
    def fill(ledger):
        ledger.confirm("invoices", "i1", RECORD, "1", ledger.digest({"a": "1"}))
        ledger.confirm("invoices", "i2", RECORD, "2", ledger.digest({"a": "2"}))
        ledger.confirm("invoices", "i3", RECORD, "3", ledger.digest({"a": "3"}))

    second = reopened(tmp_path, saved(tmp_path, fill))
    assert second.unchanged("invoices", "i1", RECORD, second.digest({"a": "1"})) == "1"
    second.confirm("invoices", "i2", RECORD, "2", second.digest({"a": "changed"}))
    # i3 did not arrive in this sync: HubSpot still holds it as the ledger says
    path = second.finish()
    second.close()
    assert second.entries == 3
    (tmp_path / "third").mkdir()
    third = Ledger(path, tmp_path / "third", VERSION)
    assert third.unchanged("invoices", "i1", RECORD, third.digest({"a": "1"})) == "1"
    assert third.unchanged("invoices", "i2", RECORD, third.digest({"a": "changed"})) == "2"
    assert third.unchanged("invoices", "i3", RECORD, third.digest({"a": "3"})) == "3"


def test_a_rejected_last_version_leaves_the_ledger(tmp_path):
    work = tmp_path / "w"
    work.mkdir()
    ledger = Ledger(None, work, VERSION)
    ledger.confirm("invoices", "i1", RECORD, "1", ledger.digest({"a": "1"}))
    ledger.forget("invoices", "i1", RECORD)
    ledger.finish()
    assert ledger.entries == 0


def test_a_dry_run_confirms_nothing_but_still_finds_unchanged(tmp_path):
    def fill(ledger):
        ledger.confirm("invoices", "i1", RECORD, "1", ledger.digest({"a": "1"}))

    dry = reopened(tmp_path, saved(tmp_path, fill), saving=False)
    assert dry.unchanged("invoices", "i1", RECORD, dry.digest({"a": "1"})) == "1"
    dry.confirm("invoices", "i2", RECORD, "2", dry.digest({"a": "2"}))
    dry.witness("invoices", "2", "i2", {"a": "2"})
    dry.finish()
    assert dry.entries == 0


def test_many_unchanged_at_once_are_those_of_one_each(tmp_path):
    """unchanged_all: the (object, Lago id) that unchanged finds unchanged one by one — with
    or without a target, for any number asked (more than MANY: several queries)."""

    def fill(ledger):
        for n in range(1200):
            obj = "companies" if n % 2 else "contacts"
            ledger.confirm(obj, f"c{n}", ROLLUP, str(n), n)
        ledger.forget("contacts", "c8", ROLLUP)

    ledger = reopened(tmp_path, saved(tmp_path, fill))
    ledger.distrust([("companies", "c5", ROLLUP)])
    asked = []
    for n in range(1250):
        obj = "companies" if n % 2 else "contacts"
        digest = n + (n % 7 == 0)  # every 7th changed
        target = None if n % 3 else (str(n) if n % 5 else "elsewhere")  # every 15th moved
        asked.append((obj, f"c{n}", digest, target))
    one_each = {
        (obj, lago_id)
        for obj, lago_id, digest, target in asked
        if ledger.unchanged(obj, lago_id, ROLLUP, digest, target) is not None
    }
    assert ("companies", "c5") not in one_each and ("contacts", "c8") not in one_each
    assert 700 < len(one_each) < 1000
    assert ledger.unchanged_all(ROLLUP, asked) == one_each
    assert ledger.unchanged_all(ROLLUP, iter(asked)) == one_each
    assert ledger.unchanged_all(RECORD, asked) == set()
    assert Ledger(None, tmp_path, VERSION).unchanged_all(ROLLUP, asked) == set()


def test_distrusted_entries_are_written_again(tmp_path):
    def fill(ledger):
        ledger.confirm("invoices", "i1", RECORD, "1", ledger.digest({"a": "1"}))

    ledger = reopened(tmp_path, saved(tmp_path, fill))
    ledger.distrust([("invoices", "i1", RECORD)])
    assert ledger.unchanged("invoices", "i1", RECORD, ledger.digest({"a": "1"})) is None


def test_witnesses_are_a_bounded_sample_that_the_next_ledger_holds(tmp_path):
    def fill(ledger):
        for i in range(1000):
            ledger.witness("invoices", str(i), f"i{i}", {"n": str(i)})
        ledger.witness("companies", "7", "c7", {"name": "Acme"})

    ledger = reopened(tmp_path, saved(tmp_path, fill))
    witnesses = ledger.previous_witnesses()
    invoices = [w for w in witnesses if w.obj == "invoices"]
    assert len(invoices) == WITNESSES
    assert len({w.target for w in invoices}) == WITNESSES
    # a uniform sample of 1000, not the first 100
    assert max(int(w.target) for w in invoices) >= WITNESSES
    assert [
        (w.target, w.lago_id, dict(w.properties)) for w in witnesses if w.obj == "companies"
    ] == [("7", "c7", {"name": "Acme"})]


def test_a_file_that_is_not_a_ledger_is_a_problem_not_a_crash(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"not sqlite at all" * 100)
    work = tmp_path / "w"
    work.mkdir()
    with pytest.raises(LedgerFileProblem, match="not readable"):
        Ledger(bad, work, VERSION)


def test_many_entries_all_reach_the_file(tmp_path):
    work = tmp_path / "w"
    work.mkdir()
    ledger = Ledger(None, work, VERSION)
    for i in range(10_000):
        ledger.confirm("invoices", f"i{i}", RECORD, str(i), i)
    ledger.finish()
    assert ledger.entries == 10_000


def test_the_sample_takes_every_record_alike(tmp_path):
    """Over many syncs (seeds), each tenth of 1000 records fills a tenth of the sample."""
    per_tenth = [0] * 10
    for seed in range(200):
        work = tmp_path / str(seed)
        work.mkdir()
        ledger = Ledger(None, work, VERSION, seed=seed)
        for i in range(1000):
            ledger.witness("invoices", str(i), f"i{i}", {"n": str(i)})
        ledger.finish()
        ledger.close()
        reopened_ledger = Ledger(ledger.path, tmp_path, VERSION)
        for witness in reopened_ledger.previous_witnesses():
            per_tenth[int(witness.target) // 100] += 1
        reopened_ledger.close()
    expected = 200 * WITNESSES / 10
    assert all(0.85 * expected < n < 1.15 * expected for n in per_tenth), per_tenth
