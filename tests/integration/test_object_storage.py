"""Bundles in object storage against a real S3 API: moto's server on loopback, in its own
process (``s3_server``). No cluster is needed.

``open_head`` is measured through the testbed's ``CountingForwarder``, a TCP relay between
the client and the server that counts every byte the server sends back (HTTP headers
included): what the network carried, not what the client says it asked for.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from kbundle.bundle.reader import read_manifest_bytes
from kbundle.core.errors import RemoteError
from kbundle.remote.refs import RemoteOptions, StorageRef
from kbundle.remote.storage import download, open_head, upload
from testbed.forwarder import CountingForwarder
from testbed.s3 import SECRET_KEY, S3Server, start_s3_server
from tests.bundle_samples import pack, regular, write_sample_bundle
from tests.cli import run_kbundle
from tests.kube import unique_name

MiB = 1024 * 1024
PART = 5 * MiB  # S3's smallest part: anything larger is uploaded in several
SMALL_PARTS = {"default_block_size": str(PART)}
FAIL_FAST = {"config_kwargs": '{"retries": {"max_attempts": 1}}'}


@pytest.fixture()
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """This process's environment pointed at the server, as a user's shell would be."""
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    return s3_server


def ref_to(server: S3Server, name: str, bucket: str | None = None) -> StorageRef:
    return StorageRef(f"s3://{bucket or server.bucket}/{unique_name('t')}/{name}", "s3")


def key_of(ref: StorageRef) -> str:
    return ref.url.split("/", 3)[3]


def keys_under(server: S3Server, prefix: str) -> list[str]:
    listing = server.client().list_objects_v2(Bucket=server.bucket, Prefix=prefix)
    return [entry["Key"] for entry in listing.get("Contents", [])]


def random_file(path: Path, size: int) -> Path:
    path.write_bytes(os.urandom(size))
    return path


def test_upload_then_download_gives_the_same_bytes_in_several_parts(
    s3_env: S3Server, tmp_path: Path
) -> None:
    bundle = random_file(tmp_path / "big.kbundle", 12 * MiB + 123)
    ref = ref_to(s3_env, "big.kbundle")
    options = RemoteOptions(storage_options=SMALL_PARTS)
    sent: list[tuple[int, int, str]] = []

    upload(bundle, ref, options, lambda *args: sent.append(args))

    head = s3_env.client().head_object(Bucket=s3_env.bucket, Key=key_of(ref))
    assert head["ContentLength"] == bundle.stat().st_size
    assert head["ETag"].strip('"').endswith("-3")  # a multipart upload of three parts
    assert sent[-1] == (bundle.stat().st_size, bundle.stat().st_size, ref.url)
    received: list[tuple[int, int, str]] = []
    local = download(ref, tmp_path / "private", options, lambda *args: received.append(args))
    assert local.parent == tmp_path / "private"
    assert local.read_bytes() == bundle.read_bytes()
    assert received[-1][:2] == (bundle.stat().st_size, bundle.stat().st_size)


@pytest.fixture()
def counting_proxy(s3_server: S3Server) -> Iterator[CountingForwarder]:
    with CountingForwarder(int(s3_server.endpoint.rsplit(":", 1)[1])) as forwarder:
        yield forwarder


def test_open_head_fetches_only_the_first_bytes(
    s3_env: S3Server, tmp_path: Path, counting_proxy: CountingForwarder
) -> None:
    manifest = b"formatVersion: '1.0'\n# the first member, as in every bundle\n"
    bundle = tmp_path / "big.kbundle"
    bundle.write_bytes(
        pack([regular("manifest.yaml", manifest), regular("objects/big", os.urandom(8 * MiB))])
    )
    ref = ref_to(s3_env, "big.kbundle")
    upload(bundle, ref, RemoteOptions())

    endpoint = f"http://{counting_proxy.host}"
    through_proxy = RemoteOptions(storage_options={"endpoint_url": endpoint})
    with open_head(ref, through_proxy) as stream:
        assert read_manifest_bytes(stream) == manifest
    fetched = counting_proxy.served

    size = bundle.stat().st_size
    print(f"open_head: {fetched} bytes from the server for the manifest of a {size}-byte object")
    assert 0 < fetched < 80 * 1024  # one 64 KiB range and the HEAD, headers included
    assert fetched < size / 100


def test_a_missing_object_is_named(s3_env: S3Server, tmp_path: Path) -> None:
    ref = ref_to(s3_env, "missing.kbundle")
    with pytest.raises(RemoteError) as raised:
        download(ref, tmp_path / "private", RemoteOptions())
    assert raised.value.message == f"{ref}: no such object in bucket '{s3_env.bucket}'"
    with pytest.raises(RemoteError, match="no such object"), open_head(ref, RemoteOptions()):
        pass
    assert not any((tmp_path / "private").iterdir())


def test_a_prefix_of_other_keys_is_not_an_object(s3_env: S3Server, tmp_path: Path) -> None:
    inside = ref_to(s3_env, "shop.kbundle")
    upload(random_file(tmp_path / "b.kbundle", 100), inside, RemoteOptions())
    prefix = StorageRef(inside.url.rsplit("/", 1)[0], "s3")
    with pytest.raises(RemoteError, match=r"no such object"):
        download(prefix, tmp_path / "private", RemoteOptions())
    with pytest.raises(RemoteError, match=r"no such object"), open_head(prefix, RemoteOptions()):
        pass


def test_a_missing_bucket_is_named(s3_env: S3Server, tmp_path: Path) -> None:
    ref = ref_to(s3_env, "shop.kbundle", bucket="no-such-bucket")
    expected = f"{ref}: no such bucket 'no-such-bucket' at {s3_env.endpoint}"
    with pytest.raises(RemoteError) as raised:
        download(ref, tmp_path / "private", RemoteOptions())
    assert raised.value.message == expected
    bundle = random_file(tmp_path / "b.kbundle", 1000)
    with pytest.raises(RemoteError) as raised:
        upload(bundle, ref, RemoteOptions())
    assert raised.value.message == expected


def test_an_upload_stopped_halfway_leaves_no_object(s3_env: S3Server, tmp_path: Path) -> None:
    bundle = random_file(tmp_path / "big.kbundle", 16 * MiB)
    ref = ref_to(s3_env, "cut.kbundle")

    def stop_halfway(done: int, total: int, what: str) -> None:
        if done > total // 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        upload(bundle, ref, RemoteOptions(storage_options=SMALL_PARTS), stop_halfway)

    folder = key_of(ref).rsplit("/", 1)[0]
    assert keys_under(s3_env, folder) == []  # nothing under the key, no temporary key
    uploads = s3_env.client().list_multipart_uploads(Bucket=s3_env.bucket, Prefix=folder)
    assert uploads.get("Uploads", []) == []  # and the parts sent were aborted


def test_an_upload_killed_halfway_leaves_no_complete_looking_object(
    s3_server: S3Server, tmp_path: Path
) -> None:
    bundle = random_file(tmp_path / "big.kbundle", 24 * MiB)
    ref = ref_to(s3_server, "killed.kbundle")
    script = textwrap.dedent(
        """
        import sys, time
        from pathlib import Path
        from kbundle.remote.refs import RemoteOptions, StorageRef
        from kbundle.remote.storage import upload

        def progress(done, total, what):
            if done > total // 2:
                print("halfway", flush=True)
                time.sleep(600)

        options = RemoteOptions(storage_options={"default_block_size": sys.argv[3]})
        upload(Path(sys.argv[1]), StorageRef(sys.argv[2], "s3"), options, progress)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(bundle), ref.url, str(PART)],
        env={**os.environ, **s3_server.env()},
        stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == b"halfway\n"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()

    folder = key_of(ref).rsplit("/", 1)[0]
    assert keys_under(s3_server, folder) == []
    unfinished = s3_server.client().list_multipart_uploads(Bucket=s3_server.bucket, Prefix=folder)
    assert [u["Key"] for u in unfinished.get("Uploads", [])] == [key_of(ref)]  # invisible


def test_aws_endpoint_url_alone_reaches_the_server(
    s3_server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    bundle = random_file(tmp_path / "b.kbundle", 2000)
    ref = ref_to(s3_server, "b.kbundle")
    upload(bundle, ref, RemoteOptions())
    assert download(ref, tmp_path / "private", RemoteOptions()).read_bytes() == (
        bundle.read_bytes()
    )


def test_an_endpoint_storage_option_reaches_the_server(
    s3_env: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    options = RemoteOptions(storage_options={"endpoint_url": s3_env.endpoint})
    bundle = random_file(tmp_path / "b.kbundle", 2000)
    ref = ref_to(s3_env, "b.kbundle")
    upload(bundle, ref, options)
    assert download(ref, tmp_path / "private", options).read_bytes() == bundle.read_bytes()


def test_an_unreachable_endpoint_is_named(s3_env: S3Server, tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    options = RemoteOptions(storage_options={"endpoint_url": closed, **FAIL_FAST})
    ref = ref_to(s3_env, "b.kbundle")
    with pytest.raises(RemoteError) as raised:
        download(ref, tmp_path / "private", options)
    assert raised.value.message == f"{ref}: cannot reach {closed} to download it"


@pytest.fixture(scope="module")
def s3_with_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A second server that checks credentials as AWS does: the test keys are unknown."""
    server = start_s3_server(tmp_path_factory.mktemp("s3-auth"), require_auth=True)
    yield server
    server.stop()


def test_access_denied_says_where_credentials_come_from(
    s3_with_auth: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in s3_with_auth.env().items():
        monkeypatch.setenv(name, value)
    ref = ref_to(s3_with_auth, "b.kbundle")
    with pytest.raises(RemoteError) as raised:
        download(ref, tmp_path / "private", RemoteOptions())
    assert raised.value.message == f"{ref}: access denied to download it"
    assert "AWS_ACCESS_KEY_ID" in (raised.value.hint or "")
    assert SECRET_KEY not in f"{raised.value.message} {raised.value.hint}"


def test_kbundle_verifies_a_bundle_in_s3_with_the_servers_environment(
    s3_server: S3Server, tmp_path: Path
) -> None:
    bundle = tmp_path / "shop.kbundle"
    write_sample_bundle(bundle)
    good, tampered = ref_to(s3_server, "shop.kbundle"), ref_to(s3_server, "tampered.kbundle")
    changed = bytearray(bundle.read_bytes())
    changed[len(changed) // 2] ^= 1
    client = s3_server.client()
    client.put_object(Bucket=s3_server.bucket, Key=key_of(good), Body=bundle.read_bytes())
    client.put_object(Bucket=s3_server.bucket, Key=key_of(tampered), Body=bytes(changed))

    verified = run_kbundle("verify", good.url, env=s3_server.env())
    assert verified.returncode == 0, verified.stderr.decode()
    refused = run_kbundle("verify", tampered.url, env=s3_server.env())
    assert refused.returncode == 1
    assert refused.stderr.decode().startswith(f"error: {tampered.url}: ")
