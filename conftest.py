import pytest

from destination_hubspot_lago.airbyte.secrets import forget_secrets

# The airbyte-cdk standard test suite's scenario parametrization (acceptance-test-config.yml).
pytest_plugins = ["airbyte_cdk.test.standard_tests.pytest_hooks"]


@pytest.fixture(autouse=True)
def each_test_its_own_secrets():
    """The secret filter only ever grows within a run; a test's secrets (often one-letter
    placeholders) must not mask the next test's output."""
    yield
    forget_secrets()
