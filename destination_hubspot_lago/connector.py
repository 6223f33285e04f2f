"""spec, check and write, once: the command line (``run.py``) and the CDK ``Destination``
(``destination.py``) both call these. Nothing here imports the Airbyte CDK.

This is also the composition root: :func:`build_pipeline` makes every part of a sync (the
writer, the report, the sinks' shared state, the billing and terminations parts) and hands
them to the message loop, which builds none of them itself.

Errors a user can fix become FAILED statuses (check) or ``config_error`` traces (write),
with messages that say what to do; secrets never reach a message.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import logging
import pkgutil
import traceback
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from airbyte_protocol_dataclasses.models import AirbyteMessage, ConfiguredAirbyteCatalog

from ._version import __version__
from .airbyte.outgoing import FailureType, Outbox, TracedError, config_control
from .airbyte.secrets import config_secrets, filter_secrets, update_secrets
from .billing.aggregator import BillingAggregator
from .billing.facts import DiskFacts
from .billing.job import BillingValues
from .changes import tracking as change_tracking
from .changes.ledger import DIGESTS as LEDGER_DIGESTS
from .changes.store import LedgerStorageProblem, open_ledger_store
from .config import ConfigError, DestinationConfig
from .hubspot import Failure, HubSpotClient, HubSpotError, OAuthAuth, Pacer
from .hubspot.batches import BatchWriter, DryRunWriter, Writer
from .portal.deployment import Deployment, ModelConflict, deploy_model
from .portal.model import MODEL
from .portal.preflight import PreflightProblem, run_preflight
from .records.base import MappingSettings
from .sync import loop
from .sync.associations import Associations
from .sync.customer_writes import CustomerClaims
from .sync.input_checks import FieldWatch, declared_fields, sync_mode_warnings
from .sync.loop import RecordsRejected, WritePipeline
from .sync.rejected_records import StorageProblem, open_store
from .sync.report import SyncReport
from .sync.sinks import SinkContext
from .sync.tempdb import TempStorageProblem
from .terminations.job import Reconciliation

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
    """The typed config and spec.json's own rules together: one :class:`ConfigError` names
    every wrong field, each with its fix."""
    register_secrets(config)
    return DestinationConfig.parse(config, load_spec()["connectionSpecification"])


def bug_message(exc: BaseException, what: str) -> str:
    return (
        f"Unexpected error ({type(exc).__name__}). This is a bug in the connector: "
        f"please open an issue at {ISSUES_URL} with the log of this {what}."
    )


# -- HubSpot, as check and write both open it --------------------------------------------


def open_client(
    config: DestinationConfig,
    max_attempts: int = 8,
    raw_config: Mapping[str, Any] | None = None,
    outbox: Outbox | None = None,
) -> HubSpotClient:
    """``outbox``: where a rotated OAuth refresh token's CONTROL message waits to be printed."""
    auth = config.credentials.auth()
    if isinstance(auth, OAuthAuth) and raw_config is not None and outbox is not None:
        auth.on_rotation = functools.partial(persist_refresh_token, raw_config, outbox)
    return HubSpotClient(
        config.api_base_url,
        auth,
        Pacer(config.max_requests_per_10_seconds),
        max_attempts=max_attempts,
        api=config.api,
    )


def persist_refresh_token(
    raw_config: Mapping[str, Any], outbox: Outbox, refresh_token: str
) -> None:
    """HubSpot issued a new refresh token: ask the platform to store it (CONTROL message),
    or the next sync would present a revoked one. Called on whichever thread refreshed the
    token; the message waits in ``outbox`` for the thread that prints (the message loop)."""
    updated = copy.deepcopy(dict(raw_config))
    updated["credentials"]["refresh_token"] = refresh_token
    outbox.put(config_control(updated))
    logger.info("HubSpot rotated the OAuth refresh token; the new one goes to the platform.")


def prepare(
    config: DestinationConfig,
    max_attempts: int = 8,
    raw_config: Mapping[str, Any] | None = None,
    outbox: Outbox | None = None,
) -> tuple[HubSpotClient, Deployment]:
    """Everything check and write share: credentials, scopes, plan, model."""
    client = open_client(config, max_attempts, raw_config, outbox)
    portal = run_preflight(client)
    deployment = deploy_model(client, portal, dry_run=config.dry_run)
    deployment.portal_id = portal.portal_id
    return client, deployment


def build_pipeline(
    config: DestinationConfig,
    client: HubSpotClient,
    deployment: Deployment,
    catalog: ConfiguredAirbyteCatalog | None = None,
    bad_input_lines: list[int] | None = None,
    *,
    outbox: Outbox | None = None,
    batch_size: int = loop.BATCH_SIZE,
    tracking: change_tracking.Tracking | None = None,
    **tuning: Any,
) -> WritePipeline:
    """The sync's parts, made once and handed to the message loop (``tuning``: its workers,
    flush and progress intervals; ``tracking``: docs/product.md §10's ledger, when on)."""
    real = BatchWriter(client, deployment.object_type_ids)
    writer: Writer = DryRunWriter(real) if config.dry_run else real
    report = SyncReport(dry_run=config.dry_run)
    ledger = tracking.ledger if tracking is not None else None
    if tracking is not None:
        report.tracking_line = tracking.line
    settings = tracking.settings if tracking is not None else mapping_settings(config)
    type_ids = deployment.association_type_ids
    # docs/product.md §6: the aggregator's per-record facts wait on disk (billing/facts.py).
    billing = BillingValues(
        writer, BillingAggregator(settings, DiskFacts()), batch_size, type_ids, ledger
    )
    terminations = Reconciliation(config, writer, catalog, ledger)  # docs/product.md §8
    context = SinkContext(
        writer=writer,
        report=report,
        settings=settings,
        associations=Associations(writer, report, batch_size, type_ids, ledger),
        claims=CustomerClaims(),
        batch_size=batch_size,
        parts=(terminations, billing),
        plan_values=billing.plan_values,
        # Rejected records go to the bucket when one is configured (a dry run stores nothing).
        store=None if config.dry_run else open_store(config.rejected_records_storage),
        field_watch=FieldWatch(config.default_targeted_object, declared_fields(catalog)),
        ledger=ledger,
    )
    return WritePipeline(
        config,
        client,
        context,
        catalog,
        bad_input_lines,
        outbox=outbox,
        **tuning,
    )


# -- the commands ---------------------------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    succeeded: bool
    message: str
    # Messages for the platform besides the status (a rotated OAuth token's CONTROL).
    control: list[AirbyteMessage] = field(default_factory=list)


def check(config: Mapping[str, Any]) -> CheckResult:
    """Config, rejected-records bucket, change-tracking storage, credentials, scopes, model:
    never raises.

    Both storages are proven before anything is deployed in HubSpot. The change-tracking
    probe writes, reads back and deletes a small object; a dry run's check only reads
    (lists the bucket's prefix, or checks the directory), as a dry run writes nothing."""
    outbox = Outbox()
    try:
        parsed = validate(config)
        store = open_store(parsed.rejected_records_storage)
        if store is not None:  # before anything is deployed in HubSpot
            store.verify()
        ledger = open_ledger_store(parsed.change_tracking)
        if ledger is not None:
            ledger.probe(read_only=parsed.dry_run)
        # A check is interactive: a few quick retries, not a sync's patience.
        _, deployment = prepare(parsed, max_attempts=3, raw_config=config, outbox=outbox)
    except (*USER_FIXABLE, StorageProblem, LedgerStorageProblem, HubSpotError) as problem:
        return CheckResult(False, filter_secrets(str(problem)), outbox.take())
    except Exception as exc:  # a bug must still answer FAILED, not crash the check
        logger.error(filter_secrets("check failed: " + traceback.format_exc()))
        return CheckResult(False, bug_message(exc, "check"), outbox.take())
    return CheckResult(True, deployment.summary(), outbox.take())


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
        outbox = Outbox()  # a rotated OAuth token, printed by the loop
        client, deployment = prepare(parsed, raw_config=config, outbox=outbox)
        logger.info(deployment.summary())
        tracking = begin_tracking(parsed, client, deployment, catalog)
        try:
            pipeline = build_pipeline(
                parsed,
                client,
                deployment,
                catalog,
                bad_input_lines,
                outbox=outbox,
                tracking=tracking,
            )
            yield from pipeline.run(input_messages)
            if tracking is not None:  # after the final STATE of a sync that succeeded
                tracking.save()
        finally:
            if tracking is not None:
                tracking.close()
    except (
        RecordsRejected,
        StorageProblem,
        LedgerStorageProblem,
        TempStorageProblem,
        *USER_FIXABLE,
    ) as problem:
        raise TracedError(filter_secrets(str(problem)), FailureType.config_error) from None
    except HubSpotError as error:
        raise traced(error) from None


def mapping_settings(config: DestinationConfig) -> MappingSettings:
    """What the mapping takes besides a record (the day: an invoice's overdue flag)."""
    return MappingSettings(
        default_targeted_object=config.default_targeted_object,
        connection_code=config.connection_code,
        lago_front_url=config.lago_front_url,
        lago_organization_slug=config.lago_organization_slug,
        today=date.today(),
    )


def model_version() -> str:
    """What a ledger's digests were made with (docs/product.md §10): the connector's version,
    the model it deploys and how the ledger hashes. A new one makes the next sync a full
    rewrite."""
    made_with = f"{MODEL!r}\x1f{LEDGER_DIGESTS}".encode()
    return f"{__version__}+{hashlib.blake2b(made_with, digest_size=6).hexdigest()}"


def begin_tracking(
    config: DestinationConfig,
    client: HubSpotClient,
    deployment: Deployment,
    catalog: ConfiguredAirbyteCatalog | None,
) -> change_tracking.Tracking | None:
    """docs/product.md §10: the ledger this sync may trust, when change tracking is on."""
    settings = config.change_tracking
    store = open_ledger_store(settings)
    if settings is None or store is None:
        return None
    generations = [s.generation_id for s in (catalog.streams if catalog else [])]
    known = [g for g in generations if isinstance(g, int)]
    identity = change_tracking.SyncIdentity(
        portal_id=str(deployment.portal_id or ""),
        connection_code=config.connection_code or "",
        model_version=model_version(),
        generation_id=max(known) if known else None,
    )
    return change_tracking.begin(
        store,
        identity,
        settings.full_rewrite_every_days,
        BatchWriter(client, deployment.object_type_ids),
        mapping_settings(config),
        dry_run=config.dry_run,
    )


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
