"""Console entry point: ``destination-hubspot-lago spec|check|write``."""

import gc
import sys

from .destination import DestinationHubspotLago


def run() -> None:
    # The CDK's import leaves ~10^6 long-lived objects; without this every full collection
    # walks them again while a sync allocates millions of short-lived JSON objects.
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    DestinationHubspotLago().run(sys.argv[1:])


if __name__ == "__main__":
    run()
