"""The product spec the code cites is in the repository, and every cited section exists.

The package, the tests, the scripts and the benchmarks cite the spec as ``docs/product.md §N``
(or ``§N.M``). Each such citation must name a numbered heading of ``docs/product.md``
(``## 6. Billing values``, ``### 1.0 OAuth scopes``), and the spec is never cited by its bare
file name or by another path: a reader must be able to follow every citation to its section.
The spec's property tables must also be the model ``portal/model.py`` deploys.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from destination_hubspot_lago.portal.model import MODEL

ROOT = Path(__file__).resolve().parents[1]
CITED_PATH = "docs/product.md"  # how the code cites the spec, and where it is
SPEC = ROOT / CITED_PATH
SCANNED_FOLDERS = (
    "destination_hubspot_lago",
    "unit_tests",
    "integration_tests",
    "tests",
    "scripts",
)
SCANNED_GLOBS = ("benchmarks/*.py",)

SECTION_NUMBER = r"\d+(?:\.\d+)*"
# A citation, also when a comment wraps it onto the next line, with any further sections
# listed after it ("docs/product.md §6, §8").
CITATION = re.compile(
    r"docs/product\.md(?:\s|#|//)*§\s*(" + SECTION_NUMBER + r")"
    r"((?:\s*(?:,|/|and|or|&|–|-)\s*§\s*" + SECTION_NUMBER + r")*)"
)
LISTED = re.compile(r"§\s*(" + SECTION_NUMBER + ")")
# Any mention of the spec's file name, in any case; each must be the repository path.
FILE_NAME = re.compile("product" + r"\.md", re.IGNORECASE)
PATH_CHARACTER = re.compile(r"[\w./\\-]")

HEADING = re.compile(r"^#{1,6}\s+(" + SECTION_NUMBER + r")\.?\s+\S")
FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True)
class Place:
    path: str  # relative to the repository root
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


def scanned_files() -> Iterator[tuple[str, str]]:
    """(relative path, text) of every text file the citations may be in."""
    paths: set[Path] = set()
    for folder in SCANNED_FOLDERS:
        paths.update(p for p in (ROOT / folder).rglob("*") if p.is_file())
    for pattern in SCANNED_GLOBS:
        paths.update(p for p in ROOT.glob(pattern) if p.is_file())
    for path in sorted(paths):
        if "__pycache__" in path.parts:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # not text: nothing can be cited in it
        yield path.relative_to(ROOT).as_posix(), text


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def citations(path: str, text: str) -> Iterator[tuple[Place, str]]:
    """(where, section number) of each section of the spec that ``text`` cites."""
    for match in CITATION.finditer(text):
        place = Place(path, _line_of(text, match.start()))
        yield place, match.group(1)
        for listed in LISTED.finditer(match.group(2)):
            yield place, listed.group(1)


def stray_mentions(path: str, text: str) -> Iterator[tuple[Place, str]]:
    """(where, what) of each mention of the spec's file name that is not ``docs/product.md``."""
    for match in FILE_NAME.finditer(text):
        start = match.start() - len("docs/")
        cited = text[start : match.end()] == CITED_PATH
        after_path = start > 0 and PATH_CHARACTER.match(text[start - 1]) is not None
        if cited and not after_path:
            continue
        shown = text[max(0, match.start() - 30) : match.end()].splitlines()[-1].strip()
        yield Place(path, _line_of(text, match.start())), shown


def spec_sections(text: str) -> list[str]:
    """The section numbers of the spec's numbered headings, in order (code fences skipped)."""
    found: list[str] = []
    in_fence = False
    for line in text.splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        match = None if in_fence else HEADING.match(line)
        if match:
            found.append(match.group(1))
    return found


def _spec_text() -> str:
    assert SPEC.is_file(), "docs/product.md is missing: the code cites its sections"
    return SPEC.read_text(encoding="utf-8")


# -- the scanner itself ------------------------------------------------------------------------


def test_the_scanner_reads_citations_as_the_code_writes_them() -> None:
    eleven = "1" + "1"  # built, so that this file does not cite a section that does not exist
    text = (
        "x = 1  # docs/product.md §6: billing\n"
        '"""(docs/product.md §1.0), then docs/product.md §6\'s streams."""\n'
        "# see docs/product.md\n"
        "# §8 on the next line; docs/product.md §2, §" + eleven + " and §7.\n"
    )
    assert [(p.line, n) for p, n in citations("f.py", text)] == [
        (1, "6"),
        (2, "1.0"),
        (2, "6"),
        (3, "8"),
        (4, "2"),
        (4, eleven),
        (4, "7"),
    ]
    bare = "PRODUCT" + ".md"
    mentions = (
        "docs/product.md ok; " + bare + " bare;\n../shared/docs/" + bare + "; docs/" + bare + ";\n"
        "other/docs/product" + ".md (another file's path); `docs/product.md` ok\n"
    )
    assert [p.line for p, _ in stray_mentions("f.py", mentions)] == [1, 2, 2, 3]
    assert spec_sections("## 6. Billing values\n```\n## 7. in a fence\n```\n### 1.0 Scopes\n") == [
        "6",
        "1.0",
    ]


# -- the promises ------------------------------------------------------------------------------


def test_every_cited_section_is_a_heading_of_the_spec() -> None:
    sections = spec_sections(_spec_text())
    found = [c for path, text in scanned_files() for c in citations(path, text)]
    assert found, "no citation of docs/product.md found: the scanner or the folders are wrong"
    missing = [
        f"{place}: cites docs/product.md §{number}, but docs/product.md has no heading "
        f"'§{number}' (it has: {', '.join(sections)})"
        for place, number in found
        if number not in sections
    ]
    assert not missing, "\n".join(missing)


def test_the_spec_is_cited_by_its_repository_path_only() -> None:
    stray = [
        f"{place}: '{shown}' names the product spec without its path: cite it as {CITED_PATH} §N"
        for path, text in scanned_files()
        for place, shown in stray_mentions(path, text)
    ]
    assert not stray, "\n".join(stray)


def test_the_spec_has_its_ten_sections_once_each() -> None:
    sections = spec_sections(_spec_text())
    expected = [str(n) for n in range(1, 11)] + ["1.0", "1.1", "1.2", "1.3"]
    assert not [s for s in expected if s not in sections], f"missing sections in {sections}"
    twice = sorted({s for s in sections if sections.count(s) > 1})
    assert not twice, f"docs/product.md numbers these sections twice: {twice}"


# -- the spec's property tables are the deployed model (docs/product.md §1, §6) ---------------

TABLE_HEADER = ["property", "label", "type", "field type"]


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def spec_properties(text: str) -> dict[tuple[str, str, str, str], int]:
    """(name, label, type, field type) -> line, from every table headed like TABLE_HEADER."""
    rows: dict[tuple[str, str, str, str], int] = {}
    in_table = False
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.lstrip().startswith("|"):
            in_table = False
            continue
        cells = _cells(line)
        if [c.lower() for c in cells[:4]] == TABLE_HEADER:
            in_table = True
        elif in_table and not set(cells[0]) <= set("-: "):
            name, label, kind, field_type = (c.strip("`") for c in cells[:4])
            rows.setdefault((name, label, kind, field_type), number)
    return rows


def test_the_spec_lists_every_deployed_property_as_the_model_declares_it() -> None:
    declared = [o.properties for o in MODEL.standard] + [o.properties for o in MODEL.custom]
    in_model = {(p.name, p.label, p.type, p.field_type) for props in declared for p in props}
    in_spec = spec_properties(_spec_text())
    problems = [
        f"docs/product.md has no table row for {name} ({label}, {kind}, {field_type}) "
        "as portal/model.py declares it"
        for name, label, kind, field_type in sorted(in_model - set(in_spec))
    ] + [
        f"docs/product.md:{line}: {row[0]} ({', '.join(row[1:])}) is not in portal/model.py"
        for row, line in sorted(in_spec.items())
        if row not in in_model
    ]
    assert not problems, "\n".join(problems)
