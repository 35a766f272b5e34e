"""What a monitor verdict of ``drift`` or ``degraded`` does on GitHub: one issue, and a retrain.

**One issue.** The repository's open issues labelled ``model-monitoring`` (:data:`LABEL`) are
searched for the monitor's watermark; the first found is updated (its title and body become
the new report, and a comment says what changed, so that its subscribers are notified), else
a new issue is opened with the label. So a drift that lasts for weeks is one issue with its
history in the comments, never one issue a week; once a person closes it, the next alarm
opens a new one. A verdict of ``ok`` changes nothing.

**A retrain.** ``workflow_dispatch`` of the retrain workflow, whose ``reason`` names the
verdict (the REST API: ``POST /repos/{owner}/{repo}/actions/workflows/{file}/dispatches``).

Both use the job's ``GITHUB_TOKEN`` (``issues: write``; ``actions: write``), in separate jobs
of monitor.yml so that each holds only its own permission.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlops.ci.github import GitHub
    from mlops.monitoring.report import MonitorJson

LABEL = "model-monitoring"
WATERMARK = "<!-- mlops monitor: model-monitoring -->"
RETRAIN_WORKFLOW = "retrain.yml"


def title(doc: MonitorJson) -> str:
    return f"Model monitoring: {doc.verdict} ({doc.model.label})"


def body(doc: MonitorJson, run_url: str | None) -> str:
    from mlops.monitoring.report import markdown

    link = f"\n\nFrom the monitor run {run_url}." if run_url else ""
    closing = (
        "\n\nThis issue is updated by each monitor run while it stays open; close it once "
        "the cause is dealt with (a retrain, a data fix), and the next alarm opens a new one."
    )
    return f"{WATERMARK}\n{markdown(doc)}{link}{closing}\n"


def find_open(github: GitHub) -> dict[str, Any] | None:
    """The open monitoring issue (the oldest, should there be several), or None."""
    issues = github.paginate("issues", state="open", labels=LABEL, sort="created",
                             direction="asc")  # fmt: skip
    for issue in issues:
        if "pull_request" not in issue and WATERMARK in (issue.get("body") or ""):
            return issue
    return None


def open_or_update(github: GitHub, doc: MonitorJson, run_url: str | None) -> tuple[str, int | None]:
    """``("opened" | "updated", number)``, or ``("none", None)`` for a verdict of ok."""
    if doc.verdict == "ok":
        return "none", None
    text = body(doc, run_url)
    found = find_open(github)
    if found is None:
        created = github.send(
            "POST", "issues", {"title": title(doc), "body": text, "labels": [LABEL]}
        )
        return "opened", int(created["number"])
    number = int(found["number"])
    github.send("PATCH", f"issues/{number}", {"title": title(doc), "body": text})
    reasons = "; ".join(doc.reasons[:3]) or doc.verdict
    note = f"Still **{doc.verdict}** at {doc.created}: {reasons}."
    if run_url:
        note += f" ({run_url})"
    github.send("POST", f"issues/{number}/comments", {"body": note})
    return "updated", number


def dispatch_retrain(github: GitHub, doc: MonitorJson, ref: str) -> str:
    """Start the retrain workflow on ``ref`` for this verdict; the reason it is given."""
    if doc.verdict == "ok":
        raise ValueError("a verdict of ok dispatches no retrain")
    first = doc.reasons[0] if doc.reasons else doc.verdict
    reason = f"monitor: {doc.verdict}: {first}"[:200]
    github.send(
        "POST",
        f"actions/workflows/{RETRAIN_WORKFLOW}/dispatches",
        {"ref": ref, "inputs": {"reason": reason, "force": "false", "promote": "true"}},
    )
    return reason
