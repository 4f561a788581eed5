"""Prepared rooms kept on disk: a fresh renderer (or process) reads them instead of drawing them."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap

from PIL import Image

from haven_pipelines.rendering.local import LocalRenderer, SceneCache
from haven_pipelines.rendering.room_store import RoomStore
from haven_pipelines.rendering.scenes import get_scene

WIDTH = 320


def _render(store: RoomStore, scene="reading_nook") -> tuple[bytes, SceneCache]:
    cache = SceneCache()
    renderer = LocalRenderer(width=WIDTH, cache=cache, rooms=store)
    art = Image.new("RGB", (40, 50), (230, 0, 230))
    return renderer.render(art, scene).data, cache


def _pixels(data: bytes) -> bytes:
    return Image.open(io.BytesIO(data)).convert("RGB").tobytes()


def test_a_fresh_renderer_reads_the_room_instead_of_drawing_it(tmp_path):
    store = RoomStore(tmp_path / "rooms")
    first, cache = _render(store)
    assert cache.preparations == 1 and cache.loads == 0
    assert len(list((tmp_path / "rooms").glob("*.npz"))) == 1
    again, fresh = _render(store)  # a new in-memory cache: what a new process starts with
    assert fresh.preparations == 0 and fresh.loads == 1
    assert again == first  # the same picture, byte for byte


def test_a_second_process_reads_the_room(tmp_path):
    store = RoomStore(tmp_path / "rooms")
    first, _ = _render(store)
    script = textwrap.dedent(f"""
        import sys
        from PIL import Image
        from haven_pipelines.rendering.local import LocalRenderer, SceneCache
        from haven_pipelines.rendering.room_store import RoomStore
        cache = SceneCache()
        renderer = LocalRenderer(width={WIDTH}, cache=cache, rooms=RoomStore(sys.argv[1]))
        data = renderer.render(Image.new("RGB", (40, 50), (230, 0, 230)), "reading_nook").data
        sys.stdout.buffer.write(f"{{cache.preparations}} {{cache.loads}} {{len(data)}}\\n".encode())
        sys.stdout.buffer.write(data)
    """)
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "rooms")], capture_output=True, check=True)
    header, _, data = done.stdout.partition(b"\n")
    assert header.split()[:2] == [b"0", b"1"]
    # The same pixels (the embedded profile carries the time it was made in each process).
    assert _pixels(data) == _pixels(first)


def test_a_changed_scene_document_is_another_room(tmp_path):
    store = RoomStore(tmp_path / "rooms")
    base = get_scene("reading_nook")
    changed = get_scene("reading_nook", {"mat": {"color": "#202020"}})
    assert store.path(base.key, base.fingerprint, WIDTH) != store.path(changed.key, changed.fingerprint, WIDTH)
    assert store.path(base.key, base.fingerprint, WIDTH) != store.path(base.key, base.fingerprint, WIDTH + 1)
    _render(store, base)
    _, cache = _render(store, changed)
    assert cache.preparations == 1 and cache.loads == 0  # not served the old room
    # Kept under its own name (the old document's room is pruned: nothing would read it again).
    assert [p.name for p in (tmp_path / "rooms").glob("*.npz")] == [store.path(changed.key, changed.fingerprint, WIDTH).name]


def test_a_corrupt_room_file_is_drawn_again_and_replaced(tmp_path):
    store = RoomStore(tmp_path / "rooms")
    first, _ = _render(store)
    [path] = (tmp_path / "rooms").glob("*.npz")
    for damage in (b"not a zip at all", path.read_bytes()[: path.stat().st_size // 2]):
        path.write_bytes(damage)
        again, cache = _render(store)
        assert cache.preparations == 1 and cache.loads == 0
        assert again == first
        _, reread = _render(store)  # the file was written again, whole
        assert reread.loads == 1 and reread.preparations == 0


def test_a_folder_that_cannot_be_written_still_renders(tmp_path):
    blocker = tmp_path / "rooms"
    blocker.write_text("a file where the folder should be")
    data, cache = _render(RoomStore(blocker))
    assert data and cache.preparations == 1


def test_a_room_of_an_older_document_is_removed_when_its_successor_is_kept(tmp_path):
    store = RoomStore(tmp_path / "rooms")
    _render(store, get_scene("reading_nook", {"mat": {"color": "#202020"}}))
    _render(store, "bedroom")  # another scene's room stays
    _render(store, get_scene("reading_nook", {"mat": {"color": "#303030"}}))
    names = sorted(p.name for p in (tmp_path / "rooms").glob("*.npz"))
    current = get_scene("reading_nook", {"mat": {"color": "#303030"}})
    assert names == sorted([store.path(current.key, current.fingerprint, WIDTH).name,
                            store.path("bedroom", get_scene("bedroom").fingerprint, WIDTH).name])
