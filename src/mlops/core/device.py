"""Resolve ``train.device`` (auto | cpu | cuda) to the device a model trains on."""

from __future__ import annotations

import os
import shutil
import subprocess

from mlops.core.errors import ConfigError


def visible_gpus() -> list[str]:
    """Names of the CUDA GPUs this process may use (empty on a CPU-only machine)."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return []
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run(
            [smi, "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def resolve_device(requested: str, *, gpus: list[str] | None = None) -> str:
    """``auto`` picks ``cuda`` when a GPU is visible; ``cuda`` without one is an error."""
    if requested == "cpu":
        return "cpu"
    found = visible_gpus() if gpus is None else gpus
    if requested == "cuda" and not found:
        raise ConfigError(
            "train.device: 'cuda' was requested but no CUDA GPU is visible "
            "(nvidia-smi lists none); use 'auto' or 'cpu' on this machine"
        )
    if requested not in ("auto", "cuda"):
        raise ConfigError(f"train.device: unknown device {requested!r}; allowed: auto, cpu, cuda")
    return "cuda" if found else "cpu"
