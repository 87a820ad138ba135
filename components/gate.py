"""The retraining data gate (``campaignlab gate``) and the step that stops a run it failed."""

from kfp import dsl

from components.images import TORCH_IMAGE


@dsl.container_component
def gate(
    dataset: dsl.Input[dsl.Dataset],
    features: dsl.Input[dsl.Dataset],
    reference: dsl.Input[dsl.Artifact],
    verdict: dsl.Output[dsl.Artifact],
    report: dsl.Output[dsl.HTML],
    passed: dsl.OutputPath(str),  # type: ignore[valid-type]
    max_rejected_share: float = 0.05,
    max_label_shift: float = 0.15,
    max_new_platform_share: float = 0.10,
    max_platform_shift: float = 0.25,
    max_embedding_auc: float = 0.75,
    on_drift: str = "stop",
):
    """Compare new data with the champion's training data; write the report and ``passed``.

    The step itself succeeds either way (so its report is recorded); a run branches on ``passed`` and
    ``gate_verdict`` stops it when the gate failed.

    Args:
        dataset: the new dataset folder (``ingest``).
        features: its features folder (``embed``).
        reference: the champion's training-data reference (``pull_model``).
        verdict: the gate folder (gate.json, gate.png, report.html).
        report: the report as an HTML artifact.
        passed: "true" or "false".
        max_rejected_share: largest share of rows rejected at ingestion.
        max_label_shift: largest total variation distance between class distributions.
        max_new_platform_share: largest share of rows on platforms the champion never saw.
        max_platform_shift: largest total variation distance between platform distributions.
        max_embedding_auc: largest per-modality domain-classifier ROC AUC (0.5 = no drift).
        on_drift: stop (a failed check stops the run) or warn (report drift, train anyway).
    """
    return dsl.ContainerSpec(
        image=TORCH_IMAGE,  # scikit-learn (the drift classifier)
        command=["campaignlab", "gate"],
        args=[
            dataset.path,
            "--features", features.path,
            "--reference", reference.path,
            "--max-rejected-share", max_rejected_share,
            "--max-label-shift", max_label_shift,
            "--max-new-platform-share", max_new_platform_share,
            "--max-platform-shift", max_platform_shift,
            "--max-embedding-auc", max_embedding_auc,
            "--on-drift", on_drift,
            "--report-only",
            "--out", verdict.path,
            "--html-out", report.path,
            "--passed-out", passed,
        ],
    )  # fmt: skip


@dsl.container_component
def gate_verdict(verdict: dsl.Input[dsl.Artifact]):
    """Fail the run with the gate's failed checks (runs only when the gate did not pass).

    Args:
        verdict: the gate folder written by ``gate``.
    """
    return dsl.ContainerSpec(image=TORCH_IMAGE, command=["campaignlab", "gate-verdict"], args=[verdict.path])
