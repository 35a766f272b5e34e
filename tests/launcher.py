"""The tests' `mlops` commands, each in a process forked from a warm one.

A test that runs `mlops report` (or register, predict, a pipeline stage under `dvc repro`...)
checks what the command does, not how long Python takes to import MLflow, pandas,
scikit-learn and Great Expectations: about 4 s of CPU in every fresh process, paid some
hundreds of times a session. Each pytest worker starts one server (`serve`, in a process of
its own, with the tests' subprocess environment) that imports those libraries once; a command
is then a fork of it that takes the command's arguments, working directory, environment and
standard streams (passed as file descriptors over a Unix socket), runs the real
`mlops.cli.main` and exits with its status: the same code and a process of its own, without
the imports.

Two ways in: `launch` (what `conftest.execute` calls for this virtualenv's `mlops`), and a
`mlops` shim that `conftest.execute` puts first on the PATH of the tests' `dvc` and `make`
commands, so that the stages `dvc repro` starts (and `make bento`'s commands) are forks too.

What a fork does not give gets a fresh process (the fork execs the real one): an `mlops` on
PATH that is not this virtualenv's, and variables read when Python starts or a preloaded
library loads (`PYTHON*`, OpenBLAS's and OpenMP's threads, MLflow's logging) set otherwise than
for the server. A fork shares the server's string-hash seed. Tests of the entry point itself
(`mlops --help`'s imports, TensorFlow staying unloaded), the benchmarks and the act jobs (their
own virtualenvs) run fresh processes. `MLOPS_TEST_FORK=0` turns it all off.
"""

from __future__ import annotations

import atexit
import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path

VENV_BIN = Path(sys.executable).parent
REAL = VENV_BIN / "mlops"

# What the commands import (libraries only: never this package's own modules, whose imports
# have effects of their own such as environment defaults, nor TensorFlow or XGBoost).
PRELOAD = [
    "pandas",
    "pyarrow.parquet",
    "scipy.stats",
    "sklearn.pipeline",
    "sklearn.linear_model",
    "sklearn.ensemble",
    "matplotlib",
    "skops.io",
    "great_expectations",
    "mlflow",
    "mlflow.sklearn",
    "mlflow.store.tracking.sqlalchemy_store",
]
# Read when a process starts or a preloaded library loads: a command whose environment sets
# them otherwise than the server's gets a fresh process.
AT_LOAD = ("PYTHON", "OPENBLAS", "OMP_", "MKL_", "LD_", "MALLOC_", "ARROW_", "MPL", "GX_")
AT_LOAD_NAMES = {"MLFLOW_CONFIGURE_LOGGING", "MLFLOW_LOGGING_LEVEL", "MLFLOW_DISABLE_TELEMETRY",
                 "DO_NOT_TRACK"}  # fmt: skip
_HEADER = 8  # the request's length, in decimal digits, before the JSON


def enabled() -> bool:
    return os.environ.get("MLOPS_TEST_FORK", "1") != "0"


def _loaded(env: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith(AT_LOAD) or k in AT_LOAD_NAMES}


# --- the server -------------------------------------------------------------------------------


def exec_target(
    argv: Sequence[str], env: Mapping[str, str], shim: str, server_env: Mapping[str, str]
) -> Path | None:
    """The program to exec instead of forking ``argv`` under ``env`` (None: fork): the `mlops`
    it names when that is not this virtualenv's (the shim itself left out of PATH), or any
    `mlops` when a variable read at start-up or load differs from ``server_env``."""
    name = Path(argv[0])
    if os.sep in argv[0] and name.parent != Path(shim):
        target = name
    else:
        path = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != shim)
        found = shutil.which(name.name, path=path)
        target = Path(found) if found else name
    if target.resolve() == REAL.resolve() and _loaded(env) == _loaded(server_env):
        return None
    return target


def _run_command(argv: list[str], cwd: str, env: dict[str, str], shim: str) -> None:
    """In the forked child, streams already in place: become the process ``argv`` starts."""
    try:
        os.chdir(cwd)
        target = exec_target(argv, env, shim, os.environ)
        if target is not None:
            signal.signal(signal.SIGPIPE, signal.SIG_DFL)
            os.execve(target, [str(target), *argv[1:]], env)
    except BaseException:
        traceback.print_exc()
        os._exit(127)
    os.environ.clear()
    os.environ.update(env)
    sys.argv = [str(REAL), *argv[1:]]
    code = 1
    try:
        from mlops.cli import main

        code = main(argv[1:])
    except SystemExit as exc:  # argparse's usage errors, and any sys.exit
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
    finally:
        finish(code)


def finish(code: int) -> None:
    """Exit as the interpreter does: threading's exit hooks (which stop idle thread pools,
    such as the one an MLflow artifact repository keeps), then wait for the non-daemon threads,
    then atexit; flush the streams and leave with ``code``. Joining the threads before those
    hooks would wait forever on a pool's idle workers."""
    try:
        threading._shutdown()  # type: ignore[attr-defined]
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def _handle(conn: socket.socket, listener: socket.socket, shim: str) -> None:
    """In a child of the server: read one request, fork the command, report its pid and status."""
    try:
        listener.close()
        data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
        size = int(data[:_HEADER])
        while len(data) < _HEADER + size:
            data += conn.recv(1 << 16)
        request = json.loads(data[_HEADER:])
        pid = os.fork()
        if pid == 0:
            conn.close()
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
                os.close(fd)
            _run_command(request["argv"], request["cwd"], request["env"], shim)
        for fd in fds:
            os.close(fd)
        conn.sendall(f"{pid}\n".encode())
        _, status = os.waitpid(pid, 0)
        conn.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
    finally:
        os._exit(0)


def serve(address: str, shim: str) -> None:
    """The server: preload, then fork a handler per connection until stdin closes (the pytest
    worker that started it has gone)."""
    for module in PRELOAD:
        __import__(module)
    with socket.socket(socket.AF_UNIX) as listener, selectors.DefaultSelector() as selector:
        listener.bind(address)
        listener.listen(64)
        print("ready", flush=True)
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        selector.register(listener, selectors.EVENT_READ)
        selector.register(sys.stdin, selectors.EVENT_READ)
        while True:
            for key, _ in selector.select(timeout=1.0):
                if key.fileobj is sys.stdin:
                    return
                conn, _ = listener.accept()
                if os.fork() == 0:
                    _handle(conn, listener, shim)
                conn.close()
            while True:  # reap the finished handlers
                try:
                    if os.waitpid(-1, os.WNOHANG)[0] == 0:
                        break
                except ChildProcessError:
                    break


# --- the clients ------------------------------------------------------------------------------


def request(
    address: str,
    argv: Sequence[str],
    cwd: str,
    env: Mapping[str, str],
    fds: Sequence[int],
    timeout: float | None = None,
) -> int:
    """Have the server at ``address`` run ``argv`` on ``fds`` (stdin, stdout, stderr); its exit
    status, negative for a signal as subprocess has it."""
    payload = json.dumps({"argv": list(argv), "cwd": cwd, "env": dict(env)}).encode()
    with socket.socket(socket.AF_UNIX) as conn:
        conn.connect(address)
        socket.send_fds(conn, [b"%0*d" % (_HEADER, len(payload)) + payload], list(fds))
        reader = conn.makefile("rb")
        pid = int(reader.readline())
        conn.settimeout(timeout)
        try:
            line = reader.readline()
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)
            raise subprocess.TimeoutExpired(list(argv), timeout or 0) from None
        if not line:
            raise RuntimeError(f"the fork server dropped {' '.join(argv)}")
        return int(line)


SHIM = """#!{python} -IS
import os, sys
sys.path.insert(0, {root!r})
from tests.launcher import request
code = request({address!r}, sys.argv, os.getcwd(), os.environ, [0, 1, 2])
sys.exit(code if code >= 0 else 128 - code)
"""


class Server:
    """This worker's server, started on first use with the environment it is given."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="mlops-fork-"))
        self.address = str(self.directory / "socket")
        self.shim = self.directory / "bin"
        self.shim.mkdir()
        root = str(Path(__file__).resolve().parents[1])
        script = self.shim / "mlops"
        script.write_text(SHIM.format(python=sys.executable, root=root, address=self.address))
        script.chmod(0o755)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.launcher", self.address, str(self.shim)],
            cwd=root, env=dict(env), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )  # fmt: skip
        assert self.process.stdout is not None
        ready = self.process.stdout.readline()
        assert ready == b"ready\n", f"the fork server did not start: {ready!r}"
        atexit.register(self.stop)

    def stop(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.directory, ignore_errors=True)


_lock = threading.Lock()
_server: Server | None = None


def server(env: Mapping[str, str]) -> Server:
    global _server
    with _lock:
        if _server is None:
            _server = Server(env)
        return _server


def launch(
    argv: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    server_env: Mapping[str, str],
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)``, forked from
    the server (started, the first time, with ``server_env``)."""
    address = server(server_env).address
    with tempfile.TemporaryDirectory(prefix="mlops-launch-") as streams:
        out, err = Path(streams, "stdout"), Path(streams, "stderr")
        fds = [os.open(os.devnull, os.O_RDONLY)]
        fds += [os.open(path, os.O_WRONLY | os.O_CREAT, 0o600) for path in (out, err)]
        try:
            code = request(address, argv, str(cwd), env, fds, timeout)
        finally:
            for fd in fds:
                os.close(fd)
        return subprocess.CompletedProcess(list(argv), code, out.read_text(), err.read_text())


def shim_path(env: Mapping[str, str], server_env: Mapping[str, str]) -> str:
    """``env``'s PATH with the `mlops` shim first (for a command that starts `mlops` itself)."""
    return f"{server(server_env).shim}{os.pathsep}{env.get('PATH', '')}"


if __name__ == "__main__":  # `python -m tests.launcher ADDRESS SHIM`: a module run has the
    serve(sys.argv[1], sys.argv[2])  # __file__ that pyspark's import looks for (conftest.py)
