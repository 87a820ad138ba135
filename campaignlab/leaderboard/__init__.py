"""Leaderboard service: versioned train/test splits, blind server-side scoring, rankings.

* :mod:`~campaignlab.leaderboard.store`: SQLAlchemy schema and queries (SQLite or PostgreSQL, Alembic).
* :mod:`~campaignlab.leaderboard.versions`: register a dataset version (split files + answer key).
* :mod:`~campaignlab.leaderboard.scoring`: read and check predictions, compute the scores.
* :mod:`~campaignlab.leaderboard.app`: the FastAPI application and ``serve``.
* :mod:`~campaignlab.leaderboard.page`: the HTML pages.
* :mod:`~campaignlab.leaderboard.client`: ``submit_predictions`` and friends (httpx).
"""
