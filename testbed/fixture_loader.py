"""Load hand-written manifests (``fixtures/``) into a cluster, the way a user would.

Handles what real manifests throw at a loader: ``*List`` wrappers, YAML 1.1's bare ``=``,
CRDs that must be Established before their custom resources, objects 1.20's server-side
apply cannot type (fallback to create/replace), and API versions the server no longer
serves (the kind's preferred version in the same group is used instead).

Fixtures may name an owner that exists only once loaded:
``fixtures.kbundle.dev/owner: <apiVersion>/<Kind>/<name>`` becomes an ownerReference.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

from kbundle.cluster import ApiError, Cluster, Object
from kbundle.cluster.retry import is_transient_on_write, with_retries

FIELD_MANAGER = "kbundle-fixtures"
OWNER_ANNOTATION = "fixtures.kbundle.dev/owner"
# The test bed lives at the repository root, beside fixtures/, and never ships in the wheel.
SAMPLE_APP = Path(__file__).resolve().parents[1] / "fixtures" / "sample-app"
LAST = ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "APIService")


class _ManifestLoader(yaml.SafeLoader):
    """Safe loading plus YAML 1.1's ``=`` (the value tag), read as the string it looks like."""


_ManifestLoader.add_constructor(
    "tag:yaml.org,2002:value",
    lambda loader, node: loader.construct_scalar(node),  # type: ignore[arg-type]
)


def read_manifests(paths: Iterable[Path]) -> list[Object]:
    """Objects of the given files or folders (``*.yaml``, sorted), ``*List`` unwrapped."""
    objects: list[Object] = []
    for path in paths:
        files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
        for file in files:
            for document in yaml.load_all(file.read_text(), Loader=_ManifestLoader):
                objects.extend(_unwrap(document))
    return objects


def _unwrap(document: Any) -> Iterator[Object]:
    if not isinstance(document, dict):
        return
    if str(document.get("kind", "")).endswith("List") and "items" in document:
        for item in document["items"] or []:
            yield from _unwrap(item)
    else:
        yield document


def _rank(obj: Object) -> int:
    kind = obj.get("kind")
    if kind == "CustomResourceDefinition":
        return 0
    if kind == "Namespace":
        return 1
    return 9 if kind in LAST else 5


def load_objects(
    cluster: Cluster, objects: Iterable[Object], *, timeout: float = 120.0
) -> list[Object]:
    """Apply ``objects`` in a working order; return what the server stored."""
    ordered = sorted(objects, key=_rank)  # stable: file order within a rank
    stored: list[Object] = []
    crds_pending = True
    for obj in ordered:
        if crds_pending and _rank(obj) > 0:
            _wait_for_established_crds(cluster, stored, timeout)
            crds_pending = False
        stored.append(
            with_retries(
                functools.partial(_apply, cluster, obj),
                deadline_seconds=timeout,
                transient=is_transient_on_write,
            )
        )
    return stored


def load_sample_app(cluster: Cluster) -> list[Object]:
    """The multi-tier sample app of ``fixtures/sample-app``."""
    return load_objects(cluster, read_manifests([SAMPLE_APP]))


def _apply(cluster: Cluster, original: Object) -> Object:
    obj = _with_owner_reference(cluster, original)
    resource = _served_resource(cluster, obj)
    try:
        return cluster.apply(resource, obj, field_manager=FIELD_MANAGER, force=True)
    except ApiError as error:
        if error.status != 500 or "typed" not in error.server_message:
            raise
    # 1.20 cannot type some valid objects for server-side apply: plain create or replace.
    meta = obj["metadata"]
    live = cluster.get(resource, meta["name"], meta.get("namespace"))
    if live is None:
        return cluster.create(resource, obj, field_manager=FIELD_MANAGER)
    replacement = {
        **obj,
        "metadata": {**meta, "resourceVersion": live["metadata"]["resourceVersion"]},
    }
    return cluster.replace(resource, replacement, field_manager=FIELD_MANAGER)


def _served_resource(cluster: Cluster, obj: Object) -> Any:
    found = cluster.discovery().find(obj["apiVersion"], obj["kind"])
    if found is not None:
        return found
    group = obj["apiVersion"].rpartition("/")[0]
    fallback = cluster.discovery().preferred_for(group, obj["kind"])
    if fallback is None:
        return cluster.resource_for(obj)  # raises with what the server offers
    obj["apiVersion"] = fallback.api_version
    return fallback


def _with_owner_reference(cluster: Cluster, obj: Object) -> Object:
    annotations = obj.get("metadata", {}).get("annotations") or {}
    owner_text = annotations.get(OWNER_ANNOTATION)
    if not owner_text:
        return obj
    api_version, kind, name = owner_text.rsplit("/", 2)
    owner_resource = cluster.resource_for({"apiVersion": api_version, "kind": kind})
    owner = cluster.get(owner_resource, name, obj["metadata"].get("namespace"))
    if owner is None:
        raise ApiError(
            404,
            "NotFound",
            f"owner {owner_text} not loaded yet",
            method="GET",
            path=owner_resource.path(),
        )
    metadata = {
        **obj["metadata"],
        "annotations": {k: v for k, v in annotations.items() if k != OWNER_ANNOTATION},
    }
    metadata["ownerReferences"] = [
        {
            "apiVersion": api_version,
            "kind": kind,
            "name": name,
            "uid": owner["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    return {**obj, "metadata": metadata}


def _wait_for_established_crds(cluster: Cluster, stored: list[Object], timeout: float) -> None:
    crds = [o for o in stored if o.get("kind") == "CustomResourceDefinition"]
    if not crds:
        return
    resource = cluster.resource_for(crds[0])
    deadline = time.monotonic() + timeout
    for crd in crds:
        while True:
            live = cluster.get(resource, crd["metadata"]["name"]) or {}
            conditions = {
                c["type"]: c["status"] for c in (live.get("status") or {}).get("conditions") or []
            }
            if conditions.get("Established") == "True":
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"CRD {crd['metadata']['name']} not Established in time")
            time.sleep(0.2)
    cluster.discovery(refresh=True)
