"""How each Lago customer reaches its HubSpot company or contact, HubSpot's rules included.

Three cases need more than an upsert by ``lago_customer_id``:

* **Linked customers** (Lago's HubSpot link names an existing record): update that record
  by id. Two Lago customers may not claim one record; a record that lost the unique
  ``lago_customer_id`` to an earlier, unlinked sync is explained, not retried blindly.
* **Emails** (contacts): HubSpot answers a whole-batch 409 when an email belongs to another
  contact. Emails are read first: a holder without a Lago id (or with ours) is adopted;
  one holder is adopted by one customer only; an email another Lago customer owns — in
  HubSpot or earlier in this sync — is left out (``lago_billing_email`` keeps it).
* **Emails HubSpot refuses** (invalid, or taken by a concurrent write): the contact is
  written once more without the email instead of being rejected.

Two halves, split by thread. :class:`CustomerClaims` decides who may use an email or a
HubSpot record; it is the pipeline's state, touched by the message loop only. A link
claims its record as soon as the customer is read, so links outrank adoption by email;
an adoption claims its contact when the loop decides it from the holders read.
:class:`CustomerWrites` does the HTTP work on a worker and returns results; it keeps
nothing. Every customer handed in comes back exactly once, written or rejected.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..hubspot.batches import Item, Outcome, Rejected, Writer, Written
from ..hubspot.errors import is_conflict, is_not_found, refuses_email
from ..portal.model import MODEL
from ..records.base import CustomerUpsert

logger = logging.getLogger("airbyte")

SINGULAR = {"companies": "company", "contacts": "contact"}

Holders = dict[str, dict[str, Any]]  # email -> the HubSpot contact holding it
Adoptions = dict[str, CustomerUpsert]  # HubSpot contact id -> the customer adopting it


@dataclass(frozen=True)
class CustomerResult:
    customer: CustomerUpsert
    written: Written | None = None
    rejected: Rejected | None = None
    adopted: bool = False


class CustomerClaims:
    """Which Lago customer may use an email or a HubSpot record this sync (loop thread)."""

    def __init__(self) -> None:
        self._email_owner: dict[str, str] = {}  # email -> Lago customer id
        # (object, HubSpot id) -> the one Lago customer that may write that record
        self._record_owner: dict[tuple[str, str], str] = {}

    def reserve_link(self, customer: CustomerUpsert) -> None:
        """Called when a linked customer is read: the record is its own from now on."""
        if customer.hubspot_id:
            self._record_owner.setdefault(
                (customer.object_key, customer.hubspot_id), customer.lago_id
            )

    def link_conflict(self, customer: CustomerUpsert) -> Rejected | None:
        """A linked customer whose record another Lago customer claimed first."""
        obj, hubspot_id = customer.object_key, customer.hubspot_id or ""
        owner = self._record_owner.get((obj, hubspot_id))
        if owner == customer.lago_id:
            return None
        return Rejected(
            customer.lago_id,
            "LINK_CONFLICT",
            f"Lago customers {owner} and {customer.lago_id} are both linked to "
            f"HubSpot {SINGULAR[obj]} {hubspot_id}, which can carry one Lago Customer Id "
            "only. Link one of them to another record in Lago, then sync again",
        )

    def claim_email(self, customer: CustomerUpsert) -> CustomerUpsert:
        """The customer as it may be written: without an email another customer uses."""
        if not customer.email:
            return customer
        owner = self._email_owner.setdefault(customer.email, customer.lago_id)
        if owner == customer.lago_id:
            return customer
        logger.warning(
            "Contact for Lago customer %s is written without email: Lago customer %s "
            "uses the same email.",
            customer.lago_id,
            owner,
        )
        return without_email(customer)

    def adopt(
        self, customers: Sequence[CustomerUpsert], holders: Holders
    ) -> tuple[list[CustomerUpsert], Adoptions]:
        """Split contacts into upserts and adoptions of the contacts holding their emails."""
        upserts: list[CustomerUpsert] = []
        adopted: Adoptions = {}
        for customer in customers:
            holder = holders.get(customer.email or "")
            if holder is None:
                upserts.append(customer)
                continue
            hubspot_id = str(holder["id"])
            owner = (holder.get("properties") or {}).get("lago_customer_id") or ""
            if owner in ("", customer.lago_id) and hubspot_id not in adopted:
                claimant = self._record_owner.setdefault(("contacts", hubspot_id), customer.lago_id)
                if claimant == customer.lago_id:
                    adopted[hubspot_id] = customer
                    continue
                owner = claimant  # linked to (or adopted by) another Lago customer
            logger.warning(
                "Contact for Lago customer %s is written without email: HubSpot contact %s "
                "already holds that email%s.",
                customer.lago_id,
                hubspot_id,
                f" for Lago customer {owner}" if owner else "",
            )
            upserts.append(without_email(customer))
        return upserts, adopted


class CustomerWrites:
    """The HTTP half: stateless, safe on any worker thread."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer

    def email_holders(self, customers: Sequence[CustomerUpsert]) -> Holders:
        emails = [c.email for c in customers if c.email]
        return self.writer.read("contacts", emails, "email", ["lago_customer_id"])

    def upsert(
        self, obj: str, customers: Sequence[CustomerUpsert], adopted: Adoptions
    ) -> list[CustomerResult]:
        """Upsert by ``lago_customer_id``; update adopted contacts by id first."""
        results: list[CustomerResult] = []
        upserts = list(customers)
        if adopted:
            done, retry = self._update_adopted(adopted)
            results += done
            upserts += [without_email(c) for c in retry]
        return results + self._written_without_refused_email(obj, upserts, self._upsert, "written")

    def update_linked(self, obj: str, customers: Sequence[CustomerUpsert]) -> list[CustomerResult]:
        results = self._written_without_refused_email(obj, customers, self._by_link, "updated")
        return [replace(r, rejected=_explain_link(obj, r)) if r.rejected else r for r in results]

    def _upsert(self, obj: str, customers: Sequence[CustomerUpsert]) -> list[CustomerResult]:
        items = [Item(c.lago_id, c.properties) for c in customers]
        outcome = self.writer.upsert(obj, MODEL.companies.id_property, items)
        return _results(customers, outcome, key=lambda c: c.lago_id)

    def _by_link(self, obj: str, customers: Sequence[CustomerUpsert]) -> list[CustomerResult]:
        outcome = self.writer.update_by_id(
            obj, [Item(c.hubspot_id or "", c.properties) for c in customers]
        )
        return _results(customers, outcome, key=lambda c: c.hubspot_id or "")

    def _written_without_refused_email(
        self,
        obj: str,
        customers: Sequence[CustomerUpsert],
        write: Callable[[str, Sequence[CustomerUpsert]], list[CustomerResult]],
        verb: str,
    ) -> list[CustomerResult]:
        """An email HubSpot refuses must not cost the whole contact: write it once more
        without the email."""
        results = write(obj, customers) if customers else []
        retry = [
            r.customer
            for r in results
            if obj == "contacts"
            and r.customer.email
            and r.rejected is not None
            and r.rejected.error is not None
            and refuses_email(r.rejected.error)
        ]
        if not retry:
            return results
        for customer in retry:
            logger.warning(
                "Contact for Lago customer %s is %s without its email: HubSpot refused it.",
                customer.lago_id,
                verb,
            )
        kept = [r for r in results if r.customer not in retry]
        return kept + write(obj, [without_email(c) for c in retry])

    def _update_adopted(
        self, adopted: Adoptions
    ) -> tuple[list[CustomerResult], list[CustomerUpsert]]:
        """Update adopted contacts; a unique-value clash (the customer already has its own
        contact, e.g. its email changed in Lago) falls back to an upsert without email."""
        items = [Item(hubspot_id, c.properties) for hubspot_id, c in adopted.items()]
        outcome = self.writer.update_by_id("contacts", items)
        results = _results(list(adopted.values()), outcome, key=_key_in(adopted))
        done = [replace(r, adopted=True) for r in results if not _conflict(r)]
        retry = [r.customer for r in results if _conflict(r)]
        return done, retry


def without_email(customer: CustomerUpsert) -> CustomerUpsert:
    props = {k: v for k, v in customer.properties.items() if k != "email"}
    return replace(customer, properties=props, email=None)


def _results(
    customers: Sequence[CustomerUpsert], outcome: Outcome, key: Callable[[CustomerUpsert], str]
) -> list[CustomerResult]:
    """Pair each customer with its outcome; one without any is reported, never dropped."""
    written = {w.key: w for w in outcome.written}
    rejected = {r.key: r for r in outcome.rejected}
    results = []
    for customer in customers:
        k = key(customer)
        if k in written:
            results.append(CustomerResult(customer, written=written[k]))
        elif k in rejected:
            results.append(CustomerResult(customer, rejected=rejected[k]))
        else:
            results.append(
                CustomerResult(
                    customer,
                    rejected=Rejected(k, "NO_ANSWER", "HubSpot gave no answer for this record"),
                )
            )
    return results


def _key_in(adopted: Mapping[str, CustomerUpsert]) -> Callable[[CustomerUpsert], str]:
    by_customer = {id(c): hubspot_id for hubspot_id, c in adopted.items()}
    return lambda c: by_customer[id(c)]


def _conflict(result: CustomerResult) -> bool:
    error = result.rejected.error if result.rejected is not None else None
    return error is not None and is_conflict(error)


def _explain_link(obj: str, result: CustomerResult) -> Rejected:
    rejected = result.rejected
    assert rejected is not None
    customer = result.customer
    record = f"HubSpot {SINGULAR[obj]} {customer.hubspot_id}"
    error = rejected.error
    if error is not None and is_not_found(error):
        message = (
            f"Lago links this customer to {record}, which HubSpot does not have (deleted or "
            "merged?). Correct or remove the HubSpot link on the customer in Lago, then sync again"
        )
    elif error is not None and is_conflict(error):
        message = (
            f"Lago links this customer to {record}, but another HubSpot {SINGULAR[obj]} already "
            f"carries Lago Customer Id {customer.lago_id} (written before the customer was "
            f"linked). Merge that record into {customer.hubspot_id} in HubSpot, or clear its "
            f"Lago Customer Id, then sync again. HubSpot said: {rejected.message}"
        )
    else:
        return rejected
    return replace(rejected, message=message)
