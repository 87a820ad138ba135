"""A real local federation: one Flower SuperLink and one SuperNode per data owner on 127.0.0.1.

:func:`run_deployment` starts, as separate processes (each in its own process group)::

    flower-superlink  --host 127.0.0.1 --port P  [--insecure | TLS]  [--enable-supernode-auth]
                      --disable-runtime-dependency-installation
    flower-supernode  --superlink 127.0.0.1:P --port Q_i
                      --node-config 'data-path="client_i.parquet" partition-id=i'
                      [--insecure | --root-certificates ca.pem]  [--auth-supernode-private-key KEY]
    (one per client file: each SuperNode reads only its own file)

then writes a Flower App folder (``pyproject.toml`` whose components are
``campaignlab.federated.server_app:app`` and ``campaignlab.federated.client_app:app`` and whose
``[tool.flwr.app.config]`` is the flattened run config) and submits it with ``flwr run APP campaignlab
--stream``. The SuperLink runs the ``ServerApp`` and the SuperNodes the ``ClientApp`` in subprocesses
(``--isolation subprocess``, the default). Telemetry and runtime dependency installation are off, so
nothing touches the network. Every process started here (and its children) is stopped in ``finally``.

Options: ``tls=True`` makes a throw-away CA and a server certificate for 127.0.0.1 (``cryptography``);
``node_auth=True`` creates an ECDSA key pair per SuperNode and registers each public key with
``flwr supernode register`` before the node starts, and the SuperLink rejects unknown nodes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from campaignlab.errors import CampaignlabError
from campaignlab.io import read_json

from .config import FederatedConfig, to_run_config
from .partition import read_partition_manifest
from .server_app import OUT_DIR_KEY, PARTITION_DIR_KEY, ROUNDS_FILE
from .simulation import FLOWER_ENV

CONNECTION = "campaignlab"


class DeploymentError(CampaignlabError):
    """A process of the local federation failed or the run did not finish in time."""


def free_ports(n: int) -> list[int]:
    """``n`` distinct free ports on 127.0.0.1 (all sockets held open together, so no port repeats)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_port(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    """Wait until 127.0.0.1:port accepts connections (fail early if ``proc`` died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DeploymentError(
                f"process exited with {proc.returncode} before listening; log {log}:\n{_tail(log)}"
            )
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.2)
    raise DeploymentError(
        f"nothing listens on 127.0.0.1:{port} after {timeout:.0f}s; log {log}:\n{_tail(log)}"
    )


def _tail(path: Path, n: int = 25) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    return ""


def descendants(pid: int) -> list[int]:
    """All descendant pids of ``pid`` (from /proc; Linux)."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (d / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def stop_processes(procs: list[subprocess.Popen[bytes]], grace: float = 5.0) -> list[int]:
    """SIGTERM each process group we started and every descendant (SuperExec detaches), then SIGKILL.

    Returns every pid it stopped.
    """
    pids: set[int] = set()
    for p in procs:
        pids.add(p.pid)
        pids.update(descendants(p.pid))
    for p in procs:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(p.pid, signal.SIGTERM)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for p in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    for p in procs:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(p.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(timeout=2)
    return sorted(pids)


def make_tls(folder: Path, hosts: tuple[str, ...] = ()) -> dict[str, Path]:
    """A self-signed CA and a server certificate for 127.0.0.1/localhost and ``hosts`` (PEM files)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    ca_key = ec.generate_private_key(ec.SECP384R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("campaignlab-local-ca"))
        .issuer_name(name("campaignlab-local-ca"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP384R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    *(x509.DNSName(h) for h in hosts),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = {"ca": folder / "ca.pem", "cert": folder / "server.pem", "key": folder / "server.key"}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


def make_node_keys(folder: Path, i: int) -> tuple[Path, Path]:
    """An ECDSA (P-384) key pair in OpenSSH format for SuperNode ``i``."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP384R1())
    priv, pub = folder / f"node_{i}", folder / f"node_{i}.pub"
    priv.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
        )
    )
    pub.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    )
    priv.chmod(0o600)
    return priv, pub


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_flower_app(folder: Path, run_config: dict[str, Any]) -> Path:
    """The Flower App folder ``flwr run`` builds into a FAB (no code: the components are installed)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        "[build-system]",
        'requires = ["hatchling"]',
        'build-backend = "hatchling.build"',
        "",
        "[project]",
        'name = "campaignlab-federated"',
        'version = "1.0.0"',
        'description = "campaignlab federated app: GeneralisedJointModel_3cls_feat_drop with FedAvg"',
        "dependencies = []  # the components come from the installed campaignlab package",
        "",
        "[tool.flwr.app]",
        'publisher = "campaignlab"',
        "",
        "[tool.flwr.app.components]",
        'serverapp = "campaignlab.federated.server_app:app"',
        'clientapp = "campaignlab.federated.client_app:app"',
        "",
        "[tool.flwr.app.config]",
    ]
    lines += [f'"{k}" = {_toml_value(v)}' for k, v in run_config.items()]
    (folder / "pyproject.toml").write_text("\n".join(lines) + "\n")
    return folder


def _flower_config(home: Path, port: int, ca: Path | None) -> None:
    home.mkdir(parents=True, exist_ok=True)
    conn = [f"[superlink.{CONNECTION}]", f'address = "127.0.0.1:{port}"']
    conn += [f'root-certificates = "{ca}"'] if ca else ["insecure = true"]
    (home / "config.toml").write_text(f'[superlink]\ndefault = "{CONNECTION}"\n\n' + "\n".join(conn) + "\n")


def run_deployment(
    cfg: FederatedConfig,
    partition_dir: Path,
    out_dir: Path,
    *,
    quiet: bool = True,
    tls: bool = False,
    node_auth: bool = False,
    timeout: float = 1800,
    work_dir: Path | None = None,
    containers: bool = False,
    image: str | None = None,
) -> dict[str, Any]:
    """Run the federation with real SuperLink/SuperNode processes; return the ServerApp's history.

    Args:
        cfg: the run config (sent to the ServerApp as its run_config).
        partition_dir: the partition folder; SuperNode ``i`` is given ``client_i.parquet`` only.
        out_dir: where the ServerApp writes ``rounds.json`` and ``global_model.pt``.
        quiet: keep the processes' logs in files only (always written under ``work_dir``).
        tls: TLS between SuperNodes/CLI and the SuperLink with a throw-away local CA.
        node_auth: SuperNode authentication (registered ECDSA keys).
        timeout: seconds for the whole run.
        work_dir: folder for logs, keys, the app and FLWR_HOME (default ``out_dir/../deployment``).
        containers: run every process in its own Docker container instead
            (:func:`campaignlab.federated.containers.run_container_deployment`).
        image: the ``fl`` image (``containers`` only).

    Raises:
        DeploymentError: a process failed or the run did not finish within ``timeout``.
    """
    if containers:
        from .containers import run_container_deployment

        return run_container_deployment(
            cfg,
            partition_dir,
            out_dir,
            image=image,
            quiet=quiet,
            tls=tls,
            node_auth=node_auth,
            timeout=timeout,
            work_dir=work_dir,
        )
    out_dir = out_dir.resolve()
    work = (work_dir or out_dir.parent / "deployment").resolve()
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    manifest = read_partition_manifest(partition_dir)
    bin_dir = Path(sys.executable).parent
    home = work / "flwr_home"
    env = {
        **os.environ,
        **FLOWER_ENV,
        "FLWR_HOME": str(home),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
    }
    port, *node_ports = free_ports(1 + len(manifest["client_files"]))
    certs = make_tls(work / "tls") if tls else None
    _flower_config(home, port, certs["ca"] if certs else None)
    run_config = {
        **to_run_config(cfg),
        PARTITION_DIR_KEY: str(partition_dir.resolve()),
        OUT_DIR_KEY: str(out_dir),
    }
    app_dir = write_flower_app(work / "app", run_config)
    procs: list[subprocess.Popen[bytes]] = []
    handles = []

    def start(cmd: list[str], log: Path) -> subprocess.Popen[bytes]:
        fh = log.open("wb")
        handles.append(fh)
        p = subprocess.Popen(
            cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=work, start_new_session=True
        )
        procs.append(p)
        return p

    def flwr_cli(args: list[str], log: Path, t: float) -> subprocess.CompletedProcess[bytes]:
        with log.open("ab") as fh:
            return subprocess.run(
                [str(bin_dir / "flwr"), *args],
                stdout=fh,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=work,
                timeout=t,
                check=False,
            )

    link_tls = (
        [
            "--ssl-ca-certfile",
            str(certs["ca"]),
            "--ssl-certfile",
            str(certs["cert"]),
            "--ssl-keyfile",
            str(certs["key"]),
        ]
        if certs
        else ["--insecure"]
    )
    node_tls = ["--root-certificates", str(certs["ca"])] if certs else ["--insecure"]
    deadline = time.monotonic() + timeout
    try:
        link = start(
            [
                str(bin_dir / "flower-superlink"),
                *link_tls,
                "--disable-runtime-dependency-installation",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                *(["--enable-supernode-auth"] if node_auth else []),
            ],
            logs / "superlink.log",
        )
        wait_port(port, link, logs / "superlink.log")
        for i, fname in enumerate(manifest["client_files"]):
            auth: list[str] = []
            if node_auth:
                priv, pub = make_node_keys(work / "keys", i)
                r = flwr_cli(["supernode", "register", str(pub), CONNECTION], logs / "register.log", 120)
                if r.returncode != 0:
                    raise DeploymentError(
                        f"flwr supernode register failed; log {logs / 'register.log'}:\n"
                        + _tail(logs / "register.log")
                    )
                auth = ["--auth-supernode-private-key", str(priv)]
            data_path = (partition_dir / fname).resolve()
            start(
                [
                    str(bin_dir / "flower-supernode"),
                    *node_tls,
                    "--superlink",
                    f"127.0.0.1:{port}",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(node_ports[i]),
                    *auth,
                    "--node-config",
                    f'data-path="{data_path}" partition-id={i}',
                ],
                logs / f"supernode_{i}.log",
            )
        names = ["superlink"] + [f"supernode_{i}" for i in range(len(manifest["client_files"]))]
        watched = list(zip(names, procs, strict=True))
        with (logs / "flwr_run.log").open("ab") as fh:
            runner = subprocess.Popen(
                [str(bin_dir / "flwr"), "run", str(app_dir), CONNECTION, "--stream"],
                stdout=fh,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=work,
                start_new_session=True,
            )
            procs.append(runner)
            # `--stream` returns when the run ends; a SuperLink or SuperNode dying meanwhile would leave
            # the ServerApp waiting for its node forever, so watch them.
            while runner.poll() is None:
                for name, p in watched:
                    if p.poll() is not None:
                        raise DeploymentError(
                            f"{name} exited with {p.returncode} during the run; log {logs / name}.log:\n"
                            + _tail(logs / f"{name}.log")
                        )
                if time.monotonic() > deadline:
                    raise DeploymentError(
                        f"the federated run did not finish in {timeout:.0f}s; logs in {logs}"
                    )
                time.sleep(0.5)
        if not quiet:
            sys.stderr.write(_tail(logs / "flwr_run.log", 200) + "\n")
        # `--stream` returns when the run ends; the ServerApp writes rounds.json as its last step.
        wait_until = min(deadline, time.monotonic() + 30)
        while not (out_dir / ROUNDS_FILE).is_file() and time.monotonic() < wait_until:
            time.sleep(0.5)
        if not (out_dir / ROUNDS_FILE).is_file():
            raise DeploymentError(
                f"the run ended without a result (flwr run exit {runner.returncode}); logs in {logs}:\n"
                + _tail(logs / "flwr_run.log")
            )
        history: dict[str, Any] = read_json(out_dir / ROUNDS_FILE)
        history["deployment"] = {
            "superlink": f"127.0.0.1:{port}",
            "supernodes": len(manifest["client_files"]),
            "tls": tls,
            "node_auth": node_auth,
            "logs": str(logs),
        }
        return history
    finally:
        stopped = stop_processes(procs)
        for fh in handles:
            fh.close()
        # For the record (and the tests): every process this run started, all stopped now.
        (logs / "pids.json").write_text(json.dumps({"started": [p.pid for p in procs], "stopped": stopped}))
