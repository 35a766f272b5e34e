"""params.yaml edited as a person wrote it: ruamel.yaml's round trip keeps its comments,
quotes and layout (``mlops init`` fills in a new table's keys; ``mlops tune`` writes the
winning hyper-parameters)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)  # the file's own layout
    yaml.representer.add_representer(
        type(None), lambda r, _: r.represent_scalar("tag:yaml.org,2002:null", "null")
    )
    return yaml


def load(path: Path) -> Any:
    """The document, as ruamel.yaml's commented mappings."""
    return _yaml().load(path.read_text(encoding="utf-8"))


def dump(doc: Any) -> str:
    out = io.StringIO()
    _yaml().dump(doc, out)
    return out.getvalue()
