import pytest

from integration_tests.harness import (
    OAUTH_CLIENT_ID,
    OAUTH_CLIENT_SECRET,
    OAUTH_REFRESH_TOKEN,
    PRIVATE_APP_TOKEN,
)
from integration_tests.hubspot_emulator import ALL_SCOPES, HubSpotEmulator


def make_emulator(**kwargs):
    options = {
        "private_app_tokens": {PRIVATE_APP_TOKEN: ALL_SCOPES},
        "oauth_clients": {OAUTH_CLIENT_ID: OAUTH_CLIENT_SECRET},
        "refresh_tokens": {OAUTH_REFRESH_TOKEN: (OAUTH_CLIENT_ID, ALL_SCOPES)},
    }
    options.update(kwargs)
    return HubSpotEmulator(**options)


@pytest.fixture
def emulator():
    with make_emulator() as emu:
        yield emu
