"""An S3 API on loopback for the object storage tests: moto in server mode.

moto runs as its own process (``python -m moto.server``), not as a thread of the test run:
the client under test then talks to a server exactly as to a remote one, over a socket, with
none of moto's in-process machinery (it hooks into botocore when imported) in the process
that runs kbundle, no server thread competing with the test for the interpreter, and a
server a test may stop. The process is tied to the test run (``PR_SET_PDEATHSIG``), so a
killed run leaves no server behind.

With ``require_auth``, moto checks every request's credentials as AWS would (its
``INITIAL_NO_AUTH_ACTION_COUNT=0``): the made-up test keys are then refused, for tests of
"access denied".
"""

from __future__ import annotations

import socket
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testbed.processes import ManagedProcess

REGION = "us-east-1"
BUCKET = "kbundle-tests"
ACCESS_KEY = "kbundle-test-key"
SECRET_KEY = "kbundle-test-secret"  # moto accepts any pair unless require_auth
_START_TIMEOUT = 30.0
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy


class S3ServerError(RuntimeError):
    """moto's server did not start; the message carries its log tail."""


@dataclass
class S3Server:
    """A running moto server: its endpoint and the environment that reaches it."""

    endpoint: str
    process: ManagedProcess
    bucket: str = BUCKET  # the one the test session creates (``create_bucket()``)

    def env(self) -> dict[str, str]:
        """Variables for a ``kbundle`` subprocess (or ``monkeypatch.setenv``): the endpoint
        through ``AWS_ENDPOINT_URL`` as the AWS CLI takes it, test credentials, a region,
        and no profile or instance metadata lookups from the machine running the tests."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def client(self) -> Any:
        """A boto3 S3 client for the test's own checks (buckets, listings, uploads)."""
        import boto3  # type: ignore[import-untyped]  # noqa: PLC0415 - tests only

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def create_bucket(self, name: str | None = None) -> None:
        self.client().create_bucket(Bucket=name or self.bucket)

    def stop(self) -> None:
        self.process.stop(timeout=5.0)


def start_s3_server(folder: Path, *, require_auth: bool = False) -> S3Server:
    """Start moto's S3 server on a free loopback port, its log in ``folder``; returns once
    it answers HTTP. A port taken between choosing and binding is retried on another."""
    folder.mkdir(parents=True, exist_ok=True)
    last = ""
    for attempt in range(3):
        port = _free_port()
        prefix = ["env", "INITIAL_NO_AUTH_ACTION_COUNT=0"] if require_auth else []
        process = ManagedProcess(
            name="moto",
            args=[*prefix, sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            log_path=folder / "moto.log",
            pid_path=folder / f"moto-{attempt}.pid",
        )
        process.start(tie_to_parent=True)
        endpoint = f"http://127.0.0.1:{port}"
        if _wait_until_serving(endpoint, process):
            return S3Server(endpoint, process)
        last = process.log_tail()
        process.stop(timeout=5.0)
    raise S3ServerError(f"moto's S3 server did not start:\n{last}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_serving(endpoint: str, process: ManagedProcess) -> bool:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if process.exited_with() is not None:
            return False
        try:
            with _DIRECT.open(f"{endpoint}/moto-api/", timeout=1.0):
                return True
        except urllib.error.HTTPError:
            return True  # it answered: serving
        except OSError:
            time.sleep(0.05)
    return False
