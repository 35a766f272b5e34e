"""Servers started by tests: on 127.0.0.1 only, on a free port, stopped by the test."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from .conftest import VENV_BIN, run_env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                return
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout}s:\n{log.read_text()[-4000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@contextlib.contextmanager
def mlflow_server(workdir: Path, backend_uri: str | None = None) -> Iterator[str]:
    """A real `mlflow server` on 127.0.0.1; yields its URL."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    backend = backend_uri or f"sqlite:///{workdir / 'mlflow.db'}"
    log = workdir / "server.log"
    cmd = [
        str(VENV_BIN / "mlflow"),
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        backend,
        "--artifacts-destination",
        str(workdir / "artifacts"),
    ]
    with background_server(cmd, port, "/health", log, env=run_env(), timeout=120) as url:
        yield url


@contextlib.contextmanager
def background_server(
    cmd: list[str],
    port: int,
    health_path: str,
    log: Path,
    *,
    env: dict[str, str],
    cwd: Path | None = None,
    timeout: float = 180,
) -> Iterator[str]:
    """Start ``cmd`` (listening on 127.0.0.1:``port``), wait for ``health_path``, stop it after."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}{health_path}", proc, timeout=timeout, log=log)
        yield url
    finally:
        stop(proc)


def postgres_bin() -> Path | None:
    """The PostgreSQL server binaries (Debian's postgresql package), if installed."""
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    return None


@contextlib.contextmanager
def postgres_server(workdir: Path) -> Iterator[str]:
    """A throw-away PostgreSQL on 127.0.0.1; yields an SQLAlchemy URL for MLflow."""
    bindir = postgres_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed (Debian package postgresql)")
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        # initdb refuses to run as root; run it as Debian's postgres user in a directory that
        # user can reach (pytest's own temporary directories are private to root).
        as_postgres = ["runuser", "-u", "postgres", "--"]
        workdir = Path(tempfile.mkdtemp(prefix="mlops-pg-"))
        shutil.chown(workdir, user="postgres")
    port = free_port()
    data = workdir / "data"
    subprocess.run(
        [*as_postgres, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "mlflow"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *as_postgres,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-w",
            "-l",
            str(workdir / "postgres.log"),
            "-o",
            f"-h 127.0.0.1 -p {port} -k {workdir}",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://mlflow@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
            check=False,
            capture_output=True,
        )
        if as_postgres:
            shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def served_bento(bento: str, workdir: Path, env: dict[str, str]) -> Iterator[str]:
    """`bentoml serve BENTO:latest` on 127.0.0.1 (its log in ``workdir``), ready, stopped after."""
    port = free_port()
    cmd = [str(VENV_BIN / "bentoml"), "serve", f"{bento}:latest", "--host", "127.0.0.1"]
    with background_server(
        [*cmd, "--port", str(port)], port, "/readyz", workdir / "serve.log", env=env, cwd=workdir
    ) as url:
        yield url
