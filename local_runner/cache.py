"""Execution cache: a task whose image, resolved command and input contents match an earlier
successful run reuses that run's outputs instead of running again.

The key is computed on a *canonical* resolution of the command, where run-specific paths are
replaced by stable tokens (``<out>/model``, ``<in:data:0>``, ``<job>``), and input artifacts are
represented by the SHA-256 of their content, so moving a run folder or re-running with a new run id
still hits, while changing one byte of an input misses.

Entries live in ``<root>/.cache/<key>.json`` and point at the artifacts of the run that produced
them (as Vertex does); an entry whose files have disappeared is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

from campaignlab.io import write_json
from local_runner.executor_io import artifacts_exist

_memo: dict[tuple[str, int, int], str] = {}
_memo_lock = threading.Lock()


def digest_path(path: str | Path) -> str:
    """SHA-256 of a file, or of a folder's relative names and file contents (sorted); '' if missing."""
    p = Path(path)
    if not p.exists():
        return ""
    st = p.stat()
    memo_key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    if p.is_file():
        with _memo_lock:
            if memo_key in _memo:
                return _memo[memo_key]
    h = hashlib.sha256()
    if p.is_file():
        _hash_file(p, h)
    else:
        for root, dirs, files in os.walk(p):
            dirs.sort()
            for name in sorted(files):
                f = Path(root) / name
                h.update(str(f.relative_to(p)).encode() + b"\0")
                _hash_file(f, h)
    digest = h.hexdigest()
    if p.is_file():
        with _memo_lock:
            _memo[memo_key] = digest
    return digest


def _hash_file(path: Path, h: Any) -> None:
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    h.update(b"\0")


def task_key(
    *,
    image_digest: str,
    command: list[str],
    args: list[str],
    env: dict[str, str],
    parameters: dict[str, Any],
    artifact_digests: dict[str, list[str]],
    outputs: list[str],
) -> str:
    """Hex key of one task execution (pass ``image_digest=''`` for the resume key)."""
    doc = {
        "image": image_digest,
        "command": command,
        "args": args,
        "env": env,
        "parameters": parameters,
        "artifacts": artifact_digests,
        "outputs": sorted(outputs),
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


class CacheStore:
    """Cache entries under ``<root>/.cache``."""

    def __init__(self, root: Path) -> None:
        self.dir = root / ".cache"

    def get(self, key: str) -> dict[str, Any] | None:
        """The entry for ``key`` if it exists and all its output artifacts are still on disk."""
        path = self.dir / f"{key}.json"
        try:
            entry: dict[str, Any] = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        if not artifacts_exist(entry.get("artifacts", {})):
            return None
        return entry

    def put(self, key: str, entry: dict[str, Any]) -> None:
        """Store ``entry`` atomically."""
        write_json(self.dir / f"{key}.json", entry)
