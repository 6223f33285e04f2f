"""Billing values on the CRM record (docs/product.md §6), in one place: the per-customer
roll-ups (``aggregator.py``) and where their per-record facts wait (``facts.py``), plan values
written after their subscription (``deferred.py``), invoice ↔ subscription links
(``links.py``), and the post-sync part that writes them all (``job.py``)."""
