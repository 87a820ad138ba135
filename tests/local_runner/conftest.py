"""Fixtures of the local-runner tests: compiled test pipelines and a Docker engine check."""

from __future__ import annotations

import os
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


@pytest.fixture(scope="session")
def cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The KFP-construct pipelines of kfp_cases.py, compiled: {name: YAML path}."""
    from tests.local_runner.kfp_cases import compile_cases

    return compile_cases(tmp_path_factory.mktemp("cases"))


@pytest.fixture
def kfp_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lightweight Python components run with the process backend on this venv's kfp: a ``python3``
    first on PATH that is this interpreter and skips ``python3 -m pip`` (nothing is installed)."""
    import sys

    stub = tmp_path / "stub-bin"
    stub.mkdir()
    py = stub / "python3"
    py.write_text(
        f'#!/bin/sh\ncase "$1 $2" in "-m pip"|"-m ensurepip") exit 0;; esac\nexec "{sys.executable}" "$@"\n'
    )
    py.chmod(0o755)
    monkeypatch.setenv("PATH", f"{stub}:{os.environ['PATH']}")
