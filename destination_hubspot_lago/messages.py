"""Airbyte message I/O that keeps what the CDK's models would lose.

The platform adds top-level keys to STATE messages (notably ``id``) that the CDK's
dataclasses drop, and the orchestrator fails a sync whose echoed state lacks them. So
each STATE keeps its raw JSON, and is echoed from it, with ``destinationStats`` added
(``recordCount`` and ``rejectedRecordCount``, see :func:`set_destination_stats`).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
from airbyte_cdk.models import (
    AirbyteMessage,
    AirbyteMessageSerializer,
    AirbyteRecordMessage,
    AirbyteStateMessage,
    AirbyteStateStats,
    Type,
)

logger = logging.getLogger("airbyte")

_RAW = "_raw_json"
_REJECTED = "_rejected_record_count"  # the CDK's AirbyteStateStats has no such field


class InputError(ValueError):
    """A line of input that is not an Airbyte message (counted and reported, never echoed)."""


def parse_lines(
    lines: Iterable[str | bytes], bad_lines: list[int] | None = None
) -> Iterator[AirbyteMessage]:
    """Parse stdin lines; STATE messages remember their raw JSON.

    Unparseable lines are logged by number only (their content may hold customer data)
    and appended to ``bad_lines`` so the caller can fail the sync at the end.
    """
    for number, line in enumerate(lines, start=1):
        if not line or not line.strip():
            continue
        try:
            raw = orjson.loads(line)
            message = _record(raw) or AirbyteMessageSerializer.load(raw)
        except Exception as exc:  # orjson and serpyco raise several types
            logger.error(
                "Input line %d is not a valid Airbyte message (%s); it was skipped.",
                number,
                type(exc).__name__,
            )
            if bad_lines is not None:
                bad_lines.append(number)
            continue
        if message.type == Type.STATE and isinstance(raw, dict):
            setattr(message, _RAW, raw)
        yield message


def _record(raw: Any) -> AirbyteMessage | None:
    """RECORDs are most of the input: build them directly, without the generic deserializer.

    The generic path walks every nested field of ``data`` (a 2 KB invoice costs ~15 µs);
    the destination only needs the stream, namespace and the data as parsed JSON.
    """
    if not isinstance(raw, dict) or raw.get("type") != "RECORD":
        return None
    body = raw.get("record")
    if not isinstance(body, dict) or not isinstance(body.get("stream"), str):
        raise InputError("RECORD without a stream")
    data = body.get("data")
    if not isinstance(data, dict):
        raise InputError("RECORD data is not an object")
    return AirbyteMessage(
        type=Type.RECORD,
        record=AirbyteRecordMessage(
            stream=body["stream"],
            data=data,
            emitted_at=int(body.get("emitted_at") or 0),
            namespace=body.get("namespace"),
        ),
    )


def set_destination_stats(state: AirbyteStateMessage, records: int, rejected: int) -> None:
    """The counts an echoed STATE carries: records received since the previous state of the
    same scope, and how many of them were rejected (Airbyte's ``rejectedRecordCount``)."""
    state.destinationStats = AirbyteStateStats(recordCount=float(records))
    setattr(state, _REJECTED, float(rejected))


def serialize(message: AirbyteMessage) -> str:
    """One JSON line; a STATE is its raw input plus ``destinationStats``."""
    raw = getattr(message, _RAW, None)
    if message.type == Type.STATE and message.state is not None:
        out: dict[str, Any] = (
            copy.deepcopy(raw) if raw is not None else AirbyteMessageSerializer.dump(message)
        )
        state = out.setdefault("state", {})
        stats = message.state.destinationStats
        if stats is not None and isinstance(state, dict):
            state["destinationStats"] = {
                "recordCount": stats.recordCount,
                "rejectedRecordCount": getattr(message.state, _REJECTED, 0.0),
            }
        return orjson.dumps(out).decode()
    return orjson.dumps(AirbyteMessageSerializer.dump(message)).decode()
