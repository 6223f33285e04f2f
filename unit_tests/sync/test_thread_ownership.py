"""The pipeline's state has one owner (the message loop): no locks are needed outside the
HubSpot client, whose pacer, token and counters are the only things threads share, and a
job's ``work`` (run on a worker) changes nothing it did not create itself.

Static checks over the source of every module of the package (no module named here, so they
hold however the package is laid out)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "destination_hubspot_lago"


def test_no_lock_or_semaphore_outside_the_hubspot_client():
    offenders = [
        f"{path.relative_to(PACKAGE)}:{n}"
        for path in PACKAGE.rglob("*.py")
        if "hubspot" not in path.relative_to(PACKAGE).parts[:-1]
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\b(Lock|RLock|Semaphore|BoundedSemaphore|Condition)\b", line)
    ]
    assert offenders == []


# -- a worker's closure mutates nothing it captured ---------------------------------------

MUTATORS = frozenset(
    ["append", "add", "update", "pop", "clear", "setdefault", "extend", "discard", "remove"]
    + ["insert"]
)
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
Closure = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _scope(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> ast.AST:
    """The function (or module) whose body ``node`` is in."""
    node = parents[node]
    while not isinstance(node, (*FUNCTIONS, ast.Module)):
        node = parents[node]
    return node


def _work_argument(call: ast.Call) -> ast.expr | None:
    """A job's ``work`` (``Job(keys, work, fold)``), or the function an executor's ``submit``
    runs; None for any other call."""
    func = call.func
    name = ""
    if isinstance(func, ast.Name):
        name = func.id
    elif isinstance(func, ast.Attribute):
        name = func.attr
    if name == "Job":
        if len(call.args) >= 2:
            return call.args[1]
        return next((k.value for k in call.keywords if k.arg == "work"), None)
    if name == "submit" and isinstance(func, ast.Attribute):
        if call.args:
            return call.args[0]
        return next((k.value for k in call.keywords if k.arg == "fn"), None)
    return None


def _resolve(work: ast.expr, call: ast.Call, parents: dict[ast.AST, ast.AST]) -> Closure | None:
    """The lambda or nested function ``work`` is; None for a module-level function, a method
    or anything else that is not a closure."""
    if isinstance(work, ast.Lambda):
        return work
    if not isinstance(work, ast.Name):
        return None
    scope = _scope(call, parents)
    while isinstance(scope, FUNCTIONS):  # the enclosing functions, innermost first
        for node in ast.walk(scope):
            if node is scope or _scope(node, parents) is not scope:
                continue
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == work.id:
                return node
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Lambda)
                and any(isinstance(t, ast.Name) and t.id == work.id for t in node.targets)
            ):
                return node.value
        scope = _scope(scope, parents)
    return None


def _locals(closure: Closure) -> set[str]:
    """Names the closure binds itself: parameters (its own and its inner functions'), names
    it assigns, imports, defines or catches; not those it declares nonlocal or global."""
    names: set[str] = set()
    shared: set[str] = set()
    for node in ast.walk(closure):
        if isinstance(node, FUNCTIONS):
            args = node.args
            every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
            names.update(a.arg for a in every if a is not None)
            if node is not closure and not isinstance(node, ast.Lambda):
                names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.Nonlocal, ast.Global)):
            shared.update(node.names)
    return names - shared


def _root(node: ast.expr) -> str | None:
    """The name an attribute or subscript chain starts from (``self`` in ``self._m[k].x``)."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _targets(node: ast.AST) -> Iterator[ast.expr]:
    if isinstance(node, ast.Assign):
        pending = list(node.targets)
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        pending = [node.target]
    elif isinstance(node, ast.Delete):
        pending = list(node.targets)
    else:
        return
    while pending:
        target = pending.pop()
        if isinstance(target, (ast.Tuple, ast.List)):
            pending.extend(target.elts)
        elif isinstance(target, ast.Starred):
            pending.append(target.value)
        else:
            yield target


def mutations(closure: Closure) -> list[ast.AST]:
    """What in ``closure`` changes state it captured: an assignment to (or deletion of) an
    attribute or item of a captured name, a mutating method called on one, a nonlocal or
    global declaration."""
    own = _locals(closure)
    found: list[ast.AST] = []
    for node in ast.walk(closure):
        if isinstance(node, (ast.Nonlocal, ast.Global)):
            found.append(node)
        for target in _targets(node):
            if isinstance(target, (ast.Attribute, ast.Subscript)):
                root = _root(target)
                if root is not None and root not in own:
                    found.append(node)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in MUTATORS
        ):
            root = _root(node.func.value)
            if root is not None and root not in own:
                found.append(node)
    return found


def work_closures(tree: ast.AST) -> list[Closure]:
    parents = _parents(tree)
    closures = []
    for call in ast.walk(tree):
        if isinstance(call, ast.Call):
            work = _work_argument(call)
            closure = _resolve(work, call, parents) if work is not None else None
            if closure is not None and closure not in closures:
                closures.append(closure)
    return closures


def offending_lines(source: str, where: str) -> list[str]:
    return [
        f"{where}:{node.lineno}: {ast.unparse(node).splitlines()[0]}"
        for closure in work_closures(ast.parse(source))
        for node in mutations(closure)
    ]


def test_no_worker_closure_mutates_state_it_captured():
    """A job's ``work`` runs on a worker thread while the loop owns all sync state: a lambda
    or nested function passed as ``Job(keys, work, fold)``'s work or to an executor's
    ``submit`` returns its outcome and leaves the loop's objects alone (``fold`` may change
    them, on the loop)."""
    closures = []
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text()
        closures += work_closures(ast.parse(source))
        offenders += offending_lines(source, str(path.relative_to(PACKAGE)))
    # The check sees the package's jobs: both kinds of closure are there to check.
    assert any(isinstance(c, ast.Lambda) for c in closures)
    assert any(isinstance(c, ast.FunctionDef) for c in closures)
    assert offenders == []


CAUGHT_STATEMENTS = {
    "attribute of self": "self.count = 1",
    "item of an attribute": "self._m[key] = 1",
    "augmented attribute": "self.report.calls += 1",
    "item of a captured name": "captured[key] = 1",
    "deleted item": "del captured[key]",
    "unpacked into an attribute": "first, self.last = 1, 2",
    "nonlocal": "nonlocal captured",
}
CAUGHT_CALLS = {
    "captured append": "captured.append(1)",
    "attribute's add": "self.seen.add(1)",
    "attribute's item's update": "self.by_key[key].update({})",
    "method of self": "self.clear()",
}


@pytest.mark.parametrize(
    "line",
    [*CAUGHT_STATEMENTS.values(), *CAUGHT_CALLS.values()],
    ids=[*CAUGHT_STATEMENTS, *CAUGHT_CALLS],
)
def test_the_check_catches_a_nested_work_function_that_mutates_what_it_captured(line):
    source = f"""
class Sink:
    def job(self, key, captured):
        def work():
            {line}
            return 1
        return Job([], work, self.fold)
"""
    assert len(offending_lines(source, "m.py")) == 1


@pytest.mark.parametrize("call", CAUGHT_CALLS.values(), ids=CAUGHT_CALLS.keys())
def test_the_check_catches_a_work_lambda_or_submitted_one_that_mutates_what_it_captured(call):
    job = f"""
class Sink:
    def job(self, key, captured):
        return Job([], lambda: {call}, self.fold)
"""
    submitted = f"""
def run(pool, captured):
    return pool.submit(lambda: {call})
"""
    assert len(offending_lines(job, "m.py")) == 1
    assert len(offending_lines(submitted, "m.py")) == 1


def test_a_work_closure_may_change_its_own_locals_and_fold_anything():
    source = """
def _module_level(client):
    STATE.append(1)  # not a closure: another check's business

class Sink:
    def job(self, keys, writer):
        def work():
            found = {}
            rows = []
            for key in keys:
                found[key] = writer.read(key)
                rows.append(key)
            batch = Batch()
            batch.items = rows
            return found, batch

        def fold(outcome):
            self.seen.update(outcome[0])
            self.count += 1
            return []

        submit_later = lambda b=keys: writer.upsert(b)
        self.pool.submit(_module_level, writer)
        self.pool.submit(submit_later)
        return Job(keys, work, fold)
"""
    assert len(work_closures(ast.parse(source))) == 2  # the nested def and the named lambda
    assert offending_lines(source, "m.py") == []
