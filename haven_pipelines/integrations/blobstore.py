"""Image storage: a local folder (the default) or an S3-compatible bucket.

    BlobStoreError
     └── BlobNotFound

Both stores write whole objects only: a reader never sees a half-written file (the local store
writes a temporary file and renames it; S3 puts are atomic).
"""

from __future__ import annotations

import os
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from haven_pipelines.domain.errors import HavenError


class BlobStoreError(HavenError):
    """Storage failed (after any retries); the message names the key, never a credential."""


class BlobNotFound(BlobStoreError, LookupError):
    """No object under the key."""


@dataclass(frozen=True)
class StoredBlob:
    """What a put returns: the key, a URL to read it, its size and content type."""

    key: str
    url: str
    size: int
    content_type: str


class BlobStore(ABC):
    """Where mockups and design images live."""

    @abstractmethod
    def put(self, key: str, data: bytes, content_type: str) -> StoredBlob:
        """Store ``data`` under ``key`` (overwriting), returning where it is."""

    @abstractmethod
    def get(self, key: str) -> bytes:
        """The bytes under ``key``; :class:`BlobNotFound` when absent."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object under ``key`` (no error when absent)."""

    @abstractmethod
    def url(self, key: str) -> str:
        """A URL for people and the UI (``file://`` for the local store)."""

    def public_url(self, key: str) -> str | None:
        """A URL an outside service (Shopify) can fetch, or None when there is none."""
        return None

    def permanent_url(self, key: str) -> str | None:
        """A public URL that never expires (a bucket's public base), or None.

        What may be written into records kept for good, such as Dagster's event log: a presigned
        URL would stop working there after its lifetime.
        """
        return None


class LocalBlobStore(BlobStore):
    """Objects as files under a root folder (default ``$HAVEN_DATA_DIR/images``)."""

    def __init__(self, root: str | os.PathLike[str]):
        # The folder is made by the first put, not here: a command that only reads, or is refused
        # (run from the wrong folder), leaves no empty folder behind.
        self.root = Path(root).resolve()

    def path(self, key: str) -> Path:
        """The file for ``key``; refuses keys that would leave the root folder."""
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise BlobStoreError(f"key escapes the storage folder: {key!r}")
        return path

    def put(self, key: str, data: bytes, content_type: str) -> StoredBlob:
        """Write via a temporary file and an atomic rename, so no reader sees half a file."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return StoredBlob(key=key, url=self.url(key), size=len(data), content_type=content_type)

    def get(self, key: str) -> bytes:
        """Read the file for ``key``."""
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(f"no stored object {key!r}") from None

    def exists(self, key: str) -> bool:
        """Whether the file exists."""
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        """Remove the file if present."""
        self.path(key).unlink(missing_ok=True)

    def url(self, key: str) -> str:
        """``file://`` URL of the file."""
        return self.path(key).as_uri()
