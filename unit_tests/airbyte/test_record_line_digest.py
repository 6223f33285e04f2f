"""A RECORD's data as the text it came in (``RecordData``, docs/product.md §10): its digest is
the same for the same record in another sync's line (another ``emitted_at``, however the line
spells it) and differs for any other record; used as a mapping it is the whole record; its
declared fields are read without the rest."""

from __future__ import annotations

import json

import msgspec
import pytest
from airbyte_protocol_dataclasses.models import AirbyteMessage, AirbyteRecordMessage, Type

from destination_hubspot_lago.airbyte.incoming import RecordData, parse_lines, record_digest


def line(data, emitted_at=1_733_000_000_000, stream="invoices", first=False, **options):
    body = {"stream": stream, "data": data, "emitted_at": emitted_at}
    if first:  # emitted_at before the data
        body = {"emitted_at": emitted_at, "stream": stream, "data": data}
    return (json.dumps({"type": "RECORD", "record": body}, **options) + "\n").encode()


def record(raw: bytes | str) -> AirbyteRecordMessage:
    (message,) = parse_lines([raw])
    assert message.record is not None
    return message.record


def digest(raw: bytes | str):
    return record_digest(record(raw))


INVOICE = {"lago_id": "i1", "total_amount_cents": 1000, "customer": {"lago_id": "c1"}}


def test_the_same_record_emitted_at_another_time_has_the_same_digest():
    one = digest(line(INVOICE, 1_733_000_000_000))
    assert one is not None
    assert digest(line(INVOICE, 1_733_000_900_123)) == one
    assert digest(line(INVOICE, 7)) == one
    assert digest(line(INVOICE, 1, first=True)) == one  # where emitted_at is: no matter
    assert digest(line(INVOICE, -5)) == one
    assert digest(line(INVOICE, 1.5)) == one
    assert digest(line(INVOICE, None)) == one
    no_time = json.dumps({"type": "RECORD", "record": {"stream": "invoices", "data": INVOICE}})
    assert digest(no_time.encode()) == one
    assert digest(no_time) == one  # a text line as the bytes of the same text
    # every spelling of the key and its value
    spellings = [b'"emitted_at":%d', b'"emitted_at" : %d', b'"emitted_at":\t %d', b"%d.0"]
    for spelling in spellings:
        for first in (False, True):
            base = line(INVOICE, 17, first=first)
            if spelling == b"%d.0":
                spelled = base.replace(b": 17", b": 17.0")
            else:
                spelled = base.replace(b'"emitted_at": 17', spelling % 99)
            assert digest(spelled) == one, (spelling, first)


def test_any_other_record_gives_another_digest():
    one = digest(line(INVOICE))
    others = [
        line({**INVOICE, "total_amount_cents": 1001}),
        line({**INVOICE, "customer": {"lago_id": "c2"}}),
        line({**INVOICE, "emitted_at": 5}),  # a data field of that name is data
        line({"customer": {"lago_id": "c1"}, "lago_id": "i1", "total_amount_cents": 1000}),
        line(INVOICE, separators=(",", ":")),  # the same record spelled otherwise: another
    ]
    digests = [digest(other) for other in others]
    assert None not in digests
    assert len({one, *digests}) == len(others) + 1
    # the digest is of the record (what is mapped), not of its stream's name
    assert digest(line(INVOICE, stream="other_invoices")) == one


def test_the_data_is_the_whole_record_and_read_only_when_used():
    read = record(line({**INVOICE, "metadata": [{"key": "k", "value": "v"}]}))
    data = read.data
    assert type(data) is RecordData
    assert data._whole is None  # nothing read yet
    assert data == {**INVOICE, "metadata": [{"key": "k", "value": "v"}]}
    assert data["customer"] == {"lago_id": "c1"} and data.get("absent", 3) == 3
    assert "metadata" in data and len(data) == 4 and list(data) == [*INVOICE, "metadata"]
    assert data.whole() is data.whole()  # read once


def test_a_record_line_is_the_message_the_protocols_classes_build():
    for raw in (line(INVOICE), line(INVOICE, first=True)):
        (message,) = parse_lines([raw])
        read = message.record
        assert type(message) is AirbyteMessage and type(read) is AirbyteRecordMessage
        assert type(read.data) is RecordData
        built = AirbyteMessage(
            type=Type.RECORD,
            record=AirbyteRecordMessage(
                stream="invoices", data=read.data, emitted_at=1_733_000_000_000
            ),
        )
        assert message == built and vars(message) == vars(built)
        assert vars(read) == vars(built.record)
    (first, second) = parse_lines([line(INVOICE), line(INVOICE)])  # nothing shared
    assert first.record is not second.record and vars(first) is not vars(second)
    assert vars(first.record) is not vars(second.record)


def test_a_view_reads_the_fields_it_declares_and_skips_the_rest():
    class Fields(msgspec.Struct):
        lago_id: str | None = None

    decoder = msgspec.json.Decoder(Fields)
    data = record(line(INVOICE)).data
    assert type(data) is RecordData
    assert data.view(decoder) == Fields("i1")
    assert data.view(decoder) is data.view(decoder)  # read once
    assert data._whole is None  # the rest was not read


def test_a_record_whose_data_came_whole_has_no_digest():
    embedded = AirbyteRecordMessage(stream="invoices", data=dict(INVOICE), emitted_at=1)
    assert record_digest(embedded) is None


@pytest.mark.parametrize(
    "bad",
    [
        line(INVOICE).replace(b'"i1"', b'"\xff"'),  # not UTF-8
        line(INVOICE).replace(b'"i1"', b'"\xc3"'),  # cut in the middle of a character
        line([1, 2]),  # data is not an object
        line(INVOICE).replace(b'"stream": "invoices"', b'"stream": 5'),
        line(INVOICE).replace(b"}}", b"}"),  # cut short
        line(INVOICE, "soon"),  # emitted_at is not a number
    ],
)
def test_a_line_that_is_not_a_valid_record_is_a_bad_line_as_before(bad):
    bad_lines: list[int] = []
    assert list(parse_lines([bad], bad_lines)) == []
    assert bad_lines == [1]


def test_a_record_in_another_alphabet_is_read_as_it_came():
    accented = {**INVOICE, "customer": {"lago_id": "c1", "name": "Zoë Ødegård 東京"}}
    data = record(line(accented, ensure_ascii=False)).data
    assert data == accented
    assert record_digest(record(line(accented, 5, ensure_ascii=False))) == record_digest(
        record(line(accented, 6, ensure_ascii=False))
    )
