"""The command line and the files it names, turned into one clear line on any mistake.

``destination-hubspot-lago spec | check --config C | write --config C --catalog K``: an unknown
command, a missing argument, a missing or unreadable file, invalid JSON or a catalog that is not
one raise :class:`UsageProblem`, which the entry point reports as one ``config_error`` trace
on stdout, never a Python traceback.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, NoReturn

from airbyte_protocol_dataclasses.models import ConfiguredAirbyteCatalog

from .incoming import InputError, parse_catalog

PROGRAM = "destination-hubspot-lago"
USAGE = (
    f"{PROGRAM} spec | {PROGRAM} check --config CONFIG | "
    f"{PROGRAM} write --config CONFIG --catalog CATALOG"
)


class UsageProblem(ValueError):
    """The command line or a file it names cannot be used; the message says what to fix."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageProblem(_explain_argparse(message))


def _explain_argparse(message: str) -> str:
    if "invalid choice" in message:
        given = message.split("invalid choice:", 1)[1].split("(", 1)[0].strip()
        return f"Unknown command {given}: use one of spec, check, write. Usage: {USAGE}"
    if "the following arguments are required" in message:
        missing = message.split(":", 1)[1].strip()
        return f"Missing argument {missing}. Usage: {USAGE}"
    if "unrecognized arguments" in message:
        extra = message.split(":", 1)[1].strip()
        return f"Unknown argument {extra}. Usage: {USAGE}"
    if "expected one argument" in message:
        return (
            f"{message.split(':', 1)[0].replace('argument ', '')} needs a file path. Usage: {USAGE}"
        )
    return f"Invalid command line ({message}). Usage: {USAGE}"


def parse_args(args: list[str]) -> argparse.Namespace:
    """The CDK's commands and arguments; mistakes raise :class:`UsageProblem`."""
    parser = _Parser(prog=PROGRAM)
    commands = parser.add_subparsers(title="commands", dest="command")
    commands.add_parser("spec", help="print the configuration specification")
    check = commands.add_parser("check", help="check the config and deploy the HubSpot model")
    check.add_argument("--config", required=True, help="path to the JSON configuration file")
    write = commands.add_parser("write", help="write Airbyte messages from stdin to HubSpot")
    write.add_argument("--config", required=True, help="path to the JSON configuration file")
    write.add_argument("--catalog", required=True, help="path to the configured catalog file")
    parsed = parser.parse_args(args)
    if not parsed.command:
        raise UsageProblem(f"No command given. Usage: {USAGE}")
    return parsed


def _read_json(path: str, what: str) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageProblem(f"The {what} file {path} does not exist: check the path.") from None
    except IsADirectoryError:
        raise UsageProblem(f"The {what} file {path} is a directory, not a JSON file.") from None
    except PermissionError:
        raise UsageProblem(
            f"The {what} file {path} cannot be read: check its permissions."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageProblem(
            f"The {what} file {path} cannot be read ({type(exc).__name__})."
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        # The position only, never the text: a config holds secrets.
        raise UsageProblem(
            f"The {what} file {path} is not valid JSON (line {exc.lineno}, column {exc.colno}): "
            f"{exc.msg}."
        ) from None


def read_config(path: str) -> dict[str, Any]:
    config = _read_json(path, "config")
    if not isinstance(config, dict):
        raise UsageProblem(
            f"The config file {path} must hold a JSON object such as "
            '{"credentials": {...}}, not a JSON ' + type(config).__name__ + "."
        )
    return config


def read_catalog(path: str) -> ConfiguredAirbyteCatalog:
    raw = _read_json(path, "catalog")
    if not isinstance(raw, dict) or not isinstance(raw.get("streams"), list):
        raise UsageProblem(
            f"The catalog file {path} must hold a configured catalog: a JSON object with a "
            '"streams" list, as Airbyte passes to write.'
        )
    try:
        return parse_catalog(raw)
    except InputError as problem:
        raise UsageProblem(
            f"The catalog file {path} is not a configured catalog ({problem}): each "
            "stream needs stream.name, stream.json_schema, stream.supported_sync_modes, "
            "sync_mode and destination_sync_mode."
        ) from None
