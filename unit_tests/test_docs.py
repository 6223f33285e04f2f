"""The user docs (README.md, docs/destination-hubspot-lago.md) agree with the code they describe.

Each test reads a markdown section by its heading and the tables in it, and compares them with
spec.json, the deployed model (``portal/model.py``), the required scopes, the package version
and the messages the code gives. A doc line that drifts fails here, naming the line to fix.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from destination_hubspot_lago import __version__
from destination_hubspot_lago.portal.model import MODEL, PropertySpec
from destination_hubspot_lago.portal.preflight import REQUIRED_SCOPES

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS_PAGE = ROOT / "docs" / "destination-hubspot-lago.md"
PACKAGE = ROOT / "destination_hubspot_lago"
SPEC = json.loads((ROOT / "spec.json").read_text())
CONFIG_PROPERTIES: dict[str, dict] = SPEC["connectionSpecification"]["properties"]

HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")
SEPARATOR_CELL = re.compile(r"^:?-+:?$")
NO_VALUE = {"", "—", "-", "–", "none"}


# -- reading markdown ---------------------------------------------------------------------


def _headings(lines: list[str]) -> list[tuple[int, int, str]]:
    """(line index, level, title) of every heading outside code fences."""
    found, in_fence = [], False
    for i, line in enumerate(lines):
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        match = None if in_fence else HEADING.match(line)
        if match:
            found.append((i, len(match.group(1)), match.group(2)))
    return found


def section(text: str, title: str) -> str:
    """The body under the heading ``title`` (exact, or followed by a space and more words),
    up to the next heading of the same or a higher level."""
    lines = text.splitlines()
    heads = _headings(lines)
    for n, (start, level, head) in enumerate(heads):
        if head == title or head.startswith(title + " "):
            end = next((i for i, lvl, _ in heads[n + 1 :] if lvl <= level), len(lines))
            return "\n".join(lines[start + 1 : end])
    raise AssertionError(f"no heading {title!r}")


def subsections(text: str) -> dict[str, str]:
    """Title -> body of each top-level heading inside ``text`` (a section body)."""
    lines = text.splitlines()
    heads = _headings(lines)
    if not heads:
        return {}
    top = min(level for _, level, _ in heads)
    return {head: section(text, head) for _, level, head in heads if level == top}


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """Every pipe table in ``text`` as (lower-cased header cells, data rows)."""
    found: list[tuple[list[str], list[list[str]]]] = []
    block: list[str] = []
    for line in [*text.splitlines(), ""]:
        if line.lstrip().startswith("|"):
            block.append(line)
            continue
        if len(block) >= 2 and all(SEPARATOR_CELL.match(c) for c in _cells(block[1])):
            header = [c.lower() for c in _cells(block[0])]
            found.append((header, [_cells(row) for row in block[2:]]))
        block = []
    return found


def table_with(text: str, *columns: str) -> tuple[dict[str, int], list[list[str]]]:
    """The first table whose header has all ``columns`` (a header cell may add words after
    the column's name, e.g. "type (field type)"): (column -> index, rows)."""

    def index(header: list[str], column: str) -> int | None:
        matches = [i for i, h in enumerate(header) if h == column or h.startswith(column + " ")]
        return matches[0] if matches else None

    for header, rows in tables(text):
        found = {c: index(header, c) for c in columns}
        if all(i is not None for i in found.values()):
            return {c: i for c, i in found.items() if i is not None}, rows
    raise AssertionError(f"no table with columns {columns}")


def code_names(cell: str) -> list[str]:
    """The `backticked` names in a cell."""
    return re.findall(r"`([^`]+)`", cell)


def plain(cell: str) -> str:
    return cell.replace("`", "").replace("*", "").strip()


def keyed_rows(rows: list[list[str]]) -> dict[str, list[str]]:
    """Rows by each backticked name of their first cell; a name listed twice fails."""
    by_name: dict[str, list[str]] = {}
    for row in rows:
        names = code_names(row[0])
        assert names, f"a row names nothing in backticks: {row[0]!r}"
        for name in names:
            assert name not in by_name, f"{name} is listed twice"
            by_name[name] = row
    return by_name


DOCS = {"README.md": README, "docs page": DOCS_PAGE}


def read(doc: str) -> str:
    path = DOCS[doc]
    assert path.is_file(), f"{path} is missing"
    return path.read_text(encoding="utf-8")


# -- (a, b) the configuration tables follow spec.json --------------------------------------


def _shown_default(spec_property: dict) -> str | None:
    if "default" not in spec_property:
        return None
    default = spec_property["default"]
    return json.dumps(default) if isinstance(default, bool) else str(default)


@pytest.mark.parametrize(
    ("doc", "heading"), [("README.md", "Configuration"), ("docs page", "Configuration reference")]
)
def test_config_table_lists_every_spec_field_with_its_default(doc, heading):
    body = section(read(doc), heading)
    columns, rows = table_with(body, "default")
    documented = keyed_rows(rows)

    assert sorted(documented) == sorted(CONFIG_PROPERTIES), (
        f"{doc} config table: missing {sorted(set(CONFIG_PROPERTIES) - set(documented))}, "
        f"not in spec.json {sorted(set(documented) - set(CONFIG_PROPERTIES))}"
    )
    for name, row in documented.items():
        shown = plain(row[columns["default"]])
        shown_or_none = None if shown.lower() in NO_VALUE else shown
        assert shown_or_none == _shown_default(CONFIG_PROPERTIES[name]), (
            f"{doc}: default of {name} is shown as {shown!r}, spec.json says "
            f"{CONFIG_PROPERTIES[name].get('default', '(none)')!r}"
        )
    if doc == "docs page":  # it also names each field as the Airbyte UI does
        titles, _ = table_with(body, "default", "title in the ui")
        for name, row in documented.items():
            shown = plain(row[titles["title in the ui"]])
            assert shown == CONFIG_PROPERTIES[name]["title"], f"{doc}: title of {name}: {shown!r}"


# -- (c) the model tables follow portal/model.py --------------------------------------------------


OBJECTS = (*MODEL.standard, *MODEL.custom)


def _expected_unique(objects: list, name: str) -> str:
    unique = [o.label for o in objects if _prop(o, name).unique]
    if len(unique) == len(objects):
        return "yes"
    return ", ".join(unique) + " only" if unique else ""


def _prop(obj, name: str) -> PropertySpec:
    return next(p for p in obj.properties if p.name == name)


@pytest.mark.parametrize(
    ("doc", "heading"),
    [("README.md", "The HubSpot model it deploys"), ("docs page", "Output schema")],
)
def test_model_tables_match_model_py(doc, heading):
    parts = subsections(section(read(doc), heading))
    covered: dict[str, list] = {}
    for obj in OBJECTS:
        titles = [t for t in parts if re.search(rf"\b{re.escape(obj.label)}\b", t)]
        assert len(titles) == 1, f"{doc}: one subsection should name {obj.label}, found {titles}"
        covered.setdefault(titles[0], []).append(obj)

    for title, objects in covered.items():
        names = [p.name for p in objects[0].properties]
        for other in objects[1:]:
            assert [p.name for p in other.properties] == names, f"{title}: objects differ"
        columns, rows = table_with(parts[title], "property", "label", "type", "unique")
        documented = keyed_rows(rows)
        assert sorted(documented) == sorted(names), (
            f"{doc} › {title}: missing {sorted(set(names) - set(documented))}, "
            f"not in portal/model.py {sorted(set(documented) - set(names))}"
        )
        for name, row in documented.items():
            spec = _prop(objects[0], name)
            type_cell = row[columns["type"]]
            assert code_names(type_cell)[:1] == [spec.type], f"{name}: type {type_cell!r}"
            assert f"({spec.field_type})" in type_cell, f"{name}: field type {type_cell!r}"
            assert row[columns["label"]] == spec.label, f"{name}: label {row[columns['label']]!r}"
            shown = plain(row[columns["unique"]]).lower()
            assert shown == _expected_unique(objects, name).lower(), f"{name}: unique {shown!r}"
            if spec.type == "enumeration":
                for value, _label in spec.options:
                    assert f"`{value}`" in " | ".join(row), f"{name}: option {value} missing"


# -- (d) the scope tables follow preflight.REQUIRED_SCOPES ---------------------------------


@pytest.mark.parametrize(
    ("doc", "heading"), [("README.md", "Requirements"), ("docs page", "Scopes")]
)
def test_scope_table_lists_exactly_the_required_scopes(doc, heading):
    _, rows = table_with(section(read(doc), heading), "scope")
    documented = keyed_rows(rows)
    assert sorted(documented) == sorted(REQUIRED_SCOPES), (
        f"{doc} scope table: missing {sorted(set(REQUIRED_SCOPES) - set(documented))}, "
        f"not required {sorted(set(documented) - set(REQUIRED_SCOPES))}"
    )


# -- (e) the changelog's top entry is this version ------------------------------------------


def test_docs_page_changelog_starts_with_the_package_version():
    columns, rows = table_with(section(read("docs page"), "Changelog"), "version", "date")
    assert rows, "the changelog has no entry"
    top = rows[0]
    assert plain(top[columns["version"]]) == __version__
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", plain(top[columns["date"]])), top


# -- (f) the two commands ---------------------------------------------------------------------


def test_readme_two_commands_are_demo_and_test():
    body = section(read("README.md"), "Two commands")
    block = re.search(r"^```[^\n]*\n(.*?)^```", body, re.S | re.M)
    assert block, "no code block under 'Two commands'"
    commands = [
        line.split("#", 1)[0].strip() for line in block.group(1).splitlines() if line.strip()
    ]
    assert commands == ["./scripts/demo", "./scripts/test"]
    for command in commands:
        script = ROOT / command
        assert script.is_file() and os.access(script, os.X_OK), f"{command} is not executable"


# -- (g) every message the troubleshooting table quotes is still in the code -----------------


def _package_text() -> str:
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(PACKAGE.rglob("*.py")))
    # Join implicitly concatenated literals split over lines: "… to " \n "HubSpot …".
    return re.sub(r"[\"']\s*\n\s*[rbfuRBFU]{0,2}[\"']", "", text)


def test_readme_troubleshooting_messages_exist_in_the_code():
    source = _package_text()
    _, rows = table_with(section(read("README.md"), "Troubleshooting"), "message")
    assert len(rows) >= 20, "the troubleshooting table lost rows"
    stale = []
    for row in rows:
        fragments = code_names(row[0])
        assert fragments, f"a troubleshooting row quotes no message: {row[0]!r}"
        for fragment in fragments:
            parts = [p.strip() for p in fragment.split("…") if p.strip()]
            stale += [f"{fragment!r} ({p!r})" for p in parts if p not in source]
    assert not stale, "README troubleshooting quotes text the code no longer says: " + "; ".join(
        stale
    )
