"""ci.yml's two test tiers run what docs/testing.md#tiers says, and together every test once.

The tiers are make targets whose pytest marker expressions (the Makefile's FAST_TESTS and
SLOW_TESTS) partition the suite: each combination of the suite's markers is selected by
exactly one of them. ci.yml runs the fast tier on every event and the full tier on pushes to
main, the nightly schedule, dispatches and the pull requests that `mlops changed --for
full-tests` flags; docs/testing.md's tier table names the same targets, markers and jobs.
"""

from __future__ import annotations

import itertools
import re
import tomllib

from mlops.ci import workflow as ci

from ..conftest import REPO_ROOT
from .test_workflow_lint import GITHUB, load

TESTING_MD = REPO_ROOT / "docs" / "testing.md"


def makefile_variable(name: str) -> str:
    match = re.search(rf"^{name} := (.+)$", (REPO_ROOT / "Makefile").read_text(), re.M)
    assert match, name
    return match.group(1).strip()


def suite_markers() -> list[str]:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    declared = pyproject["tool"]["pytest"]["ini_options"]["markers"]
    return [line.split(":", 1)[0].strip() for line in declared]


def selects(expression: str, markers: set[str]) -> bool:
    """Whether pytest's ``-m expression`` selects a test carrying ``markers``."""
    from _pytest.mark.expression import Expression

    return Expression.compile(expression).evaluate(lambda name, /, **kw: name in markers)


def tier_table() -> dict[str, dict[str, str]]:
    """docs/testing.md's tier table: tier -> {column: cell} (code spans unwrapped)."""
    text = TESTING_MD.read_text(encoding="utf-8")
    section = text.split("\n## Tiers\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = [c.strip().lower() for c in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        row = dict(zip(header, cells, strict=True))
        rows[row["tier"]] = row
    return rows


def make_targets(job: dict) -> list[str]:
    return [
        s["run"].split()[1] for s in job.get("steps") or [] if s.get("run", "").startswith("make ")
    ]


def test_the_two_tiers_select_every_test_exactly_once():
    fast, slow = makefile_variable("FAST_TESTS"), makefile_variable("SLOW_TESTS")
    markers = suite_markers()
    assert set(markers) >= {"slow", "spark"}
    for n in range(len(markers) + 1):
        for carried in itertools.combinations(markers, n):
            chosen = [selects(expr, set(carried)) for expr in (fast, slow)]
            assert chosen.count(True) == 1, (carried, fast, slow)


def test_ci_runs_the_tiers_the_docs_name_on_the_events_they_name():
    doc = load(GITHUB / "workflows" / "ci.yml")
    assert set(doc["on"]) == {"pull_request", "push", "schedule", "workflow_dispatch"}
    assert doc["on"]["push"]["branches"] == ["main"]
    jobs = doc["jobs"]
    table = tier_table()
    assert set(table) == {"fast", "full"}
    for tier, row in table.items():
        job = jobs[row["ci.yml job"].strip("`")]
        target = row["make target"].strip("`").removeprefix("make ")
        assert make_targets(job) == [target], (tier, make_targets(job))
        variable = {"test-fast": "FAST_TESTS", "test-slow": "SLOW_TESTS"}[target]
        assert row["markers"].strip("`") == makefile_variable(variable), tier
    # fast: every event; full: on a PR only when `mlops changed --for full-tests` says so.
    assert "if" not in jobs["fast"]
    assert jobs["full"]["needs"] == "changes"
    condition = jobs["full"]["if"]
    assert "github.event_name != 'pull_request'" in condition
    assert "needs.changes.outputs.full-tests == 'true'" in condition
    assert jobs["changes"]["if"] == "github.event_name == 'pull_request'"
    (decide,) = [s for s in jobs["changes"]["steps"] if "changed" in s.get("run", "")]
    assert "changed --for full-tests" in decide["run"]


def test_the_docs_list_every_path_that_calls_for_the_full_tier():
    text = TESTING_MD.read_text(encoding="utf-8")
    section = text.split("\n## Tiers\n", 1)[1].split("\n## ", 1)[0]
    for pattern in ci.FULL_TEST_PATHS:
        assert f"`{pattern}`" in section, pattern
