"""S3-compatible image storage (AWS S3, Cloudflare R2, MinIO) through boto3.

Configuration: the bucket, an optional endpoint URL (R2, MinIO), an optional region, and how
outside services (Shopify) reach an object: a public URL base (a CDN or a public bucket domain),
else a presigned GET URL valid for ``presign_seconds``, else none. Credentials come from boto3's
usual chain (environment, shared files, instance roles) and never from here.

Every storage failure becomes :class:`~haven_pipelines.integrations.blobstore.BlobStoreError`
naming the key and the S3 error code; boto3's own messages can carry the endpoint and request
ids but never credentials, and we pass on only the code and a short message.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from haven_pipelines.integrations.blobstore import BlobNotFound, BlobStore, BlobStoreError, StoredBlob

#: Explicit timeouts and botocore's "standard" retry mode (backoff on throttling and 5xx).
DEFAULT_CONFIG = Config(
    connect_timeout=5,
    read_timeout=30,
    retries={"max_attempts": 4, "mode": "standard"},
    signature_version="s3v4",
)
_MISSING = ("NoSuchKey", "404", "NotFound")
#: botocore's DEBUG records print each request's headers and canonical request, session token included.
_HEADER_LOGGERS = ("botocore.endpoint", "botocore.auth")
_SESSION_TOKEN = re.compile(r"(?i)(x-amz-security-token['\"]?\s*[:=]\s*b?['\"]?)[^'\"\s&,}]+")


class _RedactSessionToken(logging.Filter):
    """Replace the value of ``X-Amz-Security-Token`` in botocore's request logs with ``[redacted]``.

    Temporary credentials (roles, SSO) send their session token as a header on every request;
    botocore logs those headers at DEBUG, so a deployment debugging S3 would otherwise write a
    live credential into its logs (found by the reliability suite's secrets scenario).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SESSION_TOKEN.sub(r"\1[redacted]", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def _redact_botocore_logs() -> None:
    for name in _HEADER_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactSessionToken) for f in logger.filters):
            logger.addFilter(_RedactSessionToken())


class S3BlobStore(BlobStore):
    """Objects in one S3 bucket.

    Args:
        bucket: the bucket name (``HAVEN_S3_BUCKET``).
        endpoint_url: a non-AWS endpoint (``HAVEN_S3_ENDPOINT_URL``: R2, MinIO, a local test server).
        region: the region (``HAVEN_S3_REGION``).
        public_url_base: where the bucket is served publicly (``HAVEN_S3_PUBLIC_URL_BASE``);
            ``public_url(key)`` is this base plus the key.
        presign_seconds: when there is no public base, lifetime of presigned GET URLs.
        client: a ready boto3 S3 client (otherwise one is built with :data:`DEFAULT_CONFIG`).
    """

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        public_url_base: str | None = None,
        presign_seconds: int | None = None,
        client: Any = None,
    ):
        if not bucket:
            raise BlobStoreError("bucket: empty; set HAVEN_S3_BUCKET")
        if presign_seconds is not None and not 1 <= presign_seconds <= 7 * 24 * 3600:
            raise BlobStoreError("presign_seconds: must be between 1 second and 7 days")
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self.public_url_base = public_url_base.rstrip("/") if public_url_base else None
        self.presign_seconds = presign_seconds
        self._bucket_seen = False
        _redact_botocore_logs()
        self._client = client or boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url, region_name=region, config=DEFAULT_CONFIG
        )

    def __repr__(self) -> str:
        return f"S3BlobStore(bucket={self.bucket!r}, endpoint_url={self.endpoint_url!r})"

    def close(self) -> None:
        """Close the client's connection pool."""
        self._client.close()

    def _fail(self, action: str, key: str, exc: Exception) -> BlobStoreError:
        if isinstance(exc, ClientError):
            err = exc.response.get("Error", {})
            code = str(err.get("Code") or "unknown")
            message = str(err.get("Message") or "")[:200]
            if code in _MISSING:
                return BlobNotFound(f"no stored object {key!r} in bucket {self.bucket!r}")
            detail = f"{code}{f': {message}' if message else ''}"
        else:
            detail = type(exc).__name__
        return BlobStoreError(f"S3 {action} of {key!r} in bucket {self.bucket!r} failed ({detail})")

    def put(self, key: str, data: bytes, content_type: str) -> StoredBlob:
        """Upload ``data`` (a single PUT: readers see the old object or the new one, never half)."""
        try:
            self._client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("put", key, exc) from None
        return StoredBlob(key=key, url=self.url(key), size=len(data), content_type=content_type)

    def get(self, key: str) -> bytes:
        """Download the object; :class:`BlobNotFound` when absent."""
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=key)
            with response["Body"] as body:
                return body.read()
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("get", key, exc) from None

    def exists(self, key: str) -> bool:
        """Whether the object exists (a HEAD request)."""
        try:
            self._client.head_object(Bucket=self.bucket, Key=key)
            self._bucket_seen = True
            return True
        except (ClientError, BotoCoreError) as exc:
            err = self._fail("head", key, exc)
            if not isinstance(err, BlobNotFound):
                raise err from None
        # A HEAD answers a bare 404 for a missing bucket too; a misconfigured bucket must be loud,
        # not look like an empty one. Checked once per store.
        if not self._bucket_seen:
            try:
                self._client.head_bucket(Bucket=self.bucket)
            except (ClientError, BotoCoreError) as exc:
                detail = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else type(exc).__name__
                if str(detail) in _MISSING:
                    detail = "NoSuchBucket"
                raise BlobStoreError(f"S3 head of {key!r} in bucket {self.bucket!r} failed ({detail})") from None
            self._bucket_seen = True
        return False

    def delete(self, key: str) -> None:
        """Delete the object (S3 answers success for a missing key too)."""
        try:
            self._client.delete_object(Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise self._fail("delete", key, exc) from None

    def url(self, key: str) -> str:
        """A stable URL to record: the public URL when there is a public base, else ``s3://bucket/key``.

        Never a presigned URL: those expire, and one made from temporary credentials carries the
        session token, which must not end up in the database. Ask :meth:`public_url` when a
        fetchable URL is needed.
        """
        if self.public_url_base:
            return f"{self.public_url_base}/{quote(key)}"
        return f"s3://{self.bucket}/{key}"

    def permanent_url(self, key: str) -> str | None:
        """The public base plus the key when the bucket has a public base, else None (never presigned)."""
        return f"{self.public_url_base}/{quote(key)}" if self.public_url_base else None

    def public_url(self, key: str) -> str | None:
        """A URL Shopify can fetch: the public base plus the key, else a presigned GET, else None."""
        if self.public_url_base:
            return f"{self.public_url_base}/{quote(key)}"
        if self.presign_seconds:
            try:
                return self._client.generate_presigned_url(
                    "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=self.presign_seconds
                )
            except (ClientError, BotoCoreError) as exc:
                raise self._fail("presign", key, exc) from None
        return None
