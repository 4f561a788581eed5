"""S3BlobStore against moto's server on a loopback socket (a real endpoint; boto3 is not patched)."""

from __future__ import annotations

import httpx
import pytest

from haven_pipelines.integrations.blobstore import BlobNotFound, BlobStoreError
from haven_pipelines.integrations.s3 import S3BlobStore


@pytest.fixture
def store(moto_s3, s3_bucket):
    s = S3BlobStore(s3_bucket, endpoint_url=moto_s3.endpoint_url, region="us-east-1")
    try:
        yield s
    finally:
        s.close()


def test_put_get_exists_delete(store, s3_bucket):
    blob = store.put("mockups/u1/a1/bedroom-0123.jpg", b"\xff\xd8image", "image/jpeg")
    assert (blob.size, blob.content_type) == (7, "image/jpeg")
    assert blob.url == f"s3://{s3_bucket}/mockups/u1/a1/bedroom-0123.jpg"
    assert store.get(blob.key) == b"\xff\xd8image"
    assert store.exists(blob.key) and not store.exists("mockups/none.jpg")
    store.delete(blob.key)
    store.delete(blob.key)
    assert not store.exists(blob.key)
    with pytest.raises(BlobNotFound, match="bedroom-0123.jpg"):
        store.get(blob.key)


def test_content_type_is_stored(store, s3_bucket):
    store.put("designs/u/a.png", b"png", "image/png")
    head = store._client.head_object(Bucket=s3_bucket, Key="designs/u/a.png")
    assert head["ContentType"] == "image/png"


def test_presigned_url_fetches_the_object(moto_s3, s3_bucket):
    with_presign = S3BlobStore(s3_bucket, endpoint_url=moto_s3.endpoint_url, region="us-east-1", presign_seconds=300)
    try:
        blob = with_presign.put("mockups/u/a/s-1.jpg", b"bytes-for-shopify", "image/jpeg")
        url = with_presign.public_url(blob.key)
        assert url and "X-Amz-Signature" in url
        assert httpx.get(url, timeout=5).content == b"bytes-for-shopify"
        # What gets recorded is the stable key URL, not a signed, expiring one.
        assert blob.url == f"s3://{s3_bucket}/mockups/u/a/s-1.jpg"
    finally:
        with_presign.close()


def test_public_url_base_wins_and_quotes_the_key(moto_s3, s3_bucket):
    s = S3BlobStore(s3_bucket, endpoint_url=moto_s3.endpoint_url, public_url_base="https://cdn.example.com/img/", presign_seconds=60)
    try:
        assert s.public_url("mockups/u/a/living room.jpg") == "https://cdn.example.com/img/mockups/u/a/living%20room.jpg"
        assert s.url("k.jpg") == "https://cdn.example.com/img/k.jpg"
    finally:
        s.close()


def test_no_public_url_without_base_or_presign(store):
    assert store.public_url("k.jpg") is None


def test_missing_bucket_is_a_storage_error_naming_the_key_without_credentials(moto_s3, aws_env):
    s = S3BlobStore("haven-no-such-bucket", endpoint_url=moto_s3.endpoint_url, region="us-east-1")
    try:
        for action in (lambda: s.put("mockups/u/a/x.jpg", b"x", "image/jpeg"), lambda: s.exists("mockups/u/a/x.jpg")):
            with pytest.raises(BlobStoreError) as info:
                action()
            message = str(info.value)
            assert "mockups/u/a/x.jpg" in message and "haven-no-such-bucket" in message
            for secret in (aws_env["AWS_SECRET_ACCESS_KEY"], aws_env["AWS_SESSION_TOKEN"], aws_env["AWS_ACCESS_KEY_ID"]):
                assert secret not in message and secret not in repr(info.value)
    finally:
        s.close()


def test_unreachable_endpoint_is_a_storage_error(aws_env):
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    from botocore.config import Config

    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        config=Config(connect_timeout=1, read_timeout=1, retries={"max_attempts": 1, "mode": "standard"}),
    )
    s = S3BlobStore("bucket", client=client)
    try:
        with pytest.raises(BlobStoreError, match="EndpointConnectionError"):
            s.get("k.jpg")
    finally:
        s.close()


def test_bad_settings_are_refused():
    with pytest.raises(BlobStoreError, match="bucket"):
        S3BlobStore("")
    with pytest.raises(BlobStoreError, match="presign_seconds"):
        S3BlobStore("b", presign_seconds=0, client=object())
