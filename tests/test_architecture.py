"""The import rules of the architecture, checked in fresh interpreters.

Data flows one way: ``campaignlab`` (the core) -> ``components`` -> ``pipelines`` -> compiled YAML ->
``local_runner``. The core never imports kfp, docker, ``pipelines`` or ``local_runner`` (their commands
join the CLI through the ``campaignlab.cli`` entry-point group); importing ``pipelines`` or ``components``
loads no training library (compiling a pipeline must stay light).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

CORE_FORBIDDEN = ("kfp", "docker", "pipelines", "components", "local_runner")
DSL_FORBIDDEN = ("torch", "lightgbm", "flwr", "sentence_transformers", "sklearn", "optuna", "ray")


def modules_of(package: str) -> list[str]:
    """Every importable module of a top-level package of the repository, by its dotted name."""
    root = REPO / package
    names = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(REPO).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__main__" or "migrations" in parts:
            continue  # __main__ runs the CLI; Alembic's env.py runs only inside Alembic
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(parts))
    return names


def loaded_after_import(modules: list[str], watch: tuple[str, ...], extra_path: Path | None = None) -> dict:
    """Import ``modules`` in a fresh interpreter; which of the ``watch`` top-level packages got loaded."""
    code = (
        "import importlib, json, sys\n"
        f"mods = {modules!r}\n"
        "for m in mods:\n"
        "    importlib.import_module(m)\n"
        f"watch = {watch!r}\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & set(watch))))\n"
    )
    env_path = [str(REPO)] + ([str(extra_path)] if extra_path else [])
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PYTHONPATH": ":".join(env_path), "PATH": "/usr/bin:/bin", "HOME": str(REPO)},
    )
    assert proc.returncode == 0, proc.stderr
    return {"loaded": json.loads(proc.stdout.strip().splitlines()[-1])}


def imported_names(path: Path) -> set[str]:
    """Top-level package names that a source file imports anywhere (also inside functions)."""
    tree = ast.parse(path.read_text(), str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_importing_every_core_module_loads_no_kfp_docker_pipelines_or_local_runner() -> None:
    result = loaded_after_import(modules_of("campaignlab"), CORE_FORBIDDEN)
    assert result["loaded"] == [], f"the core loads {result['loaded']}"


def test_no_core_source_file_imports_the_outer_layers_even_inside_a_function() -> None:
    offenders = {
        str(p.relative_to(REPO)): sorted(imported_names(p) & set(CORE_FORBIDDEN))
        for p in (REPO / "campaignlab").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_components_and_pipelines_load_no_training_library() -> None:
    result = loaded_after_import(modules_of("components") + modules_of("pipelines"), DSL_FORBIDDEN)
    assert result["loaded"] == [], f"compiling a pipeline would load {result['loaded']}"


def test_the_cli_without_plugins_loads_no_outer_layer_and_with_them_has_the_pipeline_commands() -> None:
    code = (
        "import sys, json, typer\n"
        "from campaignlab.cli import build_app\n"
        "cmd = typer.main.get_command(build_app(plugins=False))\n"
        "before = sorted({m.split('.')[0] for m in sys.modules} & {'kfp', 'pipelines', 'local_runner'})\n"
        "full = typer.main.get_command(build_app())\n"
        "print(json.dumps([before, sorted(cmd.commands), sorted(full.commands['pipeline'].commands)]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    before, core_commands, pipeline_commands = json.loads(proc.stdout)
    assert before == []
    assert "pipeline" not in core_commands and {"generate", "train", "federate"} <= set(core_commands)
    assert pipeline_commands == ["compile", "run-local", "schedule", "schedules", "submit"]


@pytest.mark.parametrize("forbidden", ["pipelines", "kfp"])
def test_the_check_fails_on_a_reverse_import(tmp_path: Path, forbidden: str) -> None:
    # A stand-in core module that imports an outer layer: both checks must catch it.
    pkg = tmp_path / "corelike"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "bad.py").write_text(f"import {forbidden}\n")
    assert loaded_after_import(["corelike.bad"], CORE_FORBIDDEN, extra_path=tmp_path)["loaded"] == [forbidden]
    assert forbidden in imported_names(pkg / "bad.py")
