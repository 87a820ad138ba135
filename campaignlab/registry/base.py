"""What every registry backend shares: a model version, references to one, and the files registered.

A registered **version** is a copy of a model folder with what is needed to trust and reuse it:

* ``model/``: the model folder as ``campaignlab train`` wrote it (``model.json`` + weights);
* ``evaluation/``: ``metrics.json`` (and ``confusion_matrix.png`` when present) of its evaluation;
* ``data_manifest.json``: the manifest of the dataset it was trained on (source URI and sha256, counts,
  vocabularies);
* ``reference/``: a small profile of that training data (counts, vocabularies and a seeded sample of its
  feature vectors), what the retraining gate compares new data against;
* ``version.json``: version, model family, metrics summary, lineage (run, data snapshot), aliases at
  registration, description, creation time.

A reference to a version is a version number (``"3"``), an alias (``"champion"``, ``"challenger"``) or
``"latest"``; an alias points at one version at a time.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from campaignlab.errors import CampaignlabError, ConfigError, DataError
from campaignlab.io import read_json, require_complete, write_json

ALIASES = ("champion", "challenger")
"""The aliases the project uses; any lower-case alias matching :data:`ALIAS_RE` is allowed."""
ALIAS_RE = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
VERSION_JSON = "version.json"
MODEL_DIR = "model"
EVALUATION_DIR = "evaluation"
DATA_MANIFEST = "data_manifest.json"
REFERENCE_DIR = "reference"


class RegistryError(CampaignlabError):
    """A registry request cannot be served (unknown version or alias, bad registry location)."""


@dataclass
class ModelVersion:
    """One registered model version.

    Attributes:
        name: the registered model's name (the registry's name).
        version: version id ("1", "2", ...).
        family: the model type (``hierarchical_lgbm``, ``shared_latent``, ``robust_modality``).
        aliases: aliases pointing at this version now.
        metrics: ``macro_f1``, ``per_class_f1``, ``accuracy`` ... of its evaluation (may be empty).
        lineage: ``run`` (pipeline run or command), ``data_snapshot`` (source URI), ``data_sha256``,
            ``dataset``/``features`` (where they were), anything else recorded.
        created: ISO time of registration.
        description: free text.
        uri: where the version's files live (a local folder or ``gs://...``).
        resource_name: the Vertex AI model version resource name, when on Vertex.
    """

    name: str
    version: str
    family: str
    aliases: list[str] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    lineage: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    description: str = ""
    uri: str = ""
    resource_name: str | None = None
    local_dir: Path | None = None
    """A local copy of the version's files (set by :meth:`Registry.resolve`)."""

    @property
    def model_dir(self) -> Path:
        """The local model folder (``resolve`` first for a remote registry)."""
        if self.local_dir is None:
            raise RegistryError(f"version {self.version} of {self.name!r} has no local copy: resolve() it")
        return self.local_dir / MODEL_DIR

    @property
    def reference_dir(self) -> Path:
        if self.local_dir is None:
            raise RegistryError(f"version {self.version} of {self.name!r} has no local copy: resolve() it")
        return self.local_dir / REFERENCE_DIR

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "family": self.family,
            "aliases": sorted(self.aliases),
            "metrics": self.metrics,
            "lineage": self.lineage,
            "created": self.created,
            "description": self.description,
            "uri": self.uri,
            "resource_name": self.resource_name,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ModelVersion:
        return cls(
            name=d["name"],
            version=str(d["version"]),
            family=d.get("family", ""),
            aliases=list(d.get("aliases", [])),
            metrics=dict(d.get("metrics", {})),
            lineage=dict(d.get("lineage", {})),
            created=d.get("created", ""),
            description=d.get("description", ""),
            uri=d.get("uri", ""),
            resource_name=d.get("resource_name"),
        )


def check_alias(alias: str) -> str:
    if not ALIAS_RE.match(alias or "") or alias == "latest" or alias.isdigit():
        raise ConfigError(
            f"alias: got {alias!r} -> expected lower-case letters, digits and '-', starting with a letter "
            "(e.g. champion, challenger); 'latest' and numbers are references, not aliases"
        )
    return alias


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def metrics_summary(evaluation: Path | None) -> dict[str, Any]:
    """The headline metrics of an evaluation folder (or a metrics.json file)."""
    if evaluation is None:
        return {}
    path = evaluation / "metrics.json" if evaluation.is_dir() else evaluation
    m = read_json(path)
    keep = ("macro_f1", "per_class_f1", "weighted_f1", "accuracy", "confusion_matrix")
    return {k: m[k] for k in keep if k in m}


def stage_version(
    dest: Path,
    model_dir: Path,
    *,
    evaluation: Path | None = None,
    dataset: Path | None = None,
    features: Path | None = None,
) -> str:
    """Copy a version's files into the empty folder ``dest``; return the model family.

    Raises:
        DataError: the model folder has no model.json, or an input is missing.
    """
    from campaignlab.models.base import read_model_json

    require_complete(model_dir, "model folder", needs=("model.json",))
    if evaluation is not None and evaluation.is_dir():
        require_complete(evaluation, "evaluation folder", needs=("metrics.json",))
    if dataset is not None:
        require_complete(dataset, "dataset folder", needs=("manifest.json",))
    meta = read_model_json(model_dir)
    shutil.copytree(model_dir, dest / MODEL_DIR)
    if evaluation is not None:
        (dest / EVALUATION_DIR).mkdir()
        src = evaluation / "metrics.json" if evaluation.is_dir() else evaluation
        if not src.is_file():
            raise DataError(f"evaluation: {str(src)!r} does not exist (expected an evaluation folder)")
        shutil.copyfile(src, dest / EVALUATION_DIR / "metrics.json")
        png = evaluation / "confusion_matrix.png"
        if evaluation.is_dir() and png.is_file():
            shutil.copyfile(png, dest / EVALUATION_DIR / png.name)
    if dataset is not None:
        manifest = dataset / "manifest.json"
        if not manifest.is_file():
            raise DataError(f"dataset: {str(manifest)!r} does not exist (expected a dataset folder)")
        write_json(dest / DATA_MANIFEST, _data_manifest(read_json(manifest)))
    if dataset is not None and features is not None:
        from campaignlab.ingest.gate import build_reference

        build_reference(dataset, features, dest / REFERENCE_DIR)
    return str(meta["type"])


def _data_manifest(m: dict[str, Any]) -> dict[str, Any]:
    """A dataset manifest without its bulky per-file details (kept: source, counts, vocabularies)."""
    drop = ("text_lengths", "zip_coverage", "reasons")
    return {k: v for k, v in m.items() if k not in drop}


def lineage_from(
    dataset: Path | None, features: Path | None, run: str | None, extra: dict[str, Any] | None
) -> dict[str, Any]:
    """Lineage recorded with a version: the run, the data snapshot (source URI + sha256), the folders."""
    out: dict[str, Any] = {"run": run}
    if dataset is not None and (dataset / "manifest.json").is_file():
        m = read_json(dataset / "manifest.json")
        src = m.get("source") or {}
        out["data_snapshot"] = src.get("uri") or (f"generator:{m.get('preset')}" if m.get("preset") else None)
        out["data_sha256"] = src.get("sha256")
        out["dataset"] = str(dataset)
    if features is not None:
        out["features"] = str(features)
    return {**out, **(extra or {})}
