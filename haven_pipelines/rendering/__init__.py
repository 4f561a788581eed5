"""The local compositing renderer (Pillow) and its bundled scenes; see ``docs/rendering.md``.

Public entry points: :class:`~haven_pipelines.rendering.local.LocalRenderer`,
:func:`~haven_pipelines.rendering.images.load_artwork` (also used to check remote exports),
:func:`~haven_pipelines.rendering.scenes.get_scene` and
:func:`~haven_pipelines.rendering.scenes.scene_from_template`.
"""
