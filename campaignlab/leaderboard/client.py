"""HTTP client of the leaderboard (httpx): submit predictions, download splits, read rankings.

``submit_predictions`` is what the evaluate step calls to send its predictions file::

    from campaignlab.leaderboard.client import submit_predictions
    record = submit_predictions("http://127.0.0.1:8000", token, "v25", "predictions.parquet", model="lgbm")
    record["scores"]["macro_f1"]
"""

from __future__ import annotations

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
) -> dict[str, Any]:
    """Upload a predictions file (Parquet ``sample_id``, ``label``, or CSV ``sample_id,label``).

    Args:
        url: base URL of the leaderboard, e.g. ``http://127.0.0.1:8000``.
        token: the researcher's API token (``campaignlab leaderboard create-token``).
        version: dataset version name, e.g. ``v25``.
        predictions_path: the file ``campaignlab predict`` wrote (extra ``prob_*`` columns are ignored).
        model: free-text model name shown in the ranking.
        timeout: seconds for the whole request.

    Returns:
        The stored submission: ``id``, ``version``, ``researcher``, ``model``, ``created_at``,
        ``n_rows`` and ``scores`` (macro_f1, f1_negative, f1_average, f1_positive, weighted_f1, accuracy).

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
    with _client(url, token, timeout) as client:
        resp = _call(
            what,
            lambda: client.post(
                f"/api/versions/{version}/submissions",
                params={"model": model},
                content=data,
                headers={"Content-Type": ctype},
            ),
        )
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
    """The version's submissions, best macro F1 first."""
    what = f"reading the ranking of version {version!r}"
    with _client(url, token, timeout) as client:
        resp = _call(what, lambda: client.get(f"/api/versions/{version}/ranking"))
    _raise_for(resp, what)
    return list(resp.json()["submissions"])
