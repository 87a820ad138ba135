"""Retraining pipeline: a challenger trained on fresh data replaces the champion only if clearly better."""

from kfp import dsl

from components import compare_models, embed, evaluate, generate, register_model, train_hierarchical_lgbm


@dsl.pipeline(
    name="campaignlab-retraining",
    description="Train a challenger on fresh data; promote it if it beats the champion by a margin.",
)
def retraining(
    champion_model_uri: str,
    preset: str = "v25",
    seed: int = 7,
    scale: float = 0.01,
    noise: str = "clean",
    encoder: str = "local",
    embedding_dim: int = 384,
    tune_trials: int = 0,
    margin: float = 0.01,
    registry_dir: str = "",
):
    """Evaluate the champion and a freshly trained challenger on the same fresh test data; register
    the challenger (``dsl.If``) only if its macro F1 exceeds the champion's by more than ``margin``.

    Args:
        champion_model_uri: the current champion's model folder (gs://... on Vertex).
        preset: generator preset of the fresh data.
        seed: seed of the fresh data (use a new one per run).
        scale: share of the preset's sample counts.
        noise: clean, low, medium or high.
        encoder: local or vertex text embeddings.
        embedding_dim: text embedding dimension.
        tune_trials: Optuna trials for the challenger.
        margin: macro-F1 points the challenger must win by.
        registry_dir: where a promoted model is also copied (e.g. /gcs/BUCKET/models/champion).
    """
    data = generate(preset=preset, seed=seed, scale=scale, noise=noise).set_display_name(
        "generate fresh data"
    )
    features = (
        embed(dataset=data.outputs["dataset"], encoder=encoder, dim=embedding_dim)
        .set_display_name("embed")
        .outputs["features"]
    )
    challenger = train_hierarchical_lgbm(features=features, tune=tune_trials).set_display_name(
        "train challenger"
    )
    challenger_eval = evaluate(model=challenger.outputs["model"], features=features).set_display_name(
        "evaluate challenger"
    )
    champion = dsl.importer(
        artifact_uri=champion_model_uri, artifact_class=dsl.Model, reimport=False
    ).set_display_name("import champion")
    champion_eval = evaluate(model=champion.output, features=features).set_display_name("evaluate champion")
    decision = compare_models(
        a_name="challenger",
        a_evaluation=challenger_eval.outputs["evaluation"],
        a_model=challenger.outputs["model"],
        b_name="champion",
        b_evaluation=champion_eval.outputs["evaluation"],
        b_model=champion.output,
        champion_evaluation=champion_eval.outputs["evaluation"],
        margin=margin,
    ).set_display_name("challenger vs champion")
    with dsl.If(decision.outputs["promote"] == "true", name="challenger-wins"):
        register_model(
            model=challenger.outputs["model"],
            evaluation=challenger_eval.outputs["evaluation"],
            name="champion",
            registry_dir=registry_dir,
        ).set_display_name("promote challenger")
