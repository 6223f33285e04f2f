"""Test code that is not a test: the test world and the helpers the suites share."""
