"""Where a pipeline's dataset comes from: the generator, a user's raw campaigns, or an ingested folder.

``data_uri`` (raw campaigns: a CSV/Parquet/JSON Lines file or a folder of them; ``gs://`` on Vertex, a
local path in a local run) is imported and validated by ``ingest``; ``dataset_uri`` (a folder ``campaignlab
ingest`` or ``generate`` wrote) is imported as it is; with neither, ``generate`` makes synthetic data. One
``dsl.OneOf`` gives the later steps one dataset whichever branch ran.
"""

from typing import Any

from kfp import dsl

from components import generate, ingest
from pipelines import resources


def dataset_step(
    *,
    data_uri: Any,
    dataset_uri: Any,
    mapping: Any,
    split: Any,
    test_fraction: Any,
    max_rejected: Any,
    generate_cpu: Any,
    generate_memory: Any,
    **generator: Any,
) -> Any:
    """Add the data branches to the pipeline being defined; return the dataset channel (``dsl.OneOf``)."""
    with dsl.If(data_uri != "", name="own-campaigns"):
        raw = dsl.importer(artifact_uri=data_uri, artifact_class=dsl.Dataset, reimport=False)
        raw.set_display_name("import raw campaigns")
        own = ingest(
            source=raw.output,
            mapping=mapping,
            split=split,
            test_fraction=test_fraction,
            max_rejected=max_rejected,
        ).set_display_name("ingest")
    with dsl.Elif(dataset_uri != "", name="ingested-dataset"):
        imported = dsl.importer(artifact_uri=dataset_uri, artifact_class=dsl.Dataset, reimport=False)
        imported.set_display_name("import dataset")
    with dsl.Else(name="generated-data"):
        made = generate(**generator).set_display_name("generate")
        resources.limit(made, generate_cpu, generate_memory)
    return dsl.OneOf(own.outputs["dataset"], imported.output, made.outputs["dataset"])
