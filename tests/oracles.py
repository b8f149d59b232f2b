"""Independent views used to check kbundle: kubectl for the cluster, plain tar for bundles.

Neither goes through kbundle's own client or reader, so a bug there cannot hide itself.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
import zstandard

from testbed import ClusterUnderTest, locate

Object = dict[str, Any]


def kubectl_path() -> str:
    """The kubectl built with the local control plane, else the one on PATH."""
    try:
        built = locate(build_if_missing=False).kubectl
    except Exception:
        built = None
    found = str(built) if built else shutil.which("kubectl")
    if not found:
        raise RuntimeError("the tests need kubectl: on PATH, or built by testbed")
    return found


def kubectl(cluster: ClusterUnderTest, *args: str) -> str:
    result = subprocess.run(
        [
            kubectl_path(),
            "--kubeconfig",
            str(cluster.kubeconfig),
            "--context",
            cluster.context,
            *args,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def cluster_objects(
    cluster: ClusterUnderTest, namespace: str | None = None, *, namespaced: bool = True
) -> list[Object]:
    """Every object kubectl can list (in ``namespace``, or cluster-scoped ones), by UID once.

    This is the shell loop users run today: every listable resource, ``get -o json``.
    """
    scope = "--namespaced=true" if namespaced else "--namespaced=false"
    names = kubectl(cluster, "api-resources", "--verbs=list", scope, "-o", "name").split()
    where = ["-n", namespace] if namespace else (["-A"] if namespaced else [])
    listing = json.loads(kubectl(cluster, "get", ",".join(names), *where, "-o", "json"))
    unique: dict[str, Object] = {}
    for item in sorted(listing["items"], key=_least_stable_first):
        meta = item["metadata"]
        identity = meta.get("uid") or f"{item['kind']}/{meta.get('namespace')}/{meta['name']}"
        unique[identity] = item  # the same object served by two groups: the stable one wins
    return list(unique.values())


def _least_stable_first(item: Object) -> int:
    version = item["apiVersion"].rpartition("/")[2]
    return -(2 if "alpha" in version else 1 if "beta" in version else 0)


@dataclass
class BundleContent:
    members: list[str]
    raw: dict[str, bytes]
    manifest: dict[str, Any]

    def objects(self) -> list[Object]:
        found: list[Object] = []
        for name in self.members:
            if name.startswith("objects/"):
                found += [d for d in yaml.safe_load_all(self.raw[name]) if d]
        return found

    def object(self, kind: str, name: str, namespace: str | None = None) -> Object:
        matches = [
            o
            for o in self.objects()
            if o["kind"] == kind
            and o["metadata"]["name"] == name
            and o["metadata"].get("namespace") == namespace
        ]
        assert len(matches) == 1, f"{kind} {namespace}/{name}: {len(matches)} in the bundle"
        return matches[0]


def open_bundle(path: Path) -> BundleContent:
    data = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(path.read_bytes())).read()
    members: list[str] = []
    raw: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
        for member in archive.getmembers():
            assert member.isfile(), member.name
            extracted = archive.extractfile(member)
            assert extracted is not None
            members.append(member.name)
            raw[member.name] = extracted.read()
    return BundleContent(members, raw, yaml.safe_load(raw["manifest.yaml"]))
