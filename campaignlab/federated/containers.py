"""The real federation in containers: SuperLink and each SuperNode in its own Docker container.

What a cross-silo deployment looks like, on one Docker host: :func:`run_container_deployment` creates a
user-defined bridge network ``campaignlab-fl-<id>`` and starts, from the ``fl`` image::

    <prefix>-superlink     flower-superlink --host 0.0.0.0 --port 9092 (TLS) [--enable-supernode-auth]
                           mounts: the TLS files, the server's files (manifest, server test set,
                           optional reference set) read-only, and the output folder
    <prefix>-supernode-i   flower-supernode --superlink <prefix>-superlink:9092 (TLS)
                           --node-config 'data-path="/data/client.parquet" partition-id=i'
                           mounts: its own client_i.parquet (read-only), the CA certificate and its
                           own private key -- nothing else of the partition
    <prefix>-cli-*         the flwr CLI (register the SuperNodes' public keys, then ``flwr run --stream``)

The ServerApp runs inside the SuperLink's container and the ClientApps inside the SuperNodes' (Flower's
subprocess isolation). TLS is a throw-away CA whose server certificate names the SuperLink container;
node authentication registers one ECDSA key pair per SuperNode. Nothing is published on the host: all
traffic stays on the network. Every container and the network carry the label
``campaignlab.fl.run=<id>`` and are removed in ``finally``, whatever happened; their logs are kept in
``<work>/logs``.

The Docker engine is driven through its CLI (``docker``), not the Python SDK: the core imports no docker.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from campaignlab.io import atomic_dir, read_json

from .config import FederatedConfig, to_run_config
from .deployment import CONNECTION, DeploymentError, make_node_keys, make_tls, write_flower_app
from .partition import MANIFEST, SERVER_REFERENCE, SERVER_TEST, read_partition_manifest
from .server_app import OUT_DIR_KEY, PARTITION_DIR_KEY, ROUNDS_FILE
from .simulation import FLOWER_ENV

LABEL = "campaignlab.fl.run"
PORT = 9092


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the docker CLI; raise :class:`DeploymentError` with its stderr when it fails."""
    try:
        proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise DeploymentError("--mode containers needs the docker CLI and a running engine") from None
    if check and proc.returncode != 0:
        raise DeploymentError(f"docker {args[0]} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return proc


def run_labelled(run_id: str) -> dict[str, list[str]]:
    """Containers and networks that carry this run's label (what cleanup must leave empty)."""
    flt = f"label={LABEL}={run_id}"
    cont = docker("ps", "-aq", "--filter", flt, check=False).stdout.split()
    nets = docker("network", "ls", "-q", "--filter", flt, check=False).stdout.split()
    return {"containers": cont, "networks": nets}


def run_container_deployment(
    cfg: FederatedConfig,
    partition_dir: Path,
    out_dir: Path,
    *,
    image: str | None,
    quiet: bool = True,
    tls: bool = True,
    node_auth: bool = True,
    timeout: float = 1800,
    work_dir: Path | None = None,
) -> dict[str, Any]:
    """Run the federation with one container per Flower process; return the ServerApp's history.

    Args:
        cfg: the run config (sent to the ServerApp as its run_config).
        partition_dir: the partition folder; SuperNode ``i``'s container mounts ``client_i.parquet`` only.
        out_dir: where the ServerApp writes ``rounds.json`` and ``global_model.pt`` (mounted at /out).
        image: the ``fl`` image (``containers/build.sh fl``).
        quiet: do not echo the run's log.
        tls: TLS with a throw-away CA (the certificate names the SuperLink container).
        node_auth: SuperNode authentication with registered ECDSA keys.
        timeout: seconds for the whole run.
        work_dir: folder for logs, keys, the app and FLWR_HOME (default ``out_dir/../deployment``).

    Raises:
        DeploymentError: no image, a container failed, or the run did not finish within ``timeout``.
    """
    if not image:
        raise DeploymentError("--mode containers: --image is required (the fl image, containers/build.sh fl)")
    docker("image", "inspect", image)  # fail early, naming the image
    out_dir = out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    work = (work_dir or out_dir.parent / "deployment").resolve()
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    manifest = read_partition_manifest(partition_dir)
    run_id = uuid.uuid4().hex[:12]
    prefix = f"campaignlab-fl-{run_id}"
    network, link = prefix, f"{prefix}-superlink"
    label = ["--label", f"{LABEL}={run_id}"]
    env: list[str] = []
    for k, v in FLOWER_ENV.items():
        env += ["-e", f"{k}={v}"]
    # The server's files only: the clients' rows never enter the SuperLink's container.
    # Published like any partition folder (with its completion marker): the ServerApp's reader refuses
    # a folder without one.
    server_data = work / "server_data"
    with atomic_dir(server_data) as staging:
        for name in (MANIFEST, SERVER_TEST, SERVER_REFERENCE):
            if (partition_dir / name).is_file():
                shutil.copy2(partition_dir / name, staging / name)
    certs = make_tls(work / "tls", hosts=(link,)) if tls else None
    home = work / "flwr_home"
    home.mkdir(parents=True, exist_ok=True)
    conn = [f"[superlink.{CONNECTION}]", f'address = "{link}:{PORT}"']
    conn += ['root-certificates = "/tls/ca.pem"'] if certs else ["insecure = true"]
    (home / "config.toml").write_text(f'[superlink]\ndefault = "{CONNECTION}"\n\n' + "\n".join(conn) + "\n")
    run_config = {**to_run_config(cfg), PARTITION_DIR_KEY: "/data/partition", OUT_DIR_KEY: "/out"}
    app_dir = write_flower_app(work / "app", run_config)
    tls_mount = ["-v", f"{certs['ca'].parent}:/tls:ro"] if certs else []
    started: list[str] = []

    def run_detached(name: str, mounts: list[str], entry: str, args: list[str]) -> None:
        docker(
            "run", "-d", "--name", name, "--network", network, *label, *env, *mounts,
            "--entrypoint", entry, image, *args,
        )  # fmt: skip
        started.append(name)

    def cli(name: str, mounts: list[str], args: list[str], t: float) -> subprocess.CompletedProcess[str]:
        started.append(name)
        return docker(
            "run", "--name", name, "--network", network, *label, *env, "-e", "FLWR_HOME=/flwr_home",
            "-v", f"{home}:/flwr_home", *tls_mount, *mounts, "--entrypoint", "flwr", image, *args,
            timeout=t, check=False,
        )  # fmt: skip

    mounts: dict[str, Any] = {}

    def shown(source: str) -> str:
        # A path inside the run folder is recorded relative to it: the folder is published (renamed)
        # after the run, so the absolute path the container saw no longer exists.
        try:
            return str(Path(source).relative_to(out_dir.parent))
        except ValueError:
            return source

    def record_mounts(name: str) -> None:
        out = docker("inspect", "-f", "{{json .Mounts}}", name).stdout
        mounts[name.removeprefix(prefix + "-")] = [
            {"Source": shown(m["Source"]), "Destination": m["Destination"], "RW": m["RW"]}
            for m in json.loads(out)
        ]

    def state(name: str) -> str:
        return docker(
            "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", name, check=False
        ).stdout.strip()

    deadline = time.monotonic() + timeout
    names = [link] + [f"{prefix}-supernode-{i}" for i in range(len(manifest["client_files"]))]
    # A SIGTERM (a scheduler, a test timeout) would end Python without `finally`: turn it into an
    # exception, so the containers and the network are removed all the same.
    old_term = None
    if threading.current_thread() is threading.main_thread():

        def _terminated(signum: int, frame: Any) -> None:
            raise DeploymentError("stopped by SIGTERM; the run's containers and network are removed")

        old_term = signal.signal(signal.SIGTERM, _terminated)
    try:
        docker("network", "create", *label, network)
        link_tls = (
            ["--ssl-ca-certfile", "/tls/ca.pem", "--ssl-certfile", "/tls/server.pem", "--ssl-keyfile",
             "/tls/server.key"]
            if certs
            else ["--insecure"]
        )  # fmt: skip
        run_detached(
            link,
            [*tls_mount, "-v", f"{server_data}:/data/partition:ro", "-v", f"{out_dir}:/out"],
            "flower-superlink",
            [*link_tls, "--host", "0.0.0.0", "--port", str(PORT),
             "--disable-runtime-dependency-installation",
             *(["--enable-supernode-auth"] if node_auth else [])],
        )  # fmt: skip
        record_mounts(link)
        probe = f"import socket; socket.create_connection(('127.0.0.1', {PORT}), timeout=1)"
        t_link = time.monotonic() + 90
        while docker("exec", link, "python", "-c", probe, check=False).returncode != 0:
            if not state(link).startswith("running") or time.monotonic() > t_link:
                raise DeploymentError(
                    f"the SuperLink container did not come up ({state(link)}):\n"
                    + docker("logs", "--tail", "30", link, check=False).stderr
                )
            time.sleep(0.5)
        for i, fname in enumerate(manifest["client_files"]):
            auth_mount: list[str] = []
            auth: list[str] = []
            if node_auth:
                priv, pub = make_node_keys(work / "keys", i)
                r = cli(
                    f"{prefix}-cli-register-{i}",
                    ["-v", f"{pub}:/keys/node.pub:ro"],
                    ["supernode", "register", "/keys/node.pub", CONNECTION],
                    120,
                )
                if r.returncode != 0:
                    raise DeploymentError(
                        f"flwr supernode register failed:\n{r.stdout[-1500:]}{r.stderr[-1500:]}"
                    )
                auth_mount = ["-v", f"{priv}:/keys/node:ro"]
                auth = ["--auth-supernode-private-key", "/keys/node"]
            data = (partition_dir / fname).resolve()
            node_tls = ["--root-certificates", "/tls/ca.pem"] if certs else ["--insecure"]
            ca_mount = ["-v", f"{certs['ca']}:/tls/ca.pem:ro"] if certs else []
            run_detached(
                names[i + 1],
                [*ca_mount, *auth_mount, "-v", f"{data}:/data/client.parquet:ro"],
                "flower-supernode",
                [*node_tls, "--superlink", f"{link}:{PORT}", *auth,
                 "--node-config", f'data-path="/data/client.parquet" partition-id={i}'],
            )  # fmt: skip
            record_mounts(names[i + 1])
        runner = f"{prefix}-cli-run"
        started.append(runner)
        docker(
            "run", "-d", "--name", runner, "--network", network, *label, *env, "-e", "FLWR_HOME=/flwr_home",
            "-v", f"{home}:/flwr_home", *tls_mount, "-v", f"{app_dir}:/app", "--entrypoint", "flwr", image,
            "run", "/app", CONNECTION, "--stream",
        )  # fmt: skip
        while state(runner).split(" ")[0] in ("created", "running"):
            for name in names:
                if not state(name).startswith("running"):
                    raise DeploymentError(
                        f"{name} stopped during the run ({state(name)}):\n"
                        + docker("logs", "--tail", "30", name, check=False).stderr
                    )
            if time.monotonic() > deadline:
                raise DeploymentError(f"the federated run did not finish in {timeout:.0f}s; logs in {logs}")
            time.sleep(1.0)
        wait_until = min(deadline, time.monotonic() + 30)
        while not (out_dir / ROUNDS_FILE).is_file() and time.monotonic() < wait_until:
            time.sleep(0.5)
        if not (out_dir / ROUNDS_FILE).is_file():
            out = docker("logs", runner, check=False)
            raise DeploymentError(
                f"the run ended without a result ({state(runner)}); logs in {logs}:\n"
                + (out.stdout + out.stderr)[-3000:]
            )
        if not quiet:
            out = docker("logs", runner, check=False)
            print(out.stdout[-20000:])
        history: dict[str, Any] = read_json(out_dir / ROUNDS_FILE)
        history["deployment"] = {
            "mode": "containers",
            "image": image,
            "network": network,
            "containers": started,
            "mounts": mounts,
            "superlink": f"{link}:{PORT}",
            "supernodes": len(manifest["client_files"]),
            "tls": tls,
            "node_auth": node_auth,
            "logs": str(logs),
        }
        return history
    finally:
        for name in started:
            out = docker("logs", name, check=False, timeout=30)
            (logs / f"{name.removeprefix(prefix + '-')}.log").write_text(out.stdout + out.stderr)
        ids = run_labelled(run_id)
        if ids["containers"]:
            docker("rm", "-f", *ids["containers"], check=False, timeout=120)
        for net in run_labelled(run_id)["networks"]:
            docker("network", "rm", net, check=False)
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)
        left = run_labelled(run_id)
        (logs / "cleanup.json").write_text(
            json.dumps({"run_id": run_id, "containers": started, "left": left}, indent=2) + "\n"
        )
