"""The stand-in actions' work (standard library only): artifacts as directories, Python check.

upload NAME IF_NONE      copy each line of $PATHS (relative to the workspace) into
                         $ACT_ARTIFACTS/NAME/, keeping relative paths
download NAME DEST       copy $ACT_ARTIFACTS/NAME/ into DEST
check-python VERSION     fail unless python3 is VERSION (major.minor)
cache-restore            like actions/cache's restore, from $ACT_CACHES (see cache_restore)
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


def scope_directory(store: Path, ref: str) -> Path:
    """The directory of the caches saved by runs on ``ref`` (e.g. refs/heads/main)."""
    return store / ref.replace("/", "_")


def cache_scopes() -> list[str]:
    """The branches whose caches a run may restore, as GitHub scopes them: the run's own ref,
    then (a pull request) its base branch, then the default branch."""
    refs = [os.environ.get("GITHUB_REF", "")]
    if os.environ.get("GITHUB_BASE_REF"):
        refs.append(f"refs/heads/{os.environ['GITHUB_BASE_REF']}")
    refs.append(f"refs/heads/{os.environ.get('DEFAULT_BRANCH') or 'main'}")
    return list(dict.fromkeys(ref for ref in refs if ref))


def cache_entry(store: Path, key: str, restore_keys: list[str]) -> tuple[Path, bool] | None:
    """The entry a restore gets: the key itself in the first scope holding it, else, scope by
    scope, the newest entry whose key starts with a restore key (in their order)."""
    scopes = [scope_directory(store, ref) for ref in cache_scopes()]
    for scope in scopes:
        if (scope / key).is_dir():
            return scope / key, True
    for scope in scopes:
        for prefix in restore_keys:
            found = [e for e in scope.glob("*") if e.is_dir() and e.name.startswith(prefix)]
            if found:
                return max(found, key=lambda e: e.stat().st_mtime), False
    return None


def cache_restore() -> int:
    """actions/cache's restore: the entry (workspace-relative files) copied into the workspace;
    writes ``cache-hit`` to $GITHUB_OUTPUT. The store is $ACT_CACHES/<scope>/<key>/, filled
    by the test as runs on those branches would have saved it (act_harness.seed_cache); with
    no store, or no entry, nothing is restored, as on a first run. Saving is not emulated."""
    key = os.environ["KEY"]
    restore_keys = [k.strip() for k in os.environ.get("RESTORE_KEYS", "").splitlines()]
    store = os.environ.get("ACT_CACHES")
    found = cache_entry(Path(store), key, [k for k in restore_keys if k]) if store else None
    with Path(os.environ["GITHUB_OUTPUT"]).open("a", encoding="utf-8") as out:
        out.write(f"cache-hit={'true' if found and found[1] else 'false'}\n")
    if found is None:
        print(f"cache stand-in - nothing restored for {key}")
        return 0
    entry, exact = found
    shutil.copytree(entry, Path.cwd(), dirs_exist_ok=True)
    exactly = " (exact)" if exact else ""
    print(f"cache stand-in - restored {entry.parent.name}/{entry.name}{exactly}")
    return 0


def main(argv: list[str]) -> int:
    command, *args = argv
    if command == "upload":
        return upload(*args)
    if command == "download":
        return download(*args)
    if command == "check-python":
        return check_python(*args)
    if command == "cache-restore":
        return cache_restore()
    print(f"unknown command {command}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
