"""Compile a registered pipeline to Vertex-ready YAML with validated parameters and resolved images."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml

from campaignlab.errors import ConfigError
from campaignlab.io import atomic_write_bytes


def compile_pipeline(
    name: str,
    out: str | Path,
    *,
    config: str | Path | None = None,
    overrides: list[str] | None = None,
    images_file: str | Path | None = None,
    registry: str | None = None,
    image_tag: str | None = None,
) -> dict[str, Any]:
    """Compile pipeline ``name`` to ``out`` (YAML) and return a summary.

    The run parameters (``config``, by default ``pipelines/configs/NAME.yaml``, then ``overrides``)
    are validated against the pipeline's signature and become the compiled defaults. The images of
    the components are replaced by the built or pushed ones (see :func:`components.images.resolve_images`).

    Raises:
        ConfigError: unknown pipeline, bad parameter, or a missing images file.
    """
    from kfp import compiler

    import pipelines
    from components.images import resolve_images
    from pipelines.params import default_config, load_run_parameters, model_from_signature

    pipeline = pipelines.get(name)
    config = config if config is not None else default_config(name)
    model = model_from_signature(name, pipeline.pipeline_func)
    params = load_run_parameters(model, config, overrides or [], source=str(config or "--param"))
    try:
        images = resolve_images(images_file, registry=registry, tag=image_tag)
    except FileNotFoundError as err:
        raise ConfigError(str(err)) from None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pipeline.yaml"
        compiler.Compiler().compile(
            pipeline_func=pipeline, package_path=str(path), pipeline_parameters=params
        )
        spec = yaml.safe_load(path.read_text())
    used = set()
    for executor in spec.get("deploymentSpec", {}).get("executors", {}).values():
        container = executor.get("container")
        if container and container.get("image") in images:
            container["image"] = images[container["image"]]
            used.add(container["image"])
    atomic_write_bytes(out, yaml.safe_dump(spec, sort_keys=True).encode())
    return {"pipeline": name, "out": str(out), "parameters": params, "images": sorted(used)}
