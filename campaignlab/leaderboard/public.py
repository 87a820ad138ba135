"""What leaves the server about versions and submissions: the API's response models and the views.

Every score a researcher sees (API, pages, CLI) goes through here:

* rounded to ``score_decimals`` decimals, and the ranking sorts by the rounded value (ties: the earlier
  submission first), so neither a score nor the order leaks more precision than stated;
* while a version's competition runs, only the scores on its *public* part of the test split are shown
  and ranked; when it has ended, the *private* part's scores are shown beside them and rank.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from campaignlab.evaluation.metrics import SCORE_NAMES
from campaignlab.leaderboard.store import Version


class Scores(BaseModel):
    """Scores on one part of the test split (see :mod:`campaignlab.evaluation.metrics`), rounded."""

    macro_f1: float = Field(description="mean of the three per-class F1: the ranking metric")
    f1_negative: float
    f1_average: float
    f1_positive: float
    weighted_f1: float = Field(description="per-class F1 weighted by class support")
    priority_weighted_f1: float = Field(description="0.5 F1 Positive + 0.4 F1 Negative + 0.1 F1 Average")
    accuracy: float


class Submission(BaseModel):
    id: int
    version: str
    researcher: str
    model: str
    created_at: str
    n_rows: int
    scores: Scores = Field(description="on the public part of the test split")
    private_scores: Scores | None = Field(
        description="on the private part; null until the competition has ended"
    )


class RankedSubmission(Submission):
    rank: int


class Ranking(BaseModel):
    version: str
    ranked_by: str
    ranked_on: str = Field(description="'public' while the competition runs, 'private' after")
    score_decimals: int
    submissions: list[RankedSubmission]


class Competition(BaseModel):
    ends_at: str | None
    ended: bool
    ranked_on: str


class ScoringPolicy(BaseModel):
    ranked_by: str
    score_decimals: int = Field(description="every score is rounded to this many decimals")
    daily_quota: int = Field(description="accepted submissions per researcher, version and UTC day")


class VersionInfo(BaseModel):
    name: str
    content_hash: str | None = Field(
        description="sha256 over the served files' sha256 (file_sha256); null for versions registered "
        "before blind scoring"
    )
    created_at: str
    n_train: int
    n_test: int
    n_public: int = Field(description="test samples in the public part (which ones is secret)")
    public_fraction: float
    has_features: bool
    preset: str | None
    train_counts: dict[str, int]
    files: list[str]
    file_sha256: dict[str, str]
    labels_reconstructible: bool = Field(
        description="true when the version's labels can be rebuilt (a guessable generator seed)"
    )
    competition: Competition
    scoring: ScoringPolicy


class Me(BaseModel):
    researcher: str


class Health(BaseModel):
    status: str
    revision: str


class Problem(BaseModel):
    """Every error answer: what is wrong, and for a predictions file each problem found."""

    detail: str
    problems: list[str] = Field(default_factory=list)


def ranked_on(version: Version) -> str:
    """The part the ranking is on: private once the competition has ended (and a private part exists)."""
    return "private" if version.ended() and version.n_public < version.n_test else "public"


def _rounded(scores: dict[str, float] | None, decimals: int) -> dict[str, float] | None:
    return None if scores is None else {k: round(float(scores[k]), decimals) for k in SCORE_NAMES}


def submission_view(record: dict[str, Any], version: Version, decimals: int) -> dict[str, Any]:
    """A stored submission (``Store.get_submission``) as a researcher may see it now."""
    parts = record["scores"]
    private = parts.get("private") if ranked_on(version) == "private" else None
    return {
        **{k: record[k] for k in ("id", "version", "researcher", "model", "created_at", "n_rows")},
        "scores": _rounded(parts["public"], decimals),
        "private_scores": _rounded(private, decimals),
    }


def ranking_view(version: Version, records: list[dict[str, Any]], decimals: int) -> dict[str, Any]:
    """Every submission of ``version``, best rounded macro F1 on the ranked part first."""
    part = ranked_on(version)
    rows = [submission_view(r, version, decimals) for r in records]
    key = "private_scores" if part == "private" else "scores"
    rows.sort(key=lambda r: (-r[key]["macro_f1"], r["id"]))
    return {
        "version": version.name,
        "ranked_by": "macro_f1",
        "ranked_on": part,
        "score_decimals": decimals,
        "submissions": [{"rank": i, **r} for i, r in enumerate(rows, 1)],
    }


def version_view(version: Version, decimals: int, daily_quota: int) -> dict[str, Any]:
    """The public facts of a version: never the seed, the input hash, the answer key or the split."""
    info = version.info
    return {
        "name": version.name,
        "content_hash": version.content_hash,
        "created_at": version.created_at,
        "n_train": version.n_train,
        "n_test": version.n_test,
        "n_public": version.n_public,
        "public_fraction": float(info.get("public_fraction", 1.0)),
        "has_features": version.has_features,
        "preset": info.get("preset"),
        "train_counts": dict(info.get("train_counts", {})),
        "files": sorted(info.get("files", {})),
        "file_sha256": dict(info.get("file_sha256", {})),
        "labels_reconstructible": bool(info.get("labels_reconstructible", False)),
        "competition": {
            "ends_at": None if version.ends_at is None else version.ends_at.isoformat(),
            "ended": version.ended(),
            "ranked_on": ranked_on(version),
        },
        "scoring": {"ranked_by": "macro_f1", "score_decimals": decimals, "daily_quota": daily_quota},
    }
