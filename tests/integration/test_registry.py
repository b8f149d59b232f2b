"""Bundles in a real OCI registry (Debian's docker-registry, the CNCF distribution registry,
on loopback) and in OCI layouts: what is stored, what comes back, and what is refused.

No cluster here: these tests prove the transfer layer (``kbundle.remote.oci``); the verbs'
tests prove that a pulled bundle is verified before anything reaches a cluster.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import oras.layout  # type: ignore[import-untyped]
import oras.provider  # type: ignore[import-untyped]
import pytest

from kbundle.bundle.reader import read_manifest_bytes
from kbundle.bundle.writer import BundleWriter, created_at
from kbundle.core.errors import RemoteError
from kbundle.core.model import Manifest
from kbundle.remote.artifact import (
    ANNOTATION_CREATED,
    ANNOTATION_FORMAT_VERSION,
    ANNOTATION_NAMESPACES,
    ANNOTATION_OBJECTS,
    ANNOTATION_SOURCE_CONTEXT,
    ANNOTATION_SOURCE_SERVER_VERSION,
    ANNOTATION_TITLE,
    ANNOTATION_TOOL_VERSION,
    ARTIFACT_TYPE,
    MEDIA_TYPE_BUNDLE,
    MEDIA_TYPE_EMPTY,
    MEDIA_TYPE_MANIFEST,
    MEDIA_TYPE_OCI_MANIFEST,
    digest_of,
)
from kbundle.remote.errors import DigestMismatch, NotAKbundleArtifact, NotFound, Unauthorized
from kbundle.remote.oci import pull_bundle, pull_manifest, push_bundle, resolve
from kbundle.remote.refs import LayoutRef, OciRef, RemoteOptions
from testbed.forwarder import CountingForwarder
from testbed.registry import LocalRegistry
from tests.bundle_samples import MTIME, add_sample_files, sample_manifest
from tests.kube import unique_name

PLAIN = RemoteOptions(plain_http=True)
REPO_ROOT = Path(__file__).resolve().parents[2]


class Bundle:
    """A bundle file with the facts a push needs (read the way the verbs read them)."""

    def __init__(self, path: Path, manifest: Manifest) -> None:
        self.path, self.manifest = path, manifest
        self.manifest_yaml = read_manifest_bytes(path)

    def push(self, ref: OciRef | LayoutRef, options: RemoteOptions = PLAIN) -> str:
        return push_bundle(self.path, self.manifest_yaml, self.manifest, ref, options)


@pytest.fixture()
def bundle(tmp_path: Path) -> Bundle:
    """A sample bundle of its own: a registry keeps one copy of each blob for all its
    repositories, so a test that tampers with one must not share it with another test."""
    path = tmp_path / "shop.kbundle"
    mtime = MTIME + secrets.randbelow(10**8)
    with BundleWriter(path, mtime=mtime) as writer:
        manifest = sample_manifest(add_sample_files(writer), created_at=created_at(mtime))
        writer.finish(manifest)
    return Bundle(path, manifest)


@pytest.fixture()
def big_bundle(tmp_path: Path, bundle: Bundle) -> Bundle:
    """8 MiB of incompressible bytes carrying a real manifest: the registry layer does not
    read the bundle, and a size that dwarfs the manifest makes byte counts telling."""
    path = tmp_path / "big.kbundle"
    path.write_bytes(os.urandom(8 * 1024 * 1024))
    big = Bundle.__new__(Bundle)
    big.path, big.manifest, big.manifest_yaml = path, bundle.manifest, bundle.manifest_yaml
    return big


def ref_in(registry: LocalRegistry | CountingForwarder, tag: str = "v1", repo: str = "") -> OciRef:
    return OciRef(registry.host, repo or f"team/{unique_name('shop')}", tag)


def http(
    registry: LocalRegistry,
    method: str,
    path: str,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """A plain request to the registry's HTTP API, as any client would send it."""
    request = urllib.request.Request(
        f"{registry.url}{path}", data=data, method=method, headers=headers or {}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def registry_manifest(registry: LocalRegistry, ref: OciRef) -> tuple[dict[str, str], bytes]:
    status, headers, body = http(
        registry,
        "GET",
        f"/v2/{ref.repository}/manifests/{ref.reference}",
        headers={"Accept": MEDIA_TYPE_OCI_MANIFEST},
    )
    assert status == 200, body
    return headers, body


def upload_blob(registry: LocalRegistry, repository: str, content: bytes) -> str:
    """POST an upload session, PUT the bytes with their digest: the spec's monolithic push."""
    digest = digest_of(content)
    status, headers, _ = http(registry, "POST", f"/v2/{repository}/blobs/uploads/", b"")
    assert status == 202
    location = headers["Location"]
    separator = "&" if "?" in location else "?"
    url = location if location.startswith("http") else f"{registry.url}{location}"
    request = urllib.request.Request(
        f"{url}{separator}digest={digest}",
        data=content,
        method="PUT",
        headers={"Content-Type": "application/octet-stream"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 201
    return digest


def put_manifest(registry: LocalRegistry, repository: str, tag: str, raw: bytes) -> None:
    status, _, body = http(
        registry,
        "PUT",
        f"/v2/{repository}/manifests/{tag}",
        raw,
        {"Content-Type": MEDIA_TYPE_OCI_MANIFEST},
    )
    assert status == 201, body


# -- round trips ----------------------------------------------------------------------------


def test_push_then_pull_gives_the_same_bytes(
    registry: LocalRegistry, bundle: Bundle, tmp_path: Path
) -> None:
    ref = ref_in(registry)
    digest = bundle.push(ref)
    pulled = pull_bundle(ref, tmp_path / "pulled", PLAIN)
    assert pulled.read_bytes() == bundle.path.read_bytes()
    assert pulled.name == "shop.kbundle"
    assert pull_manifest(ref, PLAIN) == bundle.manifest_yaml
    assert resolve(ref, PLAIN) == digest


def test_the_artifact_manifest_read_from_the_registry_api_is_the_documented_one(
    registry: LocalRegistry, bundle: Bundle
) -> None:
    ref = ref_in(registry)
    digest = bundle.push(ref)
    headers, raw = registry_manifest(registry, ref)
    assert headers["Content-Type"] == MEDIA_TYPE_OCI_MANIFEST
    assert headers["Docker-Content-Digest"] == digest == digest_of(raw)
    doc = json.loads(raw)
    assert doc["schemaVersion"] == 2
    assert doc["mediaType"] == MEDIA_TYPE_OCI_MANIFEST
    assert doc["artifactType"] == ARTIFACT_TYPE == "application/vnd.kbundle.bundle.v1"
    assert doc["config"] == {
        "mediaType": MEDIA_TYPE_EMPTY,
        "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
        "size": 2,
        "data": "e30=",
    }
    bundle_layer, manifest_layer = doc["layers"]
    assert bundle_layer == {
        "mediaType": MEDIA_TYPE_BUNDLE,
        "digest": digest_of(bundle.path.read_bytes()),
        "size": bundle.path.stat().st_size,
        "annotations": {ANNOTATION_TITLE: "shop.kbundle"},
    }
    assert manifest_layer == {
        "mediaType": MEDIA_TYPE_MANIFEST,
        "digest": digest_of(bundle.manifest_yaml),
        "size": len(bundle.manifest_yaml),
        "annotations": {ANNOTATION_TITLE: "manifest.yaml"},
    }
    assert doc["annotations"] == {
        ANNOTATION_CREATED: bundle.manifest.created_at,
        ANNOTATION_FORMAT_VERSION: bundle.manifest.format_version,
        ANNOTATION_TOOL_VERSION: "0.1.0",
        ANNOTATION_SOURCE_CONTEXT: "kbundle-source",
        ANNOTATION_SOURCE_SERVER_VERSION: "v1.31.0",
        ANNOTATION_NAMESPACES: "shop",
        ANNOTATION_OBJECTS: "4",
    }
    # every blob the manifest names is in the registry, byte for byte
    for descriptor in (doc["config"], bundle_layer, manifest_layer):
        status, _, body = http(
            registry, "GET", f"/v2/{ref.repository}/blobs/{descriptor['digest']}"
        )
        assert status == 200 and digest_of(body) == descriptor["digest"]


def test_oras_pulls_the_same_bundle_file_back(
    registry: LocalRegistry, bundle: Bundle, tmp_path: Path
) -> None:
    """A generic tool (the ORAS client) writes each layer under its title."""
    ref = ref_in(registry)
    bundle.push(ref)
    client = oras.provider.Registry(insecure=True)
    files = client.pull(target=f"{ref.registry}/{ref.repository}:v1", outdir=str(tmp_path / "o"))
    assert sorted(Path(f).name for f in files) == ["manifest.yaml", "shop.kbundle"]
    assert (tmp_path / "o" / "shop.kbundle").read_bytes() == bundle.path.read_bytes()
    assert (tmp_path / "o" / "manifest.yaml").read_bytes() == bundle.manifest_yaml


def test_a_digest_reference_pins_the_bundle_when_the_tag_moves(
    registry: LocalRegistry, bundle: Bundle, big_bundle: Bundle, tmp_path: Path
) -> None:
    ref = ref_in(registry)
    first = bundle.push(ref)
    second = big_bundle.push(ref)
    assert first != second
    pinned = OciRef(ref.registry, ref.repository, digest=first)
    assert pull_bundle(pinned, tmp_path / "a", PLAIN).read_bytes() == bundle.path.read_bytes()
    assert pull_bundle(ref, tmp_path / "b", PLAIN).read_bytes() == big_bundle.path.read_bytes()
    assert resolve(ref, PLAIN) == second


def test_pushing_twice_under_one_tag_is_idempotent(
    registry: LocalRegistry, big_bundle: Bundle
) -> None:
    ref = ref_in(registry)
    with CountingForwarder(registry.port) as forwarder:
        via = OciRef(forwarder.host, ref.repository, "v1")
        first = big_bundle.push(via)
        uploaded_first = forwarder.received
        forwarder.reset()
        second = big_bundle.push(via)
        uploaded_second = forwarder.received
    assert first == second
    status, _, body = http(registry, "GET", f"/v2/{ref.repository}/tags/list")
    assert status == 200 and json.loads(body)["tags"] == ["v1"]
    assert uploaded_first > 8 * 1024 * 1024
    assert uploaded_second < 16 * 1024  # blobs already there: HEADs and the manifest


# -- what is refused ------------------------------------------------------------------------


def test_a_blob_changed_in_the_registry_storage_is_refused_at_pull(
    registry: LocalRegistry, bundle: Bundle, tmp_path: Path
) -> None:
    ref = ref_in(registry)
    bundle.push(ref)
    stored = registry.blob_path(digest_of(bundle.path.read_bytes()))
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one byte changed
    stored.write_bytes(bytes(data))
    into = tmp_path / "pulled"
    with pytest.raises(DigestMismatch, match=r"changed where it is stored") as caught:
        pull_bundle(ref, into, PLAIN)
    assert str(ref) in caught.value.message and "\n" not in caught.value.message
    assert list(into.iterdir()) == []  # nothing complete-looking, no partial file either


def test_a_truncated_blob_in_the_registry_storage_is_refused_at_pull(
    registry: LocalRegistry, bundle: Bundle, tmp_path: Path
) -> None:
    ref = ref_in(registry)
    bundle.push(ref)
    stored = registry.blob_path(digest_of(bundle.path.read_bytes()))
    stored.write_bytes(stored.read_bytes()[:-10])
    with pytest.raises(DigestMismatch):
        pull_bundle(ref, tmp_path / "pulled", PLAIN)
    assert list((tmp_path / "pulled").iterdir()) == []


def test_a_changed_manifest_layer_is_refused_by_pull_manifest(
    registry: LocalRegistry, bundle: Bundle
) -> None:
    ref = ref_in(registry)
    bundle.push(ref)
    stored = registry.blob_path(digest_of(bundle.manifest_yaml))
    stored.write_bytes(stored.read_bytes().replace(b"shop", b"evil"))
    with pytest.raises(DigestMismatch):
        pull_manifest(ref, PLAIN)


def test_another_artifact_type_is_not_a_kbundle_artifact(
    registry: LocalRegistry, tmp_path: Path
) -> None:
    repository = f"team/{unique_name('other')}"
    layer = upload_blob(registry, repository, b"hello")
    config = upload_blob(registry, repository, b"{}")
    manifest = {
        "schemaVersion": 2,
        "mediaType": MEDIA_TYPE_OCI_MANIFEST,
        "artifactType": "application/vnd.example.thing.v1",
        "config": {"mediaType": MEDIA_TYPE_EMPTY, "digest": config, "size": 2},
        "layers": [{"mediaType": "text/plain", "digest": layer, "size": 5}],
    }
    put_manifest(registry, repository, "v1", json.dumps(manifest).encode())
    ref = OciRef(registry.host, repository, "v1")
    for attempt in (lambda: pull_bundle(ref, tmp_path, PLAIN), lambda: pull_manifest(ref, PLAIN)):
        with pytest.raises(NotAKbundleArtifact, match="this is not a kbundle artifact"):
            attempt()


def test_a_missing_tag_is_not_found_naming_the_tag(registry: LocalRegistry, bundle: Bundle) -> None:
    ref = ref_in(registry)
    bundle.push(ref)
    missing = OciRef(ref.registry, ref.repository, "v9")
    with pytest.raises(NotFound, match=r"no tag 'v9'") as caught:
        pull_manifest(missing, PLAIN)
    assert caught.value.hint and "oras repo tags" in caught.value.hint


def test_https_to_a_plain_http_registry_says_to_pass_plain_http(
    registry: LocalRegistry, bundle: Bundle
) -> None:
    with pytest.raises(RemoteError, match="does not speak HTTPS") as caught:
        bundle.push(ref_in(registry), RemoteOptions())
    assert caught.value.hint == "if it serves plain HTTP, pass --plain-http"


def test_pull_manifest_fetches_only_the_small_layer(
    registry: LocalRegistry, big_bundle: Bundle, tmp_path: Path
) -> None:
    ref = ref_in(registry)
    big_bundle.push(ref)
    with CountingForwarder(registry.port) as forwarder:
        via = OciRef(forwarder.host, ref.repository, "v1")
        assert pull_manifest(via, PLAIN) == big_bundle.manifest_yaml
        inspect_bytes = forwarder.served
        forwarder.reset()
        pull_bundle(via, tmp_path / "whole", PLAIN)
        pull_bytes = forwarder.served
    size = big_bundle.path.stat().st_size
    assert inspect_bytes < len(big_bundle.manifest_yaml) + 16 * 1024  # manifests + headers
    assert pull_bytes > size  # the counter does see a whole download


def test_an_interrupted_push_leaves_no_tag(
    registry: LocalRegistry, big_bundle: Bundle, tmp_path: Path
) -> None:
    """The pushing process is killed halfway through the bundle's upload."""
    ref = ref_in(registry)
    script = tmp_path / "push.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys, time
            from pathlib import Path
            from kbundle.remote.oci import push_bundle
            from kbundle.remote.refs import OciRef, RemoteOptions
            from tests.bundle_samples import sample_manifest

            def halfway(done, total, what):
                if what == "big.kbundle" and done > total // 2:
                    print("halfway", flush=True)
                    time.sleep(60)

            push_bundle(
                Path({str(big_bundle.path)!r}), b"kind: KbundleManifest\\n",
                sample_manifest(()), OciRef({ref.registry!r}, {ref.repository!r}, "v1"),
                RemoteOptions(plain_http=True), halfway,
            )
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    with subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, env=env, cwd=REPO_ROOT
    ) as pusher:
        assert pusher.stdout is not None
        assert pusher.stdout.readline() == b"halfway\n"
        pusher.send_signal(signal.SIGKILL)
        pusher.wait(timeout=30)
    status, _, _ = http(registry, "GET", f"/v2/{ref.repository}/manifests/v1")
    assert status == 404
    status, _, _ = http(
        registry, "HEAD", f"/v2/{ref.repository}/blobs/{digest_of(big_bundle.path.read_bytes())}"
    )
    assert status == 404  # the half-sent upload never became a blob
    with pytest.raises(NotFound):
        pull_manifest(ref, PLAIN)


# -- credentials ----------------------------------------------------------------------------


@pytest.fixture()
def no_docker_login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home without ~/.docker, and no $DOCKER_CONFIG."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("DOCKER_CONFIG", raising=False)
    return home


def test_without_credentials_the_error_names_where_they_are_read_from(
    registry_with_auth: LocalRegistry, bundle: Bundle, no_docker_login: Path
) -> None:
    ref = ref_in(registry_with_auth)
    with pytest.raises(Unauthorized) as caught:
        bundle.push(ref)
    error = caught.value
    assert str(ref) in error.message
    assert str(no_docker_login / ".docker" / "config.json") in error.message
    assert error.hint and "--registry-config" in error.hint and "docker login" in error.hint


def test_the_docker_config_logs_in_to_push_and_pull(
    registry_with_auth: LocalRegistry,
    bundle: Bundle,
    no_docker_login: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    credentials = registry_with_auth.credentials
    assert credentials is not None
    ref = ref_in(registry_with_auth)
    monkeypatch.setenv("DOCKER_CONFIG", str(credentials.docker_config))
    digest = bundle.push(ref)
    assert pull_bundle(ref, tmp_path / "p", PLAIN).read_bytes() == bundle.path.read_bytes()
    monkeypatch.delenv("DOCKER_CONFIG")
    named = RemoteOptions(
        plain_http=True, registry_config=credentials.docker_config / "config.json"
    )
    assert pull_manifest(ref, named) == bundle.manifest_yaml
    assert resolve(ref, named) == digest
    # ~/.docker/config.json, where `docker login` writes
    (no_docker_login / ".docker").mkdir()
    shutil.copy(credentials.docker_config / "config.json", no_docker_login / ".docker")
    assert pull_manifest(ref, PLAIN) == bundle.manifest_yaml


def test_a_wrong_password_is_refused_without_showing_it(
    registry_with_auth: LocalRegistry, bundle: Bundle, no_docker_login: Path
) -> None:
    wrong = no_docker_login / "wrong.json"
    token = "a2JlbmRsZTpub3QtdGhlLXBhc3N3b3Jk"  # kbundle:not-the-password
    wrong.write_text(json.dumps({"auths": {registry_with_auth.host: {"auth": token}}}))
    options = RemoteOptions(plain_http=True, registry_config=wrong)
    with pytest.raises(Unauthorized, match="refused the credentials") as caught:
        bundle.push(ref_in(registry_with_auth), options)
    shown = f"{caught.value.message} {caught.value.hint}"
    assert "not-the-password" not in shown and token not in shown


def test_bearer_tokens_from_the_registrys_realm_push_and_pull(
    registry_with_token_auth: LocalRegistry,
    bundle: Bundle,
    no_docker_login: Path,
    tmp_path: Path,
) -> None:
    """oras' token flow: the registry challenges, the realm issues a token for the Basic
    credentials, and a push asks again for the wider pull+push scope."""
    registry, issuer = registry_with_token_auth, registry_with_token_auth.token_issuer
    assert registry.credentials is not None and issuer is not None
    ref = ref_in(registry)
    options = RemoteOptions(
        plain_http=True, registry_config=registry.credentials.docker_config / "config.json"
    )
    issuer.granted.clear()
    digest = bundle.push(ref, options)
    # The registry names the actions of a scope in no fixed order ("push,pull" or "pull,push").
    granted = [scope.rpartition(":") for scope in issuer.granted]
    assert [(head, set(actions.split(","))) for head, _, actions in granted] == [
        (f"repository:{ref.repository}", {"pull"}),
        (f"repository:{ref.repository}", {"pull", "push"}),
    ]
    assert pull_bundle(ref, tmp_path / "p", options).read_bytes() == bundle.path.read_bytes()
    assert resolve(ref, options) == digest
    with pytest.raises(Unauthorized, match="needs credentials"):
        pull_manifest(ref, PLAIN)  # no Docker config: the realm gives no token


# -- OCI layouts ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["layout", "layout.tar"])
def test_a_layout_round_trip_keeps_other_tags(
    bundle: Bundle, big_bundle: Bundle, tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    first = bundle.push(LayoutRef(path, "v1"))
    big_bundle.push(LayoutRef(path, "v2"))
    assert bundle.push(LayoutRef(path, "v1")) == first  # again: same digest, tags unchanged
    v1 = pull_bundle(LayoutRef(path, "v1"), tmp_path / "a", PLAIN)
    v2 = pull_bundle(LayoutRef(path, "v2"), tmp_path / "b", PLAIN)
    assert v1.read_bytes() == bundle.path.read_bytes()
    assert v2.read_bytes() == big_bundle.path.read_bytes()
    assert pull_manifest(LayoutRef(path, "v2"), PLAIN) == bundle.manifest_yaml
    with pytest.raises(NotFound, match=r"no tag 'v3' in the layout \(it has v1, v2\)"):
        pull_bundle(LayoutRef(path, "v3"), tmp_path / "c", PLAIN)


def test_a_layout_copied_into_the_registry_comes_back_identical(
    registry: LocalRegistry, bundle: Bundle, tmp_path: Path
) -> None:
    """What `oras cp --from-oci-layout` or `skopeo copy oci:` do: every blob, then the
    manifest under a tag, copied as bytes with plain HTTP requests."""
    layout = tmp_path / "layout"
    digest = bundle.push(LayoutRef(layout, "v1"))
    index = json.loads((layout / "index.json").read_text())
    (entry,) = index["manifests"]
    assert entry["annotations"] == {"org.opencontainers.image.ref.name": "v1"}
    assert json.loads((layout / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    raw = (layout / "blobs/sha256" / digest.split(":")[1]).read_bytes()
    assert digest_of(raw) == digest == entry["digest"] and len(raw) == entry["size"]
    ref = ref_in(registry)
    doc: dict[str, Any] = json.loads(raw)
    for descriptor in (doc["config"], *doc["layers"]):
        blob = layout / "blobs/sha256" / descriptor["digest"].split(":")[1]
        assert upload_blob(registry, ref.repository, blob.read_bytes()) == descriptor["digest"]
    put_manifest(registry, ref.repository, "v1", raw)
    assert registry_manifest(registry, ref)[1] == raw
    assert resolve(ref, PLAIN) == digest
    pulled = pull_bundle(ref, tmp_path / "pulled", PLAIN)
    assert pulled.read_bytes() == bundle.path.read_bytes()


def test_the_oras_library_reads_a_layout_kbundle_wrote_and_writes_one_kbundle_reads(
    registry: LocalRegistry, bundle: Bundle, tmp_path: Path
) -> None:
    """Another implementation of the layout spec: oras' layout validates kbundle's layout
    and pushes it to the registry; oras pulls it back into a new layout kbundle reads."""
    layout = tmp_path / "ours"
    digest = bundle.push(LayoutRef(layout, "v1"))
    ref = ref_in(registry)
    client = oras.provider.Registry(insecure=True)
    oras.layout.NewLayout(str(layout)).push_to_registry(
        client, f"{ref.registry}/{ref.repository}:v1", tag="v1"
    )
    assert resolve(ref, PLAIN) == digest
    theirs = tmp_path / "theirs"
    oras.layout.NewLayoutFromRegistry(
        str(theirs), client, f"{ref.registry}/{ref.repository}:v1", tag="v2"
    )
    pulled = pull_bundle(LayoutRef(theirs, "v2"), tmp_path / "pulled", PLAIN)
    assert pulled.read_bytes() == bundle.path.read_bytes()


def test_a_blob_changed_in_a_layout_is_refused(bundle: Bundle, tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    bundle.push(LayoutRef(layout, "v1"))
    blob = layout / "blobs/sha256" / digest_of(bundle.path.read_bytes()).split(":")[1]
    blob.write_bytes(blob.read_bytes()[::-1])
    with pytest.raises(DigestMismatch):
        pull_bundle(LayoutRef(layout, "v1"), tmp_path / "pulled", PLAIN)
    assert not any((tmp_path / "pulled").iterdir())
