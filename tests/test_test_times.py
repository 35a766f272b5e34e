"""scripts/test_times.py: pytest's --durations report summed by kind (docs/testing.md)."""

from __future__ import annotations

import subprocess
import sys

from .conftest import REPO_ROOT

LOG = """\
============================= slowest durations ==============================
400.00s call     tests/workflows/test_act_registry_chain.py::test_chain
20.00s setup    tests/ci/test_reproduction.py::test_restore
5.50s call     tests/ci/test_reproduction.py::test_restore
3.00s call     tests/core/test_config.py::test_a
0.50s teardown tests/core/test_config.py::test_a
================= 436 passed, 4 warnings in 1683.43s (0:28:03) =================
"""


def times(*args: str) -> subprocess.CompletedProcess:
    script = REPO_ROOT / "scripts" / "test_times.py"
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True)


def test_sums_setup_call_and_teardown_per_kind(tmp_path):
    log = tmp_path / "test.log"
    log.write_text(LOG)
    done = times(str(log), "--top", "2")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "| act workflow runs | 400 | 93% |" in out
    assert "| pipeline copies (dvc repro in a temporary repository) | 26 | 6% |" in out
    assert "| unit and component tests | 4 | 1% |" in out
    assert "| **sum (serial time)** | **429** | |" in out
    assert "| `test_chain` | 400 |\n| `test_restore` | 26 |" in out
    assert "pytest: 436 passed, 4 warnings in 28.1 min" in out
    empty = tmp_path / "empty.log"
    empty.write_text("no durations here\n")
    refused = times(str(empty))
    assert refused.returncode != 0 and "no --durations lines" in refused.stderr


ACT_LOG = """\
[PR/train]   ✅  Success - Main actions/checkout@08c6903cd8c0 [662.09367ms]
[PR/train]   ✅  Success - Main Install the locked environment [15.5s]
[PR/train]   ✅  Success - Main ./.github/actions/setup [16.2s]
[PR/train]   ❌  Failure - Main Reproduce the pipeline [1m2.5s]
[PR/train]   | Success - Main Install the locked environment [99s]
[PR/train]   ✅  Success - Post Upload [500ms]
"""


def test_act_logs_sum_each_step_by_name(tmp_path):
    log = tmp_path / "test.log"
    log.write_text(LOG)
    for run in ("a", "b"):
        (tmp_path / "base" / run).mkdir(parents=True)
        (tmp_path / "base" / run / "act.log").write_text(ACT_LOG)
    done = times(str(log), "--act-logs", str(tmp_path / "base"))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    # A step's output line (| ...) and the composite action's own line are not counted.
    assert "| act step (2 jobs) | runs | seconds | share |" in out
    assert "| Reproduce the pipeline | 2 | 125 | 79% |" in out
    assert "| Install the locked environment | 2 | 31 | 20% |" in out
    assert "| Upload | 2 | 1 | 1% |" in out
    assert "| **every step** | | **158** | |" in out
    (tmp_path / "no-act").mkdir()
    refused = times(str(log), "--act-logs", str(tmp_path / "no-act"))
    assert refused.returncode != 0 and "no act.log under it" in refused.stderr
