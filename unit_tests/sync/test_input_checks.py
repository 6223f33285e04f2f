"""The missing-field guard and the sync-mode warnings (pure functions)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from airbyte_cdk.models import ConfiguredAirbyteCatalogSerializer

from destination_hubspot_lago.sync.input_checks import RELIED_ON, FieldWatch, sync_mode_warnings
from tests.support.fake_lago.data import sample_dataset

MAPPING = Path(__file__).resolve().parents[2] / "destination_hubspot_lago" / "records"


def complete(kind: str, **values) -> dict:
    record = dict.fromkeys(RELIED_ON[kind])
    record.update(values)
    return record


def without(record: dict, *names: str) -> dict:
    return {k: v for k, v in record.items() if k not in names}


def test_complete_lago_records_raise_no_warning():
    watch = FieldWatch()
    data = sample_dataset()
    for kind in ("customers", "subscriptions", "invoices"):
        for record in getattr(data, kind):
            watch.observe(kind, record)
    assert watch.warnings() == []


def test_fields_pyairbyte_drops_are_named_once_per_stream_with_what_follows():
    watch = FieldWatch()
    dropped = ("customer_type", "integration_customers", "firstname", "lastname")
    for i in range(5):
        watch.observe("customers", without(complete("customers", lago_id=f"c{i}"), *dropped))
    for i in range(3):
        watch.observe("invoices", without(complete("invoices", lago_id=f"i{i}"), "payment_overdue"))
    watch.observe("subscriptions", without(complete("subscriptions"), "trial_ended_at"))
    watch.observe("subscriptions", complete("subscriptions"))

    texts = watch.warnings()
    customers = [t for t in texts if "5 customers records" in t]
    assert len(customers) == 1
    for name in dropped:
        assert f"{name} (absent from every record" in customers[0]
    assert "the source or a tool in between dropped them" in customers[0]
    assert (
        "customers linked to HubSpot records in Lago will be written as new records"
        in (customers[0])
    )
    (invoices,) = [t for t in texts if "invoices records" in t]
    assert (
        "payment_overdue (absent from every record: lago_invoice_payment_overdue is computed"
        in (invoices)
    )
    # Absent from some records only: a null the source left out, not a field lost on the way.
    assert not [t for t in texts if "subscriptions records" in t]
    assert watch.missing("subscriptions") == {"trial_ended_at": 1}
    assert watch.missing("invoices") == {"payment_overdue": 3}


def test_a_field_the_catalog_declares_is_a_null_left_out_not_a_lost_field():
    watch = FieldWatch(declared={"subscriptions": frozenset({"terminated_at"})})
    for i in range(4):
        record = without(complete("subscriptions", lago_id=f"s{i}"), "terminated_at", "name")
        watch.observe("subscriptions", record)
    (text,) = watch.warnings()
    assert "name (absent from every record" in text and "terminated_at" not in text


def test_a_key_present_with_null_is_not_missing():
    watch = FieldWatch()
    watch.observe("customers", complete("customers", customer_type=None))
    assert watch.warnings() == []


def test_the_prominent_warning_when_the_default_decides_every_customer():
    watch = FieldWatch(default_targeted_object="contacts")
    for i in range(4):
        watch.observe(
            "customers",
            without(
                complete("customers", lago_id=f"c{i}"), "integration_customers", "customer_type"
            ),
        )
    first = watch.warnings()[0]
    assert first.startswith("No customer of this sync carries integration_customers")
    assert "default_targeted_object (contacts)" in first and "all" not in first.split(",")[0]
    assert "every one of the 4 customers" in first


@pytest.mark.parametrize(
    "other",
    [
        {"customer_type": "individual"},  # customer_type still decides this one
        {"integration_customers": []},  # the key arrived: the field was not dropped
    ],
)
def test_no_prominent_warning_when_something_else_decided_a_customer(other):
    watch = FieldWatch()
    bare = without(complete("customers"), "integration_customers", "customer_type")
    watch.observe("customers", bare)
    watch.observe("customers", {**bare, **other})
    assert not any(t.startswith("No customer of this sync") for t in watch.warnings())


def test_other_streams_are_ignored():
    watch = FieldWatch()
    watch.observe("plans", {})
    assert watch.warnings() == []


def _fields_read_by(module: Path) -> set[str]:
    """String keys the mapping module reads with ``record.get("...")`` or maps to fields."""
    names = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value)
        if isinstance(node, ast.Dict):  # DATE_FIELDS / AMOUNT_FIELDS: property -> field
            for value in node.values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    names.add(value.value)
    return names


@pytest.mark.parametrize(
    "kind, module, not_watched",
    [
        ("customers", "customers.py", {"type", "integration_type", "integration_code",
                                       "targeted_object", "external_customer_id",
                                       "companies", "contacts"}),
        ("subscriptions", "subscriptions.py", set()),
        ("invoices", "invoices.py", {"lago_customer_id", "total_amount_currency",
                                     "purchase_order_number"}),
    ],
)  # fmt: skip
def test_every_field_the_mapping_reads_is_watched(kind, module, not_watched):
    # lago_id and status are read by records.synced_identity for subscriptions and invoices.
    read = _fields_read_by(MAPPING / module) | {"lago_id"}
    if kind != "customers":
        read.add("status")
    assert read - not_watched - set(RELIED_ON[kind]) == set()


def catalog(*modes: str):
    return ConfiguredAirbyteCatalogSerializer.load(
        {
            "streams": [
                {
                    "stream": {
                        "name": f"s{i}",
                        "json_schema": {},
                        "supported_sync_modes": ["full_refresh"],
                    },
                    "sync_mode": "full_refresh",
                    "destination_sync_mode": mode,
                }
                for i, mode in enumerate(modes)
            ]
        }
    )


def test_overwrite_is_said_to_be_an_upsert_that_deletes_nothing():
    (text,) = sync_mode_warnings(catalog("append", "overwrite", "append_dedup"))
    assert text.startswith("Stream s1: destination_sync_mode overwrite is treated as an upsert")
    assert "nothing in HubSpot is deleted" in text


def test_unknown_modes_are_named_too():
    raw = {"streams": [{"stream": {"name": "customers"}, "destination_sync_mode": "soft_delete"}]}
    (text,) = sync_mode_warnings(raw)
    assert "soft_delete is not a mode this destination knows" in text


def test_append_modes_say_nothing():
    assert sync_mode_warnings(catalog("append", "append_dedup")) == []
