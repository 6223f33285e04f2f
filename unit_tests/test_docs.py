"""The user docs (README.md, docs/destination-hubspot-lago.md) agree with the code they describe.

Each test reads a markdown section by its heading and the tables in it, and compares them with
spec.json, the deployed model (``portal/model.py``), the required scopes, the package version,
the messages the code gives and the test command's configuration. A doc line that drifts fails
here, naming the line to fix. The README is the first screen (what it is, the two commands, a
real connection); the docs page holds the rest.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import tomllib
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


@pytest.mark.parametrize(("doc", "heading"), [("docs page", "Configuration reference")])
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


@pytest.mark.parametrize(("doc", "heading"), [("docs page", "Output schema")])
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


@pytest.mark.parametrize(("doc", "heading"), [("docs page", "Scopes")])
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


def test_troubleshooting_messages_exist_in_the_code():
    source = _package_text()
    _, rows = table_with(section(read("docs page"), "Every message, and what to do"), "message")
    assert len(rows) >= 20, "the troubleshooting table lost rows"
    stale = []
    for row in rows:
        fragments = code_names(row[0])
        assert fragments, f"a troubleshooting row quotes no message: {row[0]!r}"
        for fragment in fragments:
            parts = [p.strip() for p in fragment.split("…") if p.strip()]
            stale += [f"{fragment!r} ({p!r})" for p in parts if p not in source]
    assert not stale, "troubleshooting quotes text the code no longer says: " + "; ".join(stale)


# -- (h) the README gets to the point --------------------------------------------------------

FIRST_SCREEN = 60  # lines: what a newcomer sees before scrolling far


def test_readme_first_screen_has_what_it_is_the_two_commands_and_a_real_connection():
    lines = read("README.md").splitlines()
    heads = {title: i for i, _, title in _headings(lines)}
    for title in ("Two commands", "Connect a real HubSpot"):
        assert title in heads and heads[title] < FIRST_SCREEN, (title, heads)
    connect = " ".join(section(read("README.md"), "Connect a real HubSpot").split())
    assert "Service Key" in connect and "Development › Keys › Service Keys" in connect
    assert "docs/destination-hubspot-lago.md" in connect  # the rest is one link away
    assert len(read("README.md")) < 8000, "the README grew again: move details to the docs page"


def test_readme_says_where_the_console_script_is():
    (script,) = PYPROJECT["project"]["scripts"]
    scripts = section(read("README.md"), "Two commands")
    venv = (ROOT / "scripts" / "_venv.sh").read_text()
    assert "-m venv .venv" in venv and "pip install --quiet --disable-pip-version-check -e" in venv
    assert f"`.venv/bin/{script}`" in scripts


def _deselected_markers() -> list[str]:
    """The markers the pytest configuration leaves out: ``-m 'not a and not b'``."""
    args = shlex.split(PYPROJECT["tool"]["pytest"]["ini_options"]["addopts"])
    expression = args[args.index("-m") + 1]
    return re.findall(r"not (\w+)", expression)


def test_readme_says_what_the_test_command_leaves_out_and_how_to_run_it():
    addopts = shlex.split(PYPROJECT["tool"]["pytest"]["ini_options"]["addopts"])
    report = [a[2:] for a in addopts if a.startswith("-r")]
    assert report and "s" in report[0] and "f" in report[0], "skip reasons are not printed"
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("./scripts/test")
    assert 'pytest "$@"' in (ROOT / "scripts" / "test").read_text()
    markers = _deselected_markers()
    assert sorted(markers) == ["image_tests", "live"], markers
    body = section(read("README.md"), "Two commands")
    for marker in markers:
        assert re.search(rf"`[^`]*\./scripts/test -m {marker}`", body), f"how to run {marker}"
    assert "skipped" in body


def test_readme_describes_the_demo_with_the_sample_s_numbers():
    from tests.support.fake_lago import sample_dataset

    sample = sample_dataset()
    body = " ".join(section(read("README.md"), "What the demo runs").split())
    counts = (
        f"{len(sample.customers)} customers, {len(sample.subscriptions)} subscriptions, "
        f"{len(sample.invoices)} invoices"
    )
    assert counts in body, counts
    assert "./scripts/demo" in section(read("README.md"), "Two commands")


# -- (i) links resolve, and the docs' structure holds ----------------------------------------

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LINKED_DOCS = [README, DOCS_PAGE, ROOT / "ARCHITECTURE.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
LIST_ITEM = re.compile(r"^\s*([-*+]|\d+\.)\s")


def slug(title: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*]", "", title).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    for _, _, title in _headings(path.read_text(encoding="utf-8").splitlines()):
        base, n = slug(title), 0
        while (name := base if n == 0 else f"{base}-{n}") in found:
            n += 1
        found.add(name)
    return found


@pytest.mark.parametrize("path", sorted(set(LINKED_DOCS)), ids=lambda p: p.name)
def test_every_relative_link_and_anchor_resolves(path):
    broken = []
    for target in LINK.findall(path.read_text(encoding="utf-8")):
        if re.match(r"^[a-z]+:", target):
            continue  # an absolute address
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        missing_anchor = bool(anchor) and linked.suffix == ".md"
        if not linked.exists() or (missing_anchor and anchor not in anchors(linked)):
            broken.append(target)
    assert not broken, f"{path.name}: links to nothing: {broken}"


def list_glued_to_text(text: str) -> list[str]:
    """List items that start right after a line of running text (no blank line between, the
    text not ending in ':'): how a heading dropped into the middle of a list shows, the rest
    of the list running on after the heading's paragraph."""
    glued, previous, in_fence = [], "", False
    for line in text.splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
        if in_fence or FENCE.match(line):
            previous = ""
            continue
        running_text = (
            previous.strip()
            and not LIST_ITEM.match(previous)
            and not previous.startswith((" ", "\t", "|", "#", ">"))
            and not previous.rstrip().endswith(":")
        )
        if LIST_ITEM.match(line) and not line.startswith((" ", "\t")) and running_text:
            glued.append(f"{previous.strip()[-40:]!r} / {line.strip()[:40]!r}")
        previous = line
    return glued


def heading_inside_a_list(text: str) -> list[str]:
    """Headings with list items of one list on both sides: the last line before the heading
    is a list item (or its continuation) and the heading's own section runs on with list
    items glued to its text."""
    lines = text.splitlines()
    heads = _headings(lines)
    found = []
    for n, (i, _level, title) in enumerate(heads):
        before = next((line for line in reversed(lines[:i]) if line.strip()), "")
        in_list = bool(LIST_ITEM.match(before)) or before.startswith("  ")
        end = heads[n + 1][0] if n + 1 < len(heads) else len(lines)
        if in_list and list_glued_to_text("\n".join(lines[i + 1 : end])):
            found.append(title)
    return found


@pytest.mark.parametrize("path", sorted(set(LINKED_DOCS)), ids=lambda p: p.name)
def test_no_heading_sits_inside_a_list(path):
    text = path.read_text(encoding="utf-8")
    assert not heading_inside_a_list(text), f"{path.name}: a heading splits a list"
    assert not list_glued_to_text(text), f"{path.name}: a list runs on from text"


def test_the_structure_check_catches_a_heading_inside_a_list():
    broken = (
        "## Limitations\n\n- one\n- two\n\n### Terminated subscriptions\n\n"
        "A paragraph.\n- three, which belongs to Limitations\n"
    )
    assert heading_inside_a_list(broken) == ["Terminated subscriptions"]
    fine = "## A\n\n- one\n\n## B\n\nIntro:\n\n- two\n"
    assert heading_inside_a_list(fine) == [] and list_glued_to_text(fine) == []


def test_docs_page_limitations_are_one_list_under_their_heading():
    body = section(read("docs page"), "Limitations")
    assert not _headings(body.splitlines()), "a heading inside Limitations"
    items = [line for line in body.splitlines() if LIST_ITEM.match(line)]
    assert len(items) >= 6 and any("Plans, fees and wallets" in line for line in items)


# -- (j) Service Keys, wherever a credential is named ----------------------------------------


def _spec_texts() -> str:
    return json.dumps(SPEC, ensure_ascii=False)


@pytest.mark.parametrize("doc", ["README.md", "docs page"])
def test_docs_never_advise_a_private_app_which_can_no_longer_be_created(doc):
    text = read(doc)
    if doc == "docs page":  # the changelog tells what 0.1.0 had, before Service Keys
        text = text.replace(section(text, "Changelog"), "")
    assert not re.search(r"use a (legacy )?Private App", text, re.I)
    assert not re.search(r"\bPrivate App and OAuth\b", text)


def test_features_table_names_service_keys():
    columns, rows = table_with(section(read("docs page"), "Features"), "feature")
    names = [plain(row[columns["feature"]]) for row in rows]
    assert "Service Key and OAuth" in names, names


def test_the_service_key_help_names_where_to_create_one_and_its_scopes():
    from destination_hubspot_lago.config import ConfigError, DestinationConfig

    options = SPEC["connectionSpecification"]["properties"]["credentials"]["oneOf"]
    token = options[0]["properties"]["access_token"]["description"]
    assert "Development > Keys > Service Keys" in token
    assert all(scope in token for scope in REQUIRED_SCOPES if scope != "oauth")
    with pytest.raises(ConfigError) as missing:
        DestinationConfig.parse({"credentials": {"credentials_title": "Private App Credentials"}})
    assert "Development > Keys > Service Keys" in str(missing.value)
    assert "documentationUrl" not in SPEC or SPEC["documentationUrl"].startswith("https://")
    assert "destination-hubspot-lago/destination-hubspot-lago" not in _spec_texts()
