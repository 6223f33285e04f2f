"""The command line never imports the Airbyte CDK: its import alone costs 1-2.5 s of CPU per
sync (issue 9). Every command runs as Airbyte runs it, with Python's own import log
(``PYTHONPROFILEIMPORTTIME``, the ``-X importtime`` switch) read from stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.harness import (
    ROOT,
    Run,
    make_emulator,
    oauth_config,
    private_app_config,
    record,
    run_connector,
    stream_state,
)
from tests.support.scenario import linked_sample

IMPORT_LOG = {"PYTHONPROFILEIMPORTTIME": "1"}


def imported(run: Run) -> set[str]:
    """Module names from the import log (``import time: self | cumulative | name``)."""
    names = set()
    for line in run.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    assert "destination_hubspot_lago.connector" in names, run.stderr[-2000:]
    return names


def assert_no_cdk(run: Run) -> None:
    cdk = sorted(name for name in imported(run) if name.split(".")[0] == "airbyte_cdk")
    assert not cdk, f"the command line imported the CDK: {cdk[:5]}"


def test_spec_check_and_write_run_without_the_cdk():
    with make_emulator() as emu:
        config = private_app_config(emu.url)
        dataset = linked_sample(emu.store)
        lines = [record("customers", c) for c in dataset.customers]
        lines += [record("invoices", i) for i in dataset.invoices]
        lines += ["{not json", stream_state("invoices", 1)]
        spec = run_connector("spec", env=IMPORT_LOG)
        check = run_connector("check", config, env=IMPORT_LOG)
        write = run_connector("write", config, lines, env=IMPORT_LOG)
        failing = run_connector("write", private_app_config(emu.url, token="pat-na1-x"), [])
    assert spec.of_type("SPEC")
    assert check.status["status"] == "SUCCEEDED"
    assert write.states and write.states[0]["id"] == 1
    # an unreadable line is reported, not fatal (docs/product.md §7); the bad token fails it
    assert not write.errors and any("unreadable" in log for log in write.logs)
    assert failing.returncode == 1 and failing.errors
    for run in (spec, check, write):
        assert_no_cdk(run)


def test_oauth_refresh_and_rotation_run_without_the_cdk():
    with make_emulator(rotate_refresh_tokens=True) as emu:
        run = run_connector("write", oauth_config(emu.url), [], env=IMPORT_LOG)
    assert run.returncode == 0, run.stdout[-3000:]
    assert run.of_type("CONTROL")  # the rotated token went to the platform
    assert_no_cdk(run)


def test_the_console_script_runs_without_the_cdk():
    script = Path(sys.executable).with_name("destination-hubspot-lago")
    with make_emulator() as emu, tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp, "config.json")
        config.write_text(json.dumps(private_app_config(emu.url)))
        proc = subprocess.run(
            [str(script), "check", "--config", str(config)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, **IMPORT_LOG},
            timeout=120,
        )
    run = Run(proc.returncode, proc.stdout, proc.stderr)
    assert run.status["status"] == "SUCCEEDED"
    assert_no_cdk(run)
