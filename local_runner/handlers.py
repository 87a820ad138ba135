"""Task handlers: run one resolved command line in a container (Docker) or as a host process.

Both follow the same contract: ``run()`` blocks until the command ends and returns an
:class:`Outcome`; a non-zero exit or a kill is ``FAILED`` (never success), a stop request is
``CANCELLED``; everything the command prints goes to the task's log file.
"""

from __future__ import annotations

import contextlib
import enum
import glob
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from local_runner.errors import HostError

BUILD_HINT = (
    "build the project images with `make images` (containers/build.sh), or for another image "
    "`docker build -t {image} ...` / `docker pull {image}`"
)


class Status(str, enum.Enum):
    """Final state of one task (or of the whole run)."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"  # its condition was false
    NOT_RUN = "not run"  # an upstream task failed or the run was cancelled first
    CANCELLED = "cancelled"


@dataclass
class Invocation:
    """Everything a handler needs to run one task attempt."""

    task_id: str
    image: str
    command: list[str]
    args: list[str]
    env: dict[str, str]
    log_path: Path
    mounts: list[str] = field(default_factory=list)
    cpu_limit: float | None = None
    memory_limit_bytes: int | None = None
    accelerator_count: int = 0
    run_id: str = ""  # labels the container, so `docker ps --filter label=...run=ID` finds one run's tasks
    # After a zero exit: (path the command wrote, where the runner wants it) pairs, for outputs written
    # outside the mounted runs root (kfp's ``artifact.set_path``); copied before the container goes.
    copy_out: Callable[[], list[tuple[str, str]]] | None = None


@dataclass
class Outcome:
    """Result of one attempt: status, exit code (None if it never ran) and a one-line reason."""

    status: Status
    exit_code: int | None = None
    message: str = ""


class TaskHandler(Protocol):
    """Runs resolved command lines. Implementations must be safe to call from many threads."""

    name: str

    def preflight(self, images: list[str], need_gpu: bool) -> dict[str, str]:
        """Check the machine before any task starts; return {image: digest} for the cache key."""
        ...

    def run(self, inv: Invocation, cancel: threading.Event) -> Outcome:
        """Run one attempt to its end (or until ``cancel`` is set)."""
        ...

    def gpu_available(self) -> bool:
        """True if a task asking for an accelerator can get one here."""
        ...

    def stop_all(self) -> None:
        """Stop every command this handler started (Ctrl-C)."""
        ...


def gpu_present(runtimes: dict[str, Any] | None = None) -> bool:
    """True if an NVIDIA device node or an ``nvidia`` Docker runtime exists on this machine."""
    if glob.glob("/dev/nvidia[0-9]*"):
        return True
    return bool(runtimes and "nvidia" in runtimes)


def _describe_exit(code: int, oom: bool, memory_limit: int | None) -> str:
    if oom:
        limit = f" of {memory_limit / 1e6:.0f} MB" if memory_limit else ""
        return f"killed: out of memory (limit{limit}), exit code {code}"
    if code > 128 and code - 128 in (signal.SIGKILL, signal.SIGTERM, signal.SIGSEGV, signal.SIGABRT):
        return f"killed by {signal.Signals(code - 128).name} (exit code {code})"
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


class DockerHandler:
    """Runs each task in a fresh container, like Vertex: ``command`` replaces the image ENTRYPOINT and
    ``args`` its CMD; the runs root is bind-mounted at the same absolute path; cpu and memory limits and
    GPUs are applied per task."""

    name = "docker"

    def __init__(self) -> None:
        try:
            import docker
            from docker.errors import DockerException
        except ImportError:  # pragma: no cover - docker is in the cloud extra
            raise HostError(
                "the docker Python package is missing: pip install 'campaignlab[cloud]'"
            ) from None
        try:
            self.client = docker.from_env(timeout=120)
            self.client.ping()
        except DockerException as err:
            raise HostError(
                f"no Docker engine is reachable ({err}); start Docker, or run with --backend process"
            ) from None
        self._lock = threading.Lock()
        self._running: dict[str, Any] = {}
        self._host_cpus: float | None = None

    def host_cpus(self) -> float:
        """CPUs the engine can give one container (Docker refuses a larger ``--cpus``)."""
        if self._host_cpus is None:
            self._host_cpus = float(self.client.info().get("NCPU") or os.cpu_count() or 1)
        return self._host_cpus

    def preflight(self, images: list[str], need_gpu: bool) -> dict[str, str]:
        from docker.errors import ImageNotFound

        digests: dict[str, str] = {}
        missing = []
        for image in sorted(set(images)):
            try:
                digests[image] = str(self.client.images.get(image).id)
            except ImageNotFound:
                missing.append(image)
        if missing:
            names = ", ".join(missing)
            raise HostError(f"image(s) not found locally: {names}; " + BUILD_HINT.format(image=missing[0]))
        if need_gpu and not self.gpu_available():
            raise HostError(
                "a task requests an accelerator (GPU) but this machine has none (no /dev/nvidia* device "
                "and no nvidia Docker runtime); run on a GPU machine or drop set_accelerator_type"
            )
        return digests

    def gpu_available(self) -> bool:
        """True if an NVIDIA device or an ``nvidia`` runtime of the engine exists."""
        return gpu_present(self.client.info().get("Runtimes"))

    def run(self, inv: Invocation, cancel: threading.Event) -> Outcome:
        from docker.errors import APIError, DockerException
        from docker.types import DeviceRequest

        kwargs: dict[str, Any] = {
            "entrypoint": inv.command or None,
            "command": inv.args or None,
            "environment": inv.env,
            "volumes": {m: {"bind": m, "mode": "rw"} for m in inv.mounts},
            "labels": {
                "campaignlab.local_runner.task": inv.task_id,
                "campaignlab.local_runner.run": inv.run_id,
            },
            "detach": True,
        }
        notes = []
        if inv.cpu_limit:
            cpus = inv.cpu_limit
            if cpus > self.host_cpus():
                # Vertex picks a machine with enough CPUs; here the machine is what it is. Docker refuses
                # a limit above it, so the task gets every CPU there is, and its log says so.
                cpus = self.host_cpus()
                notes.append(
                    f"local_runner: cpu limit {inv.cpu_limit:g} is more than this machine's {cpus:g} CPUs; "
                    f"the container gets {cpus:g}\n"
                )
            kwargs["nano_cpus"] = int(cpus * 1e9)
        if inv.memory_limit_bytes:
            # Same limit for memory+swap, so the limit really holds.
            kwargs["mem_limit"] = inv.memory_limit_bytes
            kwargs["memswap_limit"] = inv.memory_limit_bytes
        if inv.accelerator_count:
            kwargs["device_requests"] = [DeviceRequest(count=inv.accelerator_count, capabilities=[["gpu"]])]
        container = None
        try:
            with inv.log_path.open("ab") as log:
                for note in notes:
                    log.write(note.encode())
                container = self.client.containers.create(inv.image, **kwargs)
                with self._lock:
                    self._running[inv.task_id] = container
                if cancel.is_set():
                    return Outcome(Status.CANCELLED, None, "cancelled before start")
                container.start()
                if cancel.is_set():  # Ctrl-C between create and start: stop_all may have missed it
                    container.kill()
                for chunk in container.logs(stream=True, follow=True):
                    log.write(chunk)
                    log.flush()
                code = int(container.wait().get("StatusCode", -1))
                oom = False
                if code != 0:
                    container.reload()
                    oom = bool(container.attrs.get("State", {}).get("OOMKilled"))
                elif inv.copy_out is not None and not cancel.is_set():
                    for src, dest in inv.copy_out():
                        _copy_from_container(container, src, Path(dest))
        except (APIError, DockerException) as err:
            if cancel.is_set():
                return Outcome(Status.CANCELLED, None, "cancelled")
            if "executable file not found" in str(err):  # what a shell reports as exit 127
                program = (inv.command or inv.args or ["(the image entrypoint)"])[0]
                return Outcome(Status.FAILED, 127, f"{program!r} is not a program in image {inv.image}")
            return Outcome(Status.FAILED, None, f"docker error: {err}")
        finally:
            with self._lock:
                self._running.pop(inv.task_id, None)
            if container is not None:
                # Removal takes a while and nothing waits for it; a non-daemon thread still ends it
                # before the process exits.
                threading.Thread(target=self._remove, args=(container,), name="rm " + inv.task_id).start()
        if cancel.is_set():
            return Outcome(Status.CANCELLED, code, "stopped by Ctrl-C")
        if code != 0 or oom:
            return Outcome(Status.FAILED, code, _describe_exit(code, oom, inv.memory_limit_bytes))
        return Outcome(Status.SUCCEEDED, 0, "")

    @staticmethod
    def _remove(container: Any) -> None:
        with contextlib.suppress(Exception):
            container.remove(force=True)

    def stop_all(self) -> None:
        """Kill every container this handler started (Ctrl-C)."""
        with self._lock:
            running = list(self._running.values())
        for c in running:
            with contextlib.suppress(Exception):
                c.kill()


def _copy_from_container(container: Any, src: str, dest: Path) -> None:
    """Copy ``src`` (a file or folder inside a stopped container) to ``dest`` on the host."""
    import io
    import tarfile

    stream, _ = container.get_archive(src)
    data = io.BytesIO(b"".join(stream))
    with tarfile.open(fileobj=data) as tar:
        members = tar.getmembers()
        top = members[0].name if members else ""
        dest.parent.mkdir(parents=True, exist_ok=True)
        for m in members:
            rel = m.name[len(top) :].lstrip("/")
            target = dest / rel if rel else dest
            if m.isdir():
                target.mkdir(parents=True, exist_ok=True)
            elif m.isfile():
                target.parent.mkdir(parents=True, exist_ok=True)
                fh = tar.extractfile(m)
                if fh is not None:
                    target.write_bytes(fh.read())


class ProcessHandler:
    """Runs the same resolved command lines as host processes, for machines without Docker.

    The image is ignored, so the commands must exist on the host (e.g. ``campaignlab`` from the venv).
    cpu, memory and GPU requests are not enforced (documented); everything else is as with Docker.
    """

    name = "process"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, subprocess.Popen[bytes]] = {}

    def preflight(self, images: list[str], need_gpu: bool) -> dict[str, str]:
        if need_gpu and not gpu_present():
            raise HostError(
                "a task requests an accelerator (GPU) but this machine has no /dev/nvidia* device"
            )
        # No image to pin: the cache keys on the host instead.
        return {image: f"process:{image}" for image in images}

    def gpu_available(self) -> bool:
        """True if an NVIDIA device node exists."""
        return gpu_present()

    def run(self, inv: Invocation, cancel: threading.Event) -> Outcome:
        argv = [*inv.command, *inv.args]
        if not inv.command:
            return Outcome(
                Status.FAILED,
                None,
                f"the container of {inv.task_id} has no command (it relies on the image ENTRYPOINT), "
                "which the process backend cannot know; use --backend docker",
            )
        env = {**os.environ, **inv.env}
        with inv.log_path.open("ab") as log:
            try:
                proc = subprocess.Popen(
                    argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
                )
            except OSError as err:
                return Outcome(Status.FAILED, None, f"cannot start {argv[0]!r}: {err}")
            with self._lock:
                self._running[inv.task_id] = proc
            try:
                while True:
                    try:
                        code = proc.wait(timeout=0.1)
                        break
                    except subprocess.TimeoutExpired:
                        if cancel.is_set():
                            self._kill(proc)
                            proc.wait()
                            return Outcome(Status.CANCELLED, None, "stopped by Ctrl-C")
            finally:
                with self._lock:
                    self._running.pop(inv.task_id, None)
        if cancel.is_set():
            return Outcome(Status.CANCELLED, code, "stopped by Ctrl-C")
        if code != 0:
            return Outcome(Status.FAILED, code, _describe_exit(code, False, None))
        for src, dest in inv.copy_out() if inv.copy_out is not None else []:
            if Path(src).is_dir():
                shutil.copytree(src, dest, dirs_exist_ok=True)
            elif Path(src).is_file():
                Path(dest).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dest)
        return Outcome(Status.SUCCEEDED, 0, "")

    @staticmethod
    def _kill(proc: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    def stop_all(self) -> None:
        """Terminate every process group this handler started (Ctrl-C)."""
        with self._lock:
            running = list(self._running.values())
        for proc in running:
            self._kill(proc)


def make_handler(backend: str) -> TaskHandler:
    """The handler for ``--backend docker|process``."""
    if backend == "docker":
        return DockerHandler()
    if backend == "process":
        return ProcessHandler()
    raise HostError(f"--backend: got {backend!r} -> expected docker or process")
