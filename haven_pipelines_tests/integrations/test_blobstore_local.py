"""LocalBlobStore: whole-file writes, keys that cannot leave the folder, and the store factory."""

from __future__ import annotations

import os

import pytest

from haven_pipelines.domain.errors import ValidationError
from haven_pipelines.integrations.blobstore import BlobNotFound, BlobStoreError, LocalBlobStore
from haven_pipelines.services.context import build_blob_store
from haven_pipelines.settings import Settings
from haven_pipelines.integrations.s3 import S3BlobStore


def test_put_get_exists_delete_round_trip(tmp_path):
    store = LocalBlobStore(tmp_path / "images")
    blob = store.put("mockups/u1/a1/bedroom-abc.jpg", b"\xff\xd8jpeg", "image/jpeg")
    assert (blob.key, blob.size, blob.content_type) == ("mockups/u1/a1/bedroom-abc.jpg", 6, "image/jpeg")
    assert blob.url.startswith("file://") and blob.url.endswith("/images/mockups/u1/a1/bedroom-abc.jpg")
    assert store.get(blob.key) == b"\xff\xd8jpeg"
    assert store.exists(blob.key)
    assert store.public_url(blob.key) is None
    store.delete(blob.key)
    store.delete(blob.key)  # deleting twice is fine
    assert not store.exists(blob.key)
    with pytest.raises(BlobNotFound, match="bedroom-abc.jpg"):
        store.get(blob.key)


def test_overwrite_replaces_whole_file_and_leaves_no_temporary_files(tmp_path):
    store = LocalBlobStore(tmp_path)
    store.put("a/b.bin", b"x" * 1000, "application/octet-stream")
    store.put("a/b.bin", b"short", "application/octet-stream")
    assert store.get("a/b.bin") == b"short"
    assert sorted(os.listdir(tmp_path / "a")) == ["b.bin"]


def test_a_failed_write_leaves_the_old_object_and_no_temporary_file(tmp_path, monkeypatch):
    store = LocalBlobStore(tmp_path)
    store.put("k.bin", b"old", "application/octet-stream")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        store.put("k.bin", b"new", "application/octet-stream")
    monkeypatch.undo()
    assert store.get("k.bin") == b"old"
    assert os.listdir(tmp_path) == ["k.bin"]


@pytest.mark.parametrize("key", ["../outside.jpg", "mockups/../../outside.jpg", "/etc/passwd", "a/../../b"])
def test_keys_that_escape_the_folder_are_refused(tmp_path, key):
    store = LocalBlobStore(tmp_path / "root")
    with pytest.raises(BlobStoreError, match="escapes"):
        store.put(key, b"x", "text/plain")
    with pytest.raises(BlobStoreError, match="escapes"):
        store.get(key)
    assert not (tmp_path / "outside.jpg").exists()


def test_factory_defaults_to_the_local_folder_in_the_data_dir(tmp_path):
    store = build_blob_store(Settings.from_env({"HAVEN_DATA_DIR": str(tmp_path)}))
    assert isinstance(store, LocalBlobStore)
    assert store.root == (tmp_path / "images").resolve()


def test_factory_builds_s3_from_the_environment(aws_env):
    env = {
        "HAVEN_S3_BUCKET": "haven-images",
        "HAVEN_S3_ENDPOINT_URL": "http://127.0.0.1:9",
        "HAVEN_S3_REGION": "eu-central-1",
        "HAVEN_S3_PUBLIC_URL_BASE": "https://img.example.com/",
    }
    store = build_blob_store(Settings.from_env(env))
    try:
        assert isinstance(store, S3BlobStore)
        assert store.bucket == "haven-images" and store.endpoint_url == "http://127.0.0.1:9"
        assert store.public_url("mockups/u/a/s-h.jpg") == "https://img.example.com/mockups/u/a/s-h.jpg"
    finally:
        store.close()


def test_factory_refuses_a_bad_presign_value(aws_env):
    with pytest.raises(ValidationError, match="HAVEN_S3_PRESIGN_SECONDS"):
        build_blob_store(Settings.from_env({"HAVEN_S3_BUCKET": "b", "HAVEN_S3_PRESIGN_SECONDS": "an hour"}))
