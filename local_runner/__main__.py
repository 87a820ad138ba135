"""``python -m local_runner FILE.yaml [options]``: same as ``campaignlab pipeline run-local``."""

from local_runner.cli import main

main()
