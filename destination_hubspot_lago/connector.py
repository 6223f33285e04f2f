"""spec, check and write, once: the command line (``run.py``) and the CDK ``Destination``
(``destination.py``) both call these. Nothing here imports the Airbyte CDK.

Errors a user can fix become FAILED statuses (check) or ``config_error`` traces (write),
with messages that say what to do; secrets never reach a message.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import pkgutil
import traceback
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from airbyte_protocol_dataclasses.models import AirbyteMessage, ConfiguredAirbyteCatalog

from .airbyte.outgoing import FailureType, TracedError, control_config_message, emit
from .airbyte.secrets import config_secrets, filter_secrets, update_secrets
from .config import ConfigError, DestinationConfig, check_against_spec
from .hubspot import Failure, HubSpotClient, HubSpotError, OAuthAuth, Pacer
from .portal.deployment import Deployment, ModelConflict, deploy_model
from .portal.preflight import PreflightProblem, run_preflight
from .sync.input_checks import sync_mode_warnings
from .sync.loop import RecordsRejected, WritePipeline
from .sync.rejected_records import StorageProblem
from .sync.tempdb import TempStorageProblem

logger = logging.getLogger("airbyte")

USER_FIXABLE = (ConfigError, PreflightProblem, ModelConflict)
ISSUES_URL = "https://github.com/destination-hubspot-lago/destination-hubspot-lago/issues"


@functools.cache
def _spec_bytes() -> bytes:
    raw = pkgutil.get_data(__package__ or "destination_hubspot_lago", "spec.json")
    assert raw is not None
    return raw


def load_spec() -> dict[str, Any]:
    """``spec.json``: the one source of truth for the spec (a fresh copy each call)."""
    return dict(json.loads(_spec_bytes()))


def register_secrets(config: Mapping[str, Any]) -> None:
    """Mask the config's secret fields in everything printed from now on."""
    update_secrets(config_secrets(load_spec()["connectionSpecification"], config))


def validate(config: Mapping[str, Any]) -> DestinationConfig:
    """The typed config, then spec.json's own rules; :class:`ConfigError` names each field."""
    register_secrets(config)
    parsed = DestinationConfig.parse(config)
    check_against_spec(config, load_spec()["connectionSpecification"])
    return parsed


def bug_message(exc: BaseException, what: str) -> str:
    return (
        f"Unexpected error ({type(exc).__name__}). This is a bug in the connector: "
        f"please open an issue at {ISSUES_URL} with the log of this {what}."
    )


# -- HubSpot, as check and write both open it --------------------------------------------


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
    emit(control_config_message(updated))
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


# -- the commands ---------------------------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    succeeded: bool
    message: str


def check(config: Mapping[str, Any]) -> CheckResult:
    """Config, rejected-records bucket, credentials, scopes, model: never raises."""
    # Imported here: boto3 costs some 70 ms of CPU, which a write without a bucket never needs.
    from .sync.rejected_records import StorageProblem, open_store

    try:
        parsed = validate(config)
        store = open_store(parsed.rejected_records_storage)
        if store is not None:  # before anything is deployed in HubSpot
            store.verify()
        # A check is interactive: a few quick retries, not a sync's patience.
        _, deployment = prepare(parsed, max_attempts=3, raw_config=config)
    except (*USER_FIXABLE, StorageProblem, HubSpotError) as problem:
        return CheckResult(False, filter_secrets(str(problem)))
    except Exception as exc:  # a bug must still answer FAILED, not crash the check
        logger.error(filter_secrets("check failed: " + traceback.format_exc()))
        return CheckResult(False, bug_message(exc, "check"))
    return CheckResult(True, deployment.summary())


def write(
    config: Mapping[str, Any],
    catalog: ConfiguredAirbyteCatalog,
    input_messages: Iterable[AirbyteMessage],
    bad_input_lines: list[int] | None = None,
) -> Iterator[AirbyteMessage]:
    """The sync; yields each STATE once everything before it is in HubSpot. A problem the
    user can fix raises :class:`TracedError` (``config_error``) after what could be written
    was written."""
    try:
        parsed = validate(config)
        for warning in sync_mode_warnings(catalog):
            logger.warning(warning)
        client, deployment = prepare(parsed, raw_config=config)
        logger.info(deployment.summary())
        pipeline = WritePipeline(parsed, client, deployment, catalog, bad_input_lines)
        yield from pipeline.run(input_messages)
    except (RecordsRejected, StorageProblem, TempStorageProblem, *USER_FIXABLE) as problem:
        raise TracedError(filter_secrets(str(problem)), FailureType.config_error) from None
    except HubSpotError as error:
        raise traced(error) from None


def traced(error: HubSpotError) -> TracedError:
    failure = {
        Failure.CONFIG: FailureType.config_error,
        Failure.TRANSIENT: FailureType.transient_error,
        Failure.SYSTEM: FailureType.system_error,
    }[error.failure]
    return TracedError(
        filter_secrets(str(error)),
        failure,
        filter_secrets(repr(error.errors)[:2000]) if error.errors else None,
    )
