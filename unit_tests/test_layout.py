"""The package's imports run one way: each folder (and each module at the root) imports only
from the layers below it, never from one above, and nothing imports in a circle.

ARCHITECTURE.md draws the same layers. A new module goes in the folder of its concern; an
import this test refuses means the module is in the wrong folder, or the code it wants is.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "destination_hubspot_lago"
NAME = PACKAGE.name

# Bottom first. A unit is a folder of the package or a module at its root.
LAYERS: list[set[str]] = [
    {"_version"},
    {"airbyte"},  # the protocol without the CDK, and the secret filter
    {"hubspot"},  # HTTP that knows HubSpot, not Lago
    {"config"},  # the typed config (credentials make the hubspot auth)
    {"portal", "records"},  # the model and its deployment; the pure mapping
    {"changes"},  # the change-tracking ledger (docs/product.md §10), read and kept
    {"sync"},  # the message loop, sinks, associations, report
    {"billing", "terminations"},  # the sync's parts (docs/product.md §6, §8)
    {"connector"},  # spec, check, write, and the composition root
    {"run"},  # the console script
    {"destination"},  # the CDK adapter (its run() is the console script's)
    {"__init__"},  # the package: its version, and the CDK adapter on demand
]


def unit_of(module: str) -> str:
    """``sync.loop`` -> ``sync``; ``connector`` -> ``connector``; the package -> ``__init__``."""
    return module.split(".")[0] if module else "__init__"


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports(module: str, path: Path) -> set[str]:
    """The package's modules that ``module`` imports, anywhere in it (functions included)."""
    is_package = path.name == "__init__.py"
    here = module.split(".") if module else []
    base = here if is_package else here[:-1]
    known = modules()
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                start = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                target = ".".join(start + (node.module.split(".") if node.module else []))
            elif node.module and (node.module == NAME or node.module.startswith(NAME + ".")):
                target = node.module[len(NAME) + 1 :]
            else:
                continue
            for alias in node.names:  # ``from . import values`` imports a module
                sub = f"{target}.{alias.name}" if target else alias.name
                targets.append(sub if sub in known else target)
        elif isinstance(node, ast.Import):
            targets = [a.name[len(NAME) + 1 :] for a in node.names if a.name.startswith(NAME + ".")]
        out.update(t for t in targets if t != module)
    return out


def layer_of(unit: str) -> int:
    for index, layer in enumerate(LAYERS):
        if unit in layer:
            return index
    raise AssertionError(
        f"{unit} is in no layer of unit_tests/test_layout.py: put it in the folder of its "
        "concern, or add it to LAYERS (and to ARCHITECTURE.md)"
    )


def test_every_folder_and_root_module_has_a_layer():
    for module in modules():
        layer_of(unit_of(module))


def test_nothing_imports_a_layer_above_it_nor_a_neighbour_of_its_own_layer():
    wrong = []
    for module, path in modules().items():
        unit = unit_of(module)
        for target in sorted(imports(module, path)):
            other = unit_of(target)
            if other == unit:
                continue
            if layer_of(other) >= layer_of(unit):
                wrong.append(f"{module or NAME} imports {target}")
    assert not wrong, "imports that run up or sideways:\n" + "\n".join(wrong)


def test_no_module_imports_in_a_circle():
    graph = {module: imports(module, path) for module, path in modules().items()}
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if target not in graph:
                continue
            if state.get(target) == 1:
                return path[path.index(target) :] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state:
            circle = visit(module)
            assert circle is None, "import circle: " + " -> ".join(m or NAME for m in circle)
