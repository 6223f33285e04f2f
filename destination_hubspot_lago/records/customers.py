"""Lago customer -> HubSpot company or contact (docs/product.md §2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import values as v
from .base import CustomerObject, CustomerUpsert, InvalidRecord, MappingSettings

TARGETS: tuple[CustomerObject, ...] = ("companies", "contacts")
CUSTOMER_TYPE_TARGET: dict[str, CustomerObject] = {"company": "companies", "individual": "contacts"}


def hubspot_link(
    customer: Mapping[str, Any], settings: MappingSettings
) -> Mapping[str, Any] | None:
    """The customer's HubSpot entry in ``integration_customers`` that applies to us, if any."""
    for entry in customer.get("integration_customers") or []:
        if not isinstance(entry, Mapping):
            continue
        kind = str(entry.get("type") or entry.get("integration_type") or "").lower()
        if kind != "hubspot":
            continue
        code = entry.get("integration_code")
        if settings.connection_code and code != settings.connection_code:
            continue
        return entry
    return None


def target_object(customer: Mapping[str, Any], settings: MappingSettings) -> CustomerObject:
    """integration_customers' targeted_object, else customer_type, else the configured default."""
    link = hubspot_link(customer, settings)
    if link is not None:
        targeted = str(link.get("targeted_object") or "").lower()
        if targeted in TARGETS:
            return targeted
    by_type = CUSTOMER_TYPE_TARGET.get(str(customer.get("customer_type") or "").lower())
    return by_type or settings.default_targeted_object


def map_customer(customer: Mapping[str, Any], settings: MappingSettings) -> CustomerUpsert:
    lago_id = v.text(customer.get("lago_id"))
    if lago_id is None:
        raise InvalidRecord("customer has no lago_id")
    try:
        return _map(customer, lago_id, settings)
    except v.InvalidValue as exc:
        raise InvalidRecord(str(exc)) from None


def _map(customer: Mapping[str, Any], lago_id: str, settings: MappingSettings) -> CustomerUpsert:
    target = target_object(customer, settings)
    link = hubspot_link(customer, settings)
    linked_id = v.text(link.get("external_customer_id")) if link else None
    lago = {
        "lago_customer_id": lago_id,
        "lago_customer_external_id": v.text(customer.get("external_id")),
        "lago_billing_email": v.text(customer.get("email")),
        "lago_tax_identification_number": v.text(customer.get("tax_identification_number")),
        "lago_customer_link": v.lago_link(
            settings.lago_front_url, settings.lago_organization_slug, "customer", lago_id
        ),
    }
    address = {
        "city": v.text(customer.get("city")),
        "state": v.text(customer.get("state")),
        "zip": v.text(customer.get("zipcode")),
        "country": v.text(customer.get("country")),
        "phone": v.first_of_list(customer.get("phone")),
    }
    email = None
    if target == "companies":
        standard = {
            "name": v.text(customer.get("name")) or v.text(customer.get("legal_name")),
            "domain": v.domain(customer.get("url")),
            "address": v.text(customer.get("address_line1")),
            "address2": v.text(customer.get("address_line2")),
        }
    else:
        email = _email(customer.get("email"))
        first, last = _person_name(customer)
        standard = {
            "email": email,
            "firstname": first,
            "lastname": last,
            "company": v.text(customer.get("legal_name")),
            "address": ", ".join(
                p
                for p in (v.text(customer.get(k)) for k in ("address_line1", "address_line2"))
                if p
            )
            or None,
        }
    properties = v.compact({**lago, **standard, **address})
    return CustomerUpsert(lago_id, target, properties, hubspot_id=linked_id, email=email)


def _email(value: Any) -> str | None:
    first = v.first_of_list(value)
    if first is None or "@" not in first or " " in first:
        return None  # HubSpot rejects malformed emails; lago_billing_email keeps the raw value
    return first.lower()


def _person_name(customer: Mapping[str, Any]) -> tuple[str | None, str | None]:
    first, last = v.text(customer.get("firstname")), v.text(customer.get("lastname"))
    if first or last:
        return first, last
    # Individuals created before Lago had first/last names only carry `name`.
    name = v.text(customer.get("name"))
    if not name:
        return None, None
    head, _, tail = name.partition(" ")
    return head, tail.strip() or None
