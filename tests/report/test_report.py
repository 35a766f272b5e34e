"""The PR report (mlops report), the quality gate (mlops gate) and posting through CML."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from markdown_it import MarkdownIt

from mlops.ci import reproduction

from ..conftest import GIT, REPO_ROOT, execute, run, run_env
from ..github_api import GitHubAPI

CML = REPO_ROOT / "tests" / "standins" / "setup-cml" / "cml"
_NUMBER = r"-?\d+(?:\.\d+)?"


# --- checks of rendered output --------------------------------------------------------------


def check_markdown(text: str) -> list[str]:
    """Parse as GitHub-flavoured markdown; every table row has the header's column count.

    Returns the mermaid blocks' contents.
    """
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    tables = 0
    columns: int | None = None
    cells = 0
    for token in tokens:
        if token.type == "table_open":
            tables += 1
            columns = None
        elif token.type == "tr_open":
            cells = 0
        elif token.type in ("th_open", "td_open"):
            cells += 1
        elif token.type == "tr_close":
            if columns is None:
                columns = cells
            assert cells == columns, f"table row with {cells} cells under a {columns}-column header"
    assert tables >= 3  # metrics, data drift, confusion (and params when changed)
    # <details> blocks are balanced and each has a summary
    assert text.count("<details>") == text.count("</details>") == text.count("<summary>")
    return [t.content for t in tokens if t.type == "fence" and t.info.strip() == "mermaid"]


def check_xychart(block: str) -> None:
    """Structural check of a Mermaid ``xychart-beta`` block (the mermaid CLI needs a headless
    Chromium, which cannot be installed here): header, quoted title, axes, and series whose
    length matches the x-axis categories."""
    lines = [line.strip() for line in block.strip().splitlines()]
    assert lines[0] == "xychart-beta"
    categories: list[str] | None = None
    series = 0
    for line in lines[1:]:
        if line.startswith("title "):
            assert re.fullmatch(r'title "[^"]+"', line), line
        elif line.startswith("x-axis "):
            match = re.fullmatch(r'x-axis(?: "[^"]+")? \[(.+)\]', line)
            assert match, line
            categories = re.findall(r'"([^"]*)"', match.group(1))
            assert len(categories) == match.group(1).count(",") + 1
        elif line.startswith("y-axis "):
            assert re.fullmatch(rf'y-axis(?: "[^"]+")? {_NUMBER} --> {_NUMBER}', line), line
        elif line.startswith(("line ", "bar ")):
            values = re.fullmatch(r"(?:line|bar) \[(.+)\]", line)
            assert values, line
            numbers = [float(v) for v in values.group(1).split(",")]
            assert categories is not None and len(numbers) == len(categories)
            series += 1
        else:
            raise AssertionError(f"unexpected xychart line: {line!r}")
    assert series >= 1


def mlops(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run([str(Path(sys.executable).parent / "mlops"), *args], repo, check=check)


def branch(trained: Path, dest: Path) -> Path:
    """A copy of the trained repository (main) on a new branch ``pr``."""
    shutil.copytree(trained, dest, symlinks=True)
    run(["git", "checkout", "-q", "-b", "pr"], dest)
    return dest


def report_json(repo: Path) -> dict:
    return json.loads((repo / "reports" / "report" / "report.json").read_text())


def assert_same_test_split(repo: Path, summary: dict) -> None:
    test = pd.read_parquet(repo / "data" / "prepared" / "test.parquet")
    assert summary["test_rows"] == len(test)
    # The candidate's metrics are those of the evaluate stage on this split.
    evaluated = json.loads((repo / "metrics" / "evaluate.json").read_text())
    assert summary["metrics"]["candidate"] == pytest.approx(evaluated)


# --- unit tests -----------------------------------------------------------------------------


def test_gate_rules(params) -> None:
    from mlops.core.config import GateConfig
    from mlops.report import gate

    cfg = GateConfig(minimums={"roc_auc": 0.8, "brier": 0.2}, max_regression={"roc_auc": 0.01})
    results = gate.evaluate(cfg, {"roc_auc": 0.83, "brier": 0.15}, {"roc_auc": 0.845, "brier": 0.1})
    by = {(r.metric, r.kind): r for r in results}
    assert by["roc_auc", "minimum"].passed and by["brier", "minimum"].passed
    # 0.015 drop > 0.01 allowed; brier (lower is better) rose by 0.05 with 0 allowed
    assert not by["roc_auc", "max_regression"].passed
    assert not by["brier", "max_regression"].passed
    assert gate.failures(results) == [
        "brier = 0.1500 is worse than the baseline (0.1000) by 0.0500 (allowed 0.0)",
        "roc_auc = 0.8300 is worse than the baseline (0.8450) by 0.0150 (allowed 0.01)",
    ]
    missing = gate.evaluate(cfg, {"roc_auc": 0.9}, None, candidate_label="v3")
    assert gate.failures(missing) == ["brier: not recorded on v3"]


def test_params_and_data_diff() -> None:
    from mlops.report.compare import data_diff, params_diff

    old = {"model": {"type": "logreg", "logreg": {"C": 1.0}}, "gate": {"minimums": {"a": 1}}}
    new = {"model": {"type": "xgboost", "logreg": {"C": 1.0}}, "report": {"x": True}}
    assert params_diff(old, new) == [
        {"param": "gate.minimums.a", "old": 1, "new": "(absent)"},
        {"param": "model.type", "old": "logreg", "new": "xgboost"},
        {"param": "report.x", "old": "(absent)", "new": True},
    ]
    a = pd.DataFrame({"id": ["1", "2", "3"], "n": ["1", "2", "3"], "gone": ["x", "y", "z"]})
    b = pd.DataFrame({"id": ["2", "3", "4", "5"], "n": ["a", "2", "3", "4"], "new": list("pqrs")})
    diff = data_diff(a, b, "id")
    assert diff["rows"] == {"baseline": 3, "current": 4, "added": 2, "removed": 1}
    assert diff["schema"] == {
        "added_columns": ["new"],
        "removed_columns": ["gone"],
        "changed_types": [{"column": "n", "old": "numeric", "new": "text"}],
    }


def _inputs(tmp_path: Path, params, demo_split, *, publish: bool, worse: bool):
    from mlops.report.baseline import Baseline
    from mlops.report.build import Inputs
    from mlops.stages.evaluate import evaluate
    from mlops.stages.plots import render_comparison

    rng = np.random.default_rng(0)
    y = demo_split.test["target"].to_numpy()
    good = np.clip(0.3 * y + 0.35 + rng.normal(0, 0.2, len(y)), 0, 1)
    bad = np.clip(0.05 * y + 0.45 + rng.normal(0, 0.2, len(y)), 0, 1)
    base_eval = evaluate(y, good, 0.5)
    cand_eval = evaluate(y, bad if worse else good, 0.5)
    importance = [{"feature": "tenure", "importance": 0.1, "std": 0.01}]
    from mlops.report.compare import uncertainty

    intervals, segments = uncertainty(
        y, good, bad if worse else good, thresholds=(0.5, 0.5),
        settings=params.report.bootstrap, segments=demo_split.test["contract"],
    )  # fmt: skip
    images = render_comparison(
        cand_eval, base_eval, importance, tmp_path / "reports" / "report", baseline_label="main"
    )
    from ..conftest import demo_csv_path

    raw = pd.read_csv(demo_csv_path(), dtype=str, keep_default_na=False, na_values=[""])
    doc = params.model_dump(mode="json")
    doc["report"]["publish_images"] = publish
    from mlops.core.config import parse_params

    changed = parse_params(doc)
    base_doc = params.model_dump(mode="json")
    base_doc["model"]["logreg"]["C"] = 0.5
    baseline = Baseline(
        kind="main", label="main", commit="a" * 40, model=None, features=[],
        model_type="logreg", how="restored from the DVC cache", params=base_doc,
        raw=raw.iloc[100:], data_md5="old",
    )  # fmt: skip
    return Inputs(
        params=changed,
        params_doc=doc,
        baseline=baseline,
        candidate_eval=cand_eval,
        baseline_eval=base_eval,
        test_rows=len(y),
        commit="b" * 40,
        data_version={"md5": "new"},
        raw=raw,
        validation={"success": True, "evaluated": 54, "failed": 0, "suite": "s.yaml"},
        drift=None,
        importance=importance,
        images=images,
        image_base=tmp_path,
        intervals=intervals,
        segments=segments,
    )


@pytest.mark.parametrize("worse", [False, True])
def test_build_renders_valid_markdown_and_follows_the_gate(
    tmp_path, params, demo_split, worse
) -> None:
    from mlops.report import gate
    from mlops.report.build import build

    inputs = _inputs(tmp_path, params, demo_split, publish=True, worse=worse)
    report = build(inputs)
    text = report.markdown
    first = text.splitlines()[0]
    expected = gate.failures(
        gate.evaluate(
            params.gate, inputs.candidate_eval.metrics, inputs.baseline_eval.metrics,
            baseline_label="main",
        )
    )  # fmt: skip
    assert report.summary["failures"] == expected
    assert bool(expected) == worse
    if worse:
        assert first == "## ❌ Quality gate failed: this PR vs main"
        assert f"- {expected[0]}" in text
    else:
        assert first == "## ✅ Quality gate passed: this PR vs main"
    assert "**Model:** `logreg` (main: `logreg`)" in text
    assert "| model.logreg.C | `0.5` | `1` |" in text
    assert "**+100 added, −0 removed** (matched by id column 'customer_id')" in text
    assert "- Validation: ✅ 54 expectations evaluated, 0 failed" in text
    blocks = check_markdown(text)
    assert len(blocks) == 3  # ROC, PR, importance
    for block in blocks:
        check_xychart(block)
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(links) == 4
    for link in links:
        assert (tmp_path / link).is_file()
        assert (tmp_path / link).read_bytes().startswith(b"\x89PNG")


def _links(text: str) -> tuple[list[tuple[str, list[str]]], list[str]]:
    """Rendered as a reader's markdown renderer does: each image's URL with what else shares
    its line, and every link's URL."""
    images: list[tuple[str, list[str]]] = []
    hrefs: list[str] = []
    for token in MarkdownIt("commonmark").enable("table").parse(text):
        if token.type != "inline":
            continue
        children = token.children or []
        for child in children:
            if child.type == "image":
                others = [c.type for c in children if c is not child and c.content.strip()]
                images.append((str(child.attrs["src"]), others))
            elif child.type == "link_open":
                hrefs.append(str(child.attrs["href"]))
    return images, hrefs


def test_every_image_and_link_resolves_to_its_target(tmp_path, params, demo_split, monkeypatch):
    from mlops.report.build import build

    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/churn")
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    inputs = _inputs(tmp_path, params, demo_split, publish=True, worse=False)
    report = build(inputs)
    images, hrefs = _links(report.markdown)
    # Each image alone on its line (CML escapes `&` into the URL of a second image on a line).
    assert all(others == [] for _, others in images), images
    resolved = {(tmp_path / src).resolve() for src, _ in images}
    assert resolved == {path.resolve() for path in inputs.images.values()}
    assert len(images) == len(inputs.images) == 4
    run_url = "https://github.com/acme/churn/actions/runs/42"
    assert hrefs == [run_url, f"{run_url}#artifacts"]


def test_a_sha_baseline_is_named_by_its_branch_in_tables_rules_and_legends(
    tmp_path, params, demo_split, monkeypatch
) -> None:
    from mlops.report.baseline import rev_label
    from mlops.report.build import build
    from mlops.stages import plots

    sha = "0123456789abcdef0123456789abcdef01234567"
    assert rev_label(sha, "main") == "main"
    assert rev_label(sha) == sha[:12]  # no branch name given: the short SHA, never all 40
    assert rev_label("origin/main") == "origin/main"

    legends: list[str] = []
    titles: list[str] = []
    save = plots.save

    def recording_save(fig, path):
        for ax in fig.axes:
            titles.append(ax.get_title())
            if ax.get_legend() is not None:
                legends.extend(t.get_text() for t in ax.get_legend().get_texts())
        save(fig, path)

    inputs = _inputs(tmp_path, params, demo_split, publish=True, worse=True)
    monkeypatch.setattr(plots, "save", recording_save)
    inputs.baseline.label = rev_label(sha, "main")
    inputs.baseline.commit = sha
    images = plots.render_comparison(
        inputs.candidate_eval, inputs.baseline_eval, inputs.importance,
        tmp_path / "reports" / "report", baseline_label=inputs.baseline.label,
    )  # fmt: skip
    assert set(images) == set(inputs.images)
    assert [t.split(" (")[0] for t in legends] == ["main", "this PR", "main", "this PR"]
    assert "main (threshold 0.500)" in titles
    text = build(inputs).markdown
    assert text.splitlines()[0] == "## ❌ Quality gate failed: this PR vs main"
    assert "| metric | main | this PR | Δ (95% CI) | difference | gate rule | result |" in text
    assert f"**Baseline:** main @ `{sha[:12]}`" in text
    assert "drop <= 0.01 vs main" in text
    assert sha not in text


def test_a_segment_worse_while_the_whole_is_not_is_said_at_the_top(tmp_path, params, demo_split):
    from mlops.report.build import build
    from mlops.report.compare import uncertainty

    inputs = _inputs(tmp_path, params, demo_split, publish=False, worse=False)
    rng = np.random.default_rng(1)
    y = demo_split.test["target"].to_numpy()
    contract = demo_split.test["contract"].to_numpy()
    noise = rng.normal(0, 0.2, len(y))
    base = np.clip(0.3 * y + 0.35 + noise, 0, 1)
    # The candidate is sharper on month-to-month contracts and much noisier on one-year ones.
    cand = np.clip(0.3 * y + 0.35 + np.where(contract == "Month-to-month", 0.7, 1.0) * noise, 0, 1)
    one_year = contract == "One year"
    cand[one_year] = np.clip(base[one_year] + rng.normal(0, 0.35, one_year.sum()), 0, 1)
    inputs.intervals, inputs.segments = uncertainty(
        y, base, cand, thresholds=(0.5, 0.5), settings=params.report.bootstrap, segments=contract
    )
    assert inputs.intervals["roc_auc"].verdict != "worse"
    text = build(inputs).markdown
    warning = text.splitlines()[1]
    assert warning.startswith("⚠️ **Worse in a segment** although not overall: contract = One year")
    assert (
        "<summary>Per contract: this PR vs main (1 of 3 segments detectably worse in ROC-AUC)"
        in text
    )
    (row,) = [line for line in text.splitlines() if line.startswith("| `One year` |")]
    assert "| worse |" in row


def test_publish_images_false_keeps_tables_and_mermaid(tmp_path, params, demo_split) -> None:
    from mlops.report.build import build

    report = build(_inputs(tmp_path, params, demo_split, publish=False, worse=False))
    assert not re.findall(r"!\[[^\]]*\]\(", report.markdown)
    assert "`report.publish_images: false`" in report.markdown
    assert len(check_markdown(report.markdown)) == 3
    assert report.summary["images"] == {}


def test_report_params_are_validated(tmp_path) -> None:
    doc = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    doc["report"]["publish_images"] = "sometimes"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(doc))
    proc = run(
        [str(Path(sys.executable).parent / "mlops"), "--params", "params.yaml", "check-params"],
        tmp_path,
        check=False,
    )
    assert proc.returncode == 2
    assert "report.publish_images" in proc.stderr


def test_gate_command_reads_the_report_or_the_metrics(tmp_path) -> None:
    shutil.copy(REPO_ROOT / "params.yaml", tmp_path / "params.yaml")
    none = mlops(tmp_path, "gate", check=False)
    assert none.returncode == 1
    assert "neither reports/report/report.json nor metrics/evaluate.json exists" in none.stderr
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "evaluate.json").write_text('{"roc_auc": 0.79, "pr_auc": 0.6}')
    low = mlops(tmp_path, "gate", check=False)
    assert low.returncode == 1
    assert "FAIL roc_auc >= 0.8" in low.stdout
    assert "1 gate rule(s) failed: roc_auc = 0.7900, gate requires >= 0.8" in low.stderr
    report = tmp_path / "reports" / "report" / "report.json"
    report.parent.mkdir(parents=True)
    # A report.json that is not one `mlops report` writes is refused, naming what is missing.
    report.write_text(json.dumps({"baseline": {"label": "main"}}))
    malformed = mlops(tmp_path, "gate", check=False)
    assert malformed.returncode == 1
    assert "not a report written by `mlops report` (verdict: Field required)" in malformed.stderr
    side = {"commit": "a" * 40, "model_type": "logreg", "data_md5": "d", "threshold": 0.5}
    report.write_text(
        json.dumps(
            {
                "verdict": "passed",
                "failures": [],
                "baseline": {**side, "kind": "main", "label": "main", "how": "restored"},
                "metrics": {
                    "candidate": {"roc_auc": 0.83, "pr_auc": 0.60},
                    "baseline": {"roc_auc": 0.845, "pr_auc": 0.61},
                },
            }
        )
    )
    regressed = mlops(tmp_path, "gate", check=False)
    assert regressed.returncode == 1
    assert "roc_auc = 0.8300 is worse than main (0.8450) by 0.0150 (allowed 0.01)" in (
        regressed.stderr
    )
    assert "PASS pr_auc drop <= 0.02 vs main" in regressed.stdout
    report.write_text(report.read_text().replace("0.845", "0.835"))
    assert "gate: passed (4 rule(s))" in mlops(tmp_path, "gate").stdout


def test_failed_validation_still_gets_a_report_and_fails_the_gate(tmp_path, demo_csv) -> None:
    """A PR whose data fails validation has no model: the report says which data is wrong."""
    shutil.copy(REPO_ROOT / "params.yaml", tmp_path / "params.yaml")
    shutil.copytree(REPO_ROOT / "expectations", tmp_path / "expectations")
    raw = pd.read_csv(demo_csv)
    raw.loc[raw.index[:3], "tenure"] = -5
    (tmp_path / "data" / "raw").mkdir(parents=True)
    raw.to_csv(tmp_path / "data" / "raw" / "churn.csv", index=False)
    # A stale report from an earlier push must not survive.
    stale = tmp_path / "reports" / "report" / "roc.png"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")

    assert mlops(tmp_path, "validate", check=False).returncode == 1
    reported = mlops(tmp_path, "report", check=False)
    assert reported.returncode == 0, reported.stderr
    body = (tmp_path / "report.md").read_text()
    assert body.startswith("## ❌ Quality gate failed: the data did not pass validation")
    assert "column 'tenure': expected values between" in body
    assert "-5" in body
    assert not stale.exists()
    summary = report_json(tmp_path)
    assert summary["validation_failed"] is True and summary["verdict"] == "failed"

    gate = mlops(tmp_path, "gate", check=False)
    assert gate.returncode == 1
    assert "data validation failed: column 'tenure'" in gate.stderr
    assert not (tmp_path / "models").exists()


# --- end to end on the demo data -------------------------------------------------------------


def _post(api: GitHubAPI, repo: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = run_env()
    env.update(api.client_env())
    env.update({"GITHUB_REPOSITORY": "acme/churn", "GITHUB_EVENT_NAME": "push"})
    env["GITHUB_SHA"] = run(["git", "rev-parse", "HEAD"], repo).stdout.strip()
    args = ["comment", "update", "--target=pr", "--watermark-title=PR report", *extra]
    return subprocess.run(
        [sys.executable, str(CML), *args, "report.md"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )


@pytest.mark.slow
def test_params_change_report_gate_and_comment(trained, tmp_path, github_api) -> None:
    repo = branch(trained, tmp_path / "pr")
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["model"]["logreg"]["C"] = 0.0005  # heavy regularisation: clearly worse
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["dvc", "repro"], repo)
    run(["git", "add", "-A"], repo)
    run([*GIT, "commit", "-q", "-m", "worse C"], repo)

    # As pr.yml calls it: the base commit's SHA, named by the PR's base branch.
    base_sha = run(["git", "rev-parse", "main"], repo).stdout.strip()
    out = mlops(repo, "report", "--base-rev", base_sha, "--base-name", "main")
    assert "baseline main @" in out.stdout and "restored from the DVC cache" in out.stdout
    summary = report_json(repo)
    assert summary["baseline"]["label"] == "main" and summary["baseline"]["commit"] == base_sha
    assert_same_test_split(repo, summary)
    base, cand = summary["metrics"]["baseline"], summary["metrics"]["candidate"]
    assert base["roc_auc"] - cand["roc_auc"] > 0.01
    assert summary["verdict"] == "failed"
    assert any(f.startswith("roc_auc = ") for f in summary["failures"])
    text = (repo / "report.md").read_text()
    assert text.startswith("## ❌ Quality gate failed: this PR vs main\n")
    assert "| model.logreg.C | `1` | `0.0005` |" in text
    assert f"**Baseline:** main @ `{base_sha[:12]}`" in text and base_sha not in text
    (row,) = [line for line in text.splitlines() if line.startswith("| roc_auc |")]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert float(cells[1]) == pytest.approx(base["roc_auc"], abs=1e-4)
    assert float(cells[2]) == pytest.approx(cand["roc_auc"], abs=1e-4)
    assert cells[-1].endswith("❌")  # the regression rule failed
    # How sure: the paired interval of the difference, and the plain word for it.
    delta, low, high = (float(x) for x in re.findall(r"[+-]\d+\.\d+", cells[3]))
    assert low <= delta <= high < 0 and cells[4] == "worse"
    interval = summary["intervals"]["roc_auc"]
    assert (interval["low"], interval["high"]) == pytest.approx((low, high), abs=1e-4)
    assert summary["bootstrap"] == {
        "resamples": 1000, "confidence": 0.95, "seed": 0, "stratified_by": "label",
        "paired": True,
    }  # fmt: skip
    assert re.search(r"With 1,409 test rows, this comparison's ROC-AUC difference is known "
                     r"to ±0\.0\d{3} \(95% interval", text)  # fmt: skip
    # Per segment (evaluate.segment_column: contract), collapsed.
    assert "<summary>Per contract: this PR vs main (" in text
    segments = {s["value"]: s for s in summary["segments"]["rows"]}
    assert set(segments) == {"Month-to-month", "One year", "Two year"}
    assert sum(s["rows"] for s in segments.values()) == summary["test_rows"]
    assert "**+0 added, −0 removed**" in text
    for block in check_markdown(text):
        check_xychart(block)

    gate = mlops(repo, "gate", check=False)
    assert gate.returncode == 1
    assert "FAIL roc_auc drop <= 0.01 vs main:" in gate.stdout
    assert "Regression rules (`gate.regression_rule: point`) compare the point estimates" in text
    # The significant rule: the drop (0.0118 against 0.01 allowed) is detectable, but not
    # detectably beyond the allowed 0.01: the interval of the drop reaches below it, so it passes.
    params["gate"]["regression_rule"] = "significant"
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    significant = mlops(repo, "gate")
    drop_low = -interval["high"]
    assert 0 < drop_low < 0.01
    assert "PASS roc_auc drop <= 0.01 vs main (95% CI):" in significant.stdout
    assert "reaches within the allowed 0.01 (significant rule" in significant.stdout
    params["gate"]["regression_rule"] = "point"
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    # Posted through the GitHub API double: one comment, updated on the next push.
    head = run(["git", "rev-parse", "HEAD"], repo).stdout.strip()
    github_api.add_pull("acme/churn", 3, head_sha=head, head_ref="pr")
    first = _post(github_api, repo, f"--publish-url={github_api.asset_url}")
    assert first.returncode == 0, first.stderr
    (comment,) = github_api.issue_comments("acme/churn", 3)
    assert comment.body.startswith("## ❌ Quality gate failed: this PR vs main\n")
    assert len(github_api.calls("POST", r"^/assets$")) == 4  # roc, pr, confusion, importance
    assert "reports/report/" not in comment.body  # every local image link was published
    # The hidden record the deploy workflow checks a retrained model against.
    (record,) = reproduction.parse_records(comment.body)
    assert record == summary["record"] == reproduction.record(repo)
    assert record["metrics"] == pytest.approx(
        json.loads((repo / "metrics/evaluate.json").read_text())
    )

    run([*GIT, "commit", "-q", "--allow-empty", "-m", "second push"], repo)
    github_api.pulls[0].head_sha = run(["git", "rev-parse", "HEAD"], repo).stdout.strip()
    mlops(repo, "report")
    second = _post(github_api, repo, "--no-publish")
    assert second.returncode == 0, second.stderr
    (updated,) = github_api.issue_comments("acme/churn", 3)
    assert updated.id == comment.id
    assert "](reports/report/roc.png)" in updated.body
    assert len(github_api.calls("POST", r"/issues/3/comments$")) == 1
    assert len(github_api.calls("PATCH", rf"/issues/comments/{comment.id}$")) == 1


@pytest.mark.slow
def test_model_type_change_verdict_follows_the_gate(trained, tmp_path) -> None:
    from mlops.core.config import load_params
    from mlops.report import gate

    repo = branch(trained, tmp_path / "pr")
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["model"]["type"] = "xgboost"
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["dvc", "repro"], repo)
    # As in GitHub Actions: links to the run, and the markdown appended to the job summary.
    step_summary = tmp_path / "step_summary.md"
    step_summary.write_text("earlier step\n")
    env = run_env()
    env.update(
        GITHUB_ACTIONS="true",
        GITHUB_SERVER_URL="https://github.example",
        GITHUB_REPOSITORY="acme/churn",
        GITHUB_RUN_ID="42",
        GITHUB_STEP_SUMMARY=str(step_summary),
    )
    mlops_bin = str(Path(sys.executable).parent / "mlops")
    proc = execute([mlops_bin, "report", "--baseline", "main"], repo, env)
    assert proc.returncode == 0, proc.stderr
    summary = report_json(repo)
    assert_same_test_split(repo, summary)
    assert summary["candidate"]["model_type"] == "xgboost"
    assert summary["baseline"]["model_type"] == "logreg"
    assert summary["baseline"]["commit"] == run(["git", "rev-parse", "main"], repo).stdout.strip()
    expected = gate.failures(
        gate.evaluate(
            load_params(repo / "params.yaml").gate,
            summary["metrics"]["candidate"],
            summary["metrics"]["baseline"],
            baseline_label="main",
        )
    )
    assert summary["failures"] == expected
    assert summary["verdict"] == ("failed" if expected else "passed")
    text = (repo / "report.md").read_text()
    assert "| model.type | `logreg` | `xgboost` |" in text
    assert "**Model:** `xgboost` (main: `logreg`)" in text
    run_url = "https://github.example/acme/churn/actions/runs/42"
    assert f"[Workflow run]({run_url}) · [Artifacts]({run_url}#artifacts)" in text
    assert step_summary.read_text() == "earlier step\n" + text + "\n"
    assert mlops(repo, "gate", check=False).returncode == (1 if expected else 0)


@pytest.mark.slow
def test_data_change_shows_rows_and_drift_on_one_test_split(trained, tmp_path) -> None:
    repo = branch(trained, tmp_path / "pr")
    csv = repo / "data" / "raw" / "churn.csv"
    frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
    short_tenure = pd.to_numeric(frame["tenure"]) < 12
    removed = int(short_tenure.sum())
    frame[~short_tenure].to_csv(csv, index=False)
    run(["dvc", "add", "data/raw"], repo)
    run(["dvc", "repro"], repo)
    run(["git", "add", "-A"], repo)
    run([*GIT, "commit", "-q", "-m", "drop short-tenure customers"], repo)

    mlops(repo, "report")
    summary = report_json(repo)
    assert_same_test_split(repo, summary)  # both models on the PR's (new) test split
    assert summary["data"]["rows"] == {
        "baseline": 7043,
        "current": 7043 - removed,
        "added": 0,
        "removed": removed,
    }
    assert "tenure" in summary["drift"]["drifted_columns"]
    assert summary["drift"]["top"][0]["feature"] == "tenure"
    assert summary["drift"]["target"]["drifted"]  # short-tenure customers churn most
    text = (repo / "report.md").read_text()
    assert f"**+0 added, −{removed:,} removed**" in text
    assert "| `tenure` | numeric |" in text
    assert "⚠️" in text
    for block in check_markdown(text):
        check_xychart(block)


@pytest.mark.slow
def test_champion_baseline_when_a_tracking_server_is_configured(trained, tmp_path) -> None:
    from ..servers import mlflow_server

    repo = branch(trained, tmp_path / "pr")
    with mlflow_server(tmp_path / "mlflow") as url:
        env = run_env()
        env["MLFLOW_TRACKING_URI"] = url

        def with_server(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
            mlops_bin = str(Path(sys.executable).parent / "mlops")
            proc = execute([mlops_bin, *args], repo, env)
            assert not check or proc.returncode == 0, proc.stderr
            return proc

        # No champion yet: auto falls back to main; --baseline champion is an error.
        with_server("report")
        assert report_json(repo)["baseline"]["kind"] == "main"
        refused = with_server("report", "--baseline", "champion", check=False)
        assert refused.returncode == 1
        assert "has no 'champion' version" in refused.stderr

        with_server("register")
        with_server("promote")
        out = with_server("report")
    summary = report_json(repo)
    assert "baseline champion v1 @" in out.stdout
    assert summary["baseline"]["kind"] == "champion"
    assert summary["baseline"]["commit"] == run(["git", "rev-parse", "HEAD"], repo).stdout.strip()
    # The champion is this very model: same metrics on the same test split, gate passed.
    assert summary["metrics"]["baseline"] == summary["metrics"]["candidate"]
    assert summary["verdict"] == "passed"
    text = (repo / "report.md").read_text()
    assert text.startswith("## ✅ Quality gate passed: this PR vs champion v1\n")
    assert "Not compared: the baseline is champion v1 (registry)" in text


def test_base_rev_defaults_to_main_then_origin_main(tmp_path, monkeypatch) -> None:
    from mlops.report.baseline import BaselineError, resolve_base_rev

    run(["git", "init", "-q", "-b", "feature"], tmp_path)
    run([*GIT, "commit", "-q", "--allow-empty", "-m", "one"], tmp_path)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BaselineError, match=r"git revision 'main' not found \(nor 'origin/main'\)"):
        resolve_base_rev(None)
    run(["git", "update-ref", "refs/remotes/origin/main", "HEAD"], tmp_path)
    assert resolve_base_rev(None) == "origin/main"
    run(["git", "branch", "main"], tmp_path)
    assert resolve_base_rev(None) == "main"
    assert resolve_base_rev("feature") == "feature"
    with pytest.raises(BaselineError, match=r"--base-rev: git revision 'nope' not found$"):
        resolve_base_rev("nope")
