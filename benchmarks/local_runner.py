"""Local runner figures, each beside a baseline measured in the same run.

1. Per-task overhead: a one-task pipeline (``sh -c true``) through the runner against a bare
   ``docker run --rm`` of the same command.
2. 4-way fan-out: a ParallelFor of four tasks sleeping SLEEP seconds, on the same compiled YAML, with our
   runner and with kfp's local ``DockerRunner`` (target: under half of kfp's time).
3. Fully cached re-run of the fan-out through the real CLI (``python -m local_runner``; target: < 3 s).

Usage: ``.venv/bin/python benchmarks/local_runner.py [--sleep 3] [--repeat 3]``
(needs the Docker engine and the ``campaignlab-base:bookworm`` image). Writes
``docs/results/local-runner.md`` (``--no-page``: print only). No ``from __future__ import
annotations`` here: kfp reads the real annotation objects.
"""

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kfp import compiler, dsl

REPO = Path(__file__).resolve().parents[1]
# the local_runner package before this script of the same name (the script's folder stays on the path)
sys.path.insert(0, str(REPO))
from results_page import table, write_page  # noqa: E402  a sibling script (benchmarks/ is no package)

IMAGE = "campaignlab-base:bookworm"


@dsl.container_component
def noop():
    """Does nothing (measures the runner's own cost)."""
    return dsl.ContainerSpec(image=IMAGE, command=["sh", "-c", "true"])


@dsl.pipeline(name="bench-one")
def one_task():
    noop().set_caching_options(False)


@dsl.container_component
def sleep_item(seconds: float, item: int, out: dsl.OutputPath(str)):
    """Sleeps, then writes 'item start end'."""
    code = (
        "import sys, time, pathlib\n"
        "t0 = time.time(); time.sleep(float(sys.argv[1]))\n"
        "pathlib.Path(sys.argv[3]).write_text(f'{sys.argv[2]} {t0} {time.time()}')\n"
    )
    return dsl.ContainerSpec(image=IMAGE, command=["python3", "-c", code], args=[seconds, item, out])


@dsl.container_component
def sleep_item_mkdir(seconds: float, item: int, out: dsl.OutputPath(str)):
    """The same, but it creates its output's folder itself (kfp's local mode does not)."""
    code = (
        "import sys, time, pathlib\n"
        "t0 = time.time(); time.sleep(float(sys.argv[1]))\n"
        "p = pathlib.Path(sys.argv[3]); p.parent.mkdir(parents=True, exist_ok=True)\n"
        "p.write_text(f'{sys.argv[2]} {t0} {time.time()}')\n"
    )
    return dsl.ContainerSpec(image=IMAGE, command=["python3", "-c", code], args=[seconds, item, out])


@dsl.pipeline(name="bench-fanout")
def fanout(seconds: float = 3.0):
    with dsl.ParallelFor(items=[1, 2, 3, 4]) as i:
        sleep_item(seconds=seconds, item=i)


@dsl.pipeline(name="bench-fanout-mkdir")
def fanout_mkdir(seconds: float = 3.0):
    with dsl.ParallelFor(items=[1, 2, 3, 4]) as i:
        sleep_item_mkdir(seconds=seconds, item=i)


@dsl.pipeline(name="bench-four-tasks")
def four_tasks(seconds: float = 3.0):
    """The same fan-out written as four independent tasks (no ParallelFor)."""
    for i in range(4):
        sleep_item_mkdir(seconds=seconds, item=i)


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sleep", type=float, default=3.0, help="seconds each fan-out task sleeps")
    ap.add_argument("--repeat", type=int, default=3, help="repetitions of the overhead measurement")
    ap.add_argument("--fan-repeat", type=int, default=2, help="repetitions of each fan-out (best kept)")
    ap.add_argument("--no-page", action="store_true", help="do not write docs/results/local-runner.md")
    args = ap.parse_args()

    from local_runner.handlers import Status
    from local_runner.orchestrator import run_file

    work = Path(tempfile.mkdtemp(prefix="bench-local-runner-"))
    one_yaml, fan_yaml, fan_mkdir_yaml = work / "one.yaml", work / "fanout.yaml", work / "fanout-mkdir.yaml"
    compiler.Compiler().compile(one_task, str(one_yaml))
    compiler.Compiler().compile(fanout, str(fan_yaml))
    compiler.Compiler().compile(fanout_mkdir, str(fan_mkdir_yaml))
    four_yaml = work / "four-tasks.yaml"
    compiler.Compiler().compile(four_tasks, str(four_yaml))
    rows: list[tuple[str, str, str]] = []

    # 1. Per-task overhead.
    import docker

    client = docker.from_env()
    bare = [
        timed(lambda: subprocess.run(["docker", "run", "--rm", IMAGE, "sh", "-c", "true"], check=True))
        for _ in range(args.repeat)
    ]
    bare_sdk = [
        timed(lambda: client.containers.run(IMAGE, ["sh", "-c", "true"], remove=True))
        for _ in range(args.repeat)
    ]
    ours = []
    for _ in range(args.repeat):
        t = timed(lambda: run_file(one_yaml, root=work / "runs", use_cache=False))
        ours.append(t)
    b, bs, o = statistics.median(bare), statistics.median(bare_sdk), statistics.median(ours)
    rows.append(
        ("one-task pipeline (sh -c true), median", f"{o:.2f} s runner", f"{b:.2f} s bare `docker run --rm`")
    )
    rows.append(("", "", f"{bs:.2f} s docker SDK containers.run"))
    rows.append(("per-task overhead vs docker run / SDK", f"{o - b:+.2f} / {o - bs:+.2f} s", ""))

    # 2. 4-way fan-out: ours vs kfp's local DockerRunner, same compiled YAML.
    from kfp import components, local

    local.init(runner=local.DockerRunner(), pipeline_root=str(work / "kfp-root"))
    params = {"seconds": args.sleep}
    variants = (
        ("ParallelFor", fan_yaml),
        ("ParallelFor, component mkdirs", fan_mkdir_yaml),
        ("independent tasks, mkdirs", four_yaml),
    )
    for name, yaml_path in variants:

        def run_ours(path: Path = yaml_path) -> None:
            result = run_file(path, params, root=work / "runs", use_cache=False, max_parallel=4)
            assert result.status == Status.SUCCEEDED, result

        # Best of N for both (the machine is shared), alternating so both see the same load.
        ours_times, kfp_times = [], []
        note = ""
        for _ in range(args.fan_repeat):
            ours_times.append(timed(run_ours))
            try:
                pipeline = components.load_component_from_file(str(yaml_path))
                kfp_times.append(timed(lambda pipeline=pipeline: pipeline(**params)))
            except Exception as err:  # report exactly why kfp local could not run our YAML
                kfp_times.append(float("nan"))
                text = re.sub(r"\x1b\[[0-9;]*m", "", f"{type(err).__name__}: {err}")
                note = "kfp local FAILED: " + text[:100] + " (an OutputPath's folder is not created)"
                break
        ours_fan, kfp_fan = min(ours_times), min(kfp_times)
        rows.append(
            (
                f"4-way {name}, {args.sleep:g} s sleeps",
                f"{ours_fan:.2f} s runner",
                f"{kfp_fan:.2f} s kfp DockerRunner",
            )
        )
        ratio = ours_fan / kfp_fan if kfp_fan == kfp_fan else float("nan")
        rows.append(("  time / kfp's (target < 0.5)", f"{ratio:.2f}", note))

    # 3. Fully cached re-run through the CLI (process start included).
    cli = [sys.executable, "-m", "local_runner", str(fan_yaml), "--root", str(work / "runs"), "--quiet"]
    subprocess.run([*cli, "--param", f"seconds={args.sleep}"], check=True, capture_output=True, cwd=REPO)
    cached = timed(
        lambda: subprocess.run(
            [*cli, "--param", f"seconds={args.sleep}"], check=True, capture_output=True, cwd=REPO
        )
    )
    rows.append(("fully cached re-run, CLI wall time (target < 3 s)", f"{cached:.2f} s", ""))

    # kfp's local mode leaves sys.stdout wrapped in an indenting writer; print to the real one.
    out = sys.__stdout__
    assert out is not None
    width = max(len(r[0]) for r in rows)
    out.write(f"{'measure':<{width}}  {'local_runner':<18}  baseline\n")
    for name, value, base in rows:
        out.write(f"{name:<{width}}  {value:<18}  {base}\n")
    if not args.no_page:
        body = (
            f"Local runner against its baselines, measured in the same run: per-task overhead (median of "
            f"{args.repeat}) against a bare `docker run --rm` and the docker SDK; 4-way fan-outs of "
            f"{args.sleep:g} s sleeps (best of {args.fan_repeat}) against kfp's local `DockerRunner` on the "
            "same compiled YAML; a fully cached re-run through the CLI.\n\n"
            + table(["measure", "local_runner", "baseline"], rows)
        )
        write_page("local-runner", "Local runner overhead", body)


if __name__ == "__main__":
    main()
