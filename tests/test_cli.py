"""The CLI entry point: fast, light start-up and the stage commands."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys

from .conftest import REPO_ROOT, VENV_BIN, run_env

HEAVY = ("tensorflow", "mlflow", "great_expectations", "bentoml", "sklearn", "xgboost", "pandas")


def test_help_does_not_import_heavy_packages():
    code = (
        "import sys, json, contextlib, io\n"
        "from mlops.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=run_env()
    )
    loaded = set(json.loads(proc.stdout))
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


# Every subcommand: the pipeline's stages, the report and gate, the registry, serving and the
# commands the workflows call. Deleting or renaming one must fail this file.
COMMANDS = {
    "check-params", "validate", "drift", "prepare", "train", "evaluate", "report", "gate",
    "register", "promote", "rollback", "bento-import", "bento-build", "bento-containerize",
    "init", "changed", "needs", "gpu-check",
    "smoke-test", "check-reproduction", "no-comment", "image-digest", "extras", "cache-bytecode",
    "predict",
    "fetch-input", "registry", "monitor", "online-report", "monitor-issue", "dispatch-retrain",
    "data-pr",
    "tune", "tune-pr",
}  # fmt: skip


def test_console_script_help_lists_every_command():
    proc = subprocess.run(
        [str(VENV_BIN / "mlops"), "--help"],
        capture_output=True,
        text=True,
        check=True,
        env=run_env(),
        cwd=REPO_ROOT,
    )
    # argparse lists each subcommand at the start of an indented line, its help beside it.
    listed = set(re.findall(r"^    ([a-z][a-z-]*)(?:\s|$)", proc.stdout, re.MULTILINE))
    assert listed == COMMANDS


def test_every_command_has_a_handler_and_its_own_help():
    from mlops.cli import build_parser

    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert set(sub.choices) == COMMANDS
    for name, command in sub.choices.items():
        assert command.get_default("handler").__name__ == f"cmd_{name.replace('-', '_')}"
        assert command.description, name
    (actions,) = [
        a for a in sub.choices["registry"]._actions if isinstance(a, argparse._SubParsersAction)
    ]
    for name, command in actions.choices.items():
        assert command.get_default("handler").__name__ == f"cmd_registry_{name}"
        assert command.description, name


def test_every_mlops_call_in_the_workflows_is_a_command():
    calls = set()
    for path in [
        *REPO_ROOT.glob(".github/workflows/*.yml"),
        *REPO_ROOT.glob(".github/actions/*/*.yml"),
    ]:
        calls |= set(re.findall(r"(?:^|\s)mlops ([a-z][a-z-]*)", path.read_text(), re.MULTILINE))
    calls |= set(
        re.findall(
            r"python -m mlops\.cli ([a-z][a-z-]*)",
            " ".join(p.read_text() for p in REPO_ROOT.glob(".github/workflows/*.yml")),
        )
    )
    assert calls and calls <= COMMANDS, calls - COMMANDS


def test_every_dvc_stage_is_an_mlops_command():
    import yaml

    stages = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["stages"]
    for name, stage in stages.items():
        assert stage["cmd"] == f"mlops {name}", name
