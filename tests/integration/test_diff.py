"""`kbundle diff` on real clusters: what an import would change, field by field, and nothing
else; the server answers every write as a dry run, so nothing in the destination changes."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kbundle.cluster import Cluster
from kbundle.core.errors import ExitCode
from testbed import ClusterUnderTest
from tests.cli import export, on, run_kbundle
from tests.kube import create, read, resource, unique_name
from tests.listener import ConnectionCounter, write_counting_kubeconfig

CANARY = "diff-canary-do-not-print"
CANARY_AFTER = "diff-canary-changed-in-destination"
FORBIDDEN = [
    value.encode()
    for text in (CANARY, CANARY_AFTER)
    for value in (text, base64.b64encode(text.encode()).decode())
]


def _app(namespace: str) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": namespace},
            "data": {"mode": "blue", "size": "3"},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "credentials", "namespace": namespace},
            "stringData": {"password": CANARY, "user": "shop"},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": namespace},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]},
                },
            },
        },
    ]


@dataclass(frozen=True)
class Imported:
    bundle: Path
    source_namespace: str
    namespace: str  # where it landed in the destination

    def diff(self, cluster: ClusterUnderTest, *args: str) -> tuple[int, dict[str, Any], bytes]:
        done = run_kbundle(
            "diff", str(self.bundle), *on(cluster),
            "--map-namespace", f"{self.source_namespace}={self.namespace}",
            "-o", "json", *args,
        )  # fmt: skip
        for value in FORBIDDEN:
            assert value not in done.stdout + done.stderr, "a Secret value was shown"
        report = json.loads(done.stdout) if done.stdout.strip() else {}
        return done.returncode, report, done.stderr


@pytest.fixture()
def imported(
    source: Cluster,
    source_cluster: ClusterUnderTest,
    source_namespace: str,
    destination_cluster: ClusterUnderTest,
    tmp_path: Path,
) -> Iterator[Imported]:
    for obj in _app(source_namespace):
        create(source, obj)
    bundle = tmp_path / "app.kbundle"
    export(source_cluster, bundle, "-n", source_namespace)
    landed = Imported(bundle, source_namespace, unique_name("diffed"))
    done = run_kbundle(
        "import", str(bundle), *on(destination_cluster),
        "--map-namespace", f"{source_namespace}={landed.namespace}",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    yield landed


def _by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{o['kind']}/{o['name']}": o for o in report["objects"]}


def _unchanged_by_diff(cluster: Cluster, namespace: str) -> dict[str, Any]:
    """What a write would change: ConfigMap and Secret versions (no controller touches
    them), the Deployment's generation (its spec; its status moves on by itself)."""
    seen: dict[str, Any] = {}
    for api_version, kind in (("v1", "ConfigMap"), ("v1", "Secret")):
        found = resource(cluster, {"apiVersion": api_version, "kind": kind})
        for item in cluster.list_objects(found, namespace=namespace):
            seen[f"{kind}/{item['metadata']['name']}"] = item["metadata"]["resourceVersion"]
    web = read(cluster, "apps/v1", "Deployment", "web", namespace) or {}
    seen["Deployment/web"] = (web["metadata"]["generation"], web["spec"]["replicas"])
    return seen


def test_a_destination_holding_the_bundle_diffs_to_nothing(
    imported: Imported, destination_cluster: ClusterUnderTest
) -> None:
    code, report, stderr = imported.diff(destination_cluster)
    assert code == ExitCode.OK, stderr.decode()
    assert not report["differs"]
    assert {o["status"] for o in report["objects"]} == {"unchanged"}


def test_diff_shows_exactly_the_changed_fields_of_exactly_the_changed_objects(
    imported: Imported,
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
) -> None:
    """Edits by another field manager: a ConfigMap's value, a Deployment's replicas (as
    `kubectl scale` would), a Secret's value. Each shows with the fields the import would
    change back (a conflict where the other manager owns them), the Secret by key only;
    nothing else differs, and the diff itself changes nothing in the destination."""
    namespace = imported.namespace
    edits: list[tuple[str, str, str, dict[str, Any]]] = [
        ("v1", "ConfigMap", "settings", {"data": {"mode": "red"}}),
        ("apps/v1", "Deployment", "web", {"spec": {"replicas": 5}}),
        ("v1", "Secret", "credentials", {"stringData": {"password": CANARY_AFTER}}),
    ]
    for api_version, kind, name, change in edits:
        found = resource(destination, {"apiVersion": api_version, "kind": kind})
        metadata = {"name": name, "namespace": namespace}
        edit = {"apiVersion": api_version, "kind": kind, "metadata": metadata, **change}
        destination.apply(found, edit, field_manager="other-tool", force=True)
    before = _unchanged_by_diff(destination, namespace)

    code, report, stderr = imported.diff(destination_cluster)

    assert code == 1, stderr.decode()
    assert _unchanged_by_diff(destination, namespace) == before
    objects = _by_name(report)
    differing = {key: o for key, o in objects.items() if o["status"] != "unchanged"}
    assert set(differing) == {"ConfigMap/settings", "Deployment/web", "Secret/credentials"}
    assert differing["ConfigMap/settings"]["status"] == "conflict"
    assert differing["Deployment/web"]["status"] == "conflict"
    # stringData is write-only: the other manager owns it, the bundle sets data (no conflict)
    assert differing["Secret/credentials"]["status"] == "change"
    assert [c["path"] for c in differing["ConfigMap/settings"]["changes"]] == ["data.mode"]
    assert differing["ConfigMap/settings"]["changes"][0]["before"] == '"red"'
    assert differing["ConfigMap/settings"]["changes"][0]["after"] == '"blue"'
    assert [c["path"] for c in differing["Deployment/web"]["changes"]] == ["spec.replicas"]
    secret = differing["Secret/credentials"]
    assert [c["path"] for c in secret["changes"]] == ["data.password"]
    assert '"other-tool" owns' in differing["Deployment/web"]["message"]
    assert "--force-conflicts" in differing["Deployment/web"]["message"]
    assert "-  replicas: 5\n+  replicas: 2" in differing["Deployment/web"]["diff"]

    taken = run_kbundle(
        "import", str(imported.bundle), *on(destination_cluster),
        "--map-namespace", f"{imported.source_namespace}={namespace}", "--force-conflicts",
    )  # fmt: skip
    assert taken.returncode == 0, taken.stderr.decode()
    code, report, stderr = imported.diff(destination_cluster)
    assert code == 0, stderr.decode()


def test_text_output_is_a_unified_diff_and_a_summary(
    imported: Imported, destination: Cluster, destination_cluster: ClusterUnderTest
) -> None:
    found = resource(destination, {"apiVersion": "v1", "kind": "ConfigMap"})
    edit = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": imported.namespace},
        "data": {"size": "9"},
    }
    destination.apply(found, edit, field_manager="other-tool", force=True)
    done = run_kbundle(
        "diff", str(imported.bundle), *on(destination_cluster),
        "--map-namespace", f"{imported.source_namespace}={imported.namespace}",
    )  # fmt: skip
    text = done.stdout.decode()
    assert done.returncode == 1, done.stderr.decode()
    assert f"--- live ConfigMap {imported.namespace}/settings" in text
    assert "-  size: '9'\n+  size: '3'" in text
    assert "conflict" in text and "unchanged" in text


def test_orphans_are_listed_and_left_alone(
    imported: Imported, destination: Cluster, destination_cluster: ClusterUnderTest
) -> None:
    extra = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "left-behind", "namespace": imported.namespace},
    }
    create(destination, extra)
    code, report, stderr = imported.diff(destination_cluster, "--show-orphans")
    assert code == 0, stderr.decode()  # orphans are reported, not differences
    assert report["orphans"] == [
        {"group": "", "kind": "ConfigMap", "namespace": imported.namespace, "name": "left-behind"}
    ]  # not kube-root-ca.crt, which the destination makes itself
    assert read(destination, "v1", "ConfigMap", "left-behind", imported.namespace) is not None


def test_a_new_namespace_is_shown_as_the_bundle_writes_it(
    imported: Imported, destination_cluster: ClusterUnderTest
) -> None:
    fresh = Imported(imported.bundle, imported.source_namespace, unique_name("fresh"))
    code, report, stderr = fresh.diff(destination_cluster)
    assert code == 1, stderr.decode()
    statuses = {o["kind"]: o["status"] for o in report["objects"]}
    assert statuses == {
        "Namespace": "create",
        "ConfigMap": "create",
        "Secret": "create",
        "ServiceAccount": "create",
        "Deployment": "create",
    }
    inside = [o for o in report["objects"] if o["kind"] != "Namespace"]
    assert all("created by this import first" in o["message"] for o in inside)


def test_two_exports_one_changed_object_apart_diff_to_that_object(
    source: Cluster, source_cluster: ClusterUnderTest, source_namespace: str, tmp_path: Path
) -> None:
    for obj in _app(source_namespace):
        create(source, obj)
    monday, tuesday = tmp_path / "monday.kbundle", tmp_path / "tuesday.kbundle"
    export(source_cluster, monday, "-n", source_namespace)
    found = resource(source, {"apiVersion": "v1", "kind": "ConfigMap"})
    edit = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": source_namespace},
        "data": {"mode": "green", "size": "3"},
    }
    source.apply(found, edit, field_manager="kbundle-tests", force=True)
    export(source_cluster, tuesday, "-n", source_namespace)

    done = run_kbundle("diff", str(monday), str(tuesday), "-o", "json")
    report = json.loads(done.stdout)
    assert done.returncode == 1, done.stderr.decode()
    changed = [o for o in report["objects"] if o["status"] != "unchanged"]
    assert [(o["kind"], o["name"]) for o in changed] == [("ConfigMap", "settings")]
    assert changed[0]["changes"] == [
        {"path": "data.mode", "change": "changed", "before": '"blue"', "after": '"green"'}
    ]
    same = run_kbundle("diff", str(monday), str(monday))
    assert same.returncode == 0, same.stderr.decode()


def test_a_bundle_that_does_not_verify_is_an_error_and_sends_nothing(tmp_path: Path) -> None:
    broken = tmp_path / "broken.kbundle"
    broken.write_bytes(b"not a bundle")
    with ConnectionCounter() as counter:
        kubeconfig = write_counting_kubeconfig(tmp_path / "kubeconfig", counter.port)
        done = run_kbundle("diff", str(broken), "--kubeconfig", str(kubeconfig))
        assert counter.settled() == 0
    assert done.returncode == 2  # as kubectl diff: 1 means differences, more an error
    assert done.stderr.decode().startswith(f"error: {broken}: ")
