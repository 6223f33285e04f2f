"""metadata.yaml, Dockerfile and pyproject agree with each other and with Airbyte's conventions."""

import re
import tomllib
import uuid
from pathlib import Path

import yaml

from destination_hubspot_lago import __version__

ROOT = Path(__file__).resolve().parents[1]
METADATA = yaml.safe_load((ROOT / "metadata.yaml").read_text())
DATA = METADATA["data"]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


# Required keys of a connector's metadata (Airbyte's ConnectorMetadataDefinitionV0).
REQUIRED_DATA_KEYS = [
    "name",
    "definitionId",
    "connectorType",
    "dockerRepository",
    "dockerImageTag",
    "license",
    "documentationUrl",
    "githubIssueLabel",
    "connectorSubtype",
    "releaseStage",
]


def test_metadata_has_the_required_keys_and_values():
    for key in REQUIRED_DATA_KEYS:
        assert DATA.get(key), key
    uuid.UUID(DATA["definitionId"])
    assert DATA["connectorType"] == "destination" and DATA["connectorSubtype"] == "api"
    assert DATA["dockerRepository"] == "airbyte/destination-hubspot-lago"
    assert {"language:python", "cdk:python"} <= set(DATA["tags"])
    assert DATA["allowedHosts"]["hosts"] == ["api.hubapi.com"]
    assert METADATA["metadataSpecVersion"] == "1.0"


def test_versions_agree():
    assert DATA["dockerImageTag"] == PYPROJECT["project"]["version"] == __version__
    assert f"io.airbyte.version={__version__}" in (ROOT / "Dockerfile").read_text()


def test_base_image_is_pinned_by_digest_and_used_by_the_dockerfile():
    image = DATA["connectorBuildOptions"]["baseImage"]
    assert re.fullmatch(
        r"docker\.io/airbyte/python-connector-base:4\.0\.\d+@sha256:[0-9a-f]{64}", image
    )
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"ARG BASE_IMAGE={image}" in dockerfile
    assert 'ENV AIRBYTE_ENTRYPOINT="destination-hubspot-lago"' in dockerfile


def test_console_script_is_named_after_the_connector():
    assert PYPROJECT["project"]["scripts"] == {
        "destination-hubspot-lago": "destination_hubspot_lago.run:run"
    }


# The constraints of Airbyte's connector metadata schema (ConnectorMetadataDefinitionV0) that
# apply to this connector, written out as JSON Schema: required keys, enums and formats.
METADATA_SCHEMA = {
    "type": "object",
    "required": ["metadataSpecVersion", "data"],
    "additionalProperties": False,
    "properties": {
        "metadataSpecVersion": {"type": "string"},
        "data": {
            "type": "object",
            "required": REQUIRED_DATA_KEYS,
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "definitionId": {
                    "type": "string",
                    "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
                },
                "connectorType": {"enum": ["destination", "source"]},
                "connectorSubtype": {
                    "enum": [
                        "api",
                        "database",
                        "datalake",
                        "file",
                        "custom",
                        "message_queue",
                        "unknown",
                        "vectorstore",
                    ]
                },
                "dockerRepository": {"type": "string", "pattern": "^[a-z0-9-]+/[a-z0-9-]+$"},
                "dockerImageTag": {"type": "string", "pattern": r"^\d+\.\d+\.\d+(-[\w.]+)?$"},
                "license": {"type": "string"},
                "documentationUrl": {"type": "string", "pattern": "^https://"},
                "githubIssueLabel": {"type": "string"},
                "releaseStage": {"enum": ["alpha", "beta", "generally_available", "custom"]},
                "supportLevel": {"enum": ["community", "certified", "archived"]},
                "tags": {"type": "array", "items": {"type": "string"}},
                "allowedHosts": {
                    "type": "object",
                    "properties": {"hosts": {"type": "array", "items": {"type": "string"}}},
                },
                "connectorBuildOptions": {
                    "type": "object",
                    "required": ["baseImage"],
                    "properties": {"baseImage": {"type": "string"}},
                },
                "connectorTestSuitesOptions": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["suite"],
                        "properties": {
                            "suite": {
                                "enum": [
                                    "unitTests",
                                    "integrationTests",
                                    "acceptanceTests",
                                    "liveTests",
                                ]
                            }
                        },
                    },
                },
            },
        },
    },
}


def test_metadata_validates_against_the_metadata_schema_constraints():
    import jsonschema

    jsonschema.validate(METADATA, METADATA_SCHEMA)
    broken = {**METADATA, "data": {**DATA, "connectorSubtype": "rest"}}
    try:
        jsonschema.validate(broken, METADATA_SCHEMA)
    except jsonschema.ValidationError:
        return
    raise AssertionError("the schema accepted an invalid connectorSubtype")


# -- every third-party package the connector imports is a declared dependency --------------

PACKAGE = ROOT / "destination_hubspot_lago"


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared_distributions() -> set[str]:
    """The distributions ``[project].dependencies`` names (extras and versions dropped)."""
    names = set()
    for requirement in PYPROJECT["project"]["dependencies"]:
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
        assert match, requirement
        names.add(_normalised(match.group(1)))
    return names


def imported_top_level_modules() -> dict[str, str]:
    """Every absolute import of the package's modules (also those inside functions): top-level
    module name -> the first place it is imported."""
    import ast

    found: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                found.setdefault(name.split(".")[0], where)
    return found


def undeclared_imports(imported: dict[str, str], declared: set[str]) -> list[str]:
    import importlib.metadata
    import sys

    providers = importlib.metadata.packages_distributions()
    problems = []
    for module, where in sorted(imported.items()):
        if module in sys.stdlib_module_names or module == PACKAGE.name:
            continue
        distributions = {_normalised(d) for d in providers.get(module, [])}
        if not distributions:
            problems.append(f"{module} ({where}): no installed distribution provides it")
        elif not distributions & declared:
            problems.append(f"{module} ({where}): from {sorted(distributions)}, not declared")
    return problems


def test_every_imported_third_party_package_is_a_declared_dependency():
    """A package that only arrives as another dependency's dependency (the protocol's
    dataclasses through airbyte-cdk, botocore through boto3) may disappear or change range
    with that dependency: what the connector imports, it declares."""
    imported = imported_top_level_modules()
    assert {"airbyte_protocol_dataclasses", "orjson", "boto3"} <= set(imported)  # it looks
    assert undeclared_imports(imported, declared_distributions()) == []


def test_an_import_only_a_dependency_brings_is_caught():
    declared = declared_distributions() - {"airbyte-protocol-models-dataclasses"}
    (problem,) = undeclared_imports(imported_top_level_modules(), declared)
    assert problem.startswith("airbyte_protocol_dataclasses (destination_hubspot_lago/")
    assert "airbyte-protocol-models-dataclasses" in problem
