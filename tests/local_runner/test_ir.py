"""Unit tests on the real compiled YAML of the test pipelines: spec, placeholders, conditions, graph."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from local_runner import conditions, placeholders, spec
from local_runner.errors import (
    ConditionError,
    ParameterError,
    PlaceholderError,
    SpecError,
    UnsupportedFeatureError,
)
from local_runner.graph import downstream, ready_tasks, topological_order
from local_runner.orchestrator import resolve_parameters

JOB = placeholders.JobInfo("job-1", "uuid-1", "task", "task-uuid", "/runs/p/job-1", "2026-01-01T00:00:00Z")


def executor_input(params: dict[str, Any], arts: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "inputs": {
            "parameterValues": params,
            "artifacts": {
                name: {"artifacts": [{"name": name, "uri": uri, "metadata": {"rows": 7}}]}
                for name, uri in (arts or {}).items()
            },
        },
        "outputs": {
            "parameters": {"count": {"outputFile": "/o/parameters/count"}},
            "artifacts": {
                "data": {"artifacts": [{"name": "data", "uri": "/o/artifacts/data", "metadata": {}}]}
            },
            "outputFile": "/o/executor_output.json",
        },
    }


def test_spec_reads_the_compiled_features_pipeline(compiled: dict[str, Path]) -> None:
    p = spec.load(compiled["features"])

    assert p.name == "lr-features"
    n = p.root.input_parameters["n"]
    assert (n.type, n.default) == (spec.NUMBER_INTEGER, 3.0)  # compiled as a float
    make = p.components["comp-make-data"]
    assert isinstance(make.executor, spec.Container)
    assert make.executor.image == "campaignlab-base:bookworm"
    assert set(make.output_parameters) == {"count"} and set(make.output_artifacts) == {"data"}
    loops = [t for c in p.components.values() if c.dag for t in c.dag.tasks.values() if t.iterator]
    assert len(loops) == 1 and loops[0].iterator is not None and loops[0].iterator.parallelism == 2
    root_tasks = p.root.dag.tasks if p.root.dag else {}
    exit_task = next(t for t in root_tasks.values() if t.strategy == spec.ALL_UPSTREAM_TASKS_COMPLETED)
    assert exit_task.dependent_tasks == ("exit-handler-1",)


def test_placeholders_of_make_data_resolve(compiled: dict[str, Path]) -> None:
    make = spec.load(compiled["features"]).components["comp-make-data"].executor
    assert isinstance(make, spec.Container)

    given = placeholders.resolve_command(make.args, executor_input({"n": 3, "msg": "hi", "tag": "v1"}), JOB)
    absent = placeholders.resolve_command(make.args, executor_input({"n": 3, "msg": "hi"}), JOB)

    concat = (
        "for i in $(seq 3); do echo hi; done > /o/artifacts/data && echo 3 > /o/parameters/count"
        ' && echo "args: $0 $1 $2"'
    )
    assert given == [concat, "--tag", "v1"]  # Concat, then IfPresent's Then list
    assert absent == [concat, "--no-tag", "x"]  # IfPresent's Else list
    assert placeholders.resolve_command(make.command, executor_input({}), JOB) == ["sh", "-c"]


def test_placeholders_of_summarize_resolve(compiled: dict[str, Path]) -> None:
    summarize = spec.load(compiled["features"]).components["comp-summarize"].executor
    assert isinstance(summarize, spec.Container)
    ei = executor_input({"scale": 0.5, "flag": True}, {"data": "/runs/x/data"})
    ei["outputs"]["artifacts"]["report"] = {"artifacts": [{"name": "report", "uri": "/o/report"}]}

    args = placeholders.resolve_command(summarize.args, ei, JOB)

    # path and uri are the same local path; a float and a bool render as JSON; {{$}} is the executor input.
    assert args[:5] == ["/runs/x/data", "/runs/x/data", "0.5", "true", "/o/report"]
    assert json.loads(args[5]) == ei


def test_placeholder_kinds_and_errors() -> None:
    ei = executor_input({"xs": [1, 2], "s": "a b"}, {"d": "/d"})

    def one(text: str) -> str:
        return placeholders.resolve_string(text, ei, JOB)

    assert one("{{$.inputs.parameters['xs']}}") == "[1, 2]"
    assert one("--s={{$.inputs.parameters['s']}}") == "--s=a b"
    assert one("{{$.inputs.artifacts['d'].metadata}}") == '{"rows": 7}'
    assert one("{{$.inputs.artifacts['d'].metadata['rows']}}") == "7"
    assert one("{{$.outputs.artifacts['data'].uri}}") == "/o/artifacts/data"
    assert one("{{$.outputs.output_file}}") == "/o/executor_output.json"
    assert (
        one("{{$.pipeline_job_name}}/{{$.pipeline_task_name}}/{{$.pipeline_root}}")
        == "job-1/task//runs/p/job-1"
    )
    assert json.loads(one("{{$.inputs.artifacts['d']}}"))["artifacts"][0]["uri"] == "/d"
    with pytest.raises(PlaceholderError, match="'missing' has no value"):
        one("{{$.inputs.parameters['missing']}}")
    with pytest.raises(PlaceholderError, match="names no output parameter"):
        one("{{$.outputs.parameters['nope'].output_file}}")
    with pytest.raises(UnsupportedFeatureError, match="workspace"):
        one("{{$.workspace_path}}")
    with pytest.raises(UnsupportedFeatureError, match="placeholder"):
        one("{{$.inputs.parameters['s'].json_escape[0]}}")


def test_conditions_of_if_elif_else_select_one_branch(compiled: dict[str, Path]) -> None:
    doc = yaml.safe_load(compiled["features"].read_text())
    branches = doc["components"]["comp-condition-branches-2"]["dag"]["tasks"]
    conds = [branches[f"condition-{i}"]["triggerPolicy"]["condition"] for i in (3, 4, 5)]
    name = "pipelinechannel--make-data-count"

    taken = {count: [conditions.evaluate(c, {name: float(count)}) for c in conds] for count in (1, 2, 3)}

    assert taken == {1: [False, False, True], 2: [False, True, False], 3: [True, False, False]}


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("inputs.parameter_values['f'] >= 0.25", {"f": 0.5}, True),
        ("inputs.parameter_values['b'] == true", {"b": False}, False),
        (
            "inputs.parameter_values['s'] != 'x' && !(int(inputs.parameter_values['n']) < 2)",
            {"s": "y", "n": 2.0},
            True,
        ),
        ("double(inputs.parameter_values['n']) == 2.0 || false", {"n": 2}, True),
        ("int(inputs.parameter_values['n']) == -1", {"n": "-1"}, True),
    ],
)
def test_condition_values(text: str, values: dict[str, Any], expected: bool) -> None:
    assert conditions.evaluate(text, values) is expected


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("inputs.parameter_values['s'] > 1", {"s": "a"}),  # no ordering between string and int
        ("inputs.parameter_values['gone'] == 1", {}),
        ("size(", {}),
        ("inputs.parameter_values['n']", {"n": 3}),  # not a boolean
    ],
)
def test_condition_errors(text: str, values: dict[str, Any]) -> None:
    with pytest.raises(ConditionError):
        conditions.evaluate(text, values)


def test_parameters_are_cast_and_checked(compiled: dict[str, Path]) -> None:
    p = spec.load(compiled["features"])

    params = resolve_parameters(p, {"n": "5", "scale": "2", "flag": "false", "items": "[4, 5]"})

    assert params == {"n": 5, "msg": "hi", "scale": 2.0, "flag": False, "items": [4, 5]}
    assert isinstance(params["n"], int)
    with pytest.raises(ParameterError, match="unknown parameter"):
        resolve_parameters(p, {"bogus": 1})
    with pytest.raises(ParameterError, match="expected a JSON list"):
        resolve_parameters(p, {"items": "not json"})
    with pytest.raises(ParameterError, match="missing required"):
        resolve_parameters(spec.load(compiled["retry"]), {})
    assert spec.cast_parameter(3.0, spec.NUMBER_INTEGER, "x") == 3
    with pytest.raises(ParameterError):
        spec.cast_parameter(True, spec.NUMBER_INTEGER, "x")


def test_unsupported_ir_is_named(compiled: dict[str, Path], tmp_path: Path) -> None:
    doc = yaml.safe_load(compiled["features"].read_text())
    tasks = doc["components"]["comp-exit-handler-1"]["dag"]["tasks"]
    loop = next(t for name, t in tasks.items() if name.startswith("for-loop-"))
    loop["artifactIterator"] = loop.pop("parameterIterator")
    with pytest.raises(UnsupportedFeatureError, match="artifactIterator"):
        spec.parse(doc)

    doc = yaml.safe_load(compiled["features"].read_text())
    doc["deploymentSpec"]["executors"]["exec-note"] = {"customJob": {}}
    with pytest.raises(UnsupportedFeatureError, match="customJob executor"):
        spec.parse(doc)

    platform = tmp_path / "k8s.yaml"
    platform.write_text(compiled["features"].read_text() + "\n---\nplatforms:\n  kubernetes: {}\n")
    with pytest.raises(UnsupportedFeatureError, match="kubernetes"):
        spec.load(platform)

    (tmp_path / "bad.yaml").write_text("name: x\nimplementation: {}\n")
    with pytest.raises(SpecError, match="not a compiled KFP v2 pipeline"):
        spec.load(tmp_path / "bad.yaml")


def test_graph_helpers() -> None:
    ups = {"a": set(), "b": {"a"}, "c": {"a"}, "d": {"b", "c"}}

    assert topological_order(ups) == ["a", "b", "c", "d"]
    assert ready_tasks(ups, finished=["a"], started=["a", "b"]) == ["c"]
    assert downstream(ups, "b") == {"d"}
    with pytest.raises(SpecError, match="cycle"):
        topological_order({"a": {"b"}, "b": {"a"}})
