"""What the BentoML service needs, prepared at build time.

``import_champion`` takes the registry's ``champion`` (or a given version), and stores in the
BentoML model store: the pipeline artifact (``model.joblib``, the very file DVC produced), the
request schema generated from the feature configuration and the training data, and the
model's output columns (``schema.json``), and the version's provenance as metadata. When the
registry's ``challenger`` is another version, it is stored too, as the model
``<name>-challenger``, and the champion's metadata names its tag, so that the bento carries
both (the service serves the challenger only when ``MLOPS_CHALLENGER_MODE`` asks it to:
``mlops.serving.challenger``). ``bentoml build`` then packs them into the bento, so the served
models never change after the build.

``mlops.serving.requests`` turns ``schema.json`` into the checks of each request's columns:
numeric fields with their range, categorical fields restricted to the categories seen in
training, no extra fields, no NaN or infinity.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops.core.artifacts import MODEL, read_prepared
from mlops.core.errors import MlopsError
from mlops.serving.names import MODEL_ARGUMENT, from_params
from mlops.tracking.registry import challenger_version, fetch_version

if TYPE_CHECKING:
    import pandas as pd

    from mlops.core.config import Params

SCHEMA_FILE = "schema.json"
CHALLENGER_TAG = "challenger_tag"  # the champion's metadata: the challenger's BentoML model


def build_schema(train: pd.DataFrame, params: Params) -> dict[str, Any]:
    """Field specs from params.yaml's feature lists and the training data's values."""
    fields: dict[str, dict[str, Any]] = {}
    for name in params.features.numeric:
        column = train[name]
        values = column.dropna()
        spec: dict[str, Any] = {"type": "number", "nullable": bool(column.isna().any())}
        if len(values) and set(values.unique()) <= {0.0, 1.0}:
            spec = {"type": "binary", "nullable": spec["nullable"]}
        elif len(values) and float(values.min()) >= 0:
            spec["minimum"] = 0.0
        fields[name] = spec
    for name in params.features.categorical:
        column = train[name]
        fields[name] = {
            "type": "category",
            "categories": sorted(str(v) for v in column.dropna().unique()),
            "nullable": bool(column.isna().any()),
        }
    # The id column is not a feature: a request may carry it (canary routing, the records).
    return {"fields": fields, "order": params.features.used, "id": params.data.id_column}


def export_requirements(model_types: list[str], dest: Path, uv: str = "uv") -> list[str]:
    """Write the bento's ``requirements.txt`` from ``uv.lock``: the package's core dependencies
    and the extras of ``model_types``' families only (TensorFlow only for a Keras champion or
    challenger, the other families' images are gigabytes smaller; never Spark). Returns the
    extras used."""
    from mlops.ci.workflow import needed_extras

    extras = needed_extras(model_types)
    cmd = [uv, "export", "--frozen", "--no-dev", *(f"--extra={e}" for e in extras)]
    cmd += ["--no-hashes", "--no-emit-project", "--no-annotate", "--quiet", "-o", str(dest)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise MlopsError(f"`{' '.join(cmd)}` failed: {proc.stderr.strip()}")
    return extras


def import_champion(
    params: Params,
    version: str | None = None,
    requirements: Path | None = None,
    uv: str = "uv",
) -> str:
    """Store the champion (or ``version``) in the BentoML model store, and the challenger when
    it is another version (not with ``version``); return the champion's tag. With
    ``requirements``, also write the bento's requirements for the models' families there."""
    train = read_prepared("train")
    schema = build_schema(train, params)
    names = from_params(params)
    with tempfile.TemporaryDirectory() as tmp:
        facts = fetch_version(params, version, Path(tmp) / "champion")
        other = None if version else challenger_version(params, str(facts["version"]))
        second = None if other is None else fetch_version(params, other, Path(tmp) / "challenger")
        if requirements is not None:
            types = [str(f["model_type"]) for f in (facts, second) if f is not None]
            extras = export_requirements(types, requirements, uv)
            print(f"{requirements}: model.type {', '.join(types)}, extras: {extras or 'none'}")
        outputs = _checked(facts, schema)
        challenger = None
        if second is not None:
            if _checked(second, schema) != outputs:
                raise MlopsError(
                    f"the challenger, {names.model} v{second['version']}, answers with other "
                    f"output columns than the champion v{facts['version']} (its classes "
                    "differ?): the two cannot be compared on the same traffic; nothing imported"
                )
            print(f"importing the challenger, {names.model} v{second['version']}, into BentoML")
            challenger = _store(names.challenger, second, {**schema, "outputs": outputs})
        print(f"importing {names.model} v{facts['version']} into BentoML")
        return _store(names.model, facts, {**schema, "outputs": outputs}, challenger)


def _checked(facts: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """The output contract of a version's model (its task's, ``mlops.tasks``), after checking
    that the model reads exactly the request schema's columns (params.yaml's features)."""
    import joblib

    model = joblib.load(facts["path"])
    wanted = [str(name) for name in getattr(model, "feature_names_in_", schema["order"])]
    for missing in [n for n in wanted if n not in schema["order"]]:
        raise MlopsError(
            f"v{facts['version']} reads column {missing!r}, which params.yaml's features do "
            "not name: it was trained on other features; nothing imported"
        )
    for extra in [n for n in schema["order"] if n not in wanted]:
        raise MlopsError(
            f"v{facts['version']} does not read column {extra!r}, a feature of params.yaml: "
            "it was trained on other features; nothing imported"
        )
    fields: dict[str, Any] = model.output_fields()
    return fields


def _store(
    name: str, facts: dict[str, Any], schema: dict[str, Any], challenger: str | None = None
) -> str:
    """One registry version as the BentoML model ``name`` (``schema`` with its outputs);
    returns its tag."""
    import bentoml

    metadata = {k: v for k, v in facts.items() if k != "path"}
    if challenger is not None:
        metadata[CHALLENGER_TAG] = challenger
    with bentoml.models.create(
        name,
        labels={"version": facts["version"], "model_type": str(facts["model_type"])},
        metadata=json.loads(json.dumps(metadata)),
    ) as model:
        shutil.copyfile(facts["path"], model.path_of(MODEL.name))
        Path(model.path_of(SCHEMA_FILE)).write_text(json.dumps(schema, indent=2))
    return str(model.tag)


def _bentoml(*args: str, bentoml: str = "bentoml") -> str:
    cmd = [bentoml, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        detail = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-5:]
        raise MlopsError(f"`{' '.join(cmd)}` failed: {' / '.join(detail)}")
    return proc.stdout


def build_bento(params: Params, export: Path | None = None, bentoml: str = "bentoml") -> str:
    """``bentoml build`` with the names of ``params.yaml`` (the bento, its label, the model it
    serves as a bento argument); with ``export``, also write the bento archive there.
    Returns the bento's tag."""
    names = from_params(params)
    out = _bentoml(
        "build",
        "--name",
        names.bento,
        "--label",
        f"registered_model={names.model}",
        "--arg",
        f"{MODEL_ARGUMENT}={names.model}",
        "--output",
        "tag",
        bentoml=bentoml,
    )
    tag = out.strip().splitlines()[-1].removeprefix("__tag__:").strip()
    if export is not None:
        export.parent.mkdir(parents=True, exist_ok=True)
        export.unlink(missing_ok=True)
        _bentoml("export", tag, str(export.resolve()), bentoml=bentoml)
    return tag


def containerize(params: Params, archive: Path, image: str, bentoml: str = "bentoml") -> str:
    """Import the exported bento ``archive`` and build the image ``image`` from it (Docker),
    labelled with the bento's and the registered model's names."""
    names = from_params(params)
    _bentoml("import", str(archive.resolve()), bentoml=bentoml)
    print(f"imported {archive} ({names.bento_tag}); containerizing it as {image}", flush=True)
    labels = {"org.opencontainers.image.title": names.bento, "registered_model": names.model}
    options = [f"--opt=label={key}={value}" for key, value in labels.items()]
    _bentoml("containerize", names.bento_tag, "--image-tag", image, *options, bentoml=bentoml)
    return names.bento_tag
