"""Retraining pipeline: a challenger trained on fresh data replaces the champion only if clearly better."""

from kfp import dsl

from components import compare_models, embed, evaluate, generate, register_model, train_hierarchical_lgbm
from pipelines import resources
from pipelines.params import run_defaults

_DEFAULTS = run_defaults("retraining")  # pipelines/configs/retraining.yaml
_R = resources.defaults("generate", "embed", "train", "evaluate")  # pipelines/resources.py


@dsl.pipeline(
    name="campaignlab-retraining",
    description="Train a challenger on fresh data; promote it if it beats the champion by a margin.",
)
def retraining(
    champion_model_uri: str,
    preset: str = _DEFAULTS["preset"],
    seed: int = _DEFAULTS["seed"],
    scale: float = _DEFAULTS["scale"],
    noise: str = _DEFAULTS["noise"],
    encoder: str = _DEFAULTS["encoder"],
    dim: int = _DEFAULTS["dim"],
    tune: int = _DEFAULTS["tune"],
    margin: float = _DEFAULTS["margin"],
    registry_dir: str = _DEFAULTS["registry_dir"],
    generate_cpu: str = _R["generate_cpu"],
    generate_memory: str = _R["generate_memory"],
    embed_cpu: str = _R["embed_cpu"],
    embed_memory: str = _R["embed_memory"],
    embed_accelerator_type: str = _R["embed_accelerator_type"],
    embed_accelerator_count: int = _R["embed_accelerator_count"],
    train_cpu: str = _R["train_cpu"],
    train_memory: str = _R["train_memory"],
    evaluate_cpu: str = _R["evaluate_cpu"],
    evaluate_memory: str = _R["evaluate_memory"],
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
        dim: text embedding dimension.
        tune: Optuna trials for the challenger (0 = no tuning).
        margin: macro-F1 points the challenger must win by.
        registry_dir: where a promoted model is also copied (e.g. /gcs/BUCKET/models/champion; empty:
            nowhere else).
        generate_cpu, generate_memory: CPU and memory limits of generate (Vertex picks the machine).
        embed_cpu, embed_memory: limits of embed.
        embed_accelerator_type, embed_accelerator_count: GPUs for embed (e.g. NVIDIA_TESLA_T4 and 1; ''
            and 0: none). The local encoder then runs on the GPU (CUDA images: TORCH_VARIANT=cuda).
        train_cpu, train_memory: limits of each train step.
        evaluate_cpu, evaluate_memory: limits of each evaluate step.

    The defaults are in ``pipelines/configs/retraining.yaml`` (resources: ``pipelines/resources.py``).
    """
    data = generate(preset=preset, seed=seed, scale=scale, noise=noise).set_display_name(
        "generate fresh data"
    )
    resources.limit(data, generate_cpu, generate_memory)
    embedded = embed(dataset=data.outputs["dataset"], encoder=encoder, dim=dim).set_display_name("embed")
    resources.limit(embedded, embed_cpu, embed_memory, embed_accelerator_type, embed_accelerator_count)
    features = embedded.outputs["features"]
    challenger = train_hierarchical_lgbm(features=features, tune=tune).set_display_name("train challenger")
    resources.limit(challenger, train_cpu, train_memory)
    challenger_eval = evaluate(model=challenger.outputs["model"], features=features).set_display_name(
        "evaluate challenger"
    )
    resources.limit(challenger_eval, evaluate_cpu, evaluate_memory)
    champion = dsl.importer(
        artifact_uri=champion_model_uri, artifact_class=dsl.Model, reimport=False
    ).set_display_name("import champion")
    champion_eval = evaluate(model=champion.output, features=features).set_display_name("evaluate champion")
    resources.limit(champion_eval, evaluate_cpu, evaluate_memory)
    decision = compare_models(
        a_name="challenger",
        a_evaluation=challenger_eval.outputs["evaluation"],
        a_model=challenger.outputs["model"],
        b_name="champion",
        b_evaluation=champion_eval.outputs["evaluation"],
        b_model=champion.output,
        champion=champion_eval.outputs["evaluation"],
        margin=margin,
    ).set_display_name("challenger vs champion")
    with dsl.If(decision.outputs["promote"] == "true", name="challenger-wins"):
        register_model(
            model=challenger.outputs["model"],
            metrics=challenger_eval.outputs["evaluation"],
            name="champion",
            registry_dir=registry_dir,
        ).set_display_name("promote challenger")
