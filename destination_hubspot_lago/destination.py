"""The connector as an Airbyte CDK ``Destination``, for hosts that embed the class (the CDK's
standard tests, a Python program): a thin adapter to the CDK-free functions in
``connector.py`` that the command line runs, so there is one spec, one check, one write.

The command line never imports this module: the CDK's import alone costs seconds of CPU.

STATE messages: the CDK's models (serpyco-rs dataclasses) keep only the fields they
declare, both when loading JSON and when dumping it with ``AirbyteMessageSerializer``, so
the platform's ``id`` on a state and our ``destinationStats.rejectedRecordCount`` cannot
pass through them. ``write`` therefore yields each STATE as :class:`EchoedState` (the CDK's
``AirbyteStateMessage`` plus ``id``, its stats with ``rejectedRecordCount``) that also keeps
the JSON it arrived as: :func:`message_json` prints it as the command line does, every key
of the input kept. ``run`` is the command line's own run, which prints it that way; the
CDK's ``AirbyteMessageSerializer.dump`` would drop those keys.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from airbyte_cdk.destinations import Destination
from airbyte_cdk.models import (
    AirbyteConnectionStatus,
    AirbyteMessage,
    AirbyteMessageSerializer,
    AirbyteStateMessage,
    ConfiguredAirbyteCatalog,
    ConnectorSpecification,
    ConnectorSpecificationSerializer,
    Status,
    Type,
)
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from . import connector
from .airbyte.incoming import DestinationStats, keep_raw_json, parse_lines, raw_json, to_json
from .airbyte.outgoing import TracedError, emit
from .connector import load_spec  # noqa: F401  (callers import it from here)


@dataclasses.dataclass
class EchoedState(AirbyteStateMessage):
    """The CDK's ``AirbyteStateMessage`` with the platform's ``id`` (the key by which the
    platform matches an echoed state to the one it sent); ``destinationStats`` is a
    :class:`~destination_hubspot_lago.airbyte.incoming.DestinationStats`."""

    id: Any = None


def message_json(message: Any) -> dict[str, Any]:
    """A message ``write`` yielded, as the JSON the command line prints for it."""
    return to_json(message)


def as_cdk_message(message: Any) -> AirbyteMessage:
    """A message of ``connector.write`` as the CDK's model; a STATE keeps its ``id``, both
    counts and the JSON it arrived as (see the module's docstring)."""
    if message.type != Type.STATE or message.state is None:
        if isinstance(message, AirbyteMessage):
            return message
        return AirbyteMessageSerializer.load(to_json(message))
    echoed = to_json(message)  # every key the platform sent, plus our destinationStats
    loaded = AirbyteMessageSerializer.load(echoed)  # the CDK's models: declared fields only
    assert loaded.state is not None
    body = echoed.get("state")
    state_id = body.get("id") if isinstance(body, dict) else None
    fields = {f.name: getattr(loaded.state, f.name) for f in dataclasses.fields(loaded.state)}
    stats = message.state.destinationStats
    if stats is not None:
        fields["destinationStats"] = DestinationStats(
            recordCount=stats.recordCount,
            rejectedRecordCount=getattr(stats, "rejectedRecordCount", None),
        )
    loaded.state = EchoedState(**fields, id=state_id)
    keep_raw_json(loaded, raw_json(message) or echoed)
    return loaded


class DestinationHubspotLago(Destination):
    def __init__(self) -> None:
        self.bad_input_lines: list[int] = []  # numbers of stdin lines that were not messages

    def spec(self, logger: logging.Logger) -> ConnectorSpecification:
        return ConnectorSpecificationSerializer.load(load_spec())

    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        result = connector.check(config)
        for control in result.control:  # the status alone cannot carry a rotated token
            emit(to_json(control))
        status = Status.SUCCEEDED if result.succeeded else Status.FAILED
        return AirbyteConnectionStatus(status=status, message=result.message)

    def write(
        self,
        config: Mapping[str, Any],
        configured_catalog: ConfiguredAirbyteCatalog,
        input_messages: Iterable[AirbyteMessage],
    ) -> Iterable[AirbyteMessage]:
        try:
            for message in connector.write(
                config, configured_catalog, input_messages, self.bad_input_lines
            ):
                yield as_cdk_message(message)
        except TracedError as error:
            raise AirbyteTracedException(
                message=error.message,
                internal_message=error.internal_message,
                failure_type=error.failure_type,
            ) from None

    def _parse_input_stream(self, input_stream: Any) -> Iterable[AirbyteMessage]:
        # STATEs keep their raw JSON (see airbyte/incoming.py); bytes under the CDK's text wrapper.
        return parse_lines(getattr(input_stream, "buffer", input_stream), self.bad_input_lines)

    def run(self, args: list[str]) -> None:
        """The command line's own run (same messages, same exit codes)."""
        from .run import main

        code = main(args)
        sys.stdout.flush()
        if code:
            sys.exit(code)
