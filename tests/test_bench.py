"""The benchmark scripts under bench/: their smallest configurations run, the load generator is
bounded and counts errors, and RESULTS.md sections are replaced in place. No timed assertions."""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from .conftest import REPO_ROOT, run_env

BENCH = REPO_ROOT / "bench"
sys.path.insert(0, str(BENCH))


def bench(*args: str, timeout: float = 900) -> str:
    before = (BENCH / "RESULTS.md").read_text()
    proc = subprocess.run(
        [sys.executable, *args],
        cwd=REPO_ROOT,
        env=run_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"{args} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert (BENCH / "RESULTS.md").read_text() == before, "a quick run must not touch RESULTS.md"
    return proc.stdout


SECONDS = re.compile(r"^\**\d[\d,]*(\.\d+)? s\**$")  # "0.08 s", "**218.4 s**"
TIMED = re.compile(r"^\d[\d,]*(\.\d+)? s \(CPU \d[\d,]*(\.\d+)? s\)$")  # "5.2 s (CPU 5.4 s)"
MEGABYTES = re.compile(r"^\d[\d,]* MB$")


def rows(out: str, label: str) -> list[list[str]]:
    """The cells of each markdown table row whose first cell starts with ``label``."""
    found = [line for line in out.splitlines() if line.startswith(f"| {label}")]
    assert found, f"no row {label!r} in\n{out}"
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in found]


def row(out: str, label: str) -> list[str]:
    (cells,) = rows(out, label)
    return cells


@pytest.mark.slow
def test_startup_quick_runs_every_stage():
    out = bench("bench/startup.py", "--quick")
    assert "- `mlops --help` <= 0.5 s (wall): **" in out
    assert re.search(r"- each stage <= 4 s CPU: \*\*(met|MISSED)\*\* \(\d+\.\d\d s\)", out)
    assert re.search(r"<= 12 s CPU together: \*\*(met|MISSED)\*\* \(\d+\.\d\d s\)", out)
    _, wall, cpu, runs, _ = row(out, "`mlops --help`")
    assert SECONDS.match(wall) and SECONDS.match(cpu) and int(runs) >= 1
    for stage in ("validate", "prepare", "train", "evaluate"):
        for _, wall, cpu, runs, peak in rows(out, f"`mlops {stage}"):
            assert SECONDS.match(wall) and SECONDS.match(cpu), (stage, wall, cpu)
            assert int(runs) >= 1 and MEGABYTES.match(peak), (stage, runs, peak)


@pytest.mark.slow
def test_scaling_quick_measures_every_stage():
    out = bench("bench/scaling.py", "--quick")
    for stage in ("validate", "prepare", "train logreg", "evaluate xgboost"):
        cells = row(out, f"{stage} |")[1:-1]  # one "time, peak" cell per size
        assert cells, stage
        for cell in cells:
            time, peak = cell.rsplit(", ", 1)
            assert TIMED.match(time) and MEGABYTES.match(peak), (stage, cell)
            assert 0 < float(time.split()[0].replace(",", "")) < 3600
    assert "Target peak <= 4 GB" in out


@pytest.mark.slow
def test_pipeline_quick_compares_noop_repro_with_status():
    out = bench("bench/pipeline.py", "--quick")
    assert "No-op `dvc repro` / `dvc status`" in out
    for label in ("`dvc status`", "`dvc repro` (no-op"):
        median, runs = row(out, label)[1:3]
        assert SECONDS.match(median) and int(runs) >= 1, (label, median, runs)


@pytest.mark.slow
def test_validation_small_size_runs():
    out = bench("bench/validation.py", "5000", "-r", "1", "--no-write")  # the suite needs 3,522+
    cells = row(out, "5,000 |")
    read, validate, ratio = cells[2], cells[3], cells[4]
    assert SECONDS.match(read) and SECONDS.match(validate), cells
    assert re.fullmatch(r"\d[\d,]*(\.\d+)?x", ratio), cells


@pytest.mark.slow
def test_batch_quick_scores_and_measures_the_pandas_engine():
    out = bench("bench/batch.py", "--quick")
    assert re.search(r"pandas +20,000 rows: +[\d.]+ s, +[\d,]+ rows/s, peak RSS [\d,]+ MB", out)
    assert "| 20,000 | " in out


@pytest.mark.slow
def test_bootstrap_quick_measures_the_demo_size():
    out = bench("bench/bootstrap.py", "--quick")
    _, median, per_thousand, runs = row(out, "1,409 |")
    assert SECONDS.match(median) and SECONDS.match(per_thousand) and runs == "1"
    assert re.search(r"Target: the bootstrap adds at most 2 s .*: \*\*(met|missed)\*\*", out)


@pytest.mark.slow
def test_monitor_quick_measures_the_false_alarm_rate():
    out = bench("bench/monitor.py", "--quick", "--no-write")
    assert re.search(r"\| 500 \| \d+/50 \([\d.]+%\) \| \d+/50 \([\d.]+%\) \| \d+/10 ", out), out
    target = r"Target: drift false alarms <= alpha \(1%\) per run: \*\*(met|MISSED)\*\*"
    assert re.search(target, out)


@pytest.mark.slow
def test_tune_quick_measures_trials_per_minute_and_the_growth():
    out = bench("bench/tune.py", "--quick", "--no-write")
    assert re.search(r"\| logreg \| 3 \(\d\) \| \d+ s \| [\d.]+ \| 0\.\d{4} \| 0\.\d{4} \|", out), (
        out
    )
    assert re.search(r"\| 3 \| [\d.]+ s \|", out)  # after the third trial
    assert len(set(re.findall(r"\| [\d,]+ \| [\d.]+ s \| [\d.]+ s \|", out))) == 3  # 3 sizes


def test_write_section_replaces_only_its_own_section(tmp_path, monkeypatch):
    import common

    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\n## A\n\nold a\n\n## B\n\nold b\n")
    monkeypatch.setattr(common, "RESULTS", results)
    monkeypatch.setattr(common, "ROOT", tmp_path)
    common.write_section("A", "## A\n\nnew a\n")
    common.write_section("C", "## C\n\nnew c\n")
    assert (
        results.read_text()
        == "# Benchmark results\n\n## A\n\nnew a\n\n## B\n\nold b\n\n## C\n\nnew c\n"
    )


def test_measure_reports_the_child_peak_memory(tmp_path):
    import common

    small = common.measure([sys.executable, "-c", "pass"], tmp_path)
    big = common.measure(
        [sys.executable, "-c", "b = bytearray(300 * 2**20); b[::4096] = b'x' * len(b[::4096])"],
        tmp_path,
    )
    assert big.peak_rss_mb - small.peak_rss_mb > 250
    with pytest.raises(RuntimeError, match="exited 3"):
        common.measure([sys.executable, "-c", "raise SystemExit(3)"], tmp_path)


@contextlib.contextmanager
def http_server(status: int, seen: list[str] | None = None) -> Iterator[str]:
    """A stand-in server answering ``status``; ``seen`` collects each request's entity header."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            if seen is not None:
                seen.append(self.headers.get("X-Entity-Id", ""))
            body = b'{"ok": true}'
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/predict"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk (Debian package) not installed")
@pytest.mark.parametrize("status", [200, 500])
def test_wrk_run_stops_at_its_request_bound_and_counts_errors(tmp_path, status):
    import serving

    body = tmp_path / "body.json"
    body.write_text('{"records": []}')
    with http_server(status) as url:
        load = serving.wrk(url, body, connections=2, duration=3, limit=50)
    assert 50 <= load.requests <= 52  # the Lua script stopped sending at the bound
    assert load.errors == (0 if status == 200 else load.requests)
    assert load.p99_ms >= load.p50_ms > 0
    with pytest.raises(AssertionError):
        serving.wrk("http://0.0.0.0:1/predict", body, connections=1, duration=1, limit=1)


def test_stage_workdir_points_params_at_the_file_and_lifts_the_row_range(tmp_path):
    import common

    from mlops.core.config import load_params
    from mlops.stages.suite import load_suite

    work = common.stage_workdir(tmp_path, tmp_path / "x.csv", **{"model.type": "xgboost"})
    params = load_params(work / "params.yaml")
    assert params.data.path == tmp_path / "x.csv"
    assert params.model_type == "xgboost"
    suite = load_suite(work / params.validation.suite)
    assert suite.rows.min == 1 and suite.rows.max is None


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk (Debian package) not installed")
def test_the_challenger_bench_gives_every_request_an_entity_of_its_own(tmp_path):
    import challenger

    import serving

    body = tmp_path / "body.json"
    body.write_text('{"records": []}')
    seen: list[str] = []
    with http_server(200, seen) as url:
        load = serving.wrk(url, body, connections=2, duration=3, limit=40, lua=challenger.LUA)
    assert load.errors == 0 and len(seen) >= 40
    assert len(set(seen)) == len(seen) and all(s.startswith("entity-") for s in seen)
