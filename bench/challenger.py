"""Serving with a challenger: one bento served off, shadow and canary side by side, under wrk.

    .venv/bin/python bench/challenger.py                # concurrency 1 and 64; 10 s, 3 rounds
    .venv/bin/python bench/challenger.py --quick        # 2 s, 1 round; RESULTS.md untouched
    .venv/bin/python bench/challenger.py --workdir /tmp/challenger-bench   # keep the bento

Set-up (not timed): bench/serving.py's trained, registered and promoted copy of this
checkout, then a second, real model (the logistic regression regularised harder,
``model.logreg.C`` 0.05) from a new commit, registered as the challenger, and `make bento`:
the bento holds both (mlops.serving.challenger). The same bento then runs three times side by
side on 127.0.0.1, one worker each, as shipped otherwise (recording its default sample):
``MLOPS_CHALLENGER_MODE`` off, shadow, and canary at ``MLOPS_CANARY_PERCENT`` 10; only one is
loaded at a time, the runs alternate between them round by round. Every request is one record
of the demo's test split with an entity of its own (the ``X-Entity-Id`` header counts up, the
same for every mode), so a canary sends its share of entities to the challenger.

Targets (issue #30): at concurrency 64, shadow keeps at least 80% of off's requests/s with p99
at most 1.25x off's; at concurrency 1, shadow's p50 at most 1.2x off's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, VENV_BIN, command_line, load_average, machine, write_section

import serving
from serving import Load, median_load, records, settle, wrk

sys.path.insert(0, str(ROOT))
from tests.conftest import GIT
from tests.servers import background_server, free_port

CHALLENGER_C = 0.05
MODES = {"off": {}, "shadow": {}, "canary": {"MLOPS_CANARY_PERCENT": "10"}}

# serving.LUA, plus an entity of its own for every request (the canary's routing key).
LUA = serving.LUA.replace(
    "local done = 0",
    """local entity = 0
request = function()
  entity = entity + 1
  wrk.headers["X-Entity-Id"] = "entity-" .. entity
  return wrk.format()
end
local done = 0""",
)


def build_pair(work: Path) -> tuple[Path, dict[str, str]]:
    """bench/serving.py's built copy, then a challenger registered beside its champion and the
    bento rebuilt with both (reused when already built)."""
    repo, env = serving.build(work)
    if (work / "paired").exists():
        return repo, env

    def sh(*cmd: str) -> None:
        print("$", " ".join(cmd), flush=True)
        subprocess.run(cmd, cwd=repo, env=env, check=True, capture_output=True, timeout=1800)

    params = repo / "params.yaml"
    text = params.read_text()
    assert text.count("    C: 1.0\n") == 1, "the demo's model.logreg.C"
    params.write_text(text.replace("    C: 1.0\n", f"    C: {CHALLENGER_C}\n"))
    sh("dvc", "repro")
    sh(*GIT, "add", "-A")
    sh(*GIT, "commit", "-q", "-m", "challenger")
    sh("mlops", "register")
    sh("make", "bento", f"UV={ROOT / '.tools' / 'bin' / 'uv'}")
    (work / "paired").touch()
    return repo, env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--max-requests", type=int, default=200_000, help="per wrk run")
    parser.add_argument("-r", "--rounds", type=int, default=3)
    parser.add_argument("--workdir", type=Path, help="keep the repo copy and bento here")
    parser.add_argument("--quick", action="store_true", help="short runs; RESULTS.md untouched")
    parser.add_argument("--note", default="", help="a paragraph added under the table")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.rounds = 2.0, 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if shutil.which("wrk") is None:
        sys.exit(
            "bench/challenger.py: wrk not found; install Debian's package: apt-get install wrk"
        )
    load_before = load_average()
    runs: dict[tuple[str, int], list[Load]] = {}
    with contextlib.ExitStack() as stack:
        if args.workdir:
            work = args.workdir
            work.mkdir(parents=True, exist_ok=True)
        else:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-pair-")))
        repo, env = build_pair(work)
        body = work / "one-record.json"
        body.write_text(json.dumps({"records": records(repo, 1)}))
        urls = {}
        for mode, extra in MODES.items():
            port = free_port()
            mode_env = {**env, **extra, "MLOPS_CHALLENGER_MODE": mode}
            mode_env["MLOPS_RECORDS_DIR"] = str(work / f"records-{mode}")
            mode_env.pop("MLOPS_RECORD_SAMPLE", None)  # the service's default sample
            cmd = [str(VENV_BIN / "bentoml"), "serve", serving.serving_names(repo).bento_tag,
                   "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
            server = background_server(
                cmd, port, "/readyz", work / f"{mode}.log", env=mode_env, cwd=work
            )
            urls[mode] = f"{stack.enter_context(server)}/predict"
        for url in urls.values():  # warm-up, not recorded
            wrk(url, body, 8, 2, args.max_requests, lua=LUA)
            settle(url, body)
        for _ in range(args.rounds):
            for c in args.concurrency:
                for mode, url in urls.items():
                    load = wrk(url, body, c, args.duration, args.max_requests, lua=LUA)
                    settle(url, body)
                    runs.setdefault((mode, c), []).append(load)
                    print(
                        f"{mode:<6} c={c:<3} {load.requests_s:8.1f} req/s p50 "
                        f"{load.p50_ms:7.1f} ms p99 {load.p99_ms:7.1f} ms errors {load.errors}",
                        flush=True,
                    )

    def cell(mode: str, c: int) -> Load:
        return median_load(runs[(mode, c)])

    table = [
        "| concurrency | mode | requests/s | vs off | p50 | p99 | p99 vs off "
        "| errors (of requests) |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for c in args.concurrency:
        off = cell("off", c)
        for mode in MODES:
            x = cell(mode, c)
            table.append(
                f"| {c} | {mode} | {x.requests_s:,.1f} | {x.requests_s / off.requests_s:.2f}x "
                f"| {x.p50_ms:.1f} ms | {x.p99_ms:.1f} ms | {x.p99_ms / off.p99_ms:.2f}x "
                f"| {x.errors} ({x.requests:,}) |"
            )
    lone, top = min(args.concurrency), max(args.concurrency)
    s_top, o_top = cell("shadow", top), cell("off", top)
    s_one, o_one = cell("shadow", lone), cell("off", lone)

    def verdict(ok: bool) -> str:
        return "**met**" if ok else "**MISSED**"

    rate, p99 = s_top.requests_s / o_top.requests_s, s_top.p99_ms / o_top.p99_ms
    p50 = s_one.p50_ms / o_one.p50_ms
    targets = [
        f"- Concurrency {top}: shadow {rate:.2f}x off's requests/s (target >= 0.80) with p99 "
        f"{p99:.2f}x (target <= 1.25): " + verdict(rate >= 0.8 and p99 <= 1.25) + ".",
        f"- Concurrency {lone}: shadow p50 {s_one.p50_ms:.1f} ms vs off {o_one.p50_ms:.1f} ms, "
        f"{p50:.2f}x (target <= 1.2): " + verdict(p50 <= 1.2) + ".",
    ]
    section = "\n".join(
        [
            "## Serving with a challenger",
            "",
            f"`{command_line()}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
            f"load average {load_before} before the run; medians of {args.rounds} "
            f"alternating rounds of {args.duration:g} s wrk runs, one record per request).",
            "",
            f"Machine: {machine('bentoml', 'scikit-learn')}; wrk, one thread, on the same 2 cores.",
            "",
            *table,
            "",
            *targets,
            *([f"\n{args.note}"] if args.note else []),
            "",
        ]
    )
    print("\n" + section)
    if not args.quick:
        write_section("Serving with a challenger", section)


if __name__ == "__main__":
    main()
