"""Every core command builds its one config the same way: the ``--config`` YAML, then the flags on top.

Each flag of these commands sets the config field of its own name (``--tune-subset`` ->
``TrainConfig.tune_subset``), apart from the few that say where to read or write and are not part of
what is computed (listed below), so a YAML key and a flag never mean two things.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import click
import pytest
import typer
import yaml

from campaignlab.cli import build_app
from tests.conftest import run_cli

CONFIGS = {
    "generate": "campaignlab.synth.config:GeneratorConfig",
    "calibrate": "campaignlab.synth.calibrate:CalibrateConfig",
    "embed": "campaignlab.features.embed:EmbedConfig",
    "train": "campaignlab.models.commands:TrainConfig",
    "evaluate": "campaignlab.models.commands:EvaluateConfig",
    # --features builds PredictConfig, --campaigns PredictCampaignsConfig: each flag sets a field of one
    "predict": "campaignlab.models.commands:PredictConfig campaignlab.serving.batch:PredictCampaignsConfig",
    "compare": "campaignlab.evaluation.compare:CompareConfig",
    "register": "campaignlab.evaluation.compare:RegisterConfig",
}
# Flags that are not config fields: where to read/write (recorded outside the config, so the same
# config gives the same bytes wherever it is written), the progress bar, and flags that fill a field of
# another name because they are spelled for the command line.
NOT_FIELDS = {
    "generate": {"out", "quiet"},
    "calibrate": {"out"},
    "embed": {
        "dataset",
        "out",
        "quiet",
        "no_cache",
        "vertex_endpoint",
        "vertex_project",
        "vertex_location",
        "vertex_concurrency",
    },  # fmt: skip  -> use_cache, vertex.*
    "train": {"quiet"},
    "predict": {"quiet", "no_cache", "no_explain"},  # -> use_cache, explain
    "compare": {"model"},  # repeatable NAME=DIR -> models
}


def _commands() -> dict[str, click.Command]:
    root = typer.main.get_command(build_app(plugins=False))
    assert isinstance(root, click.Group)
    ctx = click.Context(root)
    return {name: root.get_command(ctx, name) for name in CONFIGS}  # type: ignore[misc]


@pytest.mark.parametrize("name", list(CONFIGS))
def test_every_flag_is_a_field_of_the_commands_config(name: str) -> None:
    cmd = _commands()[name]
    fields: dict[str, object] = {}
    for model in CONFIGS[name].split():
        module, attr = model.split(":")
        fields |= getattr(importlib.import_module(module), attr).model_fields
    params = {p.name for p in cmd.params if p.name}
    assert "config" in params, f"`campaignlab {name}` has no --config"
    stray = params - {"config"} - NOT_FIELDS.get(name, set()) - set(fields)
    assert not stray, f"`campaignlab {name}` flags that set no config field of their name: {stray}"
    for p in cmd.params:  # a flag left out must not override the file: its default is None
        if p.name in fields and isinstance(p, click.Option) and not p.is_flag:
            assert p.default in (None, [], ()), f"--{p.name} has its own default {p.default!r}"


def test_generate_reads_the_yaml_and_flags_win(tmp_path: Path) -> None:
    cfg = tmp_path / "gen.yaml"
    cfg.write_text(yaml.safe_dump({"preset": "v25", "scale": 0.002, "seed": 5, "noise": "low"}))
    out = tmp_path / "ds"
    proc = run_cli("generate", "--config", cfg, "--seed", "7", "--quiet", "--out", out)
    assert proc.returncode == 0, proc.stderr
    resolved = json.loads((out / "manifest.json").read_text())["config"]
    assert (resolved["seed"], resolved["scale"], resolved["noise"]) == (7, 0.002, "low")


def test_a_bad_key_in_the_yaml_is_named(tmp_path: Path) -> None:
    cfg = tmp_path / "eval.yaml"
    cfg.write_text("model: m\nfeatures: f\nout: o\nsplitt: test\n")
    proc = run_cli("evaluate", "--config", cfg)
    assert proc.returncode == 2
    assert "splitt: got 'test' -> unknown key" in proc.stderr


def test_a_missing_field_is_named_without_echoing_the_input(tmp_path: Path) -> None:
    proc = run_cli("evaluate", "--features", tmp_path, "--out", tmp_path / "o", env={
        "CAMPAIGNLAB_LEADERBOARD_TOKEN": "clb_secret"})  # fmt: skip
    assert proc.returncode == 2
    assert "model: got nothing -> required" in proc.stderr
    assert "clb_secret" not in proc.stderr + proc.stdout
