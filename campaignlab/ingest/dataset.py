"""``campaignlab ingest``: a source of raw campaigns in, a dataset folder out (or nothing, on failure).

Dataset folder (the one ``embed``, ``train``, ``partition``, the leaderboard ... read):

* ``samples.parquet``: the generator's text columns — ``sample_id`` (the campaign id), ``split``
  'train'|'test', ``label`` int8 (0 Negative, 1 Average, 2 Positive; -1 in an ``--unlabelled`` dataset,
  whose rows are all 'test'), ``audience``, ``brand``, ``creative``, ``platform`` strings, ``geo`` list of
  5-character ZIP strings — plus ``date`` (date32, null when absent), ``owner`` (string, null when absent),
  ``source`` (file or table) and ``source_row`` (1-based record number in it).
* ``rejected.parquet``: one row per rejected input record (see :mod:`campaignlab.ingest.validate`).
* ``manifest.json``: source URI, kind, files with their sha256 and one sha256 over all, the resolved
  column mapping, options, counts per split and class, rejected counts per reason, vocabularies
  (``platform``, ``owner``) with counts, the time split's cutoff date, text lengths, ZIP coverage, versions.
* ``data_report.png`` and ``data_report.html`` (see :mod:`campaignlab.ingest.report`).

The rows read always equal accepted + rejected. When the rejected share exceeds ``max_rejected`` nothing
is written and :class:`RejectedRowsError` carries a summary (counts per reason and the first rows).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from campaignlab import LABEL_NAMES
from campaignlab.config import StrictModel
from campaignlab.errors import DataError
from campaignlab.ingest.contract import REASONS, ParseOptions
from campaignlab.ingest.mapping import Mapping, as_mapping
from campaignlab.ingest.sources import Source, read_source
from campaignlab.ingest.validate import Validated, validate_source
from campaignlab.io import atomic_dir, check_writable_parent, write_json, write_parquet

SAMPLES_FILE = "samples.parquet"
REJECTED_FILE = "rejected.parquet"
MANIFEST_FILE = "manifest.json"
REPORT_HTML = "data_report.html"
REPORT_PNG = "data_report.png"
DATASET_KIND = "campaignlab.dataset"
PRODUCER = "ingest"


class RejectedRowsError(DataError):
    """More rows were rejected than ``max_rejected`` allows; nothing was written."""


class IngestConfig(StrictModel):
    """Config of ``campaignlab ingest``.

    Attributes:
        source: a CSV/Parquet/JSON Lines file, a folder of them, ``gs://BUCKET/PATH`` or
            ``bq://PROJECT.DATASET.TABLE``.
        out: dataset folder to write (replaced atomically; not written when ingestion fails).
        mapping: YAML mapping file (the source's column names and value conventions), or the mapping
            itself as a dict (a pipeline parameter; on the command line a JSON object).
        split: ``random`` (stratified by class, seeded) or ``time`` (the latest campaigns by ``date`` are
            the test split).
        test_fraction: share of the campaigns in the test split.
        max_rejected: the largest share of rejected rows accepted (0.05 = 5%); above it nothing is written.
        unlabelled: campaigns to score: no label column is read and every row is in the 'test' split.
        seed: seed of the random split.
        encoding: text encoding of CSV/JSON files (default: detected).
        pdfm: the PDFM table the ZIP coverage is checked against (default: the offline stand-in's ZIPs).
    """

    source: str = Field(min_length=1)
    out: Path
    mapping: Path | dict[str, Any] | None = None
    split: Literal["random", "time"] = "random"
    test_fraction: float = Field(0.2, gt=0, lt=1)
    max_rejected: float = Field(0.05, ge=0, le=1)
    unlabelled: bool = False
    seed: int = 42
    encoding: str | None = None
    pdfm: Path | None = None


@dataclass
class CampaignTable:
    """What :func:`read_campaigns` returns: validated campaigns, rejected rows, where they came from."""

    campaigns: pd.DataFrame
    rejected: pd.DataFrame
    source: Source
    mapping: Mapping
    validated: Validated

    @property
    def num_input(self) -> int:
        return self.validated.num_input


def read_campaigns(
    source: str | Path,
    mapping: str | Path | Mapping | dict[str, Any] | None = None,
    *,
    unlabelled: bool = False,
    require_date: bool = False,
    encoding: str | None = None,
) -> CampaignTable:
    """Read and validate raw campaigns (the raw-campaign contract); nothing is written.

    Args:
        source: file, folder, ``gs://`` or ``bq://`` URI (see :class:`IngestConfig`).
        mapping: a mapping file path, a :class:`Mapping`, a dict of its keys, or None (columns named as
            the contract).
        unlabelled: campaigns to score (no label read; ``label`` is -1).
        require_date: reject rows without a date (the time split needs one).
        encoding: text encoding of CSV/JSON files (default: detected).

    Returns:
        :class:`CampaignTable`: ``campaigns`` has ``sample_id`` (the campaign id), ``audience``, ``brand``,
        ``creative``, ``platform``, ``geo`` (list of ZIPs), ``label`` (0/1/2, -1 unlabelled), ``date``,
        ``owner``, ``source``, ``source_row``; ``rejected`` one row per rejected record (source, row,
        line, campaign_id, field, value, reason, message, problems).

    Raises:
        DataError: the source cannot be read or lacks a required column.
    """
    m = as_mapping(mapping)
    opts = ParseOptions(
        unlabelled=unlabelled,
        label_values=m.label_values,
        date_format=m.date_format,
        require_date=require_date,
        zip_zero_pad=m.zip_zero_pad,
    )
    src = read_source(source, encoding)
    v = validate_source(src, m, opts)
    return CampaignTable(v.accepted, v.rejected, src, m, v)


def assign_split(
    campaigns: pd.DataFrame, method: str, test_fraction: float, seed: int
) -> tuple[np.ndarray, dict[str, Any]]:
    """The 'train'/'test' split of validated campaigns, and what describes it in the manifest.

    ``random``: per class, a seeded shuffle puts ``round(test_fraction * n_class)`` campaigns in test.
    ``time``: campaigns dated on or after the cutoff are test, the cutoff being the date of the
    ``ceil(test_fraction * n)``-th latest campaign, so no test campaign is older than a training one.

    Raises:
        DataError: the split would leave train or test empty.
    """
    n = len(campaigns)
    split = np.full(n, "train", dtype=object)
    info: dict[str, Any] = {"method": method, "test_fraction": test_fraction, "seed": seed}
    labels = campaigns["label"].to_numpy()
    if method == "random":
        rng = np.random.default_rng(seed)
        for c in np.unique(labels):
            idx = np.flatnonzero(labels == c)
            idx = idx[rng.permutation(len(idx))]
            split[idx[: round(test_fraction * len(idx))]] = "test"
    else:
        dates = pd.to_datetime(campaigns["date"]).to_numpy()
        k = max(1, int(np.ceil(test_fraction * n)))
        cutoff = np.sort(dates)[n - k]
        split[dates >= cutoff] = "test"
        info["cutoff_date"] = str(pd.Timestamp(cutoff).date())
        train_dates = dates[split == "train"]
        if len(train_dates):
            info["train_dates"] = [
                str(pd.Timestamp(train_dates.min()).date()),
                str(pd.Timestamp(train_dates.max()).date()),
            ]
        info["test_dates"] = [str(pd.Timestamp(cutoff).date()), str(pd.Timestamp(dates.max()).date())]
    n_test = int((split == "test").sum())
    if n_test == 0 or n_test == n:
        raise DataError(
            f"split {method!r}: {n} campaigns give {n - n_test} train and {n_test} test rows; "
            + ("every campaign has the same date" if method == "time" else "too few campaigns")
            + " -> change --test-fraction or --split"
        )
    info["actual_test_fraction"] = round(n_test / n, 6)
    return split, info


def _counts(values: pd.Series) -> dict[str, int]:
    c = Counter(values.dropna().tolist())
    return {k: int(v) for k, v in sorted(c.items(), key=lambda kv: (-kv[1], str(kv[0])))}


def rejected_summary(rejected: pd.DataFrame, total: int, limit: float, examples: int = 10) -> str:
    """The failure message: share, counts per reason and the first rejected rows."""
    by = rejected["reason"].value_counts()
    lines = [
        f"{len(rejected)} of {total} rows rejected ({100 * len(rejected) / max(total, 1):.2f}%), "
        f"more than --max-rejected {100 * limit:g}%; no dataset written.",
        "rejected rows by reason: " + ", ".join(f"{r} {n}" for r, n in by.items()),
        "first rejected rows:",
    ]
    for r in rejected.head(examples).to_dict("records"):
        line = r["line"]
        where = f"{r['source']} row {r['row']}" + (f" (line {int(line)})" if pd.notna(line) else "")
        lines.append(f"  {where}: {r['field']} {r['value']!r}: {r['reason']}: {r['message']}")
    lines.append("fix the rows, map the source's values in the mapping file, or raise --max-rejected")
    return "\n".join(lines)


def samples_table(campaigns: pd.DataFrame, split: np.ndarray) -> Any:
    """The ``samples.parquet`` table (column order and types as documented)."""
    import pyarrow as pa

    return pa.table(
        {
            "sample_id": pa.array(campaigns["sample_id"].tolist(), pa.string()),
            "split": pa.array(split.tolist(), pa.string()),
            "label": pa.array(campaigns["label"].to_numpy(np.int8), pa.int8()),
            "audience": pa.array(campaigns["audience"].tolist(), pa.string()),
            "brand": pa.array(campaigns["brand"].tolist(), pa.string()),
            "creative": pa.array(campaigns["creative"].tolist(), pa.string()),
            "platform": pa.array(campaigns["platform"].tolist(), pa.string()),
            "geo": pa.array(campaigns["geo"].tolist(), pa.list_(pa.string())),
            "date": pa.array(campaigns["date"].tolist(), pa.date32()),
            "owner": pa.array(campaigns["owner"].tolist(), pa.string()),
            "source": pa.array(campaigns["source"].tolist(), pa.string()),
            "source_row": pa.array(campaigns["source_row"].to_numpy(np.int64), pa.int64()),
        }
    )


def rejected_table(rejected: pd.DataFrame) -> Any:
    import pyarrow as pa

    return pa.table(
        {
            "source": pa.array(rejected["source"].tolist(), pa.string()),
            "row": pa.array(rejected["row"].to_numpy(np.int64), pa.int64()),
            "line": pa.array([None if pd.isna(v) else int(v) for v in rejected["line"]], pa.int64()),
            **{
                c: pa.array([None if pd.isna(v) else str(v) for v in rejected[c]], pa.string())
                for c in ("campaign_id", "field", "value", "reason", "message", "problems")
            },
        }
    )


def _known_zips(zips: list[str], pdfm: Path | None) -> tuple[set[str], str]:
    from campaignlab.features import geo

    table = geo.load_pdfm(pdfm) if pdfm is not None else geo.standin_table(zips)
    return set(table.zips), table.source


def ingest(cfg: IngestConfig, progress: Any = None) -> dict[str, Any]:
    """Read, validate, split and write the dataset folder; return its manifest.

    Raises:
        RejectedRowsError: more than ``max_rejected`` of the rows were rejected (nothing written).
        DataError: the source cannot be read, lacks a column, or cannot be split.
    """
    import campaignlab
    from campaignlab.ingest.report import report_html, report_png, text_lengths, zip_coverage

    t0 = time.perf_counter()
    check_writable_parent(cfg.out)
    table = read_campaigns(
        cfg.source,
        cfg.mapping,
        unlabelled=cfg.unlabelled,
        require_date=cfg.split == "time" and not cfg.unlabelled,
        encoding=cfg.encoding,
    )
    t_read = time.perf_counter()
    acc, rej, total = table.campaigns, table.rejected, table.num_input
    if total == 0:
        raise DataError(f"source {cfg.source!r} holds no campaign rows")
    share = len(rej) / total
    if share > cfg.max_rejected:
        raise RejectedRowsError(rejected_summary(rej, total, cfg.max_rejected))
    if len(acc) == 0:
        raise RejectedRowsError(rejected_summary(rej, total, cfg.max_rejected))
    if cfg.unlabelled:
        split = np.full(len(acc), "test", dtype=object)
        split_info: dict[str, Any] = {
            "method": "none (unlabelled: every row is 'test')",
            "test_fraction": 1.0,
        }
    else:
        split, split_info = assign_split(acc, cfg.split, cfg.test_fraction, cfg.seed)
    acc = acc.assign(split=split)
    counts: dict[str, dict[str, int]] = {}
    for s in ("train", "test"):
        part = acc[acc["split"] == s]
        counts[s] = {name: int((part["label"] == i).sum()) for i, name in enumerate(LABEL_NAMES)}
        if cfg.unlabelled:
            counts[s]["unlabelled"] = int((part["label"] == -1).sum())
    known, geo_source = _known_zips(sorted({z for zs in acc["geo"] for z in zs}), cfg.pdfm)
    coverage = zip_coverage(acc["geo"], known)
    notes = list(table.validated.notes)
    if table.source.skipped:
        notes.append(f"marker/hidden files not read: {table.source.skipped}")
    if not cfg.unlabelled:
        for s in ("train", "test"):
            missing = [n for n, c in counts[s].items() if c == 0]
            if missing:
                notes.append(f"the {s} split has no {', '.join(missing)} campaign: metrics on it are partial")
    platform_counts = _counts(acc["platform"])
    manifest: dict[str, Any] = {
        "kind": DATASET_KIND,
        "schema_version": 1,
        "producer": PRODUCER,
        "source": {
            "uri": cfg.source,
            "kind": table.source.kind,
            "sha256": table.source.sha256,
            "files": [
                {"name": t.name, "format": t.kind, "sha256": t.sha256, "records": t.num_records, **t.details}
                for t in table.source.tables
            ],
            "skipped": table.source.skipped,
        },
        "mapping": {
            "file": str(cfg.mapping) if isinstance(cfg.mapping, Path) else None,
            "columns": table.validated.columns,
            "label_values": table.mapping.label_values,
            "date_format": table.mapping.date_format,
            "zip_zero_pad": table.mapping.zip_zero_pad,
        },
        "config": cfg.model_dump(mode="json"),
        "labelled": not cfg.unlabelled,
        "label_index": {name: i for i, name in enumerate(LABEL_NAMES)},
        "num_input_rows": total,
        "num_samples": len(acc),
        "num_rejected": len(rej),
        "rejected_share": round(share, 6),
        "rejected_by_reason": {k: int(v) for k, v in rej["reason"].value_counts().items()},
        "reasons": REASONS,
        "counts": counts,
        "split": split_info,
        "vocabularies": {
            "platform": sorted(platform_counts),
            "owner": sorted(_counts(acc["owner"])),
        },
        "platform_counts": platform_counts,
        "owner_counts": _counts(acc["owner"]),
        "dates": (
            [str(acc["date"].dropna().min()), str(acc["date"].dropna().max())]
            if acc["date"].notna().any()
            else None
        ),
        "text_lengths": text_lengths(acc),
        "geo_table": geo_source,
        "zip_coverage": coverage,
        "notes": notes,
        "versions": {"campaignlab": campaignlab.__version__, "pandas": pd.__version__},
    }
    with atomic_dir(cfg.out) as tmp:
        write_parquet(samples_table(acc, split), tmp / SAMPLES_FILE)
        write_parquet(rejected_table(rej), tmp / REJECTED_FILE)
        png = report_png(acc, coverage, tmp / REPORT_PNG)
        manifest["seconds"] = {
            "read_validate": round(t_read - t0, 3),
            "total": round(time.perf_counter() - t0, 3),
        }
        (tmp / REPORT_HTML).write_text(report_html(manifest, rej, png))
        write_json(tmp / MANIFEST_FILE, manifest)
    return manifest
