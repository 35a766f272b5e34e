"""What every command module of ``mlops`` shares: the ``add`` function ``mlops.cli`` hands
each module's ``register``, the params of ``--params``, and argument types."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

Handler = Callable[[argparse.Namespace], Any]
Add = Callable[[str, Handler, str], argparse.ArgumentParser]


def params_of(args: argparse.Namespace) -> Any:
    """params.yaml (``--params``), validated."""
    from mlops.core.config import load_params

    return load_params(args.params)


def flag(text: str) -> bool:
    """A workflow input's boolean: true/false (empty: false, as for a scheduled run)."""
    if text.strip().lower() in ("true", "1", "yes"):
        return True
    if text.strip().lower() in ("", "false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)
