"""The typed JSON files one command writes and another reads (``report.json``,
``monitor.json``, ``tune.json``): pydantic models that refuse unknown keys, written whole or
not at all, and read back with an error that names the file, the field and the command that
writes it."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationError

from mlops.core.errors import ArtifactError


class Document(BaseModel):
    """A part of such a file: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")


class JsonFile(Document):
    """The whole file. ``kind`` names it in an error, ``written_by`` is the command."""

    kind: ClassVar[str] = "document"
    written_by: ClassVar[str] = "mlops"

    def to_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"

    def write(self, path: Path) -> None:
        from mlops.core.artifacts import write_atomic

        write_atomic(path, self.to_json())

    @classmethod
    def read(cls, path: Path) -> Self:
        try:
            return cls.model_validate_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ArtifactError(f"{path} does not exist; run `{cls.written_by}` first") from None
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "the document"
            raise ArtifactError(
                f"{path}: not a {cls.kind} written by `{cls.written_by}` ({where}: {first['msg']})"
            ) from None
