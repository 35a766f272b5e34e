"""Byte-identical models across x86-64 machines: one OpenBLAS kernel for every CPU.

NumPy's and SciPy's OpenBLAS choose their kernels at load time from the CPU (Haswell on one
machine, SkylakeX on another with AVX-512). The kernels round differently in the last bits, so
the same fit on the same data gives a ``models/model.joblib`` with other bytes (equal metrics,
another md5 in ``dvc.lock``). :func:`pin_blas_kernel` sets ``OPENBLAS_CORETYPE`` to the
Haswell kernel (AVX2, on every x86-64 server CPU of the last decade) before NumPy is imported,
unless the environment already chose one; the thread count does not change OpenBLAS's results
for these fits. CPUs without AVX2, other architectures (ARM), and GPUs keep their own kernels:
their models are equal in metrics, not in bytes (docs/pipeline.md, "Reproducibility").
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

KERNEL = "Haswell"
CPUINFO = Path("/proc/cpuinfo")


def _has_avx2(cpuinfo: Path = CPUINFO) -> bool:
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    flags = next((line for line in text.splitlines() if line.startswith("flags")), "")
    return "avx2" in flags.split()


def pin_blas_kernel(environ: dict[str, str] | None = None, cpuinfo: Path = CPUINFO) -> str | None:
    """Set ``OPENBLAS_CORETYPE`` (in ``environ``, default ``os.environ``); return the kernel
    now chosen, or None when it is left to OpenBLAS (not x86-64, or no AVX2)."""
    env = os.environ if environ is None else environ
    if "OPENBLAS_CORETYPE" in env:
        return env["OPENBLAS_CORETYPE"]
    if platform.machine().lower() not in {"x86_64", "amd64"} or not _has_avx2(cpuinfo):
        return None
    env["OPENBLAS_CORETYPE"] = KERNEL
    return KERNEL
