"""A local HTTPS double of the GitHub REST API (GitHub Enterprise layout: ``/api/v3``).

It answers the calls CML's GitHub driver makes to post a report, and records every request:

* ``GET/POST /api/v3/repos/{o}/{r}/issues/{n}/comments``: list / create issue (and PR) comments
* ``GET/PATCH /api/v3/repos/{o}/{r}/issues/comments/{id}``: read / update one of them
* ``GET /api/v3/repos/{o}/{r}/commits/{sha}/pulls``: the PRs whose head is ``sha`` (how CML
  resolves ``--target=pr`` outside a ``pull_request`` event)
* ``GET /api/v3/repos/{o}/{r}/pulls`` and ``/pulls/{n}``
* ``GET/POST /api/v3/repos/{o}/{r}/commits/{sha}/comments`` and
  ``GET/PATCH /api/v3/repos/{o}/{r}/comments/{id}``: commit comments (``--target=commit``)
* ``GET /api/v3/repos/{o}/{r}/actions/artifacts`` (``?name=``), ``/actions/runs/{id}`` and
  ``/actions/runs/{id}/jobs``: the Actions artifacts, runs and jobs ``mlops registry restore``
  selects a store by (:meth:`GitHubAPI.add_run`, :meth:`GitHubAPI.add_artifact`)
* ``GET /api/v3/repos/{o}/{r}/actions/artifacts/{id}/zip``: like GitHub, a 302 to
  ``/blobs/{id}``, signed storage that answers 400 to a request carrying ``Authorization``
* ``POST /assets`` and ``GET /assets/{name}``: a stand-in for CML's image host
  (``--publish-url``), so image publishing can be tested without reaching asset.cml.dev

Every API call must carry ``Authorization: token|Bearer <token>`` (401 "Bad credentials"
otherwise). The server listens on 127.0.0.1 on a free port with a certificate from a throw-away
CA (``trustme``); :meth:`GitHubAPI.client_env` gives the variables that make Python (requests,
ssl), Node (CML) and the ``gh``/curl family trust it.

Use it through the ``github_api`` pytest fixture (started and stopped by the test), or run
``python -m tests.github_api --dir DIR`` to keep one up by hand (prints its URL and CA file).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
import ssl
import threading
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from .github_api_issues import IssueTracker

DEFAULT_TOKEN = "ghs_test_token_for_the_local_double"  # a test value, not a secret
API_PREFIX = "/api/v3"


@dataclass
class Request:
    """One request as the double received it."""

    method: str
    path: str  # without the query string
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any  # parsed JSON, raw bytes for assets, None when empty
    status: int = 0


@dataclass
class Pull:
    owner: str
    repo: str
    number: int
    head_sha: str
    head_ref: str = "feature"
    base_ref: str = "main"
    state: str = "open"
    title: str = ""
    body: str = ""


@dataclass
class Comment:
    id: int
    owner: str
    repo: str
    body: str
    created_at: str
    updated_at: str
    issue_number: int | None = None  # issue / PR comment
    commit_sha: str | None = None  # commit comment
    author: str | None = None  # None: the token's user (GitHubAPI.login)


@dataclass
class WorkflowRun:
    id: int
    repository: str  # owner/name of the run
    workflow: str  # .github/workflows/<file>
    event: str
    head_branch: str
    head_sha: str
    jobs: list[dict[str, Any]]  # {"name", "conclusion", "steps": [{"name", "conclusion"}]}
    head_repository: str = ""  # where the code came from (a fork's name); default repository
    conclusion: str = "success"


@dataclass
class Artifact:
    id: int
    run_id: int
    name: str
    data: bytes  # the zip
    created_at: str
    expired: bool = False


@dataclass
class Redirect:
    """A 302 answer (the handler sends ``Location``)."""

    location: str


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class GitHubAPI:
    """State and address of a running double (see :func:`serve`)."""

    url: str  # https://127.0.0.1:PORT (the "server URL", GITHUB_SERVER_URL)
    ca_path: Path  # PEM bundle of the CA that signed the server certificate
    token: str = DEFAULT_TOKEN
    login: str = "github-actions[bot]"
    requests: list[Request] = field(default_factory=list)
    comments: dict[int, Comment] = field(default_factory=dict)
    pulls: list[Pull] = field(default_factory=list)
    assets: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    runs: dict[int, WorkflowRun] = field(default_factory=dict)
    artifacts: dict[int, Artifact] = field(default_factory=dict)
    tracker: IssueTracker = field(default_factory=IssueTracker)  # issues, PRs, dispatches
    _next_id: int = 1000
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.tracker.pulls, self.tracker.make_pull = self.pulls, Pull

    @property
    def api_url(self) -> str:
        """The REST base URL (GITHUB_API_URL)."""
        return self.url + API_PREFIX

    @property
    def asset_url(self) -> str:
        """Where to POST images: pass as ``cml comment ... --publish-url``."""
        return self.url + "/assets"

    def add_pull(
        self,
        repository: str,
        number: int,
        head_sha: str,
        head_ref: str = "feature",
        base_ref: str = "main",
    ) -> Pull:
        owner, repo = repository.split("/", 1)
        pull = Pull(owner, repo, number, head_sha, head_ref, base_ref)
        self.pulls.append(pull)
        return pull

    def add_issue_comment(
        self, repository: str, number: int, body: str, author: str | None = None
    ) -> Comment:
        """A comment already on the issue or PR (posted by ``author``, default the bot)."""
        owner, repo = repository.split("/", 1)
        with self._lock:
            return self._store(owner, repo, body, issue_number=number, author=author)

    def add_run(
        self,
        repository: str,
        workflow: str,
        event: str,
        jobs: list[dict[str, Any]],
        *,
        head_branch: str = "main",
        head_sha: str = "0" * 40,
        head_repository: str = "",
    ) -> WorkflowRun:
        """A finished workflow run (``workflow`` a file name under .github/workflows/)."""
        with self._lock:
            run = WorkflowRun(
                self._new_id(),
                repository,
                f".github/workflows/{workflow}",
                event,
                head_branch,
                head_sha,
                jobs,
                head_repository or repository,
            )
            if any(job.get("conclusion") != "success" for job in jobs):
                run.conclusion = "failure"
            self.runs[run.id] = run
            return run

    def add_artifact(
        self,
        run: WorkflowRun,
        name: str,
        data: bytes,
        *,
        created_at: str | None = None,
        expired: bool = False,
    ) -> Artifact:
        """An artifact ``run`` uploaded (``data``: its zip, as GitHub serves it)."""
        with self._lock:
            artifact = Artifact(self._new_id(), run.id, name, data, created_at or _now(), expired)
            self.artifacts[artifact.id] = artifact
            return artifact

    def issue_comments(self, repository: str, number: int) -> list[Comment]:
        owner, repo = repository.split("/", 1)
        return [
            c
            for c in sorted(self.comments.values(), key=lambda c: c.id)
            if (c.owner, c.repo, c.issue_number) == (owner, repo, number)
        ]

    def commit_comments(self, repository: str, sha: str) -> list[Comment]:
        owner, repo = repository.split("/", 1)
        return [
            c
            for c in sorted(self.comments.values(), key=lambda c: c.id)
            if (c.owner, c.repo, c.commit_sha) == (owner, repo, sha)
        ]

    def calls(self, method: str | None = None, pattern: str = "") -> list[Request]:
        """Recorded requests, optionally filtered by method and a regex on the path."""
        return [
            r
            for r in self.requests
            if (method is None or r.method == method) and re.search(pattern, r.path)
        ]

    def client_env(self) -> dict[str, str]:
        """Environment that points GitHub clients at the double and makes them trust it."""
        ca = str(self.ca_path)
        return {
            "GITHUB_SERVER_URL": self.url,
            "GITHUB_API_URL": self.api_url,
            "GITHUB_TOKEN": self.token,
            "REQUESTS_CA_BUNDLE": ca,
            "SSL_CERT_FILE": ca,
            "NODE_EXTRA_CA_CERTS": ca,
            "CURL_CA_BUNDLE": ca,
        }

    # --- the objects GitHub returns -------------------------------------------------------

    def _issue_comment_json(self, c: Comment) -> dict[str, Any]:
        base = f"{self.api_url}/repos/{c.owner}/{c.repo}"
        is_pull = any(
            (p.owner, p.repo, p.number) == (c.owner, c.repo, c.issue_number) for p in self.pulls
        )
        kind = "pull" if is_pull else "issues"
        return {
            "id": c.id,
            "node_id": f"IC_{c.id}",
            "url": f"{base}/issues/comments/{c.id}",
            "html_url": f"{self.url}/{c.owner}/{c.repo}/{kind}/{c.issue_number}"
            f"#issuecomment-{c.id}",
            "issue_url": f"{base}/issues/{c.issue_number}",
            "body": c.body,
            "user": {"login": c.author or self.login, "type": "User" if c.author else "Bot"},
            "created_at": c.created_at,
            "updated_at": c.updated_at,
            "author_association": "NONE",
        }

    def _commit_comment_json(self, c: Comment) -> dict[str, Any]:
        return {
            "id": c.id,
            "node_id": f"CC_{c.id}",
            "url": f"{self.api_url}/repos/{c.owner}/{c.repo}/comments/{c.id}",
            "html_url": f"{self.url}/{c.owner}/{c.repo}/commit/{c.commit_sha}#commitcomment-{c.id}",
            "commit_id": c.commit_sha,
            "body": c.body,
            "user": {"login": self.login, "type": "Bot"},
            "created_at": c.created_at,
            "updated_at": c.updated_at,
        }

    def _pull_json(self, p: Pull) -> dict[str, Any]:
        return {
            "id": 100000 + p.number,
            "number": p.number,
            "state": p.state,
            "url": f"{self.api_url}/repos/{p.owner}/{p.repo}/pulls/{p.number}",
            "html_url": f"{self.url}/{p.owner}/{p.repo}/pull/{p.number}",
            "head": {"ref": p.head_ref, "sha": p.head_sha},
            "base": {"ref": p.base_ref},
        }

    # --- routing --------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> Any:
        """Return ``(status, payload)``; payload is JSON-able, or ``(content_type, bytes)``."""
        with self._lock:
            return self._route(method, path, query, body)

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        if path.startswith("/assets"):
            return self._assets(method, path, body)
        if not path.startswith(API_PREFIX + "/"):
            return 404, {"message": "Not Found"}
        rest = path[len(API_PREFIX) :]
        repo_re = r"^/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
        routes: list[tuple[str, str, Any]] = [
            ("GET", repo_re + r"/issues/(?P<n>\d+)/comments$", self._list_issue_comments),
            ("POST", repo_re + r"/issues/(?P<n>\d+)/comments$", self._create_issue_comment),
            ("GET", repo_re + r"/issues/comments/(?P<id>\d+)$", self._get_comment),
            ("PATCH", repo_re + r"/issues/comments/(?P<id>\d+)$", self._update_comment),
            ("GET", repo_re + r"/commits/(?P<sha>[0-9a-fA-F]+)/pulls$", self._commit_pulls),
            ("GET", repo_re + r"/commits/(?P<sha>[0-9a-fA-F]+)/comments$", self._list_commit),
            ("POST", repo_re + r"/commits/(?P<sha>[0-9a-fA-F]+)/comments$", self._create_commit),
            ("GET", repo_re + r"/comments/(?P<id>\d+)$", self._get_comment),
            ("PATCH", repo_re + r"/comments/(?P<id>\d+)$", self._update_comment),
            ("GET", repo_re + r"/pulls$", self._list_pulls),
            ("GET", repo_re + r"/pulls/(?P<n>\d+)$", self._get_pull),
            ("GET", repo_re + r"/actions/artifacts$", self._list_artifacts),
            ("GET", repo_re + r"/actions/artifacts/(?P<id>\d+)/zip$", self._artifact_zip),
            ("GET", repo_re + r"/actions/runs/(?P<id>\d+)$", self._get_run),
            ("GET", repo_re + r"/actions/runs/(?P<id>\d+)/jobs$", self._run_jobs),
            *self.tracker.routes(repo_re),
        ]
        for verb, pattern, func in routes:
            match = re.match(pattern, rest)
            if match and verb == method:
                return func(match.groupdict(), query, body)  # type: ignore[no-any-return]
        if any(re.match(p, rest) for _, p, _ in routes):
            return 405, {"message": "Method Not Allowed"}
        return 404, {"message": "Not Found"}

    @staticmethod
    def _page(items: list[Any], query: dict[str, list[str]]) -> list[Any]:
        per_page = min(int(query.get("per_page", ["30"])[0]), 100)
        page = max(int(query.get("page", ["1"])[0]), 1)
        return items[(page - 1) * per_page : page * per_page]

    def _list_issue_comments(self, m: dict[str, str], q: Any, _b: Any) -> tuple[int, Any]:
        found = self.issue_comments(f"{m['owner']}/{m['repo']}", int(m["n"]))
        return 200, [self._issue_comment_json(c) for c in self._page(found, q)]

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _store(self, owner: str, repo: str, text: str, **where: Any) -> Comment:
        """A new comment (``where``: issue_number or commit_sha, and author); the caller holds
        the lock."""
        now = _now()
        comment = Comment(self._new_id(), owner, repo, text, now, now, **where)
        self.comments[comment.id] = comment
        return comment

    @staticmethod
    def _body_text(body: Any) -> str | None:
        if isinstance(body, dict) and isinstance(body.get("body"), str):
            return str(body["body"])
        return None

    def _create_issue_comment(self, m: dict[str, str], _q: Any, body: Any) -> tuple[int, Any]:
        text = self._body_text(body)
        if text is None:
            return 422, {"message": 'Invalid request.\n\n"body" wasn\'t supplied.'}
        comment = self._store(m["owner"], m["repo"], text, issue_number=int(m["n"]))
        return 201, self._issue_comment_json(comment)

    def _comment_json(self, c: Comment) -> dict[str, Any]:
        if c.commit_sha is not None:
            return self._commit_comment_json(c)
        return self._issue_comment_json(c)

    def _find(self, m: dict[str, str]) -> Comment | None:
        c = self.comments.get(int(m["id"]))
        if c is None or (c.owner, c.repo) != (m["owner"], m["repo"]):
            return None
        return c

    def _get_comment(self, m: dict[str, str], _q: Any, _b: Any) -> tuple[int, Any]:
        c = self._find(m)
        return (404, {"message": "Not Found"}) if c is None else (200, self._comment_json(c))

    def _update_comment(self, m: dict[str, str], _q: Any, body: Any) -> tuple[int, Any]:
        c = self._find(m)
        if c is None:
            return 404, {"message": "Not Found"}
        text = self._body_text(body)
        if text is None:
            return 422, {"message": 'Invalid request.\n\n"body" wasn\'t supplied.'}
        c.body, c.updated_at = text, _now()
        return 200, self._comment_json(c)

    def _commit_pulls(self, m: dict[str, str], q: Any, _b: Any) -> tuple[int, Any]:
        state = q.get("state", ["open"])[0]
        found = [
            p
            for p in self.pulls
            if (p.owner, p.repo) == (m["owner"], m["repo"])
            and p.head_sha.startswith(m["sha"])
            and state in ("all", p.state)
        ]
        return 200, [self._pull_json(p) for p in found]

    def _list_commit(self, m: dict[str, str], q: Any, _b: Any) -> tuple[int, Any]:
        found = [
            c
            for c in self.commit_comments(f"{m['owner']}/{m['repo']}", m["sha"])
            if c.commit_sha == m["sha"]
        ]
        return 200, [self._commit_comment_json(c) for c in self._page(found, q)]

    def _create_commit(self, m: dict[str, str], _q: Any, body: Any) -> tuple[int, Any]:
        text = self._body_text(body)
        if text is None:
            return 422, {"message": 'Invalid request.\n\n"body" wasn\'t supplied.'}
        comment = self._store(m["owner"], m["repo"], text, commit_sha=m["sha"])
        return 201, self._commit_comment_json(comment)

    def _list_pulls(self, m: dict[str, str], q: Any, _b: Any) -> tuple[int, Any]:
        state, head = q.get("state", ["open"])[0], q.get("head", [""])[0]
        found = [
            p
            for p in self.pulls
            if (p.owner, p.repo) == (m["owner"], m["repo"])
            and state in ("all", p.state)
            and (not head or head == f"{p.owner}:{p.head_ref}")
        ]
        return 200, [self._pull_json(p) for p in self._page(found, q)]

    def _get_pull(self, m: dict[str, str], _q: Any, _b: Any) -> tuple[int, Any]:
        for p in self.pulls:
            if (p.owner, p.repo, p.number) == (m["owner"], m["repo"], int(m["n"])):
                return 200, self._pull_json(p)
        return 404, {"message": "Not Found"}

    # --- Actions: artifacts, runs, jobs --------------------------------------------------------

    def _owned(self, m: dict[str, str], run_id: int) -> WorkflowRun | None:
        run = self.runs.get(run_id)
        if run is None or run.repository != f"{m['owner']}/{m['repo']}":
            return None
        return run

    def _artifact_json(self, a: Artifact) -> dict[str, Any]:
        run = self.runs[a.run_id]
        base = f"{self.api_url}/repos/{run.repository}/actions/artifacts/{a.id}"
        return {
            "id": a.id,
            "node_id": f"MDg6QXJ0aWZhY3Q{a.id}",
            "name": a.name,
            "size_in_bytes": len(a.data),
            "url": base,
            "archive_download_url": f"{base}/zip",
            "expired": a.expired,
            "created_at": a.created_at,
            "updated_at": a.created_at,
            "expires_at": "2099-01-01T00:00:00Z",
            "digest": "sha256:" + hashlib.sha256(a.data).hexdigest(),
            "workflow_run": {
                "id": run.id,
                "repository_id": 42,
                "head_repository_id": 42 if run.head_repository == run.repository else 4242,
                "head_branch": run.head_branch,
                "head_sha": run.head_sha,
            },
        }

    def _list_artifacts(self, m: dict[str, str], q: Any, _b: Any) -> tuple[int, Any]:
        name = q.get("name", [None])[0]
        found = [
            a
            for a in sorted(self.artifacts.values(), key=lambda a: a.id, reverse=True)
            if self._owned(m, a.run_id) is not None and (name is None or a.name == name)
        ]
        page = self._page(found, q)
        return 200, {"total_count": len(found), "artifacts": [self._artifact_json(a) for a in page]}

    def _artifact_zip(self, m: dict[str, str], _q: Any, _b: Any) -> tuple[int, Any]:
        a = self.artifacts.get(int(m["id"]))
        if a is None or self._owned(m, a.run_id) is None:
            return 404, {"message": "Not Found"}
        if a.expired:
            return 410, {"message": "Artifact has expired"}
        return 302, Redirect(f"{self.url}/blobs/{a.id}?sig=test-signature")

    def blob(self, path: str, headers: dict[str, str]) -> tuple[int, Any]:
        """Signed storage: the zip, refused to a request that carries a token."""
        if "authorization" in headers:
            body = b"<Error><Code>InvalidAuthenticationInfo</Code></Error>"
            return 400, ("application/xml", body)
        a = self.artifacts.get(int(path.rsplit("/", 1)[1] or 0))
        if a is None:
            return 404, ("application/xml", b"<Error><Code>BlobNotFound</Code></Error>")
        return 200, ("application/zip", a.data)

    def _run_json(self, run: WorkflowRun) -> dict[str, Any]:
        name = run.repository.split("/", 1)[1]
        return {
            "id": run.id,
            "name": Path(run.workflow).stem,
            "path": run.workflow,
            "event": run.event,
            "status": "completed",
            "conclusion": run.conclusion,
            "head_branch": run.head_branch,
            "head_sha": run.head_sha,
            "run_attempt": 1,
            "html_url": f"{self.url}/{run.repository}/actions/runs/{run.id}",
            "repository": {"id": 42, "full_name": run.repository, "name": name},
            "head_repository": {
                "id": 42 if run.head_repository == run.repository else 4242,
                "full_name": run.head_repository,
            },
        }

    def _get_run(self, m: dict[str, str], _q: Any, _b: Any) -> tuple[int, Any]:
        run = self._owned(m, int(m["id"]))
        return (404, {"message": "Not Found"}) if run is None else (200, self._run_json(run))

    def _run_jobs(self, m: dict[str, str], q: Any, _b: Any) -> tuple[int, Any]:
        run = self._owned(m, int(m["id"]))
        if run is None:
            return 404, {"message": "Not Found"}
        jobs = [
            {
                "id": run.id * 100 + i,
                "run_id": run.id,
                "name": job["name"],
                "status": "completed",
                "conclusion": job.get("conclusion"),
                "steps": [
                    {"name": st["name"], "status": "completed",
                     "conclusion": st.get("conclusion"), "number": n}
                    for n, st in enumerate(job.get("steps") or [], start=1)
                ],
            }
            for i, job in enumerate(run.jobs)
        ]  # fmt: skip
        return 200, {"total_count": len(jobs), "jobs": self._page(jobs, q)}

    def _assets(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if method == "POST" and path == "/assets":
            data = body if isinstance(body, bytes) else b""
            if not data:
                return 400, ("text/plain", b"")
            name = hashlib.sha256(data).hexdigest()[:16]
            self.assets[name] = ("application/octet-stream", data)
            # Like asset.cml.dev: the response body is the asset's URL as plain text.
            return 200, ("text/plain", f"{self.url}/assets/{name}".encode())
        if method == "GET" and path.startswith("/assets/"):
            asset = self.assets.get(path.rsplit("/", 1)[1])
            if asset is None:
                return 404, ("text/plain", b"not found")
            return 200, asset
        return 404, ("text/plain", b"not found")


# --- artifacts as GitHub serves them (zips), and the damage a test does to one ---------------


def zip_files(files: dict[str, bytes]) -> bytes:
    """A zip holding ``files`` (path inside the artifact -> content)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in sorted(files.items()):
            archive.writestr(name, data)
    return buffer.getvalue()


def zip_folder(folder: Path, damage: Callable[[dict[str, bytes]], None] | None = None) -> bytes:
    """An uploaded folder as the artifact's zip (``damage`` edits the files first)."""
    files = {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    if damage is not None:
        damage(files)
    return zip_files(files)


def truncate_db(files: dict[str, bytes]) -> None:
    """Damage a saved MLflow store: its SQLite file cut to a third."""
    files["mlflow.db"] = files["mlflow.db"][: len(files["mlflow.db"]) // 3]


def drop_model_files(files: dict[str, bytes]) -> None:
    """Damage a saved MLflow store: every registered model's file gone."""
    for name in [n for n in files if n.endswith("model.joblib")]:
        del files[name]


def _handler(api: GitHubAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _serve(self) -> None:
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            content_type = self.headers.get("Content-Type", "")
            body: Any = None
            if raw and split.path.startswith(API_PREFIX):
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw
            elif raw:
                body = raw
            record = Request(
                method=self.command,
                path=split.path,
                query=parse_qs(split.query),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            api.requests.append(record)
            if split.path.startswith("/blobs/"):
                status, payload = api.blob(split.path, record.headers)
            elif split.path.startswith(API_PREFIX) and not self._authorised():
                status, payload = 401, {"message": "Bad credentials"}
            elif split.path.startswith(API_PREFIX) and raw and body is raw:
                status, payload = 400, {"message": f"Problems parsing JSON ({content_type})"}
            else:
                status, payload = api.handle(self.command, split.path, record.query, body)
            record.status = status
            headers: dict[str, str] = {}
            if isinstance(payload, Redirect):
                headers["Location"] = payload.location
                payload = {"message": "Found"}
            if isinstance(payload, tuple):
                kind, data = payload
            elif status == 204:  # No Content
                kind, data = "application/json; charset=utf-8", b""
            else:
                kind, data = "application/json; charset=utf-8", json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _authorised(self) -> bool:
            value = self.headers.get("Authorization", "")
            scheme, _, token = value.partition(" ")
            return scheme.lower() in ("token", "bearer") and token == api.token

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve  # noqa: N815

    return Handler


@contextlib.contextmanager
def serve(workdir: Path, token: str = DEFAULT_TOKEN) -> Iterator[GitHubAPI]:
    """Run the double on 127.0.0.1 (free port) until the block ends; yields its state."""
    import trustme

    workdir.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_path = workdir / "github-api-ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)

    # The handler class needs the state and the state needs the port: bind first.
    holder: dict[str, GitHubAPI] = {}

    class Server(ThreadingHTTPServer):
        daemon_threads = True

    def make_handler(*args: Any, **kwargs: Any) -> BaseHTTPRequestHandler:
        return _handler(holder["api"])(*args, **kwargs)

    server = Server(("127.0.0.1", 0), make_handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    port = server.server_address[1]
    api = GitHubAPI(url=f"https://127.0.0.1:{port}", ca_path=ca_path, token=token)
    holder["api"] = api
    thread = threading.Thread(target=server.serve_forever, name="github-api-double", daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def github_api(tmp_path: Path) -> Iterator[GitHubAPI]:
    """A running GitHub REST API double, stopped when the test ends."""
    with serve(tmp_path / "github-api") as api:
        yield api


def main() -> None:  # pragma: no cover - manual use
    import argparse
    import time

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, required=True, help="where to write the CA file")
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    args = parser.parse_args()
    with serve(args.dir, args.token) as api:
        print(json.dumps({"url": api.url, "api_url": api.api_url, "ca": str(api.ca_path)}))
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)


if __name__ == "__main__":  # pragma: no cover
    main()
