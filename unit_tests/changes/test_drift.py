"""The drift guard's comparison (docs/product.md §10): HubSpot's spelling of a value is not a
change; a deleted or edited record is."""

from __future__ import annotations

from destination_hubspot_lago.changes.drift import compare, same_value
from destination_hubspot_lago.changes.ledger import Witness


def test_values_compare_by_meaning():
    assert same_value("49.00", "49")
    assert same_value("2024-02-01", "1706745600000")
    assert same_value("2024-01-02T10:00:00Z", "2024-01-02T10:00:00.000Z")
    assert same_value("true", "True")
    assert same_value("", None)
    assert not same_value("49.00", "48")
    assert not same_value("Acme", "Acme Inc")
    assert not same_value("2024-02-01", "2024-02-02")
    assert not same_value("x", None)
    assert not same_value("true", "false")


def witness(i: int, obj: str = "invoices") -> Witness:
    return Witness(obj, str(i), f"i{i}", {"lago_invoice_number": f"INV-{i}"})


def held(*witnesses: Witness, edited: tuple[int, ...] = ()) -> dict:
    return {
        "invoices": {
            w.target: {
                "id": w.target,
                "properties": {
                    "lago_invoice_number": "edited"
                    if int(w.target) in edited
                    else w.properties["lago_invoice_number"],
                    "other": "x",
                },
            }
            for w in witnesses
        }
    }


def test_deleted_and_edited_records_are_mismatched():
    sample = [witness(i) for i in range(100)]
    answer = held(*sample[1:], edited=(5,))  # 0 deleted, 5 edited
    result = compare(sample, answer)
    assert sorted(w.target for w in result.mismatched) == ["0", "5"]
    assert result.too_many  # 2 of 100 is above 1 %


def test_one_in_a_hundred_is_not_too_many():
    sample = [witness(i) for i in range(100)]
    result = compare(sample, held(*sample, edited=(3,)))
    assert [w.target for w in result.mismatched] == ["3"]
    assert not result.too_many
