"""The GitHub REST API, as the workflows' commands use it (standard library only).

One client for every call: the merged PR of a commit and its comments (``mlops
check-reproduction``), and the Actions artifacts, runs and jobs that ``mlops registry restore``
selects a trusted MLflow store from. The repository, the API address and the token come from
the variables GitHub Actions sets (``GITHUB_REPOSITORY``, ``GITHUB_API_URL``) and the step's
``env: GITHUB_TOKEN: ${{ github.token }}``.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops.core.errors import MlopsError

API_VERSION = "2022-11-28"
USER_AGENT = "mlops-template"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Hand a redirect back to the caller instead of following it (with the token)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class GitHub:
    api_url: str
    repository: str
    token: str
    permission_hint: str = "pull-requests: read"  # what a 403/404 most likely lacks

    @classmethod
    def from_env(
        cls, repository: str | None = None, permission_hint: str = "", token: str | None = None
    ) -> GitHub:
        """The client of the job's environment (``token``: instead of ``GITHUB_TOKEN``)."""
        repository = repository or os.environ.get("GITHUB_REPOSITORY", "")
        token = token or os.environ.get("GITHUB_TOKEN", "")
        if not repository:
            raise MlopsError("--repo not given and GITHUB_REPOSITORY is not set")
        if not token:
            raise MlopsError(
                "GITHUB_TOKEN is not set (the step needs `env: GITHUB_TOKEN: ${{ github.token }}`)"
            )
        api = os.environ.get("GITHUB_API_URL") or "https://api.github.com"
        github = cls(api.rstrip("/"), repository, token)
        if permission_hint:
            github.permission_hint = permission_hint
        return github

    def _headers(self) -> dict[str, str]:
        return {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {self.token}",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": USER_AGENT,
        }

    def _error(self, url: str, exc: urllib.error.HTTPError) -> MlopsError:
        hint = f" (does the job have `{self.permission_hint}`?)" if exc.code in (403, 404) else ""
        return MlopsError(f"GET {url}: HTTP {exc.code} {exc.reason}{hint}")

    def get(self, path: str, **query: Any) -> Any:
        """``GET /repos/{repository}/{path}`` as JSON."""
        url = f"{self.api_url}/repos/{self.repository}/{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        request = urllib.request.Request(url, headers=self._headers())
        try:
            with _opener().open(request, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise self._error(url, exc) from exc
        except (urllib.error.URLError, TimeoutError, json.JSONDecodeError) as exc:
            raise MlopsError(f"GET {url}: {exc}") from exc

    def send(self, method: str, path: str, payload: dict[str, Any]) -> Any:
        """``POST``/``PATCH`` ``/repos/{repository}/{path}`` with a JSON body; the answer's JSON
        (None for 204 No Content)."""
        url = f"{self.api_url}/repos/{self.repository}/{path}"
        request = urllib.request.Request(
            url,
            data=json.dumps(payload).encode(),
            headers={**self._headers(), "Content-Type": "application/json"},
            method=method,
        )
        try:
            with _opener().open(request, timeout=30) as response:
                text = response.read()
                return json.loads(text) if text else None
        except urllib.error.HTTPError as exc:
            error = self._error(url, exc)
            raise MlopsError(str(error).replace("GET ", f"{method} ", 1)) from exc
        except (urllib.error.URLError, TimeoutError, json.JSONDecodeError) as exc:
            raise MlopsError(f"{method} {url}: {exc}") from exc

    # --- pull requests (mlops check-reproduction) ---------------------------------------------

    def pull_of_commit(self, sha: str) -> dict[str, Any] | None:
        """The merged PR that brought ``sha`` (else the first PR GitHub associates with it)."""
        pulls = self.get(f"commits/{sha}/pulls") or []
        if not pulls:
            return None
        merged = [p for p in pulls if p.get("merged_at")]
        return dict((merged or pulls)[0])

    def paginate(
        self, path: str, key: str | None = None, limit: int | None = None, **query: Any
    ) -> list[dict[str, Any]]:
        """Every item of a listing, 100 a page: the answer itself is the list, or (``key``) the
        list is one field of it (``{"total_count": ..., "artifacts": [...]}``)."""
        out: list[dict[str, Any]] = []
        page = 1
        while limit is None or len(out) < limit:
            answer = self.get(path, **query, per_page=100, page=page)
            if key is not None:
                answer = (answer or {}).get(key)
            batch = list(answer or [])
            out.extend(batch)
            if len(batch) < 100:
                break
            page += 1
        return out if limit is None else out[:limit]

    def comments(self, number: int) -> list[dict[str, Any]]:
        return self.paginate(f"issues/{number}/comments")

    # --- Actions: artifacts, runs, jobs (mlops registry restore) -------------------------------

    def artifacts(self, name: str, limit: int = 500) -> list[dict[str, Any]]:
        """The repository's artifacts called ``name``, as the API lists them (newest first)."""
        return self.paginate("actions/artifacts", "artifacts", limit, name=name)

    def run(self, run_id: int) -> dict[str, Any]:
        return dict(self.get(f"actions/runs/{run_id}"))

    def jobs(self, run_id: int) -> list[dict[str, Any]]:
        """The jobs of a run's latest attempt (with their steps)."""
        return self.paginate(f"actions/runs/{run_id}/jobs", "jobs")

    def download_artifact(self, artifact_id: int, dest: Path) -> None:
        """Write the artifact's zip to ``dest``.

        The API answers with a redirect to short-lived signed storage: that address is fetched
        without the token (storage refuses an ``Authorization`` it did not issue, and the token
        must not leave GitHub anyway).
        """
        url = f"{self.api_url}/repos/{self.repository}/actions/artifacts/{artifact_id}/zip"
        request = urllib.request.Request(url, headers=self._headers())
        location: str | None = None
        try:
            with _opener(_NoRedirect).open(request, timeout=60) as response:
                _copy(response, dest)  # answered directly (no redirect)
                return
        except urllib.error.HTTPError as exc:
            if exc.code not in (301, 302, 303, 307, 308):
                raise self._error(url, exc) from exc
            location = exc.headers.get("Location")
        except (urllib.error.URLError, TimeoutError) as exc:
            raise MlopsError(f"GET {url}: {exc}") from exc
        if not location:
            raise MlopsError(f"GET {url}: a redirect without a Location")
        plain = urllib.request.Request(location, headers={"User-Agent": USER_AGENT})
        try:
            with _opener().open(plain, timeout=300) as response:
                _copy(response, dest)
        except urllib.error.HTTPError as exc:
            raise MlopsError(f"downloading artifact {artifact_id}: HTTP {exc.code}") from exc
        except (urllib.error.URLError, TimeoutError) as exc:
            raise MlopsError(f"downloading artifact {artifact_id}: {exc}") from exc


def _opener(*handlers: Any) -> urllib.request.OpenerDirector:
    """A new opener per call: its TLS context reads the CA settings (``SSL_CERT_FILE``) as
    they are now, not as they were at the process's first request."""
    return urllib.request.build_opener(*handlers)


def _copy(response: Any, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("wb") as handle:
        while chunk := response.read(1 << 20):
            handle.write(chunk)
