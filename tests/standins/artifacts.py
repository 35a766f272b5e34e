"""The stand-in actions' work (standard library only): artifacts as directories, Python check.

upload NAME IF_NONE      copy each line of $PATHS (relative to the workspace) into
                         $ACT_ARTIFACTS/NAME/, keeping relative paths
download NAME DEST       copy $ACT_ARTIFACTS/NAME/ into DEST
check-python VERSION     fail unless python3 is VERSION (major.minor)
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def upload(name: str, if_none: str) -> int:
    """Like upload-artifact: the artifact's root is the least common ancestor of the paths."""
    store = Path(os.environ["ACT_ARTIFACTS"]) / name
    lines = [line.strip() for line in os.environ.get("PATHS", "").splitlines()]
    paths = [Path(line).resolve() for line in lines if line]
    found = [p for p in paths if p.exists()]
    if len(found) == 1 and found[0].is_dir():
        root = found[0]
    elif found:
        root = Path(os.path.commonpath([p if p.is_dir() else p.parent for p in found]))
    for src in found:
        dest = store / src.relative_to(root)
        if src.is_dir():
            shutil.copytree(src, dest, dirs_exist_ok=True)
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)
    print(f"upload-artifact stand-in: {len(found)} path(s) copied to {store}")
    if not found and if_none == "error":
        print(f"error: no files found for artifact {name}", file=sys.stderr)
        return 1
    return 0


def download(name: str, dest: str) -> int:
    store = Path(os.environ["ACT_ARTIFACTS"]) / name
    if not store.is_dir():
        print(f"error: artifact {name} not found in {store}", file=sys.stderr)
        return 1
    shutil.copytree(store, Path(dest), dirs_exist_ok=True)
    print(f"download-artifact stand-in: {store} -> {dest}")
    return 0


def check_python(wanted: str) -> int:
    have = f"{sys.version_info.major}.{sys.version_info.minor}"
    if have != wanted:
        print(f"error: python3 is {have}, the workflow wants {wanted}", file=sys.stderr)
        return 1
    print(f"setup-python stand-in: python3 {have}")
    return 0


def main(argv: list[str]) -> int:
    command, *args = argv
    if command == "upload":
        return upload(*args)
    if command == "download":
        return download(*args)
    if command == "check-python":
        return check_python(*args)
    print(f"unknown command {command}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
