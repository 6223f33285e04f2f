"""Run by the PyAirbyte venv's interpreter (not pytest's): one PyAirbyte sync, source-getlago
(declarative manifest) -> this destination as a local executable.

    .venv-pyairbyte/bin/python tests/support/pyairbyte_job.py job.json

job.json: {"mode": "direct" | "cache", "manifest": path, "source_config": {...},
"destination_config": {...}, "executable": path, "work_dir": path, "streams": [...]}.
Prints one JSON line: {"ok": true, "records": n} or {"ok": false, "error": "..."}.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def vat_ids_as_text(manifest: dict) -> dict:
    """The manifest types tax_identification_number as integer; VAT ids are text
    ("GB123456789"), which PyAirbyte's cache refuses to cast. Declare it a string."""
    schemas = manifest.get("schemas", {})
    nested = schemas.get("invoices", {}).get("properties", {}).get("customer", {})
    for schema in (schemas.get("customers", {}), nested):
        props = schema.get("properties", {})
        if "tax_identification_number" in props:
            props["tax_identification_number"]["type"] = ["null", "string"]
    return manifest


def main(job_path: str) -> int:
    job = json.loads(Path(job_path).read_text())
    import airbyte as ab
    import yaml
    from airbyte.caches import DuckDBCache

    manifest = yaml.safe_load(Path(job["manifest"]).read_text())
    source = ab.get_source(
        "source-getlago",
        config=job["source_config"],
        source_manifest=vat_ids_as_text(manifest),
        streams=job["streams"],
    )
    destination = ab.get_destination(
        "destination-hubspot-lago",
        config=job["destination_config"],
        local_executable=Path(job["executable"]),
    )
    work = Path(job["work_dir"])
    try:
        if job["mode"] == "direct":
            result = destination.write(source, cache=False)
        else:
            cache = DuckDBCache(db_path=work / "cache.duckdb", cache_dir=work / "cache")
            result = destination.write(source, cache=cache)
    except Exception as exc:  # reported to the test, which shows it
        print(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}))
        return 1
    print(json.dumps({"ok": True, "result": type(result).__name__}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
