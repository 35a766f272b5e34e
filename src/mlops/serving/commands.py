"""The serving commands of ``mlops``, each with its arguments beside its handler:
``bento-import``, ``bento-build`` and ``bento-containerize`` (``mlops.cli`` adds them)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from mlops.core.commands import Add, params_of
from mlops.serving.names import ARCHIVE


def cmd_bento_import(args: argparse.Namespace) -> None:
    from mlops.serving import bento

    with contextlib.redirect_stdout(sys.stderr):
        tag = bento.import_champion(
            params_of(args), version=args.version, requirements=args.requirements, uv=args.uv
        )
    print(tag)


def cmd_bento_build(args: argparse.Namespace) -> None:
    from mlops.serving import bento

    tag = bento.build_bento(params_of(args), export=args.export, bentoml=args.bentoml)
    print(tag if args.export is None else f"{tag} -> {args.export}")


def cmd_bento_containerize(args: argparse.Namespace) -> None:
    from mlops.serving import bento

    tag = bento.containerize(params_of(args), args.archive, args.image_tag, bentoml=args.bentoml)
    print(f"{tag} -> {args.image_tag}")


def register(add: Add) -> None:
    p_import = add(
        "bento-import",
        cmd_bento_import,
        "copy the registry's champion into the BentoML model store (before `mlops bento-build`)",
    )
    p_import.add_argument("--version", help="a registered version instead of the champion")
    p_import.add_argument(
        "--requirements",
        type=Path,
        metavar="FILE",
        help="also write the bento's requirements.txt there, with the model family's extra only",
    )
    p_import.add_argument("--uv", default="uv", help="the uv binary that exports them")
    p_build = add(
        "bento-build",
        cmd_bento_build,
        "bentoml build, named after mlflow.registered_model (the bento NAME-service, serving "
        "the BentoML model NAME); prints the bento's tag",
    )
    p_build.add_argument(
        "--export",
        type=Path,
        nargs="?",
        const=ARCHIVE,
        metavar="FILE",
        help=f"also export the bento archive (default: {ARCHIVE}) for the publishing job",
    )
    p_image = add(
        "bento-containerize",
        cmd_bento_containerize,
        "import an exported bento archive and build its image (needs a Docker engine)",
    )
    p_image.add_argument("--image-tag", required=True, help="e.g. ghcr.io/owner/repo:sha")
    p_image.add_argument(
        "archive", type=Path, nargs="?", default=ARCHIVE, help=f"default: {ARCHIVE}"
    )
    for p in (p_build, p_image):
        p.add_argument("--bentoml", default="bentoml", help="the bentoml binary")
