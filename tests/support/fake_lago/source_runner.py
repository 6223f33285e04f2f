"""Run Airbyte's real source-getlago manifest (read) and get its Airbyte messages.

The installed CDK's ``source-declarative-manifest`` console script runs a local manifest
directly; this module only builds the config and configured catalog around it::

    source-declarative-manifest read --config config.json --catalog catalog.json \\
        --manifest-path /work/shared/reference/source-getlago/manifest.yaml

CLI (prints Airbyte messages as JSON lines on stdout, exactly as the command above)::

    # pass-through with your own files
    python -m tests.support.fake_lago.source_runner --manifest M --config C --catalog CAT
    # or let it start a fake Lago and write the config and catalog itself
    python -m tests.support.fake_lago.source_runner --fake sample \\
        --streams customers,subscriptions,invoices | <destination> write --config ... --catalog ...

The manifest path defaults to ``$LAGO_MANIFEST_PATH`` or
``<repo>/../shared/reference/source-getlago/manifest.yaml``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

DEFAULT_STREAMS = ("customers", "subscriptions", "invoices")
# Same entry point as the `source-declarative-manifest` console script, without relying on PATH.
_SDM = "from airbyte_cdk.cli.source_declarative_manifest import run; run()"


class SourceReadError(RuntimeError):
    """The source exited non-zero; ``messages`` holds what it printed before."""

    def __init__(self, message: str, messages: list[dict[str, Any]]):
        super().__init__(message)
        self.messages = messages


def default_manifest_path() -> Path:
    override = os.environ.get("LAGO_MANIFEST_PATH")
    if override:
        return Path(override)
    repo = Path(__file__).resolve().parents[3]
    return repo.parent / "shared" / "reference" / "source-getlago" / "manifest.yaml"


def skip_module_without_manifest() -> None:
    """Skip the test module calling this (at import) when the real manifest is absent."""
    import pytest

    if not default_manifest_path().exists():
        pytest.skip(
            f"source-getlago manifest not found at {default_manifest_path()} "
            "(set LAGO_MANIFEST_PATH)",
            allow_module_level=True,
        )


def load_manifest(path: Path | None = None) -> dict[str, Any]:
    with open(path or default_manifest_path(), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def configured_catalog(
    streams: list[str] | tuple[str, ...], manifest: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A full-refresh configured catalog; each stream's JSON schema comes from the manifest."""
    manifest = manifest if manifest is not None else load_manifest()
    schemas = manifest.get("schemas", {})
    entries = []
    for name in streams:
        if name not in schemas:
            raise ValueError(f"stream {name!r} is not in the manifest ({sorted(schemas)})")
        has_pk = name not in ("customer_usage",)
        pk = [["lago_invoice_id"]] if name == "customer_usage_past" else [["lago_id"]]
        entries.append(
            {
                "stream": {
                    "name": name,
                    "json_schema": schemas[name],
                    "supported_sync_modes": ["full_refresh"],
                    **({"source_defined_primary_key": pk} if has_pk else {}),
                },
                "sync_mode": "full_refresh",
                "destination_sync_mode": "append_dedup" if has_pk else "append",
                **({"primary_key": pk} if has_pk else {}),
            }
        )
    return {"streams": entries}


def source_command(config: Path, catalog: Path, manifest: Path) -> list[str]:
    """The ``source-declarative-manifest read`` command line, with this interpreter."""
    return [
        sys.executable,
        "-c",
        _SDM,
        "read",
        "--config",
        str(config),
        "--catalog",
        str(catalog),
        "--manifest-path",
        str(manifest),
    ]


def _source_env() -> dict[str, str]:
    env = dict(os.environ)
    # In cloud mode the CDK refuses private addresses such as 127.0.0.1.
    env.pop("DEPLOYMENT_MODE", None)
    return env


def read_with_source_manifest(
    api_url: str,
    api_key: str,
    streams: list[str] | tuple[str, ...] = DEFAULT_STREAMS,
    manifest_path: Path | None = None,
    timeout: float = 600,
) -> list[dict[str, Any]]:
    """Run the real manifest's ``read`` in a subprocess; return its Airbyte messages (dicts).

    Raises ``SourceReadError`` if the source exits non-zero.
    """
    manifest_path = Path(manifest_path or default_manifest_path())
    catalog = configured_catalog(streams, load_manifest(manifest_path))
    with tempfile.TemporaryDirectory(prefix="lago-source-") as tmp:
        config_file, catalog_file = Path(tmp, "config.json"), Path(tmp, "catalog.json")
        config_file.write_text(json.dumps({"api_key": api_key, "api_url": api_url}))
        catalog_file.write_text(json.dumps(catalog))
        done = subprocess.run(
            source_command(config_file, catalog_file, manifest_path),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=_source_env(),
            check=False,
        )
    messages = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0:
        errors = [
            m["trace"]["error"]["message"]
            for m in messages
            if m.get("type") == "TRACE" and m["trace"].get("type") == "ERROR"
        ]
        raise SourceReadError(
            f"source exited {done.returncode}: {errors or done.stderr[-2000:]}", messages
        )
    return messages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.fake_lago.source_runner")
    parser.add_argument("--manifest", type=Path, default=None, help="default: LAGO_MANIFEST_PATH")
    parser.add_argument("--config", type=Path, help="source config JSON (api_key, api_url)")
    parser.add_argument("--catalog", type=Path, help="configured catalog JSON")
    parser.add_argument("--fake", help="start a fake Lago: 'sample' or a number of customers")
    parser.add_argument("--api-url", help="Lago API URL (instead of --config)")
    parser.add_argument("--api-key", default="lago-test-key")
    parser.add_argument("--streams", default=",".join(DEFAULT_STREAMS))
    args = parser.parse_args(argv)
    manifest = args.manifest or default_manifest_path()

    with tempfile.TemporaryDirectory(prefix="lago-source-") as tmp:
        fake = None
        config, catalog = args.config, args.catalog
        if catalog is None:
            streams = [s for s in args.streams.split(",") if s]
            catalog = Path(tmp, "catalog.json")
            catalog.write_text(json.dumps(configured_catalog(streams, load_manifest(manifest))))
        if config is None:
            api_url = args.api_url
            if args.fake:
                from . import FakeLago, sample_dataset, synthetic_dataset

                size = args.fake
                dataset = sample_dataset() if size == "sample" else synthetic_dataset(int(size))
                fake = FakeLago(dataset=dataset, api_key=args.api_key)
                api_url = fake.start()
            if not api_url:
                parser.error("give --config, --api-url or --fake")
            config = Path(tmp, "config.json")
            config.write_text(json.dumps({"api_key": args.api_key, "api_url": api_url}))
        try:
            return subprocess.call(source_command(config, catalog, manifest), env=_source_env())
        finally:
            if fake is not None:
                fake.stop()


if __name__ == "__main__":
    sys.exit(main())
