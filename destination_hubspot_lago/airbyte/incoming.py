"""Airbyte input (stdin messages, the configured catalog) as the protocol's dataclasses, and
STATE echo, without the CDK (whose import alone costs seconds of CPU).

The platform adds top-level keys to STATE messages (notably ``id``) that the protocol's
dataclasses drop, and the orchestrator fails a sync whose echoed state lacks them. So
each STATE keeps its raw JSON, and is echoed from it, with ``destinationStats`` added
(``recordCount`` and ``rejectedRecordCount``, see :func:`set_destination_stats`).

Messages are ``airbyte_protocol_dataclasses.models`` objects, the classes the CDK's own
models are built on, so the pipeline reads the same attributes whichever way it is run. An
enum field holding a value the protocol does not know (a newer ``destination_sync_mode``)
keeps it as a plain string, for ``input_checks`` to warn about instead of failing the sync.

The protocol grows: a message whose ``type`` this protocol version does not know is skipped
with one log line per type, and is not an unreadable line (those hold back §8's
reconciliation). A line that is not a JSON object, or an object without a ``type``, is.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
import orjson
import xxhash
from airbyte_protocol_dataclasses.models import (
    AirbyteMessage,
    AirbyteRecordMessage,
    AirbyteStateMessage,
    AirbyteStateStats,
    AirbyteStateType,
    AirbyteStream,
    AirbyteStreamState,
    ConfiguredAirbyteCatalog,
    ConfiguredAirbyteStream,
    DestinationSyncMode,
    StreamDescriptor,
    SyncMode,
    Type,
)

logger = logging.getLogger("airbyte")

_RAW = "_raw_json"
_TYPES = {kind.value: kind for kind in Type}
_STATE_TYPES = {kind.value: kind for kind in AirbyteStateType}
_LOGGED_TYPE_CHARS = 100  # an unknown type is named in the log, cut to this length


@dataclass
class DestinationStats(AirbyteStateStats):
    """An echoed STATE's ``destinationStats``: the protocol's ``AirbyteStateStats`` (this
    version knows ``recordCount`` only) plus Airbyte's ``rejectedRecordCount``."""

    rejectedRecordCount: float | None = None


class InputError(ValueError):
    """A line of input that is not an Airbyte message (counted and reported, never echoed)."""


class UnknownMessageType(Exception):
    """A message of a type this protocol version does not know (a newer platform's): skipped,
    not an unreadable line."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def parse_lines(
    lines: Iterable[str | bytes], bad_lines: list[int] | None = None
) -> Iterator[AirbyteMessage]:
    """Parse stdin lines; STATE messages remember their raw JSON, RECORDs keep their data as
    the JSON text it came in (:class:`RecordData`).

    Unparseable lines are logged by number only (their content may hold customer data)
    and appended to ``bad_lines`` so the caller can fail the sync at the end. A message of
    an unknown type is skipped, logged once per type.
    """
    unknown: set[str] = set()
    for number, line in enumerate(lines, start=1):
        try:
            message = _light_record(line, number)
            if message is None:  # not a RECORD line of the usual shape: read in full
                message = parse_message(orjson.loads(line))
        except UnknownMessageType as skipped:
            if skipped.kind not in unknown:
                unknown.add(skipped.kind)
                logger.info(
                    "Input line %d is an Airbyte message of type %r, which this destination "
                    "does not know; messages of that type are skipped.",
                    number,
                    skipped.kind[:_LOGGED_TYPE_CHARS],
                )
            continue
        except Exception as exc:  # orjson and the shape checks raise several types
            if not line.strip():  # a blank line: neither a message nor a mistake
                continue
            unreadable_line(number, exc, bad_lines)
            continue
        yield message


def unreadable_line(number: int, error: Exception, bad_lines: list[int] | None) -> None:
    """Input line ``number`` is not a message: logged by its number only (its content may hold
    customer data), and counted in ``bad_lines`` (the sync fails at the end)."""
    logger.error(
        "Input line %d is not a valid Airbyte message (%s); it was skipped.",
        number,
        type(error).__name__,
    )
    if bad_lines is not None:
        bad_lines.append(number)


class RecordData(Mapping[str, Any]):
    """A RECORD's ``data`` as the JSON text it came in, read when it is first used.

    Most of a sync's input is records it compares and does not send (docs/product.md §10):
    of an unchanged invoice, the billing roll-ups and the ledger read a dozen fields, and
    reading all of it (an invoice's line holds its whole customer, half of its 2.4 KB) cost
    more than everything else its sync does with it. So the reader keeps the data's text;
    :meth:`view` reads the fields a caller declares (a ``msgspec`` decoder of a struct: the
    rest is skipped, not built), and any other use reads it all, once (``orjson``, as a line
    was read before). Used as a mapping it is the record's data, whole: a field nobody
    declared is never missing, only read later.

    ``digest``: of the text (XXH3's 64 bits), which is the record as it came down to the
    order of its keys, without the ``emitted_at`` every sync changes; equal digests hold equal
    records. ``number``: its input line's (text orjson refuses makes it an unreadable line,
    ``unreadable_line``, as it was when lines were read whole). Owned by the thread that took
    the message.
    """

    __slots__ = ("text", "number", "digest", "_whole", "_view", "_view_of")

    def __init__(self, text: msgspec.Raw, number: int = 0) -> None:
        self.text = text
        self.number = number
        self.digest: int = _xxh3(text)
        self._whole: dict[str, Any] | None = None
        self._view: Any = None  # the last view read, and its decoder's
        self._view_of: msgspec.json.Decoder[Any] | None = None

    def whole(self) -> dict[str, Any]:
        """All of it, as a dict (read once). Raises ``ValueError`` for text orjson refuses
        (which the quicker first reading let pass: an invalid character in a skipped field)."""
        whole = self._whole
        if whole is None:
            whole = self._whole = orjson.loads(memoryview(self.text))
        return whole

    def view(self, decoder: msgspec.json.Decoder[Any]) -> Any:
        """The fields ``decoder``'s struct declares (read once, for the decoder last asked).
        Raises ``msgspec.ValidationError`` when one does not have the declared shape."""
        if self._view_of is not decoder:
            self._view = decoder.decode(self.text)
            self._view_of = decoder
        return self._view

    def __getitem__(self, key: str) -> Any:
        return self.whole()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.whole())

    def __len__(self) -> int:
        return len(self.whole())

    def get(self, key: str, default: Any = None) -> Any:
        return self.whole().get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.whole()

    def __repr__(self) -> str:
        try:
            return f"RecordData({self.whole()!r})"
        except ValueError:
            return f"RecordData(<line {self.number}: {len(self.text)} bytes orjson refuses>)"


# A RECORD line, its data kept as text: what parse_lines reads first.
class _Body(msgspec.Struct):
    stream: Any = None
    data: msgspec.Raw = msgspec.Raw()  # empty: no data
    namespace: Any = None
    emitted_at: Any = None


class _Envelope(msgspec.Struct):
    type: Any = None
    record: _Body | None = None


_ENVELOPE = msgspec.json.Decoder(_Envelope)
_OBJECT = ord("{")
_xxh3 = xxhash.xxh3_64_intdigest


def _light_record(line: str | bytes, number: int) -> AirbyteMessage | None:
    """A RECORD line whose data is an object, read with its data kept as text; None for any
    other line (read in full, as before, by the caller). A line that is not UTF-8 is refused
    here as orjson refuses it (a skipped field's bytes are not checked by the first reading)."""
    try:
        envelope = _ENVELOPE.decode(line)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None  # let orjson and parse_message say what is wrong
    body = envelope.record
    if envelope.type != "RECORD" or body is None:
        return None
    text = body.data
    if not len(text) or memoryview(text)[0] != _OBJECT:
        return None
    if not isinstance(body.stream, str):
        return None
    namespace = body.namespace
    if namespace is not None and not isinstance(namespace, str):
        return None
    if isinstance(line, bytes) and not line.isascii():
        line.decode()  # UnicodeDecodeError: not a valid Airbyte message
    # AirbyteMessage(type=RECORD, record=AirbyteRecordMessage(...)), the same objects, built
    # from their fields' defaults without the dataclasses' keyword __init__ (half the cost)
    fields = _RECORD_DEFAULTS.copy()
    fields["stream"] = body.stream
    fields["data"] = RecordData(text, number)  # a Mapping, read when it is used
    fields["emitted_at"] = int(body.emitted_at or 0)
    fields["namespace"] = namespace
    record = _new(AirbyteRecordMessage)
    record.__dict__ = fields
    fields = _RECORD_MESSAGE_DEFAULTS.copy()
    fields["record"] = record
    message = _new(AirbyteMessage)
    message.__dict__ = fields
    return message


_new = object.__new__
# every field of each as its __init__ sets it (the defaults: None, no mutable one)
_RECORD_DEFAULTS = vars(AirbyteRecordMessage(stream="", data={}, emitted_at=0))
_RECORD_MESSAGE_DEFAULTS = vars(AirbyteMessage(type=Type.RECORD))
assert all(
    value is None or key in {"stream", "data", "emitted_at", "type"}
    for key, value in (_RECORD_DEFAULTS | _RECORD_MESSAGE_DEFAULTS).items()
)


def record_digest(record: AirbyteRecordMessage) -> int | None:
    """The digest of the data's text (``RecordData.digest``); None for a record whose data did
    not come as text of its own (a host embedding the CDK class; a line read in full)."""
    data = record.data
    return data.digest if type(data) is RecordData else None


def parse_message(raw: Any) -> AirbyteMessage:
    """One parsed JSON line as a message: RECORDs and STATEs in full, other types (which a
    destination ignores) by their type only. Raises :class:`UnknownMessageType` for a type
    this protocol version does not know, :class:`InputError` for what is not a message."""
    if not isinstance(raw, dict):
        raise InputError("not a JSON object")
    kind = raw.get("type")
    if kind == "RECORD":
        return _record(raw)
    if kind == "STATE":
        return _state(raw)
    if kind in _TYPES:
        return AirbyteMessage(type=_TYPES[kind])
    if isinstance(kind, str) and kind:
        raise UnknownMessageType(kind)
    raise InputError("no message type")


def _record(raw: dict[str, Any]) -> AirbyteMessage:
    """RECORDs are most of the input: only the stream, namespace and data are read."""
    body = raw.get("record")
    if not isinstance(body, dict) or not isinstance(body.get("stream"), str):
        raise InputError("RECORD without a stream")
    data = body.get("data")
    if not isinstance(data, dict):
        raise InputError("RECORD data is not an object")
    namespace = body.get("namespace")
    if namespace is not None and not isinstance(namespace, str):
        raise InputError("RECORD namespace is not a string")
    return AirbyteMessage(
        type=Type.RECORD,
        record=AirbyteRecordMessage(
            stream=body["stream"],
            data=data,
            emitted_at=int(body.get("emitted_at") or 0),
            namespace=namespace,
        ),
    )


def _state(raw: dict[str, Any]) -> AirbyteMessage:
    body = raw.get("state")
    if body is None:
        return AirbyteMessage(type=Type.STATE)  # nothing to checkpoint, nothing to echo
    if not isinstance(body, dict):
        raise InputError("STATE is not an object")
    kind = body.get("type")
    if kind is not None and kind not in _STATE_TYPES:
        raise InputError("unknown state type")
    stream = None
    if body.get("stream") is not None:
        if not isinstance(body["stream"], dict):
            raise InputError("STREAM state is not an object")
        descriptor = body["stream"].get("stream_descriptor")
        if not isinstance(descriptor, dict) or not isinstance(descriptor.get("name"), str):
            raise InputError("STREAM state without a stream descriptor")
        namespace = descriptor.get("namespace")
        if namespace is not None and not isinstance(namespace, str):
            raise InputError("state namespace is not a string")
        # The stream's own state stays in the raw JSON, echoed as it came.
        stream = AirbyteStreamState(StreamDescriptor(descriptor["name"], namespace))
    message = AirbyteMessage(
        type=Type.STATE,
        state=AirbyteStateMessage(type=_STATE_TYPES.get(kind) if kind else None, stream=stream),
    )
    setattr(message, _RAW, raw)
    return message


def set_destination_stats(state: AirbyteStateMessage, records: int, rejected: int) -> None:
    """The counts an echoed STATE carries: records received since the previous state of the
    same scope, and how many of them were rejected (Airbyte's ``rejectedRecordCount``)."""
    state.destinationStats = DestinationStats(
        recordCount=float(records), rejectedRecordCount=float(rejected)
    )


def raw_json(message: AirbyteMessage) -> dict[str, Any] | None:
    """The JSON a STATE arrived as (every key the platform put in it), or None."""
    return getattr(message, _RAW, None)


def keep_raw_json(message: AirbyteMessage, raw: dict[str, Any] | None) -> None:
    """Let ``message`` (another model of the same STATE) be echoed from ``raw``."""
    if raw is not None:
        setattr(message, _RAW, raw)


def to_json(message: AirbyteMessage) -> dict[str, Any]:
    """A message as JSON; a STATE is its raw input plus ``destinationStats``."""
    raw = raw_json(message)
    if message.type == Type.STATE and raw is not None and message.state is not None:
        out = dict(raw)
        state = out.get("state")
        stats = message.state.destinationStats
        if stats is not None and isinstance(state, dict):
            out["state"] = {**state, "destinationStats": _plain(stats)}
        return out
    return _plain(message)


def _plain(value: Any) -> Any:
    """A protocol dataclass as the protocol's JSON: enum values, absent fields left out."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if not dataclasses.fields(value):  # a state blob: its keys are its attributes
            return _plain(dict(vars(value)))
        out = {}
        for field in dataclasses.fields(value):
            item = getattr(value, field.name)
            if item is not None:
                out[field.name.rstrip("_")] = _plain(item)  # global_ is "global"
        return out
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


# -- the configured catalog -------------------------------------------------------------


def parse_catalog(raw: Mapping[str, Any]) -> ConfiguredAirbyteCatalog:
    """A configured catalog from its JSON; :class:`InputError` names what is wrong."""
    streams = raw.get("streams")
    if not isinstance(streams, list):
        raise InputError('no "streams" list')
    return ConfiguredAirbyteCatalog(
        streams=[_configured_stream(entry, f"streams[{i}]") for i, entry in enumerate(streams)]
    )


def _configured_stream(entry: Any, where: str) -> ConfiguredAirbyteStream:
    if not isinstance(entry, dict):
        raise InputError(f"{where} is not an object")
    stream = entry.get("stream")
    if not isinstance(stream, dict):
        raise InputError(f"{where}.stream is missing")
    name = stream.get("name")
    if not isinstance(name, str):
        raise InputError(f"{where}.stream.name is missing")
    schema = stream.get("json_schema")
    if not isinstance(schema, dict):
        raise InputError(f"{where}.stream.json_schema is missing")
    supported = stream.get("supported_sync_modes")
    if not isinstance(supported, list):
        raise InputError(f"{where}.stream.supported_sync_modes is missing")
    for key in ("sync_mode", "destination_sync_mode"):
        if not isinstance(entry.get(key), str):
            raise InputError(f"{where}.{key} is missing")
    namespace = stream.get("namespace")
    return ConfiguredAirbyteStream(
        stream=AirbyteStream(
            name=name,
            json_schema=schema,
            supported_sync_modes=[_enum(SyncMode, mode) for mode in supported],
            namespace=namespace if isinstance(namespace, str) else None,
        ),
        sync_mode=_enum(SyncMode, entry["sync_mode"]),
        destination_sync_mode=_enum(DestinationSyncMode, entry["destination_sync_mode"]),
        cursor_field=entry.get("cursor_field"),
        primary_key=entry.get("primary_key"),
        # Airbyte raises it on a Refresh (docs/product.md §10 then rewrites everything)
        generation_id=_whole_number(entry.get("generation_id")),
        minimum_generation_id=_whole_number(entry.get("minimum_generation_id")),
        sync_id=_whole_number(entry.get("sync_id")),
    )


def _whole_number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _enum(kind: type[enum.Enum], value: Any) -> Any:
    """The enum member, or the value itself when this protocol version does not know it."""
    try:
        return kind(value)
    except ValueError:
        return value
