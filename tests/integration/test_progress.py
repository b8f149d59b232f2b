"""Long work says where it is, phase by phase, each counted to its own end: an export lists
the cluster then writes the bundle; an import verifies the bundle, reads it, reads the
destination, then applies. The command line draws one bar per phase from these calls."""

from __future__ import annotations

from pathlib import Path

import kbundle
from kbundle.cluster import Cluster
from testbed import ClusterUnderTest
from tests.kube import create, read


class Recorder:
    """A progress callback that also hears phases, as the command line's bar does."""

    def __init__(self) -> None:
        self.phases: list[str] = []
        self.last: dict[str, tuple[int, int]] = {}  # phase -> its last (done, total)

    def phase(self, name: str) -> None:
        self.phases.append(name)

    def __call__(self, done: int, total: int, what: str) -> None:
        assert self.phases, f"counted {done}/{total} ({what}) before any phase began"
        assert 0 <= done <= total, (done, total, what)
        self.last[self.phases[-1]] = (done, total)


def _target(cluster: ClusterUnderTest) -> kbundle.ClusterTarget:
    return kbundle.ClusterTarget(str(cluster.kubeconfig), cluster.context)


def test_export_and_import_report_each_phase_to_its_end(
    source: Cluster,
    source_cluster: ClusterUnderTest,
    destination: Cluster,
    destination_cluster: ClusterUnderTest,
    source_namespace: str,
    tmp_path: Path,
) -> None:
    for number in range(5):
        settings = {"name": f"settings-{number}", "namespace": source_namespace}
        create(source, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": settings})
    bundle = tmp_path / "counted.kbundle"

    exporting = Recorder()
    exported = kbundle.export(
        kbundle.ExportOptions(
            output=bundle,
            cluster=_target(source_cluster),
            selection=kbundle.Selection(namespaces=(source_namespace,)),
        ),
        progress=exporting,
    )
    held = sum(entry.objects for entry in exported.manifest.files)
    assert held >= 6  # the namespace and its five ConfigMaps (and the kube-root-ca copy)
    assert exporting.phases == ["listing", "writing"]
    lists_done, lists = exporting.last["listing"]
    assert lists_done == lists > 0
    assert exporting.last["writing"] == (held, held)

    importing = Recorder()
    result = kbundle.import_bundle(
        kbundle.ImportOptions(bundle=bundle, cluster=_target(destination_cluster)),
        progress=importing,
    )
    assert result.exit_code == 0
    assert importing.phases == [
        "verifying",
        "reading the bundle",
        "reading the destination",
        "applying",
    ]
    for phase in ("verifying", "reading the bundle", "applying"):
        assert importing.last[phase] == (held, held), phase
    assert read(destination, "v1", "ConfigMap", "settings-4", source_namespace) is not None
