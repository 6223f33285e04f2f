"""docs/product.md §9: the post-sync phase at its lane's rate. The invoice ↔ subscription links
go in chains (each batch's fold answers its chain's next one); there are as many chains as the
loop runs jobs at once, so the loop's workers are all busy and the associations lane alone sets
the pace. In-process, over real HTTP against the emulator, with association batches off the
burst window (as the 2026-09 specs declare them): counted in it, they would share the burst
lane's places in flight (``BURST_IN_FLIGHT``)."""

from __future__ import annotations

from tests.support.harness import make_emulator, most_at_once, record, stream_state
from tests.support.pipeline import customer, invoice, pipeline, run_all, subscription

WORKERS = 12  # more than the 8 chains the post-sync phase once had
PAIRS = 48


def test_the_links_keep_every_worker_of_the_loop_busy():
    with make_emulator(latency_seconds=0.3, associations_lane="exempt") as emu:
        p, deployment = pipeline(emu, tuning={"batch_size": 2, "workers": WORKERS})
        lines = [record("customers", customer(1)), stream_state("customers", 1)]
        lines += [record("subscriptions", subscription(n, "c1")) for n in range(PAIRS)]
        lines.append(stream_state("subscriptions", 2))
        lines += [record("invoices", invoice(n, "c1")) for n in range(PAIRS)]
        lines.append(stream_state("invoices", 3))
        fees = [
            {"lago_id": f"f{n}", "lago_invoice_id": f"i{n}", "lago_subscription_id": f"s{n}"}
            for n in range(PAIRS)
        ]
        lines += [record("fees", fee) for fee in fees]
        lines.append(stream_state("fees", 4))
        emu.clear_log()
        assert len([m for m in run_all(p, lines) if m["type"] == "STATE"]) == 4

        ids = deployment.object_type_ids
        path = f"/{ids['invoices']}/{ids['subscriptions']}/batch/create"
        links = [r for r in emu.requests if r["path"].endswith(path)]
        assert len(links) == PAIRS // 2  # batches of 2 pairs
        assert most_at_once(links) == WORKERS
