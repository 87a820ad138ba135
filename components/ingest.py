"""Validate raw campaigns into a dataset folder (``campaignlab ingest``)."""

from kfp import dsl

from components.images import CORE_IMAGE


@dsl.container_component
def ingest(
    source: dsl.Input[dsl.Dataset],
    dataset: dsl.Output[dsl.Dataset],
    mapping: dict = {},  # noqa: B006  kfp needs a literal default; the component never mutates it
    split: str = "random",
    test_fraction: float = 0.2,
    max_rejected: float = 0.05,
):
    """Write a dataset folder (samples.parquet, rejected.parquet, manifest.json, data_report.html/.png).

    Args:
        source: raw campaigns: a CSV/Parquet/JSON Lines file or a folder of them (imported from a
            gs:// URI on Vertex, a local path in a local run).
        dataset: the dataset folder every later step reads.
        mapping: the source's column names and value conventions (the mapping file's keys, e.g.
            ``{"campaign_id": "Campaign ID", "label_values": {...}}``); empty: the contract's own names.
        split: random (stratified) or time (the latest campaigns by date are the test split).
        test_fraction: share of campaigns in the test split.
        max_rejected: largest share of rejected rows; above it the step fails and writes nothing.
    """
    return dsl.ContainerSpec(
        image=CORE_IMAGE,
        command=["campaignlab", "ingest"],
        args=[
            source.path,
            "--mapping", mapping,
            "--split", split,
            "--test-fraction", test_fraction,
            "--max-rejected", max_rejected,
            "--out", dataset.path,
        ],
    )  # fmt: skip
