"""HTTP client of the leaderboard (httpx): submit predictions, download splits, read rankings.

``submit_predictions`` is what the evaluate step calls to send its predictions file::

    from campaignlab.leaderboard.client import submit_predictions
    record = submit_predictions("http://127.0.0.1:8000", token, "v25", "predictions.parquet", model="lgbm")
    record["scores"]["macro_f1"]
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from campaignlab.errors import CampaignlabError
from campaignlab.io import atomic_write_bytes


class LeaderboardError(CampaignlabError):
    """The server refused a request (bad token, unknown version, invalid predictions, ...)."""

    def __init__(self, message: str, status: int | None = None, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.problems = problems or []


def _raise_for(resp: httpx.Response, what: str) -> None:
    if resp.is_success:
        return
    detail: Any = resp.text[:500]
    problems: list[str] = []
    try:
        body = resp.json()
        detail = body.get("detail", detail)
        problems = list(body.get("problems", []))
    except ValueError:
        pass
    msg = f"{what}: server answered {resp.status_code}: {detail}"
    if problems:
        msg += "\n  " + "\n  ".join(problems)
    raise LeaderboardError(msg, resp.status_code, problems)


def _client(url: str, token: str, timeout: float) -> httpx.Client:
    return httpx.Client(
        base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {token}"}, timeout=timeout
    )


def _call(what: str, fn: Any) -> httpx.Response:
    try:
        return fn()
    except httpx.HTTPError as err:
        raise LeaderboardError(
            f"{what}: cannot reach the leaderboard ({type(err).__name__}: {err})"
        ) from None


def submit_predictions(
    url: str,
    token: str,
    version: str,
    predictions_path: str | Path,
    *,
    model: str = "",
    timeout: float = 120.0,
    idempotency_key: str | None = None,
    attempts: int = 3,
) -> dict[str, Any]:
    """Upload a predictions file (Parquet ``sample_id``, ``label``, or CSV ``sample_id,label``).

    The request carries an ``Idempotency-Key`` (a fresh random one unless given) and is sent again, with
    the same key, when the connection fails before an answer arrives: the server then answers with the
    submission it already stored instead of storing it twice.

    Args:
        url: base URL of the leaderboard, e.g. ``http://127.0.0.1:8000``.
        token: the researcher's API token (``campaignlab leaderboard create-token``).
        version: dataset version name, e.g. ``v25``.
        predictions_path: the file ``campaignlab predict`` wrote (extra ``prob_*`` columns are ignored).
        model: model name shown in the ranking (printable text).
        timeout: seconds for each attempt.
        idempotency_key: the key to send (default: a random one for this call).
        attempts: tries in all when the connection fails (1: no retry).

    Returns:
        The stored submission: ``id``, ``version``, ``researcher``, ``model``, ``created_at``,
        ``n_rows``, ``scores`` (on the public part of the test split: macro_f1, f1_negative, f1_average,
        f1_positive, weighted_f1, priority_weighted_f1, accuracy) and ``private_scores`` (None until the
        competition has ended).

    Raises:
        LeaderboardError: the file is missing, the server is unreachable or it refused the upload
            (the message carries the server's explanation).
    """
    path = Path(predictions_path)
    if not path.is_file():
        raise LeaderboardError(f"predictions: {str(path)!r} does not exist")
    ctype = "text/csv" if path.suffix.lower() == ".csv" else "application/vnd.apache.parquet"
    data = path.read_bytes()
    what = f"submitting {path.name} to version {version!r}"
    headers = {"Content-Type": ctype, "Idempotency-Key": idempotency_key or uuid.uuid4().hex}
    with _client(url, token, timeout) as client:
        for attempt in range(1, max(1, attempts) + 1):
            try:
                resp = client.post(
                    f"/api/versions/{version}/submissions",
                    params={"model": model},
                    content=data,
                    headers=headers,
                )
                break
            except httpx.TransportError as err:  # no answer: the same key makes the retry safe
                if attempt >= attempts:
                    raise LeaderboardError(
                        f"{what}: cannot reach the leaderboard ({type(err).__name__}: {err})"
                    ) from None
                time.sleep(0.5 * attempt)
    _raise_for(resp, what)
    return dict(resp.json())


def download_split(
    url: str,
    token: str,
    version: str,
    split: str,
    out: str | Path,
    *,
    kind: str = "raw",
    timeout: float = 300.0,
) -> Path:
    """Download a split (``train`` with labels, ``test`` without) as Parquet to ``out`` (atomically)."""
    what = f"downloading {split}/{kind} of version {version!r}"
    with _client(url, token, timeout) as client:
        resp = _call(
            what, lambda: client.get(f"/api/versions/{version}/splits/{split}", params={"kind": kind})
        )
    _raise_for(resp, what)
    atomic_write_bytes(out, resp.content)
    return Path(out)


def get_ranking(url: str, token: str, version: str, *, timeout: float = 60.0) -> list[dict[str, Any]]:
    """The version's submissions, best macro F1 on the ranked part first (rounded scores)."""
    what = f"reading the ranking of version {version!r}"
    with _client(url, token, timeout) as client:
        resp = _call(what, lambda: client.get(f"/api/versions/{version}/ranking"))
    _raise_for(resp, what)
    return list(resp.json()["submissions"])
