"""Where the application keeps its state, from the environment (read when called, never at import).

| variable | default | meaning |
| --- | --- | --- |
| ``HAVEN_DATA_DIR`` | ``./.haven`` | folder for the SQLite database and local images |
| ``HAVEN_DATABASE_URL`` | ``sqlite:///<HAVEN_DATA_DIR>/haven.db`` | application database (SQLite or PostgreSQL) |
| ``HAVEN_SECRET_KEY`` | none | Fernet key that encrypts stored credentials; several keys separated by commas rotate them (the first encrypts, all decrypt) |
"""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """The data folder (``HAVEN_DATA_DIR``, default ``./.haven``), created if missing."""
    path = Path(os.environ.get("HAVEN_DATA_DIR") or ".haven").expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url() -> str:
    """``HAVEN_DATABASE_URL``, else a SQLite file ``haven.db`` in the data folder."""
    url = os.environ.get("HAVEN_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{data_dir() / 'haven.db'}"
