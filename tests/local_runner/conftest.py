"""Fixtures of the local-runner tests: compiled test pipelines and a Docker engine check."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.local_runner.pipelines import IMAGE, compile_all


@pytest.fixture(scope="session")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every test pipeline compiled by kfp's compiler: {name: YAML path}."""
    return compile_all(tmp_path_factory.mktemp("compiled"))


@pytest.fixture(scope="session")
def docker_engine() -> None:
    """Fail (never skip) when the Docker engine or the base image is missing: CI must have both."""
    import docker

    client = docker.from_env()
    client.ping()
    client.images.get(IMAGE)  # containers/base-image.sh builds it
