"""The generator's one config model, :class:`GeneratorConfig`, and its resolution from a preset.

A YAML file (``campaignlab generate --config FILE``) may set any field; a ``preset`` key fills the class
ranges and counts, and whatever the file sets wins over the preset. Example::

    preset: v28
    seed: 7
    noise: low
    pairs: rare_first
    classes:
      avg: {num_samples: 5000}
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from campaignlab.config import StrictModel, deep_merge, validate
from campaignlab.synth.presets import (
    EDGE_TYPE_FREQUENCIES,
    EDGE_TYPES,
    LABELS,
    NOISE_POINTS,
    PRESETS,
    apply_noise,
    pair_preference_sets,
)

PresetName = Literal["v25", "v26", "v28"]
NoiseName = Literal["clean", "low", "medium", "high"]
PairsName = Literal["none", "common_first", "rare_first", "middle_ground"]


def _check_range(v: list[float]) -> list[float]:
    if len(v) != 2:
        raise ValueError(f"expected [min, max], got {len(v)} values")
    lo, hi = float(v[0]), float(v[1])
    if not (0.0 <= lo <= 1.0 and 0.0 <= hi <= 1.0):
        raise ValueError("expected both bounds within [0, 1]")
    if lo > hi:
        raise ValueError("expected min <= max")
    return [lo, hi]


class ClassSpec(StrictModel):
    """Acceptable fractions of positive and negative pairs for one class, and how many samples."""

    pos_frac_range: list[float] = Field(description="[min, max] fraction of positive pairwise combinations")
    neg_frac_range: list[float] = Field(description="[min, max] fraction of negative pairwise combinations")
    num_samples: int = Field(gt=0, description="samples of this class (before --scale)")

    _v_pos = field_validator("pos_frac_range")(_check_range)
    _v_neg = field_validator("neg_frac_range")(_check_range)


class GraphConfig(StrictModel):
    """Shape of the campaign graph. Edge signs come from a low-rank latent model (see graph.py)."""

    num_zips: int = Field(60, ge=2, le=2000, description="how many real ZIP codes are Geo nodes")
    edge_density: float = Field(0.55, gt=0, le=1, description="edges / co-occurring node pairs")
    edge_type_frequencies: dict[str, float] = Field(default_factory=lambda: dict(EDGE_TYPE_FREQUENCIES))
    latent_dim: int = Field(3, ge=1, le=64, description="dimension of the node latent vectors")
    sign_noise: float = Field(0.35, ge=0, description="std of the noise added to z_u . z_v before the sign")
    sign_bias: float = Field(-0.1, description="added to z_u . z_v; < 0 gives more negative edges")

    @field_validator("edge_type_frequencies")
    @classmethod
    def _known_types(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(v) - set(EDGE_TYPES))
        if unknown:
            raise ValueError(f"unknown edge type(s) {unknown}; expected some of {list(EDGE_TYPES)}")
        if any(w < 0 for w in v.values()) or sum(v.values()) <= 0:
            raise ValueError("expected non-negative weights with a positive sum")
        return v


class SampleShape(StrictModel):
    """How many values a campaign takes per modality: [min, max], drawn uniformly per sample.

    Audience always has one gender and one age group plus ``interests`` interest categories; Platform is
    always exactly one channel.
    """

    interests: list[int] = Field(default_factory=lambda: [1, 2])
    brand: list[int] = Field(default_factory=lambda: [1, 3])
    creative: list[int] = Field(default_factory=lambda: [1, 3])
    geo: list[int] = Field(default_factory=lambda: [1, 3])

    @field_validator("interests", "brand", "creative", "geo")
    @classmethod
    def _count_range(cls, v: list[int]) -> list[int]:
        if len(v) != 2 or v[0] < 1 or v[0] > v[1] or v[1] > 10:
            raise ValueError("expected [min, max] with 1 <= min <= max <= 10")
        return v


class PairPreference(StrictModel):
    """Edge types the sampler prefers (high) or avoids (low) when it builds a sample's signal."""

    high: list[str] = Field(default_factory=list)
    low: list[str] = Field(default_factory=list)
    strength: float = Field(1.0, ge=0, le=10, description="weight of the preference in the sampler's aim")

    @field_validator("high", "low")
    @classmethod
    def _types(cls, v: list[str]) -> list[str]:
        unknown = [t for t in v if t not in EDGE_TYPES]
        if unknown:
            raise ValueError(f"unknown edge type(s) {unknown}; expected some of {list(EDGE_TYPES)}")
        return v


class GeneratorConfig(StrictModel):
    """Everything that determines a generated dataset. Same config + seed = same bytes."""

    preset: PresetName | None = None
    seed: int = Field(42, ge=0)
    scale: float = Field(1.0, gt=0, description="multiplies every class count (for quick runs)")
    test_fraction: float = Field(0.3, gt=0, lt=1)
    noise: NoiseName = "clean"
    pairs: PairsName | PairPreference = "none"
    classes: dict[str, ClassSpec]
    graph: GraphConfig = Field(default_factory=GraphConfig)
    shape: SampleShape = Field(default_factory=SampleShape)
    temperature: float = Field(0.02, gt=0, description="sampler randomness; lower aims harder")
    max_attempts_per_sample: int = Field(
        400, ge=1, description="give up on a class after this many tries each"
    )

    @model_validator(mode="before")
    @classmethod
    def _fill_from_preset(cls, data: Any) -> Any:
        """A known ``preset`` fills the class ranges and counts; the given ``classes`` win over it."""
        if isinstance(data, dict):
            preset = data.get("preset")
            if isinstance(preset, str) and preset in PRESETS:
                return deep_merge({"classes": PRESETS[preset]}, data)
            if preset is None and "classes" not in data:
                raise ValueError("preset: got None -> give --preset v25|v26|v28 or a classes: section")
        return data

    @model_validator(mode="after")
    def _all_classes(self) -> GeneratorConfig:
        unknown = sorted(set(self.classes) - set(LABELS))
        if unknown:
            raise ValueError(f"classes: got unknown class(es) {unknown} -> expected neg, avg, pos")
        missing = [k for k in LABELS if k not in self.classes]
        if missing:
            raise ValueError(f"classes: got no {missing} -> a preset or the config must define neg, avg, pos")
        return self

    # Derived values -------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """Samples per class after ``scale`` (at least one each)."""
        return {k: max(1, round(self.classes[k].num_samples * self.scale)) for k in LABELS}

    def effective_ranges(self) -> dict[str, dict[str, list[float]]]:
        """Class ranges after the noise level is applied: these define the labels."""
        base = {
            k: {
                "pos_frac_range": self.classes[k].pos_frac_range,
                "neg_frac_range": self.classes[k].neg_frac_range,
            }
            for k in LABELS
        }
        return apply_noise(base, NOISE_POINTS[self.noise])

    def pair_preference(self) -> PairPreference:
        if isinstance(self.pairs, PairPreference):
            return self.pairs
        if self.pairs == "none":
            return PairPreference()
        named = pair_preference_sets()[self.pairs]
        return PairPreference(high=named["high"], low=named["low"])


def resolve_generator_config(data: dict[str, Any], source: str = "config") -> GeneratorConfig:
    """Validate a generator config mapping (a ``preset`` key fills the class ranges; the file's own win)."""
    return validate(GeneratorConfig, data, source)
