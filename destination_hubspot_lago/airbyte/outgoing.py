"""The Airbyte messages this connector prints, as the CDK would print them, without the CDK.

Each message is one JSON line (orjson, keys in the protocol's field order, absent fields left
out) written to stdout in a single ``write`` and flushed: the binary stdout buffer and every
``logging.Handler`` have their own lock, so log lines from worker threads never land inside
another message, and a STATE or CONTROL never waits in a buffer.

* :func:`log_message`, :class:`AirbyteLogHandler` (LOG, secrets masked: the CDK's
  ``AirbyteLogFormatter``);
* :func:`trace_message` and :class:`TracedError` (an error TRACE with its failure type);
* :func:`connection_status_message` (CONNECTION_STATUS), :func:`control_config_message` (the
  CONTROL message carrying a config to store, as the CDK's
  ``create_connector_config_control_message`` builds it).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sys
import time
from collections.abc import Mapping
from typing import Any

import orjson
from airbyte_protocol_dataclasses.models import (
    AirbyteControlConnectorConfigMessage,
    AirbyteControlMessage,
    AirbyteMessage,
    FailureType,
    OrchestratorType,
    Type,
)

from .secrets import filter_secrets

__all__ = [
    "AirbyteLogHandler",
    "Outbox",
    "config_control",
    "FailureType",
    "TracedError",
    "connection_status_message",
    "control_config_message",
    "emit",
    "log_message",
    "setup_logging",
    "trace_message",
    "write_line",
]

LOGGER_NAME = "airbyte"

# Python log levels as Airbyte's (the CDK's mapping; other levels print as INFO).
LEVELS = {
    logging.CRITICAL: "FATAL",
    logging.ERROR: "ERROR",
    logging.WARNING: "WARN",
    logging.INFO: "INFO",
    logging.DEBUG: "DEBUG",
}


class TracedError(Exception):
    """A problem that ends the run with an error TRACE: ``message`` is for the user (what to
    fix), ``internal_message`` for support; both are masked when printed."""

    def __init__(
        self,
        message: str,
        failure_type: FailureType = FailureType.system_error,
        internal_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.failure_type = failure_type
        self.internal_message = internal_message


def write_line(line: bytes) -> None:
    """Write one complete line to stdout in a single call, and flush it."""
    out = sys.stdout
    buffer = getattr(out, "buffer", None)
    if buffer is None:  # stdout replaced by a text-only stream (an embedding host)
        out.write(line.decode())
        out.flush()
        return
    buffer.write(line)
    buffer.flush()


def emit(message: Mapping[str, Any]) -> None:
    """Print one Airbyte message (a JSON-ready mapping) as one line."""
    write_line(orjson.dumps(message, option=orjson.OPT_APPEND_NEWLINE))


def now_millis() -> float:
    return time.time() * 1000


def log_message(level: str, text: str) -> dict[str, Any]:
    return {"type": "LOG", "log": {"level": level, "message": filter_secrets(text)}}


def trace_message(
    message: str,
    failure_type: FailureType,
    internal_message: str | None = None,
    stack_trace: str | None = None,
) -> dict[str, Any]:
    """An error TRACE; every text in it masked."""
    error: dict[str, Any] = {"message": filter_secrets(message)}
    if internal_message:
        error["internal_message"] = filter_secrets(internal_message)
    if stack_trace:
        error["stack_trace"] = filter_secrets(stack_trace)
    error["failure_type"] = failure_type.value
    return {"type": "TRACE", "trace": {"type": "ERROR", "emitted_at": now_millis(), "error": error}}


def connection_status_message(succeeded: bool, message: str | None) -> dict[str, Any]:
    status: dict[str, Any] = {"status": "SUCCEEDED" if succeeded else "FAILED"}
    if message is not None:
        status["message"] = filter_secrets(message)
    return {"type": "CONNECTION_STATUS", "connectionStatus": status}


def control_config_message(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config for the platform to store (a rotated credential): deliberately unmasked."""
    return {
        "type": "CONTROL",
        "control": {
            "type": "CONNECTOR_CONFIG",
            "emitted_at": now_millis(),
            "connectorConfig": {"config": config},
        },
    }


class AirbyteLogHandler(logging.Handler):
    """Log records as LOG messages (``%(message)s`` plus any traceback), secrets masked."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception as exc:  # a bad format string: never print its arguments
            text = f"A log line could not be formatted ({type(exc).__name__})."
        with contextlib.suppress(OSError):  # stdout closed: nobody is left to read it
            emit(log_message(LEVELS.get(record.levelno, "INFO"), text))


_HANDLER = AirbyteLogHandler()


def setup_logging() -> None:
    """What the CDK's ``init_logger`` sets up: every logger's records at the root handler as
    LOG messages; ``airbyte`` (ours) from INFO, others from WARNING."""
    root = logging.getLogger()
    if _HANDLER not in root.handlers:
        root.addHandler(_HANDLER)
    logging.getLogger(LOGGER_NAME).setLevel(logging.INFO)


class Outbox:
    """Messages made off the printing thread, held for the thread that prints them.

    A worker that refreshes the OAuth token may learn of a rotated refresh token: the CONTROL
    message carrying it waits here (``put``, any thread, no I/O) until the message loop — or
    the command, outside a sync — takes it (``take``) and prints it between its own messages.
    """

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[AirbyteMessage] = queue.SimpleQueue()

    def put(self, message: AirbyteMessage) -> None:
        self._queue.put(message)

    def __bool__(self) -> bool:
        """Whether a message is waiting (cheap: the loop asks after every input message)."""
        return not self._queue.empty()

    def take(self) -> list[AirbyteMessage]:
        taken = []
        while True:
            try:
                taken.append(self._queue.get_nowait())
            except queue.Empty:
                return taken


def config_control(config: Mapping[str, Any]) -> AirbyteMessage:
    """:func:`control_config_message` as a protocol message (what the sync yields)."""
    return AirbyteMessage(
        type=Type.CONTROL,
        control=AirbyteControlMessage(
            type=OrchestratorType.CONNECTOR_CONFIG,
            emitted_at=now_millis(),
            connectorConfig=AirbyteControlConnectorConfigMessage(config=dict(config)),
        ),
    )
