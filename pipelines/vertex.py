"""Submit, wait for and schedule compiled pipelines on Vertex AI Pipelines (google-cloud-aiplatform).

The client talks REST. Its endpoint can be overridden (``--api-endpoint`` or
``CAMPAIGNLAB_VERTEX_ENDPOINT``), and so can the Cloud Storage endpoint the client uses to check the
pipeline-root bucket (``--storage-endpoint`` or ``CAMPAIGNLAB_STORAGE_ENDPOINT``). A plain-HTTP
endpoint (``http://127.0.0.1:PORT``: an emulator or a test fake) is called without credentials;
anything else uses Application Default Credentials (``gcloud auth application-default login`` or
a service account).

Errors from Vertex (permission, quota, a rejected spec, a failed run) become :class:`VertexError`
with a message saying what to do; the CLI prints it and exits 2.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from campaignlab.errors import CampaignlabError, ConfigError

ENDPOINT_ENV = "CAMPAIGNLAB_VERTEX_ENDPOINT"
STORAGE_ENDPOINT_ENV = "CAMPAIGNLAB_STORAGE_ENDPOINT"
_LABEL_RE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE_RE = re.compile(r"^[a-z0-9_-]{0,63}$")


class VertexError(CampaignlabError):
    """Vertex AI refused or failed a request (permission, quota, invalid spec, failed run)."""


@dataclass(frozen=True)
class Target:
    """Where to talk to: project, region and (optional) endpoint overrides."""

    project: str
    region: str
    api_endpoint: str | None = None
    storage_endpoint: str | None = None

    @classmethod
    def from_options(
        cls, project: str, region: str, api_endpoint: str | None = None, storage_endpoint: str | None = None
    ) -> Target:
        if not project:
            raise ConfigError("project: got '' -> expected a Google Cloud project id")
        if not re.fullmatch(r"[a-z]+-[a-z]+\d+", region or ""):
            raise ConfigError(f"region: got {region!r} -> expected a Vertex AI region such as us-central1")
        return cls(
            project=project,
            region=region,
            api_endpoint=api_endpoint or os.environ.get(ENDPOINT_ENV) or None,
            storage_endpoint=storage_endpoint or os.environ.get(STORAGE_ENDPOINT_ENV) or None,
        )


def _credentials(target: Target) -> Any:
    if target.api_endpoint and target.api_endpoint.startswith("http://"):
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials()
    return None  # Application Default Credentials


@contextlib.contextmanager
def _session(target: Target) -> Iterator[None]:
    """``aiplatform.init`` for this target (REST) with the storage endpoint set for the call."""
    from google.cloud import aiplatform

    aiplatform.init(
        project=target.project,
        location=target.region,
        api_endpoint=target.api_endpoint,
        api_transport="rest",
        credentials=_credentials(target),
    )
    # google-cloud-storage reads its endpoint override from the environment only; set it for the call.
    old = os.environ.get("STORAGE_EMULATOR_HOST")
    if target.storage_endpoint:
        os.environ["STORAGE_EMULATOR_HOST"] = target.storage_endpoint
    try:
        with _translate_errors(target):
            yield
    finally:
        if target.storage_endpoint:
            if old is None:
                os.environ.pop("STORAGE_EMULATOR_HOST", None)
            else:
                os.environ["STORAGE_EMULATOR_HOST"] = old


@contextlib.contextmanager
def _translate_errors(target: Target) -> Iterator[None]:
    from google.api_core import exceptions as gexc
    from google.auth import exceptions as auth_exc

    where = f"project {target.project!r}, region {target.region!r}"
    try:
        yield
    except gexc.GoogleAPICallError as err:
        # REST errors carry the HTTP status (403 Forbidden), gRPC ones the same number (PermissionDenied).
        code = int(err.code or 0)
        # The REST transport prefixes "POST http://...: "; the user needs Vertex's own words.
        msg = re.sub(r"^[A-Z]+ https?://\S+: ", "", err.message or str(err))
        if code == 403:
            raise VertexError(
                f"permission denied by Vertex AI ({where}): {msg}. The caller needs roles/aiplatform.user "
                "and iam.serviceAccounts.actAs on the run's service account; the service account needs "
                "read/write access to the pipeline root bucket."
            ) from None
        if code == 401:
            raise VertexError(
                f"not authenticated ({where}): {msg}. Run `gcloud auth application-default login`."
            ) from None
        if code == 429:
            raise VertexError(
                f"quota exceeded on Vertex AI ({where}): {msg}. Wait and retry, run fewer pipelines at "
                "once (--max-concurrent for schedules), or request more quota."
            ) from None
        if code == 400:
            raise VertexError(f"Vertex AI rejected the request ({where}): {msg}") from None
        if code == 404:
            raise VertexError(f"not found on Vertex AI ({where}): {msg}") from None
        raise VertexError(f"Vertex AI error {code} ({where}): {msg}") from None
    except auth_exc.DefaultCredentialsError as err:
        raise VertexError(
            f"no Google Cloud credentials: {err}. Run `gcloud auth application-default login` or set "
            "GOOGLE_APPLICATION_CREDENTIALS."
        ) from None
    except RuntimeError as err:  # PipelineJob.wait(): "Job failed with: ..."
        if "Job failed" in str(err):
            raise VertexError(f"the pipeline run failed: {str(err).split('with:', 1)[-1].strip()}") from None
        raise


def read_template(path: str | Path) -> dict[str, Any]:
    """Read a compiled pipeline YAML and check it is a KFP v2 pipeline spec."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(
            f"pipeline file {str(p)!r} does not exist (compile it: campaignlab pipeline compile)"
        )
    try:
        spec = yaml.load(p.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as err:
        raise ConfigError(f"pipeline file {str(p)!r} is not valid YAML: {err}") from None
    if not isinstance(spec, dict) or "pipelineInfo" not in spec or "root" not in spec:
        raise ConfigError(f"pipeline file {str(p)!r} is not a compiled KFP pipeline (no pipelineInfo/root)")
    return spec


def check_labels(labels: dict[str, str]) -> dict[str, str]:
    """Vertex label rules: lower-case keys starting with a letter, values of [a-z0-9_-], 63 chars."""
    for k, v in labels.items():
        if not _LABEL_RE.match(k) or not _LABEL_VALUE_RE.match(v):
            raise ConfigError(
                f"label {k}={v}: keys and values must be lower-case letters, digits, '_' or '-' "
                "(keys start with a letter, at most 63 characters)"
            )
    return labels


def check_pipeline_root(root: str) -> str:
    if not root.startswith("gs://") or len(root) <= len("gs://"):
        raise ConfigError(f"pipeline root: got {root!r} -> expected a Cloud Storage URI gs://BUCKET[/PATH]")
    return root


_SA_RE = re.compile(
    r"^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\.iam\.gserviceaccount\.com$"
    r"|^\d+-compute@developer\.gserviceaccount\.com$"
)
_CHECK_OBJECT = ".campaignlab-submit-check"


class CheckFailed(CampaignlabError):
    """``submit --check`` found problems that would make the run fail after queueing (all listed)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"submit --check: {len(problems)} problem(s), nothing was submitted:\n{lines}")


def image_problems(spec: dict[str, Any]) -> list[str]:
    """Images of the compiled spec that Vertex AI cannot pull: tags without a registry host.

    A registry reference starts with a host (a first path part holding ``.`` or ``:``, such as
    ``us-docker.pkg.dev/PROJECT/REPO/campaignlab-core:TAG``); ``campaignlab-core:0.1.0-abc``, what
    ``make images`` builds, exists only in the local Docker engine, and ``localhost:5000/...`` only here.
    """
    steps: dict[str, list[str]] = {}
    for name, executor in (spec.get("deploymentSpec", {}).get("executors", {}) or {}).items():
        image = (executor.get("container") or {}).get("image")
        if image:
            steps.setdefault(image, []).append(name.removeprefix("exec-"))
    problems = []
    for image, used_by in sorted(steps.items()):
        host = image.split("/", 1)[0] if "/" in image else ""
        if host and ("." in host or ":" in host) and not host.startswith(("localhost", "127.")):
            continue
        problems.append(
            f"image {image!r} (steps {', '.join(sorted(used_by))}) is a local tag Vertex AI cannot pull: "
            "push the images (REGISTRY=REGION-docker.pkg.dev/PROJECT/REPO PUSH=1 bash containers/build.sh) "
            "and compile with `campaignlab pipeline compile NAME --registry "
            "REGION-docker.pkg.dev/PROJECT/REPO`"
        )
    return problems


def service_account_problems(service_account: str | None, project: str) -> list[str]:
    """A run needs a service account that is a service-account e-mail address."""
    if not service_account:
        return [
            "service account: not set; pass --service-account NAME@PROJECT.iam.gserviceaccount.com (the "
            f"account the run acts as; it needs roles/aiplatform.user and write access to the pipeline "
            f"root), e.g. `gcloud iam service-accounts create campaignlab-runner --project {project}`"
        ]
    if not _SA_RE.match(service_account):
        return [
            f"service account: got {service_account!r} -> expected a service-account e-mail address "
            "NAME@PROJECT.iam.gserviceaccount.com"
        ]
    return []


def bucket_problems(target: Target, pipeline_root: str) -> list[str]:
    """Check that the pipeline root's bucket exists and that the caller can write to it.

    Writes a small object under the root and deletes it (google-cloud-storage). The run's service
    account writes there too: grant it roles/storage.objectAdmin on the bucket.
    """
    from google.api_core import exceptions as gexc
    from google.auth import exceptions as auth_exc
    from google.cloud import storage

    bucket_name, _, prefix = pipeline_root.removeprefix("gs://").partition("/")
    endpoint = target.storage_endpoint
    options = {"api_endpoint": endpoint} if endpoint else None
    credentials = None
    if endpoint and endpoint.startswith("http://"):
        from google.auth.credentials import AnonymousCredentials

        credentials = AnonymousCredentials()
    grant = (
        f"grant it with `gcloud storage buckets add-iam-policy-binding gs://{bucket_name} "
        "--member=serviceAccount:SA --role=roles/storage.objectAdmin` (for you and for the run's service "
        "account)"
    )
    try:
        client = storage.Client(project=target.project, credentials=credentials, client_options=options)
        bucket = client.lookup_bucket(bucket_name)
        if bucket is None:
            return [
                f"pipeline root: bucket {bucket_name!r} does not exist; create it in {target.region} "
                f"(`gcloud storage buckets create gs://{bucket_name} --project {target.project} "
                f"--location {target.region}`) or pass another --pipeline-root"
            ]
        blob = bucket.blob(f"{prefix.strip('/')}/{_CHECK_OBJECT}".lstrip("/"))
        blob.upload_from_string(b"campaignlab submit --check\n", content_type="text/plain")
        blob.delete()
    except gexc.Forbidden as err:
        return [f"pipeline root: cannot write to gs://{bucket_name} ({err.message}); {grant}"]
    except gexc.GoogleAPICallError as err:
        return [f"pipeline root: checking gs://{bucket_name} failed: {err.message or err}"]
    except auth_exc.DefaultCredentialsError as err:
        return [f"pipeline root: no Google Cloud credentials to check gs://{bucket_name} ({err}); run "
                "`gcloud auth application-default login`"]  # fmt: skip
    return []


def check_submission(
    target: Target, spec: dict[str, Any], *, pipeline_root: str, service_account: str | None
) -> list[str]:
    """Everything ``submit --check`` verifies, every problem at once (an empty list: all fine)."""
    problems = []
    try:
        check_pipeline_root(pipeline_root)
    except ConfigError as err:
        problems.append(str(err))
    else:
        problems += bucket_problems(target, pipeline_root)
    problems += image_problems(spec)
    problems += service_account_problems(service_account, target.project)
    return problems


def _job(
    template: str | Path,
    spec: dict[str, Any],
    *,
    pipeline_root: str,
    parameters: dict[str, Any],
    labels: dict[str, str],
    enable_caching: bool | None,
    display_name: str | None,
) -> Any:
    from google.cloud import aiplatform

    name = display_name or spec["pipelineInfo"]["name"]
    return aiplatform.PipelineJob(
        display_name=name,
        template_path=str(template),
        pipeline_root=pipeline_root,
        parameter_values=parameters,
        enable_caching=enable_caching,
        labels={"campaignlab-pipeline": spec["pipelineInfo"]["name"][:63], **labels},
    )


def submit(
    target: Target,
    template: str | Path,
    *,
    pipeline_root: str,
    service_account: str | None,
    parameters: dict[str, Any],
    labels: dict[str, str] | None = None,
    enable_caching: bool | None = None,
    display_name: str | None = None,
    wait: bool = False,
    check: bool = False,
    known_problems: list[str] | None = None,
) -> dict[str, Any]:
    """Create a PipelineJob (and wait for it with ``wait``); return its name, state and console URL.

    With ``check``, first verify what would fail the run only after it queued (see
    :func:`check_submission`); any problem, with ``known_problems`` found by the caller (e.g. a bad run
    parameter), raises :class:`CheckFailed` listing them all, and nothing is submitted.
    """
    spec = read_template(template)
    if check:
        problems = list(known_problems or [])
        problems += check_submission(
            target, spec, pipeline_root=pipeline_root, service_account=service_account
        )
        if problems:
            raise CheckFailed(problems)
    check_pipeline_root(pipeline_root)
    if not service_account:
        raise ConfigError(
            "--service-account: not set -> expected the service account the run acts as "
            "(NAME@PROJECT.iam.gserviceaccount.com)"
        )
    labels = check_labels(labels or {})
    with _session(target), _quiet_client_logs():
        job = _job(
            template,
            spec,
            pipeline_root=pipeline_root,
            parameters=parameters,
            labels=labels,
            enable_caching=enable_caching,
            display_name=display_name,
        )
        job.submit(service_account=service_account)
        if wait:
            job.wait()
        # The state the last response carried (job.state would poll once more).
        state = job._gca_resource.state
        return {
            "name": job.resource_name,
            "state": getattr(state, "name", str(state)),
            "console": _console_url(target, job.resource_name),
        }


def create_schedule(
    target: Target,
    template: str | Path,
    *,
    cron: str,
    pipeline_root: str,
    service_account: str | None,
    parameters: dict[str, Any],
    labels: dict[str, str] | None = None,
    enable_caching: bool | None = None,
    display_name: str | None = None,
    max_runs: int | None = None,
    max_concurrent: int = 1,
) -> dict[str, Any]:
    """Create a PipelineJobSchedule that runs the compiled pipeline on ``cron``."""
    spec = read_template(template)
    check_pipeline_root(pipeline_root)
    check_cron(cron)
    labels = check_labels(labels or {})
    with _session(target), _quiet_client_logs():
        job = _job(
            template,
            spec,
            pipeline_root=pipeline_root,
            parameters=parameters,
            labels=labels,
            enable_caching=enable_caching,
            display_name=display_name,
        )
        schedule = job.create_schedule(
            cron=cron,
            display_name=display_name or f"{spec['pipelineInfo']['name']}-schedule",
            max_run_count=max_runs,
            max_concurrent_run_count=max_concurrent,
            service_account=service_account,
        )
        return _schedule_row(schedule._gca_resource)


def list_schedules(target: Target) -> list[dict[str, Any]]:
    """Every pipeline schedule in the project and region."""
    from google.cloud import aiplatform

    with _session(target), _quiet_client_logs():
        return [_schedule_row(s._gca_resource) for s in aiplatform.PipelineJobSchedule.list()]


def delete_schedule(target: Target, schedule: str) -> str:
    """Delete a schedule given by id or full resource name; return the resource name."""
    from google.cloud import aiplatform

    with _session(target), _quiet_client_logs():
        found = aiplatform.PipelineJobSchedule.get(schedule_id=schedule)
        name = found.resource_name
        found.delete()
        return name


def check_cron(cron: str) -> str:
    """Five cron fields, optionally prefixed with ``TZ=Zone`` or ``CRON_TZ=Zone`` (Vertex's syntax)."""
    body = re.sub(r"^(CRON_TZ|TZ)=\S+\s+", "", cron.strip())
    fields = body.split()
    if len(fields) != 5 or not all(re.fullmatch(r"[\d*/,\-A-Za-z?]+", f) for f in fields):
        raise ConfigError(
            f"cron: got {cron!r} -> expected five fields 'minute hour day month weekday', "
            "e.g. '0 3 * * 1' (Mondays 03:00 UTC), optionally prefixed with 'TZ=Europe/Paris '"
        )
    return cron


def _schedule_row(s: Any) -> dict[str, Any]:
    return {
        "name": s.name,
        "display_name": s.display_name,
        "cron": s.cron,
        "state": s.state.name if hasattr(s.state, "name") else str(s.state),
        "max_run_count": int(s.max_run_count),
        "max_concurrent_run_count": int(s.max_concurrent_run_count),
        "started_run_count": int(s.started_run_count),
    }


def _console_url(target: Target, name: str) -> str:
    job_id = name.rsplit("/", 1)[-1]
    return (
        f"https://console.cloud.google.com/vertex-ai/locations/{target.region}/pipelines/runs/"
        f"{job_id}?project={target.project}"
    )


@contextlib.contextmanager
def _quiet_client_logs() -> Iterator[None]:
    """Send the client's progress lines to stderr as ``vertex: ...`` (stdout stays ours, e.g. for
    ``--json``), and keep the tracebacks it logs (then ignores) for bucket checks out of the terminal."""
    import sys

    changed: list[tuple[logging.StreamHandler, Any, logging.Formatter | None]] = []
    names = [n for n in logging.root.manager.loggerDict if n.startswith("google.cloud.aiplatform")]
    quiet = _NoTraceback()
    for name in names:
        logger = logging.getLogger(name)
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler):
                changed.append((handler, handler.stream, handler.formatter))
                handler.setStream(sys.stderr)
                handler.setFormatter(logging.Formatter("vertex: %(message)s"))
                handler.addFilter(quiet)
    try:
        yield
    finally:
        for handler, stream, formatter in changed:
            handler.setStream(stream)
            handler.setFormatter(formatter)
            handler.removeFilter(quiet)


class _NoTraceback(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        return True
