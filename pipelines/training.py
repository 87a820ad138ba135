"""Training pipeline: generate, embed, the three trainers in parallel, evaluate each, pick the best."""

from kfp import dsl

from components import (
    compare_models,
    embed,
    evaluate,
    generate,
    train_hierarchical_lgbm,
    train_robust_modality,
    train_shared_latent,
)


@dsl.pipeline(name="campaignlab-training", description="Train three model families and register the best.")
def training(
    preset: str = "v25",
    seed: int = 42,
    scale: float = 0.01,
    noise: str = "clean",
    pairs: str = "none",
    encoder: str = "local",
    embedding_task: str = "classification",
    embedding_dim: int = 384,
    tune_trials: int = 0,
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
        embedding_task: text embedding task type.
        embedding_dim: text embedding dimension.
        tune_trials: Optuna trials per trainer (0 = defaults).
    """
    data = generate(preset=preset, seed=seed, scale=scale, noise=noise, pairs=pairs).set_display_name(
        "generate"
    )
    feats = embed(
        dataset=data.outputs["dataset"], encoder=encoder, task=embedding_task, dim=embedding_dim
    ).set_display_name("embed")
    features = feats.outputs["features"]
    trainers = {
        "hierarchical_lgbm": train_hierarchical_lgbm,
        "shared_latent": train_shared_latent,
        "robust_modality": train_robust_modality,
    }
    results = {}
    for name, trainer in trainers.items():
        trained = trainer(features=features, tune=tune_trials).set_display_name(f"train {name}")
        scored = evaluate(model=trained.outputs["model"], features=features).set_display_name(
            f"evaluate {name}"
        )
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
