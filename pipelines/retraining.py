"""Retraining pipeline: a new data snapshot, a data gate, a challenger, and a promotion by margin.

pull the champion (registry) ─┐
import snapshot → ingest → embed → gate ─┬─ failed: stop the run (the gate's report is the artifact)
                                         └─ passed: train challenger ─ evaluate ─┐
                                                    evaluate champion (same test split) ─ compare
                                                    register challenger; if it wins by margin: promote
"""

from kfp import dsl

from components import (
    compare_models,
    embed,
    evaluate,
    gate,
    gate_verdict,
    ingest,
    promote_version,
    pull_model,
    register_version,
    train_model,
)
from pipelines import resources
from pipelines.params import run_defaults

_DEFAULTS = run_defaults("retraining")  # pipelines/configs/retraining.yaml
_R = resources.defaults("embed", "train", "evaluate")  # pipelines/resources.py


@dsl.pipeline(
    name="campaignlab-retraining",
    description="Ingest a new snapshot, gate it against the champion's data, train a challenger, promote "
    "by margin.",
)
def retraining(
    data_uri: str,
    registry: str,
    mapping: dict = _DEFAULTS["mapping"],
    split: str = _DEFAULTS["split"],
    test_fraction: float = _DEFAULTS["test_fraction"],
    max_rejected: float = _DEFAULTS["max_rejected"],
    encoder: str = _DEFAULTS["encoder"],
    task_type: str = _DEFAULTS["task_type"],
    dim: int = _DEFAULTS["dim"],
    model: str = _DEFAULTS["model"],
    tune: int = _DEFAULTS["tune"],
    margin: float = _DEFAULTS["margin"],
    max_rejected_share: float = _DEFAULTS["max_rejected_share"],
    max_label_shift: float = _DEFAULTS["max_label_shift"],
    max_new_platform_share: float = _DEFAULTS["max_new_platform_share"],
    max_platform_shift: float = _DEFAULTS["max_platform_shift"],
    max_embedding_auc: float = _DEFAULTS["max_embedding_auc"],
    on_drift: str = _DEFAULTS["on_drift"],
    artifacts: str = _DEFAULTS["artifacts"],
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
):
    """Retrain on the newest data snapshot and promote the challenger only if it clearly wins.

    The snapshot is ingested and embedded with the champion's encoder settings, then gated against the
    champion's training data (schema, rejected share, class balance and vocabulary shift, embedding drift
    per modality); a failed gate stops the run with its report. Otherwise a challenger of family
    ``model`` is trained, champion and challenger are evaluated on the same new test split, the
    challenger is registered (alias ``challenger``) and promoted to ``champion`` if its macro F1 beats
    the champion's by more than ``margin``.

    Args:
        data_uri: the newest snapshot of raw campaigns (CSV/Parquet/JSON Lines file or folder; gs:// on
            Vertex).
        registry: the model registry (vertex://PROJECT/REGION/MODEL on Vertex; in a local run a folder
            under the runs root); its ``champion`` is the model to beat.
        mapping: the snapshot's columns and value conventions (the mapping file's keys).
        split: time (the latest campaigns are the test split) or random.
        test_fraction: share of campaigns in the test split.
        max_rejected: largest share of rejected rows before ingestion fails.
        encoder: local or vertex text embeddings (use the champion's).
        task_type: Vertex text embedding task type (ignored by local).
        dim: text embedding dimension.
        model: the challenger's family: robust_modality (Arch2, the best family by the latest
            comparison, docs/results), shared_latent or hierarchical_lgbm.
        tune: Optuna trials for the challenger (0 = its defaults).
        margin: macro-F1 points the challenger must win by.
        max_rejected_share: the gate's largest share of rejected rows.
        max_label_shift: the gate's largest class-distribution distance.
        max_new_platform_share: the gate's largest share of rows on platforms the champion never saw.
        max_platform_shift: the gate's largest platform-distribution distance.
        max_embedding_auc: the gate's largest per-modality drift classifier ROC AUC.
        on_drift: stop (a failed gate stops the run) or warn (report drift, train anyway).
        artifacts: on Vertex, the gs:// prefix for registered versions' files.
        embed_cpu, embed_memory: limits of embed (Vertex picks the machine).
        embed_accelerator_type, embed_accelerator_count: GPUs for embed ('' and 0: none).
        train_cpu, train_memory: limits of the challenger's training (also the gate's drift classifier).
        train_accelerator_type, train_accelerator_count: GPUs for a torch challenger.
        evaluate_cpu, evaluate_memory: limits of each evaluate step.
    """
    champion = pull_model(registry=registry, ref="champion").set_display_name("pull champion")
    raw = dsl.importer(artifact_uri=data_uri, artifact_class=dsl.Dataset, reimport=False)
    raw.set_display_name("import snapshot")
    data = ingest(
        source=raw.output,
        mapping=mapping,
        split=split,
        test_fraction=test_fraction,
        max_rejected=max_rejected,
    ).set_display_name("ingest snapshot")
    dataset = data.outputs["dataset"]
    embedded = embed(dataset=dataset, encoder=encoder, task_type=task_type, dim=dim)
    embedded.set_display_name("embed")
    resources.limit(embedded, embed_cpu, embed_memory, embed_accelerator_type, embed_accelerator_count)
    features = embedded.outputs["features"]
    checked = gate(
        dataset=dataset,
        features=features,
        reference=champion.outputs["reference"],
        max_rejected_share=max_rejected_share,
        max_label_shift=max_label_shift,
        max_new_platform_share=max_new_platform_share,
        max_platform_shift=max_platform_shift,
        max_embedding_auc=max_embedding_auc,
        on_drift=on_drift,
    ).set_display_name("data gate")
    resources.limit(checked, evaluate_cpu, evaluate_memory)
    with dsl.If(checked.outputs["passed"] == "false", name="data-drifted"):
        gate_verdict(verdict=checked.outputs["verdict"]).set_display_name("stop: data gate failed")
    with dsl.If(checked.outputs["passed"] == "true", name="data-ok"):
        challenger = train_model(features=features, model=model, tune=tune).set_display_name(
            "train challenger"
        )
        resources.limit(challenger, train_cpu, train_memory, train_accelerator_type, train_accelerator_count)
        challenger_eval = evaluate(model=challenger.outputs["trained"], features=features).set_display_name(
            "evaluate challenger"
        )
        champion_eval = evaluate(model=champion.outputs["model"], features=features).set_display_name(
            "evaluate champion"
        )
        resources.limit(challenger_eval, evaluate_cpu, evaluate_memory)
        resources.limit(champion_eval, evaluate_cpu, evaluate_memory)
        decision = compare_models(
            a_name="challenger",
            a_evaluation=challenger_eval.outputs["evaluation"],
            a_model=challenger.outputs["trained"],
            b_name="champion",
            b_evaluation=champion_eval.outputs["evaluation"],
            b_model=champion.outputs["model"],
            champion=champion_eval.outputs["evaluation"],
            margin=margin,
        ).set_display_name("challenger vs champion")
        registered = register_version(
            model=challenger.outputs["trained"],
            evaluation=challenger_eval.outputs["evaluation"],
            dataset=dataset,
            features=features,
            registry=registry,
            alias="challenger",
            run=dsl.PIPELINE_JOB_NAME_PLACEHOLDER,
            artifacts=artifacts,
        ).set_display_name("register challenger")
        with dsl.If(decision.outputs["promote"] == "true", name="challenger-wins"):
            promote_version(
                registry=registry,
                ref=registered.outputs["version"],
                reason="retraining: beat the champion by more than the margin",
            ).set_display_name("promote challenger")
