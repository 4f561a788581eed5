"""Prepared rooms kept on disk, so that a fresh process renders at once instead of drawing its rooms.

Drawing a room (wall, furniture, frame, light) takes seconds a scene; every CLI call and every run
process used to pay it again. A prepared room is two arrays: the lit background and the light over
the frame's opening. :class:`RoomStore` keeps them in one uncompressed ``.npz`` file per room, named by

* the scene key and the digest of its scene document (``SceneConfig.fingerprint``): a changed
  document is a different room;
* the output width;
* :data:`DRAWING_DIGEST`, a digest of the drawing code and of Pillow's and NumPy's versions: a
  change to how rooms are drawn must not serve rooms drawn the old way.

Files are written to a temporary name in the same folder and renamed into place, so a process never
reads a half-written room, and two processes preparing the same room at once both succeed (the last
rename wins; both wrote the same pixels). A file that cannot be read back (truncated, corrupt, from
another layout) is reported as missing: the caller draws the room again and overwrites it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import PIL

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
_DRAWING_MODULES = ("room.py", "frame.py", "draw.py", "geometry.py", "local.py", "room_store.py")


def _drawing_digest() -> str:
    """Digest of the modules that draw a room, and of the libraries that draw it."""
    h = hashlib.sha256(f"v{FORMAT_VERSION} pillow {PIL.__version__} numpy {np.__version__}".encode())
    folder = resources.files("haven_pipelines.rendering")
    for name in _DRAWING_MODULES:
        h.update(folder.joinpath(name).read_bytes())
    return h.hexdigest()[:12]


DRAWING_DIGEST = _drawing_digest()


@dataclass(frozen=True)
class StoredRoom:
    """What a prepared room is made of, as read back from disk."""

    background: np.ndarray  # uint8, height x width x 3: the lit room with its frame and mat
    light: np.ndarray  # float32, box height x box width x 3: the light over the opening's box
    opening_box: tuple[int, int, int, int]


class RoomStore:
    """A folder of prepared rooms (see the module docstring).

    Args:
        folder: where the files live; created on the first write.
    """

    def __init__(self, folder: str | os.PathLike[str]):
        self.folder = Path(folder)

    def path(self, key: str, fingerprint: str, width: int) -> Path:
        """The file of one room: scene key, document digest, width, drawing-code digest."""
        return self.folder / f"{key}-{fingerprint}-w{width}-{DRAWING_DIGEST}.npz"

    def load(self, key: str, fingerprint: str, width: int, height: int) -> StoredRoom | None:
        """The stored room, or None when there is none or it cannot be used (logged; drawn again)."""
        path = self.path(key, fingerprint, width)
        try:
            # Our own file handle: np.load leaves a path it opened unclosed when the file is not a zip.
            with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as data:
                meta = json.loads(bytes(data["meta"]).decode())
                background, light = data["background"], data["light"]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
            log.warning("prepared room %s is unreadable (%s); drawing it again", path.name, exc)
            return None
        box = tuple(int(v) for v in meta.get("opening_box", ()))
        ok = (
            meta.get("key") == key and meta.get("fingerprint") == fingerprint and meta.get("width") == width
            and background.dtype == np.uint8 and background.shape == (height, width, 3)
            and len(box) == 4 and 0 <= box[0] < box[2] <= width and 0 <= box[1] < box[3] <= height
            and light.dtype == np.float32 and light.shape == (box[3] - box[1], box[2] - box[0], 3)
        )
        if not ok:
            log.warning("prepared room %s does not match its scene; drawing it again", path.name)
            return None
        return StoredRoom(background, light, box)  # type: ignore[arg-type]

    def save(self, key: str, fingerprint: str, width: int, room: StoredRoom) -> Path | None:
        """Write the room atomically; a failure to write (disk full, read-only) is logged, not raised."""
        path = self.path(key, fingerprint, width)
        meta = {"key": key, "fingerprint": fingerprint, "width": width, "opening_box": list(room.opening_box)}
        tmp = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=self.folder)
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, background=room.background, light=room.light,
                         meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
            os.replace(tmp, path)
        except OSError as exc:
            # The room is still usable in memory; only the next process pays for drawing it.
            log.warning("could not keep prepared room %s: %s", path.name, exc)
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
            return None
        self._prune(key, width, keep=path)
        return path

    def _prune(self, key: str, width: int, keep: Path) -> None:
        """Remove this scene's rooms at this width drawn from another document or other drawing code.

        Such a file is never read again (its name no longer matches), and rooms are tens of
        megabytes each. A file another process is reading stays readable until it closes it.
        """
        for other in self.folder.glob(f"{key}-*-w{width}-*.npz"):
            if other != keep and other.name.startswith(f"{key}-") and other.name.count("-") == keep.name.count("-"):
                try:
                    other.unlink(missing_ok=True)
                except OSError as exc:  # not ours to remove, or already gone: only disk space is at stake
                    log.warning("could not remove stale prepared room %s: %s", other.name, exc)
