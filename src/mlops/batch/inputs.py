"""What ``--input`` is: a CSV file, a parquet file or a directory of parquet files.

A file is parquet when it starts with parquet's magic bytes (whatever its name), otherwise CSV,
so a DVC cache object or a ``.txt`` export is read correctly; both engines ask this module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from mlops.core.errors import DataError

Format = Literal["csv", "parquet"]
PARQUET_MAGIC = b"PAR1"


def input_format(source: Path) -> Format:
    """The input's format; a missing or empty input is a one-line :class:`DataError`."""
    if not source.exists():
        raise DataError(f"--input: {source} does not exist")
    if source.is_dir():
        if not any(p.suffix == ".parquet" for p in source.rglob("*.parquet")):
            raise DataError(f"--input: {source} is a directory without .parquet files")
        return "parquet"
    if source.stat().st_size == 0:
        raise DataError(f"--input: {source} is empty (0 bytes): no header, no rows")
    with source.open("rb") as handle:
        return "parquet" if handle.read(4) == PARQUET_MAGIC else "csv"


def fetch(source: str, dest: Path) -> Path:
    """Bring ``source`` here for scoring (the batch workflow's first step); return its path.

    A URL (``s3://``, ``gs://``, ``azure://``, ``https://``...) is downloaded into ``dest`` with
    ``dvc get-url`` (the cloud's credentials from its usual environment variables); anything
    else is a path in this repository, fetched from the DVC remote with ``dvc pull`` when DVC
    tracks it, or used as it is when git does.
    """
    import subprocess
    import sys

    from mlops.core.errors import MlopsError

    if "://" in source:
        dest.mkdir(parents=True, exist_ok=True)
        target = dest / (source.rstrip("/").rsplit("/", 1)[-1] or "input")
        proc = subprocess.run(
            [sys.executable, "-m", "dvc", "get-url", source, str(target)],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise MlopsError(f"dvc get-url {source}: {_last_line(proc.stderr)}")
        return target
    path = Path(source)
    proc = subprocess.run(
        [sys.executable, "-m", "dvc", "pull", source], capture_output=True, text=True
    )
    if not path.exists():
        raise MlopsError(
            f"{source}: neither tracked by DVC nor in the repository "
            f"(dvc pull: {_last_line(proc.stderr or proc.stdout)})"
        )
    return path


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no message"
