"""File I/O helpers: output folders published whole, deterministic Parquet, JSON.

An output folder is *published*: its files are written into a temporary sibling folder, then a
completion marker, ``_COMPLETE.json``, is added (every file's size and SHA-256), then the folder takes
its place. On a local disk that is one folder rename. Where the file system refuses to rename a
folder (Cloud Storage FUSE on a bucket without hierarchical namespace refuses any non-empty folder,
with EMFILE unless mounted with ``--rename-dir-limit``; other network file systems answer EXDEV, EPERM,
ENOSYS, EINVAL or EOPNOTSUPP) the files are moved into the output folder one by one, after its old
marker was removed, and the marker is moved in last. Every reader of an output folder calls
:func:`require_complete` first, so a folder whose publication failed half-way is refused with a
message naming it and what is missing; no reader ever reads half a folder. ``docs/pipelines.md``
documents the protocol.

pyarrow is imported only inside the Parquet functions, so the JSON helpers stay cheap to import (the
local runner's cached re-runs use them).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from campaignlab.errors import CampaignlabError, DataError, IncompleteOutputError

if TYPE_CHECKING:
    import pyarrow as pa

COMPLETE_MARKER = "_COMPLETE.json"
"""The completion marker of a published output folder (written last; readers require it)."""
MARKER_FORMAT = "campaignlab-output/1"
# What a file system answers when it will not rename a folder (as opposed to a real failure): gcsfuse
# on a flat bucket EMFILE ("too many objects to be renamed"), other FUSE/network file systems EXDEV,
# EPERM, ENOSYS, EINVAL or EOPNOTSUPP, and EBUSY when the output folder is itself a mount point.
RENAME_REFUSED = frozenset(
    {errno.EMFILE, errno.EXDEV, errno.EPERM, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EBUSY}
)


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
    """Publish an output folder: yield a temporary folder to write into; on success it becomes ``out``.

    On success the completion marker is added and the folder replaces ``out`` (by a folder rename, or
    file by file where the file system refuses folder renames; see the module docstring). On error the
    temporary folder is deleted and ``out`` is left as it was, unless the error happened while files
    were being moved in, in which case ``out`` has no marker and every reader refuses it.
    """
    out = Path(out)
    check_writable_parent(out)
    if out.exists() and not overwrite:
        raise CampaignlabError(f"output {str(out)!r} already exists")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield tmp
        write_json(tmp / COMPLETE_MARKER, completion_record(tmp))
        try:
            _rename_into_place(tmp, out)
        except OSError as err:
            if err.errno not in RENAME_REFUSED:
                raise
            try:
                _move_files_into_place(tmp, out)
            except OSError as failed:
                if hasattr(failed, "add_note"):  # Python 3.11+
                    failed.add_note(
                        f"publishing {str(out)!r} file by file failed: it is left without "
                        f"{COMPLETE_MARKER}, so every reader refuses it; run the step again"
                    )
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def completion_record(folder: Path) -> dict[str, Any]:
    """The marker's content: every file under ``folder`` (but the marker) with its size and SHA-256.

    Deterministic (no time stamps), so the same output gives the same marker bytes.
    """
    files = {}
    for path in _files(folder):
        rel = path.relative_to(folder).as_posix()
        files[rel] = {"bytes": path.stat().st_size, "sha256": _sha256(path)}
    return {"format": MARKER_FORMAT, "complete": True, "files": files}


def _files(folder: Path) -> list[Path]:
    out = []
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            path = Path(root) / name
            if path.parent == folder and name == COMPLETE_MARKER:
                continue
            out.append(path)
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _rename_into_place(tmp: Path, out: Path) -> None:
    """The local-disk path: one folder rename (two when ``out`` exists: it is moved aside first)."""
    if not out.exists():
        tmp.rename(out)
        return
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    out.rename(old)
    try:
        tmp.rename(out)
    except OSError:
        old.rename(out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _move_files_into_place(tmp: Path, out: Path) -> None:
    """The no-folder-rename path: unpublish ``out``, empty it, move the files in, the marker last."""
    out.mkdir(exist_ok=True)
    # From here until the new marker lands, readers see an incomplete folder and refuse it.
    (out / COMPLETE_MARKER).unlink(missing_ok=True)
    for entry in sorted(out.iterdir()):
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    for src in _files(tmp):
        dest = out / src.relative_to(tmp)
        dest.parent.mkdir(parents=True, exist_ok=True)
        _move_file(src, dest)
    _move_file(tmp / COMPLETE_MARKER, out / COMPLETE_MARKER)


def _move_file(src: Path, dest: Path) -> None:
    try:
        os.replace(src, dest)
    except OSError as err:
        if err.errno not in RENAME_REFUSED:
            raise
        # File renames refused too: copy. The marker, moved in last, still guards the whole folder.
        shutil.copyfile(src, dest)
        src.unlink()


def require_complete(
    folder: str | Path, what: str = "output folder", needs: Iterable[str] = ()
) -> dict[str, Any]:
    """Check that ``folder`` is a completely published output before reading it; return its marker.

    Args:
        folder: the output folder a reader is about to read.
        what: how the message names the folder (e.g. "features folder").
        needs: files (relative paths) the reader needs; a folder that does not hold them is another
            kind of output.

    Raises:
        DataError: the folder does not exist, or lacks a needed file.
        IncompleteOutputError: it has no completion marker, or files the marker lists are missing.
    """
    folder = Path(folder)
    if not folder.is_dir():
        state = "is not a folder" if folder.exists() else "does not exist"
        raise DataError(f"{what} {str(folder)!r} {state}")
    marker = folder / COMPLETE_MARKER
    if not marker.is_file():
        present = sorted(p.name for p in folder.iterdir())
        shown = ", ".join(present[:8]) + (", ..." if len(present) > 8 else "") if present else "nothing"
        raise IncompleteOutputError(
            f"{what} {str(folder)!r} is incomplete: it has no {COMPLETE_MARKER}, the marker written last "
            f"when an output is published (it holds {shown}). The step that writes it failed, was "
            "stopped or is still running, or an older campaignlab wrote it: run that step again."
        )
    try:
        record = json.loads(marker.read_text())
        files = record["files"]
        if record.get("format") != MARKER_FORMAT or not isinstance(files, dict):
            raise ValueError(record.get("format"))
    except (ValueError, KeyError, TypeError):
        raise IncompleteOutputError(
            f"{what} {str(folder)!r}: {COMPLETE_MARKER} is not a completion marker of format "
            f"{MARKER_FORMAT!r}; run the step that writes it again"
        ) from None
    missing = [name for name in files if not (folder / name).is_file()]
    if missing:
        raise IncompleteOutputError(
            f"{what} {str(folder)!r} is incomplete: {', '.join(missing)} listed in {COMPLETE_MARKER} "
            f"{'is' if len(missing) == 1 else 'are'} missing; run the step that writes it again"
        )
    lacking = [name for name in needs if name not in files]
    if lacking:
        raise DataError(
            f"{what} {str(folder)!r} has no {', '.join(lacking)} (it holds {', '.join(files) or 'nothing'})"
        )
    return dict(record)


def verify_output(folder: str | Path) -> list[str]:
    """Compare every file of a published output with its size and SHA-256 in the marker.

    Returns:
        One line per problem (an empty list: the folder is exactly what was published).
    """
    folder = Path(folder)
    record = require_complete(folder)
    problems = []
    for name, want in record["files"].items():
        path = folder / name
        if path.stat().st_size != want["bytes"]:
            problems.append(f"{name}: {path.stat().st_size} bytes, published {want['bytes']}")
        elif _sha256(path) != want["sha256"]:
            problems.append(f"{name}: content differs from the published SHA-256")
    names = [p.relative_to(folder).as_posix() for p in _files(folder)]
    problems += [f"{n}: not part of the published output" for n in names if n not in record["files"]]
    return problems


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
