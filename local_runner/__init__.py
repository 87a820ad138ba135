"""Execute a compiled KFP v2 pipeline YAML locally with plain Docker (or subprocesses)."""
