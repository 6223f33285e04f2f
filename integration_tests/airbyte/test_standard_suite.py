"""airbyte-cdk's standard destination tests (spec, check scenarios), run without Docker."""

import pytest
from airbyte_cdk.test.standard_tests import DestinationTestSuiteBase

from destination_hubspot_lago import DestinationHubspotLago
from tests.support.harness import make_emulator

STANDARD_PORT = 47815  # the port in integration_tests/standard_config.json


@pytest.fixture(scope="module", autouse=True)
def emulator_on_the_standard_port():
    with make_emulator(port=STANDARD_PORT) as emu:
        yield emu


class TestHubspotLagoStandard(DestinationTestSuiteBase):
    connector = DestinationHubspotLago
