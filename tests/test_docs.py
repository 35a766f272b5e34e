"""The README and docs/ stay true to the repository: every relative link and anchor resolves,
every `make` target, `mlops` subcommand and repository variable they name exists, and every
subcommand and variable is documented somewhere."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from .conftest import REPO_ROOT

DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^(```|~~~)")
LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")


def split(text: str) -> tuple[list[str], list[str]]:
    """(prose lines with code spans blanked, code: fenced lines and code spans)."""
    prose, code = [], []
    fenced = False
    for line in text.splitlines():
        if FENCE.match(line.strip()):
            fenced = not fenced
            continue
        if fenced:
            code.append(line)
            continue
        code += [m.group(2) for m in CODE_SPAN.finditer(line)]
        prose.append(CODE_SPAN.sub("", line))
    return prose, code


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"<[^>]+>", "", heading).strip().lower()
    text = "".join(c for c in text if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    counts: dict[str, int] = {}
    prose, _ = split(path.read_text(encoding="utf-8"))
    for line in prose:
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            base = slug(match.group(1))
            n = counts.get(base, 0)
            found.add(base if n == 0 else f"{base}-{n}")
            counts[base] = n + 1
    return found


def links(path: Path) -> list[str]:
    prose, _ = split(path.read_text(encoding="utf-8"))
    return [m.group(1) for line in prose for m in LINK.finditer(line)]


def test_the_slug_is_githubs():
    assert slug("Zero configuration, and what to configure") == (
        "zero-configuration-and-what-to-configure"
    )
    assert slug("The zero-configuration registry: a chain of artifacts") == (
        "the-zero-configuration-registry-a-chain-of-artifacts"
    )
    assert slug("Two commands (locally)") == "two-commands-locally"


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_relative_link_and_anchor_resolves(path):
    broken = []
    for target in links(path):
        if re.match(r"^[a-z][a-z+.-]*:", target):  # https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        if not dest.exists():
            broken.append(f"{target}: {dest.relative_to(REPO_ROOT)} does not exist")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading #{anchor} in {dest.relative_to(REPO_ROOT)}")
    assert not broken, broken


def test_every_docs_page_says_which_files_it_describes_and_the_readme_links_it():
    readme_links = set(links(REPO_ROOT / "README.md"))
    for page in DOCS[1:]:
        head = page.read_text(encoding="utf-8").splitlines()[:6]
        assert any(line.startswith("Files: ") for line in head), page.name
        assert f"docs/{page.name}" in readme_links, page.name


def code_text() -> str:
    return "\n".join(line for path in DOCS for line in split(path.read_text("utf-8"))[1])


def makefile_targets() -> set[str]:
    text = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([a-z][a-z0-9-]*):(?!=)", text, re.MULTILINE))


def test_every_make_target_the_docs_name_exists():
    named = set(re.findall(r"(?:^|[\s;(&])make ([a-z][a-z0-9-]*)", code_text(), re.MULTILINE))
    assert named, "no `make` target found in the docs"
    assert named <= makefile_targets(), named - makefile_targets()


def commands() -> dict[str, set[str]]:
    """Every `mlops` subcommand, with the actions of those that have them."""
    from mlops.cli import build_parser

    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    out: dict[str, set[str]] = {}
    for name, command in sub.choices.items():
        nested = [a for a in command._actions if isinstance(a, argparse._SubParsersAction)]
        out[name] = set(nested[0].choices) if nested else set()
    return out


def test_every_mlops_subcommand_the_docs_name_exists_and_each_is_documented():
    known = commands()
    named = re.findall(r"(?:^|[\s;(&])mlops ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?", code_text(),
                       re.MULTILINE)  # fmt: skip
    unknown = {name for name, _ in named if name not in known}
    assert not unknown, unknown
    bad_actions = {f"{n} {a}" for n, a in named if known[n] and a and a not in known[n]}
    assert not bad_actions, bad_actions
    mentioned = {name for name, _ in named}
    assert set(known) <= mentioned, set(known) - mentioned
    for name, actions in known.items():
        assert actions <= {a for n, a in named if n == name}, (name, actions)


def repository_variables() -> set[str]:
    files = [*REPO_ROOT.glob(".github/workflows/*.yml"), *REPO_ROOT.glob(".github/actions/*/*.yml")]
    return {v for path in files for v in re.findall(r"\bvars\.([A-Z][A-Z0-9_]*)", path.read_text())}


def test_every_repository_variable_is_documented_and_every_documented_one_is_used():
    used = repository_variables()
    assert used, "the workflows read no repository variable?"
    table: set[str] = set()
    for path in DOCS:
        inside = False
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("| repository variable |"):
                inside = True
            elif inside and line.startswith("|"):
                match = re.match(r"^\| `([A-Z][A-Z0-9_]*)` \|", line)
                if match:
                    table.add(match.group(1))
            else:
                inside = False
    assert table == used, {"undocumented": used - table, "not used": table - used}


def test_the_readme_shows_the_generated_comment_images():
    """The demo's comment in the README, a regression PR's in docs/tasks.md, a tuning PR's
    body in docs/tuning.md: all generated."""
    script = (REPO_ROOT / "scripts" / "docs_images.py").read_text(encoding="utf-8")
    assert 'name = "tune-pr.png" if args.tune else f"pr-comment{suffix}.png"' in script
    assert 'ROOT / "docs" / "images" / name' in script
    for name, page in (("pr-comment", "README.md"), ("pr-comment-regression", "docs/tasks.md"),
                       ("tune-pr", "docs/tuning.md")):  # fmt: skip
        image = REPO_ROOT / "docs" / "images" / f"{name}.png"
        assert image.is_file() and image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        linked = "docs/images" if page == "README.md" else "images"
        assert f"{linked}/{name}.png" in links(REPO_ROOT / page)
    assert "docs-images" in makefile_targets()
    recipe = (REPO_ROOT / "Makefile").read_text().split("\ndocs-images:", 1)[1].split("\n\n")[0]
    assert "scripts/docs_images.py" in recipe and "--example regression" in recipe
    assert "scripts/docs_images.py --tune" in recipe


def test_the_data_is_updated_with_dvc_add_never_dvc_commit_of_its_dvc_file():
    """`dvc commit data.dvc` refuses a changed .dvc file (DVC: "unable to commit changed stage");
    the docs say `dvc add data/raw`, which tests/test_data_remote.py runs."""
    for page in DOCS:
        _, code = split(page.read_text())
        assert not [line for line in code if "dvc commit data.dvc" in line], page.name
    assert "dvc add data/raw" in (REPO_ROOT / "docs" / "own-data.md").read_text()


def test_the_readme_diagram_names_only_stages_dvc_yaml_has():
    import yaml

    stages = set(yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["stages"])
    text = (REPO_ROOT / "README.md").read_text()
    (listed,) = re.findall(r"dvc repro: (.+?)mlops report", text, re.DOTALL)
    named = set(re.findall(r"[a-z]+", listed.replace("<br/>", " ")))
    assert named and named <= stages, named - stages
