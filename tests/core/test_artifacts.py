"""``mlops.core.artifacts`` is the one home of the pipeline's file paths and shared I/O."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from mlops.core import artifacts
from mlops.core.errors import ArtifactError, DataError

from ..conftest import REPO_ROOT

SRC = REPO_ROOT / "src" / "mlops"
HOME = SRC / "core" / "artifacts.py"
# How an artifact path starts (dvc.yaml's outs and the files around them).
ARTIFACT = re.compile(
    r"(?<![\w./-])(data/prepared|data/raw|models/|metrics/|plots/|reports/|report\.md\b"
    r"|dvc\.lock\b|data\.dvc\b|mlflow_run\.json|model\.joblib)"
)


def code_strings(path: Path) -> list[tuple[int, str]]:
    """The string constants of a module's code (f-string parts too), docstrings left out."""
    tree = ast.parse(path.read_text())
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_no_module_but_artifacts_spells_an_artifact_path():
    found = [
        f"{path.relative_to(REPO_ROOT)}:{line}: {text!r}"
        for path in sorted(SRC.rglob("*.py"))
        if path != HOME
        for line, text in code_strings(path)
        if ARTIFACT.search(text)
    ]
    assert not found, "artifact paths outside core/artifacts.py:\n" + "\n".join(found)


def test_the_check_catches_a_path_in_code_but_not_in_a_docstring(tmp_path):
    module = tmp_path / "m.py"
    module.write_text('"""Writes metrics/evaluate.json."""\nPATH = "metrics/evaluate.json"\n')
    hits = [text for _, text in code_strings(module) if ARTIFACT.search(text)]
    assert hits == ["metrics/evaluate.json"]


def test_every_dvc_output_is_named_here():
    named = {str(value.as_posix()) for value in vars(artifacts).values() if isinstance(value, Path)}
    stages = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["stages"]
    outs = [
        str(next(iter(o)) if isinstance(o, dict) else o)
        for stage in stages.values()
        for key in ("outs", "metrics", "plots")
        for o in stage.get(key) or []
    ]
    for out in outs:
        parent = Path(out).parent.as_posix()
        assert out in named or parent in named, f"dvc.yaml out {out} is not in core/artifacts.py"


def test_read_raw_names_what_is_wrong(tmp_path):
    missing = tmp_path / "none.csv"
    with pytest.raises(ArtifactError, match="does not exist; run `dvc pull`"):
        artifacts.read_raw(missing)
    header = tmp_path / "header.csv"
    header.write_text("a,b\n")
    with pytest.raises(DataError, match=r"has a header \(2 columns\) but no data rows"):
        artifacts.read_raw(header)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n1,2\n3,4,5\n")
    with pytest.raises(DataError, match="line 3 has 3 fields, the header has 2"):
        artifacts.read_raw(ragged)
    frame = artifacts.read_raw(_write(tmp_path / "ok.csv", "a,b\n 1 ,\n"))
    assert frame.to_dict("records") == [{"a": " 1 ", "b": None}] or frame.isna().iloc[0, 1]


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_locked_md5_and_metrics(tmp_path):
    lock = tmp_path / "dvc.lock"
    lock.write_text(
        "schema: '2.0'\nstages:\n  train:\n    outs:\n    - path: models/model.joblib\n"
        "      md5: abc\n"
    )
    assert artifacts.locked_md5(artifacts.MODEL, lock) == "abc"
    assert artifacts.locked_md5(artifacts.METRICS, lock) is None
    assert artifacts.locked_md5(artifacts.MODEL, tmp_path / "absent.lock") is None
    metrics = _write(tmp_path / "m.json", '{"roc_auc": 0.8, "note": "x", "n": 3}')
    assert artifacts.read_metrics(metrics) == {"roc_auc": 0.8, "n": 3.0}
    with pytest.raises(ArtifactError, match="not found: run `dvc repro`"):
        artifacts.read_metrics(tmp_path / "none.json")


def test_write_atomic_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "deep" / "out.json"
    artifacts.write_json(target, {"a": 1})
    assert target.read_text() == '{\n  "a": 1\n}\n'
    assert [p.name for p in target.parent.iterdir()] == ["out.json"]
