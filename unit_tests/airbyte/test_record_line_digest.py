"""The digest of a RECORD's input line (docs/product.md §10): the same record in another
sync's line (another ``emitted_at``) has the same digest; any other difference gives another
one; a line it cannot be sure of gives none (the record is then serialised to be compared)."""

from __future__ import annotations

import json

from destination_hubspot_lago.airbyte.incoming import parse_lines, record_digest


def line(data, emitted_at=1_733_000_000_000, stream="invoices", first=False, **options):
    body = {"stream": stream, "data": data, "emitted_at": emitted_at}
    if first:  # emitted_at before the data
        body = {"emitted_at": emitted_at, "stream": stream, "data": data}
    return (json.dumps({"type": "RECORD", "record": body}, **options) + "\n").encode()


def digest(raw: bytes | str):
    (message,) = parse_lines([raw])
    assert message.record is not None
    return record_digest(message.record)


INVOICE = {"lago_id": "i1", "total_amount_cents": 1000, "customer": {"lago_id": "c1"}}


def test_the_same_record_emitted_at_another_time_has_the_same_digest():
    one = digest(line(INVOICE, 1_733_000_000_000))
    assert one is not None
    assert digest(line(INVOICE, 1_733_000_900_123)) == one
    assert digest(line(INVOICE, 7)) == one
    assert digest(line(INVOICE, 1, first=True)) == digest(line(INVOICE, 2, first=True))


def test_any_other_difference_gives_another_digest():
    one = digest(line(INVOICE))
    others = [
        line({**INVOICE, "total_amount_cents": 1001}),
        line({**INVOICE, "customer": {"lago_id": "c2"}}),
        line({"customer": {"lago_id": "c1"}, "lago_id": "i1", "total_amount_cents": 1000}),
        line(INVOICE, stream="other_invoices"),
        line(INVOICE, first=True),  # the same record, another shape of line
        line(INVOICE, separators=(",", ":")),
    ]
    digests = [digest(other) for other in others]
    assert None not in digests
    assert len({one, *digests}) == len(others) + 1


def test_a_data_key_named_emitted_at_never_hides_a_change():
    """The search finds the last ``"emitted_at"`` key: with the record's own first, that is
    one in the data. Its value must be the record's to be masked, and then the record's own
    is in the digest."""
    # the data's value differs from the record's: no digest, the record is serialised
    assert digest(line({**INVOICE, "emitted_at": 5}, 9, first=True)) is None
    assert digest(line({**INVOICE, "emitted_at": 95}, 9, first=True)) is None  # begins alike
    # the same value: masked, and the record's own value (and the rest) still count
    same = digest(line({**INVOICE, "emitted_at": 9}, 9, first=True))
    assert same is not None
    assert digest(line({**INVOICE, "emitted_at": 8}, 8, first=True)) != same
    changed = {**INVOICE, "total_amount_cents": 1, "emitted_at": 9}
    assert digest(line(changed, 9, first=True)) != same
    assert digest(line({**INVOICE, "emitted_at": 9}, 9, first=True)) == same


def test_a_line_it_cannot_be_sure_of_has_no_digest():
    assert digest(line(INVOICE, 1.5)) is None  # not an integer
    assert digest(line(INVOICE, "1733000000000")) is None
    assert digest(line(INVOICE, None)) is None
    no_time = json.dumps({"type": "RECORD", "record": {"stream": "invoices", "data": INVOICE}})
    assert digest(no_time.encode()) is None
    assert digest(line(INVOICE).decode()) is None  # text, not the bytes read from stdin
    # a value written with an exponent is not masked by its digits alone
    exponent = line(INVOICE, 17).replace(b'"emitted_at": 17', b'"emitted_at": 17e0')
    assert digest(exponent) is None


def test_every_spelling_of_the_key_and_value_masks_the_value_alone():
    """Sources write ``"emitted_at": 17`` or ``"emitted_at":17`` (read directly), or space it
    otherwise (found by the pattern): each way, only the value's digits are masked."""
    spellings = [
        b'"emitted_at": %d',
        b'"emitted_at":%d',
        b'"emitted_at" : %d',
        b'"emitted_at":\t %d',
        b'"emitted_at":  %d',
    ]
    seen = set()
    for spelling in spellings:
        for first in (False, True):
            base = line(INVOICE, 17, first=first).replace(b'"emitted_at": 17', spelling % 17)
            again = line(INVOICE, 17, first=first).replace(b'"emitted_at": 17', spelling % 99999)
            one = digest(base)
            assert one is not None and digest(again) == one, (spelling, first)
            seen.add(one)
    assert len(seen) == 2 * len(spellings)  # another spelling is another line
    negative = line(INVOICE, -5)
    assert digest(negative) is not None and digest(negative) == digest(line(INVOICE, -12))
