"""Errors users see. The CLI turns them into a one-line message and exit code 2."""


class CampaignlabError(Exception):
    """Base class for errors caused by bad input or an impossible request (not bugs)."""


class ConfigError(CampaignlabError):
    """A configuration value is unknown, missing or out of range."""


class DataError(CampaignlabError):
    """An input file does not match its documented schema."""


class GenerationError(CampaignlabError):
    """The generator could not produce what was asked (e.g. an unreachable class)."""


class VerificationError(CampaignlabError):
    """A dataset failed verification: a stored value disagrees with the recomputed one."""


class IncompleteOutputError(DataError):
    """An output folder was not completely published (no completion marker, or files it lists missing)."""
