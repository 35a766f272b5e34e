"""Serving: the built bento vs `mlflow models serve` of the same registered model, under wrk.

The bento runs twice, side by side: as shipped, recording a sample of its traffic
(``MLOPS_RECORD_SAMPLE`` at its default, mlops.serving.records), and with recording off
(``bento-off``, ``MLOPS_RECORD_SAMPLE=0``); the targets are the recording one's, and the
difference between the two is recording's overhead.

    .venv/bin/python bench/serving.py                 # concurrency 1, 8, 64; 10 s, 2 rounds
    .venv/bin/python bench/serving.py --quick         # concurrency 1 and 8, 2 s, 1 round
    .venv/bin/python bench/serving.py --workdir /tmp/serve-bench   # keep the built bento

Set-up (not timed): a fresh copy of this checkout runs `dvc pull data.dvc` and `dvc repro`,
then `mlops register`, `mlops promote` (local SQLite store) and `make bento` (BENTOML_HOME in
the work directory). Both servers then run side by side on 127.0.0.1, each with its defaults
of one worker process: `bentoml serve` of the bento and `mlflow models serve -m
models:/<registered model>@champion --env-manager local`. Only one is loaded at a time; the
measurements alternate between them, round by round.

The load generator is wrk (Debian package `wrk`: `apt-get install -y wrk`), one thread, a
fixed number of connections (the concurrency), each run bounded in time (``--duration``) and
in requests (``--max-requests``, the Lua script stops the thread), against 127.0.0.1 only. The
bodies carry the same customer records from the demo test split: one record per request at
each concurrency, and ``--batch`` records per request for the rows/s figure, compared with the
in-process ceiling: the same model file's ``predict_proba`` on frames of the same records in a
loop in this process, measured in every round beside the
servers. The batched requests are sent in both body forms: records (bento's ``records``,
MLflow's ``dataframe_records``) and columnar (bento's ``columns``, MLflow's
``dataframe_split``). Targets: at concurrency 1, bento's p50 and p99 no worse than MLflow's;
at concurrency 64, >= 5x MLflow's requests/s with p99 no worse; columnar batches >= 2x
MLflow's rows/s and >= 25% of the in-process ceiling on frames of the request's size; record
batches >= MLflow's rows/s.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import (
    ROOT,
    VENV_BIN,
    command_line,
    load_average,
    machine,
    median,
    stage_env,
    write_section,
)

sys.path.insert(0, str(ROOT))
from tests.conftest import GIT, copy_repo
from tests.servers import background_server, free_port
from tests.serving.conftest import columns_body, split_body


def serving_names(repo: Path) -> Any:
    """The registered model and bento names of the repo copy's params.yaml."""
    from mlops.core.config import load_params
    from mlops.serving.names import from_params

    return from_params(load_params(repo / "params.yaml"))


LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open("{body}", "rb"))
wrk.body = f:read("*a")
f:close()
local done = 0
response = function(status, headers, body)
  done = done + 1
  if done >= {limit} then wrk.thread:stop() end
end
"""


@dataclass
class Load:
    requests_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx responses + socket errors


def median_load(loads: list[Load]) -> Load:
    """The rounds' medians (rates and latencies) and totals (requests and errors)."""
    return Load(
        median([x.requests_s for x in loads]),
        median([x.p50_ms for x in loads]),
        median([x.p99_ms for x in loads]),
        sum(x.requests for x in loads),
        sum(x.errors for x in loads),
    )


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def wrk(
    url: str, body: Path, connections: int, duration: float, limit: int, lua: str = LUA
) -> Load:
    """One bounded wrk run against ``url`` (127.0.0.1 only) with ``body`` as every request
    (``lua``: the script, :data:`LUA` or one made from it)."""
    assert url.startswith("http://127.0.0.1:"), url
    script = body.with_suffix(f".{connections}.lua")
    script.write_text(lua.replace("{body}", str(body)).replace("{limit}", str(max(1, limit))))
    cmd = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{duration:g}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    out = subprocess.run(
        cmd, capture_output=True, text=True, timeout=duration + 60, check=True
    ).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    errors = 0
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(match.group(1))
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    ):
        errors += sum(int(g) for g in match.groups())
    return Load(rate, p50, p99, requests, errors)


def settle(url: str, body: Path) -> None:
    """Let a server finish the requests still queued when wrk stopped (they would load the
    other server's next run): wait, then until one more request is answered quickly."""
    import urllib.request

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(1)
        request = urllib.request.Request(
            url, data=body.read_bytes(), headers={"content-type": "application/json"}
        )
        start = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
        if time.perf_counter() - start < 0.5:
            return


def build(work: Path) -> tuple[Path, dict[str, str]]:
    """The trained, registered, promoted repo copy and the bento (reused when already built)."""
    repo = work / "repo"
    env = stage_env(BENTOML_HOME=str(work / "bentoml"), BENTOML_DO_NOT_TRACK="true")
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{repo / 'mlflow.db'}"
    if (work / "built").exists():
        return repo, env

    def sh(*cmd: str) -> None:
        print("$", " ".join(cmd), flush=True)
        subprocess.run(cmd, cwd=repo, env=env, check=True, capture_output=True, timeout=1800)

    if repo.exists():
        shutil.rmtree(repo)
    copy_repo(repo)
    sh("dvc", "pull", "data.dvc")
    sh("dvc", "repro")
    sh(*GIT, "commit", "-q", "--allow-empty", "-m", "trained")
    sh("mlops", "register")
    sh("mlops", "promote")
    sh("make", "bento", f"UV={ROOT / '.tools' / 'bin' / 'uv'}")
    (work / "built").touch()
    return repo, env


def records(repo: Path, n: int) -> list[dict[str, Any]]:
    import pandas as pd

    from mlops.core.config import load_params

    features = load_params(repo / "params.yaml").features.used
    test = pd.read_parquet(repo / "data" / "prepared" / "test.parquet")[features]
    rows: list[dict[str, Any]] = json.loads(test.to_json(orient="records"))
    return (rows * (n // len(rows) + 1))[:n]


def _requests(repo: Path) -> Any:
    """The service's request parser (mlops.serving.requests) for this repo's training data."""
    import pandas as pd

    from mlops.core.config import load_params
    from mlops.serving.bento import build_schema
    from mlops.serving.requests import RequestSchema

    params = load_params(repo / "params.yaml")
    return RequestSchema(
        build_schema(pd.read_parquet(repo / "data" / "prepared" / "train.parquet"), params)
    )


def ceiling(repo: Path, rows: list[dict[str, Any]], seconds: float) -> float:
    """Rows/s of the model file's predict_proba on frames of ``rows``, in this process."""
    import joblib

    from mlops.serving.requests import model_frame

    model = joblib.load(repo / "models" / "model.joblib")
    frame = model_frame(_requests(repo).parse(json.dumps(columns_body(rows)).encode()).columns)
    model.predict_proba(frame)
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        model.predict_proba(frame)
        done += len(rows)
    return done / (time.perf_counter() - start)


def breakdown(repo: Path, body: dict[str, Any], seconds: float) -> dict[str, float]:
    """Milliseconds per request of ``body`` for each step of the service's predict path, run
    in this process with the same code (mlops.serving.requests): parse and validate the JSON
    body column by column, build the frame, predict, serialize the response."""
    import joblib
    import pydantic_core

    from mlops.serving.requests import answer, model_frame

    requests = _requests(repo)
    model = joblib.load(repo / "models" / "model.joblib")
    raw = json.dumps(body).encode()
    state: dict[str, Any] = {}

    def parse() -> None:
        state["batch"] = requests.parse(raw)

    def frame() -> None:
        state["frame"] = model_frame(state["batch"].columns)

    def predict() -> None:
        state["scores"] = model.scores(state["frame"])

    def respond() -> None:
        outputs = model.outputs_of(state["scores"])
        pydantic_core.to_json(answer(outputs, state["batch"].form, "1"))

    steps = {"validate": parse, "frame": frame, "predict": predict, "response": respond}
    times: dict[str, list[float]] = {name: [] for name in steps}
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or not times["response"]:
        for name, step in steps.items():
            begin = time.perf_counter()
            step()
            times[name].append((time.perf_counter() - begin) * 1000)
    return {name: median(values) for name, values in times.items()}


# Cells: (concurrency, rows per request, body form). One record per request at each
# concurrency; batched requests in the records form (bento's records vs MLflow's
# dataframe_records) and in the columnar form (bento's columns vs MLflow's dataframe_split).
RECORDS, COLUMNS = "records", "columns"


def kind(server: str) -> str:
    """The body forms a server takes: "bento" (either bento) or "mlflow"."""
    return server.split("-", 1)[0]


FORMS = {
    ("bento", RECORDS): lambda rows: {"records": rows},
    ("mlflow", RECORDS): lambda rows: {"dataframe_records": rows},
    ("bento", COLUMNS): columns_body,
    ("mlflow", COLUMNS): split_body,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--max-requests", type=int, default=200_000, help="per wrk run")
    parser.add_argument("-r", "--rounds", type=int, default=2)
    parser.add_argument(
        "--batch",
        type=int,
        default=1000,
        help="records per batched request (the service's default MLOPS_MAX_BATCH_SIZE)",
    )
    parser.add_argument(
        "--batch-concurrency",
        type=int,
        default=2,
        help="connections for the batched requests (more only queue: one worker, 2 cores)",
    )
    parser.add_argument("--workdir", type=Path, help="keep the repo copy and bento here")
    parser.add_argument("--quick", action="store_true", help="short runs; RESULTS.md untouched")
    parser.add_argument("--note", default="", help="a paragraph added under the tables")
    args = parser.parse_args()
    if args.quick:
        args.concurrency, args.duration, args.rounds = [1, 8], 2.0, 1
    # SIGTERM (and SIGINT, ignored in background jobs) still stops both servers on the way out
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if shutil.which("wrk") is None:
        sys.exit("bench/serving.py: wrk not found; install Debian's package: apt-get install wrk")
    load_before = load_average()
    plan = [(c, 1, RECORDS) for c in args.concurrency]
    plan += [(args.batch_concurrency, args.batch, form) for form in (RECORDS, COLUMNS)]
    with contextlib.ExitStack() as stack:
        if args.workdir:
            work = args.workdir
            work.mkdir(parents=True, exist_ok=True)
        else:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-serve-")))
        repo, env = build(work)
        rows = {1: records(repo, 1), args.batch: records(repo, args.batch)}
        paths: dict[tuple[str, int, str], Path] = {}
        for (server, form), make in FORMS.items():
            for n in rows:
                paths[(server, n, form)] = work / f"{server}-{form}-{n}.json"
                paths[(server, n, form)].write_text(json.dumps(make(rows[n])))
        big = records(repo, 10_000)
        ceilings: dict[int, list[float]] = {args.batch: [], len(big): []}
        steps = {
            form: breakdown(repo, FORMS[("bento", form)](rows[args.batch]), 5.0)
            for form in (RECORDS, COLUMNS)
        }
        print(f"in-process steps per {args.batch}-row request (ms): {steps}")

        bento_port, off_port, mlflow_port = free_port(), free_port(), free_port()

        def serve_bento(port: int, name: str, sample: str | None) -> str:
            bento_env = {**env, "MLOPS_RECORDS_DIR": str(work / f"records-{name}")}
            if sample is not None:
                bento_env["MLOPS_RECORD_SAMPLE"] = sample
            else:
                bento_env.pop("MLOPS_RECORD_SAMPLE", None)  # the service's default
            cmd = [str(VENV_BIN / "bentoml"), "serve", serving_names(repo).bento_tag,
                   "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
            server = background_server(cmd, port, "/readyz", work / f"{name}.log",
                                       env=bento_env, cwd=work)  # fmt: skip
            return str(stack.enter_context(server))

        bento = serve_bento(bento_port, "bento", None)
        bento_off = serve_bento(off_port, "bento-off", "0")
        mlflow = stack.enter_context(
            background_server(
                [
                    str(VENV_BIN / "mlflow"),
                    "models",
                    "serve",
                    "-m",
                    f"models:/{serving_names(repo).model}@champion",
                    "--env-manager",
                    "local",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(mlflow_port),
                ],
                mlflow_port,
                "/ping",
                work / "mlflow.log",
                env=env,
                cwd=repo,
            )
        )
        urls = {
            "bento": f"{bento}/predict",
            "bento-off": f"{bento_off}/predict",
            "mlflow": f"{mlflow}/invocations",
        }
        for server, url in urls.items():  # warm-up, not recorded
            wrk(url, paths[(kind(server), 1, RECORDS)], 8, 2, args.max_requests)
            settle(url, paths[(kind(server), 1, RECORDS)])
        runs: dict[tuple[str, int, int, str], list[Load]] = {}
        for _ in range(args.rounds):
            # the ceiling too is measured in every round, beside the servers (both idle)
            for frame_rows in (rows[args.batch], big):
                ceilings[len(frame_rows)].append(ceiling(repo, frame_rows, 3.0))
                print(
                    f"in-process: {ceilings[len(frame_rows)][-1]:,.0f} rows/s "
                    f"({len(frame_rows)}-row frames)"
                )
            for c, n, form in plan:
                for server, url in urls.items():
                    body = paths[(kind(server), n, form)]
                    load = wrk(url, body, c, args.duration, args.max_requests)
                    settle(url, paths[(kind(server), 1, RECORDS)])
                    runs.setdefault((server, c, n, form), []).append(load)
                    print(
                        f"{server:<6} c={c:<3} rows/request={n:<4} {form:<7} "
                        f"{load.requests_s:8.1f} req/s p50 {load.p50_ms:7.1f} ms "
                        f"p99 {load.p99_ms:7.1f} ms errors {load.errors}",
                        flush=True,
                    )

    def cell(server: str, c: int, n: int, form: str) -> Load:
        return median_load(runs[(server, c, n, form)])

    body_names = {
        ("bento", RECORDS): "records",
        ("mlflow", RECORDS): "dataframe_records",
        ("bento", COLUMNS): "columns",
        ("mlflow", COLUMNS): "dataframe_split",
    }
    shown = {"bento": "bento, recording", "bento-off": "bento, no recording", "mlflow": "mlflow"}
    table = [
        "| concurrency | rows/request | server (body) | requests/s | rows/s | p50 | p99 | errors "
        "(of requests) |",
        "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for c, n, form in plan:
        for server in urls:
            x = cell(server, c, n, form)
            table.append(
                f"| {c} | {n} | {shown[server]} ({body_names[(kind(server), form)]}) "
                f"| {x.requests_s:,.1f} "
                f"| {x.requests_s * n:,.0f} | {x.p50_ms:.1f} ms | {x.p99_ms:.1f} ms "
                f"| {x.errors} ({x.requests:,}) |"
            )
    ceiling_batch, ceiling_split = median(ceilings[args.batch]), median(ceilings[len(big)])
    lone = min(args.concurrency)
    b1, m1 = cell("bento", lone, 1, RECORDS), cell("mlflow", lone, 1, RECORDS)
    top = max(args.concurrency)
    btop, mtop = cell("bento", top, 1, RECORDS), cell("mlflow", top, 1, RECORDS)
    bc = args.batch_concurrency
    rates = {
        (server, form): cell(server, bc, args.batch, form).requests_s * args.batch
        for server in urls
        for form in (RECORDS, COLUMNS)
    }
    off_top = cell("bento-off", top, 1, RECORDS)
    off_lone = cell("bento-off", lone, 1, RECORDS)
    overhead = (
        f"- Recording (MLOPS_RECORD_SAMPLE at its default) against none, the same bento side "
        f"by side: concurrency {top} {btop.requests_s / off_top.requests_s:.2f}x the "
        f"requests/s (p99 {btop.p99_ms:.1f} vs {off_top.p99_ms:.1f} ms); concurrency {lone} "
        f"p50 {b1.p50_ms:.1f} vs {off_lone.p50_ms:.1f} ms; {args.batch}-row columnar "
        f"{rates[('bento', COLUMNS)] / rates[('bento-off', COLUMNS)]:.2f}x the rows/s, records "
        f"{rates[('bento', RECORDS)] / rates[('bento-off', RECORDS)]:.2f}x."
    )
    col_share = rates[("bento", COLUMNS)] / ceiling_batch

    def verdict(ok: bool) -> str:
        return "**met**" if ok else "**MISSED**"

    targets = [
        f"- Concurrency {lone}, one record: bento p50 {b1.p50_ms:.1f} ms / p99 {b1.p99_ms:.1f} "
        f"ms vs MLflow {m1.p50_ms:.1f} / {m1.p99_ms:.1f} ms (target: both no worse): "
        + verdict(b1.p50_ms <= m1.p50_ms and b1.p99_ms <= m1.p99_ms)
        + ".",
        f"- Concurrency {top}, one record: bento **{btop.requests_s / mtop.requests_s:.2f}x** "
        f"MLflow's requests/s, p99 {btop.p99_ms:.1f} ms vs {mtop.p99_ms:.1f} ms (target >= 5x "
        "with p99 no worse): "
        + verdict(btop.requests_s >= 5 * mtop.requests_s and btop.p99_ms <= mtop.p99_ms)
        + ".",
        f"- {args.batch}-row requests, columnar: bento {rates[('bento', COLUMNS)]:,.0f} rows/s "
        f"= **{rates[('bento', COLUMNS)] / rates[('mlflow', COLUMNS)]:.2f}x** MLflow's "
        f"dataframe_split ({rates[('mlflow', COLUMNS)]:,.0f}) and **{col_share:.0%}** of the "
        f"in-process ceiling on {args.batch}-row frames (targets >= 2x and >= 25%): "
        + verdict(rates[("bento", COLUMNS)] >= 2 * rates[("mlflow", COLUMNS)] and col_share >= 0.25)
        + ".",
        f"- {args.batch}-row requests, records: bento {rates[('bento', RECORDS)]:,.0f} rows/s "
        f"= **{rates[('bento', RECORDS)] / rates[('mlflow', RECORDS)]:.2f}x** MLflow's "
        f"dataframe_records ({rates[('mlflow', RECORDS)]:,.0f}) (target >= 1x): "
        + verdict(rates[("bento", RECORDS)] >= rates[("mlflow", RECORDS)])
        + ".",
    ]
    section = "\n".join(
        [
            "## Serving",
            "",
            f"`{command_line()}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
            f"load average {load_before} before the run; medians of {args.rounds} "
            f"alternating rounds of {args.duration:g} s wrk runs).",
            "",
            f"Machine: {machine('bentoml', 'mlflow', 'scikit-learn', 'pydantic')}; "
            f"{subprocess.run(['wrk', '-v'], capture_output=True, text=True).stdout.split()[1]}"
            " wrk (one thread; it shares the 2 cores with the server).",
            "",
            *table,
            "",
            f"In-process ceiling (the same model.joblib, `predict_proba` in a loop): "
            f"{ceiling_batch:,.0f} rows/s on {args.batch}-row frames, {ceiling_split:,.0f} "
            "rows/s on 10,000-row frames.",
            "",
            f"Where a {args.batch}-row request's time goes, the service's steps run in this "
            "process with the same code (median ms): "
            + "; ".join(
                f"{form}: "
                + ", ".join(f"{name} {ms:.1f}" for name, ms in times.items())
                + f" = {sum(times.values()):.1f} ms"
                for form, times in steps.items()
            )
            + ".",
            "",
            *targets,
            overhead,
            *([f"\n{args.note}"] if args.note else []),
            "",
        ]
    )
    print("\n" + section)
    if not args.quick:
        write_section("Serving", section)


if __name__ == "__main__":
    main()
