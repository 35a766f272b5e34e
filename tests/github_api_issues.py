"""The GitHub API double's issues and workflow dispatches (tests/github_api.py routes them
here): what ``mlops monitor-issue`` and ``mlops dispatch-retrain`` call.

* ``GET /repos/{o}/{r}/issues`` (``state``, ``labels``: all of the comma-separated labels),
  ``POST`` to open one, ``GET``/``PATCH /issues/{n}`` (title, body, state, labels);
* ``POST /repos/{o}/{r}/pulls`` (a PR from a branch: ``head``, ``base``, ``title``, ``body``)
  and ``PATCH /pulls/{n}``, on the double's own list of PRs (its ``GET /pulls`` lists them);
* ``POST /repos/{o}/{r}/actions/workflows/{file}/dispatches`` answered 204, recorded.

Comments on an issue are the double's issue comments (``POST /issues/{n}/comments``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Issue:
    owner: str
    repo: str
    number: int
    title: str
    body: str
    labels: list[str]
    state: str = "open"


@dataclass
class Dispatch:
    owner: str
    repo: str
    workflow: str
    ref: str
    inputs: dict[str, Any]


@dataclass
class IssueTracker:
    issues: dict[int, Issue] = field(default_factory=dict)
    dispatches: list[Dispatch] = field(default_factory=list)
    pulls: list[Any] = field(default_factory=list)  # the double's PRs (GitHubAPI sets both)
    make_pull: Callable[..., Any] | None = None
    _next_number: int = 100  # PRs of the tests are numbered below

    def routes(self, repo_re: str) -> list[tuple[str, str, Any]]:
        return [
            ("GET", repo_re + r"/issues$", self._list),
            ("POST", repo_re + r"/issues$", self._create),
            ("GET", repo_re + r"/issues/(?P<n>\d+)$", self._get),
            ("PATCH", repo_re + r"/issues/(?P<n>\d+)$", self._update),
            ("POST", repo_re + r"/actions/workflows/(?P<wf>[^/]+)/dispatches$", self._dispatch),
            ("POST", repo_re + r"/pulls$", self._create_pull),
            ("PATCH", repo_re + r"/pulls/(?P<n>\d+)$", self._update_pull),
        ]

    def of(self, repository: str, label: str | None = None) -> list[Issue]:
        owner, repo = repository.split("/", 1)
        return [
            i
            for i in self.issues.values()
            if (i.owner, i.repo) == (owner, repo) and (label is None or label in i.labels)
        ]

    @staticmethod
    def _json(issue: Issue) -> dict[str, Any]:
        return {
            "number": issue.number,
            "title": issue.title,
            "body": issue.body,
            "state": issue.state,
            "labels": [{"name": name} for name in issue.labels],
            "html_url": f"https://github.com/{issue.owner}/{issue.repo}/issues/{issue.number}",
        }

    def _list(self, m: dict[str, str], q: dict[str, list[str]], _b: Any) -> tuple[int, Any]:
        state = q.get("state", ["open"])[0]
        wanted = [x for x in q.get("labels", [""])[0].split(",") if x]
        found = [
            self._json(i)
            for i in sorted(self.issues.values(), key=lambda i: i.number)
            if (i.owner, i.repo) == (m["owner"], m["repo"])
            and (state == "all" or i.state == state)
            and all(label in i.labels for label in wanted)
        ]
        page, per_page = int(q.get("page", ["1"])[0]), min(int(q.get("per_page", ["30"])[0]), 100)
        return 200, found[(page - 1) * per_page : page * per_page]

    def _create(self, m: dict[str, str], _q: Any, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict) or not body.get("title"):
            return 422, {"message": "Validation Failed: title is missing"}
        number, self._next_number = self._next_number, self._next_number + 1
        issue = Issue(m["owner"], m["repo"], number, str(body["title"]), str(body.get("body", "")),
                      [str(x) for x in body.get("labels", [])])  # fmt: skip
        self.issues[number] = issue
        return 201, self._json(issue)

    def _find(self, m: dict[str, str]) -> Issue | None:
        issue = self.issues.get(int(m["n"]))
        return issue if issue and (issue.owner, issue.repo) == (m["owner"], m["repo"]) else None

    def _get(self, m: dict[str, str], _q: Any, _b: Any) -> tuple[int, Any]:
        issue = self._find(m)
        return (200, self._json(issue)) if issue else (404, {"message": "Not Found"})

    def _update(self, m: dict[str, str], _q: Any, body: Any) -> tuple[int, Any]:
        issue = self._find(m)
        if issue is None:
            return 404, {"message": "Not Found"}
        for key in ("title", "body", "state"):
            if key in (body or {}):
                setattr(issue, key, str(body[key]))
        if "labels" in (body or {}):
            issue.labels = [str(x) for x in body["labels"]]
        return 200, self._json(issue)

    def _dispatch(self, m: dict[str, str], _q: Any, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict) or not body.get("ref"):
            return 422, {"message": "Invalid request: ref is missing"}
        inputs = body.get("inputs") or {}
        if not all(isinstance(v, str) for v in inputs.values()):
            return 422, {"message": "Invalid request: input values must be strings"}
        self.dispatches.append(Dispatch(m["owner"], m["repo"], m["wf"], body["ref"], inputs))
        return 204, None

    def _create_pull(self, m: dict[str, str], _q: Any, body: Any) -> tuple[int, Any]:
        body = body if isinstance(body, dict) else {}
        if not (body.get("head") and body.get("base") and body.get("title")):
            return 422, {"message": "Validation Failed: head, base and title are required"}
        if any(p.head_ref == body["head"] and p.state == "open" for p in self.pulls):
            return 422, {"message": f"A pull request already exists for {body['head']}."}
        assert self.make_pull is not None
        number, self._next_number = self._next_number, self._next_number + 1
        pull = self.make_pull(m["owner"], m["repo"], number, "", str(body["head"]),
                              str(body["base"]), title=str(body["title"]),
                              body=str(body.get("body", "")))  # fmt: skip
        self.pulls.append(pull)
        return 201, self._pull_doc(pull)

    def _update_pull(self, m: dict[str, str], _q: Any, body: Any) -> tuple[int, Any]:
        for pull in self.pulls:
            if (pull.owner, pull.repo, pull.number) == (m["owner"], m["repo"], int(m["n"])):
                for key in ("title", "body", "state"):
                    if key in (body or {}):
                        setattr(pull, key, str(body[key]))
                return 200, self._pull_doc(pull)
        return 404, {"message": "Not Found"}

    @staticmethod
    def _pull_doc(pull: Any) -> dict[str, Any]:
        return {
            "number": pull.number,
            "state": pull.state,
            "title": pull.title,
            "head": {"ref": pull.head_ref, "sha": pull.head_sha},
            "base": {"ref": pull.base_ref},
            "html_url": f"https://github.com/{pull.owner}/{pull.repo}/pull/{pull.number}",
        }


def git_push_to(bare: Any, server_url: str, repository: str) -> dict[str, str]:
    """Environment that makes git push the repository's GitHub URL (``server_url/repository.git``,
    the double's host) to the local bare repository ``bare`` instead: git's ``insteadOf``
    through its environment, so it reaches the jobs act runs too."""
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"url.{bare}.insteadOf",
        "GIT_CONFIG_VALUE_0": f"{server_url}/{repository}.git",
    }
