"""A real S3 endpoint on a loopback socket: moto's ``ThreadedMotoServer`` on a free port.

Tests talk to it with a normal boto3 client (nothing is patched). moto keeps its state per
process, so each test should use its own bucket name.
"""

from __future__ import annotations

import logging

from moto.server import ThreadedMotoServer

#: Credentials moto accepts; never real ones.
FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing-access-key",
    "AWS_SECRET_ACCESS_KEY": "testing-secret-key-do-not-leak",
    "AWS_SESSION_TOKEN": "testing-session-token",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
}


class MotoS3Server:
    """Start and stop a threaded moto server on 127.0.0.1; ``endpoint_url`` is where it listens."""

    def __init__(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.endpoint_url = ""

    def start(self) -> MotoS3Server:
        """Serve in a daemon thread (werkzeug's per-request log lines silenced)."""
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket (moto's stop leaves it open)."""
        self._server.stop()
        inner = getattr(self._server, "_server", None)
        if inner is not None:
            inner.server_close()

    def __enter__(self) -> MotoS3Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
