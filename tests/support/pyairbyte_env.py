"""The separate venv in which PyAirbyte runs (`.venv-pyairbyte/`), created on first use.

PyAirbyte pins its own airbyte-cdk and many heavy libraries, so it does not share the project's
venv: the PyAirbyte test runs it in this one and runs the destination as a local executable
from `.venv/`. ``./scripts/test`` creates it before pytest (``python -m
tests.support.pyairbyte_env``); the test creates it too when it is missing and skips, with
the reason, only when PyAirbyte cannot be installed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-pyairbyte"
PYTHON = VENV / "bin" / "python"
REQUIREMENT = "airbyte>=0.30,<1"
MARKER = VENV / ".installed"


def ensure(timeout: float = 1500) -> tuple[Path | None, str]:
    """(interpreter, "") when PyAirbyte is importable there, else (None, why not)."""
    if MARKER.is_file() and PYTHON.is_file():
        return PYTHON, ""
    try:
        if not PYTHON.is_file():
            subprocess.run(
                [sys.executable, "-m", "venv", str(VENV)],
                check=True,
                capture_output=True,
                timeout=120,
            )
        done = subprocess.run(
            [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             REQUIREMENT],
            capture_output=True,
            text=True,
            timeout=timeout,
        )  # fmt: skip
        if done.returncode != 0:
            return None, f"pip install {REQUIREMENT} failed: {done.stderr.strip()[-500:]}"
        probe = subprocess.run(
            [str(PYTHON), "-c", "import airbyte"], capture_output=True, text=True, timeout=300
        )
        if probe.returncode != 0:
            return None, f"PyAirbyte does not import: {probe.stderr.strip()[-500:]}"
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"could not create {VENV.name}: {exc}"
    MARKER.write_text(REQUIREMENT + "\n")
    return PYTHON, ""


if __name__ == "__main__":
    python, why = ensure()
    print(f"PyAirbyte venv: {python}" if python else f"PyAirbyte venv not available: {why}")
