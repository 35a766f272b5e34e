"""The workflows' decisions as CLI commands (src/mlops/ci/workflow.py): changed paths,
upstream results, the GPU health check, the container smoke test and the job summary."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from mlops.ci import workflow as ci
from mlops.cli import main
from mlops.core.errors import MlopsError

from ..conftest import GIT, run


def git_repo(path: Path) -> Path:
    path.mkdir()
    run(["git", "init", "-q", "-b", "main"], path)
    (path / "README.md").write_text("x\n")
    run(["git", "add", "-A"], path)
    run([*GIT, "commit", "-q", "-m", "base"], path)
    return path


def test_matching_paths():
    files = ["README.md", "params.yaml", "src/mlops/train.py", "docs/x.md", "uv.lock", "data.dvc"]
    assert ci.matching(files) == ["params.yaml", "src/mlops/train.py", "uv.lock", "data.dvc"]
    assert ci.matching(["README.md", ".github/workflows/pr.yml"]) == []


def test_changed_against_the_merge_base(tmp_path, monkeypatch, capsys):
    repo = git_repo(tmp_path / "r")
    base = run(["git", "rev-parse", "HEAD"], repo).stdout.strip()
    run(["git", "checkout", "-q", "-b", "feature"], repo)
    (repo / "README.md").write_text("y\n")
    run([*GIT, "commit", "-q", "-am", "docs"], repo)
    monkeypatch.chdir(repo)
    out = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    assert main(["changed", "--base", base]) == 0
    assert out.read_text() == "pipeline=false\n"
    (repo / "params.yaml").write_text("a: 1\n")
    run(["git", "add", "-A"], repo)
    run([*GIT, "commit", "-q", "-m", "params"], repo)
    assert main(["changed", "--base", base]) == 0
    assert out.read_text().splitlines()[-1] == "pipeline=true"
    assert "params.yaml" in capsys.readouterr().out


def test_full_tests_paths_are_the_workflows_the_harness_and_the_code():
    full = ci.CHANGE_SETS["full-tests"]
    touched = [
        ".github/workflows/pr.yml",
        "tests/workflows/test_act_pr.py",
        "tests/standins/cache/action.yml",
        "tests/launcher.py",  # runs the slow tier's commands and stages
        "tests/conftest.py",
        "src/mlops/stages/train.py",
        "uv.lock",
    ]
    assert ci.matching(touched, full) == touched
    # A team's params, data, docs and benchmarks: the fast tier is enough.
    quiet = [
        "params.yaml",
        "data.dvc",
        "dvc.lock",
        "docs/testing.md",
        "bench/RESULTS.md",
        "tests/stages/test_prepare.py",
        "README.md",
    ]
    assert ci.matching(quiet, full) == []


def test_changed_for_full_tests_sets_its_own_output(tmp_path, monkeypatch, capsys):
    repo = git_repo(tmp_path / "r")
    base = run(["git", "rev-parse", "HEAD"], repo).stdout.strip()
    (repo / "params.yaml").write_text("a: 1\n")
    run(["git", "add", "-A"], repo)
    run([*GIT, "commit", "-q", "-m", "params"], repo)
    monkeypatch.chdir(repo)
    out = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    assert main(["changed", "--for", "full-tests", "--base", base]) == 0
    assert out.read_text() == "full-tests=false\n"
    (repo / ".github").mkdir()
    (repo / ".github" / "ci.yml").write_text("on: push\n")
    run(["git", "add", "-A"], repo)
    run([*GIT, "commit", "-q", "-m", "workflow"], repo)
    assert main(["changed", "--for", "full-tests", "--base", base]) == 0
    assert out.read_text().splitlines()[-1] == "full-tests=true"
    assert ".github/ci.yml" in capsys.readouterr().out


def test_changed_with_an_unknown_base_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    repo = git_repo(tmp_path / "r")
    monkeypatch.chdir(repo)
    assert main(["changed", "--base", "0" * 40]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("mlops changed: error: --base 0000") and "\n" not in err


@pytest.mark.parametrize(
    ("needs", "code"),
    [
        ({"changes": {"result": "success"}, "train": {"result": "skipped"}}, 0),
        ({"changes": {"result": "success"}, "train": {"result": "success"}}, 0),
        ({"changes": {"result": "success"}, "train": {"result": "failure"}}, 1),
        ({"train": {"result": "cancelled"}}, 1),
    ],
)
def test_needs(needs, code, capsys):
    assert main(["needs", "--needs", json.dumps(needs)]) == code
    if code:
        assert "train (" in capsys.readouterr().err


def test_needs_rejects_non_json():
    with pytest.raises(MlopsError, match="--needs: not JSON"):
        ci.parse_needs("{oops")


def test_gpu_check_without_nvidia_smi(monkeypatch, capsys):
    monkeypatch.setenv("PATH", "/nonexistent")
    assert main(["gpu-check"]) == 1
    assert "nvidia-smi not found" in capsys.readouterr().err


def _openapi(properties: dict[str, Any]) -> dict[str, Any]:
    """The part of a service's OpenAPI document the smoke test reads: one record's outputs."""
    record = {"type": "object", "properties": properties}
    ok = {"content": {"application/json": {"schema": {"oneOf": [{"items": record}]}}}}
    return {"paths": {"/predict": {"post": {"responses": {"200": ok}}}}}


class _Service(BaseHTTPRequestHandler):
    answer: ClassVar[Any] = [{"probability": 0.3, "label": "No", "model_version": "1"}]
    outputs: ClassVar[dict[str, Any]] = {
        "probability": {"type": "number", "minimum": 0, "maximum": 1},
        "label": {"type": "string", "enum": ["No", "Yes"]},
    }
    seen: ClassVar[list[Any]] = []

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/docs.json":
            self._send(200, _openapi(self.outputs))
        else:
            self._send(200 if self.path == "/readyz" else 404, {})

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.seen.append(json.loads(self.rfile.read(length)))
        self._send(200, self.answer)


@pytest.fixture
def service() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Service)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_smoke_test_posts_the_record(service, tmp_path, capsys):
    record = tmp_path / "record.json"
    record.write_text(json.dumps({"tenure": 3}))
    _Service.seen.clear()
    assert main(["smoke-test", "--url", service, "--record", str(record)]) == 0
    assert _Service.seen == [{"records": [{"tenure": 3}]}]
    assert json.loads(capsys.readouterr().out)["probability"] == 0.3


def test_smoke_test_rejects_a_bad_answer(service, monkeypatch):
    monkeypatch.setattr(_Service, "answer", [{"probability": 7, "label": "No"}])
    with pytest.raises(MlopsError, match="probability 7 does not match"):
        ci.smoke_test(service, {"tenure": 3}, wait=5)
    monkeypatch.setattr(_Service, "answer", [{"probability": 0.2, "label": "Maybe"}])
    with pytest.raises(MlopsError, match="label 'Maybe' does not match"):
        ci.smoke_test(service, {"tenure": 3}, wait=5)
    monkeypatch.setattr(_Service, "answer", [{"probability": 0.2}])
    with pytest.raises(MlopsError, match="has no 'label'"):
        ci.smoke_test(service, {"tenure": 3}, wait=5)


def test_smoke_test_checks_the_outputs_the_service_promises(service, monkeypatch):
    """Whatever the task: a regression service promises one number, a multiclass one a label
    and a probability per class; the answer is checked against the service's own document."""
    monkeypatch.setattr(_Service, "outputs", {"prediction": {"type": "number"}})
    monkeypatch.setattr(_Service, "answer", [{"prediction": -12.5, "model_version": "2"}])
    assert ci.smoke_test(service, {"tenure": 3}, wait=5)["prediction"] == -12.5
    classes = {"label": {"type": "string", "enum": ["a", "b", "c"]}}
    share = {"type": "number", "minimum": 0, "maximum": 1}
    classes.update({f"probability_{k}": share for k in "abc"})
    monkeypatch.setattr(_Service, "outputs", classes)
    monkeypatch.setattr(_Service, "answer", [{"label": "b", "probability_a": 0.2}])
    with pytest.raises(MlopsError, match="has no 'probability_b'"):
        ci.smoke_test(service, {"tenure": 3}, wait=5)
    monkeypatch.setattr(_Service, "answer", {"detail": "x"})
    with pytest.raises(MlopsError, match="unexpected answer"):
        ci.smoke_test(service, {"tenure": 3}, wait=5)


def test_smoke_test_gives_up_when_nothing_listens():
    with pytest.raises(MlopsError, match="not ready after"):
        ci.smoke_test("http://127.0.0.1:9", {}, wait=1)


def test_summary_names_the_local_store(tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    ci.write_summary(ci.registry_summary("registered: m v1", "sqlite:///mlflow.db"))
    ci.write_summary(ci.registry_summary("promoted: m v1", "https://mlflow.example.invalid"))
    text = summary.read_text()
    assert text.count("**Model registry**") == 2
    assert text.count("MLFLOW_TRACKING_URI") == 1  # only the local store gets the hint


def test_no_comment_says_why_in_an_annotation_and_the_summary(tmp_path, monkeypatch, capsys):
    summary = tmp_path / "summary.md"
    summary.write_text("## ✅ Quality gate passed: this PR vs main\n\n")  # what report wrote
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert main(["no-comment", "--reason", "setting up CML failed"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("::warning title=No PR comment::No report comment was posted on the PR:")
    assert "setting up CML failed" in out
    text = summary.read_text()
    assert text.startswith("## ✅ Quality gate passed")  # the report stays first
    assert "**No PR comment**: No report comment was posted on the PR: setting up CML failed." in (
        text
    )


def test_extras_follow_the_model_types_of_params_and_the_base(tmp_path, monkeypatch, capsys):
    repo = git_repo(tmp_path / "repo")
    params = repo / "params.yaml"
    params.write_text("model:\n  type: xgboost\n")
    run(["git", "add", "-A"], repo)
    run([*GIT, "commit", "-q", "-m", "xgboost on main"], repo)
    monkeypatch.chdir(repo)
    params.write_text("model:\n  type: logreg\n")
    assert main(["extras"]) == 0
    out = capsys.readouterr()
    assert out.out == "\n" and "model.type logreg (params.yaml): no extra" in out.err
    # The PR report loads the base's model: its family's library is needed too.
    assert main(["extras", "--base-rev", "HEAD"]) == 0
    assert capsys.readouterr().out == "--extra xgboost\n"
    params.write_text("model:\n  type: keras\n")
    assert main(["extras", "--base-rev", "HEAD"]) == 0
    assert capsys.readouterr().out == "--extra keras --extra xgboost\n"
    params.write_text("model:\n  type: svm\n")
    assert main(["extras"]) == 1
    assert "model.type 'svm' is not a model family" in capsys.readouterr().err
    assert main(["extras", "--base-rev", "nope"]) == 1
    assert "--base-rev nope: cannot read params.yaml there" in capsys.readouterr().err
