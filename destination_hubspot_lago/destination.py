"""The connector as an Airbyte CDK ``Destination``, for hosts that embed the class (the CDK's
standard tests, a Python program): a thin adapter to the CDK-free functions in
``connector.py`` that the command line runs, so there is one spec, one check, one write.

The command line never imports this module: the CDK's import alone costs seconds of CPU.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from airbyte_cdk.destinations import Destination
from airbyte_cdk.models import (
    AirbyteConnectionStatus,
    AirbyteMessage,
    AirbyteMessageSerializer,
    ConfiguredAirbyteCatalog,
    ConnectorSpecification,
    ConnectorSpecificationSerializer,
    Status,
)
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from . import connector
from .airbyte.incoming import parse_lines, to_json
from .airbyte.outgoing import TracedError, emit
from .connector import load_spec  # noqa: F401  (callers import it from here)


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
                if not isinstance(message, AirbyteMessage):  # parsed by us: as the CDK's model
                    message = AirbyteMessageSerializer.load(to_json(message))
                yield message
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
