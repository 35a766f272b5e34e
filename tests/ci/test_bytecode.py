"""Bytecode compiled into uv's cache (src/mlops/ci/bytecode.py, `make cache-bytecode`): a wheel
installed by the real uv from a cache compiled once arrives with its .pyc files, which Python
uses as they are; only what lacks bytecode is compiled, and only the installed distributions."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mlops.ci import bytecode
from mlops.cli import main

from ..conftest import REPO_ROOT, run_env

UV = REPO_ROOT / ".tools" / "bin" / "uv"


def wheel(where: Path, name: str, version: str, modules: dict[str, str]) -> Path:
    """A pure-Python wheel, written by hand (no build backend to download)."""
    dist = f"{name}-{version}.dist-info"
    files = {
        **{f"{name}/{module}.py": text for module, text in modules.items()},
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    rows = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        rows.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    files[f"{dist}/RECORD"] = "\n".join([*rows, f"{dist}/RECORD,,"]) + "\n"
    out = where / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(out, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return out


def uv(*args: str | Path, cache: Path) -> None:
    env = {**run_env(), "UV_CACHE_DIR": str(cache), "UV_COMPILE_BYTECODE": "0", "UV_OFFLINE": "1"}
    subprocess.run([str(UV), *map(str, args)], check=True, env=env, capture_output=True)


def venv_with(where: Path, cache: Path, *wheels: Path) -> Path:
    uv("venv", "-q", "--python", "python3", where, cache=cache)
    uv("pip", "install", "-q", "--python", where / "bin" / "python", *wheels, cache=cache)
    return where


@pytest.mark.skipif(not UV.exists(), reason="needs the Makefile's uv (.tools/bin/uv)")
def test_a_cache_compiled_once_gives_the_next_virtualenv_its_bytecode(tmp_path):
    cache = tmp_path / "uv-cache"
    modules = {"__init__": "X = 1\n", "core": "def f():\n    return 2\n"}
    used = wheel(tmp_path, "usedpkg", "1.0", modules)
    other = wheel(tmp_path, "otherpkg", "1.0", {"__init__": "Y = 1\n"})
    first = venv_with(tmp_path / "first", cache, used)
    venv_with(tmp_path / "unrelated", cache, other)  # in the cache, not in `first`

    done = bytecode.compile_cache(first, cache, workers=1)
    assert (done.archives, done.sources, done.compiled, done.failed) == (1, 2, 2, 0)
    (archive,) = bytecode.archives(bytecode.site_packages(first), cache)
    tag = sys.implementation.cache_tag
    compiled = sorted(p.name for p in (archive / "usedpkg" / "__pycache__").iterdir())
    assert compiled == [f"__init__.{tag}.pyc", f"core.{tag}.pyc"]
    assert not list((cache / bytecode.ARCHIVES).glob("*/otherpkg/__pycache__"))
    # A second call finds nothing to do.
    assert bytecode.compile_cache(first, cache, workers=1).compiled == 0

    # The next job's fresh virtualenv: linked .pyc files, which Python loads without compiling.
    second = venv_with(tmp_path / "second", cache, used)
    site = bytecode.site_packages(second)
    assert list((site / "usedpkg" / "__pycache__").glob("core.*.pyc"))
    proc = subprocess.run(
        [str(second / "bin" / "python"), "-v", "-c", "import usedpkg.core"],
        capture_output=True,
        text=True,
        check=True,
        env={**run_env(), "PYTHONDONTWRITEBYTECODE": ""},
    )
    core = site / "usedpkg" / "core.py"
    assert f"matches {core}" in proc.stderr, proc.stderr[-2000:]
    assert "# wrote" not in proc.stderr


def test_only_what_lacks_bytecode_is_compiled_and_a_bad_file_is_counted(tmp_path, capsys):
    cache, site = tmp_path / "cache", tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    archive = cache / bytecode.ARCHIVES / "abc123"
    dist = "pkg-2.0.dist-info"
    for root in (archive, site):
        (root / dist).mkdir(parents=True)
    (archive / "pkg").mkdir()
    (archive / "pkg" / "good.py").write_text("A = 1\n")
    (archive / "pkg" / "broken.py").write_text("def (:\n")  # test data of some package
    (archive / "pkg" / "elsewhere.py").write_text("B = 2\n")  # not in RECORD: left alone
    (archive / dist / "RECORD").write_text(
        "pkg/good.py,,\npkg/broken.py,,\n../../bin/tool.py,,\npkg-2.0.data/scripts/x.py,,\n"
    )
    main(["cache-bytecode", "--cache", str(cache), "--venv", str(tmp_path / "venv")])
    out = capsys.readouterr().out
    assert "1 archives" in out and "2 .py files" in out and "compiled 1 now" in out, out
    assert "1 would not compile" in out, out
    assert bytecode.uncompiled([archive / "pkg" / "good.py"]) == []
    elsewhere = archive / "pkg" / "elsewhere.py"
    assert bytecode.uncompiled([elsewhere]) == [elsewhere]
