"""The sample app as a 1.20 server would hold it, without a server: for pure unit tests.

Starts from ``fixtures/sample-app`` and adds what the control plane adds: UIDs, the
ReplicaSets and Pods of Deployments, volume binding, generated ServiceAccount tokens (listed
in their accounts), Endpoints of selecting Services, ``kube-root-ca.crt``, bootstrap RBAC and a
built-in priority class.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from kbundle.core.model import Object, ObjectRef
from kbundle.select.facts import facts_of
from kbundle.select.plan import ObjectIndex
from testbed.fixture_loader import SAMPLE_APP, read_manifests

CRD_NAMES = {("example.com", "widgets"): "widgets.example.com"}


def uid_of(ref: ObjectRef) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, str(ref)))


def _with_uid(obj: Object) -> Object:
    obj = copy.deepcopy(obj)
    obj["metadata"]["uid"] = uid_of(ObjectRef.of(obj))
    return obj


def _owned(obj: Object, owner: Object) -> Object:
    obj["metadata"]["ownerReferences"] = [
        {
            "apiVersion": owner["apiVersion"],
            "kind": owner["kind"],
            "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"],
            "controller": True,
        }
    ]
    return _with_uid(obj)


def sample_objects() -> list[Object]:
    """Every object of the sample app plus what controllers would have created."""
    objects = [_with_uid(o) for o in read_manifests([SAMPLE_APP])]
    by_name = {
        (o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in objects
    }
    widget = by_name[("Widget", "shop", "storefront")]
    state = by_name[("ConfigMap", "shop", "storefront-widget-state")]
    state["metadata"].pop("annotations", None)
    _owned(state, widget)
    state["metadata"]["uid"] = uid_of(ObjectRef.of(state))

    claim = by_name[("PersistentVolumeClaim", "shop", "uploads")]
    volume = by_name[("PersistentVolume", None, "shop-uploads")]
    claim["spec"]["volumeName"] = "shop-uploads"  # what the volume binder does
    volume["spec"]["claimRef"] = {
        "kind": "PersistentVolumeClaim",
        "namespace": "shop",
        "name": "uploads",
        "uid": claim["metadata"]["uid"],
    }

    derived: list[Object] = []
    for deployment in [o for o in objects if o["kind"] == "Deployment"]:
        name, namespace = deployment["metadata"]["name"], deployment["metadata"]["namespace"]
        replica_set = _owned(
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {
                    "name": f"{name}-5d4f8",
                    "namespace": namespace,
                    "labels": dict(deployment["spec"]["template"]["metadata"]["labels"]),
                },
                "spec": {"template": copy.deepcopy(deployment["spec"]["template"])},
            },
            deployment,
        )
        pod = _owned(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": f"{name}-5d4f8-x2x9k",
                    "namespace": namespace,
                    "labels": dict(deployment["spec"]["template"]["metadata"]["labels"]),
                },
                "spec": copy.deepcopy(deployment["spec"]["template"]["spec"]),
            },
            replica_set,
        )
        derived += [replica_set, pod]
    for account in [o for o in objects if o["kind"] == "ServiceAccount"]:
        name, namespace = account["metadata"]["name"], account["metadata"]["namespace"]
        token = _with_uid(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "kubernetes.io/service-account-token",
                "metadata": {
                    "name": f"{name}-token-x7k2p",
                    "namespace": namespace,
                    "annotations": {"kubernetes.io/service-account.name": name},
                },
            }
        )
        account["secrets"] = [{"name": token["metadata"]["name"]}]
        derived.append(token)
    for service in [o for o in objects if o["kind"] == "Service" and o["spec"].get("selector")]:
        derived.append(
            _with_uid(
                {
                    "apiVersion": "v1",
                    "kind": "Endpoints",
                    "metadata": {
                        "name": service["metadata"]["name"],
                        "namespace": service["metadata"]["namespace"],
                    },
                }
            )
        )
    derived += [
        _with_uid(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "kube-root-ca.crt", "namespace": "shop"},
            }
        ),
        _with_uid(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {
                    "name": "admin",
                    "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                },
            }
        ),
        _with_uid(
            {
                "apiVersion": "scheduling.k8s.io/v1",
                "kind": "PriorityClass",
                "metadata": {"name": "system-node-critical"},
                "value": 2000001000,
            }
        ),
        _with_uid(
            {
                "apiVersion": "storage.k8s.io/v1",
                "kind": "StorageClass",
                "metadata": {"name": "unrelated"},
                "provisioner": "x",
            }
        ),
        _with_uid(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "elsewhere", "namespace": "other"},
            }
        ),
    ]
    return objects + derived


def sample_index(objects: list[Object] | None = None) -> ObjectIndex:
    index = ObjectIndex([])
    for obj in objects if objects is not None else sample_objects():
        plural = obj["kind"].lower() + "s"
        group = obj["apiVersion"].rpartition("/")[0]
        index.add(facts_of(obj, crd_name=CRD_NAMES.get((group, plural))))
    return index


def find(objects: list[Object], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)
