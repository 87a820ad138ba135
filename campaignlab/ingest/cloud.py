"""Campaign sources on Google Cloud: Cloud Storage objects (``gs://``) and BigQuery tables (``bq://``).

The real clients (google-cloud-storage, google-cloud-bigquery) are used. Their endpoints can be
overridden with ``CAMPAIGNLAB_STORAGE_ENDPOINT`` and ``CAMPAIGNLAB_BIGQUERY_ENDPOINT`` (an emulator or a
test fake); a plain ``http://`` endpoint is called without credentials, anything else with Application
Default Credentials (``gcloud auth application-default login`` or the job's service account).

* ``gs://BUCKET/path/file.csv``: one object; ``gs://BUCKET/prefix/`` (or a prefix that is not an object):
  every object under it, read like a local folder (marker files such as ``_SUCCESS`` are skipped).
* ``bq://PROJECT.DATASET.TABLE``: every row of the table, read with ``tabledata.list`` (no query job, so
  no query cost); the rows' digest is taken over their canonical JSON.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Iterator
from typing import Any

from campaignlab.errors import CampaignlabError, DataError
from campaignlab.ingest.sources import RawTable, Source, folder_files, parse_arrow, parse_bytes

STORAGE_ENDPOINT_ENV = "CAMPAIGNLAB_STORAGE_ENDPOINT"
BIGQUERY_ENDPOINT_ENV = "CAMPAIGNLAB_BIGQUERY_ENDPOINT"
PROJECT_ENV = "GOOGLE_CLOUD_PROJECT"
_BQ_RE = re.compile(r"^bq://(?P<project>[a-z][a-z0-9.:-]*[a-z0-9])\.(?P<dataset>\w+)\.(?P<table>[\w$-]+)$")


class CloudError(CampaignlabError):
    """Google Cloud refused or failed a request (not found, permission, ...)."""


def _anonymous_if_plain_http(endpoint: str | None) -> Any:
    if endpoint and endpoint.startswith("http://"):
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials()
    return None


def storage_client(project: str | None = None) -> Any:
    """A google-cloud-storage client honouring ``CAMPAIGNLAB_STORAGE_ENDPOINT``."""
    from google.cloud import storage

    endpoint = os.environ.get(STORAGE_ENDPOINT_ENV) or None
    creds = _anonymous_if_plain_http(endpoint)
    project = project or os.environ.get(PROJECT_ENV) or ("campaignlab-local" if creds else None)
    options = {"api_endpoint": endpoint} if endpoint else None
    return storage.Client(project=project, credentials=creds, client_options=options)


def bigquery_client(project: str) -> Any:
    """A google-cloud-bigquery client honouring ``CAMPAIGNLAB_BIGQUERY_ENDPOINT``."""
    from google.cloud import bigquery

    endpoint = os.environ.get(BIGQUERY_ENDPOINT_ENV) or None
    options = {"api_endpoint": endpoint} if endpoint else None
    return bigquery.Client(
        project=project, credentials=_anonymous_if_plain_http(endpoint), client_options=options
    )


@contextlib.contextmanager
def translate_errors(what: str) -> Iterator[None]:
    """Google API errors -> :class:`DataError` (not found) or :class:`CloudError`, naming ``what``."""
    from google.api_core import exceptions as gexc
    from google.auth import exceptions as auth_exc

    try:
        yield
    except gexc.NotFound as err:
        raise DataError(f"{what} does not exist ({_msg(err)})") from None
    except gexc.Forbidden as err:
        raise CloudError(
            f"permission denied reading {what} ({_msg(err)}): the caller needs "
            "roles/storage.objectViewer on the bucket, or roles/bigquery.dataViewer on the table "
            "(and bigquery.readsessions/jobs rights for BigQuery)"
        ) from None
    except gexc.GoogleAPICallError as err:
        raise CloudError(f"reading {what} failed: {_msg(err)}") from None
    except auth_exc.DefaultCredentialsError as err:
        raise CloudError(
            f"no Google Cloud credentials to read {what}: run `gcloud auth application-default login` "
            f"or set {STORAGE_ENDPOINT_ENV}/{BIGQUERY_ENDPOINT_ENV} for an emulator ({err})"
        ) from None


def _msg(err: Any) -> str:
    return re.sub(r"^[A-Z]+ https?://\S+: ", "", getattr(err, "message", None) or str(err))


def split_gs_uri(uri: str) -> tuple[str, str]:
    """``gs://bucket/a/b`` -> ("bucket", "a/b")."""
    rest = uri[len("gs://") :]
    bucket, _, path = rest.partition("/")
    if not bucket:
        raise DataError(f"source {uri!r}: expected gs://BUCKET/PATH")
    return bucket, path


def read_gcs(uri: str, encoding: str | None = None) -> Source:
    """Read one object, or every object under a prefix, from Cloud Storage."""
    bucket_name, path = split_gs_uri(uri)
    with translate_errors(uri):
        client = storage_client()
        bucket = client.bucket(bucket_name)
        if path and not path.endswith("/"):
            blob = bucket.get_blob(path)
            if blob is not None:
                return Source(uri, "gcs", [parse_bytes(uri, blob.download_as_bytes(), encoding)])
        prefix = path if not path or path.endswith("/") else path + "/"
        names = [b.name[len(prefix) :] for b in client.list_blobs(bucket_name, prefix=prefix)]
        names = [n for n in names if n and not n.endswith("/")]
        if not names:
            raise DataError(f"{uri} does not exist (no object and no objects under {prefix!r})")
        files, skipped = folder_files(names, uri)
        tables = [
            parse_bytes(
                f"gs://{bucket_name}/{prefix}{n}", bucket.blob(prefix + n).download_as_bytes(), encoding
            )
            for n in files
        ]
    return Source(uri, "gcs", tables, skipped)


def parse_bq_uri(uri: str) -> tuple[str, str, str]:
    """``bq://project.dataset.table`` -> (project, dataset, table)."""
    m = _BQ_RE.match(uri)
    if not m:
        raise DataError(f"source {uri!r}: expected bq://PROJECT.DATASET.TABLE")
    return m.group("project"), m.group("dataset"), m.group("table")


def read_bigquery(uri: str) -> Source:
    """Read every row of a BigQuery table (``tabledata.list``; no query job)."""
    project, dataset, table_id = parse_bq_uri(uri)
    with translate_errors(uri):
        client = bigquery_client(project)
        table = client.get_table(f"{project}.{dataset}.{table_id}")
        arrow = client.list_rows(table).to_arrow(create_bqstorage_client=False)
    raw: RawTable = parse_arrow(uri, "bigquery", arrow)
    h = hashlib.sha256()
    for row in raw.rows:
        h.update((json.dumps(row, sort_keys=True, default=str) + "\n").encode())
    raw.sha256 = h.hexdigest()
    raw.details = {
        "table": f"{project}.{dataset}.{table_id}",
        "num_rows": table.num_rows,
        "modified": table.modified.isoformat() if table.modified else None,
        "etag": table.etag,
    }
    return Source(uri, "bigquery", [raw])


def upload_folder(local: str, uri: str) -> list[str]:
    """Copy every file of a local folder to ``gs://BUCKET/PREFIX/`` (the Vertex registry's model files)."""
    from pathlib import Path

    bucket_name, prefix = split_gs_uri(uri.rstrip("/") + "/")
    root = Path(local)
    written = []
    with translate_errors(uri):
        bucket = storage_client().bucket(bucket_name)
        for p in sorted(root.rglob("*")):
            if p.is_file():
                name = prefix + str(p.relative_to(root))
                bucket.blob(name).upload_from_filename(str(p))
                written.append(f"gs://{bucket_name}/{name}")
    return written


def download_folder(uri: str, local: str) -> list[str]:
    """Copy every object under ``gs://BUCKET/PREFIX/`` into a local folder."""
    from pathlib import Path

    bucket_name, prefix = split_gs_uri(uri.rstrip("/") + "/")
    out = Path(local)
    got = []
    with translate_errors(uri):
        client = storage_client()
        for blob in client.list_blobs(bucket_name, prefix=prefix):
            rel = blob.name[len(prefix) :]
            if not rel or rel.endswith("/"):
                continue
            dest = out / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            blob.download_to_filename(str(dest))
            got.append(str(dest))
    if not got:
        raise DataError(f"{uri} holds no objects")
    return got
