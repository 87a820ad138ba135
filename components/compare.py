"""Pick the best model by macro F1 (``campaignlab compare``) and register a promoted model.

``compare_models`` takes two or three candidates (name, evaluation folder, model folder) and an
optional champion evaluation; it outputs the best model, a Markdown and an HTML summary, the
comparison folder (best.json) and the ``promote`` parameter ("true"/"false") used by ``dsl.If``.
"""

from typing import Optional

from kfp import dsl

from components.flags import optional
from components.images import CORE_IMAGE


@dsl.container_component
def compare_models(
    a_evaluation: dsl.Input[dsl.Artifact],
    a_model: dsl.Input[dsl.Model],
    b_evaluation: dsl.Input[dsl.Artifact],
    b_model: dsl.Input[dsl.Model],
    comparison: dsl.Output[dsl.Artifact],
    best_model: dsl.Output[dsl.Model],
    summary: dsl.Output[dsl.Markdown],
    report: dsl.Output[dsl.HTML],
    promote: dsl.OutputPath(str),  # type: ignore[valid-type]
    a_name: str = "a",
    b_name: str = "b",
    c_name: str = "c",
    c_evaluation: dsl.Input[dsl.Artifact] = None,
    c_model: dsl.Input[dsl.Model] = None,
    champion: dsl.Input[dsl.Artifact] = None,
    margin: Optional[float] = None,  # noqa: UP045  kfp reads typing.Optional
):
    """Rank the candidates by macro F1, copy the winner to ``best_model``, decide promotion.

    Args:
        a_evaluation: evaluation folder of candidate ``a_name`` (likewise b, and optional c).
        a_model: model folder of candidate ``a_name``.
        comparison: folder with best.json, summary.md, summary.html and comparison.png.
        best_model: a copy of the winning model folder.
        summary: the ranking as Markdown.
        report: the ranking and the bar chart as HTML.
        promote: "true" if there is no champion or the best beats it by more than ``margin``.
        champion: evaluation folder of the current champion on the same test data.
        margin: macro-F1 points the best candidate must beat the champion by (unset: the
            ``campaignlab compare`` default).
    """
    return dsl.ContainerSpec(
        image=CORE_IMAGE,
        command=["campaignlab", "compare"],
        args=[
            "--metrics", dsl.ConcatPlaceholder([a_name, "=", a_evaluation.path]),
            "--model", dsl.ConcatPlaceholder([a_name, "=", a_model.path]),
            "--metrics", dsl.ConcatPlaceholder([b_name, "=", b_evaluation.path]),
            "--model", dsl.ConcatPlaceholder([b_name, "=", b_model.path]),
            dsl.IfPresentPlaceholder(
                input_name="c_evaluation",
                then=["--metrics", dsl.ConcatPlaceholder([c_name, "=", c_evaluation.path])],
            ),
            dsl.IfPresentPlaceholder(
                input_name="c_model",
                then=["--model", dsl.ConcatPlaceholder([c_name, "=", c_model.path])],
            ),
            dsl.IfPresentPlaceholder(input_name="champion", then=["--champion", champion.path]),
            optional("margin", margin),
            "--out", comparison.path,
            "--model-out", best_model.path,
            "--markdown-out", summary.path,
            "--html-out", report.path,
            "--promote-out", promote,
        ],
    )  # fmt: skip


@dsl.container_component
def register_model(
    model: dsl.Input[dsl.Model],
    metrics: dsl.Input[dsl.Artifact],
    registered: dsl.Output[dsl.Model],
    name: Optional[str] = None,  # noqa: UP045  kfp reads typing.Optional
    registry_dir: Optional[str] = None,  # noqa: UP045
):
    """Register a model as the new champion: copy it with its evaluation and a registration record.

    Args:
        model: the model folder to promote.
        metrics: its evaluation folder (metrics.json is kept next to the model).
        registered: the registered copy (model files, metrics.json, registered.json).
        name: the registered model's name (unset: the ``campaignlab register`` default).
        registry_dir: also copy it there when set and non-empty (on Vertex a Cloud Storage FUSE path such
            as ``/gcs/BUCKET/models/champion``, so later retraining runs import it as the champion).
    """
    return dsl.ContainerSpec(
        image=CORE_IMAGE,
        command=["campaignlab", "register"],
        args=[
            "--model", model.path,
            "--metrics", metrics.path,
            optional("name", name),
            "--out", registered.path,
            optional("registry_dir", registry_dir),
        ],
    )  # fmt: skip


@dsl.container_component
def compare_federated(
    run: dsl.Input[dsl.Model],
    comparison: dsl.Output[dsl.Artifact],
    summary: dsl.Output[dsl.Markdown],
    report: dsl.Output[dsl.HTML],
):
    """Rank the federated and the centralized model of a ``federate`` run by macro F1.

    Args:
        run: the run folder written by ``federate``.
        comparison: folder with best.json, summary.md, summary.html and comparison.png.
        summary: the ranking as Markdown.
        report: the ranking and the bar chart as HTML.
    """
    return dsl.ContainerSpec(
        image=CORE_IMAGE,
        command=["campaignlab", "compare"],
        args=[
            "--metrics", dsl.ConcatPlaceholder(["federated=", run.path, "#federated.final"]),
            "--metrics", dsl.ConcatPlaceholder(["centralized=", run.path, "#centralized"]),
            "--out", comparison.path,
            "--markdown-out", summary.path,
            "--html-out", report.path,
        ],
    )  # fmt: skip
