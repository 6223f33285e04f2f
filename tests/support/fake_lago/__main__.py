"""Serve the fake Lago API standalone.

    python -m tests.support.fake_lago --port 8766 [--size sample|N] [--api-key KEY]

``--port 0`` picks a free port (the first line printed names the URL).
``--size N`` serves ``synthetic_dataset(customers=N)``.
"""

from __future__ import annotations

import argparse

from .data import sample_dataset, synthetic_dataset
from .server import FakeLago


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.support.fake_lago")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--size", default="sample", help="'sample' or a number of customers")
    parser.add_argument("--subscriptions-per-customer", type=float, default=1.5)
    parser.add_argument("--invoices-per-customer", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--api-key", default="lago-test-key")
    args = parser.parse_args(argv)

    if args.size == "sample":
        dataset = sample_dataset()
    else:
        dataset = synthetic_dataset(
            customers=int(args.size),
            subscriptions_per_customer=args.subscriptions_per_customer,
            invoices_per_customer=args.invoices_per_customer,
            seed=args.seed,
        )
    fake = FakeLago(dataset=dataset, api_key=args.api_key, host=args.host, port=args.port)
    url = fake.start()
    print(
        f"fake Lago on {url} "
        f"({len(dataset.customers)} customers, {len(dataset.subscriptions)} subscriptions, "
        f"{len(dataset.invoices)} invoices; api key {args.api_key!r})",
        flush=True,
    )
    try:
        fake.wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
