"""A user's own campaigns: the raw-campaign contract, column mapping, row validation, rejects, splits and
the data report (``campaignlab ingest``). See ``docs/own-data.md``.

Public API::

    from campaignlab.ingest import read_campaigns, ingest, IngestConfig

    table = read_campaigns("campaigns.csv", "mapping.yaml")     # validated DataFrame + rejects, no files
    table.campaigns, table.rejected
    manifest = ingest(IngestConfig(source="campaigns.csv", out="data/mine", mapping="mapping.yaml"))

Light to import: pandas and pydantic only; the Google clients load only for ``gs://`` / ``bq://``.
"""

from campaignlab.ingest.contract import FIELDS, REASONS, REQUIRED_FIELDS, Campaign, ParseOptions
from campaignlab.ingest.dataset import (
    CampaignTable,
    IngestConfig,
    RejectedRowsError,
    ingest,
    read_campaigns,
)
from campaignlab.ingest.mapping import Mapping, load_mapping

__all__ = [
    "FIELDS",
    "REASONS",
    "REQUIRED_FIELDS",
    "Campaign",
    "CampaignTable",
    "IngestConfig",
    "Mapping",
    "ParseOptions",
    "RejectedRowsError",
    "ingest",
    "load_mapping",
    "read_campaigns",
]
