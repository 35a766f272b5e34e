"""How the template's own workflows propose a change: a branch pushed, and one pull request
opened on it (or, while it is open, updated), whose own pr.yml run then reports ``pr-check``.

One mechanism for every workflow that opens PRs (the monitor's data PR; the tuning PR):

* the branch is committed by ``github-actions[bot]`` and force-pushed to the repository
  (``$GITHUB_SERVER_URL/$GITHUB_REPOSITORY.git``) with the token in an HTTP header for that
  one command (as actions/checkout does), never stored in
  the repository's git config;
* an open PR from the same branch is updated (title, body; the push is its new head), so a
  workflow that runs daily keeps one PR, not one a day;
* GitHub's rules decide whether that PR's checks start by themselves: a PR opened or pushed
  with the workflow's ``GITHUB_TOKEN`` gets its ``pull_request`` runs in an approval-required
  state (a person with write access clicks "Approve workflows to run" on the PR), and
  ``GITHUB_TOKEN`` can open PRs only where *Settings → Actions → General → Allow GitHub Actions
  to create and approve pull requests* is on; a token of a GitHub App (or a fine-grained
  personal access token), given as the ``PR_TOKEN`` secret, avoids both. :func:`checks_note`
  says which applies, in the PR's body.
"""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops.core.errors import MlopsError

if TYPE_CHECKING:
    from mlops.ci.github import GitHub

BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"


def _git(args: list[str], cwd: Path | None = None, secret: str = "") -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        text = (proc.stderr or proc.stdout).replace(secret, "***") if secret else proc.stderr
        last = (text.strip().splitlines() or ["failed"])[-1]
        shown = " ".join(a if not secret or secret not in a else "***" for a in args[:3])
        raise MlopsError(f"git {shown}: {last}")
    return proc.stdout.strip()


def push_branch(
    branch: str, message: str, paths: list[str], token: str, cwd: Path | None = None
) -> str:
    """Commit ``paths`` on ``branch`` (from the current commit) and force-push it to origin;
    the pushed commit's SHA."""
    _git(["checkout", "-q", "-B", branch], cwd)
    _git(["add", "--", *paths], cwd)
    identity = ["-c", f"user.name={BOT_NAME}", "-c", f"user.email={BOT_EMAIL}"]
    _git([*identity, "commit", "-q", "-m", message], cwd)
    server = os.environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    repository = os.environ.get("GITHUB_REPOSITORY", "")
    if not repository:
        raise MlopsError("GITHUB_REPOSITORY is not set: which repository to push to?")
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    header = f"http.{server}/.extraheader=AUTHORIZATION: basic {basic}"
    url = f"{server}/{repository}.git"  # what actions/checkout names origin
    _git(["-c", header, "push", "-q", "--force", url, f"HEAD:refs/heads/{branch}"], cwd,
         secret=basic)  # fmt: skip
    return _git(["rev-parse", "HEAD"], cwd)


def checks_note(app_token: bool) -> str:
    """What a person does so that this PR's own checks run (the body's last section)."""
    if app_token:
        return (
            "This PR was opened with the repository's `PR_TOKEN` (a GitHub App or a personal "
            "access token): its PR workflow runs by itself and reports `pr-check` here."
        )
    return (
        "This PR was opened by a workflow with its `GITHUB_TOKEN`, so GitHub holds its checks: "
        "a person with write access clicks **Approve workflows to run** (at the bottom of this "
        "page) and the PR workflow then trains the candidate, posts its report here and "
        "reports `pr-check`. To skip the click, give the workflow a GitHub App token or a "
        "fine-grained personal access token as the `PR_TOKEN` secret (docs/workflows.md)."
    )


def open_or_update(
    github: GitHub, branch: str, base: str, title: str, body: str
) -> tuple[str, int, str]:
    """``("opened" | "updated", number, html_url)`` of the one PR from ``branch``."""
    owner = github.repository.split("/", 1)[0]
    found = github.paginate("pulls", state="open", head=f"{owner}:{branch}", base=base)
    if found:
        pull = found[0]
        number = int(pull["number"])
        github.send("PATCH", f"pulls/{number}", {"title": title, "body": body})
        return "updated", number, str(pull.get("html_url", ""))
    created: dict[str, Any] = github.send(
        "POST", "pulls", {"title": title, "head": branch, "base": base, "body": body}
    )
    return "opened", int(created["number"]), str(created.get("html_url", ""))


def push_token() -> tuple[str, bool]:
    """The token that pushes the branch and opens the PR: ``PR_TOKEN`` when it is set (a
    GitHub App or personal token: the PR's checks start by themselves), else the workflow's
    ``GITHUB_TOKEN``; and whether it was ``PR_TOKEN``."""
    app_token = os.environ.get("PR_TOKEN", "")
    token = app_token or os.environ.get("GITHUB_TOKEN", "")
    if not token:
        raise MlopsError("neither PR_TOKEN nor GITHUB_TOKEN is set: no push")
    return token, bool(app_token)


@dataclass(frozen=True)
class Proposed:
    action: str  # "opened" | "updated"
    number: int
    url: str
    sha: str  # the pushed head
    note: str  # checks_note: what a person does for the PR's checks


def propose(
    branch: str, base: str, title: str, paths: list[str], body: Callable[[str], str]
) -> Proposed:
    """Push ``paths`` as ``branch`` and open (or update) its one PR, both with
    :func:`push_token`'s token (the PR is opened by the identity that pushed); ``body`` gets
    :func:`checks_note`'s text and returns the PR's body."""
    from mlops.ci.github import GitHub

    token, app_token = push_token()
    sha = push_branch(branch, title, paths, token)
    note = checks_note(app_token)
    github = GitHub.from_env(permission_hint="pull-requests: write", token=token)
    action, number, url = open_or_update(github, branch, base, title, body(note))
    return Proposed(action, number, url, sha, note)
