"""Bytecode in uv's cache, so that a job's fresh virtualenv starts with it.

uv installs a package by linking the files of its unpacked wheel (``archive-v0/<id>/`` in the
cache) into the virtualenv, every file of that directory, ``__pycache__`` ones included. A job's
virtualenv is new each time (``UV_COMPILE_BYTECODE=0`` in the setup action: compiling every
file up front costs more than the job imports), so every job compiled MLflow, Great
Expectations, scikit-learn and pandas again on their first import: about 8 s of CPU a job.
Compiled once into the cache (on a cache miss, before actions/cache saves it), the ``.pyc``
files arrive with the links, and Python uses them as they are: a hard link shares the source's
modification time, which the ``.pyc`` records.

Only the archives of the distributions installed in the virtualenv are compiled, and only
their ``.py`` files that have no ``.pyc`` yet, so a second call costs a ``stat`` a file.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import os
import py_compile
import tempfile
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from importlib.util import cache_from_source
from pathlib import Path

ARCHIVES = "archive-v0"  # uv's bucket of unpacked wheels (uv's cache layout, version 0)


@dataclass(frozen=True)
class Compiled:
    archives: int  # archive directories of the virtualenv's distributions
    sources: int  # .py files they hold (by their RECORD)
    compiled: int  # compiled now
    failed: int  # would not compile (a package's test data, a file for another Python)


def site_packages(venv: Path) -> Path:
    (found,) = venv.glob("lib/python*/site-packages")
    return found


def archives(site: Path, cache: Path) -> list[Path]:
    """The archive directories of ``cache`` that hold a distribution installed in ``site``
    (the same ``<name>-<version>.dist-info``)."""
    installed = {p.name for p in site.glob("*.dist-info")}
    return sorted(d.parent for d in (cache / ARCHIVES).glob("*/*.dist-info") if d.name in installed)


def sources(archive: Path) -> Iterator[Path]:
    """The ``.py`` files an archive's RECORD lists (not those a wheel puts elsewhere: scripts,
    ``.data`` directories)."""
    for record in archive.glob("*.dist-info/RECORD"):
        with record.open(newline="", encoding="utf-8") as handle:
            for row in csv.reader(handle):
                name = row[0] if row else ""
                if name.endswith(".py") and ".." not in name and ".data/" not in name:
                    yield archive / name


def uncompiled(files: Iterable[Path]) -> list[Path]:
    """The files of ``files`` that have no ``.pyc`` for this Python."""
    return [f for f in files if f.is_file() and not Path(cache_from_source(str(f))).exists()]


def _compile(files: list[str]) -> int:
    failed = 0
    for name in files:
        try:
            py_compile.compile(name, doraise=True)
        except (py_compile.PyCompileError, SyntaxError, ValueError, OSError):
            failed += 1
    return failed


def compile_cache(venv: Path, cache: Path, workers: int | None = None) -> Compiled:
    """Compile the ``.py`` files of ``venv``'s distributions in uv's ``cache`` that lack
    bytecode for this Python."""
    found = archives(site_packages(venv), cache)
    every = [f for archive in found for f in sources(archive)]
    # Jobs sharing one cache (a self-hosted runner's, parallel test runs) compile one at a
    # time: the second finds the first's work done instead of doing it again beside it.
    key = hashlib.sha256(str(cache.resolve()).encode()).hexdigest()[:16]
    lock = Path(tempfile.gettempdir()) / f"mlops-cache-bytecode-{key}.lock"
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        todo = [str(f) for f in uncompiled(every)]
        failed = 0
        if todo:
            count = workers or os.cpu_count() or 1
            chunks = [todo[i::count] for i in range(count)]
            with ProcessPoolExecutor(count) as pool:
                failed = sum(pool.map(_compile, chunks))
    return Compiled(len(found), len(every), len(todo) - failed, failed)
