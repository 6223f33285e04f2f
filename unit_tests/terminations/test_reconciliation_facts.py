"""What the write pipeline tells §8 about its subscriptions streams (terminations/job.py)."""

from __future__ import annotations

from airbyte_cdk.models import ConfiguredAirbyteCatalogSerializer

from destination_hubspot_lago.config import DestinationConfig
from destination_hubspot_lago.terminations.job import Reconciliation
from tests.support.harness import catalog, private_app_config

A, B = ("a", "subscriptions"), ("b", "subscriptions")
CUSTOMERS = (None, "customers")


def reconciliation(streams=("customers", "subscriptions"), with_catalog=True, **config):
    parsed = DestinationConfig.parse(private_app_config("http://127.0.0.1:9", **config))
    configured = ConfiguredAirbyteCatalogSerializer.load(catalog(streams)) if with_catalog else None
    return Reconciliation(parsed, None, configured)  # type: ignore[arg-type]


def test_every_subscriptions_stream_must_be_complete():
    r = reconciliation()
    r.record("subscriptions", {"lago_id": "s1"})
    assert not r.facts({A}, [CUSTOMERS, A, B]).complete  # b's records had no STATE after them
    assert r.facts({A, B}, [CUSTOMERS, A, B]).complete
    assert not r.facts({CUSTOMERS}, [CUSTOMERS]).complete  # no subscriptions stream at all


def test_the_catalog_decides_whether_the_stream_was_selected():
    assert not reconciliation(("customers", "invoices")).facts(set(), [CUSTOMERS]).in_catalog
    prefixed = reconciliation(("lago_customers", "lago_subscriptions"))
    assert prefixed.facts(set(), [(None, "lago_subscriptions")]).in_catalog
    # without a catalog (a pipeline driven directly), the streams seen count
    seen = reconciliation(with_catalog=False)
    assert seen.facts(set(), [CUSTOMERS, A]).in_catalog
    assert not seen.facts(set(), [CUSTOMERS]).in_catalog


def test_only_customers_and_subscriptions_are_observed():
    r = reconciliation(sync_subscriptions=False)
    r.record("customers", {"lago_id": "c1"})
    r.record("invoices", {"lago_id": "i1"})
    r.record("subscriptions", {"lago_id": "s1"})
    facts = r.facts({A}, [A], unreadable_lines=2)
    assert (facts.records, facts.enabled, facts.unreadable_lines) == (1, False, 2)
    assert r.observed.customers == {"c1"} and r.observed.subscriptions == {"s1"}
