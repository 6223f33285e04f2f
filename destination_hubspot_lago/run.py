"""Console entry point: ``destination-hubspot-lago spec|check|write``."""

import sys

from .destination import DestinationHubspotLago


def run() -> None:
    DestinationHubspotLago().run(sys.argv[1:])


if __name__ == "__main__":
    run()
