"""Parse a compiled KFP v2 pipeline (the IR YAML, as plain dicts) into the read-only views of spec.py.

Anything the runner does not implement raises :class:`~local_runner.errors.UnsupportedFeatureError`
here, while loading, so a run never fails half-way on an unknown construct.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from local_runner import executor_io, resources
from local_runner.errors import SpecError, UnsupportedFeatureError
from local_runner.spec import (
    ALL_UPSTREAM_TASKS_COMPLETED,
    ALL_UPSTREAM_TASKS_SUCCEEDED,
    PARAMETER_TYPES,
    ArtifactDef,
    ArtifactSource,
    Component,
    Container,
    Dag,
    Importer,
    Iterator,
    OutputSelector,
    ParameterDef,
    ParamSource,
    PipelineSpec,
    RetryPolicy,
    Task,
)

_KNOWN_TASK_KEYS = {
    "componentRef",
    "taskInfo",
    "inputs",
    "dependentTasks",
    "cachingOptions",
    "triggerPolicy",
    "retryPolicy",
    "iteratorPolicy",
    "parameterIterator",
    "artifactIterator",
}


def load(path: str | Path) -> PipelineSpec:
    """Read and validate a compiled pipeline YAML (KFP IR, schemaVersion 2.x).

    Raises:
        SpecError: the file is missing, not YAML or not a compiled pipeline.
        UnsupportedFeatureError: it uses IR the runner does not execute.
    """
    p = Path(path)
    if not p.is_file():
        raise SpecError(f"pipeline file {str(p)!r} does not exist")
    try:
        docs = [d for d in yaml.safe_load_all(p.read_text()) if d is not None]
    except yaml.YAMLError as err:
        raise SpecError(f"pipeline file {str(p)!r} is not valid YAML: {err}") from None
    if not docs or not isinstance(docs[0], dict):
        raise SpecError(f"pipeline file {str(p)!r} is empty or not a mapping")
    platform = docs[1] if len(docs) > 1 and isinstance(docs[1], dict) else None
    return parse(docs[0], source=str(p), platform_spec=platform)


def parse(
    doc: dict[str, Any], source: str = "<dict>", platform_spec: dict[str, Any] | None = None
) -> PipelineSpec:
    """Build a :class:`PipelineSpec` from the first YAML document of a compiled pipeline."""
    if "root" not in doc or "pipelineInfo" not in doc:
        hint = " (it looks like a component, not a pipeline)" if "deploymentSpec" in doc else ""
        raise SpecError(f"{source}: not a compiled KFP v2 pipeline: no 'root' and 'pipelineInfo' keys{hint}")
    version = str(doc.get("schemaVersion", ""))
    if not version.startswith("2."):
        raise SpecError(f"{source}: schemaVersion {version!r} is not supported (expected 2.x)")
    if platform_spec and platform_spec.get("platforms"):
        raise UnsupportedFeatureError(
            "platform spec (" + ", ".join(sorted(platform_spec["platforms"])) + ")", source
        )
    executors = (doc.get("deploymentSpec") or {}).get("executors") or {}
    components: dict[str, Component] = {}
    for cname, cdoc in (doc.get("components") or {}).items():
        components[cname] = _component(cname, cdoc or {}, executors)
    root = _component("root", doc["root"], executors)
    name = (doc.get("pipelineInfo") or {}).get("name")
    if not name or not str(name).strip():
        raise SpecError(f"{source}: pipelineInfo.name is empty (a compiled pipeline is named)")
    spec = PipelineSpec(
        name=str(name),
        root=root,
        components=components,
        source=source,
        platform_spec=platform_spec,
    )
    _check_references(spec)
    return spec


def _component(name: str, doc: dict[str, Any], executors: dict[str, Any]) -> Component:
    inputs = doc.get("inputDefinitions") or {}
    outputs = doc.get("outputDefinitions") or {}
    executor: Container | Importer | None = None
    dag: Dag | None = None
    if "dag" in doc:
        dag = _dag(name, doc["dag"] or {})
    elif "executorLabel" in doc:
        label = doc["executorLabel"]
        if label not in executors:
            raise SpecError(f"component {name!r}: executor {label!r} is missing from deploymentSpec")
        executor = _executor(label, executors[label])
    else:
        raise SpecError(f"component {name!r} has neither a dag nor an executorLabel")
    comp = Component(
        name=name,
        input_parameters={
            k: _parameter_def(k, v, f"{name}.inputs") for k, v in (inputs.get("parameters") or {}).items()
        },
        input_artifacts={k: _artifact_def(k, v) for k, v in (inputs.get("artifacts") or {}).items()},
        output_parameters={
            k: _parameter_def(k, v, f"{name}.outputs") for k, v in (outputs.get("parameters") or {}).items()
        },
        output_artifacts={k: _artifact_def(k, v) for k, v in (outputs.get("artifacts") or {}).items()},
        executor=executor,
        dag=dag,
    )
    executor_io.check_names(comp)
    return comp


def _parameter_def(name: str, doc: dict[str, Any], where: str) -> ParameterDef:
    ptype = doc.get("parameterType", "")
    if ptype not in PARAMETER_TYPES:
        raise UnsupportedFeatureError(f"parameterType {ptype!r}", f"{where}.{name}")
    return ParameterDef(
        name=name,
        type=ptype,
        default=doc.get("defaultValue"),
        has_default="defaultValue" in doc,
        optional=bool(doc.get("isOptional", False)),
    )


def _artifact_def(name: str, doc: dict[str, Any]) -> ArtifactDef:
    atype = doc.get("artifactType") or {}
    return ArtifactDef(
        name=name,
        schema_title=str(atype.get("schemaTitle", "system.Artifact")),
        schema_version=str(atype.get("schemaVersion", "0.0.1")),
        is_list=bool(doc.get("isArtifactList", False)),
        optional=bool(doc.get("isOptional", False)),
    )


def _executor(label: str, doc: dict[str, Any]) -> Container | Importer:
    if "container" in doc:
        c = doc["container"]
        if str(c.get("image", "")).startswith("argostub/"):  # kfp-kubernetes steps (CreatePVC, ...)
            raise UnsupportedFeatureError(f"Kubernetes-only step (image {c['image']})", f"executor {label}")
        if c.get("lifecycle"):
            raise UnsupportedFeatureError("container lifecycle hooks", f"executor {label}")
        request = resources.parse(c.get("resources") or {}, f"executor {label}")
        env = {str(e["name"]): str(e.get("value", "")) for e in c.get("env") or []}
        return Container(
            image=str(c["image"]),
            command=tuple(c.get("command") or ()),
            args=tuple(c.get("args") or ()),
            env=env,
            resources=request,
        )
    if "importer" in doc:
        imp = doc["importer"]
        uri = imp.get("artifactUri") or {}
        if imp.get("downloadToWorkspace"):
            raise UnsupportedFeatureError("importer downloadToWorkspace", f"executor {label}")
        return Importer(
            uri_constant=uri.get("constant"),
            uri_parameter=uri.get("runtimeParameter"),
            schema_title=str((imp.get("typeSchema") or {}).get("schemaTitle", "system.Artifact")),
            metadata=dict(imp.get("metadata") or {}),
        )
    kind = next(iter(doc), "<empty>")
    raise UnsupportedFeatureError(f"{kind} executor", f"executor {label}")


def _dag(cname: str, doc: dict[str, Any]) -> Dag:
    tasks = {tname: _task(tname, tdoc or {}, cname) for tname, tdoc in (doc.get("tasks") or {}).items()}
    outputs = doc.get("outputs") or {}
    params: dict[str, OutputSelector] = {}
    for oname, odoc in (outputs.get("parameters") or {}).items():
        if "valueFromParameter" in odoc:
            v = odoc["valueFromParameter"]
            params[oname] = OutputSelector(((v["producerSubtask"], v["outputParameterKey"]),))
        elif "valueFromOneof" in odoc:
            sel = odoc["valueFromOneof"].get("parameterSelectors") or []
            params[oname] = OutputSelector(
                tuple((s["producerSubtask"], s["outputParameterKey"]) for s in sel)
            )
        else:
            raise UnsupportedFeatureError("DAG output parameter kind", f"{cname}.outputs.{oname}")
    arts: dict[str, OutputSelector] = {}
    for oname, odoc in (outputs.get("artifacts") or {}).items():
        sel = odoc.get("artifactSelectors") or []
        arts[oname] = OutputSelector(tuple((s["producerSubtask"], s["outputArtifactKey"]) for s in sel))
    return Dag(tasks=tasks, parameter_outputs=params, artifact_outputs=arts)


def _duration(text: Any, where: str) -> float:
    if text in (None, ""):
        return 0.0
    m = re.fullmatch(r"([0-9.]+)s", str(text).strip())
    if not m:
        raise SpecError(f"{where}: duration {text!r} is not like '30s'")
    return float(m.group(1))


def _task(tname: str, doc: dict[str, Any], cname: str) -> Task:
    where = f"{cname}.tasks.{tname}"
    unknown = set(doc) - _KNOWN_TASK_KEYS
    if unknown:
        raise UnsupportedFeatureError(f"task field(s) {sorted(unknown)}", where)
    if "artifactIterator" in doc:
        raise UnsupportedFeatureError("ParallelFor over artifacts (artifactIterator)", where)
    inputs = doc.get("inputs") or {}
    params: dict[str, ParamSource] = {}
    for pname, pdoc in (inputs.get("parameters") or {}).items():
        params[pname] = _param_source(pdoc or {}, f"{where}.inputs.{pname}")
    arts: dict[str, ArtifactSource] = {}
    for aname, adoc in (inputs.get("artifacts") or {}).items():
        if "componentInputArtifact" in adoc:
            arts[aname] = ArtifactSource("component_input", name=adoc["componentInputArtifact"])
        elif "taskOutputArtifact" in adoc:
            t = adoc["taskOutputArtifact"]
            arts[aname] = ArtifactSource(
                "task_output", name=t["outputArtifactKey"], producer=t["producerTask"]
            )
        else:
            raise UnsupportedFeatureError(f"input artifact kind {sorted(adoc)}", f"{where}.inputs.{aname}")
    trigger = doc.get("triggerPolicy") or {}
    strategy = trigger.get("strategy") or ALL_UPSTREAM_TASKS_SUCCEEDED
    if strategy not in (ALL_UPSTREAM_TASKS_SUCCEEDED, ALL_UPSTREAM_TASKS_COMPLETED):
        raise UnsupportedFeatureError(f"trigger strategy {strategy}", where)
    retry_doc = doc.get("retryPolicy") or {}
    retry = RetryPolicy(
        max_retries=int(retry_doc.get("maxRetryCount", 0)),
        backoff_seconds=_duration(retry_doc.get("backoffDuration"), where),
        backoff_factor=float(retry_doc.get("backoffFactor", 2.0) or 2.0),
        backoff_max_seconds=_duration(retry_doc.get("backoffMaxDuration"), where) or 3600.0,
    )
    iterator = None
    if "parameterIterator" in doc:
        it = doc["parameterIterator"]
        items = it.get("items") or {}
        iterator = Iterator(
            item_input=it["itemInput"],
            raw_items=items.get("raw"),
            items_input=items.get("inputParameter"),
            parallelism=int((doc.get("iteratorPolicy") or {}).get("parallelismLimit", 0)),
        )
    return Task(
        name=tname,
        component=doc["componentRef"]["name"],
        display_name=str((doc.get("taskInfo") or {}).get("name", tname)),
        dependent_tasks=tuple(doc.get("dependentTasks") or ()),
        parameters=params,
        artifacts=arts,
        condition=str(trigger.get("condition") or ""),
        strategy=strategy,
        retry=retry,
        enable_cache=bool((doc.get("cachingOptions") or {}).get("enableCache", False)),
        iterator=iterator,
    )


def _param_source(doc: dict[str, Any], where: str) -> ParamSource:
    selector = str(doc.get("parameterExpressionSelector", ""))
    if selector and not re.fullmatch(r'parseJson\(string_value\)\["[^"]+"\]', selector):
        raise UnsupportedFeatureError(f"parameterExpressionSelector {selector!r}", where)
    if "runtimeValue" in doc:
        return ParamSource("constant", value=(doc["runtimeValue"] or {}).get("constant"), selector=selector)
    if "componentInputParameter" in doc:
        return ParamSource("component_input", name=doc["componentInputParameter"], selector=selector)
    if "taskOutputParameter" in doc:
        t = doc["taskOutputParameter"]
        return ParamSource(
            "task_output", name=t["outputParameterKey"], producer=t["producerTask"], selector=selector
        )
    if "taskFinalStatus" in doc:
        return ParamSource("task_final_status", producer=doc["taskFinalStatus"]["producerTask"])
    raise UnsupportedFeatureError(f"input parameter kind {sorted(doc)}", where)


def _check_references(spec: PipelineSpec) -> None:
    for comp in [spec.root, *spec.components.values()]:
        if comp.dag is None:
            continue
        for task in comp.dag.tasks.values():
            if task.component not in spec.components:
                raise SpecError(f"task {task.name!r} refers to unknown component {task.component!r}")
            for dep in task.upstream():
                if dep not in comp.dag.tasks:
                    raise SpecError(f"task {task.name!r} depends on unknown task {dep!r}")
