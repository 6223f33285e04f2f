"""Every docs/product.md §2 mapping rule, table-driven. Mapping is pure: no I/O here."""

from datetime import date

import pytest

from destination_hubspot_lago.records import values as v
from destination_hubspot_lago.records.base import InvalidRecord, MappingSettings, Skipped
from destination_hubspot_lago.records.customers import map_customer, target_object
from destination_hubspot_lago.records.invoices import map_invoice
from destination_hubspot_lago.records.subscriptions import map_subscription

S = MappingSettings(today=date(2025, 6, 15))
SLUG = MappingSettings(lago_organization_slug="acme", lago_front_url="https://lago.example.com/")


def hubspot_entry(**kw):
    return {"type": "hubspot", "integration_code": "hs1", **kw}


# -- target object -------------------------------------------------------------------


@pytest.mark.parametrize(
    "customer, settings, expected",
    [
        ({}, S, "companies"),
        ({}, MappingSettings(default_targeted_object="contacts"), "contacts"),
        ({"customer_type": "individual"}, S, "contacts"),
        (
            {"customer_type": "company"},
            MappingSettings(default_targeted_object="contacts"),
            "companies",
        ),
        (  # integration_customers wins over customer_type
            {
                "customer_type": "company",
                "integration_customers": [hubspot_entry(targeted_object="contacts")],
            },
            S,
            "contacts",
        ),
        (  # an entry of another integration does not count
            {
                "customer_type": "company",
                "integration_customers": [{"type": "salesforce", "targeted_object": "contacts"}],
            },
            S,
            "companies",
        ),
        (  # connection_code selects the entry
            {"integration_customers": [hubspot_entry(targeted_object="contacts")]},
            MappingSettings(connection_code="other"),
            "companies",
        ),
        (
            {"integration_customers": [hubspot_entry(targeted_object="contacts")]},
            MappingSettings(connection_code="hs1"),
            "contacts",
        ),
        (  # an entry without targeted_object falls through to customer_type
            {"customer_type": "individual", "integration_customers": [hubspot_entry()]},
            S,
            "contacts",
        ),
    ],
)
def test_target_object_rules(customer, settings, expected):
    assert target_object(customer, settings) == expected


def test_linked_customer_updates_the_existing_hubspot_record():
    c = map_customer(
        {
            "lago_id": "c1",
            "integration_customers": [
                hubspot_entry(external_customer_id="9001", targeted_object="companies")
            ],
        },
        S,
    )
    assert c.hubspot_id == "9001" and c.object_key == "companies"
    assert c.properties["lago_customer_id"] == "c1"


def test_unlinked_customer_upserts_by_lago_id():
    c = map_customer(
        {"lago_id": "c1", "integration_customers": [hubspot_entry(external_customer_id="")]}, S
    )
    assert c.hubspot_id is None


# -- customer properties -------------------------------------------------------------

COMPANY = {
    "lago_id": "1a2b",
    "external_id": "cust-1",
    "name": "Acme",
    "legal_name": "Acme SAS",
    "email": "billing@acme.com,ceo@acme.com",
    "url": "https://www.acme.com/about",
    "phone": "+33 1 23, +33 9 87",
    "address_line1": "1 rue X",
    "address_line2": "Bât B",
    "city": "Paris",
    "state": "IDF",
    "zipcode": "75001",
    "country": "FR",
    "tax_identification_number": 123456,
    "customer_type": "company",
    "_airbyte_extracted_at": 1,
    "_airbyte_meta": {"changes": []},
}


def test_company_properties():
    c = map_customer(COMPANY, SLUG)
    assert c.properties == {
        "lago_customer_id": "1a2b",
        "lago_customer_external_id": "cust-1",
        "lago_billing_email": "billing@acme.com,ceo@acme.com",
        "lago_tax_identification_number": "123456",
        "lago_customer_link": "https://lago.example.com/acme/customer/1a2b",
        "name": "Acme",
        "domain": "acme.com",
        "phone": "+33 1 23",
        "address": "1 rue X",
        "address2": "Bât B",
        "city": "Paris",
        "state": "IDF",
        "zip": "75001",
        "country": "FR",
    }


def test_contact_properties_take_the_first_email_and_the_legal_name_as_company():
    c = map_customer(
        {**COMPANY, "customer_type": "individual", "firstname": "Ada", "lastname": "L"}, S
    )
    assert c.object_key == "contacts"
    assert c.email == "billing@acme.com"
    p = c.properties
    assert (p["email"], p["firstname"], p["lastname"], p["company"]) == (
        "billing@acme.com",
        "Ada",
        "L",
        "Acme SAS",
    )
    assert p["address"] == "1 rue X, Bât B"
    assert "domain" not in p and "name" not in p
    assert p["lago_customer_link"] == "https://app.getlago.com/customer/1a2b"


def test_contact_without_first_and_last_name_splits_the_name():
    c = map_customer(
        {"lago_id": "x", "customer_type": "individual", "name": "Grace Brewster Hopper"}, S
    )
    assert (c.properties["firstname"], c.properties["lastname"]) == ("Grace", "Brewster Hopper")


@pytest.mark.parametrize("email", ["not-an-email", "a b@x.com", ""])
def test_contact_with_malformed_email_is_written_without_email(email):
    c = map_customer({"lago_id": "x", "customer_type": "individual", "email": email}, S)
    assert "email" not in c.properties and c.email is None


@pytest.mark.parametrize(
    "url, domain",
    [
        ("https://www.acme.com/x", "acme.com"),
        ("acme.io", "acme.io"),
        ("sub.acme.co.uk/path?q=1", "sub.acme.co.uk"),
        ("HTTP://ACME.COM", "acme.com"),
        ("not a url", None),
        ("localhost", None),
        ("", None),
        (None, None),
    ],
)
def test_domain_is_the_host_of_url_with_optional_scheme(url, domain):
    assert v.domain(url) == domain


def test_blank_lago_values_never_clear_hubspot_values():
    c = map_customer({"lago_id": "c1", "name": "", "email": None, "city": "  ", "url": ""}, S)
    assert set(c.properties) == {
        "lago_customer_id",
        "lago_customer_link",
    }


def test_customer_without_lago_id_is_rejected():
    with pytest.raises(InvalidRecord, match="lago_id"):
        map_customer({"name": "x"}, S)


# -- subscriptions --------------------------------------------------------------------

SUB = {
    "lago_id": "s1",
    "external_id": "ext-s1",
    "lago_customer_id": "c1",
    "name": "Pro",
    "plan_code": "pro",
    "status": "active",
    "billing_time": "anniversary",
    "created_at": "2024-03-05T23:30:00+01:00",
    "started_at": "2024-03-06T00:30:00Z",
    "ending_at": None,
    "subscription_at": "2024-03-06",
    "terminated_at": "",
    "trial_ended_at": "2024-04-01T12:00:00Z",
}


def test_subscription_properties_and_utc_dates():
    r = map_subscription(SUB, SLUG)
    assert r.customer_lago_id == "c1"
    assert r.properties == {
        "lago_subscription_id": "s1",
        "lago_external_subscription_id": "ext-s1",
        "lago_subscription_name": "Pro",
        "lago_subscription_plan_code": "pro",
        "lago_subscription_status": "active",
        "lago_billing_time": "anniversary",
        "lago_subscription_created_at": "2024-03-05",  # 23:30+01:00 is 22:30 UTC
        "lago_subscription_started_at": "2024-03-06",
        "lago_subscription_at": "2024-03-06",
        "lago_subscription_trial_ended_at": "2024-04-01",
        "lago_subscription_link": "https://lago.example.com/acme/customer/c1/subscription/s1/overview",
        "lago_customer_id": "c1",
    }


@pytest.mark.parametrize(
    "status, synced",
    [
        ("active", True),
        ("terminated", True),
        ("pending", False),
        ("canceled", False),
        (None, False),
    ],
)
def test_only_active_and_terminated_subscriptions_are_synced(status, synced):
    if synced:
        assert (
            map_subscription({**SUB, "status": status}, S).properties["lago_subscription_status"]
            == status
        )
    else:
        with pytest.raises(Skipped):
            map_subscription({**SUB, "status": status}, S)


def test_an_iso_8601_shape_the_standard_library_does_not_read_is_read_too():
    """An ordinal date (day 66 of 2024): pendulum's, imported only when it is needed."""
    properties = map_subscription({**SUB, "started_at": "2024-066"}, S).properties
    assert properties["lago_subscription_started_at"] == "2024-03-06"


@pytest.mark.parametrize("bad", ["2024-13-45", "yesterday", 1700000000, True])
def test_impossible_or_mistyped_dates_reject_the_record(bad):
    with pytest.raises(InvalidRecord, match="started_at"):
        map_subscription({**SUB, "started_at": bad}, S)


# -- invoices -------------------------------------------------------------------------

INV = {
    "lago_id": "i1",
    "number": "ACME-001",
    "status": "finalized",
    "payment_status": "pending",
    "invoice_type": "subscription",
    "currency": "EUR",
    "issuing_date": "2025-05-01",
    "payment_due_date": "2025-05-31",
    "total_amount_cents": 1999,
    "sub_total_excluding_taxes_amount_cents": "1666",
    "total_due_amount_cents": 1999,
    "file_url": "https://files.example.com/i1.pdf",
    "customer": {"lago_id": "c1"},
}


def test_invoice_properties():
    r = map_invoice(INV, S)
    assert r.customer_lago_id == "c1"
    assert r.properties == {
        "lago_invoice_id": "i1",
        "lago_invoice_number": "ACME-001",
        "lago_invoice_issuing_date": "2025-05-01",
        "lago_invoice_payment_due_date": "2025-05-31",
        "lago_invoice_payment_overdue": "true",  # finalized, unpaid, due before 2025-06-15
        "lago_invoice_type": "subscription",
        "lago_invoice_status": "finalized",
        "lago_invoice_payment_status": "pending",
        "lago_invoice_currency": "EUR",
        "lago_invoice_total_amount": "19.99",
        "lago_invoice_subtotal_excluding_taxes": "16.66",
        "lago_invoice_total_due_amount": "19.99",
        "lago_invoice_file_url": "https://files.example.com/i1.pdf",
        "lago_invoice_url": "https://app.getlago.com/customer/c1/invoice/i1/overview",
        "lago_customer_id": "c1",
    }


@pytest.mark.parametrize(
    "currency, cents, expected",
    [
        ("EUR", 1999, "19.99"),
        ("JPY", 1999, "1999"),
        ("KWD", 1999, "1.999"),
        ("usd", 5, "0.05"),
        ("EUR", 0, "0.00"),
        ("EUR", -250, "-2.50"),
    ],
)
def test_amounts_use_iso_4217_minor_units(currency, cents, expected):
    r = map_invoice({**INV, "currency": currency, "total_amount_cents": cents}, S)
    assert r.properties["lago_invoice_total_amount"] == expected


@pytest.mark.parametrize("currency", ["XYZ", "XAU", None])
def test_unknown_currency_rejects_the_invoice(currency):
    with pytest.raises(InvalidRecord, match="currency"):
        map_invoice({**INV, "currency": currency}, S)


@pytest.mark.parametrize("bad", ["12.5", "abc", 19.99, True])
def test_non_integer_cents_reject_the_invoice(bad):
    with pytest.raises(InvalidRecord, match="total_amount_cents"):
        map_invoice({**INV, "total_amount_cents": bad}, S)


def test_integral_strings_and_floats_are_accepted_as_cents():
    assert (
        map_invoice({**INV, "total_amount_cents": "1999"}, S).properties[
            "lago_invoice_total_amount"
        ]
        == "19.99"
    )
    assert (
        map_invoice({**INV, "total_amount_cents": 1999.0}, S).properties[
            "lago_invoice_total_amount"
        ]
        == "19.99"
    )


@pytest.mark.parametrize(
    "patch, overdue",
    [
        ({"payment_overdue": False}, "false"),  # Lago's flag wins
        ({"payment_overdue": True, "payment_due_date": "2030-01-01"}, "true"),
        ({}, "true"),  # computed: finalized, unpaid, due date passed
        ({"payment_status": "succeeded"}, "false"),
        ({"payment_due_date": "2025-06-15"}, "false"),  # due today is not overdue yet
        ({"payment_due_date": None}, "false"),
        ({"status": "voided"}, "false"),
    ],
)
def test_overdue_uses_lagos_flag_else_computes_it(patch, overdue):
    assert map_invoice({**INV, **patch}, S).properties["lago_invoice_payment_overdue"] == overdue


@pytest.mark.parametrize(
    "status, synced",
    [
        ("finalized", True),
        ("voided", True),
        ("draft", False),
        ("pending", False),
        ("failed", False),
    ],
)
def test_only_finalized_and_voided_invoices_are_synced(status, synced):
    if synced:
        map_invoice({**INV, "status": status}, S)
    else:
        with pytest.raises(Skipped):
            map_invoice({**INV, "status": status}, S)


def test_invoice_missing_dates_and_amounts_leave_properties_out():
    r = map_invoice({"lago_id": "i2", "status": "finalized", "customer": {"lago_id": "c1"}}, S)
    assert "lago_invoice_total_amount" not in r.properties
    assert "lago_invoice_issuing_date" not in r.properties
    assert r.properties["lago_invoice_payment_overdue"] == "false"


def test_links_percent_encode_ids():
    link = v.lago_link("https://app.getlago.com", None, "customer", "a/b?c")
    assert link == "https://app.getlago.com/customer/a%2Fb%3Fc"
