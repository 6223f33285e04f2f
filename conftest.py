# The airbyte-cdk standard test suite's scenario parametrization (acceptance-test-config.yml).
pytest_plugins = ["airbyte_cdk.test.standard_tests.pytest_hooks"]
