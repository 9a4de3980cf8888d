"""eval/ by role: the suites the CLI runs, the report, the studies and their shared helpers (issue 16)."""

from __future__ import annotations

import ast

import pytest

from policyrag.cli import build_parser
from policyrag.evaluation import SUITE_MODULES, SUITES
from policyrag.settings import PROJECT_ROOT

EVAL = PROJECT_ROOT / "eval"


def _eval_imports() -> dict[str, set[str]]:
    """Module name → the eval modules it imports (``from eval.x import y`` counts eval.x.y when that is a module)."""
    files = {".".join(p.relative_to(PROJECT_ROOT).with_suffix("").parts): p for p in EVAL.rglob("*.py")}
    modules = {name.removesuffix(".__init__") for name in files}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "eval":
                deps.add(node.module)
                deps |= {f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in modules}
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name.split(".")[0] == "eval"}
        graph[name.removesuffix(".__init__")] = deps & modules
    return graph


def test_every_suite_is_in_the_help_with_a_path_that_exists(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["eval", "--help"])
    help_text = capsys.readouterr().out
    assert set(SUITE_MODULES) == set(SUITES) - {"all"}
    for suite, (path, _) in SUITE_MODULES.items():
        assert (PROJECT_ROOT / path).exists(), path
        assert f"{suite:<12} {path}" in help_text


def test_eval_top_level_holds_only_the_roles() -> None:
    entries = {p.name for p in EVAL.iterdir() if p.name not in {"__pycache__", ".cache"}}
    assert entries == {"__init__.py", "common", "data", "report", "reports", "studies", "suites"}


def test_no_import_cycles_and_lab_code_stays_out_of_suites_and_report() -> None:
    graph = _eval_imports()

    def reachable(start: str) -> set[str]:
        seen: set[str] = set()
        todo = list(graph[start])
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(graph.get(name, ()))
        return seen

    assert [name for name in graph if name in reachable(name)] == []
    role = {name: name.split(".")[1] if name.count(".") else "" for name in graph}
    for name, deps in graph.items():
        for dep in deps:
            if role[name] == "common":
                assert role[dep] == "common", f"{name} imports {dep}: shared helpers depend on nothing else"
            if role[name] in ("suites", "report"):
                assert role[dep] != "studies", f"{name} imports the study {dep}"
            if role[name] == "report":
                assert role[dep] in ("report", "common"), f"the report reads JSON, not {dep}"
