"""File I/O helpers: atomic output folders, deterministic Parquet, JSON.

Outputs are written into a temporary sibling folder and renamed into place at the end, so a
failure never leaves a half-written output behind. pyarrow is imported only inside the Parquet
functions, so the JSON helpers stay cheap to import (the local runner's cached re-runs use them).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from campaignlab.errors import CampaignlabError, DataError

if TYPE_CHECKING:
    import pyarrow as pa


def check_writable_parent(out: Path) -> None:
    """Fail early, before any work, if ``out`` cannot be created."""
    parent = out.resolve().parent
    probe = parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK):
        raise CampaignlabError(f"output {str(out)!r}: folder {str(probe)!r} is not writable")
    if out.exists() and not out.is_dir():
        raise CampaignlabError(f"output {str(out)!r} exists and is not a folder")


@contextlib.contextmanager
def atomic_dir(out: str | Path, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary folder next to ``out``; on success replace ``out`` with it, on error delete it."""
    out = Path(out)
    check_writable_parent(out)
    if out.exists() and not overwrite:
        raise CampaignlabError(f"output {str(out)!r} already exists")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield tmp
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json(path: str | Path, obj: Any) -> None:
    """Write pretty, key-sorted JSON atomically (stable bytes for the same object)."""
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n").encode())


def read_json(path: str | Path) -> Any:
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{str(p)!r} does not exist")
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError as err:
        raise DataError(f"{str(p)!r} is not valid JSON: {err}") from None


def write_parquet(table: pa.Table, path: str | Path) -> None:
    """Write Parquet deterministically: fixed writer options, no timestamps, one row group per 64k rows."""
    import pyarrow.parquet as pq

    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        pq.write_table(
            table,
            tmp,
            compression="zstd",
            row_group_size=65536,
            use_dictionary=True,
            write_statistics=True,
        )
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def read_parquet(path: str | Path, required: dict[str, str] | None = None) -> pa.Table:
    """Read a Parquet file and check that ``required`` columns exist (name -> human description)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = Path(path)
    if not p.is_file():
        raise DataError(f"{str(p)!r} does not exist")
    try:
        table = pq.read_table(p)
    except (pa.ArrowInvalid, OSError) as err:
        raise DataError(f"{str(p)!r} is not a readable Parquet file: {err}") from None
    missing = [c for c in (required or {}) if c not in table.column_names]
    if missing:
        want = ", ".join(f"{c} ({(required or {})[c]})" for c in missing)
        raise DataError(f"{str(p)!r} is missing column(s): {want}; has {table.column_names}")
    return table
