"""``dvc.yaml``'s code dependencies cannot go stale: each stage depends on every module of
``src/mlops`` its command can import.

A stage's command is ``mlops <name>``: its code is ``cli.py``, the modules the command's
handler there imports (``cmd_<name>`` and the cli helpers it calls) and, transitively, every
module those import anywhere in their body (a lazy import inside a function counts, a
``TYPE_CHECKING`` import does not), with their packages' ``__init__``. A module is covered when
a dep names it or a folder holding it. Editing any of them must make ``dvc repro`` rerun the
stage.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from .conftest import REPO_ROOT

SRC = REPO_ROOT / "src"
CLI = SRC / "mlops" / "cli.py"


def module_file(name: str) -> Path | None:
    base = SRC.joinpath(*name.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and (
        (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
        or (isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING")
    )


def imported(nodes: list[ast.AST], package: str) -> set[str]:
    """The ``mlops`` modules that ``nodes`` import (``from x import y`` may name module y)."""
    found: set[str] = set()
    todo = list(nodes)
    while todo:
        node = todo.pop()
        if _is_type_checking(node):
            todo += getattr(node, "orelse", [])
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the importing package
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
        todo += list(ast.iter_child_nodes(node))
    return {m for m in found if m.split(".")[0] == "mlops" and module_file(m)}


def closure(start: set[str]) -> set[Path]:
    """Every module file reachable from ``start``, parent packages included."""
    seen: set[str] = set()
    todo = sorted(start)
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            module = ".".join(parts[:i])
            path = module_file(module)
            if module in seen or path is None:
                continue
            seen.add(module)
            package = module if path.name == "__init__.py" else module.rpartition(".")[0]
            todo += sorted(imported([ast.parse(path.read_text())], package))
    return {p for m in seen if (p := module_file(m)) is not None}


def stage_code(command: str) -> set[Path]:
    """The files ``mlops <command>`` can import: cli.py, its handler's imports, transitively."""
    tree = ast.parse(CLI.read_text())
    functions = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
    handler = f"cmd_{command.replace('-', '_')}"
    assert handler in functions, f"cli.py has no {handler} for `mlops {command}`"
    nodes: list[ast.AST] = []
    todo = [handler]
    while todo:  # the handler and the cli helpers it calls (e.g. _params)
        name = todo.pop()
        if any(n is functions[name] for n in nodes):
            continue
        nodes.append(functions[name])
        for call in ast.walk(functions[name]):
            called = isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
            if called and call.func.id in functions:
                todo.append(call.func.id)
    module_level = [n for n in tree.body if not isinstance(n, ast.FunctionDef | ast.ClassDef)]
    return closure(imported(nodes + module_level, "mlops")) | {CLI}


def covered(path: Path, deps: list[str]) -> bool:
    relative = path.relative_to(REPO_ROOT)
    return any(relative == Path(d) or Path(d) in relative.parents for d in deps)


STAGES = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["stages"]


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_each_stage_depends_on_every_module_its_command_imports(stage):
    command = STAGES[stage]["cmd"].split()
    assert command[0] == "mlops", STAGES[stage]["cmd"]
    deps = [str(d) for d in STAGES[stage]["deps"]]
    code = stage_code(command[1])
    missing = sorted(str(p.relative_to(REPO_ROOT)) for p in code if not covered(p, deps))
    assert not missing, f"dvc.yaml stage {stage!r} misses deps on {missing}"
    for dep in deps:  # and names no code path that does not exist
        if dep.startswith("src/"):
            assert (REPO_ROOT / dep).exists(), f"{stage}: {dep} does not exist"


def test_the_check_sees_lazy_imports_and_ignores_type_checking_ones(tmp_path):
    # train's lazy `from mlops.tracking.runs import log_training` counts;
    # evaluate's plots module imports Evaluation only for type checking.
    train = {str(p.relative_to(SRC)) for p in stage_code("train")}
    assert "mlops/tracking/runs.py" in train
    assert "mlops/threshold.py" in train
    assert "mlops/stages/plots.py" not in train
    assert not covered(SRC / "mlops" / "stages" / "train.py", ["src/mlops/stages/prepare.py"])
    assert covered(SRC / "mlops" / "core" / "config.py", ["src/mlops/core"])


def test_dvc_lock_records_the_code_and_params_of_this_checkout():
    """A code or params change comes with its dvc.lock: otherwise `make run` on a fresh clone
    retrains and leaves dvc.lock modified. (The data and the outputs may be absent here.)"""
    import json
    import subprocess

    from .conftest import VENV_BIN, run_env

    proc = subprocess.run(
        [str(VENV_BIN / "dvc"), "status", "--json"],
        cwd=REPO_ROOT, env=run_env(), capture_output=True, text=True, check=True,
    )  # fmt: skip
    stale = {}
    for stage, changes in json.loads(proc.stdout or "{}").items():
        for change in changes if isinstance(changes, list) else []:
            deps = change.get("changed deps", {}) if isinstance(change, dict) else {}
            code = {
                path: how
                for path, how in deps.items()
                if path.startswith("src/") or isinstance(how, dict) or path.endswith(".yaml")
            }
            if code:
                stale[stage] = code
    assert not stale, f"dvc.lock is stale (run `dvc repro` and commit dvc.lock): {stale}"
