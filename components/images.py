"""The one place that names the container images of the components.

Each component runs ``campaignlab <command>`` in the image of its dependency set (see
``containers/Dockerfile``). At import time the names are static, ``campaignlab-<set>:<version>``
(the package version); nothing is read from the environment, so importing never fails. At compile
time :func:`resolve_images` maps them to what was actually built or pushed: the content-hash tags
that ``containers/build.sh`` records in ``build/images.json``, an explicit ``--image-tag`` and/or a
registry prefix (``us-docker.pkg.dev/PROJECT/REPO``).
"""

from __future__ import annotations

import json
from pathlib import Path

from campaignlab import __version__

IMAGE_SETS = ("core", "gbm", "torch", "fl", "embed", "serve")
"""Dependency sets = images: core (generate, partition, compare), gbm (LightGBM), torch (deep models
and evaluation of any model), fl (Flower), embed (text encoders), serve (the leaderboard and the prediction
service: embed's libraries plus the web stack, so any model family can be served and re-embed campaigns)."""

DEFAULT_IMAGES_FILE = Path(__file__).resolve().parents[1] / "build" / "images.json"


def default_image(name: str) -> str:
    """The import-time image of a dependency set: ``campaignlab-<name>:<package version>``."""
    if name not in IMAGE_SETS:
        raise ValueError(f"unknown image set {name!r}; expected one of {IMAGE_SETS}")
    return f"campaignlab-{name}:{__version__}"


CORE_IMAGE = default_image("core")
GBM_IMAGE = default_image("gbm")
TORCH_IMAGE = default_image("torch")
FL_IMAGE = default_image("fl")
EMBED_IMAGE = default_image("embed")
SERVE_IMAGE = default_image("serve")


def resolve_images(
    images_file: str | Path | None = None, registry: str | None = None, tag: str | None = None
) -> dict[str, str]:
    """Map each default image name to the image a compiled pipeline should use.

    Args:
        images_file: JSON written by ``containers/build.sh`` (``{"images": {"core": "name:tag"}}``);
            by default ``build/images.json`` if it exists.
        registry: prefix to put in front of ``campaignlab-<set>`` (replaces any registry in the file).
        tag: tag to use instead of the built one (e.g. ``0.1.0`` or ``0.1.0-1a2b3c4d5e6f``).

    Returns:
        ``{default_image(set): resolved name}`` for every image set.
    """
    built: dict[str, str] = {}
    path = Path(images_file) if images_file else DEFAULT_IMAGES_FILE
    if images_file is not None and not path.is_file():
        raise FileNotFoundError(f"images file {str(path)!r} does not exist (run containers/build.sh)")
    if path.is_file():
        data = json.loads(path.read_text())
        if data.get("version") == __version__ or images_file is not None:
            built = dict(data.get("images", {}))
    mapping = {}
    for name in IMAGE_SETS:
        image = built.get(name, default_image(name))
        repo, _, current_tag = image.rpartition(":")
        if "/" in current_tag:  # "host:port/name" without a tag
            repo, current_tag = image, __version__
        if tag:
            current_tag = tag
        if registry:
            repo = f"{registry.rstrip('/')}/campaignlab-{name}"
        mapping[default_image(name)] = f"{repo}:{current_tag}"
    return mapping
