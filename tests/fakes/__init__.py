"""Fake services of ours for tests (HTTP servers on 127.0.0.1)."""
