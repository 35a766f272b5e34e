"""Errors the CLI turns into a one-line message and a non-zero exit code."""

from __future__ import annotations


class MlopsError(Exception):
    """A problem with the inputs that the user has to fix. The message is one line."""

    exit_code = 1


class ConfigError(MlopsError):
    """params.yaml is missing, unreadable or invalid (exit code 2)."""

    exit_code = 2


class DataError(MlopsError):
    """The data does not match what params.yaml describes."""


class ArtifactError(MlopsError):
    """A stage's input artifact is missing: run the stage that produces it first."""


def first_line(exc: BaseException) -> str:
    """An exception's message cut to its first line (a library's may run to pages)."""
    return (str(exc).splitlines() or [type(exc).__name__])[0]
