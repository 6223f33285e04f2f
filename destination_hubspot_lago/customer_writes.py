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

Every customer handed in comes back exactly once, written or rejected.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from .batches import BatchWriter, Item, Outcome, Rejected, Written
from .mapping import CustomerUpsert
from .model import MODEL

logger = logging.getLogger("airbyte")

SINGULAR = {"companies": "company", "contacts": "contact"}
CONFLICT_CATEGORIES = frozenset({"CONFLICT", "OBJECT_ALREADY_EXISTS", "HTTP_409"})


@dataclass(frozen=True)
class CustomerResult:
    customer: CustomerUpsert
    written: Written | None = None
    rejected: Rejected | None = None
    adopted: bool = False


class CustomerWriter:
    def __init__(self, writer: BatchWriter) -> None:
        self.writer = writer
        self._lock = threading.Lock()
        self._email_owner: dict[str, str] = {}  # email -> Lago customer id, this sync
        # (object, HubSpot id) -> the one Lago customer that may write that record this sync:
        # by a link in Lago (reserved as soon as the record is read) or by email adoption.
        self._record_owner: dict[tuple[str, str], str] = {}

    def reserve_link(self, customer: CustomerUpsert) -> None:
        """Called when a linked customer is read, before any batch runs: links outrank
        adoption by email, whatever order the records arrive in."""
        if customer.hubspot_id:
            self._claim_record(customer.object_key, customer.hubspot_id, customer.lago_id)

    def _claim_record(self, obj: str, hubspot_id: str, lago_id: str) -> str:
        with self._lock:
            return self._record_owner.setdefault((obj, hubspot_id), lago_id)

    def write(
        self, obj: str, type_id: str, linked: bool, customers: Sequence[CustomerUpsert]
    ) -> list[CustomerResult]:
        if linked:
            if obj == "contacts":
                customers = [self._claim_email(c) for c in customers]
            return self._update_linked(obj, type_id, customers)
        results: list[CustomerResult] = []
        upserts = list(customers)
        if obj == "contacts":
            upserts = [self._claim_email(c) for c in upserts]
            upserts, adopted = self._adopt_by_email(type_id, upserts)
            if adopted:
                done, retry = self._update_adopted(type_id, adopted)
                results += done
                upserts += [_without_email(c) for c in retry]
        results += self._upsert(obj, type_id, upserts)
        return results

    # -- upserts by lago_customer_id ----------------------------------------------------

    def _upsert(
        self, obj: str, type_id: str, customers: Sequence[CustomerUpsert], retried: bool = False
    ) -> list[CustomerResult]:
        id_property = MODEL.companies.id_property
        outcome = self.writer.upsert(
            type_id, id_property, [Item(c.lago_id, c.properties) for c in customers]
        )
        results = _results(customers, outcome, key=lambda c: c.lago_id)
        if obj != "contacts" or retried:
            return results
        # An email HubSpot refuses must not cost the whole contact: write it without.
        retry = [
            r.customer for r in results if r.rejected and _email_problem(r) and r.customer.email
        ]
        if not retry:
            return results
        for customer in retry:
            logger.warning(
                "Contact for Lago customer %s is written without its email: HubSpot refused it.",
                customer.lago_id,
            )
        kept = [r for r in results if r.customer not in retry]
        return kept + self._upsert(obj, type_id, [_without_email(c) for c in retry], retried=True)

    # -- emails -----------------------------------------------------------------------

    def _claim_email(self, customer: CustomerUpsert) -> CustomerUpsert:
        if not customer.email:
            return customer
        with self._lock:
            owner = self._email_owner.setdefault(customer.email, customer.lago_id)
        if owner == customer.lago_id:
            return customer
        logger.warning(
            "Contact for Lago customer %s is written without email: Lago customer %s "
            "uses the same email.",
            customer.lago_id,
            owner,
        )
        return _without_email(customer)

    def _adopt_by_email(
        self, type_id: str, customers: list[CustomerUpsert]
    ) -> tuple[list[CustomerUpsert], dict[str, CustomerUpsert]]:
        emails = [c.email for c in customers if c.email]
        if not emails:
            return customers, {}
        holders = self.writer.read_by_property(type_id, "email", emails, ["lago_customer_id"])
        upserts: list[CustomerUpsert] = []
        adopted: dict[str, CustomerUpsert] = {}
        for customer in customers:
            holder = holders.get(customer.email or "")
            if holder is None:
                upserts.append(customer)
                continue
            hubspot_id = str(holder["id"])
            owner = (holder.get("properties") or {}).get("lago_customer_id") or ""
            if owner in ("", customer.lago_id) and hubspot_id not in adopted:
                claimant = self._claim_record("contacts", hubspot_id, customer.lago_id)
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
            upserts.append(_without_email(customer))
        return upserts, adopted

    def _update_adopted(
        self, type_id: str, adopted: dict[str, CustomerUpsert]
    ) -> tuple[list[CustomerResult], list[CustomerUpsert]]:
        """Update adopted contacts; a unique-value clash (the customer already has its own
        contact, e.g. its email changed in Lago) falls back to an upsert without email."""
        items = [Item(hubspot_id, c.properties) for hubspot_id, c in adopted.items()]
        outcome = self.writer.update_by_id(type_id, items)
        results = _results(list(adopted.values()), outcome, key=_key_in(adopted))
        done = [replace(r, adopted=True) for r in results if not _conflict(r)]
        retry = [r.customer for r in results if _conflict(r)]
        return done, retry

    # -- linked customers -------------------------------------------------------------

    def _update_linked(
        self, obj: str, type_id: str, customers: Sequence[CustomerUpsert]
    ) -> list[CustomerResult]:
        results: list[CustomerResult] = []
        claimed: list[CustomerUpsert] = []
        for customer in customers:
            owner = self._claim_record(obj, customer.hubspot_id or "", customer.lago_id)
            if owner != customer.lago_id:
                results.append(
                    CustomerResult(
                        customer,
                        rejected=Rejected(
                            customer.lago_id,
                            "LINK_CONFLICT",
                            f"Lago customers {owner} and {customer.lago_id} are both linked to "
                            f"HubSpot {SINGULAR[obj]} {customer.hubspot_id}, which can carry "
                            "one Lago Customer Id only. Link one of them to another record in "
                            "Lago, then sync again",
                        ),
                    )
                )
            else:
                claimed.append(customer)
        if not claimed:
            return results
        return results + self._update_by_link(obj, type_id, claimed)

    def _update_by_link(
        self, obj: str, type_id: str, customers: Sequence[CustomerUpsert], retried: bool = False
    ) -> list[CustomerResult]:
        items = [Item(c.hubspot_id or "", c.properties) for c in customers]
        outcome = self.writer.update_by_id(type_id, items)
        results = _results(customers, outcome, key=lambda c: c.hubspot_id or "")
        retry = [
            r.customer
            for r in results
            if obj == "contacts" and not retried and r.customer.email and _email_problem(r)
        ]
        for customer in retry:
            logger.warning(
                "Contact for Lago customer %s is updated without its email: HubSpot refused it.",
                customer.lago_id,
            )
        kept = [
            replace(r, rejected=_explain_link(obj, r)) if r.rejected is not None else r
            for r in results
            if r.customer not in retry
        ]
        if not retry:
            return kept
        return kept + self._update_by_link(
            obj, type_id, [_without_email(c) for c in retry], retried=True
        )


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


def _key_in(adopted: dict[str, CustomerUpsert]) -> Callable[[CustomerUpsert], str]:
    by_customer = {id(c): hubspot_id for hubspot_id, c in adopted.items()}
    return lambda c: by_customer[id(c)]


def _without_email(customer: CustomerUpsert) -> CustomerUpsert:
    props = {k: v for k, v in customer.properties.items() if k != "email"}
    return replace(customer, properties=props, email=None)


def _conflict(result: CustomerResult) -> bool:
    return result.rejected is not None and result.rejected.category in CONFLICT_CATEGORIES


def _email_problem(result: CustomerResult) -> bool:
    if result.rejected is None:
        return False
    text = f"{result.rejected.category} {result.rejected.message}".upper()
    return (
        "INVALID_EMAIL" in text
        or (_conflict(result) and "EMAIL" in text)
        or ("CONTACT_EXISTS" in text or "CONTACT ALREADY EXISTS" in text)
    )


def _explain_link(obj: str, result: CustomerResult) -> Rejected:
    rejected = result.rejected
    assert rejected is not None
    customer = result.customer
    record = f"HubSpot {SINGULAR[obj]} {customer.hubspot_id}"
    if rejected.category == "OBJECT_NOT_FOUND":
        message = (
            f"Lago links this customer to {record}, which HubSpot does not have (deleted or "
            "merged?). Correct or remove the HubSpot link on the customer in Lago, then sync again"
        )
    elif rejected.category in CONFLICT_CATEGORIES:
        message = (
            f"Lago links this customer to {record}, but another HubSpot {SINGULAR[obj]} already "
            f"carries Lago Customer Id {customer.lago_id} (written before the customer was "
            f"linked). Merge that record into {customer.hubspot_id} in HubSpot, or clear its "
            f"Lago Customer Id, then sync again. HubSpot said: {rejected.message}"
        )
    else:
        return rejected
    return Rejected(rejected.key, rejected.category, message)
