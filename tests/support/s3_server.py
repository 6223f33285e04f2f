"""A real S3-compatible server on loopback for the rejected-records tests: moto's standalone
server in its own process, with request signing enforced (IAM users and their keys).

``S3Server`` creates two users before it enforces authentication: ``writer`` (every S3
action) and ``no_delete`` (every S3 action but DeleteObject), and one bucket, ``rejected``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

BUCKET = "rejected"
REGION = "eu-west-1"
_ALLOW_S3 = {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
_DENY_DELETE = {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}
SETUP_ACTIONS = 6  # IAM calls made before signatures are checked (2 users x 3 calls)


@dataclass(frozen=True)
class Keys:
    access_key_id: str
    secret_access_key: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class S3Server:
    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.writer: Keys | None = None
        self.no_delete: Keys | None = None

    def __enter__(self) -> S3Server:
        moto_server = Path(sys.executable).with_name("moto_server")
        env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(SETUP_ACTIONS)}
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            env.pop(name, None)
        self.process = subprocess.Popen(
            [str(moto_server), "-H", "127.0.0.1", "-p", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:  # a TCP connect, not a request: requests count towards SETUP_ACTIONS
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.__exit__()
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.1)
        iam = boto3.client(
            "iam",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="setup",
            aws_secret_access_key="setup",
        )
        self.writer = self._user(iam, "writer", [_ALLOW_S3])
        self.no_delete = self._user(iam, "no_delete", [_ALLOW_S3, _DENY_DELETE])
        self.client(self.writer).create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)

    @staticmethod
    def _user(iam: Any, name: str, statements: list[dict[str, str]]) -> Keys:
        iam.create_user(UserName=name)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        iam.put_user_policy(
            UserName=name,
            PolicyName=f"{name}-policy",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
        )
        return Keys(key["AccessKeyId"], key["SecretAccessKey"])

    def client(self, keys: Keys | None = None) -> Any:
        keys = keys or self.writer
        assert keys is not None
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=keys.access_key_id,
            aws_secret_access_key=keys.secret_access_key,
            config=Config(s3={"addressing_style": "path"}),
        )

    def storage_config(self, keys: Keys | None = None, **overrides: Any) -> dict[str, Any]:
        """An ``object_storage_config`` pointing at this server."""
        keys = keys or self.writer
        assert keys is not None
        return {
            "storage_type": "S3",
            "access_key_id": keys.access_key_id,
            "secret_access_key": keys.secret_access_key,
            "s3_bucket_name": BUCKET,
            "s3_bucket_region": REGION,
            "s3_endpoint": self.url,
            "bucket_path": "hubspot-lago/rejected",
            **overrides,
        }

    def objects(self, prefix: str = "") -> dict[str, bytes]:
        client = self.client()
        listed = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
        return {
            o["Key"]: client.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listed
        }

    def etag(self, key: str) -> str:
        return str(self.client().head_object(Bucket=BUCKET, Key=key)["ETag"])

    def clear(self) -> None:
        client = self.client()
        for key in self.objects():
            client.delete_object(Bucket=BUCKET, Key=key)
