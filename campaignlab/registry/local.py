"""The local registry: one folder per registered model, versions as sub-folders, aliases in one file.

Layout::

    REGISTRY/
      registry.json          {"kind", "name", "aliases": {"champion": "2"}, "history": [events]}
      versions/1/            model/, evaluation/, data_manifest.json, reference/, version.json
      versions/2/ ...

A version folder is staged completely, then renamed into place; ``registry.json`` is
rewritten atomically under an exclusive lock, so two processes registering at once get distinct
versions and neither's alias change is lost. Versions are immutable; aliases move.
"""

from __future__ import annotations

import builtins
import contextlib
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from campaignlab.errors import ConfigError
from campaignlab.io import read_json, write_json
from campaignlab.registry.base import (
    VERSION_JSON,
    ModelVersion,
    RegistryError,
    check_alias,
    lineage_from,
    metrics_summary,
    now,
    stage_version,
)

REGISTRY_JSON = "registry.json"
KIND = "campaignlab.registry"


class LocalRegistry:
    """A registry in a local folder (created on first registration)."""

    def __init__(self, root: str | Path, name: str | None = None) -> None:
        self.root = Path(root)
        self._name = name

    @property
    def uri(self) -> str:
        return str(self.root)

    # --- state ----------------------------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        path = self.root / REGISTRY_JSON
        if not path.is_file():
            return {"kind": KIND, "name": self._name or self.root.name, "aliases": {}, "history": []}
        state = read_json(path)
        if not isinstance(state, dict) or state.get("kind") != KIND:
            raise RegistryError(f"{str(path)!r} is not a campaignlab registry (kind != {KIND!r})")
        return state

    @property
    def name(self) -> str:
        return str(self._state()["name"])

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                state = self._state()
                yield state
                write_json(self.root / REGISTRY_JSON, state)
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _numbers(self) -> builtins.list[int]:
        vdir = self.root / "versions"
        if not vdir.is_dir():
            return []
        return sorted(
            int(p.name) for p in vdir.iterdir() if p.name.isdigit() and (p / VERSION_JSON).is_file()
        )

    def _load(self, version: str, aliases: dict[str, str]) -> ModelVersion:
        folder = self.root / "versions" / version
        v = ModelVersion.from_json(read_json(folder / VERSION_JSON))
        v.aliases = sorted(a for a, num in aliases.items() if num == version)
        v.uri = str(folder)
        v.local_dir = folder
        return v

    # --- reading --------------------------------------------------------------------------------

    def list(self) -> builtins.list[ModelVersion]:
        """Every version, oldest first, with its current aliases."""
        aliases = self._state()["aliases"]
        return [self._load(str(n), aliases) for n in self._numbers()]

    def get(self, ref: str = "champion") -> ModelVersion:
        """A version by number, alias or ``latest``.

        Raises:
            RegistryError: no such version or alias (naming what exists).
        """
        state = self._state()
        numbers = self._numbers()
        if not numbers:
            raise RegistryError(f"registry {self.uri!r} has no model versions (register one first)")
        ref = str(ref)
        if ref == "latest":
            version = str(numbers[-1])
        elif ref.isdigit():
            version = ref
            if int(ref) not in numbers:
                raise RegistryError(f"registry {self.uri!r} has no version {ref} (versions {numbers})")
        elif ref in state["aliases"]:
            version = state["aliases"][ref]
        else:
            have = sorted(state["aliases"]) or "none"
            raise RegistryError(f"registry {self.uri!r} has no alias {ref!r} (aliases: {have})")
        return self._load(version, state["aliases"])

    def resolve(self, ref: str = "champion") -> ModelVersion:
        """Like :meth:`get`; the version's files are local already (``model_dir``, ``reference_dir``)."""
        return self.get(ref)

    def history(self) -> builtins.list[dict[str, Any]]:
        return list(self._state()["history"])

    # --- changing -------------------------------------------------------------------------------

    def register(
        self,
        model_dir: str | Path,
        *,
        evaluation: str | Path | None = None,
        dataset: str | Path | None = None,
        features: str | Path | None = None,
        run: str | None = None,
        lineage: dict[str, Any] | None = None,
        aliases: Sequence[str] = (),
        description: str = "",
    ) -> ModelVersion:
        """Register a model folder as the next version; optionally point ``aliases`` at it.

        Args:
            model_dir: a folder written by ``campaignlab train``.
            evaluation: its evaluation folder (metrics.json); recommended.
            dataset: the dataset folder it was trained on (its manifest is kept).
            features: the features folder it was trained on (with ``dataset``: the gate's reference).
            run: the run that produced it (pipeline run id, or a note).
            lineage: more lineage fields.
            aliases: aliases to move to the new version (e.g. ``["challenger"]``).
            description: free text.
        """
        for a in aliases:
            check_alias(a)
        paths = {
            k: Path(v) if v is not None else None
            for k, v in {"evaluation": evaluation, "dataset": dataset, "features": features}.items()
        }
        self.root.mkdir(parents=True, exist_ok=True)
        # Stage outside the lock (copying and profiling take time), then claim a number under it and
        # rename the complete folder into place: a version is all there or not there.
        tmp = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.root))
        try:
            family = stage_version(tmp, Path(model_dir), **paths)
            with self._locked() as state:
                version = str((self._numbers() or [0])[-1] + 1)
                v = ModelVersion(
                    name=state["name"],
                    version=version,
                    family=family,
                    metrics=metrics_summary(paths["evaluation"]),
                    lineage=lineage_from(paths["dataset"], paths["features"], run, lineage),
                    created=now(),
                    description=description,
                )
                write_json(tmp / VERSION_JSON, v.to_json())
                (self.root / "versions").mkdir(exist_ok=True)
                os.rename(tmp, self.root / "versions" / version)
                for a in aliases:
                    state["aliases"][a] = version
                state["history"].append(
                    {
                        "time": v.created,
                        "event": "register",
                        "version": version,
                        "aliases": list(aliases),
                        "run": run,
                    }
                )
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return self.get(version)

    def set_alias(self, alias: str, ref: str, *, reason: str = "") -> ModelVersion:
        """Point ``alias`` at the version ``ref`` (a number, another alias or ``latest``)."""
        check_alias(alias)
        target = self.get(ref)
        with self._locked() as state:
            before = state["aliases"].get(alias)
            state["aliases"][alias] = target.version
            state["history"].append(
                {
                    "time": now(),
                    "event": "alias",
                    "alias": alias,
                    "from": before,
                    "to": target.version,
                    "reason": reason,
                }
            )
        return self.get(target.version)

    def remove_alias(self, alias: str) -> None:
        with self._locked() as state:
            if alias not in state["aliases"]:
                raise ConfigError(f"alias: {alias!r} is not set in {self.uri!r}")
            before = state["aliases"].pop(alias)
            state["history"].append(
                {"time": now(), "event": "alias", "alias": alias, "from": before, "to": None}
            )

    def promote(self, ref: str = "challenger", *, alias: str = "champion", reason: str = "") -> ModelVersion:
        """Make version ``ref`` the ``champion`` (the alias moves; the old champion stays registered)."""
        return self.set_alias(alias, ref, reason=reason or f"promoted {ref}")
