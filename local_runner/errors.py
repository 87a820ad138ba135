"""Errors of the local runner. All derive from CampaignlabError, so the CLI prints them and exits 2."""

from __future__ import annotations

from campaignlab.errors import CampaignlabError


class RunnerError(CampaignlabError):
    """Base class for errors raised by the local runner before or while it runs a pipeline."""


class SpecError(RunnerError):
    """The file is not a compiled KFP v2 pipeline spec, or it is inconsistent."""


class UnsupportedFeatureError(RunnerError):
    """The pipeline uses a part of the KFP IR that the local runner does not implement."""

    def __init__(self, feature: str, where: str) -> None:
        super().__init__(
            f"unsupported KFP feature {feature!r} at {where}: the local runner cannot execute it "
            "(docs/local-runner.md lists the supported subset)"
        )
        self.feature = feature
        self.where = where


class ParameterError(RunnerError):
    """A pipeline parameter is unknown, missing or of the wrong type."""


class PlaceholderError(RunnerError):
    """A command-line placeholder cannot be resolved."""


class ConditionError(RunnerError):
    """A dsl.If/Elif/Else condition (CEL) cannot be parsed or evaluated."""


class HostError(RunnerError):
    """The machine cannot run the pipeline: no Docker engine, a missing image, no GPU."""


class ResumeError(RunnerError):
    """The run given to --resume does not exist or belongs to another pipeline."""
