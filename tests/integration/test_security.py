"""Secrets and signatures end to end: real exports, real imports, nothing printed.

The sample app's Secrets carry known values (``s3cr3t-do-not-print`` and friends); every test
here looks for them where they must never be: the bundle bytes when encrypted, stdout,
stderr, reports, and rendered files other than the private ``*.secrets.yaml``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from kbundle.bundle.layout import member_order
from kbundle.bundle.writer import checksums_text
from kbundle.cluster import Cluster
from testbed import ClusterUnderTest
from tests.bundle_samples import pack, regular, tar_bytes
from tests.cli import on, run_kbundle
from tests.kube import create, read, unique_name
from tests.listener import ConnectionCounter, write_counting_kubeconfig
from tests.oracles import Object, open_bundle

PASSPHRASE = "correct horse battery staple"
PLAIN_SECRETS = ("db-credentials", "registry-pull", "frontend-tls")
# Values of the sample app's Secrets, as written and as the API stores them (base64).
SECRET_VALUES = [
    b"s3cr3t-do-not-print",
    base64.b64encode(b"s3cr3t-do-not-print"),
    b"c2hvcDpodW50ZXIy",
    b"LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t",
]


def assert_no_secret_value(data: bytes, where: str) -> None:
    for value in SECRET_VALUES:
        assert value not in data, f"{value!r} found in {where}"


def export_shop_secrets(cluster: ClusterUnderTest, target: Path, *args: str) -> Any:
    result = run_kbundle(
        "export",
        *on(cluster),
        "-n",
        "shop",
        "--include-kinds",
        "secrets,configmaps",
        "-o",
        str(target),
        *args,
        env={"KBUNDLE_TEST_PASSPHRASE": PASSPHRASE},
    )
    assert result.returncode == 0, result.stderr.decode()
    assert_no_secret_value(result.stdout + result.stderr, "export output")
    return result


@pytest.fixture(scope="module")
def passphrase_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "passphrase"
    path.write_text(PASSPHRASE + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def encrypted_bundle(
    source_cluster: ClusterUnderTest,
    sample_app: list[Object],
    passphrase_file: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    path = tmp_path_factory.mktemp("bundles") / "sealed.kbundle"
    export_shop_secrets(
        source_cluster, path, "--secrets", "encrypt", "--passphrase-file", str(passphrase_file)
    )
    return path


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    private = tmp_path_factory.mktemp("signing") / "team.key"
    result = run_kbundle("keygen", "-o", str(private))
    assert result.returncode == 0, result.stderr.decode()
    return private, Path(f"{private}.pub")


def secret_data(cluster: Cluster, name: str, namespace: str) -> dict[str, str]:
    stored = read(cluster, "v1", "Secret", name, namespace)
    assert stored is not None, f"Secret {namespace}/{name} is missing"
    data: dict[str, str] = stored.get("data") or {}
    return data


def one_error_line(stderr: bytes) -> str:
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: "), lines
    return lines[0]


# -- encryption ------------------------------------------------------------------------------


def test_encrypted_bundle_holds_no_secret_value_and_says_how_it_is_protected(
    encrypted_bundle: Path,
) -> None:
    content = open_bundle(encrypted_bundle)
    secrets = [o for o in content.objects() if o["kind"] == "Secret"]
    assert {s["metadata"]["name"] for s in secrets} >= set(PLAIN_SECRETS)
    assert all("data" not in s and "stringData" not in s for s in secrets)
    assert all(set(s["kbundleEncrypted"]) == {"version", "nonce", "ciphertext"} for s in secrets)
    assert content.manifest["secrets"]["mode"] == "encrypted"
    assert content.manifest["secrets"]["objects"] == len(secrets)
    assert content.manifest["secrets"]["encryption"]["scheme"] == "scrypt-aes-256-gcm"
    assert_no_secret_value(tar_bytes(encrypted_bundle.read_bytes()), "the encrypted bundle")
    assert stat.S_IMODE(encrypted_bundle.stat().st_mode) == 0o600


def test_import_decrypts_every_secret_to_exactly_its_source_value(
    encrypted_bundle: Path,
    source: Cluster,
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    tmp_path: Path,
) -> None:
    namespace = unique_name("sealed")
    report = tmp_path / "report.json"
    result = run_kbundle(
        "import",
        str(encrypted_bundle),
        *on(destination_cluster),
        "--map-namespace",
        f"shop={namespace}",
        "--passphrase-env",
        "KBUNDLE_TEST_PASSPHRASE",
        "--report",
        str(report),
        env={"KBUNDLE_TEST_PASSPHRASE": PASSPHRASE},
    )
    assert result.returncode == 0, result.stderr.decode()
    for name in PLAIN_SECRETS:
        assert secret_data(destination, name, namespace) == secret_data(source, name, "shop")
    assert_no_secret_value(result.stdout + result.stderr, "import output")
    assert_no_secret_value(report.read_bytes(), "the import report")


@pytest.mark.parametrize(
    ("passphrase_args", "env", "exit_code", "message"),
    [
        (
            ["--passphrase-env", "WRONG"],
            {"WRONG": "not the passphrase at all"},
            1,
            "wrong passphrase",
        ),
        ([], {"KBUNDLE_PASSPHRASE": ""}, 2, "KBUNDLE_PASSPHRASE"),
        (["--passphrase-file", "/nonexistent/pass"], {}, 2, "/nonexistent/pass"),
    ],
    ids=["wrong", "missing", "unreadable-file"],
)
def test_a_wrong_or_missing_passphrase_is_refused_before_any_request(
    encrypted_bundle: Path,
    tmp_path: Path,
    passphrase_args: list[str],
    env: dict[str, str],
    exit_code: int,
    message: str,
) -> None:
    with ConnectionCounter() as counter:
        kubeconfig = write_counting_kubeconfig(tmp_path / "kubeconfig", counter.port)
        result = run_kbundle(
            "import",
            str(encrypted_bundle),
            "--kubeconfig",
            str(kubeconfig),
            *passphrase_args,
            env=env,
        )
    assert result.returncode == exit_code
    assert message in one_error_line(result.stderr)
    assert counter.connections == 0
    assert b"not the passphrase" not in result.stderr


def test_render_writes_secrets_only_to_private_files(
    encrypted_bundle: Path, source: Cluster, passphrase_file: Path, tmp_path: Path
) -> None:
    refused = run_kbundle(
        "render",
        str(encrypted_bundle),
        "-o",
        str(tmp_path / "nope"),
        env={"KBUNDLE_PASSPHRASE": ""},
    )
    assert refused.returncode == 2
    assert "passphrase" in one_error_line(refused.stderr)
    assert not (tmp_path / "nope").exists()

    folder = tmp_path / "rendered"
    result = run_kbundle(
        "render",
        str(encrypted_bundle),
        "-o",
        str(folder),
        "--passphrase-file",
        str(passphrase_file),
    )
    assert result.returncode == 0, result.stderr.decode()
    assert_no_secret_value(result.stdout + result.stderr, "render output")
    secret_files = sorted(folder.glob("*.secrets.yaml"))
    assert secret_files
    for path in folder.iterdir():
        kinds = {d["kind"] for d in yaml.safe_load_all(path.read_bytes()) if d}
        if path in secret_files:
            assert kinds == {"Secret"}
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
        else:
            assert "Secret" not in kinds
            assert_no_secret_value(path.read_bytes(), str(path))
    rendered = {
        d["metadata"]["name"]: d
        for path in secret_files
        for d in yaml.safe_load_all(path.read_bytes())
        if d
    }
    for name in PLAIN_SECRETS:
        assert rendered[name]["data"] == secret_data(source, name, "shop")


def test_transform_keeps_secrets_sealed_without_the_passphrase(
    encrypted_bundle: Path, tmp_path: Path
) -> None:
    out = tmp_path / "moved.kbundle"
    result = run_kbundle(
        "transform", str(encrypted_bundle), "-o", str(out), "--map-namespace", "shop=shop-moved"
    )
    assert result.returncode == 0, result.stderr.decode()
    content = open_bundle(out)
    secrets = [o for o in content.objects() if o["kind"] == "Secret"]
    assert secrets and all(s["metadata"]["namespace"] == "shop-moved" for s in secrets)
    assert all("kbundleEncrypted" in s for s in secrets)
    assert content.manifest["secrets"] == open_bundle(encrypted_bundle).manifest["secrets"]
    assert_no_secret_value(tar_bytes(out.read_bytes()), "the transformed bundle")


def test_plaintext_secrets_are_declared_and_the_file_is_private(
    source_cluster: ClusterUnderTest, sample_app: list[Object], tmp_path: Path
) -> None:
    bundle = tmp_path / "plain.kbundle"
    export_shop_secrets(source_cluster, bundle)
    content = open_bundle(bundle)
    secrets = [o for o in content.objects() if o["kind"] == "Secret"]
    assert content.manifest["secrets"] == {"mode": "included", "objects": len(secrets)}
    assert stat.S_IMODE(bundle.stat().st_mode) == 0o600
    inspected = run_kbundle("inspect", str(bundle))
    assert b"secrets: included in plaintext" in inspected.stdout
    assert_no_secret_value(inspected.stdout + inspected.stderr, "inspect output")


def test_planning_an_import_of_plaintext_secrets_prints_no_value(
    sample_bundle: Path, destination_cluster: ClusterUnderTest, tmp_path: Path
) -> None:
    namespaces = ["--map-namespace", f"shop={unique_name('plain')}"]
    namespaces += ["--map-namespace", f"shop-ops={unique_name('plain-ops')}"]
    # Dry runs: a real import of the whole sample app under other names would fight the
    # other tests over its cluster-scoped objects (the encrypted import above is a real one).
    # The server may refuse some objects (a nodePort the sample app already holds there):
    # its failure messages must not carry values either.
    for mode in ("client", "server"):
        report = tmp_path / f"{mode}.json"
        result = run_kbundle(
            "import", str(sample_bundle), *on(destination_cluster), *namespaces,
            "--dry-run", mode, "--report", str(report),
        )  # fmt: skip
        allowed = (0,) if mode == "client" else (0, 1)
        assert result.returncode in allowed, result.stderr.decode()
        assert len(json.loads(report.read_text())["objects"]) > 20
        assert_no_secret_value(result.stdout + result.stderr, f"import --dry-run {mode}")
        assert_no_secret_value(report.read_bytes(), f"the {mode} report")
    for command in (["verify"], ["inspect"], ["inspect", "--output", "json"]):
        shown = run_kbundle(*command, str(sample_bundle))
        assert shown.returncode == 0
        assert_no_secret_value(shown.stdout + shown.stderr, " ".join(command))


def test_excluded_secrets_leave_no_secret_in_the_bundle(
    source_cluster: ClusterUnderTest, sample_app: list[Object], tmp_path: Path
) -> None:
    bundle = tmp_path / "nosecrets.kbundle"
    export_shop_secrets(source_cluster, bundle, "--secrets", "exclude")
    content = open_bundle(bundle)
    assert content.objects(), "the ConfigMaps are still exported"
    assert not [o for o in content.objects() if o["kind"] == "Secret"]
    assert content.manifest["secrets"] == {"mode": "excluded", "objects": 0}
    assert_no_secret_value(tar_bytes(bundle.read_bytes()), "a bundle without Secrets")


def test_a_passphrase_on_the_command_line_is_not_accepted(
    source_cluster: ClusterUnderTest, tmp_path: Path
) -> None:
    result = run_kbundle(
        "export", *on(source_cluster), "-n", "shop", "-o", str(tmp_path / "b.kbundle"),
        "--secrets", "encrypt", "--passphrase", PASSPHRASE,
    )  # fmt: skip
    assert result.returncode == 2
    assert not (tmp_path / "b.kbundle").exists()


# -- logs ------------------------------------------------------------------------------------


def test_verbose_logs_name_every_request_but_never_a_secret_value_or_the_passphrase(
    encrypted_bundle: Path,
    passphrase_file: Path,
    source_cluster: ClusterUnderTest,
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    tmp_path: Path,
) -> None:
    """-vv logs each request with its timing, and what import decides; the sample app's
    Secret values and the passphrase appear nowhere, even where the destination refuses a
    Secret (another field manager owns it there: the server's answer is logged and
    reported, naming fields, never values)."""
    plain = tmp_path / "plain.kbundle"
    exported = export_shop_secrets(source_cluster, plain, "-vv")
    assert b"GET /api/v1/namespaces/shop/secrets" in exported.stderr
    assert b" -> 200 in " in exported.stderr

    namespace = unique_name("logged")
    create(destination, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    create(
        destination,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db-credentials", "namespace": namespace},
            "type": "example.com/other",
            "stringData": {"password": "not-the-one"},
        },
    )
    refused = run_kbundle(
        "import", str(plain), *on(destination_cluster), "--map-namespace", f"shop={namespace}",
        "-vv",
    )  # fmt: skip
    assert refused.returncode == 3, refused.stderr.decode()
    assert b'409 Conflict: other field managers own fields the bundle sets: "kbundle-tests"' in (
        refused.stderr
    )
    for value in (b"not-the-one", base64.b64encode(b"not-the-one")):
        assert value not in refused.stdout + refused.stderr
    assert f"/namespaces/{namespace}/secrets".encode() in refused.stderr
    assert_no_secret_value(refused.stdout + refused.stderr, "verbose import output")

    sealed = run_kbundle(
        "import", str(encrypted_bundle), *on(destination_cluster),
        "--map-namespace", f"shop={unique_name('sealed')}",
        "--passphrase-file", str(passphrase_file), "-vv",
    )  # fmt: skip
    assert sealed.returncode == 0, sealed.stderr.decode()
    assert b" -> 200 in " in sealed.stderr
    assert_no_secret_value(sealed.stdout + sealed.stderr, "verbose import of sealed Secrets")
    assert PASSPHRASE.encode() not in sealed.stdout + sealed.stderr


# -- signatures ------------------------------------------------------------------------------


def packed(members: dict[str, bytes]) -> bytes:
    return pack([regular(name, members[name]) for name in member_order(list(members))])


def repacked(bundle: Path, change: Any) -> dict[str, bytes]:
    """The bundle's members after ``change``, with checksums and manifest digests redone
    the way a careful attacker would, and the signature member kept as it was."""
    members = dict(open_bundle(bundle).raw)
    change(members)
    manifest = yaml.safe_load(members["manifest.yaml"])
    for entry in manifest["files"]:
        entry["sha256"] = hashlib.sha256(members[entry["path"]]).hexdigest()
        entry["size"] = len(members[entry["path"]])
    manifest["totals"]["bytes"] = sum(e["size"] for e in manifest["files"])
    members["manifest.yaml"] = yaml.safe_dump(manifest, sort_keys=False).encode()
    members["checksums.sha256"] = checksums_text(
        {
            name: hashlib.sha256(data).hexdigest()
            for name, data in members.items()
            if name not in ("checksums.sha256", "signature.yaml")
        }
    )
    return members


def plant_a_config_map(members: dict[str, bytes]) -> None:
    [name] = [n for n in members if n.endswith("core.v1.ConfigMap.yaml")]
    members[name] += (
        b"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: planted\n  namespace: shop\n"
    )
    manifest = yaml.safe_load(members["manifest.yaml"])
    for entry in manifest["files"]:
        if entry["path"] == name:
            entry["objects"] += 1
    manifest["totals"]["objects"] += 1
    members["manifest.yaml"] = yaml.safe_dump(manifest, sort_keys=False).encode()


@pytest.fixture(scope="module")
def signed_bundle(
    source_cluster: ClusterUnderTest,
    sample_app: list[Object],
    key_pair: tuple[Path, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    path = tmp_path_factory.mktemp("signed") / "signed.kbundle"
    export_shop_secrets(source_cluster, path, "--secrets", "exclude", "--sign", str(key_pair[0]))
    return path


def test_a_signed_bundle_imports_with_its_public_key(
    signed_bundle: Path,
    key_pair: tuple[Path, Path],
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
) -> None:
    namespace = unique_name("signed")
    verified = run_kbundle("verify", str(signed_bundle), "--require-signature", str(key_pair[1]))
    assert verified.returncode == 0, verified.stderr.decode()
    assert b"signature: valid, by trusted key sha256:" in verified.stdout
    result = run_kbundle(
        "import",
        str(signed_bundle),
        *on(destination_cluster),
        "--require-signature",
        str(key_pair[1]),
        "--map-namespace",
        f"shop={namespace}",
    )
    assert result.returncode == 0, result.stderr.decode()
    assert read(destination, "v1", "ConfigMap", "shop-config", namespace) is not None


def _refused_without_requests(bundle: Path, public_key: Path, tmp_path: Path) -> str:
    with ConnectionCounter() as counter:
        kubeconfig = write_counting_kubeconfig(tmp_path / "kubeconfig", counter.port)
        result = run_kbundle(
            "import", str(bundle), "--kubeconfig", str(kubeconfig),
            "--require-signature", str(public_key),
        )  # fmt: skip
    assert result.returncode == 1
    assert counter.connections == 0
    return one_error_line(result.stderr)


def test_a_bundle_changed_after_signing_is_refused_even_with_consistent_checksums(
    signed_bundle: Path, key_pair: tuple[Path, Path], tmp_path: Path
) -> None:
    tampered = tmp_path / "tampered.kbundle"
    members = repacked(signed_bundle, plant_a_config_map)
    tampered.write_bytes(packed(members))
    line = _refused_without_requests(tampered, key_pair[1], tmp_path)
    assert "signature.yaml: signs another manifest" in line

    # The signature made to claim the new manifest: only the key could make it valid.
    signature = yaml.safe_load(members["signature.yaml"])
    signature["manifestSha256"] = hashlib.sha256(members["manifest.yaml"]).hexdigest()
    members["signature.yaml"] = yaml.safe_dump(signature, sort_keys=False).encode()
    forged = tmp_path / "forged.kbundle"
    forged.write_bytes(packed(members))
    line = _refused_without_requests(forged, key_pair[1], tmp_path)
    assert "signature does not match the manifest" in line


def test_unsigned_and_foreign_signed_bundles_are_refused_when_a_signature_is_required(
    source_cluster: ClusterUnderTest,
    sample_app: list[Object],
    signed_bundle: Path,
    key_pair: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    unsigned = tmp_path / "unsigned.kbundle"
    export_shop_secrets(source_cluster, unsigned, "--secrets", "exclude")
    assert "not signed" in _refused_without_requests(unsigned, key_pair[1], tmp_path)

    other = tmp_path / "other.key"
    assert run_kbundle("keygen", "-o", str(other)).returncode == 0
    line = _refused_without_requests(signed_bundle, Path(f"{other}.pub"), tmp_path)
    assert "not among the trusted keys" in line


def test_export_with_sign_gives_the_same_file_as_export_then_sign(
    source: Cluster,
    source_cluster: ClusterUnderTest,
    source_namespace: str,
    key_pair: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    for number in range(3):
        create(
            source, {"apiVersion": "v1", "kind": "ConfigMap", **_named(number, source_namespace)}
        )
    env = {"SOURCE_DATE_EPOCH": "1795244400"}
    signed, later = tmp_path / "signed.kbundle", tmp_path / "later.kbundle"
    for target, extra in ((signed, ["--sign", str(key_pair[0])]), (later, [])):
        result = run_kbundle(
            "export", *on(source_cluster), "-n", source_namespace, "--include-kinds",
            "configmaps", "-o", str(target), *extra, env=env,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr.decode()
    assert open_bundle(later).members[:2] == ["manifest.yaml", "checksums.sha256"]
    result = run_kbundle("sign", str(later), "--key", str(key_pair[0]))
    assert result.returncode == 0, result.stderr.decode()
    assert later.read_bytes() == signed.read_bytes()
    assert open_bundle(signed).members[:3] == [
        "manifest.yaml",
        "checksums.sha256",
        "signature.yaml",
    ]


def _named(number: int, namespace: str) -> dict[str, Any]:
    return {"metadata": {"name": f"c{number}", "namespace": namespace}, "data": {"n": str(number)}}


def test_key_files_are_private_and_never_overwritten(tmp_path: Path) -> None:
    key = tmp_path / "k"
    assert run_kbundle("keygen", "-o", str(key)).returncode == 0
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    before = key.read_bytes()
    again = run_kbundle("keygen", "-o", str(key))
    assert again.returncode == 2
    assert str(key) in one_error_line(again.stderr)
    assert key.read_bytes() == before
