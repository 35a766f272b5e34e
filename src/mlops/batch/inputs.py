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
