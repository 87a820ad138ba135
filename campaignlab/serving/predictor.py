"""A model in use: the fitted estimator, its embedding recipe and its explainer, loaded once.

The CLI's batch prediction, the service and the recommender all score through :class:`Predictor`, so
the three give the same probabilities for the same campaign.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from campaignlab import LABEL_NAMES, MODALITIES
from campaignlab.features.recipe import UNKNOWN_PLATFORM_CODE, CampaignEmbedder, read_recipe
from campaignlab.models.base import Estimator
from campaignlab.serving.campaigns import Campaigns
from campaignlab.serving.explain import DEFAULT_SAMPLES, explain


@dataclass
class Scores:
    """What a model said about N campaigns.

    Attributes:
        label: (N,) int8 predicted tier (the estimator's ``predict``: LightGBM applies its thresholds).
        proba: (N, 3) float64 probabilities of negative, average, positive.
        attribution: (N, 5) float64 per-modality attribution of the predicted tier, or None.
        reference: (N,) float64 the predicted tier's probability at the reference campaign, or None.
        unknown_platform: (N,) bool, the platform was not seen in training.
    """

    label: np.ndarray
    proba: np.ndarray
    attribution: np.ndarray | None
    reference: np.ndarray | None
    unknown_platform: np.ndarray

    def __len__(self) -> int:
        return len(self.label)

    def records(self, campaign_id: list[str], platform: list[str] | None = None) -> list[dict[str, Any]]:
        """One JSON-ready prediction per campaign (the service's ``predictions`` entries)."""
        out = []
        for i, cid in enumerate(campaign_id):
            c = int(self.label[i])
            rec: dict[str, Any] = {
                "campaign_id": cid,
                "label": c,
                "tier": LABEL_NAMES[c],
                "probabilities": {n: float(self.proba[i, k]) for k, n in enumerate(LABEL_NAMES)},
            }
            if self.attribution is not None and self.reference is not None:
                rec["attribution"] = {
                    m: float(v) for m, v in zip(MODALITIES, self.attribution[i], strict=True)
                }
                rec["attribution_reference"] = float(self.reference[i])
            if self.unknown_platform[i]:
                name = repr(platform[i]) if platform is not None else "the platform"
                rec["warnings"] = [f"platform {name} was not seen in training: scored as an unknown platform"]
            out.append(rec)
        return out


class Predictor:
    """A loaded model folder ready to score raw campaigns.

    Args:
        model_dir: a model folder written by ``campaignlab train`` (with ``recipe.json``).
        threads: CPU threads for the model (None: every CPU this process may use).
        explain_method: the networks' explanations: ``exact`` or ``captum`` (see :mod:`.explain`).
        explain_samples: Shapley permutations of ``captum``.
        seed: seed of the explanations' permutations.
        **embedder: options of :class:`campaignlab.features.recipe.CampaignEmbedder` (``cache_dir``,
            ``use_cache``, ``persist``, ``pdfm``, ``batch_size``, ``vertex``).
    """

    def __init__(
        self,
        model_dir: str | Path,
        *,
        threads: int | None = None,
        explain_method: str = "exact",
        explain_samples: int = DEFAULT_SAMPLES,
        seed: int = 0,
        **embedder: Any,
    ) -> None:
        from campaignlab.models import registry
        from campaignlab.models.base import read_model_json

        t0 = time.perf_counter()
        self.model_dir = Path(model_dir)
        self.recipe = read_recipe(self.model_dir)
        self.meta = read_model_json(self.model_dir)
        self.estimator = registry.load_model(self.model_dir)
        if threads is not None:
            self.estimator.set_params(n_jobs=threads)
        self.embedder = CampaignEmbedder(self.recipe, self.model_dir, **embedder)
        self.explain_method = explain_method
        self.explain_samples = explain_samples
        self.seed = seed
        # One scoring at a time: torch and LightGBM already use every core, two at once only contend.
        self.lock = threading.Lock()
        self.load_seconds = time.perf_counter() - t0

    @property
    def name(self) -> str:
        return str(self.meta["type"])

    def info(self) -> dict[str, Any]:
        """What the service reports about its model (``GET /model``)."""
        training = self.meta.get("training") or {}
        return {
            "model_type": self.name,
            "model_dir": str(self.model_dir),
            "recipe": self.recipe.model_dump(mode="json"),
            "recipe_summary": self.recipe.describe(),
            "platforms": sorted(self.recipe.platform_codes),
            "train_rows": training.get("train_rows"),
            "classes": list(LABEL_NAMES),
            "modalities": list(MODALITIES),
        }

    def score_inputs(self, X: dict[str, np.ndarray], *, explain_: bool = True) -> Scores:
        """Score model inputs (already embedded)."""
        with self.lock:
            proba = np.asarray(self.estimator.predict_proba(X), np.float64)
            if type(self.estimator).predict is Estimator.predict:  # the tier is the argmax: no second pass
                label = proba.argmax(1).astype(np.int8)
            else:  # LightGBM's hierarchy applies its own thresholds
                label = np.asarray(self.estimator.predict(X), np.int8)
            attribution = reference = None
            if explain_:
                e = explain(
                    self.estimator, X, label, method=self.explain_method, samples=self.explain_samples,
                    seed=self.seed,
                )  # fmt: skip
                attribution, reference = e.attribution, e.reference
        unknown = np.asarray(X["platform_code"]) == UNKNOWN_PLATFORM_CODE
        return Scores(label, proba, attribution, reference, unknown)

    def embed(self, campaigns: Campaigns) -> dict[str, np.ndarray]:
        """Model inputs of validated campaigns, re-embedded with the model's recipe."""
        return self.embedder.embed(
            campaigns.audience, campaigns.brand, campaigns.creative, campaigns.platform, campaigns.geo
        )

    def predict(self, campaigns: Campaigns, *, explain_: bool = True) -> Scores:
        """Embed and score validated campaigns."""
        return self.score_inputs(self.embed(campaigns), explain_=explain_)

    def warm_up(self) -> float:
        """Run one prediction so the first request does not pay for lazy loading; returns seconds."""
        t0 = time.perf_counter()
        some_zip = "10001"
        platform = next(iter(self.recipe.platform_codes), "Instagram")
        c = Campaigns(
            [0], ["warm-up"], ["Women, 25-34"], ["A brand."], ["A video."], [platform], [[some_zip]], [""]
        )
        self.predict(c)
        return time.perf_counter() - t0
