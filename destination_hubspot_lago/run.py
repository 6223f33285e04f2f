"""Console entry point: ``destination-hubspot-lago spec|check|write``.

The Airbyte protocol on stdin/stdout without the Airbyte CDK (its import alone costs seconds of
CPU per sync): ``connector.py`` does the work, ``airbyte/outgoing.py`` prints the messages.
Every way the run can end is an Airbyte message on stdout, and only there (the platform reads
stdout; the same sentence on stderr too would show twice in a terminal): a problem the user can
fix is a ``config_error`` trace (exit code 1), a bug a ``system_error`` trace pointing to the
issue tracker, never a bare traceback.
"""

from __future__ import annotations

import gc
import json
import logging
import sys
import traceback
from typing import BinaryIO

from . import connector
from .airbyte import command_line
from .airbyte.command_line import UsageProblem
from .airbyte.incoming import parse_lines, to_json
from .airbyte.outgoing import (
    FailureType,
    TracedError,
    connection_status_message,
    emit,
    setup_logging,
    trace_message,
    write_line,
)
from .config import ConfigError

logger = logging.getLogger("airbyte")


def main(args: list[str]) -> int:
    """Run one command; the exit code."""
    setup_logging()
    try:
        parsed = command_line.parse_args(args)
        if parsed.command == "spec":
            # spec.json as it is (a model of it would drop keys it does not know).
            spec = {"type": "SPEC", "spec": connector.load_spec()}
            write_line((json.dumps(spec) + "\n").encode())
            return 0
        config = command_line.read_config(parsed.config)
        connector.register_secrets(config)  # before anything can print them
        if parsed.command == "check":
            result = connector.check(config)
            for control in result.control:  # a rotated OAuth token, before the status
                emit(to_json(control))
            emit(connection_status_message(result.succeeded, result.message))
            return 0
        connector.validate(config)  # config problems first, then the catalog's
        catalog = command_line.read_catalog(parsed.catalog)
        logger.info("Begin writing to the destination...")
        bad_lines: list[int] = []
        messages = parse_lines(stdin_lines(), bad_lines)
        for message in connector.write(config, catalog, messages, bad_lines):
            emit(to_json(message))
        logger.info("Writing complete.")
        return 0
    except (UsageProblem, ConfigError) as problem:
        return fail(str(problem))
    except TracedError as error:
        return fail(error.message, error.internal_message, error.failure_type)
    except Exception as exc:
        return bug(exc)


STDIN_BUFFER = 1 << 20  # bytes read from stdin at a time at most


def stdin_lines() -> BinaryIO:
    """stdin's bytes, read up to 1 MB at a time: an input line is a few KB, and stdin's own
    8 KB buffer costs about 1 µs of CPU per line more (a read per few lines). A read answers
    what the pipe holds, so a STATE is seen as soon as it arrives, as before."""
    try:
        return open(sys.stdin.fileno(), "rb", buffering=STDIN_BUFFER, closefd=False)
    except (AttributeError, OSError, ValueError):  # not a file (a test's replacement)
        return sys.stdin.buffer


def fail(
    message: str,
    internal_message: str | None = None,
    failure_type: FailureType = FailureType.config_error,
) -> int:
    """A problem the user can act on: one trace message (no stack trace) on stdout, nothing
    else; exit code 1."""
    emit(trace_message(message, failure_type, internal_message))
    return 1


def bug(exc: Exception) -> int:
    """An exception nobody expected: its traceback in the log and the trace (masked), and a
    message saying where to report it."""
    logger.critical(str(exc), exc_info=exc)
    message = connector.bug_message(exc, "sync")
    stack = "".join(traceback.format_exception(exc))
    emit(trace_message(message, FailureType.system_error, str(exc), stack))
    return 1


def run() -> None:
    # Start-up leaves some 6·10^4 long-lived objects (pydantic, the model, libraries); without this
    # every full collection walks them again while a sync allocates millions of short-lived
    # JSON objects. Those are freed by reference counting (they hold no cycles), so the
    # collector need only run after the live heap grew by 2·10^5 objects: at 65k records this
    # saves about 15 % of the sync's CPU (measured: 7.0 s -> 5.9 s) for a few MB of RSS.
    gc.freeze()
    gc.set_threshold(200_000, 100, 100)
    code = main(sys.argv[1:])
    sys.stdout.flush()
    if code:
        sys.exit(code)


if __name__ == "__main__":
    run()
