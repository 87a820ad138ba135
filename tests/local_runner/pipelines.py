"""Tiny KFP pipelines that exercise the IR our pipelines use; compiled by the tests, run by the runner.

(No ``from __future__ import annotations`` here: kfp reads the real annotation objects.)

Every component is a ``@dsl.container_component`` on the project base image (python3 + sh), so a task
costs one container start and nothing else.
"""

from pathlib import Path

from kfp import compiler, dsl

IMAGE = "campaignlab-base:bookworm"


@dsl.container_component
def make_data(n: int, msg: str, data: dsl.Output[dsl.Dataset], count: dsl.OutputPath(int), tag: str = ""):
    """Writes msg n times into data; count=n; tag appended when given (IfPresent + Concat)."""
    return dsl.ContainerSpec(
        image=IMAGE,
        command=["sh", "-c"],
        args=[
            dsl.ConcatPlaceholder(
                [
                    "for i in $(seq ",
                    n,
                    "); do echo ",
                    msg,
                    "; done > ",
                    data.path,
                    " && echo ",
                    n,
                    " > ",
                    count,
                    ' && echo "args: $0 $1 $2"',
                ]
            ),
            dsl.IfPresentPlaceholder(input_name="tag", then=["--tag", tag], else_=["--no-tag", "x"]),
        ],
    )


@dsl.container_component
def summarize(data: dsl.Input[dsl.Dataset], scale: float, flag: bool, report: dsl.Output[dsl.Artifact]):
    """Reads data, writes a JSON report and records metadata via executor_output.json."""
    code = (
        "import json, sys, pathlib\n"
        "data, uri, scale, flag, report, ei = sys.argv[1:7]\n"
        "assert data == uri, (data, uri)\n"
        "lines = pathlib.Path(data).read_text().split()\n"
        "pathlib.Path(report).write_text(json.dumps({'lines': len(lines), 'scale': float(scale),"
        " 'flag': flag}))\n"
        "ei = json.loads(ei)\n"
        "meta = {'name': 'report', 'metadata': {'lines': len(lines)}}\n"
        "out = {'artifacts': {'report': {'artifacts': [meta]}}}\n"
        "pathlib.Path(ei['outputs']['outputFile']).write_text(json.dumps(out))\n"
    )
    return dsl.ContainerSpec(
        image=IMAGE,
        command=["python3", "-c", code],
        args=[data.path, data.uri, scale, flag, report.path, dsl.PIPELINE_TASK_EXECUTOR_INPUT_PLACEHOLDER],
    )


@dsl.container_component
def echo_value(value: str, out: dsl.OutputPath(str)):
    """out = value (no trailing newline)."""
    return dsl.ContainerSpec(image=IMAGE, command=["sh", "-c", 'printf %s "$0" > "$1"', value, out])


@dsl.container_component
def square(x: int, out: dsl.OutputPath(int), art: dsl.Output[dsl.Dataset]):
    """out = x*x; art holds the same number."""
    return dsl.ContainerSpec(
        image=IMAGE,
        command=["sh", "-c", 'echo $(($0 * $0)) > "$1"; cp "$1" "$2"', x, out, art.path],
    )


@dsl.container_component
def total(values: list, arts: dsl.Input[list[dsl.Dataset]], out: dsl.OutputPath(str)):
    """Sum of the collected values, checked against the collected artifacts."""
    code = (
        "import json, sys, pathlib\n"
        "values, arts, out = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]\n"
        "files = sorted(int(pathlib.Path(a['uri']).read_text()) for a in arts)\n"
        "assert sorted(values) == files, (values, files)\n"
        "pathlib.Path(out).write_text(str(sum(values)))\n"
    )
    return dsl.ContainerSpec(image=IMAGE, command=["python3", "-c", code], args=[values, arts, out])


@dsl.container_component
def fail_if(fail: bool, out: dsl.OutputPath(str)):
    """Exits 3 when fail is true, else writes 'ok'."""
    return dsl.ContainerSpec(
        image=IMAGE,
        command=[
            "sh",
            "-c",
            'if [ "$0" = true ]; then echo failing >&2; exit 3; fi; printf ok > "$1"',
            fail,
            out,
        ],
    )


@dsl.container_component
def sleep_stamp(seconds: float, out: dsl.OutputPath(str)):
    """Sleeps, then writes 'start end' (epoch seconds) to out."""
    code = (
        "import sys, time, pathlib\n"
        "t0 = time.time(); time.sleep(float(sys.argv[1]))\n"
        "pathlib.Path(sys.argv[2]).write_text(f'{t0} {time.time()}')\n"
    )
    return dsl.ContainerSpec(image=IMAGE, command=["python3", "-c", code], args=[seconds, out])


@dsl.container_component
def kill_self(out: dsl.OutputPath(str)):
    """Its main process is killed by SIGKILL (a child, since PID 1 of a container ignores SIGKILL)."""
    code = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    return dsl.ContainerSpec(
        image=IMAGE, command=["sh", "-c", f'printf x > "$0"; python3 -c "{code}"; exit $?', out]
    )


@dsl.container_component
def hog_memory(mb: int):
    """Allocates mb megabytes (killed under a smaller memory limit)."""
    return dsl.ContainerSpec(
        image=IMAGE,
        command=["python3", "-c", "import sys, time; b = bytearray(int(sys.argv[1]) * 2**20); time.sleep(1)"],
        args=[mb],
    )


@dsl.container_component
def forget_output(data: dsl.Output[dsl.Dataset]):
    """Exits 0 without writing its output artifact."""
    return dsl.ContainerSpec(image=IMAGE, command=["sh", "-c", "echo done"])


@dsl.container_component
def note(text: str):
    """Prints text (an exit task)."""
    return dsl.ContainerSpec(image=IMAGE, command=["echo", text])


@dsl.container_component
def fail_first(marker: str):
    """Fails unless marker exists, creating it."""
    return dsl.ContainerSpec(
        image=IMAGE, command=["sh", "-c", 'if [ -e "$0" ]; then exit 0; fi; touch "$0"; exit 1', marker]
    )


@dsl.pipeline(name="lr-features")
def features(n: int = 3, msg: str = "hi", scale: float = 0.5, flag: bool = True, items: list = [1, 2, 3]):  # noqa: B006 - kfp reads the default
    """Parameters and artifacts, Concat/IfPresent, If/Elif/Else, ParallelFor + Collected, ExitHandler."""
    with dsl.ExitHandler(note(text="exit handler ran")):
        made = make_data(n=n, msg=msg)
        tagged = make_data(n=1, msg="t", tag="v1").set_caching_options(False)
        tagged.set_display_name("make-tagged")
        summarize(data=made.outputs["data"], scale=scale, flag=flag)
        with dsl.If(made.outputs["count"] > 2):
            echo_value(value="big")
        with dsl.Elif(made.outputs["count"] == 2):
            echo_value(value="two")
        with dsl.Else():
            echo_value(value="small")
        with dsl.ParallelFor(items=items, parallelism=2) as x:
            sq = square(x=x)
        total(values=dsl.Collected(sq.outputs["out"]), arts=dsl.Collected(sq.outputs["art"]))


@dsl.pipeline(name="lr-failing")
def failing(fail: bool = True):
    """first -> middle (fails while fail=true) -> last; side runs independently."""
    first = echo_value(value="first")
    side = echo_value(value="side")
    side.set_caching_options(False)
    middle = fail_if(fail=fail).after(first)
    echo_value(value="last").after(middle).set_caching_options(False)


@dsl.pipeline(name="lr-sleepers")
def sleepers(seconds: float = 2.0):
    """Two independent sleeping tasks."""
    sleep_stamp(seconds=seconds).set_display_name("sleep-a")
    # Caching off: the two commands are identical, and a cache hit would hide the overlap.
    sleep_stamp(seconds=seconds).set_display_name("sleep-b").set_caching_options(False)


@dsl.container_component
def sleep_item(seconds: float, item: int, out: dsl.OutputPath(str)):
    """Sleeps, then writes 'item start end' to out."""
    code = (
        "import sys, time, pathlib\n"
        "t0 = time.time(); time.sleep(float(sys.argv[1]))\n"
        "pathlib.Path(sys.argv[3]).write_text(f'{sys.argv[2]} {t0} {time.time()}')\n"
    )
    return dsl.ContainerSpec(image=IMAGE, command=["python3", "-c", code], args=[seconds, item, out])


@dsl.pipeline(name="lr-fanout")
def fanout(seconds: float = 1.0):
    """A 4-way fan-out of sleeping tasks (the benchmark's pipeline)."""
    with dsl.ParallelFor(items=[1, 2, 3, 4]) as i:
        sleep_item(seconds=seconds, item=i)


@dsl.pipeline(name="lr-limited")
def limited(seconds: float = 1.5):
    """Three sleeping iterations, at most two at a time."""
    with dsl.ParallelFor(items=[1, 2, 3], parallelism=2) as i:
        sleep_item(seconds=seconds, item=i)


@dsl.pipeline(name="lr-killed")
def killed():
    """A task killing itself, one exceeding its memory limit, one forgetting its output."""
    kill_self()
    hog_memory(mb=400).set_memory_limit("64M").set_retry(num_retries=1, backoff_duration="0s")
    forget_output()


@dsl.pipeline(name="lr-gpu")
def gpu():
    """A task asking for a GPU."""
    note(text="gpu").set_accelerator_type("NVIDIA_TESLA_T4").set_accelerator_limit(1)


@dsl.pipeline(name="lr-missing-image")
def missing_image():
    """A task whose image does not exist."""
    note(text="x").set_container_image("campaignlab-no-such-image:0")


@dsl.pipeline(name="lr-retry")
def retry(marker: str):
    """Fails on the first attempt (creates marker), succeeds on the second."""
    task = fail_first(marker=marker).set_retry(num_retries=2, backoff_duration="1s", backoff_factor=2.0)
    task.set_caching_options(False)


@dsl.container_component
def read_file(data: dsl.Input[dsl.Dataset], out: dsl.OutputPath(str)):
    """out = content of data."""
    return dsl.ContainerSpec(image=IMAGE, command=["sh", "-c", 'cat "$0" > "$1"', data.path, out])


@dsl.container_component
def report_status(status: dsl.PipelineTaskFinalStatus):
    """Exit task: prints the final status of the group it guards."""
    return dsl.ContainerSpec(image=IMAGE, command=["echo", status])


@dsl.pipeline(name="lr-inner")
def inner(value: str) -> str:
    """A pipeline used as a component (a nested DAG with an output)."""
    return echo_value(value=value).output


@dsl.pipeline(name="lr-extras")
def extras(uri: str, pick: str = "true"):
    """Importer with a runtime URI, a nested pipeline, dsl.OneOf, PipelineTaskFinalStatus."""
    exit_task = report_status()
    exit_task.set_caching_options(False)
    with dsl.ExitHandler(exit_task):
        imported = dsl.importer(artifact_uri=uri, artifact_class=dsl.Dataset, reimport=False)
        read_file(data=imported.output)
        decision = inner(value=pick)
        with dsl.If(decision.output == "true"):
            yes = echo_value(value="took yes")
        with dsl.Else():
            no = echo_value(value="took no")
        echo_value(value=dsl.OneOf(yes.output, no.output))


PIPELINES = {
    "features": features,
    "failing": failing,
    "sleepers": sleepers,
    "fanout": fanout,
    "limited": limited,
    "killed": killed,
    "gpu": gpu,
    "missing_image": missing_image,
    "retry": retry,
    "extras": extras,
}


def compile_all(out: Path) -> dict[str, Path]:
    """Compile every test pipeline to ``out/<name>.yaml``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, fn in PIPELINES.items():
        paths[name] = out / f"{name}.yaml"
        compiler.Compiler().compile(fn, str(paths[name]))
    return paths
