"""Photos in S3-compatible object storage (AWS S3, MinIO, Aliyun OSS, Tencent COS…) via boto3,
by the key the attachment rule chose (content-addressed, so a key that exists holds the same
bytes and is not written again)."""
from __future__ import annotations

import io
from typing import Any, BinaryIO, Mapping

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

MISSING = {"404", "NoSuchKey", "NotFound"}

CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


class S3Storage:
    """The PhotoStorage of models/tickets/attachments.py on one bucket (under a key prefix)."""

    def __init__(self, bucket: str, *, prefix: str = "", client: Any = None, **client_options):
        self.bucket = bucket
        self.prefix = prefix
        self.client = client or boto3.client(
            "s3", config=BotoConfig(retries={"max_attempts": 3, "mode": "standard"},
                                    connect_timeout=5, read_timeout=30), **client_options)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "S3Storage":
        return cls(config["S3_BUCKET"], prefix=config.get("S3_PREFIX") or "",
                   endpoint_url=config.get("S3_ENDPOINT_URL"),
                   region_name=config.get("S3_REGION"),
                   aws_access_key_id=config.get("S3_ACCESS_KEY_ID"),
                   aws_secret_access_key=config.get("S3_SECRET_ACCESS_KEY"))

    def save(self, content: bytes, name: str) -> str:
        """Write once: a content-addressed name that exists already holds the same bytes."""
        if not self._exists(name):
            content_type = CONTENT_TYPES.get(name.rsplit(".", 1)[-1], "application/octet-stream")
            self.client.put_object(Bucket=self.bucket, Key=self.prefix + name, Body=content,
                                   ContentType=content_type)
        return name

    def open(self, key: str) -> BinaryIO:
        """The stored object for reading; FileNotFoundError when it is not there."""
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in MISSING:
                raise FileNotFoundError(key) from None
            raise
        with answer["Body"] as body:
            return io.BytesIO(body.read())

    def _exists(self, name: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.prefix + name)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in MISSING:
                return False
            raise
        return True
