"""A fake Lago API v1 for tests, benchmarks and local end-to-end runs.

    from tests.support.fake_lago import FakeLago, sample_dataset, synthetic_dataset

    with FakeLago(dataset=sample_dataset(), api_key="lago-test-key") as lago:
        config = {"api_key": "lago-test-key", "api_url": lago.url}

It serves what Airbyte's source-getlago manifest reads: GET /customers, /invoices,
/subscriptions?external_customer_id=..., /billable_metrics, /plans, /coupons, /add_ons, /fees,
/wallets and /customers/{id}/current_usage|past_usage, with Bearer auth and page/per_page
pagination (``meta.next_page`` null on the last page). Standalone:
``python -m tests.support.fake_lago --port 8766 --size sample``.

GET /subscriptions lists only ``active`` subscriptions unless ``status[]`` is passed, as
lago-api's ``SubscriptionIndex`` does (an unknown status value drops the filter altogether);
``FakeLago.terminate_subscription(id)`` ends one between two syncs, so it stops arriving.

UNVERIFIED against a real Lago (best knowledge of Lago's v1 serializers and controllers):
* GET /subscriptions answering 422 ``validation_errors`` without ``external_customer_id``
  (newer Lago versions may list every subscription of the organization instead);
* the exact 404 body for unknown routes (``code: "route_not_found"``);
* the default ``per_page`` (20) and the absence of a maximum ``per_page``;
* GET /wallets answering without ``external_customer_id``;
* whether list endpoints include ``integration_customers`` and ``taxes`` on customers, and the
  exact keys of an ``integration_customers`` entry;
* ``purchase_order_number`` on invoices (present only on some sample invoices here);
* the nested ``plan`` object on a subscription (with the subscription's price overrides; only
  ``sub-globex-enterprise`` carries one here), and the wallet and fee fields the manifest does
  not declare (``credits_ongoing_balance``, ``ongoing_balance_cents``, ``priority``,
  ``precise_amount``...; the manifest's fee schema spells ``amount_cents`` as ``amout_cents``);
* 405 ``no_active_subscription`` for a subscription that is not one of the customer's active
  ones on current_usage/past_usage.
"""

from .data import Dataset, LazyRecords, sample_dataset, synthetic_dataset
from .server import FakeLago, RecordedRequest

__all__ = [
    "Dataset",
    "FakeLago",
    "LazyRecords",
    "RecordedRequest",
    "sample_dataset",
    "synthetic_dataset",
]
