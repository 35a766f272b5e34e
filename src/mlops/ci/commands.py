"""The commands the workflows call, so that no decision of theirs lives only in YAML: ``changed``,
``extras``, ``cache-bytecode``, ``needs``, ``gpu-check``, ``smoke-test``,
``check-reproduction``, ``no-comment``, ``image-digest`` (``mlops.cli`` adds them)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from mlops.core.artifacts import git_commit
from mlops.core.commands import Add, params_of


def cmd_changed(args: argparse.Namespace) -> None:
    from mlops.ci import workflow as ci

    files = ci.matching(ci.changed_files(args.base, args.head), ci.CHANGE_SETS[args.what])
    verdict = "true" if files else "false"
    ci.write_output(args.what, verdict)
    print(f"{args.what}={verdict}")
    for name in files:
        print(f"  {name}")


def cmd_extras(args: argparse.Namespace) -> None:
    import yaml

    from mlops.ci import workflow as ci

    types = {str(args.params): ci.model_type(yaml.safe_load(args.params.read_text()), "params")}
    if args.base_rev:
        types[f"{args.base_rev[:12]}"] = ci.model_type(ci.params_at(args.base_rev), args.base_rev)
    if args.family:
        types["--family"] = args.family
    extras = ci.needed_extras(list(types.values()))
    where = ", ".join(f"{kind} ({source})" for source, kind in types.items())
    print(f"extras: model.type {where}: {' '.join(extras) or 'no extra'}", file=sys.stderr)
    print(" ".join(f"--extra {e}" for e in extras))


def cmd_cache_bytecode(args: argparse.Namespace) -> None:
    from mlops.ci import bytecode

    done = bytecode.compile_cache(args.venv, args.cache)
    print(
        f"uv cache {args.cache}: {done.archives} archives of this virtualenv's distributions, "
        f"{done.sources} .py files; compiled {done.compiled} now"
        + (f", {done.failed} would not compile" if done.failed else "")
    )


def cmd_needs(args: argparse.Namespace) -> None:
    from mlops.ci import workflow as ci
    from mlops.core.errors import MlopsError

    failed = ci.needs_failures(ci.parse_needs(args.needs))
    if failed:
        raise MlopsError(f"failed upstream jobs: {', '.join(failed)}")
    print("every upstream job succeeded or was skipped")


def cmd_gpu_check(args: argparse.Namespace) -> None:
    from mlops.ci import workflow as ci

    for gpu in ci.gpu_check():
        print(gpu)


def cmd_smoke_test(args: argparse.Namespace) -> None:
    from mlops.ci import workflow as ci

    if args.save_record:
        ci.smoke_record(params_of(args), args.save_record)
        print(f"wrote {args.save_record}")
        return
    if not args.url or not args.record:
        from mlops.core.errors import MlopsError

        raise MlopsError("--url and --record are required (or --save-record FILE)")
    record = json.loads(args.record.read_text(encoding="utf-8"))
    print(json.dumps(ci.smoke_test(args.url, record, wait=args.wait)))


def cmd_check_reproduction(args: argparse.Namespace) -> None:
    from mlops.ci import reproduction
    from mlops.ci import workflow as ci
    from mlops.ci.github import GitHub
    from mlops.core.errors import MlopsError

    github = GitHub.from_env(args.repo)
    sha = args.sha or os.environ.get("GITHUB_SHA") or git_commit()
    if not sha:
        raise MlopsError("--sha not given, GITHUB_SHA is not set and this is not a git checkout")
    outcome = reproduction.check(github, sha, tolerance=args.tolerance, author=args.author)
    print(outcome.message)
    ci.write_summary(f"**Reproduction check**: {outcome.message}")


def cmd_no_comment(args: argparse.Namespace) -> None:
    from mlops.ci import workflow as ci

    print(ci.no_comment(args.reason))


def cmd_image_digest(args: argparse.Namespace) -> None:
    from mlops.ci import workflow as ci

    digest = ci.image_digest(args.image)
    ci.write_output("image", digest)
    ci.write_summary(f"**Image**: `{digest}`")
    print(digest)


def register(add: Add) -> None:
    # The workflows' decisions (src/mlops/ci.py), so none of them lives only in YAML.
    p_changed = add(
        "changed",
        cmd_changed,
        "did the change touch the pipeline's inputs (params, data, pipeline, code, lock)? "
        "prints and sets the step output pipeline=true|false (--for full-tests: what the "
        "slow test tier checks)",
    )
    p_changed.add_argument(
        "--for",
        dest="what",
        choices=["pipeline", "full-tests"],
        default="pipeline",
        help="pipeline (default): the PR workflow's training inputs; full-tests: the "
        "workflows, the act harness, src/ and the install (CI's slow test tier)",
    )
    p_changed.add_argument("--base", required=True, help="the base revision (the PR's base)")
    p_changed.add_argument("--head", default="HEAD", help="the head revision (default: HEAD)")
    p_extras = add(
        "extras",
        cmd_extras,
        "print the uv flags (--extra NAME ...) that install the libraries of the model families "
        "params.yaml (and --base-rev's, whose model the PR report loads; --family) use",
    )
    p_extras.add_argument("--base-rev", help="also the model.type of this git revision")
    p_extras.add_argument("--family", help="also this model family (mlops tune --family)")
    p_bytecode = add(
        "cache-bytecode",
        cmd_cache_bytecode,
        "compile the bytecode of the virtualenv's packages into uv's cache (before it is saved), "
        "so that the next job's fresh virtualenv links it instead of compiling on import",
    )
    p_bytecode.add_argument("--cache", type=Path, required=True, help="uv's cache (uv cache dir)")
    p_bytecode.add_argument(
        "--venv", type=Path, default=Path(sys.prefix), help="the virtualenv (default: this one)"
    )
    p_needs = add(
        "needs", cmd_needs, "fail when an upstream job failed or was cancelled (toJSON(needs))"
    )
    p_needs.add_argument("--needs", required=True, help="the workflow's toJSON(needs)")
    add("gpu-check", cmd_gpu_check, "the GPU runner's health check: list the GPUs (nvidia-smi)")
    p_smoke = add(
        "smoke-test",
        cmd_smoke_test,
        "health check and one prediction against a running service (the container)",
    )
    p_smoke.add_argument("--url", help="the service's base URL, e.g. http://127.0.0.1:3000")
    p_smoke.add_argument("--record", type=Path, help="JSON file holding one record")
    p_smoke.add_argument("--wait", type=float, default=60.0, help="seconds to wait for /readyz")
    p_smoke.add_argument(
        "--save-record",
        type=Path,
        metavar="FILE",
        help="instead: write the test split's first record to FILE (for a later smoke test)",
    )
    p_repro = add(
        "check-reproduction",
        cmd_check_reproduction,
        "after `dvc repro` on a merge: fail unless the metrics match the merged PR's report "
        "(its comment's record, read through the GitHub API) when the inputs are the same",
    )
    p_repro.add_argument("--sha", help="the pushed commit (default: GITHUB_SHA, else HEAD)")
    p_repro.add_argument("--repo", help="owner/name (default: GITHUB_REPOSITORY)")
    p_repro.add_argument(
        "--tolerance",
        type=float,
        default=1e-6,
        help="largest absolute difference allowed per metric (default: 1e-6)",
    )
    p_repro.add_argument(
        "--author",
        default="github-actions[bot]",
        help="only trust report comments by this login (default: github-actions[bot])",
    )
    p_nocomment = add(
        "no-comment",
        cmd_no_comment,
        "say (warning annotation and job summary) why the PR job posted no report comment",
    )
    p_nocomment.add_argument("--reason", required=True, help="what failed, e.g. setting up CML")
    p_digest = add(
        "image-digest", cmd_image_digest, "the pushed image's digest (step output and summary)"
    )
    p_digest.add_argument("image", help="the image, e.g. ghcr.io/owner/repo:sha")
