"""The test bed's registry set-up, without starting it: the config the registry reads, the
htpasswd and Docker config written for it, where blobs live; and the byte counter."""

from __future__ import annotations

import base64
import json
import socket
import threading
from pathlib import Path

import bcrypt
import yaml

from testbed.forwarder import CountingForwarder
from testbed.registry import LocalRegistry


def test_a_plain_registry_listens_on_loopback_and_stores_in_its_folder(tmp_path: Path) -> None:
    registry = LocalRegistry.provision(tmp_path)
    config = yaml.safe_load(registry.config_path.read_text())
    assert config["version"] == 0.1
    assert config["http"]["addr"] == registry.host and registry.host.startswith("127.0.0.1:")
    assert config["storage"]["filesystem"]["rootdirectory"] == str(tmp_path / "storage")
    assert "auth" not in config and registry.credentials is None
    digest = "sha256:" + "ab" * 32
    assert registry.blob_path(digest) == (
        tmp_path / "storage/docker/registry/v2/blobs/sha256/ab" / ("ab" * 32) / "data"
    )


def test_a_registry_with_auth_has_a_bcrypt_htpasswd_and_a_docker_login(tmp_path: Path) -> None:
    registry = LocalRegistry.provision(tmp_path, with_auth=True)
    credentials = registry.credentials
    assert credentials is not None
    config = yaml.safe_load(registry.config_path.read_text())
    htpasswd = Path(config["auth"]["htpasswd"]["path"]).read_text().strip()
    user, _, hashed = htpasswd.partition(":")
    assert user == credentials.user
    assert bcrypt.checkpw(credentials.password.encode(), hashed.encode())
    docker = json.loads((credentials.docker_config / "config.json").read_text())
    token = base64.b64encode(f"{credentials.user}:{credentials.password}".encode()).decode()
    assert docker == {"auths": {registry.host: {"auth": token}}}


def test_a_registry_with_token_auth_trusts_its_issuer(tmp_path: Path) -> None:
    registry = LocalRegistry.provision(tmp_path, with_token_auth=True)
    try:
        issuer = registry.token_issuer
        assert issuer is not None
        token = yaml.safe_load(registry.config_path.read_text())["auth"]["token"]
        assert token["realm"] == issuer.realm and Path(token["rootcertbundle"]).is_file()
        _, claims, _ = issuer.token(["repository:team/shop:pull,push"]).split(".")
        padded = claims + "=" * (-len(claims) % 4)
        access = json.loads(base64.urlsafe_b64decode(padded))["access"]
        assert access == [{"type": "repository", "name": "team/shop", "actions": ["pull", "push"]}]
    finally:
        registry.stop()


def test_the_forwarder_counts_the_bytes_each_way() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:

        def answer() -> None:
            conn, _ = server.accept()
            with conn:
                assert conn.recv(5) == b"hello"
                conn.sendall(b"x" * 100_000)

        thread = threading.Thread(target=answer)
        thread.start()
        with (
            CountingForwarder(server.getsockname()[1]) as forwarder,
            socket.create_connection(("127.0.0.1", forwarder.port)) as client,
        ):
            client.sendall(b"hello")
            received = 0
            while received < 100_000:
                received += len(client.recv(65536))
            assert forwarder.served == 100_000
            assert forwarder.received == 5
        thread.join()
