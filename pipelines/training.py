"""Training pipeline: data (generated, or your campaigns), embed, the three trainers in parallel, evaluate
each, pick the best."""

from kfp import dsl

from components import (
    compare_models,
    embed,
    evaluate,
    train_hierarchical_lgbm,
    train_robust_modality,
    train_shared_latent,
)
from pipelines import resources
from pipelines.data import dataset_step
from pipelines.params import run_defaults

_DEFAULTS = run_defaults("training")  # pipelines/configs/training.yaml
_R = resources.defaults("generate", "embed", "train", "evaluate")  # pipelines/resources.py


@dsl.pipeline(name="campaignlab-training", description="Train three model families and register the best.")
def training(
    preset: str = _DEFAULTS["preset"],
    seed: int = _DEFAULTS["seed"],
    scale: float = _DEFAULTS["scale"],
    noise: str = _DEFAULTS["noise"],
    pairs: str = _DEFAULTS["pairs"],
    encoder: str = _DEFAULTS["encoder"],
    task_type: str = _DEFAULTS["task_type"],
    dim: int = _DEFAULTS["dim"],
    tune: int = _DEFAULTS["tune"],
    generate_cpu: str = _R["generate_cpu"],
    generate_memory: str = _R["generate_memory"],
    embed_cpu: str = _R["embed_cpu"],
    embed_memory: str = _R["embed_memory"],
    embed_accelerator_type: str = _R["embed_accelerator_type"],
    embed_accelerator_count: int = _R["embed_accelerator_count"],
    train_cpu: str = _R["train_cpu"],
    train_memory: str = _R["train_memory"],
    train_accelerator_type: str = _R["train_accelerator_type"],
    train_accelerator_count: int = _R["train_accelerator_count"],
    evaluate_cpu: str = _R["evaluate_cpu"],
    evaluate_memory: str = _R["evaluate_memory"],
    data_uri: str = _DEFAULTS["data_uri"],
    dataset_uri: str = _DEFAULTS["dataset_uri"],
    mapping: dict = _DEFAULTS["mapping"],
    split: str = _DEFAULTS["split"],
    test_fraction: float = _DEFAULTS["test_fraction"],
    max_rejected: float = _DEFAULTS["max_rejected"],
):
    """Generate a dataset, embed it, train hierarchical_lgbm, shared_latent and robust_modality
    in parallel, evaluate each on the test split and keep the best by macro F1.

    Args:
        preset: generator preset (v25, v26, v28).
        seed: random seed of the generator.
        scale: share of the preset's sample counts.
        noise: clean, low, medium or high.
        pairs: none, common_first, rare_first or middle_ground.
        encoder: local or vertex text embeddings.
        task_type: Vertex text embedding task type (ignored by local).
        dim: text embedding dimension.
        tune: tuning trials per trainer (0 = the estimators' defaults, no tuning).
        generate_cpu, generate_memory: CPU and memory limits of generate (Vertex picks the machine).
        embed_cpu, embed_memory: limits of embed.
        embed_accelerator_type, embed_accelerator_count: GPUs for embed (e.g. NVIDIA_TESLA_T4 and 1; ''
            and 0: none). The local encoder then runs on the GPU (CUDA images: TORCH_VARIANT=cuda).
        train_cpu, train_memory: limits of each train step.
        train_accelerator_type, train_accelerator_count: GPUs for the torch trainers (shared_latent,
            robust_modality); LightGBM stays on CPUs.
        evaluate_cpu, evaluate_memory: limits of each evaluate step.
        data_uri: your raw campaigns (CSV/Parquet/JSON Lines file or folder; gs:// on Vertex), ingested
            with ``mapping``; empty: generated data (preset ... pairs).
        dataset_uri: an already ingested (or generated) dataset folder, used as it is.
        mapping: the raw campaigns' columns and value conventions (the mapping file's keys).
        split: random or time (the latest campaigns by date are the test split), for ``data_uri``.
        test_fraction: share of the campaigns in the test split, for ``data_uri``.
        max_rejected: largest share of rejected rows before ingestion fails, for ``data_uri``.

    The defaults are in ``pipelines/configs/training.yaml`` (resources: ``pipelines/resources.py``).
    """
    dataset = dataset_step(
        data_uri=data_uri, dataset_uri=dataset_uri, mapping=mapping, split=split,
        test_fraction=test_fraction, max_rejected=max_rejected,
        generate_cpu=generate_cpu, generate_memory=generate_memory,
        preset=preset, seed=seed, scale=scale, noise=noise, pairs=pairs,
    )  # fmt: skip
    feats = embed(dataset=dataset, encoder=encoder, task_type=task_type, dim=dim).set_display_name("embed")
    resources.limit(feats, embed_cpu, embed_memory, embed_accelerator_type, embed_accelerator_count)
    features = feats.outputs["features"]
    trainers = {
        "hierarchical_lgbm": train_hierarchical_lgbm,
        "shared_latent": train_shared_latent,
        "robust_modality": train_robust_modality,
    }
    results = {}
    for name, trainer in trainers.items():
        trained = trainer(features=features, tune=tune).set_display_name(f"train {name}")
        if name == "hierarchical_lgbm":  # LightGBM's CPU build: cores, no GPU
            resources.limit(trained, train_cpu, train_memory)
        else:
            resources.limit(trained, train_cpu, train_memory, train_accelerator_type, train_accelerator_count)
        scored = evaluate(model=trained.outputs["model"], features=features).set_display_name(
            f"evaluate {name}"
        )
        resources.limit(scored, evaluate_cpu, evaluate_memory)
        results[name] = (trained.outputs["model"], scored.outputs["evaluation"])
    (lgbm_model, lgbm_eval), (sl_model, sl_eval), (rm_model, rm_eval) = results.values()
    compare_models(
        a_name="hierarchical_lgbm",
        a_evaluation=lgbm_eval,
        a_model=lgbm_model,
        b_name="shared_latent",
        b_evaluation=sl_eval,
        b_model=sl_model,
        c_name="robust_modality",
        c_evaluation=rm_eval,
        c_model=rm_model,
    ).set_display_name("pick the best")
