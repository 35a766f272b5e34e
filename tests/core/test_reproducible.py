"""The same OpenBLAS kernel on every x86-64 machine, so the demo model's bytes (and dvc.lock)
do not depend on the CPU or the thread count."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

from mlops.core.reproducible import KERNEL, _has_avx2, pin_blas_kernel

from ..conftest import REPO_ROOT, run_env

AVX2 = "flags\t\t: fpu sse2 avx avx2 fma\n"


def test_pinned_on_an_avx2_cpu(tmp_path, monkeypatch):
    monkeypatch.setattr("platform.machine", lambda: "x86_64")
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\n" + AVX2)
    env: dict[str, str] = {}
    assert pin_blas_kernel(env, cpuinfo) == KERNEL and env == {"OPENBLAS_CORETYPE": KERNEL}


def test_left_alone_without_avx2_on_arm_or_when_chosen(tmp_path, monkeypatch):
    old = tmp_path / "cpuinfo"
    old.write_text("flags\t\t: fpu sse2 avx\n")
    monkeypatch.setattr("platform.machine", lambda: "x86_64")
    assert pin_blas_kernel({}, old) is None
    assert pin_blas_kernel({}, tmp_path / "absent") is None  # macOS: no /proc/cpuinfo
    monkeypatch.setattr("platform.machine", lambda: "aarch64")
    new = tmp_path / "avx2"
    new.write_text(AVX2)
    assert pin_blas_kernel({}, new) is None
    monkeypatch.setattr("platform.machine", lambda: "x86_64")
    chosen = {"OPENBLAS_CORETYPE": "Zen"}
    assert pin_blas_kernel(chosen, new) == "Zen" and chosen == {"OPENBLAS_CORETYPE": "Zen"}


FIT = """
import mlops  # first: it pins the kernel before NumPy loads (the CLI imports it first too)
import hashlib, io, joblib, threadpoolctl
from mlops.core.config import load_params
from mlops.stages.prepare import clean, read_raw, split
from mlops.stages.train import fit
from tests.conftest import demo_csv_path
params = load_params("params.yaml")
data = split(clean(read_raw(demo_csv_path()), params), params)
buffer = io.BytesIO()
joblib.dump(fit(data.train, params, device="cpu").model, buffer)
info = threadpoolctl.threadpool_info()
kernels = {i["architecture"] for i in info if i["internal_api"] == "openblas"}
print(",".join(sorted(kernels)), hashlib.md5(buffer.getvalue()).hexdigest())
"""


@pytest.mark.skipif(not _has_avx2(), reason="the kernel is pinned on x86-64 CPUs with AVX2")
def test_the_demo_model_has_the_same_bytes_whatever_the_threads():
    """Two processes, one and two OpenBLAS threads: the pinned kernel and identical bytes."""
    outputs = set()
    for threads in ("1", "2"):
        env = {**run_env(), "OPENBLAS_NUM_THREADS": threads, "OMP_NUM_THREADS": threads}
        env.pop("OPENBLAS_CORETYPE", None)
        proc = subprocess.run(
            [sys.executable, "-c", FIT], cwd=REPO_ROOT, env=env, capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stderr
        outputs.add(tuple(proc.stdout.split()[-2:]))
    (only,) = outputs  # one md5 for both thread counts
    kernels, md5 = only
    assert kernels == KERNEL  # NumPy's and SciPy's OpenBLAS alike
    assert md5 != hashlib.md5(b"").hexdigest()
