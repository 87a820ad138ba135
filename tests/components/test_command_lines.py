"""Every component is a plain command line: no shell, and one name per concept.

Each compiled component runs ``campaignlab <command>`` directly (no ``sh -c`` script), every input feeds
the flag of the same name (``tune_subset`` -> ``--tune-subset``), and that flag sets the command's config
field of the same name. The command lines are read from the compiled YAML, as Vertex and the local runner
read them, and parsed with the real ``campaignlab`` command's parser.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click
import pytest
import typer
import yaml

import components
from campaignlab.cli import build_app

SHELLS = {"sh", "bash", "dash", "zsh", "/bin/sh", "/bin/bash", "/usr/bin/env"}
INPUT = re.compile(r"\{\{\$\.inputs\.(?:parameters|artifacts)\['([^']+)'\](?:\.path|\.uri)?\}\}")
OUTPUT = re.compile(r"\{\{\$\.outputs\.(?:parameters|artifacts)\['([^']+)'\][^}]*\}\}")

# What each command validates its options with (the config field names the flags must match).
CONFIG_MODELS = {
    "generate": "campaignlab.synth.config:GeneratorConfig",
    "embed": "campaignlab.features.embed:EmbedConfig",
    "train": "campaignlab.models.commands:TrainConfig",
    "evaluate": "campaignlab.models.commands:EvaluateConfig",
    "compare": "campaignlab.evaluation.compare:CompareConfig",
    "register": "campaignlab.evaluation.compare:RegisterConfig",
    "partition": "campaignlab.federated.partition:PartitionConfig",
    "federate": "campaignlab.federated.config:FederatedConfig",
    "ingest": "campaignlab.ingest.dataset:IngestConfig",
    "gate": "campaignlab.ingest.gate:GateConfig",
    "predict": "campaignlab.serving.batch:PredictCampaignsConfig",
}
# Commands that take their flags as plain arguments (no config model): only the names are checked.
NO_CONFIG = {"gate-verdict", "models pull", "models register", "models promote"}
# Inputs a command takes beside its config: the folder it reads.
BESIDE_CONFIG = {
    "embed": {"dataset"},
    "gate": {"dataset", "features", "reference"},
    "partition": {"features"},
    "federate": {"partitions"},
}


def _compiled(name: str, tmp: Path) -> dict[str, Any]:
    from kfp import compiler

    path = tmp / f"{name}.yaml"
    compiler.Compiler().compile(getattr(components, name), str(path))
    spec = yaml.safe_load(path.read_text())
    (executor,) = spec["deploymentSpec"]["executors"].values()
    return dict(executor["container"])


@pytest.fixture(scope="module")
def containers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("components")
    return {name: _compiled(name, tmp) for name in components.__all__}


def _tokens(item: Any) -> tuple[list[str], set[str]]:
    """One args element as command-line tokens (an IfPresent taken as present) and the inputs that
    only appear inside a ``Concat`` (a NAME=PATH pair, not a flag's whole value)."""
    if isinstance(item, str) and item.lstrip().startswith(('{"IfPresent"', '{"Concat"')):
        item = json.loads(item)
    if isinstance(item, dict):
        kind, body = next(iter(item.items()))
        if kind == "IfPresent":
            out: list[str] = []
            composite: set[str] = set()
            for part in body.get("Then", []):
                t, c = _tokens(part)
                out += t
                composite |= c
            return out, composite
        if kind == "Concat":
            text = "".join("".join(_tokens(p)[0]) for p in body)
            return ["<concat>"], set(re.findall(r"<input:(\w+)>", text))
        raise AssertionError(f"unexpected placeholder {kind}")
    text = str(item)
    if text == "{{$}}":
        return ["<executor-input>"], set()
    if m := INPUT.fullmatch(text):
        return [f"<input:{m.group(1)}>"], set()
    if m := OUTPUT.fullmatch(text):
        return [f"<output:{m.group(1)}>"], set()
    assert "{{" not in text, f"a placeholder inside a literal argument: {text!r}"
    return [text], set()


def _field_names(model: Any) -> set[str]:
    """A config model's field names, with those of its sections (``server.num_rounds`` -> num_rounds)."""
    import typing

    from pydantic import BaseModel

    names: set[str] = set()
    for fname, field in model.model_fields.items():
        names.add(fname)
        for t in (field.annotation, *typing.get_args(field.annotation)):
            if isinstance(t, type) and issubclass(t, BaseModel):
                names |= _field_names(t)
    return names


def _command(name: str) -> click.Command:
    """The command ``name`` (``"train"``, or ``"models promote"`` in a sub-command group)."""
    cmd: click.Command | None = typer.main.get_command(build_app(plugins=False))
    for part in name.split():
        assert isinstance(cmd, click.Group), f"campaignlab: {name!r} is not a command path"
        cmd = cmd.get_command(click.Context(cmd), part)
        assert cmd is not None, f"campaignlab has no command {name!r}"
    assert cmd is not None
    return cmd


@pytest.mark.parametrize("name", components.__all__)
def test_component_runs_campaignlab_without_a_shell(name: str, containers: dict) -> None:
    container = containers[name]
    command, args = container["command"], container.get("args", [])
    assert command[0] == "campaignlab" and 2 <= len(command) <= 3, command  # a command or group + command
    for token in [*command, *map(str, args)]:
        assert token not in SHELLS and not re.search(r"\b(sh|bash)\s+-\w*c\b", token), token
        assert not re.search(r"\$\{?\d", token), f"shell positional parameter in {token!r}"


@pytest.mark.parametrize("name", components.__all__)
def test_every_input_feeds_the_flag_and_config_field_of_its_name(name: str, containers: dict) -> None:
    import importlib

    container = containers[name]
    cli_name = " ".join(container["command"][1:])
    tokens: list[str] = []
    composite: set[str] = set()
    for item in container.get("args", []):
        t, c = _tokens(item)
        tokens += t
        composite |= c
    cmd = _command(cli_name)
    parser = cmd.make_parser(click.Context(cmd))
    values, extra, _ = parser.parse_args(tokens)  # raw strings, as the command would receive them
    assert not extra, f"{name}: arguments the command does not take: {extra}"
    if cli_name in NO_CONFIG:
        fields = None
    else:
        module, attr = CONFIG_MODELS[cli_name].split(":")
        fields = _field_names(getattr(importlib.import_module(module), attr))
    fed: set[str] = set()
    for param, raw in values.items():
        for value in raw if isinstance(raw, list | tuple) else [raw]:
            m = re.fullmatch(r"<input:(\w+)>", str(value))
            if not m:
                continue
            fed.add(m.group(1))
            assert m.group(1) == param, f"{name}: input {m.group(1)!r} feeds --{param.replace('_', '-')}"
            if fields is not None and param not in BESIDE_CONFIG.get(cli_name, set()):
                assert param in fields, f"{name}: flag --{param} sets no config field of that name"
    declared = set(components.__dict__[name].component_spec.inputs or {})
    assert declared == fed | composite, f"{name}: inputs not passed as flags: {declared - fed - composite}"


@pytest.mark.parametrize("pipeline", ["training", "retraining", "prediction"])
def test_pipeline_parameters_feed_inputs_of_the_same_name(pipeline: str, tmp_path: Path) -> None:
    """A run parameter keeps its name down to the component input it sets (``tune`` -> ``tune``)."""
    from kfp import compiler

    import pipelines

    path = tmp_path / f"{pipeline}.yaml"
    compiler.Compiler().compile(pipelines.get(pipeline), str(path))
    spec = yaml.safe_load(path.read_text())
    run_params = set(spec["root"]["inputDefinitions"]["parameters"])
    dags = [spec["root"]["dag"], *(c["dag"] for c in spec["components"].values() if "dag" in c)]
    fed = []
    # the root and the sub-DAGs of dsl.If (they pass "pipelinechannel--NAME" along); kfp's importer
    # takes its artifact's address as `uri`, a name of kfp's
    for dag in dags:
        for task, body in dag["tasks"].items():
            for name, value in (body.get("inputs", {}).get("parameters") or {}).items():
                source = value.get("componentInputParameter")
                if source is not None and not (name == "uri" and task.startswith("importer")):
                    name, source = (n.removeprefix("pipelinechannel--") for n in (name, source))
                    if source not in run_params:  # a task's output passed into a condition group
                        continue
                    fed.append((task, name, source))
                    assert name == source, f"{pipeline}: parameter {source!r} feeds {task}.{name}"
    assert fed, "no pipeline parameter reaches a component"
