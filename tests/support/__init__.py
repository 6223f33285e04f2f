"""The test world, shared by unit tests, integration tests, the demo and the benchmark: the
HubSpot emulator (``hubspot_emulator/``), the fake Lago API and source runner (``fake_lago/``),
a real S3-compatible server (``s3_server.py``), the connector harness (``harness.py``), sample
scenarios, the OpenAPI conformance checker and PyAirbyte's environment."""
