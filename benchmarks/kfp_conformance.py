"""Run the local runner over compiled pipelines the KFP project wrote, and say where it agrees with KFP.

The corpus (``--corpus DIR``, e.g. the KFP project's compiled test data) stays outside the repository.
Its folders say what KFP expects of each file: ``valid*`` files run to success, ``valid__failing`` ones
fail, ``invalid`` ones are refused, ``k8s_snapshot`` ones carry Kubernetes platform specs (refused by
name), and ``kfplocal`` ones come from kfp.local's own tests, whose assertions are in
``kfp_conformance_expected.py`` (the arguments each test passed are in ``<file>.args.json``).

For every file: load it with ``--dry-run`` (load, validate, resolve the DAG; no task runs), then, unless
it is to be refused, run it offline:

- pipelines with lightweight Python components run with ``--backend process`` and a ``python3`` on PATH
  that is this venv's interpreter (kfp is installed here) and turns ``python3 -m pip ...`` into a no-op;
  ``curl``, ``wget``, ``apt-get`` and ``gsutil`` are stubs that exit 127, so nothing is downloaded;
- pipelines of container components run with Docker; the public images they name (alpine, python:...)
  are tagged locally onto the Debian base image for the run and untagged afterwards.

Verdicts: ``pass`` (KFP's outcome, and KFP's values where known), ``refused`` (a ``valid`` file refused
at load by name, with the reason), ``offline`` (a ``valid`` file that failed only because something would
be installed or downloaded), ``FAIL`` (anything else: a crash, a wrong outcome, a wrong value, a success
with an unresolved placeholder).

Usage: ``nice -n 10 .venv/bin/python benchmarks/kfp_conformance.py --corpus DIR [--out PAGE] [--only TEXT]``
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import json
import math
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from kfp_conformance_expected import EXPECTED, OUTCOMES, PARAMETERS  # noqa: E402

BASE_IMAGE = "campaignlab-base:bookworm"
OFFLINE_MARK = "offline stub"  # a download tool that is not there offline (exit 127)
SKIPPED_MARK = "offline: skipped"  # an install the python3 stub skipped
MISSING_MODULE = re.compile(r"ModuleNotFoundError|No module named|ImportError")
STAND_IN_MISSING = re.compile(r"cannot open .*: No such file|: not found|command not found|can't open file")
PLATFORM_FOLDERS = ("k8s_snapshot",)
DEFAULT_BY_TYPE: dict[str, Any] = {
    "STRING": "hello",
    "NUMBER_INTEGER": 1,
    "NUMBER_DOUBLE": 1.0,
    "BOOLEAN": True,
    "LIST": [],
    "STRUCT": {},
}


@dataclass
class Row:
    """One file's result."""

    file: str
    expected: str
    backend: str = "-"
    got: str = ""
    verdict: str = ""
    detail: str = ""
    seconds: float = 0.0
    values: str = "-"  # for kfplocal files: whether the values equal kfp's test assertions


@dataclass
class Env:
    """Where and how files run."""

    stub_bin: Path
    work: Path
    timeout: float
    tagged: list[str] = field(default_factory=list)


# --- expectations --------------------------------------------------------------------------------


def expected_outcome(rel: Path) -> str:
    """``succeed``, ``fail``, ``refuse`` or ``any``, from the file's folder (and kfp's test for kfplocal)."""
    folder = rel.parts[0] if len(rel.parts) > 1 else ""
    if str(rel) in OUTCOMES:
        return OUTCOMES[str(rel)]
    if folder == "valid__failing":
        return "fail"
    if folder == "invalid" or folder in PLATFORM_FOLDERS:
        return "refuse"
    if folder == "kfplocal":
        status = EXPECTED.get(rel.stem, {}).get("status", "succeeded")
        return {"succeeded": "succeed", "failed": "fail"}.get(status, "any")
    return "succeed"


def parameters_for(path: Path, rel: Path) -> dict[str, Any]:
    """The arguments kfp's test passed (kfplocal), else a value of the declared type for each required
    pipeline parameter without a default."""
    args = path.with_suffix(".args.json")
    if args.is_file():
        return dict(json.loads(args.read_text()))
    if str(rel) in PARAMETERS:
        return dict(PARAMETERS[str(rel)])
    try:
        doc = next(d for d in yaml.safe_load_all(path.read_text()) if d)
        defs = ((doc.get("root") or {}).get("inputDefinitions") or {}).get("parameters") or {}
    except Exception:  # an invalid file: the runner reports it
        return {}
    return {
        name: DEFAULT_BY_TYPE.get(d.get("parameterType", ""), "hello")
        for name, d in defs.items()
        if "defaultValue" not in d and not d.get("isOptional")
    }


# --- running -------------------------------------------------------------------------------------


def make_stubs(work: Path) -> Path:
    """A bin folder put first on PATH for the process backend (see the module docstring)."""
    stub = work / "bin"
    stub.mkdir(parents=True)
    py = stub / "python3"
    py.write_text(
        "#!/bin/sh\n"
        'case "$1 $2" in\n'
        f'  "-m pip"|"-m ensurepip") echo "{SKIPPED_MARK} python3 $*" >&2; exit 0;;\n'
        "esac\n"
        f'exec "{sys.executable}" "$@"\n'
    )
    py.chmod(0o755)
    (stub / "python").symlink_to(py)
    for tool in ("curl", "wget", "apt-get", "gsutil"):
        t = stub / tool
        t.write_text(f'#!/bin/sh\necho "{OFFLINE_MARK}: {tool} is not available offline" >&2\nexit 127\n')
        t.chmod(0o755)
    return stub


def executors(path: Path) -> list[dict[str, Any]]:
    """The container executors of a compiled file ([] if it cannot be read)."""
    try:
        doc = next(d for d in yaml.safe_load_all(path.read_text()) if d)
        found = (doc.get("deploymentSpec") or {}).get("executors") or {}
        return [e["container"] for e in found.values() if isinstance(e, dict) and "container" in e]
    except Exception:
        return []


def choose_backend(containers: list[dict[str, Any]]) -> str:
    """``process`` when a lightweight Python component is in the pipeline (it needs kfp, which only the
    host has offline), else ``docker``."""
    text = json.dumps(containers)
    return "process" if "kfp.dsl.executor_main" in text else "docker"


def tag_images(containers: list[dict[str, Any]], env: Env) -> None:
    """Tag every image the pipeline names and the engine lacks onto the base image."""
    for image in sorted({str(c.get("image", "")) for c in containers}):
        if not image or "{{" in image:
            continue
        have = subprocess.run(["docker", "image", "inspect", image], capture_output=True)
        if have.returncode == 0:
            continue
        if subprocess.run(["docker", "tag", BASE_IMAGE, image], capture_output=True).returncode == 0:
            env.tagged.append(image)


def untag_images(env: Env) -> None:
    """Remove the tags this run made (the base image stays)."""
    for image in env.tagged:
        subprocess.run(["docker", "rmi", image], capture_output=True)
    env.tagged.clear()


def runner(
    args: list[str], env: Env, path_prefix: Path | None, timeout: float, cwd: Path
) -> tuple[int, str, str]:
    """``python -m local_runner ARGS``: (exit code, stdout, stderr); -9 on a timeout."""
    # Run from a scratch folder of the file's own (PYTHONPATH finds the runner): a corpus task that
    # writes to a relative path writes there, never into the repository nor where another file runs.
    environ = dict(os.environ, PYTHONPATH=str(REPO))
    if path_prefix is not None:
        environ["PATH"] = f"{path_prefix}:{environ.get('PATH', '')}"
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "local_runner", *args],
            capture_output=True,
            text=True,
            cwd=cwd,
            env=environ,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as err:
        out = err.stdout.decode() if isinstance(err.stdout, bytes) else (err.stdout or "")
        return -9, out, f"timed out after {timeout:g} s"
    return proc.returncode, proc.stdout, proc.stderr


def error_line(stderr: str) -> str:
    """The runner's one-line error (``error: ...``), or the last line."""
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    for ln in lines:
        if ln.startswith("error: "):
            return ln[len("error: ") :]
    return lines[-1] if lines else ""


def refusal_reason(message: str) -> str:
    """A short name for why a file was refused."""
    m = re.search(r"unsupported KFP feature '([^']+)'", message)
    if m:
        return f"unsupported: {m.group(1)}"
    if "accelerator" in message or "GPU" in message:
        return "needs a GPU"
    return message[:160]


def run_one(path: Path, rel: Path, env: Env) -> Row:
    """Load, then (unless it is to be refused) run one file; classify the result."""
    row = Row(file=str(rel), expected=expected_outcome(rel))
    params = parameters_for(path, rel)
    pfile = env.work / "params" / (str(rel).replace("/", "__") + ".json")
    pfile.parent.mkdir(parents=True, exist_ok=True)
    pfile.write_text(json.dumps(params))
    t0 = time.monotonic()
    cwd = env.work / "cwd" / str(rel).replace("/", "__")
    cwd.mkdir(parents=True, exist_ok=True)
    code, _, err = runner([str(path), "--dry-run", "--params", str(pfile)], env, None, 60, cwd)
    if code not in (0, 2) or "Traceback" in err:
        row.got, row.verdict = "crash", "FAIL"
        row.detail = f"loading crashed (exit {code}): {error_line(err)[:200]}"
        row.seconds = time.monotonic() - t0
        return row
    if code == 2:
        reason = refusal_reason(error_line(err))
        row.got = "refused"
        row.detail = reason
        if row.expected == "refuse":
            row.verdict = "pass"
        elif row.expected == "succeed" and (reason.startswith("unsupported") or reason == "needs a GPU"):
            row.verdict = "refused"
        else:
            row.verdict = "FAIL"
        row.seconds = time.monotonic() - t0
        return row
    if row.expected == "refuse":
        row.got, row.verdict, row.detail = "loaded", "FAIL", "loaded a file KFP refuses"
        return row
    containers = executors(path)
    row.backend = choose_backend(containers)
    root = env.work / "runs" / str(rel).replace("/", "__")
    args = [str(path), "--params", str(pfile), "--root", str(root), "--quiet", "--no-cache"]
    args += ["--backend", row.backend, "--max-parallel", "2"]
    code, _, err = runner(args, env, env.stub_bin if row.backend == "process" else None, env.timeout, cwd)
    row.seconds = time.monotonic() - t0
    record = next(iter(sorted(root.glob("*/*/run.json"))), None)
    run = json.loads(record.read_text()) if record is not None else {}
    classify(row, code, err, run, root)
    return row


def classify(row: Row, code: int, err: str, run: dict[str, Any], root: Path) -> None:
    """Set ``got``, ``verdict`` and ``detail`` from the run's exit code and record."""
    tasks = list((run.get("tasks") or {}).values())
    if code == -9:
        row.got, row.verdict, row.detail = "timeout", "FAIL", err
        return
    if "Traceback" in err or code not in (0, 1, 2, 130):
        row.got, row.verdict, row.detail = "crash", "FAIL", f"exit {code}: {error_line(err)[:200]}"
        return
    if code == 2:
        reason = refusal_reason(error_line(err))
        row.got, row.detail = "refused", reason
        row.verdict = "refused" if row.expected == "succeed" and reason == "needs a GPU" else "FAIL"
        if row.expected == "succeed" and "image(s) not found locally" in reason:
            row.verdict = "offline"  # an image pinned by digest: no stand-in can be tagged for it
        return
    row.got = "succeeded" if code == 0 else "failed"
    failed = [t for t in tasks if t.get("status") == "failed"]
    logs = "".join(
        Path(t["log"]).read_text(errors="replace") for t in tasks if t.get("log") and Path(t["log"]).is_file()
    )
    unresolved = [t["id"] for t in tasks if any("{{$" in str(a) for a in t.get("command") or [])]
    if code == 0 and unresolved:
        row.verdict, row.detail = "FAIL", f"succeeded with an unresolved placeholder in {unresolved[0]}"
        return
    want = EXPECTED.get(Path(row.file).stem) if row.file.startswith("kfplocal/") else None
    problems = check_values(want, run, tasks, logs, row.file.endswith("_task.yaml")) if want else []
    if want is not None:
        row.values = "equal" if not problems else "differ"
    outcome_ok = (
        row.expected == "any"
        or (row.expected == "succeed" and code == 0)
        or (row.expected == "fail" and code == 1)
    )
    first = failed[0] if failed else {}
    why = f"{first.get('id')}: {str(first.get('message', ''))[:160]}" if first else ""
    if outcome_ok and not problems:
        row.verdict, row.detail = "pass", why if row.expected == "fail" else ""
    elif (
        code == 1 and row.expected == "succeed" and "but this machine has no GPU" in str(first.get("message"))
    ):
        row.verdict, row.detail = "refused", f"needs a GPU (asked for by a task output at run time): {why}"
    elif code == 1 and row.expected == "succeed" and stand_in_failure(row, first, logs):
        row.verdict = "offline"
        row.detail = f"needs its real image, not the stand-in ({why})"
    elif code == 1 and row.expected == "succeed" and "No components found in `kfp_config.ini`" in logs:
        row.verdict = "offline"
        row.detail = f"a containerized Python component: needs the image `kfp component build` makes ({why})"
    elif code == 1 and row.expected == "succeed" and offline_failure(logs, want):
        row.verdict, row.detail = "offline", f"{offline_failure(logs, want)} ({why})"
    else:
        row.verdict = "FAIL"
        row.detail = "; ".join(problems) or why or f"expected to {row.expected}"


def stand_in_failure(row: Row, first: dict[str, Any], logs: str) -> bool:
    """True if a Docker task failed because the stand-in image lacks a program or file the real image
    has (exit 127, or a shell that cannot find what it was told to run)."""
    if row.backend != "docker":
        return False
    if first.get("exit_code") == 127:
        return True
    return first.get("exit_code") in (1, 2, 126) and STAND_IN_MISSING.search(logs) is not None


def offline_failure(logs: str, want: dict[str, Any] | None) -> str:
    """Why a failure comes from being offline ('' if it does not): a download tool that is missing, a
    module that an install the stub skipped would have brought, or data read from Cloud Storage."""
    if (want or {}).get("offline"):
        return str(want["offline"])  # type: ignore[index]
    if OFFLINE_MARK in logs:
        return "downloads at run time"
    if SKIPPED_MARK in logs and MISSING_MODULE.search(logs) is not None:
        return "installs packages at run time"
    if re.search(r"(No such file or directory: '|does not exist at: )/(gcs|s3|minio|oci)/", logs):
        return "reads data from cloud storage"
    return ""


def check_values(
    want: dict[str, Any], run: dict[str, Any], tasks: list[dict[str, Any]], logs: str, one_task: bool
) -> list[str]:
    """Differences between the run and what kfp's test asserts (empty when they agree)."""
    problems: list[str] = []
    leaf = tasks[0] if len(tasks) == 1 else None
    if "command" in want and (leaf is None or leaf.get("command") != want["command"]):
        problems.append(f"command {leaf.get('command') if leaf else None} != {want['command']}")
    if "command_contains" in want and (
        leaf is None or want["command_contains"] not in " ".join(leaf.get("command") or [])
    ):
        problems.append(f"command lacks {want['command_contains']!r}")
    if "log_contains" in want and want["log_contains"] not in logs:
        problems.append(f"log lacks {want['log_contains']!r}")
    if "outputs" in want:
        if run.get("status") != "succeeded":
            return problems
        got = dict(run.get("outputs") or {})
        if one_task and leaf is not None:  # kfp's test called the component itself: the task's outputs
            got = {**(leaf.get("parameters") or {}), **(leaf.get("artifacts") or {})}
        if not want["outputs"] and got:
            problems.append(f"outputs {sorted(got)} != none")
        for name, value in want["outputs"].items():
            if name not in got:
                problems.append(f"output {name!r} missing")
            elif not same(got[name], value):
                problems.append(f"output {name!r}: {short(got[name])} != {short(value)}")
    return problems


def same(got: Any, want: Any) -> bool:
    """A run's output against a test's expectation (artifacts by name, URI, metadata and content)."""
    if (
        isinstance(want, dict)
        and isinstance(got, list)
        and got
        and isinstance(got[0], dict)
        and "uri" in got[0]
    ):
        art = got[0]
        if "name" in want and art.get("name") != want["name"]:
            return False
        if "uri" in want and art.get("uri") != want["uri"]:
            return False
        if "uri_endswith" in want and not str(art.get("uri", "")).endswith(want["uri_endswith"]):
            return False
        if "metadata" in want and art.get("metadata") != want["metadata"]:
            return False
        if "content" in want:
            p = Path(art.get("uri", ""))
            if not p.is_file() or p.read_text() != want["content"]:
                return False
        return True
    if isinstance(want, float) and isinstance(got, int | float) and not isinstance(got, bool):
        return math.isclose(got, want, rel_tol=1e-9)
    return bool(got == want and type(got) is type(want))


def short(value: Any) -> str:
    """A value shortened for the table."""
    text = json.dumps(value, default=str)
    return text if len(text) < 80 else text[:77] + "..."


# --- report --------------------------------------------------------------------------------------


def machine() -> str:
    """One line naming the machine."""
    mem = ""
    try:
        kb = int(
            next(
                ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal")
            ).split()[1]
        )
        mem = f", {kb / 2**20:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    docker = subprocess.run(
        ["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True
    )
    engine = f", Docker {docker.stdout.strip()}" if docker.returncode == 0 else ", no Docker engine"
    system = f"{platform.system()} {platform.release()}"
    return (
        f"{platform.node()}: {system}, {os.cpu_count()} CPU{mem}{engine}, Python {platform.python_version()}"
    )


def totals(rows: list[Row]) -> dict[str, int]:
    """Count of each verdict."""
    out: dict[str, int] = {}
    for r in rows:
        out[r.verdict] = out.get(r.verdict, 0) + 1
    return out


def page(rows: list[Row], command: str, started: str, seconds: float) -> str:
    """The results page (markdown)."""
    t = totals(rows)
    folders = sorted({r.file.split("/")[0] for r in rows})
    verdicts = ["pass", "refused", "offline", "FAIL"]
    kfp_rows = [r for r in rows if r.values != "-"]
    lines = [
        "# KFP conformance of the local runner",
        "",
        "Written by `benchmarks/kfp_conformance.py` (do not edit by hand). The corpus is the KFP",
        "project's own compiled pipelines (SDK test data, backend test resources, kfp.local's tests), kept",
        "outside the repository; the script's docstring says how each file is run offline and what each",
        "verdict means.",
        "",
        f"- command: `{command}`",
        f"- date: {started} ({seconds / 60:.1f} min)",
        f"- machine: {machine()}",
        "",
        "## Totals",
        "",
        f"{len(rows)} files: " + ", ".join(f"{t.get(v, 0)} {v}" for v in verdicts),
        "",
        "| folder | files | " + " | ".join(verdicts) + " |",
        "|---|---:|" + "---:|" * len(verdicts),
    ]
    for folder in folders:
        fr = [r for r in rows if r.file.split("/")[0] == folder]
        ft = totals(fr)
        lines.append(f"| {folder} | {len(fr)} | " + " | ".join(str(ft.get(v, 0)) for v in verdicts) + " |")
    if kfp_rows:
        equal = sum(1 for r in kfp_rows if r.values == "equal")
        lines += [
            "",
            f"kfp.local's test assertions: values equal in {equal} of {len(kfp_rows)} kfplocal files"
            " that ran.",
        ]
    lines += [
        "",
        "Done-when checks: "
        + f"crashes {sum(1 for r in rows if r.got in ('crash', 'timeout'))}; "
        + "successes with a wrong value or an unresolved placeholder "
        + f"{sum(1 for r in rows if r.got == 'succeeded' and r.verdict == 'FAIL')}; "
        + "valid files neither passing nor refused/offline with a reason "
        + f"{sum(1 for r in rows if r.expected == 'succeed' and r.verdict == 'FAIL')}; "
        + "valid__failing files not failing "
        + f"{sum(1 for r in rows if r.file.startswith('valid__failing/') and r.got != 'failed')}.",
        "",
        "## Per file",
        "",
        "| file | expected | backend | got | verdict | kfp values | seconds | detail |",
        "|---|---|---|---|---|---|---:|---|",
    ]
    for r in rows:
        detail = r.detail.replace("|", "\\|").replace("\n", " ")
        lines.append(
            f"| {r.file} | {r.expected} | {r.backend} | {r.got} | {r.verdict} | {r.values} "
            f"| {r.seconds:.1f} | {detail} |"
        )
    return "\n".join(lines) + "\n"


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Entry point; exits 1 if any file is a FAIL."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--corpus", type=Path, required=True, help="folder of compiled pipelines (or holding pipelines/)"
    )
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "results" / "kfp-conformance.md")
    ap.add_argument("--only", default="", help="run only files whose path contains this text")
    ap.add_argument("--jobs", type=int, default=2, help="files run side by side (default 2)")
    ap.add_argument("--timeout", type=float, default=700.0, help="seconds per run (a file sleeps 2 x 5 min)")
    args = ap.parse_args(argv)
    base = args.corpus / "pipelines" if (args.corpus / "pipelines").is_dir() else args.corpus
    if not base.is_dir():
        print(f"error: --corpus: {args.corpus} is not a folder", file=sys.stderr)
        return 2
    files = sorted(p for p in base.rglob("*.yaml") if args.only in str(p.relative_to(base)))
    command = "nice -n 10 .venv/bin/python benchmarks/kfp_conformance.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    started = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    t0 = time.monotonic()
    rows: list[Row] = []
    # A stopped harness (SIGTERM) still untags the stand-in images and removes its scratch folder.
    signal.signal(signal.SIGTERM, _interrupt)
    with tempfile.TemporaryDirectory(prefix="kfp-conformance-") as tmp:
        work = Path(tmp)
        env = Env(stub_bin=make_stubs(work), work=work, timeout=args.timeout)
        try:
            # Stand-in images for every Docker file up front: files run side by side.
            for path in files:
                containers = executors(path)
                if choose_backend(containers) == "docker":
                    tag_images(containers, env)
            with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
                futures = [pool.submit(run_one, path, path.relative_to(base), env) for path in files]
                for i, future in enumerate(concurrent.futures.as_completed(futures), 1):
                    row = future.result()
                    rows.append(row)
                    print(
                        f"[{i:>3}/{len(files)}] {row.verdict:<7} {row.file}  "
                        f"({row.expected} -> {row.got}, {row.seconds:.1f}s)"
                        + (f"  {row.detail[:120]}" if row.verdict != "pass" and row.detail else ""),
                        flush=True,
                    )
        finally:
            untag_images(env)
            shutil.rmtree(work / "runs", ignore_errors=True)
    rows.sort(key=lambda r: r.file)
    seconds = time.monotonic() - t0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(page(rows, command, started, seconds))
    t = totals(rows)
    print(
        f"{len(rows)} files: " + ", ".join(f"{v} {n}" for v, n in sorted(t.items())) + f"; page: {args.out}"
    )
    return 1 if t.get("FAIL") else 0


if __name__ == "__main__":
    raise SystemExit(main())
