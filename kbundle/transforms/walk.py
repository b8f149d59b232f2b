"""Walking Kubernetes objects that may be malformed, and naming places in them.

Shared by every transform: tolerant readers (a missing or mistyped field reads as absent,
never as a crash), the report's path notation, and where each built-in kind keeps its pod
spec.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from kbundle.model import Object, group_of

Segment = str | int
Path = tuple[Segment, ...]
GroupKind = tuple[str, str]

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")

# Where each kind keeps the pod spec its controller stamps out.
POD_SPECS: dict[GroupKind, Path] = {
    ("", "Pod"): ("spec",),
    ("", "PodTemplate"): ("template", "spec"),
    ("", "ReplicationController"): ("spec", "template", "spec"),
    ("apps", "Deployment"): ("spec", "template", "spec"),
    ("apps", "StatefulSet"): ("spec", "template", "spec"),
    ("apps", "DaemonSet"): ("spec", "template", "spec"),
    ("apps", "ReplicaSet"): ("spec", "template", "spec"),
    ("extensions", "Deployment"): ("spec", "template", "spec"),
    ("extensions", "DaemonSet"): ("spec", "template", "spec"),
    ("extensions", "ReplicaSet"): ("spec", "template", "spec"),
    ("batch", "Job"): ("spec", "template", "spec"),
    ("batch", "CronJob"): ("spec", "jobTemplate", "spec", "template", "spec"),
}
CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")


def render_path(path: Path) -> str:
    """``("spec", "containers", 0, "env")`` -> ``spec.containers[0].env``; keys with dots or
    slashes are quoted (``data["nginx.conf"]``) so a path names exactly one place."""
    text = ""
    for segment in path:
        if isinstance(segment, int):
            text += f"[{segment}]"
        elif _PLAIN_KEY.fullmatch(segment):
            text += f".{segment}" if text else segment
        else:
            text += f"[{json.dumps(segment)}]"
    return text


def group_kind(obj: Object) -> GroupKind:
    return group_of(str(obj.get("apiVersion", ""))), str(obj.get("kind", ""))


def get(parent: Any, key: Segment) -> Any:
    if isinstance(parent, dict) and isinstance(key, str):
        return parent.get(key)
    if isinstance(parent, list) and isinstance(key, int) and 0 <= key < len(parent):
        return parent[key]
    return None


def dict_at(node: Any, *keys: Segment) -> dict[str, Any] | None:
    for key in keys:
        node = get(node, key)
    return node if isinstance(node, dict) else None


def dicts(node: Any, key: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Index and item of each mapping in the list ``node[key]``, skipping anything else."""
    items = get(node, key)
    if isinstance(items, list):
        for index, item in enumerate(items):
            if isinstance(item, dict):
                yield index, item


def indices(node: Any, key: str) -> range:
    items = get(node, key)
    return range(len(items)) if isinstance(items, list) else range(0)
