"""Small pipelines, each exhibiting one KFP construct the local runner must run with KFP's semantics.

(No ``from __future__ import annotations`` here: kfp reads the real annotation objects.) Container
components run on the project base image with Docker; lightweight Python components (``@dsl.component``)
run with the process backend and the real KFP executor of this venv (see the ``kfp_python`` fixture).
"""

from pathlib import Path

from kfp import compiler, dsl
from kfp.dsl import Dataset, Input, Metrics, Output

IMAGE = "campaignlab-base:bookworm"


# --- 1. placeholders inside task-input constants ---------------------------------------------------


@dsl.container_component
def echo(value: str, out: dsl.OutputPath(str)):
    """out = value."""
    return dsl.ContainerSpec(image=IMAGE, command=["sh", "-c", 'printf %s "$0" > "$1"', value, out])


@dsl.pipeline(name="lr-fstrings")
def fstrings(a: str = "bar", b: str = "baz"):
    """An f-string over two parameters, another over an upstream output, and the job/task names."""
    first = echo(value=f"foo-{a}-{b}").set_caching_options(False)
    echo(value=f"again-{first.output}").set_caching_options(False)
    echo(value=dsl.PIPELINE_JOB_NAME_PLACEHOLDER).set_display_name("job-name").set_caching_options(False)
    echo(value=dsl.PIPELINE_TASK_NAME_PLACEHOLDER).set_display_name("task-name").set_caching_options(False)
    dsl.importer(
        artifact_uri="/no/such/local/path",  # kfp.local records a missing local path as given
        artifact_class=Dataset,
        metadata={"greeting": a, "name": f"pre-{b}"},
    )


# --- 2. Output[Metrics] filled only with log_metric ---------------------------------------------


@dsl.component(base_image=IMAGE)
def log_metrics(metrics: Output[Metrics]):
    metrics.log_metric("accuracy", 0.75)
    metrics.log_metric("rows", 12)


@dsl.pipeline(name="lr-metrics")
def metrics_only():
    log_metrics()


# --- 3. artifact lists --------------------------------------------------------------------------


@dsl.component(base_image=IMAGE)
def make_number(n: int, out: Output[Dataset]):
    with open(out.path, "w") as f:
        f.write(str(n))


@dsl.component(base_image=IMAGE)
def add_python(numbers: Input[list[Dataset]]) -> int:
    total = 0
    for d in numbers:
        with open(d.path) as f:
            total += int(f.read())
    return total


@dsl.container_component
def add_container(numbers: Input[list[Dataset]], out: dsl.OutputPath(str)):
    """Reads the whole-list placeholder as KFP's containers do: a JSON list of artifacts."""
    code = (
        "import json, sys\n"
        "arts = json.loads(sys.argv[1])\n"
        "total = sum(int(open(a['uri']).read()) for a in arts)\n"
        "open(sys.argv[2], 'w').write(str(total))\n"
    )
    return dsl.ContainerSpec(image=IMAGE, command=["python3", "-c", code], args=[numbers, out])


@dsl.pipeline(name="lr-artifact-lists")
def artifact_lists() -> int:
    with dsl.ParallelFor(items=[1, 2, 3]) as n:
        made = make_number(n=n)
    add_container(numbers=dsl.Collected(made.outputs["out"]))
    return add_python(numbers=dsl.Collected(made.outputs["out"])).output


# --- 4. an optional artifact input left unset ----------------------------------------------------


@dsl.component(base_image=IMAGE)
def maybe_python(data: Input[Dataset] | None = None) -> str:
    return "is none" if data is None else open(data.path).read()


@dsl.container_component
def maybe_container(out: dsl.OutputPath(str), data: Input[Dataset] = None):
    return dsl.ContainerSpec(
        image=IMAGE,
        command=[
            "sh",
            "-c",
            'printf %s "$0" > "$1"',
            dsl.IfPresentPlaceholder(input_name="data", then=[data.path], else_=["no data"]),
            out,
        ],
    )


@dsl.pipeline(name="lr-optional-artifacts")
def optional_artifacts() -> str:
    maybe_container()
    return maybe_python().output


# --- 5. resources set by pipeline parameters -----------------------------------------------------


@dsl.container_component
def limits_seen(out: dsl.OutputPath(str)):
    """Writes the CPU quota, period and memory limit of its cgroup (v2, else v1), then stays up a moment."""
    script = (
        "if [ -f /sys/fs/cgroup/cpu.max ]; then echo $(cat /sys/fs/cgroup/cpu.max /sys/fs/cgroup/memory.max);"
        " else g=/sys/fs/cgroup; echo $(cat $g/cpu/cpu.cfs_quota_us $g/cpu/cpu.cfs_period_us"
        ' $g/memory/memory.limit_in_bytes); fi > "$0"; sleep 2'
    )
    return dsl.ContainerSpec(image=IMAGE, command=["sh", "-c", script, out])


@dsl.pipeline(name="lr-param-limits")
def param_limits(cpu: str = "0.5", memory: str = "256M"):
    limits_seen().set_cpu_limit(cpu).set_memory_limit(memory).set_caching_options(False)


@dsl.container_component
def say(text: str):
    return dsl.ContainerSpec(image=IMAGE, command=["echo", text])


@dsl.pipeline(name="lr-param-gpu")
def param_gpu(accelerator: str = "NVIDIA_TESLA_T4", count: str = "1"):
    say(text="gpu").set_accelerator_type(accelerator).set_accelerator_limit(count)


# --- 6. KFP's artifact layout: dsl.get_uri(), custom paths, missing importer paths ---------------


@dsl.component(base_image=IMAGE)
def make_with_get_uri(text: str) -> Dataset:
    d = Dataset(uri=dsl.get_uri("made"), metadata={"via": "get_uri"})
    with open(d.path, "w") as f:
        f.write(text)
    return d


@dsl.component(base_image=IMAGE)
def read_text(data: Input[Dataset]) -> str:
    with open(data.path) as f:
        return f.read()


@dsl.component(base_image=IMAGE)
def custom_path_python(path: str, out: Output[Dataset]):
    out.set_path(path)
    with open(out.path, "w") as f:
        f.write("written at a custom path")


@dsl.pipeline(name="lr-layout")
def layout(custom: str) -> str:
    made = make_with_get_uri(text="via get_uri")
    read_text(data=made.output).set_display_name("read-made")
    custom_task = custom_path_python(path=custom)
    return read_text(data=custom_task.outputs["out"]).output


@dsl.container_component
def custom_path_container(out: Output[Dataset]):
    """Writes its output inside the container's /tmp and reports that path as kfp's set_path does."""
    code = (
        "import json, sys\n"
        "open('/tmp/custom-out.txt', 'w').write('from the container')\n"
        "art = {'name': 'out', 'custom_path': '/tmp/custom-out.txt'}\n"
        "out = {'artifacts': {'out': {'artifacts': [art]}}}\n"
        "open(json.loads(sys.argv[1])['outputs']['outputFile'], 'w').write(json.dumps(out))\n"
    )
    return dsl.ContainerSpec(
        image=IMAGE, command=["python3", "-c", code, dsl.PIPELINE_TASK_EXECUTOR_INPUT_PLACEHOLDER]
    )


@dsl.container_component
def cat(data: Input[Dataset], out: dsl.OutputPath(str)):
    return dsl.ContainerSpec(image=IMAGE, command=["sh", "-c", 'cat "$0" > "$1"', data.path, out])


@dsl.pipeline(name="lr-custom-path-docker")
def custom_path_docker():
    made = custom_path_container()
    cat(data=made.outputs["out"])


# --- a program missing from the image; a final status with no exit handler ---------------------


@dsl.container_component
def missing_program():
    return dsl.ContainerSpec(image=IMAGE, command=["no-such-program"], args=["x"])


@dsl.pipeline(name="lr-missing-program")
def missing_program_pipeline():
    missing_program()


@dsl.component(base_image=IMAGE)
def exit_comp(status: dsl.PipelineTaskFinalStatus):
    print(status)


# --- refused at load -----------------------------------------------------------------------------


@dsl.component(base_image=IMAGE)
def uses_workspace(path: str) -> str:
    return path


@dsl.pipeline(
    name="lr-workspace", pipeline_config=dsl.PipelineConfig(workspace=dsl.WorkspaceConfig(size="1Gi"))
)
def workspace():
    uses_workspace(path=dsl.WORKSPACE_PATH_PLACEHOLDER)


CASES = {
    "fstrings": fstrings,
    "metrics": metrics_only,
    "artifact_lists": artifact_lists,
    "optional_artifacts": optional_artifacts,
    "param_limits": param_limits,
    "param_gpu": param_gpu,
    "layout": layout,
    "custom_path_docker": custom_path_docker,
    "workspace": workspace,
    "missing_program": missing_program_pipeline,
    "final_status_alone": exit_comp,  # a component compiled alone: its status is a pipeline input
}


def compile_cases(out: Path) -> dict[str, Path]:
    """Compile every case to ``out/<name>.yaml``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, fn in CASES.items():
        paths[name] = out / f"{name}.yaml"
        compiler.Compiler().compile(fn, str(paths[name]))
    return paths
