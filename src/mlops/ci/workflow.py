"""The decisions the GitHub workflows take, as CLI commands that run (and are tested) anywhere.

* ``extras``: the pyproject extras a pipeline job installs (the model families it trains or loads);
* ``changed``: did a pull request touch the pipeline's inputs? (the PR workflow trains only then,
  while its required check still reports success);
* ``needs_failures``: which upstream jobs failed (the required check's verdict);
* ``gpu_check``: the GPU runner's health check (``nvidia-smi``);
* ``no_comment``: why the PR job posted no report comment (CML could not be set up);
* ``smoke_record`` / ``smoke_test``: one record of the test split, and a health check plus one
  prediction against a running service (the deploy workflow's container smoke test).
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops.core.artifacts import (
    DATA_DVC,
    DVC_LOCK,
    PARAMS,
    TEST_SPLIT,
    feature_frame,
    read_prepared,
)
from mlops.core.errors import ArtifactError, MlopsError

if TYPE_CHECKING:
    from mlops.core.config import Params

# What the PR workflow's training depends on: the data, the pipeline, the code, the lock.
PIPELINE_PATHS = (
    PARAMS.as_posix(),
    DATA_DVC.as_posix(),
    "dvc.yaml",
    DVC_LOCK.as_posix(),
    "src/*",
    "expectations/*",
    "uv.lock",
    "pyproject.toml",
)


# What the slow test tier (the act workflow runs, the end-to-end and Spark tests) checks: the
# workflows and their actions, the act harness and its stand-ins, the shared fixtures and the
# fork server that runs the tests' commands, the code the workflows call
# (all of src/: every stage runs in a workflow), the pipeline's definition and the install. A
# pull request that changes none of them (params, data, docs, benchmarks) gets only the fast
# tier; pushes to main and the nightly run always get both (docs/testing.md).
FULL_TEST_PATHS = (
    ".github/*",
    "tests/workflows/*",
    "tests/act_harness.py",
    "tests/github_api.py",
    "tests/servers.py",
    "tests/launcher.py",
    "tests/conftest.py",
    "tests/standins/*",
    "src/*",
    "dvc.yaml",
    "uv.lock",
    "pyproject.toml",
    "Makefile",
    ".ci/*",
    "bentofile.yaml",
    "docker/*",
    "Dockerfile",
)
# `mlops changed --for NAME`: the step output NAME says whether a change touched these paths.
CHANGE_SETS = {"pipeline": PIPELINE_PATHS, "full-tests": FULL_TEST_PATHS}


def matching(files: list[str], patterns: tuple[str, ...] = PIPELINE_PATHS) -> list[str]:
    """The files that match one of the patterns (``*`` also crosses ``/``)."""
    return [f for f in files if any(fnmatch.fnmatchcase(f, p) for p in patterns)]


def changed_files(base: str, head: str = "HEAD", cwd: Path | None = None) -> list[str]:
    """Files that differ between the merge base of ``base`` and ``head``, and ``head``."""
    failure = f"--base {base}: cannot diff against it"
    out = _git(["diff", "--name-only", f"{base}...{head}"], cwd, failure)
    return [line for line in out.splitlines() if line]


def _git(args: list[str], cwd: Path | None, failure: str) -> str:
    """``git ARGS``'s output; an error naming ``failure`` and git's last word otherwise."""
    proc = subprocess.run(["git", *args], capture_output=True, text=True, cwd=cwd)
    if proc.returncode != 0:
        detail = proc.stderr.strip().splitlines()[-1:] or [f"git {args[0]} failed"]
        raise MlopsError(f"{failure} ({detail[0]})")
    return proc.stdout


def model_type(doc: Any, source: str) -> str:
    """``model.type`` of a params.yaml document (read as YAML only: any revision's schema)."""
    model = doc.get("model") if isinstance(doc, dict) else None
    kind = model.get("type") if isinstance(model, dict) else None
    if not isinstance(kind, str):
        raise MlopsError(f"{source}: no model.type")
    return kind


def params_at(rev: str, cwd: Path | None = None) -> Any:
    """params.yaml as it is at git revision ``rev``."""
    import yaml

    failure = f"--base-rev {rev}: cannot read {PARAMS} there"
    return yaml.safe_load(_git(["show", f"{rev}:{PARAMS.as_posix()}"], cwd, failure))


def needed_extras(model_types: list[str]) -> list[str]:
    """The pyproject extras that hold the libraries of these model families (sorted)."""
    from mlops.models import MODEL_FAMILIES

    unknown = [t for t in model_types if t not in MODEL_FAMILIES]
    if unknown:
        raise MlopsError(
            f"model.type {unknown[0]!r} is not a model family ({', '.join(MODEL_FAMILIES)})"
        )
    return sorted({e for t in model_types if (e := MODEL_FAMILIES[t].extra) is not None})


def write_output(name: str, value: str) -> None:
    """Set a step output (``$GITHUB_OUTPUT``) when running in GitHub Actions."""
    target = os.environ.get("GITHUB_OUTPUT")
    if target:
        with Path(target).open("a", encoding="utf-8") as handle:
            handle.write(f"{name}={value}\n")


def needs_failures(needs: dict[str, Any]) -> list[str]:
    """``toJSON(needs)`` → the jobs whose result is failure or cancelled, as ``job (result)``."""
    return [
        f"{job} ({info.get('result')})"
        for job, info in sorted(needs.items())
        if isinstance(info, dict) and info.get("result") in ("failure", "cancelled")
    ]


def parse_needs(text: str) -> dict[str, Any]:
    try:
        needs = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MlopsError(f"--needs: not JSON ({exc.msg} at position {exc.pos})") from exc
    if not isinstance(needs, dict):
        raise MlopsError("--needs: expected a JSON object of jobs (toJSON(needs))")
    return needs


def gpu_check() -> list[str]:
    """The GPUs ``nvidia-smi`` lists (name, memory, driver); an error when there are none."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        raise MlopsError("nvidia-smi not found: this runner has no NVIDIA driver (GPU runner?)")
    proc = subprocess.run(
        [smi, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    gpus = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not gpus:
        detail = (proc.stderr.strip() or "no GPU listed").splitlines()[0]
        raise MlopsError(f"nvidia-smi failed (exit {proc.returncode}): {detail}")
    return gpus


def smoke_record(params: Params, output: Path) -> dict[str, Any]:
    """The first record of the prepared test split, as the service expects it (JSON)."""
    if not TEST_SPLIT.exists():
        raise ArtifactError(f"{TEST_SPLIT} not found: run `dvc repro` first")
    frame = feature_frame(read_prepared("test"), params).head(1)
    record = json.loads(frame.to_json(orient="records"))[0]
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return dict(record)


def _request(url: str, body: bytes | None = None, timeout: float = 10.0) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url,
        data=body,
        headers={"content-type": "application/json"} if body is not None else {},
        method="POST" if body is not None else "GET",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


def smoke_test(url: str, record: dict[str, Any], wait: float = 60.0) -> dict[str, Any]:
    """Wait for ``/readyz``, then one ``/predict``; returns the prediction or raises."""
    base = url.rstrip("/")
    deadline = time.monotonic() + wait
    last = "no answer"
    while True:
        try:
            status, _ = _request(f"{base}/readyz", timeout=5)
            if status == 200:
                break
            last = f"HTTP {status}"
        except OSError as exc:
            last = str(exc)
        if time.monotonic() > deadline:
            raise MlopsError(f"{base}/readyz: not ready after {wait:.0f}s ({last})")
        time.sleep(1)
    status, body = _request(f"{base}/predict", json.dumps({"records": [record]}).encode())
    if status != 200:
        raise MlopsError(f"{base}/predict: HTTP {status}: {body[:300].decode(errors='replace')}")
    answer = json.loads(body)
    if not (isinstance(answer, list) and len(answer) == 1 and isinstance(answer[0], dict)):
        raise MlopsError(f"{base}/predict: unexpected answer {body[:300].decode(errors='replace')}")
    status, document = _request(f"{base}/docs.json")
    if status != 200:
        raise MlopsError(f"{base}/docs.json: HTTP {status}")
    check_answer(answer[0], output_fields(json.loads(document)), f"{base}/predict")
    return dict(answer[0])


def output_fields(openapi: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The output columns a service promises per record, from its OpenAPI document."""
    try:
        ok = openapi["paths"]["/predict"]["post"]["responses"]["200"]
        record = ok["content"]["application/json"]["schema"]["oneOf"][0]["items"]
        return dict(record["properties"])
    except (KeyError, IndexError, TypeError):
        raise MlopsError("the service's OpenAPI document describes no /predict record") from None


def check_answer(row: dict[str, Any], fields: dict[str, dict[str, Any]], where: str) -> None:
    """``row`` holds every promised output, each of its type, in its range or enum."""
    for name, spec in fields.items():
        if name not in row:
            raise MlopsError(f"{where}: the answer has no {name!r} (promised: {', '.join(fields)})")
        value = row[name]
        if spec.get("type") == "number":
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            ok = ok and spec.get("minimum", value) <= value <= spec.get("maximum", value)
        else:
            ok = isinstance(value, str) and value in spec.get("enum", [value])
        if not ok:
            raise MlopsError(f"{where}: {name} {value!r} does not match its schema {spec}")


def run_url() -> str | None:
    """This workflow run's page on GitHub (None outside GitHub Actions)."""
    keys = ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    server, repo, run = (os.environ.get(k) for k in keys)
    return f"{server}/{repo}/actions/runs/{run}" if server and repo and run else None


def write_summary(markdown: str) -> None:
    """Append to the job summary (``$GITHUB_STEP_SUMMARY``) when running in GitHub Actions."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        with Path(target).open("a", encoding="utf-8") as handle:
            handle.write(markdown.rstrip("\n") + "\n\n")


def no_comment(reason: str) -> str:
    """Why the PR job posted no report comment, as a warning annotation and in the job summary.

    The report itself is already in the job summary (``mlops report``); the gate still decides
    the job, so a GitHub outage or API limit does not turn a good PR red.
    """
    message = (
        f"No report comment was posted on the PR: {reason}. The report is in this job's summary "
        "and in the pr-report artifact; re-run the job to post the comment."
    )
    print(f"::warning title=No PR comment::{message}")
    write_summary(f"**No PR comment**: {message}")
    return message


def registry_summary(line: str, uri: str) -> str:
    """The job-summary lines for a registry action, saying where the registry lives."""
    text = f"**Model registry**: {line}  \nTracking URI: `{uri}`"
    if uri.startswith("sqlite:") or "://" not in uri:
        text += (
            "  \nThe registry is the local MLflow store that production runs hand on as the "
            "`mlflow-store` artifact (see **Registry store**). For one that never expires, set "
            "the repository variable `MLFLOW_TRACKING_URI` to your tracking server (credentials: "
            "see docs/workflows.md)."
        )
    return text


def image_digest(image: str) -> str:
    """The pushed image's ``name@sha256:...`` (``docker image inspect``)."""
    docker = shutil.which("docker")
    if docker is None:
        raise MlopsError("docker not found on PATH")
    proc = subprocess.run(
        [docker, "image", "inspect", "--format", "{{json .RepoDigests}}", image],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise MlopsError(f"{image}: docker image inspect failed: {proc.stderr.strip()[:300]}")
    digests = json.loads(proc.stdout or "[]") or []
    if not digests:
        raise MlopsError(f"{image}: no registry digest (was it pushed?)")
    return str(digests[0])
