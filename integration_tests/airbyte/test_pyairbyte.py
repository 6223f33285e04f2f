"""PyAirbyte is a tested client: source-getlago (the real manifest, run by PyAirbyte) against the
fake Lago, into this destination run as a local executable, against the HubSpot emulator;
once straight from the source (``cache=False``) and once through PyAirbyte's default DuckDB cache.

PyAirbyte runs in its own venv (``.venv-pyairbyte/``, see ``pyairbyte_env.py``): its pins are
not ours. The test skips, with the reason, only when PyAirbyte cannot be installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import pyairbyte_env
from tests.support.fake_lago import FakeLago
from tests.support.fake_lago.source_runner import (
    default_manifest_path,
    skip_module_without_manifest,
)
from tests.support.harness import ROOT, SECRETS, make_emulator, private_app_config
from tests.support.scenario import linked_sample

pytestmark = pytest.mark.timeout(900)

skip_module_without_manifest()

STREAMS = ["customers", "subscriptions", "invoices"]
# Fields the manifest does not declare: PyAirbyte's cache drops them.
UNDECLARED_CUSTOMER_FIELDS = ("customer_type", "integration_customers", "firstname", "lastname")


@pytest.fixture(scope="module")
def pyairbyte() -> Path:
    python, why = pyairbyte_env.ensure()
    if python is None:
        pytest.skip(f"PyAirbyte cannot be installed here: {why}")
    return python


def executable() -> Path:
    """This destination's console script, in the interpreter's venv running the tests."""
    script = Path(sys.executable).with_name("destination-hubspot-lago")
    assert script.is_file(), f"{script} is missing: install the project (pip install -e .)"
    return script


def pyairbyte_sync(python: Path, mode: str, tmp_path: Path) -> tuple[dict, str, object]:
    """Run one PyAirbyte sync; return (job answer, destination log text, emulator store)."""
    with make_emulator() as emu:
        dataset = linked_sample(emu.store)
        with FakeLago(dataset=dataset, api_key="lago-key") as lago:
            job = {
                "mode": mode,
                "manifest": str(default_manifest_path()),
                "source_config": {"api_key": "lago-key", "api_url": lago.url},
                "destination_config": private_app_config(emu.url),
                "executable": str(executable()),
                "work_dir": str(tmp_path),
                "streams": STREAMS,
            }
            job_file = tmp_path / "job.json"
            job_file.write_text(json.dumps(job))
            env = {
                **os.environ,
                "AIRBYTE_OFFLINE_MODE": "1",  # no registry look-ups, no telemetry
                "DO_NOT_TRACK": "1",
                "AIRBYTE_NO_UI": "1",
                "AIRBYTE_LOGGING_ROOT": str(tmp_path / "logs"),
            }
            env.pop("DEPLOYMENT_MODE", None)  # cloud mode refuses loopback addresses
            done = subprocess.run(
                [str(python), str(ROOT / "tests" / "support" / "pyairbyte_job.py"), str(job_file)],
                capture_output=True,
                text=True,
                timeout=800,
                cwd=tmp_path,
                env=env,
            )
        logs = "\n".join(
            p.read_text(errors="replace")
            for p in (tmp_path / "logs").rglob("destination-hubspot-lago*.log")
        )
        answers = [json.loads(x) for x in done.stdout.splitlines() if x.startswith('{"ok"')]
        assert answers, (
            f"no answer from the PyAirbyte job: {done.stdout[-2000:]} {done.stderr[-3000:]}"
        )
        assert answers[-1]["ok"], answers[-1]["error"][:3000] + "\n" + logs[-3000:]
        for secret in SECRETS:
            assert secret not in done.stdout + done.stderr + logs
        return answers[-1], logs, (dataset, emu.store)


def customers_in_hubspot(dataset, store) -> dict[str, dict]:
    found = {}
    for object_type in ("0-2", "0-1"):  # companies, contacts
        for record in store.objects(object_type):
            lago_id = record["properties"].get("lago_customer_id")
            if lago_id:
                found[lago_id] = record
    return found


@pytest.mark.parametrize("mode", ["direct", "cache"])
def test_pyairbyte_sync_puts_every_customer_in_hubspot(pyairbyte, tmp_path, mode):
    _, _, (dataset, store) = pyairbyte_sync(pyairbyte, mode, tmp_path)
    in_hubspot = customers_in_hubspot(dataset, store)
    assert {c["lago_id"] for c in dataset.customers} <= set(in_hubspot)


def test_pyairbyte_cache_path_logs_the_missing_field_warning(pyairbyte, tmp_path):
    _, logs, _ = pyairbyte_sync(pyairbyte, "cache", tmp_path)
    assert "the source or a tool in between dropped them" in logs
    for name in UNDECLARED_CUSTOMER_FIELDS:
        assert name in logs
