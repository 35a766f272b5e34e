"""The GitHub REST API double and the stand-in ``cml comment`` talking to it over HTTPS."""

from __future__ import annotations

import json
import os
import re
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from ..conftest import REPO_ROOT
from ..github_api import GitHubAPI

STANDIN = REPO_ROOT / "tests" / "standins" / "setup-cml"
CML = STANDIN / "cml"
REPOSITORY = "acme/churn"
SHA = "0123456789abcdef0123456789abcdef01234567"
WATERMARK_RE = re.compile(r'!\[\]\(https://cml\.dev/watermark\.png#([0-9a-f]+) "([^"]*)"\)')


def cml(
    api: GitHubAPI, cwd: Path, *args: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CML_"))}
    env.update(api.client_env())
    env.update({"GITHUB_REPOSITORY": REPOSITORY, "GITHUB_SHA": SHA, "GITHUB_EVENT_NAME": "push"})
    env.update(extra_env or {})
    return subprocess.run(
        [sys.executable, str(CML), *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.fixture
def report(tmp_path: Path) -> Path:
    path = tmp_path / "report.md"
    path.write_text("# Report\n\n| metric | value |\n|---|---|\n| roc_auc | 0.84 |\n")
    return path


def test_double_requires_the_token_and_records_requests(github_api: GitHubAPI) -> None:
    context = ssl.create_default_context(cafile=str(github_api.ca_path))
    url = f"{github_api.api_url}/repos/{REPOSITORY}/issues/1/comments"
    with pytest.raises(urllib.error.HTTPError) as denied:
        urllib.request.urlopen(url, context=context, timeout=10)
    assert denied.value.code == 401
    request = urllib.request.Request(url, headers={"Authorization": f"token {github_api.token}"})
    with urllib.request.urlopen(request, context=context, timeout=10) as response:
        assert json.loads(response.read()) == []
    assert [(r.method, r.status) for r in github_api.requests] == [("GET", 401), ("GET", 200)]


def test_update_creates_then_edits_the_same_pr_comment(
    github_api: GitHubAPI, report: Path, tmp_path: Path
) -> None:
    github_api.add_pull(REPOSITORY, 7, head_sha=SHA)
    args = ("comment", "update", "--target=pr", "--watermark-title=PR report", str(report))
    first = ok(cml(github_api, tmp_path, *args))
    (comment,) = github_api.issue_comments(REPOSITORY, 7)
    assert first == f"{github_api.url}/{REPOSITORY}/pull/7#issuecomment-{comment.id}"
    # CML's body: the report, a blank line, then the watermark with the commit sha and title.
    assert comment.body == report.read_text() + "\n\n" + (
        f'![](https://cml.dev/watermark.png#{SHA} "CML watermark PR report")'
    )
    # The PR was found from the commit, as CML does outside a pull_request event.
    assert github_api.calls("GET", rf"/commits/{SHA}/pulls$")
    assert github_api.calls("GET", r"/commits/")[0].query == {"state": ["open"]}

    report.write_text("# Report, second push\n")
    second_sha = "fedcba9876543210fedcba9876543210fedcba98"
    github_api.pulls[0].head_sha = second_sha  # a new push to the PR's branch
    again = ok(cml(github_api, tmp_path, *args, extra_env={"GITHUB_SHA": second_sha}))
    assert again == first
    (updated,) = github_api.issue_comments(REPOSITORY, 7)
    assert updated.id == comment.id
    assert updated.body.startswith("# Report, second push\n\n\n![](")
    assert WATERMARK_RE.search(updated.body).group(1) == second_sha  # type: ignore[union-attr]
    assert len(github_api.calls("POST")) == 1
    (patch,) = github_api.calls("PATCH")
    assert patch.path == f"/api/v3/repos/{REPOSITORY}/issues/comments/{comment.id}"
    assert patch.headers["authorization"] == f"token {github_api.token}"


def test_update_uses_the_pull_request_event_and_leaves_other_comments(
    github_api: GitHubAPI, report: Path, tmp_path: Path
) -> None:
    head = "abcdefabcdefabcdefabcdefabcdefabcdefabcd"
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 12, "head": {"sha": head}}}))
    pr_env = {"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event)}
    # A human's comment and a comment of another watermark title are on the PR already.
    ok(cml(github_api, tmp_path, "comment", "create", "--target=pr/12", "--rm-watermark",
           str(report)))  # fmt: skip
    ok(cml(github_api, tmp_path, "comment", "create", "--target=pr", "--watermark-title=other",
           str(report), extra_env=pr_env))  # fmt: skip
    args = ("comment", "update", "--target=pr", "--watermark-title=PR_report*", str(report))
    ok(cml(github_api, tmp_path, *args, extra_env=pr_env))
    ok(cml(github_api, tmp_path, *args, extra_env=pr_env))
    bodies = [c.body for c in github_api.issue_comments(REPOSITORY, 12)]
    assert len(bodies) == 3
    assert WATERMARK_RE.search(bodies[0]) is None
    assert WATERMARK_RE.findall(bodies[1]) == [(head, "CML watermark other")]
    # Underscores and asterisks in the title are escaped as CML escapes them.
    assert WATERMARK_RE.findall(bodies[2]) == [(head, r"CML watermark PR\_report\*")]
    assert not github_api.calls("GET", r"/pulls")  # the event named the PR
    assert len(github_api.calls("PATCH")) == 1


def test_targets_and_errors(github_api: GitHubAPI, report: Path, tmp_path: Path) -> None:
    missing = cml(github_api, tmp_path, "comment", "update", "--target=pr", str(report))
    assert missing.returncode == 1
    assert f'PR for commit sha "{SHA}" not found' in missing.stderr
    # auto falls back to a commit comment; a second update edits it.
    ok(cml(github_api, tmp_path, "comment", "update", str(report)))
    ok(cml(github_api, tmp_path, "comment", "update", str(report)))
    (commit_comment,) = github_api.commit_comments(REPOSITORY, SHA)
    assert WATERMARK_RE.findall(commit_comment.body) == [(SHA, "CML watermark")]
    assert github_api.calls("PATCH", rf"/repos/{REPOSITORY}/comments/{commit_comment.id}$")
    # An explicit --repo overrides GITHUB_REPOSITORY; a wrong token is refused.
    other = ok(cml(github_api, tmp_path, "comment", "create", "--target=issue/3",
                   f"--repo={github_api.url}/acme/other.git", str(report)))  # fmt: skip
    assert other.startswith(f"{github_api.url}/acme/other/issues/3#issuecomment-")
    denied = cml(github_api, tmp_path, "comment", "create", "--target=pr/1", str(report),
                 extra_env={"GITHUB_TOKEN": "wrong"})  # fmt: skip
    assert denied.returncode == 1
    assert "HTTP 401: Bad credentials" in denied.stderr
    # REPO_TOKEN wins over GITHUB_TOKEN, as in CML.
    ok(cml(github_api, tmp_path, "comment", "create", "--target=pr/1", str(report),
           extra_env={"GITHUB_TOKEN": "wrong", "REPO_TOKEN": github_api.token}))  # fmt: skip


def test_publishing_images(github_api: GitHubAPI, tmp_path: Path) -> None:
    github_api.add_pull(REPOSITORY, 5, head_sha=SHA)
    images = tmp_path / "reports" / "report"
    images.mkdir(parents=True)
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(32))
    (images / "roc.png").write_bytes(png)
    report = tmp_path / "report.md"
    text = "![ROC](reports/report/roc.png)\n\n[site](https://example.invalid/x.png)\n"
    report.write_text(text)
    args = ("comment", "update", "--target=pr", "--watermark-title=r", str(report))

    # CML's default publish URL is a third-party host: the stand-in refuses to reach it.
    refused = cml(github_api, tmp_path, *args)
    assert refused.returncode == 1
    assert "does not upload roc.png to https://asset.cml.dev" in refused.stderr
    assert not github_api.comments

    ok(cml(github_api, tmp_path, *args, f"--publish-url={github_api.asset_url}"))
    (comment,) = github_api.issue_comments(REPOSITORY, 5)
    match = re.search(r"!\[ROC\]\((\S+)\)", comment.body)
    assert match is not None
    url = match.group(1)
    assert re.fullmatch(
        rf"{re.escape(github_api.url)}/assets/[0-9a-f]+\?cml=png&cache-bypass=[0-9a-f-]{{36}}", url
    )
    (upload,) = github_api.calls("POST", r"^/assets$")
    assert upload.body == png
    assert upload.headers["content-type"] == "image/png"
    assert upload.headers["content-disposition"] == 'inline; filename="roc.png"'
    assert "[site](https://example.invalid/x.png)" in comment.body  # remote links untouched

    # --no-publish (or CML_COMMENT_PUBLISH=false) keeps the local links as written.
    ok(cml(github_api, tmp_path, *args, extra_env={"CML_COMMENT_PUBLISH": "false"}))
    (comment,) = github_api.issue_comments(REPOSITORY, 5)
    assert comment.body.startswith(text + "\n\n![](https://cml.dev/watermark.png#")


def test_setup_cml_action_puts_cml_on_path(tmp_path: Path) -> None:
    action = yaml.safe_load((STANDIN / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    fail, step = action["runs"]["steps"]
    assert fail["if"] == "env.STANDIN_SETUP_CML_FAIL != ''"  # only when a test asks for it
    github_path = tmp_path / "github_path"
    env = dict(os.environ, GITHUB_ACTION_PATH=str(STANDIN), GITHUB_PATH=str(github_path))
    env.pop("STANDIN_SETUP_CML_FAIL", None)
    subprocess.run([step["shell"], "-e", "-c", step["run"]], env=env, check=True)
    failed = subprocess.run(
        [fail["shell"], "-e", "-c", fail["run"]],
        env={**env, "STANDIN_SETUP_CML_FAIL": "API rate limit exceeded"},
        capture_output=True,
        text=True,
    )
    assert failed.returncode == 1 and "::error::API rate limit exceeded" in failed.stdout
    (added,) = github_path.read_text().splitlines()
    assert Path(added, "cml") == CML
    assert os.access(CML, os.X_OK)
    assert CML.read_text().startswith("#!/usr/bin/env python3\n")
