"""The CLI entry point: fast, light start-up and the stage commands."""

from __future__ import annotations

import json
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


def test_console_script_help_lists_stages():
    proc = subprocess.run(
        [str(VENV_BIN / "mlops"), "--help"],
        capture_output=True,
        text=True,
        check=True,
        env=run_env(),
        cwd=REPO_ROOT,
    )
    for stage in ("prepare", "train", "evaluate", "check-params"):
        assert stage in proc.stdout


def test_every_dvc_stage_is_an_mlops_command():
    import yaml

    stages = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["stages"]
    for name, stage in stages.items():
        assert stage["cmd"] == f"mlops {name}", name
