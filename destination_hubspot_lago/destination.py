"""The Airbyte protocol, and nothing else: spec, check and write wired to the modules that work.

Errors a user can fix become FAILED statuses (check) or config_error traces (write),
with messages that say what to do; secrets never reach a message.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import pkgutil
import sys
import time
import traceback
from collections.abc import Iterable, Mapping
from typing import Any

from airbyte_cdk.config_observation import create_connector_config_control_message
from airbyte_cdk.destinations import Destination
from airbyte_cdk.exception_handler import init_uncaught_exception_handler
from airbyte_cdk.logger import PRINT_BUFFER
from airbyte_cdk.models import (
    AirbyteConnectionStatus,
    AirbyteErrorTraceMessage,
    AirbyteMessage,
    AirbyteTraceMessage,
    ConfiguredAirbyteCatalog,
    Status,
    TraceType,
    Type,
)
from airbyte_cdk.models.airbyte_protocol import ConnectorSpecification
from airbyte_cdk.utils.airbyte_secrets_utils import filter_secrets, get_secrets, update_secrets
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from airbyte_protocol_dataclasses.models import FailureType

from . import command_line
from .command_line import UsageProblem
from .config import ConfigError, DestinationConfig, check_against_spec
from .deployment import Deployment, ModelConflict, deploy_model
from .hubspot import Failure, HubSpotClient, HubSpotError, OAuthAuth, Pacer
from .input_checks import sync_mode_warnings
from .messages import parse_lines, serialize
from .pipeline import RecordsRejected, WritePipeline
from .preflight import PreflightProblem, run_preflight
from .rejected_records import StorageProblem, open_store

logger = logging.getLogger("airbyte")

USER_FIXABLE = (ConfigError, PreflightProblem, ModelConflict, StorageProblem)
ISSUES_URL = "https://github.com/destination-hubspot-lago/destination-hubspot-lago/issues"


def load_spec() -> dict[str, Any]:
    raw = pkgutil.get_data(__package__ or "destination_hubspot_lago", "spec.json")
    assert raw is not None
    return dict(json.loads(raw))


def open_client(
    config: DestinationConfig, max_attempts: int = 8, raw_config: Mapping[str, Any] | None = None
) -> HubSpotClient:
    auth = config.credentials.auth()
    if isinstance(auth, OAuthAuth) and raw_config is not None:
        auth.on_rotation = functools.partial(persist_refresh_token, raw_config)
    return HubSpotClient(
        config.api_base_url,
        auth,
        Pacer(config.max_requests_per_10_seconds),
        max_attempts=max_attempts,
        api=config.api,
    )


def persist_refresh_token(raw_config: Mapping[str, Any], refresh_token: str) -> None:
    """HubSpot issued a new refresh token: ask the platform to store it (CONTROL message),
    or the next sync would present a revoked one."""
    updated = copy.deepcopy(dict(raw_config))
    updated["credentials"]["refresh_token"] = refresh_token
    emit(create_connector_config_control_message(updated))
    logger.info("HubSpot rotated the OAuth refresh token; the new one was sent to the platform.")


def prepare(
    config: DestinationConfig, max_attempts: int = 8, raw_config: Mapping[str, Any] | None = None
) -> tuple[HubSpotClient, Deployment]:
    """Everything check and write share: credentials, scopes, plan, model."""
    client = open_client(config, max_attempts, raw_config)
    portal = run_preflight(client)
    deployment = deploy_model(client, portal, dry_run=config.dry_run)
    deployment.portal_id = portal.portal_id
    return client, deployment


class DestinationHubspotLago(Destination):
    def __init__(self) -> None:
        self.bad_input_lines: list[int] = []  # numbers of stdin lines that were not messages

    def spec(self, logger: logging.Logger) -> ConnectorSpecification:
        # The CDK's loader would do the same; reading it here keeps one source of truth.
        from airbyte_cdk.models import ConnectorSpecificationSerializer

        return ConnectorSpecificationSerializer.load(load_spec())

    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        try:
            parsed = DestinationConfig.parse(config)
            store = open_store(parsed.rejected_records_storage)
            if store is not None:  # before anything is deployed in HubSpot
                store.verify()
            # A check is interactive: a few quick retries, not a sync's patience.
            client, deployment = prepare(parsed, max_attempts=3, raw_config=config)
        except USER_FIXABLE as problem:
            return AirbyteConnectionStatus(
                status=Status.FAILED, message=filter_secrets(str(problem))
            )
        except HubSpotError as error:
            return AirbyteConnectionStatus(status=Status.FAILED, message=filter_secrets(str(error)))
        except Exception as exc:  # a bug must still answer FAILED, not crash the check
            logger.error(filter_secrets("check failed: " + traceback.format_exc()))
            return AirbyteConnectionStatus(
                status=Status.FAILED,
                message=(
                    f"Unexpected error ({type(exc).__name__}). This is a bug in the connector: "
                    f"please open an issue at {ISSUES_URL} with the log of this check."
                ),
            )
        return AirbyteConnectionStatus(status=Status.SUCCEEDED, message=deployment.summary())

    def write(
        self,
        config: Mapping[str, Any],
        configured_catalog: ConfiguredAirbyteCatalog,
        input_messages: Iterable[AirbyteMessage],
    ) -> Iterable[AirbyteMessage]:
        try:
            parsed = DestinationConfig.parse(config)
            for warning in sync_mode_warnings(configured_catalog):
                logger.warning(warning)
            client, deployment = prepare(parsed, raw_config=config)
            logger.info(deployment.summary())
            pipeline = WritePipeline(
                parsed, client, deployment, configured_catalog, self.bad_input_lines
            )
            yield from pipeline.run(input_messages)
        except RecordsRejected as rejected:
            raise AirbyteTracedException(
                message=filter_secrets(str(rejected)), failure_type=FailureType.config_error
            ) from None
        except USER_FIXABLE as problem:
            raise AirbyteTracedException(
                message=filter_secrets(str(problem)), failure_type=FailureType.config_error
            ) from None
        except HubSpotError as error:
            raise traced(error) from None

    # -- I/O that keeps raw STATE JSON (see messages.py) -----------------------------

    def _parse_input_stream(self, input_stream: Any) -> Iterable[AirbyteMessage]:
        # Read the bytes under the CDK's text wrapper: orjson parses UTF-8 bytes directly,
        # so decoding each line to str first would only be undone again.
        return parse_lines(getattr(input_stream, "buffer", input_stream), self.bad_input_lines)

    def run_cmd(self, parsed_args: Any) -> Iterable[AirbyteMessage]:
        """The CDK's run_cmd, with our typed config validated first (every problem, each
        naming its field) and file problems as one clear line instead of a traceback."""
        if parsed_args.command == "spec":
            yield AirbyteMessage(type=Type.SPEC, spec=self.spec(logger))
            return
        spec = load_spec()
        config = command_line.read_config(parsed_args.config)
        # Register the config's secrets with the log filter before anything can print them.
        update_secrets(get_secrets(spec["connectionSpecification"], config))
        try:
            DestinationConfig.parse(config)
            check_against_spec(config, spec["connectionSpecification"])
        except ConfigError as problem:
            if parsed_args.command == "check":
                yield AirbyteMessage(
                    type=Type.CONNECTION_STATUS,
                    connectionStatus=AirbyteConnectionStatus(
                        status=Status.FAILED, message=filter_secrets(str(problem))
                    ),
                )
                return
            raise
        if parsed_args.command == "check":
            yield self._run_check(config=config)
            return
        catalog = command_line.read_catalog(parsed_args.catalog)
        logger.info("Begin writing to the destination...")
        yield from self.write(config, catalog, self._parse_input_stream(sys.stdin))
        logger.info("Writing complete.")

    def run(self, args: list[str]) -> None:
        init_uncaught_exception_handler(logger)
        try:
            parsed_args = command_line.parse_args(args)
            with PRINT_BUFFER:
                if parsed_args.command == "spec":
                    # Printed raw: the CDK's serializer drops keys it does not model.
                    print(json.dumps({"type": "SPEC", "spec": load_spec()}))
                    return
                for message in self.run_cmd(parsed_args):
                    emit(message)
        except (UsageProblem, ConfigError) as problem:
            fail(str(problem))
        except AirbyteTracedException as traced_exc:
            fail(str(traced_exc), traced_exc.internal_message, traced_exc.failure_type)
        sys.stdout.flush()


def fail(
    message: str,
    internal_message: str | None = None,
    failure_type: FailureType = FailureType.config_error,
) -> None:
    """End the run on a problem the user can act on: a trace message (no stack trace) on
    stdout, the same sentence as one line on stderr, exit code 1."""
    message = filter_secrets(message)
    trace = AirbyteTraceMessage(
        type=TraceType.ERROR,
        emitted_at=time.time() * 1000,
        error=AirbyteErrorTraceMessage(
            message=message,
            internal_message=filter_secrets(internal_message) if internal_message else None,
            failure_type=failure_type,
        ),
    )
    PRINT_BUFFER.flush()
    emit(AirbyteMessage(type=Type.TRACE, trace=trace))
    sys.stdout.flush()
    print(f"{command_line.PROGRAM}: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def emit(message: AirbyteMessage) -> None:
    """One message, one line, in a single write: log lines from worker threads go through
    the same buffer and must never land between a message and its newline."""
    PRINT_BUFFER.write(serialize(message) + "\n")
    if message.type in (Type.STATE, Type.CONTROL):
        PRINT_BUFFER.flush()  # a checkpoint or a new credential must not wait in a buffer


def traced(error: HubSpotError) -> AirbyteTracedException:
    failure = {
        Failure.CONFIG: FailureType.config_error,
        Failure.TRANSIENT: FailureType.transient_error,
        Failure.SYSTEM: FailureType.system_error,
    }[error.failure]
    return AirbyteTracedException(
        message=filter_secrets(str(error)),
        internal_message=filter_secrets(repr(error.errors)[:2000]) if error.errors else None,
        failure_type=failure,
    )
